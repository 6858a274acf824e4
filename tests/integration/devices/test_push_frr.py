"""Plan, push, verify, drift, back up and roll back on real FRRouting routers over SSH,
through the real `citynet devices` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.devices.conftest import Cli
from tests.lab.frr import Router

pytestmark = pytest.mark.slow

PREFIX_LIST = "ip prefix-list CITYNET-GUEST seq 5 permit 10.100.0.0/22"


def running(router: Router) -> str:
    return router.vtysh("show running-config")


def test_plan_sends_nothing_and_push_converges(district: Cli, frr_lab: list[Router]) -> None:
    before = [running(r) for r in frr_lab]
    plan = district("devices", "plan")
    for router in frr_lab:
        assert f"--- {router.hostname} (lab-" in plan.stdout
    assert "    " + PREFIX_LIST in plan.stdout
    assert [running(r) for r in frr_lab] == before  # a plan changes nothing

    pushed = district("devices", "push", "--reason", "CHG-1 guest prefixes", "--json")
    results = json.loads(pushed.stdout)["devices"]
    assert {r["status"] for r in results} == {"pushed"}
    assert all(set(r["timings"]) >= {"connect", "read", "push", "verify", "save"}
               for r in results)
    for router in frr_lab:
        assert PREFIX_LIST in running(router)
        assert "log syslog informational" in running(router)
        assert PREFIX_LIST in router.saved_config()  # saved as well

    again = json.loads(district("devices", "push", "--reason", "again", "--json").stdout)
    assert {r["status"] for r in again["devices"]} == {"unchanged"}
    assert district("devices", "drift").stdout.strip().endswith("0 of 3 devices drifted")


def test_push_is_audited_and_backed_up(district: Cli, frr_lab: list[Router]) -> None:
    district("devices", "push", "--reason", "CHG-2 audit me")
    verify = district("audit", "verify").stdout
    assert "audit log: 1 rows, chain intact" in verify
    history = district("devices", "history", frr_lab[0].hostname).stdout
    assert "before push: CHG-2 audit me" in history
    # the backup holds the config from before the change
    repo = Path(district.data_dir) / "backups" / "devices" / f"{frr_lab[0].hostname}.cfg"
    assert repo.exists() and PREFIX_LIST not in repo.read_text()


def test_drift_on_the_console_is_found_and_pushed_away(district: Cli,
                                                       frr_lab: list[Router]) -> None:
    district("devices", "push", "--reason", "baseline")
    district("devices", "backup", "--reason", "after baseline")
    tampered = frr_lab[1]
    tampered.vtysh("configure terminal", "no " + PREFIX_LIST,
                   "ip prefix-list CITYNET-GUEST seq 99 permit 192.0.2.0/24", "end")
    drift = district("devices", "drift", code=1).stdout
    assert f"{tampered.hostname}: 2 lines from intent" in drift
    assert "lines changed since the last backup" in drift
    assert "1 of 3 devices drifted" in drift
    fixed = json.loads(district("devices", "push", tampered.hostname, "--reason", "drift",
                                "--json").stdout)["devices"][0]
    assert fixed["status"] == "pushed"
    assert "- ip prefix-list CITYNET-GUEST seq 99 permit 192.0.2.0/24" in fixed["removed"]
    assert "seq 99" not in running(tampered) and PREFIX_LIST in running(tampered)


def test_a_refused_command_rolls_the_device_back_and_stops_at_the_canary(
        district: Cli, frr_lab: list[Router], tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "frr"
    templates.mkdir(parents=True)
    (templates / "broken.j2").write_text(
        "ip prefix-list CITYNET-GUEST seq 5 permit 10.100.0.0/22\n"
        "ip prefix-list CITYNET-GUEST seq 7 permit 10.102.0.0/22\n"
        "ip route 10.200.0.0/24\n")  # no next hop: "% Command incomplete"
    intent = Path(district.data_dir) / "intent.yaml"
    intent.write_text(intent.read_text() + f"templates_dir: {tmp_path / 'templates'}\n")
    before = [running(r) for r in frr_lab]
    result = district("devices", "push", "--template", "broken", "--canary", "1",
                      "--reason", "bad template", "--json", code=1)
    devices = json.loads(result.stdout)["devices"]
    assert devices[0]["status"] == "rolled_back"
    assert "refused 'ip route 10.200.0.0/24'" in devices[0]["error"]
    assert "restored the state before the change" in devices[0]["rollback"]
    assert [d["status"] for d in devices[1:]] == ["skipped", "skipped"]
    assert [running(r) for r in frr_lab] == before  # nothing half-configured anywhere


def test_unreachable_devices_are_reported_not_fatal(district: Cli, frr_lab: list[Router],
                                                    tmp_path: Path) -> None:
    import yaml

    from tests.support import free_port

    rows = tmp_path / "down.yaml"
    rows.write_text(yaml.safe_dump({"devices": [
        {"hostname": "gone-01", "host": "127.0.0.1", "port": free_port(), "platform": "frr",
         "role": "router", "site": "lab-c", "credential": "lab"}]}))
    district("inventory", "import", str(rows))
    result = district("devices", "push", "--canary", "0", "--reason", "with a dead one",
                      "--json", code=1)
    by_name = {d["hostname"]: d for d in json.loads(result.stdout)["devices"]}
    assert by_name["gone-01"]["status"] == "failed"
    assert "connection refused by 127.0.0.1:" in by_name["gone-01"]["error"]
    assert "Traceback" not in result.stderr
    assert all(by_name[r.hostname]["status"] == "pushed" for r in frr_lab)


def test_rollback_to_a_backup_revision(district: Cli, frr_lab: list[Router]) -> None:
    router = frr_lab[2]
    district("devices", "backup", router.hostname, "--reason", "pristine")
    district("devices", "push", router.hostname, "--reason", "CHG-3")
    assert PREFIX_LIST in running(router)
    first = district("devices", "history", router.hostname).stdout.splitlines()[-1].split()[0]
    district("devices", "rollback", router.hostname, "--to", first, "--reason", "undo CHG-3")
    assert "CITYNET-GUEST" not in running(router)
    assert "CITYNET-GUEST" not in router.saved_config()
    assert "audit log: " in district("audit", "verify").stdout


def _config_lines(router: Router) -> list[str]:
    """The running config without FRR's header lines (they are not config)."""
    return [line for line in running(router).splitlines()
            if not line.startswith(("Building configuration", "Current configuration"))]


def _guest_wifi_district(district: Cli) -> None:
    """The intent file with a RADIUS key, so guest_wifi renders for the lab routers."""
    intent = Path(district.data_dir) / "intent.yaml"
    intent.write_text(intent.read_text().replace(
        "defaults:\n", "defaults:\n  radius_key: lab-radius-key-0123456789\n"))


def _clean(router: Router) -> None:
    """The router without guest_wifi's lines (the lab is shared by the module's tests)."""
    for line in _config_lines(router):
        if line.startswith("ip route 10.10"):
            router.vtysh("configure terminal", "no " + line, "end")
    if "interface lo" in _config_lines(router):
        router.vtysh("configure terminal", "interface lo", "no description", "end")
    router.vtysh("write memory")


def test_rollback_of_a_guest_wifi_push_ends_in_the_old_state(
        district: Cli, frr_lab: list[Router]) -> None:
    """FRR refuses `no interface lo` (the kernel owns lo): the rollback removes the
    interface's lines instead, and the whole push is undone, verified and saved."""
    router = frr_lab[2]
    _clean(router)
    _guest_wifi_district(district)
    pristine = _config_lines(router)
    assert "interface lo" not in pristine
    district("devices", "backup", router.hostname, "--reason", "pristine")
    district("devices", "push", router.hostname, "--template", "guest_wifi",
             "--reason", "CHG-4 guest WiFi")
    assert " description citynet guest WiFi i-Shenzhen" in running(router)
    first = district("devices", "history", router.hostname).stdout.splitlines()[-1].split()[0]
    done = district("devices", "rollback", router.hostname, "--to", first,
                    "--reason", "undo CHG-4")
    assert "no interface lo" not in done.stdout
    assert _config_lines(router) == pristine
    assert "description citynet" not in router.saved_config()
    assert "CITYNET-GUEST" not in router.saved_config()


def test_a_rollback_refused_part_way_undoes_what_it_sent(district: Cli,
                                                         frr_lab: list[Router]) -> None:
    """A backup FRR refuses a line of (edited in the repository here): the rollback stops
    there and takes back the route it had already added, so the device is as it was."""
    import subprocess

    router = frr_lab[2]
    _clean(router)
    district("devices", "backup", router.hostname, "--reason", "pristine")
    repo = Path(district.data_dir) / "backups" / "devices"
    backup = repo / f"{router.hostname}.cfg"
    backup.write_text(backup.read_text().replace(
        "end\n", "ip route 10.98.0.0/24 Null0\nip route 10.200.0.0/24\nend\n"))
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qam", "an unusable backup"], check=True)
    edited = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    district("devices", "push", router.hostname, "--reason", "CHG-5")
    started = _config_lines(router)
    done = district("devices", "rollback", router.hostname, "--to", edited,
                    "--reason", "to the edited backup", code=1)
    assert "rolled_back" in done.stdout
    assert "refused 'ip route 10.200.0.0/24'" in done.stdout
    assert "restored the state before the change" in done.stdout
    assert _config_lines(router) == started  # 10.98.0.0/24 taken back


def test_a_backup_reads_the_running_config_whatever_the_intent(district: Cli,
                                                                frr_lab: list[Router]) -> None:
    """guest_wifi by default and no NAS entry (so no RADIUS key), then an intent file
    that is not even YAML: no intent renders, and a backup needs none."""
    config = Path(district.data_dir) / "citynet.toml"
    config.write_text('[devices]\ntemplates = ["guest_wifi"]\n')
    district.env["CITYNET_CONFIG"] = str(config)
    assert "no RADIUS key" in district("devices", "plan", code=1).stdout
    (Path(district.data_dir) / "intent.yaml").write_text("defaults: [unclosed\n")
    done = district("devices", "backup", "--reason", "nightly")
    assert "not ready" not in done.stdout
    assert "summary: 3 read" in done.stdout
    assert "no secrets key" not in done.stdout
    repo = Path(district.data_dir) / "backups" / "devices"
    assert all((repo / f"{router.hostname}.cfg").exists() for router in frr_lab)
    # a rollback to a backup needs no intent either
    back = district("devices", "rollback", frr_lab[0].hostname, "--reason", "check").stdout
    assert "summary: 1 unchanged" in back


def test_a_value_vtysh_reads_as_its_help_key_is_refused_at_plan_time(
        district: Cli, frr_lab: list[Router]) -> None:
    _guest_wifi_district(district)
    intent = Path(district.data_dir) / "intent.yaml"
    first = frr_lab[0].hostname
    intent.write_text(intent.read_text() + f"devices:\n  {first}:\n    ssid: free WiFi?\n")
    done = district("devices", "plan", "--template", "guest_wifi", code=1)
    assert f"{first}: intent variable ssid holds '?', the help key on the frr CLI" in done.stdout
    assert "1 not ready" in done.stdout and "2 planned" in done.stdout
