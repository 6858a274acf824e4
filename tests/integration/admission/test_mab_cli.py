"""`citynet nac mab …` and `citynet nac roles` over a store: add, refuse a randomised
MAC, list, remove, the unknown-MAC report; roles as configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from admission import mab
from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store


def nac(config: Config, *args: str, code: int = 0) -> str:
    env = {"CITYNET_DATA_DIR": str(config.data_path),
           "CITYNET_DATABASE__URL": config.database.url,
           "CITYNET_NAC__MAB_PROFILES": json.dumps({"printer": {"vlan": "50"},
                                                    "camera": {"vlan": "cams"}}),
           "CITYNET_NAC__ROLES": json.dumps({"staff": {"vlan": "10", "hours": "07:00-20:00",
                                                       "devices": 3}})}
    result = CliRunner().invoke(cli, ["nac", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_the_bypass_list(backend_config: Config, store: Store) -> None:
    assert "added to profile printer (VLAN 50)" in nac(
        backend_config, "mab", "add", "00-1B-A9-12-34-56", "--profile", "printer")
    assert "moved to profile camera" in nac(
        backend_config, "mab", "add", "001b.a912.3456", "--profile", "camera")
    refused = nac(backend_config, "mab", "add", "da:a1:19:00:00:01", "--profile", "printer",
                  code=1)
    assert "locally administered" in refused and "private address" in refused
    assert "no MAC bypass profile 'fax' (configured: camera, printer)" in nac(
        backend_config, "mab", "add", "00:1b:a9:00:00:02", "--profile", "fax", code=1)
    listed = json.loads(nac(backend_config, "mab", "list", "--json"))["devices"]
    assert [(d["mac"], d["profile"], d["vlan"]) for d in listed] == [
        ("00:1b:a9:12:34:56", "camera", "cams")]
    assert "00:1b:a9:12:34:56 removed" in nac(backend_config, "mab", "remove",
                                               "00:1B:A9:12:34:56")
    assert "not on the MAC bypass list" in nac(backend_config, "mab", "remove",
                                               "00:1b:a9:12:34:56", code=1)
    assert json.loads(nac(backend_config, "mab", "list", "--json"))["devices"] == []


def test_unknown_macs_are_reported_until_listed(backend_config: Config, store: Store) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        for _ in range(3):
            mab.note_unknown(session, mab.Seen("00:1b:a9:00:00:07", "sw-1", "Gi0/0/7"), now)
        mab.note_unknown(session, mab.Seen("00:1b:a9:00:00:08", "sw-2", ""), now)
        session.commit()
    unknown = json.loads(nac(backend_config, "mab", "unknown", "--json"))["unknown"]
    assert {(u["mac"], u["nas"], u["port"], u["count"]) for u in unknown} == {
        ("00:1b:a9:00:00:07", "sw-1", "Gi0/0/7", 3), ("00:1b:a9:00:00:08", "sw-2", "", 1)}
    assert not any(u["randomised"] for u in unknown)
    nac(backend_config, "mab", "add", "00:1b:a9:00:00:07", "--profile", "printer")
    unknown = json.loads(nac(backend_config, "mab", "unknown", "--json"))["unknown"]
    assert [u["mac"] for u in unknown] == ["00:1b:a9:00:00:08"]


def test_a_randomised_unknown_mac_is_said_to_be_one(backend_config: Config,
                                                    store: Store) -> None:
    """A phone's private address asks for bypass too; the report says it can never be
    listed (adding it is refused), and why, instead of inviting the entry."""
    with store.session() as session:
        mab.note_unknown(session, mab.Seen("02:1b:a9:99:99:99", "sw-1", "Gi0/0/9"),
                         datetime.now(UTC))
        mab.note_unknown(session, mab.Seen("00:1b:a9:00:00:08", "sw-1", "Gi0/0/8"),
                         datetime.now(UTC))
        session.commit()
    unknown = json.loads(nac(backend_config, "mab", "unknown", "--json"))["unknown"]
    assert {u["mac"]: u["randomised"] for u in unknown} == {
        "02:1b:a9:99:99:99": True, "00:1b:a9:00:00:08": False}
    table = nac(backend_config, "mab", "unknown").splitlines()
    [private] = [line for line in table if "02:1b:a9:99:99:99" in line]
    [own] = [line for line in table if "00:1b:a9:00:00:08" in line]
    assert "randomised (private address)" in private and "randomised" not in own
    assert "locally administered" in nac(backend_config, "mab", "add", "02:1b:a9:99:99:99",
                                         "--profile", "printer", code=1)


def test_roles_show_what_each_role_gets(backend_config: Config, store: Store) -> None:
    [staff] = json.loads(nac(backend_config, "roles", "--json"))["roles"]
    assert (staff["role"], staff["vlan"], staff["hours"], staff["devices"]) == (
        "staff", "10", "07:00-20:00", 3)
