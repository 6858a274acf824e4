"""``citynet survey import`` and ``list`` as a person runs them: the installed command, a
real store with inventory rows, a capture written with scapy."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet.db import Store
from monitoring.models import SurveyPoint
from tests.conftest import make_config
from tests.support import CITYNET
from tests.unit.monitoring.test_survey import (
    AP_LIBRARY,
    AP_SQUARE,
    FOREIGN,
    T0,
    data_frame,
    frame,
    write_capture,
)

INVENTORY = f"""\
streets:
- name: 东门
communities:
- name: 东门社区
  street: 东门
hotspots:
- name: 东门广场
  community: 东门社区
  ssids: [iShenzhen]
- name: 图书馆
  community: 东门社区
- name: 公园
  community: 东门社区
access_points:
- mac: "{AP_SQUARE}"
  hotspot: 东门广场
- mac: "{AP_LIBRARY}"
  hotspot: 图书馆
"""


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env["CITYNET_DATA_DIR"] = str(tmp_path / "var")

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CITYNET, *args], capture_output=True, text=True,
                                env=self.env, timeout=120, check=False)
        assert result.returncode == code, (result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli("db", "upgrade")
    inventory = tmp_path / "district.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    cli("inventory", "import", str(inventory))
    return cli


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The command's own store (the same data dir), to read what it wrote."""
    store = Store.from_config(make_config(tmp_path))
    try:
        yield store
    finally:
        store.close()


def walk(tmp_path: Path) -> Path:
    """Three stops of 3 s, 20 s apart. The square's AP (and a per-SSID BSSID derived from
    it) is strong at P1, exactly -70 at P2, weak at P3; the library is heard at P3 only."""
    frames = []
    for stop, (square, derived) in enumerate([(-55, -60), (-75, -70), (-85, -80)]):
        start = T0 + timedelta(seconds=20 * stop)
        for i in range(30):
            moment = start + timedelta(seconds=i * 0.1)
            frames += [frame(AP_SQUARE, square, moment), frame("aa:bb:cc:00:00:11", derived,
                                                                moment, "iShenzhen-guest"),
                       frame(FOREIGN, -50, moment, "cafe")]
        frames.append(data_frame(start))
    frames += [frame(AP_LIBRARY, -65, T0 + timedelta(seconds=41))]
    return write_capture(tmp_path / "walk.pcap", frames)


def test_import_shows_coverage_stores_rows_and_is_idempotent(
        cli: Cli, store: Store, tmp_path: Path) -> None:
    capture = walk(tmp_path)
    args = ("survey", "import", str(capture), "--name", "dongmen-2026-05",
            "--hotspot", "东门广场", "--hotspot", "公园")
    out = cli(*args).stdout.splitlines()
    assert out[0] == "survey dongmen-2026-05: 3 points, threshold -70 dBm"
    assert out[1].split() == ["hotspot", "covered", "points", "%"]
    assert [line.split() for line in out[2:4]] == [["东门广场", "2", "3", "66.7"],
                                                   ["公园", "0", "3", "0.0"]]
    assert out[4] == ("frames read 274, beacons used 180, foreign 90, skipped 3 "
                      "(3 not beacons, 0 without a dBm signal)")
    assert out[5] == "beacons not used: 1 of other hotspots"

    def stored() -> list[tuple[str, str, float | None, str, bool]]:
        with store.session() as session:
            return [(r.point, r.hotspot, r.best_dbm, r.bssid, r.covered) for r in
                    session.scalars(select(SurveyPoint).order_by(SurveyPoint.hotspot,
                                                                 SurveyPoint.point))]

    first = stored()
    assert first == [("P1", "东门广场", -55, AP_SQUARE, True),
                     ("P2", "东门广场", -70, "aa:bb:cc:00:00:11", True),
                     ("P3", "东门广场", -80, "aa:bb:cc:00:00:11", False),
                     ("P1", "公园", None, "", False), ("P2", "公园", None, "", False),
                     ("P3", "公园", None, "", False)]
    cli(*args)
    assert stored() == first  # re-importing replaces, does not add

    listed = cli("survey", "list").stdout.splitlines()
    assert [line.split() for line in listed[1:]] == [
        ["dongmen-2026-05", "2026-05-01", "10:00", "东门广场", "2", "3", "66.7"],
        ["dongmen-2026-05", "2026-05-01", "10:00", "公园", "0", "3", "0.0"]]


def test_json_a_points_plan_and_a_stricter_threshold(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "points.csv"
    plan.write_text("point,start,end\n"
                    "gate,2026-05-01T10:00:00+08:00,2026-05-01T10:00:10+08:00\n"
                    f"stage,{(T0 + timedelta(seconds=40)).timestamp()},"
                    f"{(T0 + timedelta(seconds=50)).timestamp()}\n")
    result = json.loads(cli("survey", "import", str(walk(tmp_path)), "--name", "plan",
                            "--points", str(plan), "--threshold", "-60", "--json").stdout)
    assert result["points"] == ["gate", "stage"]
    assert result["coverage"] == [
        {"hotspot": "东门广场", "covered": 1, "points": 2, "percent": 50.0},
        {"hotspot": "图书馆", "covered": 0, "points": 2, "percent": 0.0}]
    assert result["counts"]["ignored"] == 90  # the middle stop is in no window
    assert result["unknown_with_inventory_ssid"] == {}
    assert {(r["point"], r["hotspot"]): r["best_dbm"] for r in result["rows"]} == {
        ("gate", "东门广场"): -55, ("gate", "图书馆"): None,
        ("stage", "东门广场"): -80, ("stage", "图书馆"): -65}


def test_user_errors_are_one_line_and_store_nothing(cli: Cli, tmp_path: Path) -> None:
    capture = walk(tmp_path)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[:-10])
    result = cli("survey", "import", str(cut), "--name", "cut", code=1)
    assert result.stderr.splitlines()[-1] == (
        f"Error: {cut}: the file ends in the middle of a frame (truncated); 273 frames were "
        "read before it. Copy the capture again from the survey laptop.")
    assert "Traceback" not in result.stderr
    not_pcap = tmp_path / "notes.txt"
    not_pcap.write_text("walked the square\n")
    assert cli("survey", "import", str(not_pcap), "--name", "x", code=1).stderr == (
        f"Error: {not_pcap}: not a pcap or pcapng capture\n")
    assert "no hotspot named 图书馆二" in cli("survey", "import", str(capture), "--name", "x",
                                            "--hotspot", "图书馆二", code=2).stderr
    assert "give one of them" in cli("survey", "import", str(capture), "--name", "x",
                                     "--points", str(not_pcap), "--gap", "3", code=2).stderr
    assert "(no surveys yet" in cli("survey", "list").stderr


def test_help_has_an_example(cli: Cli) -> None:
    out = cli("survey", "import", "--help").stdout
    assert "citynet survey import walk.pcap --name" in out and "--points" in out
