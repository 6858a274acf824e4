"""Fleet orchestration without devices: canary, failure threshold, per-site limits,
pacing; and intent rendering from templates and variables."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devices.driver import Login
from devices.fleet import Limits, Pacer, Result, Status, Target, run
from devices.intent import (
    Device,
    Intent,
    IntentError,
    Renderer,
    load_vars,
    refuse_cli_keys,
    variables,
)
from devices.platforms import PROFILES, profile


def target(name: str, site: str = "a") -> Target:
    device = Device(name, "frr", "router", site, "127.0.0.1")
    return Target(device, Login(name, "127.0.0.1", 22, PROFILES["frr"], "u", "p"),
                  Intent(name, "", (), ()))


def outcome(status: Status) -> object:
    def work(t: Target) -> Result:
        return Result(t.device.hostname, t.device.site, status)
    return work


def test_a_failed_canary_stops_the_push_and_the_rest_is_skipped() -> None:
    tried: list[str] = []

    def work(t: Target) -> Result:
        tried.append(t.device.hostname)
        return Result(t.device.hostname, "a", Status.ROLLED_BACK)

    results = run([target(f"d{i}") for i in range(5)], work, Limits(canary=1))
    assert tried == ["d0"]
    assert [r.status for r in results] == [Status.ROLLED_BACK] + [Status.SKIPPED] * 4
    assert "canary" in results[1].error


def test_past_max_failures_the_remaining_devices_are_skipped() -> None:
    def work(t: Target) -> Result:
        return Result(t.device.hostname, "a", Status.FAILED)

    results = run([target(f"d{i}") for i in range(10)], work,
                  Limits(canary=0, concurrency=1, max_failures=2))
    counts = Counter(r.status for r in results)
    assert counts == {Status.FAILED: 3, Status.SKIPPED: 7}  # the third failure stops it
    assert [r.hostname for r in results] == [f"d{i}" for i in range(10)]  # input order


def test_one_devices_bug_is_its_own_failure() -> None:
    def work(t: Target) -> Result:
        if t.device.hostname == "d1":
            raise KeyError("boom")
        return Result(t.device.hostname, "a", Status.PUSHED)

    results = run([target(f"d{i}") for i in range(3)], work, Limits(canary=0))
    assert [r.status for r in results] == [Status.PUSHED, Status.FAILED, Status.PUSHED]
    assert "KeyError" in results[1].error


def test_per_site_and_overall_limits_hold() -> None:
    lock = threading.Lock()
    active: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    overall = {"now": 0, "peak": 0}
    release = threading.Barrier(2, timeout=5)

    def work(t: Target) -> Result:
        site = t.device.site
        with lock:
            active[site] += 1
            overall["now"] += 1
            peak[site] = max(peak[site], active[site])
            overall["peak"] = max(overall["peak"], overall["now"])
        with contextlib.suppress(threading.BrokenBarrierError):
            release.wait()  # pairs of devices overlap for certain
        with lock:
            active[site] -= 1
            overall["now"] -= 1
        return Result(t.device.hostname, site, Status.PUSHED)

    targets = [target(f"a{i}", "a") for i in range(6)] + [target(f"b{i}", "b") for i in range(6)]
    results = run(targets, work, Limits(canary=0, concurrency=4, per_site=2))
    assert all(r.ok for r in results)
    assert max(peak.values()) <= 2 and overall["peak"] <= 4


def test_pacer_spaces_new_sessions() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])


def test_intent_renders_per_platform_with_variables_in_order(tmp_path: Path) -> None:
    intent_file = tmp_path / "intent.yaml"
    intent_file.write_text(
        "defaults: {ntp_servers: [10.0.0.1], snmp_community: pub}\n"
        "sites: {笋岗: {ntp_servers: [10.9.9.9]}}\n"
        "devices: {sw-2: {snmp_community: ''}}\n")
    document = load_vars(intent_file)
    renderer = Renderer()
    one = Device("sw-1", "huawei", "access_switch", "笋岗", "10.1.1.1")
    two = Device("sw-2", "huawei", "access_switch", "东门", "10.1.1.2")
    first = renderer.render(one, ["baseline"], variables(one, document, {}))
    second = renderer.render(two, ["baseline"], variables(two, document, {}))
    assert "ntp-service unicast-server 10.9.9.9" in first.text  # the site wins
    assert "sysname sw-1" in first.text and "snmp-agent community read pub" in first.text
    assert "snmp-agent" not in second.text  # the device wins
    assert first.owned == ("ntp-service unicast-server", "info-center loghost",
                           "snmp-agent community")
    keyed = variables(one, document, {"10.1.1.1": "nas-secret"})
    assert keyed["radius_key"] == "nas-secret"  # the NAS entry of the device's address


def test_intent_errors_name_the_device_and_the_template(tmp_path: Path) -> None:
    renderer = Renderer()
    device = Device("gw", "linux", "router", "x", "10.0.0.1")
    with pytest.raises(IntentError, match="no template 'baseline' for platform linux"):
        renderer.render(device, ["baseline"], {})
    broken = tmp_path / "t" / "frr"
    broken.mkdir(parents=True)
    (broken / "x.j2").write_text("ip route {{ nowhere }} Null0\n")
    with pytest.raises(IntentError, match=r"gw: template frr/x\.j2: 'nowhere' is undefined"):
        Renderer(tmp_path / "t").render(Device("gw", "frr", "router", "x", "10.0.0.1"),
                                        ["x"], {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults: [1\n")
    with pytest.raises(IntentError, match="not valid YAML"):
        load_vars(bad)
    bad.write_text("unknown: {}\n")
    with pytest.raises(IntentError, match="expected the keys"):
        load_vars(bad)


def test_restore_removes_what_uses_a_thing_before_the_thing() -> None:
    from devices.confdiff import restore

    before = "#\n sysname sw1\n#\nreturn\n"
    intent = ("vlan 100\n description guest\ninterface Vlanif100\n ip address 10.1.0.1 "
              "255.255.255.0\n")
    now = ("#\n sysname sw1\n#\nvlan 100\n description guest\n#\ninterface Vlanif100\n"
           " ip address 10.1.0.1 255.255.255.0\n#\nreturn\n")
    undo = restore(before, now, intent, PROFILES["huawei"])
    assert undo.commands.index("undo interface Vlanif100") < undo.commands.index(
        "undo vlan 100")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_value_the_cli_reads_as_a_key_is_refused_naming_variable_and_device(
        name: str) -> None:
    device = Device("sw-1", name, "access_switch", "笋岗", "10.1.1.1")
    keys = profile(name).cli_keys
    values = variables(device, {"defaults": {"ssid": "free?", "ntp_servers": ["10.0.0.1"]}}, {})
    with pytest.raises(IntentError, match=rf"sw-1: intent variable ssid holds '\?', the help "
                       rf"key on the {name} CLI"):
        refuse_cli_keys(device, values, keys)
    nested = {"walled_garden": ["10.0.0.80", "a\tb"], "radius_key": "S3cr?t"}
    with pytest.raises(IntentError, match=r"walled_garden\[1\] holds '\\t'"):
        refuse_cli_keys(device, nested, keys)
    with pytest.raises(IntentError, match="radius_key") as refused:
        refuse_cli_keys(device, {"radius_key": "S3cr?t"}, keys)
    assert "S3cr" not in str(refused.value)  # a key's value is never shown
    refuse_cli_keys(device, variables(device, {}, {"10.1.1.1": "S3cret"}), keys)  # all fine


@pytest.mark.parametrize("name", sorted(PROFILES))
@pytest.mark.parametrize("brk", ["\n", "\r"])
def test_a_line_break_in_a_value_is_refused_as_an_injected_command(name: str,
                                                                  brk: str) -> None:
    device = Device("sw-1", name, "access_switch", "笋岗", "10.1.1.1")
    secret = f"S3cret-long-key{brk}ip route 0.0.0.0 0.0.0.0 10.6.6.6"
    values = variables(device, {}, {"10.1.1.1": secret})
    with pytest.raises(IntentError, match=r"sw-1: intent variable radius_key holds "
                       r"'\\[nr]', a line break") as refused:
        refuse_cli_keys(device, values, profile(name).cli_keys)
    assert "S3cret" not in str(refused.value) and "ip route" not in str(refused.value)


def test_a_tcp_timeout_is_told_apart_from_a_refusal() -> None:
    from netmiko.exceptions import NetmikoTimeoutException

    from devices.driver import ConnectionRefused, Unreachable, connect_failure

    login = Login("sw-1", "10.1.1.1", 22, profile("huawei"), "admin", timeout=30)
    for cause, kind, said in ((TimeoutError("timed out"), Unreachable,
                               "no answer from 10.1.1.1:22 within 30 s"),
                              (ConnectionRefusedError(111, "refused"), ConnectionRefused,
                               "connection refused by 10.1.1.1:22"),
                              (OSError(113, "No route to host"), Unreachable,
                               "cannot open SSH to 10.1.1.1:22: No route to host")):
        try:
            try:
                raise cause
            except OSError:
                raise NetmikoTimeoutException("TCP connection to device failed.") from None
        except NetmikoTimeoutException as wrapped:
            wrapped.__context__ = cause  # as netmiko raises it: inside its except block
            error = connect_failure(wrapped, login)
        assert type(error) is kind
        assert said in str(error)


@pytest.mark.parametrize(("platform", "expected"), [
    ("huawei", [" url-parameter ac-ip wlanacip sysname wlanacname", "web-auth-server citynet",
                " server-ip 10.0.0.10", " port 50100", " shared-key cipher portal-key-1",
                "web-auth-server listening-port 2001", " source-ip 10.1.1.1",
                # the free rules: the portal, DNS, the walled garden, bound for the portal
                "free-rule-template name default_free_rule",
                " free-rule 1 destination ip 10.0.0.10 mask 255.255.255.255",
                " free-rule 2 destination ip any udp destination-port 53",
                " free-rule 3 destination ip 10.0.0.80 mask 255.255.255.255",
                "portal-access-profile name citynet-portal", " web-auth-server citynet direct",
                "authentication-profile name citynet-portal",
                " free-rule-template default_free_rule",
                # bound to the guest SSID, its logins RADIUS's
                " access-domain citynet-portal force", " domain citynet-portal",
                "  radius-server citynet", "  ssid i-Shenzhen",
                " vap-profile name citynet-guest", "  service-vlan vlan-id 100",
                "  authentication-profile citynet-portal",
                "  vap-profile citynet-guest wlan 1 radio all"]),
    ("hp_comware", [" url-parameter nasip value 10.1.1.1",
                    " url-parameter wlanacname value ac-1", "portal server citynet",
                    " ip 10.0.0.10 key simple portal-key-1", " port 50100",
                    "portal free-rule 1 destination ip 10.0.0.10 255.255.255.255",
                    "portal free-rule 2 destination ip any udp 53",
                    "portal free-rule 3 destination ip 10.0.0.80 255.255.255.255",
                    # bound to the guest SSID, its logins RADIUS's
                    "domain citynet-portal", " authentication portal radius-scheme citynet",
                    "wlan service-template citynet-guest", " ssid i-Shenzhen", " vlan 100",
                    " portal enable method direct", " portal domain citynet-portal",
                    " portal bas-ip 10.1.1.1", " portal apply web-server citynet",
                    " service-template enable"]),
])
def test_guest_wifi_configures_the_portal_server_from_the_nas_entry(
        platform: str, expected: list[str]) -> None:
    device = Device("ac-1", platform, "access_switch", "x", "10.1.1.1")
    document = {"defaults": {"radius_server": "10.0.0.10", "walled_garden": ["10.0.0.80"]}}
    portals = {"10.1.1.1": {"portal_protocol": "huawei-v2", "ac_name": "ac-1",
                            "portal_port": 2001 if platform == "huawei" else 2000,
                            "portal_key": "portal-key-1"}}
    text = Renderer().render(device, ["guest_wifi"], variables(
        device, document, {"10.1.1.1": "radius-key-1"}, portals)).text
    lines = text.splitlines()
    for line in expected:
        assert any(got.startswith(line) for got in lines), (line, text)
    plain = Renderer().render(device, ["guest_wifi"], variables(
        device, document, {"10.1.1.1": "radius-key-1"})).text
    assert "portal-key" not in plain and "citynet" in plain  # a UAM/RADIUS-only NAS


def test_a_comware_ac_registered_on_another_portal_port_is_refused() -> None:
    """Comware has no command for its own Portal port: an entry saying another port would
    leave citynet sending where the AC does not listen, so nothing renders."""
    device = Device("ac-1", "hp_comware", "access_switch", "x", "10.1.1.1")
    portals = {"10.1.1.1": {"portal_protocol": "huawei-v2", "ac_name": "ac-1",
                            "portal_port": 2001, "portal_key": "portal-key-1"}}
    with pytest.raises(IntentError, match="Comware listens on 2000"):
        Renderer().render(device, ["guest_wifi"], variables(
            device, {}, {"10.1.1.1": "radius-key-1"}, portals))


@pytest.mark.parametrize(("intent", "said"), [
    ({"ssid": "two words"}, "ssid: 1 to 32 characters"),
    ({"guest_wlan_id": 17}, "guest_wlan_id: a whole number 1..16"),
    ({"guest_ap_group": "a b"}, "guest_ap_group"),
    ({"enterprise_ssid": "staff", "enterprise_wlan_id": 1}, "both 1 in AP group default"),
])
def test_a_guest_ssid_no_ac_can_take_is_refused(intent: dict[str, Any], said: str) -> None:
    device = Device("ac-1", "huawei", "access_switch", "x", "10.1.1.1")
    portals = {"10.1.1.1": {"portal_protocol": "huawei-v2", "ac_name": "ac-1",
                            "portal_port": 2000, "portal_key": "portal-key-1"}}
    with pytest.raises(IntentError, match=said):
        variables(device, {"defaults": intent}, {"10.1.1.1": "radius-key-1"}, portals)
    # without a Portal protocol the SSID is a description's word only, as before
    variables(device, {"defaults": intent}, {"10.1.1.1": "radius-key-1"})
