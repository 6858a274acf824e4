"""The nac template (802.1X, MAC bypass, the enterprise SSID) pushed to the Huawei VRP and
H3C Comware fakes through the real `citynet devices` commands: the fakes take every line
in its view, a second push changes nothing, drift is clean, the site's own port settings
stay, and the RADIUS key shows nowhere."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fakes.vrp import FakeVrp, running
from tests.integration.devices.conftest import Cli, import_switches
from tests.integration.devices.test_fake_vrp import COMWARE_CONFIG, VRP_CONFIG

pytestmark = pytest.mark.slow

RADIUS_KEY = "Lab-Nac-Radius-Key-4c1d"
PASSWORD = "Lab-Device-Password-8a2e"
SERVERS = ["10.1.0.10", "10.2.0.10"]


@pytest.fixture
def switches() -> Iterator[dict[str, FakeVrp]]:
    fakes = {"vrp-acc-1": FakeVrp("huawei", initial_config=VRP_CONFIG,
                                  credentials=("netops", PASSWORD)),
             "h3c-acc-1": FakeVrp("h3c", initial_config=COMWARE_CONFIG,
                                  credentials=("netops", PASSWORD))}
    with running(fakes):
        yield fakes


def _district(tmp_path: Path, switches: dict[str, FakeVrp]) -> Cli:
    cli = Cli(tmp_path / "var")
    cli.env["CITYNET_RADIUS__SERVERS"] = ",".join(SERVERS)
    cli("db", "upgrade")
    import_switches(cli, tmp_path, switches, PASSWORD, RADIUS_KEY)
    (tmp_path / "var" / "intent.yaml").write_text(yaml.safe_dump({
        "defaults": {"enterprise_ssid": "citynet-staff", "enterprise_vlan": 10,
                     "reauth_seconds": 1800},
        "devices": {
            # GigabitEthernet0/0/1 is a trunk of the site's: 802.1X is added beside it
            "vrp-acc-1": {"dot1x_ports": ["GigabitEthernet0/0/1-3"],
                          "mab_ports": ["GigabitEthernet0/0/9"]},
            "h3c-acc-1": {"dot1x_ports": ["GigabitEthernet1/0/1-2"],
                          "mab_ports": ["GigabitEthernet1/0/9"]}}}, allow_unicode=True))
    return cli


def test_nac_converges_on_both_vendors_and_keeps_the_sites_port_settings(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    cli = _district(tmp_path, switches)
    cli.env["CITYNET_LOGGING__LEVEL"] = "DEBUG"  # no key even in the most verbose log
    plan = cli("devices", "plan", "--template", "nac")
    assert "    radius-server authorization 10.2.0.10 shared-key <redacted>" in plan.stdout
    assert "    secondary authentication 10.2.0.10 1812 key <redacted>" in plan.stdout
    pushed = cli("devices", "push", "--template", "nac", "--reason", "CHG-20 802.1X",
                 "--json")
    results = json.loads(pushed.stdout)["devices"]
    assert {r["hostname"]: r["status"] for r in results} == {
        "vrp-acc-1": "pushed", "h3c-acc-1": "pushed"}, results

    vrp = switches["vrp-acc-1"].running_config()
    assert ("interface GigabitEthernet0/0/1\n port link-type trunk\n"
            " authentication-profile citynet-dot1x\n#") in vrp
    assert "interface GigabitEthernet0/0/9\n authentication-profile citynet-mab\n#" in vrp
    assert " dot1x timer reauthenticate-period 1800" in vrp
    assert " domain citynet-nac\n  authentication-scheme citynet-nac\n" in vrp
    for server in SERVERS:
        assert f" radius-server authorization {server} shared-key cipher %^%#" in vrp
    assert "  ssid citynet-staff" in vrp and "  service-vlan vlan-id 10" in vrp
    h3c = switches["h3c-acc-1"].running_config()
    assert ("interface GigabitEthernet1/0/2\n dot1x\n dot1x mandatory-domain citynet-nac\n"
            " dot1x re-authenticate\n mac-authentication\n mac-authentication re-authenticate"
            "\n#") in h3c
    assert " secondary accounting 10.2.0.10 1813 key cipher $c$3$" in h3c
    assert " client ip 10.2.0.10 key cipher $c$3$" in h3c
    assert "wlan service-template citynet-nac\n ssid citynet-staff\n vlan 10\n" in h3c

    again = json.loads(cli("devices", "push", "--template", "nac", "--reason", "again",
                           "--json").stdout)["devices"]
    assert {r["status"] for r in again} == {"unchanged"}
    (tmp_path / "citynet.toml").write_text('[devices]\ntemplates = ["nac"]\n')
    cli.env["CITYNET_CONFIG"] = str(tmp_path / "citynet.toml")  # drift checks these
    drift = json.loads(cli("devices", "drift", "--json").stdout)
    assert drift["not_ready"] == [], drift
    assert [(d["hostname"], d["error"], d["intent"]) for d in drift["devices"]] == [
        ("h3c-acc-1", "", []), ("vrp-acc-1", "", [])], drift
    backups = "".join(p.read_text() for p in (tmp_path / "var" / "backups").rglob("*.cfg"))
    with sqlite3.connect(tmp_path / "var" / "citynet.sqlite3") as db:
        audit = json.dumps(db.execute("select detail, reason from audit_log").fetchall())
    for text in (plan.stdout, plan.stderr, pushed.stdout, pushed.stderr, json.dumps(drift),
                 backups, audit):
        assert RADIUS_KEY not in text


def test_a_changed_reauth_period_replaces_the_old_one(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    cli = _district(tmp_path, switches)
    cli("devices", "push", "--template", "nac", "--reason", "first")
    intent = tmp_path / "var" / "intent.yaml"
    document = yaml.safe_load(intent.read_text())
    document["defaults"]["reauth_seconds"] = 3600
    intent.write_text(yaml.safe_dump(document, allow_unicode=True))
    cli("devices", "push", "--template", "nac", "--reason", "longer period")
    vrp = switches["vrp-acc-1"].running_config()
    h3c = switches["h3c-acc-1"].running_config()
    assert "reauthenticate-period 3600" in vrp and "reauthenticate-period 1800" not in vrp
    assert "reauth-period 3600" in h3c and "reauth-period 1800" not in h3c
