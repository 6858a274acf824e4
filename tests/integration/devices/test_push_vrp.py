"""Guest WiFi and baseline pushed to Huawei VRP and H3C Comware switches — the stateful
fakes (no runnable peer exists) driven by netmiko's real drivers — through the real
`citynet devices` commands: secrets never shown, faults mid-push rolled back."""

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

RADIUS_KEY = "Lab-Radius-Key-9f3c"
SNMP_COMMUNITY = "Lab-Snmp-Community-71ab"
PASSWORD = "Lab-Device-Password-5e2d"
SECRETS = (RADIUS_KEY, SNMP_COMMUNITY, PASSWORD)


@pytest.fixture
def switches() -> Iterator[dict[str, FakeVrp]]:
    fakes = {"vrp-01": FakeVrp("huawei", hostname="old-name", initial_config=VRP_CONFIG,
                               credentials=("netops", PASSWORD)),
             "vrp-02": FakeVrp("huawei", initial_config=VRP_CONFIG,
                               credentials=("netops", PASSWORD)),
             "h3c-01": FakeVrp("h3c", initial_config=COMWARE_CONFIG,
                               credentials=("netops", PASSWORD))}
    with running(fakes):
        yield fakes


def _district(tmp_path: Path, switches: dict[str, FakeVrp]) -> Cli:
    cli = Cli(tmp_path / "var")
    cli("db", "upgrade")
    import_switches(cli, tmp_path, switches, PASSWORD, RADIUS_KEY)
    (tmp_path / "var" / "intent.yaml").write_text(yaml.safe_dump({
        "defaults": {"ntp_servers": ["10.0.0.123", "10.0.0.124"], "syslog_hosts": ["10.0.0.9"],
                     "snmp_community": SNMP_COMMUNITY, "radius_server": "10.0.0.5",
                     "guest_vlan": 100, "guest_network": "10.100.0.0/22",
                     "dhcp_server": "10.0.0.53", "walled_garden": ["10.0.0.80"],
                     "portal_url": "http://10.0.0.80/portal/"}}, allow_unicode=True))
    return cli


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_guest_wifi_and_baseline_converge_on_both_vendors(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    cli = _district(tmp_path, switches)
    cli.env["CITYNET_LOGGING__LEVEL"] = "DEBUG"  # no secret even in the most verbose log
    templates = ("--template", "baseline", "--template", "guest_wifi")
    plan = cli("devices", "plan", *templates)
    assert "    snmp-agent community read <redacted>" in plan.stdout
    assert "    primary authentication 10.0.0.5 1812 key <redacted>" in plan.stdout  # Comware
    pushed = cli("devices", "push", *templates, "--reason", "CHG-7 guest WiFi", "--json")
    results = json.loads(pushed.stdout)["devices"]
    assert {r["hostname"]: r["status"] for r in results} == {
        "vrp-01": "pushed", "vrp-02": "pushed", "h3c-01": "pushed"}, results
    vrp = switches["vrp-01"].running_config()
    assert " sysname vrp-01" in vrp and "interface Vlanif100" in vrp
    assert "ntp-service unicast-server 10.0.0.124" in vrp
    assert "interface Vlan-interface100" in switches["h3c-01"].running_config()
    assert " sysname vrp-01" in switches["vrp-01"].saved_config()
    again = json.loads(cli("devices", "push", *templates, "--reason", "again",
                           "--json").stdout)["devices"]
    assert {r["status"] for r in again} == {"unchanged"}  # re-encrypted keys are no change
    drift = cli("devices", "drift", "--json").stdout
    backups = "".join(p.read_text() for p in (tmp_path / "var" / "backups").rglob("*.cfg"))
    with sqlite3.connect(tmp_path / "var" / "citynet.sqlite3") as db:
        audit = json.dumps(db.execute("select detail, reason from audit_log").fetchall())
    _assert_no_secret(plan.stdout, plan.stderr, pushed.stdout, pushed.stderr, drift, backups,
                      audit)
    # the NTP server list is owned: a server the intent drops is removed
    intent = tmp_path / "var" / "intent.yaml"
    document = yaml.safe_load(intent.read_text())
    document["defaults"]["ntp_servers"] = ["10.0.0.123"]
    intent.write_text(yaml.safe_dump(document, allow_unicode=True))
    cli("devices", "push", "vrp-02", "--reason", "one NTP server")
    assert "10.0.0.124" not in switches["vrp-02"].running_config()


def test_a_session_dropped_mid_push_is_rolled_back(tmp_path: Path,
                                                   switches: dict[str, FakeVrp]) -> None:
    cli = _district(tmp_path, switches)
    flaky = switches["vrp-02"]
    before = flaky.running_config()
    flaky.drop_after_commands = 3
    cli.env["CITYNET_DEVICES__TIMEOUT_SECONDS"] = "5"  # the drop shows as silence, then EOF
    result = cli("devices", "push", "vrp-02", "--template", "guest_wifi", "--reason", "drop",
                 "--json", code=1)
    [device] = json.loads(result.stdout)["devices"]
    assert device["status"] == "rolled_back", device
    assert "session lost" in device["error"]
    assert flaky.drops == 1 and flaky.sessions_opened == 2  # the push, then a new one to undo
    assert flaky.running_config() == before  # nothing half-configured


def test_a_refused_command_is_reported_with_the_devices_words(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    cli = _district(tmp_path, switches)
    stubborn = switches["h3c-01"]
    before = stubborn.running_config()
    stubborn.fail_on = r"^dhcp relay server-address"
    result = cli("devices", "push", "h3c-01", "--template", "guest_wifi", "--reason", "refuse",
                 "--json", code=1)
    [device] = json.loads(result.stdout)["devices"]
    assert device["status"] == "rolled_back"
    assert "refused 'dhcp relay server-address 10.0.0.53'" in device["error"]
    assert stubborn.running_config() == before
    _assert_no_secret(result.stdout, result.stderr)


def test_vty_limit_holds_and_a_wrong_password_is_one_devices_failure(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    for fake in switches.values():
        fake.max_sessions = 1  # one VTY line: a second session at once would be refused
    switches["vrp-01"].credentials = ("netops", "rotated-elsewhere")
    cli = _district(tmp_path, switches)
    result = cli("devices", "push", "--canary", "0", "--concurrency", "3", "--reason", "vty",
                 "--json", code=1)
    by_name = {d["hostname"]: d for d in json.loads(result.stdout)["devices"]}
    assert by_name["vrp-01"]["status"] == "failed"
    assert "login as 'netops' refused" in by_name["vrp-01"]["error"]
    assert by_name["vrp-02"]["status"] == by_name["h3c-01"]["status"] == "pushed"
    assert all(fake.refused == 0 and fake.max_concurrent <= 1 for fake in switches.values())
    _assert_no_secret(result.stdout, result.stderr)


def test_a_portal_ac_gets_the_portal_server_and_its_free_rules_on_both_vendors(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    """The NAS entry made a Portal-protocol AC: the guest WiFi push configures the AC's
    portal server with the entry's key and the free rules a phone needs before login
    (the portal, DNS, the walled garden); the fakes take every line, and a second push
    finds nothing to change."""
    portal_key = "Lab-Portal-Key-0c7e"
    cli = _district(tmp_path, switches)
    cli("nas", "set", "lab-switches", "--portal-protocol", "huawei-v2",
        "--portal-secret", portal_key)
    pushed = cli("devices", "push", "vrp-01", "h3c-01", "--template", "guest_wifi",
                 "--reason", "CHG-8 portal ACs", "--json")
    assert {r["hostname"]: r["status"] for r in json.loads(pushed.stdout)["devices"]} == {
        "vrp-01": "pushed", "h3c-01": "pushed"}, pushed.stdout
    vrp = switches["vrp-01"].running_config()
    for line in ("web-auth-server citynet", " free-rule 1 destination ip 10.0.0.5 mask "
                 "255.255.255.255", " free-rule 2 destination ip any udp destination-port 53",
                 " free-rule 3 destination ip 10.0.0.80 mask 255.255.255.255",
                 " web-auth-server citynet direct", " free-rule-template default_free_rule"):
        assert line in vrp, (line, vrp)
    comware = switches["h3c-01"].running_config()
    for line in ("portal server citynet", "portal free-rule 2 destination ip any udp 53",
                 "portal free-rule 3 destination ip 10.0.0.80 255.255.255.255"):
        assert line in comware, (line, comware)
    again = json.loads(cli("devices", "push", "vrp-01", "h3c-01", "--template", "guest_wifi",
                           "--reason", "again", "--json").stdout)["devices"]
    assert {r["status"] for r in again} == {"unchanged"}
    _assert_no_secret(pushed.stdout, pushed.stderr)
    assert portal_key not in pushed.stdout + pushed.stderr


def test_a_portal_push_refused_mid_section_is_rolled_back_whole(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    """Refused after the url-template section was made: the rollback removes the section
    too. (It was left behind: "url-template …" passed for a keyed ``url`` line, whose
    undo, ``undo url``, removes nothing at the top level.)"""
    cli = _district(tmp_path, switches)
    cli("nas", "set", "lab-switches", "--portal-protocol", "huawei-v2",
        "--portal-secret", "Lab-Portal-Key-0c7e")
    stubborn = switches["vrp-02"]
    before = stubborn.running_config()
    stubborn.fail_on = r"^web-auth-server listening-port"
    result = cli("devices", "push", "vrp-02", "--template", "guest_wifi", "--reason", "refuse",
                 "--json", code=1)
    [device] = json.loads(result.stdout)["devices"]
    assert device["status"] == "rolled_back", device
    assert stubborn.running_config() == before
