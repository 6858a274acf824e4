"""Every listing command, on the demo district: one JSON shape, an aligned table for
people (never CSV on a terminal), CSV on request, counts in words."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from citynet import staff
from citynet.config import Config
from citynet.crypto import open_box
from citynet.listings import width
from citynet.staff import Role
from inventory import demo
from inventory.importer import import_rows
from tests.conftest import upgraded

LISTINGS = [  # (command, the JSON key of its rows)
    (("nas", "list"), "nas"),
    (("sessions", "list", "--all"), "sessions"),
    (("staff", "list"), "staff"),
    (("inventory", "show"), "kinds"),
    (("inventory", "show", "streets"), "streets"),
    (("inventory", "show", "devices"), "devices"),
    (("inventory", "show", "buildings"), "buildings"),
    (("merchants", "list"), "merchants"),
    (("radius", "profile", "list"), "profiles"),
    (("vouchers", "list"), "batches"),
    (("survey", "list"), "surveys"),
]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The demo district, a staff user and a voucher batch, once for the module (SQLite;
    the listings read, they never write)."""
    from radius import vouchers
    from tests.conftest import make_config

    config = make_config(tmp_path_factory.mktemp("listings"))
    for store in upgraded(config):
        box = open_box(config, store, create=True)
        with store.session() as session:
            assert import_rows(session, demo.raw_rows(), box).ok
            staff.add(session, "zhang.wei", Role.OPERATOR, "a long enough passphrase 42")
            vouchers.create(session, 3, 60, 1, "library", valid_days=30)
        yield config


def run(config: Config, *args: str) -> Result:
    from citynet.cli import cli

    result = CliRunner().invoke(cli, list(args), env={"CITYNET_DATA_DIR": str(config.data_path),
                                                      "CITYNET_DATABASE__URL": ""})
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("command", "key"), LISTINGS, ids=[" ".join(c) for c, _ in LISTINGS])
def test_every_listing_has_one_json_shape(district: Config, command: tuple[str, ...],
                                          key: str) -> None:
    document: dict[str, Any] = json.loads(run(district, *command, "--json").stdout)
    assert set(document) == {key, "count", "matched", "truncated"}
    assert document["count"] == document["matched"] == len(document[key])
    assert document["truncated"] is False
    assert all(isinstance(row, dict) for row in document[key])


@pytest.mark.parametrize(("command", "key"), LISTINGS, ids=[" ".join(c) for c, _ in LISTINGS])
def test_every_listing_is_an_aligned_table_and_csv_on_request(
        district: Config, command: tuple[str, ...], key: str) -> None:
    table = run(district, *command)
    lines = table.stdout.splitlines()
    document = json.loads(run(district, *command, "--json").stdout)
    if not document[key]:
        assert lines == []
        return
    assert len(lines) == 1 + len(document[key])
    assert "," not in lines[0]  # a header of words, not CSV
    # every cell lines up with its header, left or right, in terminal columns (CJK: two)
    header = _spans(lines[0])
    for line in lines[1:]:
        cells = _spans(line)
        assert len(cells) == len(header), line
        assert all(c[0] == h[0] or c[1] == h[1] for c, h in zip(cells, header, strict=True)), (
            line)
    exported = list(csv.DictReader(io.StringIO(run(district, *command, "--csv").stdout)))
    assert len(exported) == len(document[key])
    assert list(exported[0]) == list(document[key][0])


def _spans(line: str) -> list[tuple[int, int]]:
    """(first, past the last) terminal column of each cell; cells are apart by 2+ spaces."""
    spans: list[tuple[int, int]] = []
    column, start, end = 0, -1, 0
    for ch in line:
        if ch != " ":
            if start < 0 or column - end >= 2:
                if start >= 0:
                    spans.append((start, end))
                start = column
            end = column + width(ch)
        column += width(ch)
    return [*spans, (start, end)] if start >= 0 else spans


def test_devices_are_a_table_not_csv_and_secrets_stay_off_screen(district: Config) -> None:
    shown = run(district, "inventory", "show", "devices")
    assert shown.stdout.splitlines()[0].split() == [
        "hostname", "host", "port", "platform", "role", "site", "credential"]
    assert shown.stderr.endswith("devices\n")
    nas = run(district, "inventory", "show", "nas")
    assert "sealed:" not in nas.stdout and "secret" not in nas.stdout.splitlines()[0]
    assert nas.stderr.endswith("1 NAS client\n")


def test_counts_say_one_voucher_not_one_vouchers(district: Config) -> None:
    made = run(district, "vouchers", "create", "--count", "1", "--minutes", "30")
    assert made.stderr.startswith("1 voucher, 30 min, 1 device each")
    assert run(district, "staff", "list").stderr == "1 staff user\n"
