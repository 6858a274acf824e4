"""The nac template (802.1X, MAC bypass, the enterprise SSID): what each platform gets,
both RADIUS servers named for authentication, accounting and CoA, the key never shown,
and the port lists an engineer writes in the intent file checked before anything renders.
Huawei and H3C are also pushed to the stateful fakes (tests/integration/devices)."""

from __future__ import annotations

from typing import Any

import pytest

from devices.confdiff import plan, redact
from devices.intent import Device, IntentError, Renderer, variables
from devices.platforms import profile

KEY = "nas-key-42"
SERVERS = ("10.1.0.10", "10.2.0.10")
PORTS = {"cisco_ios": "GigabitEthernet1/0/", "ruijie_os": "GigabitEthernet 0/",
         "huawei": "GigabitEthernet0/0/", "hp_comware": "GigabitEthernet1/0/"}


def device(platform: str) -> Device:
    return Device("sw-1", platform, "access_switch", "笋岗社区", "10.20.0.1")


def render(platform: str, **intent: Any) -> str:
    values = variables(device(platform), {"defaults": intent}, {"10.20.0.1": KEY},
                       radius_servers=SERVERS)
    return Renderer().render(device(platform), ["nac"], values).text


def shown(platform: str, **intent: Any) -> list[str]:
    """The rendered lines as a plan shows them (keys redacted)."""
    return redact(render(platform, **intent), profile(platform)).splitlines()


def block(lines: list[str], header: str) -> list[str]:
    """``header`` and its indented lines."""
    start = lines.index(header)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")),
               len(lines))
    return lines[start:end]


def test_cisco_ios_golden_lines() -> None:
    lines = shown("cisco_ios", dot1x_ports=["GigabitEthernet1/0/1-2"],
                  mab_ports=["GigabitEthernet1/0/9"], reauth_seconds=1800)
    assert block(lines, "aaa group server radius citynet") == [
        "aaa group server radius citynet", " server name citynet", " server name citynet-2"]
    assert block(lines, "radius server citynet-2") == [
        "radius server citynet-2", " address ipv4 10.2.0.10 auth-port 1812 acct-port 1813",
        " key <redacted>"]
    assert block(lines, "aaa server radius dynamic-author") == [
        "aaa server radius dynamic-author", " client 10.1.0.10 server-key <redacted>",
        " client 10.2.0.10 server-key <redacted>", " port 3799"]
    for line in ("aaa new-model", "aaa authentication dot1x default group citynet",
                 "aaa authorization network default group citynet",
                 "aaa accounting dot1x default start-stop group citynet",
                 "dot1x system-auth-control"):
        assert line in lines
    assert block(lines, "interface GigabitEthernet1/0/2") == [
        "interface GigabitEthernet1/0/2", " switchport mode access",
        " authentication order dot1x mab", " authentication priority dot1x mab",
        " authentication port-control auto", " authentication periodic",
        " authentication timer reauthenticate 1800", " mab", " dot1x pae authenticator"]
    mab_only = block(lines, "interface GigabitEthernet1/0/9")
    assert " mab" in mab_only and " dot1x pae authenticator" not in mab_only
    assert not any(line.startswith("wlan ") for line in lines)  # no SSID asked for


def test_ruijie_os_golden_lines() -> None:
    lines = shown("ruijie_os", dot1x_ports=["GigabitEthernet 0/1"],
                  mab_ports=["GigabitEthernet 0/9"])
    for server in SERVERS:
        assert (f"radius-server host {server} auth-port 1812 acct-port 1813 key <redacted>"
                in lines)
    assert block(lines, "aaa group server radius citynet") == [
        "aaa group server radius citynet", " server 10.1.0.10", " server 10.2.0.10"]
    for line in ("aaa authentication dot1x citynet-nac group citynet",
                 "aaa authorization network citynet-nac group citynet",
                 "aaa accounting network citynet-nac start-stop group citynet",
                 "dot1x authentication citynet-nac", "dot1x accounting citynet-nac",
                 "dot1x re-authentication", "dot1x timeout re-authperiod 3600",
                 "radius dynamic-authorization-extension enable"):
        assert line in lines
    for port in ("GigabitEthernet 0/1", "GigabitEthernet 0/9"):
        assert block(lines, f"interface {port}") == [
            f"interface {port}", " dot1x port-control auto", " dot1x mac-auth-bypass"]


@pytest.mark.parametrize("platform", sorted(PORTS))
def test_both_servers_and_never_the_key(platform: str) -> None:
    text = render(platform, dot1x_ports=[PORTS[platform] + "1"],
                  enterprise_ssid="citynet-staff", enterprise_vlan=10)
    plain = redact(text, profile(platform))
    assert KEY in text and KEY not in plain  # the key is pushed, and never shown
    for server in SERVERS:
        assert plain.count(server) >= 2, (server, plain)  # RADIUS and CoA


@pytest.mark.parametrize(("platform", "ssid_lines"), [
    ("huawei", ["  ssid citynet-staff", "  security wpa2 dot1x aes",
                "  service-vlan vlan-id 10", "  vap-profile citynet-nac wlan 2 radio all"]),
    ("hp_comware", [" ssid citynet-staff", " vlan 10", " akm mode dot1x",
                    " client-security authentication-mode dot1x"]),
    ("cisco_ios", ["wlan citynet-nac 2 citynet-staff",
                   " security dot1x authentication-list default", " vlan 10"]),
    ("ruijie_os", ["wlan-config 2 citynet-nac citynet-staff", " security rsn akm 802.1x enable",
                   " interface-mapping 2 10"]),
])
def test_enterprise_ssid(platform: str, ssid_lines: list[str]) -> None:
    lines = shown(platform, enterprise_ssid="citynet-staff", enterprise_vlan=10)
    for line in ssid_lines:
        assert line in lines, (line, lines)


def test_wpa3_where_the_template_has_it_and_refused_where_not() -> None:
    assert "  security wpa3 dot1x aes" in shown("huawei", enterprise_ssid="s",
                                                enterprise_wpa="wpa3")
    assert " pmf mandatory" in shown("hp_comware", enterprise_ssid="s", enterprise_wpa="wpa3")
    assert " security pmf mandatory" in shown("cisco_ios", enterprise_ssid="s",
                                              enterprise_wpa="wpa3")
    with pytest.raises(IntentError, match=r"sw-1: template ruijie_os/nac\.j2: enterprise_wpa"):
        render("ruijie_os", enterprise_ssid="s", enterprise_wpa="wpa3")


@pytest.mark.parametrize(("intent", "message"), [
    ({"dot1x_ports": ["GigabitEthernet0/0/1-3"], "mab_ports": ["GigabitEthernet0/0/2"]},
     "port GigabitEthernet0/0/2 is named twice"),
    ({"dot1x_ports": ["Gi0/0/1; reload"]}, "dot1x_ports: 'Gi0/0/1; reload' is not a port"),
    ({"dot1x_ports": ["GigabitEthernet0/0/9-1"]}, "the range runs backwards"),
    ({"mab_ports": "GigabitEthernet0/0/1"}, "mab_ports: a list of ports"),
    ({"reauth_seconds": 30}, "reauth_seconds: a whole number 60..7200"),
    ({"enterprise_vlan": 4095}, "enterprise_vlan: a whole number 1..4094"),
    ({"enterprise_wpa": "wep"}, "enterprise_wpa: one of wpa2, wpa3"),
    ({"enterprise_ssid": "two words"}, "enterprise_ssid: 1 to 32 characters"),
    ({"enterprise_ap_group": "a group"}, "enterprise_ap_group: 1 to 31"),
])
def test_intent_the_template_cannot_take_is_refused(intent: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(IntentError, match=message):
        variables(device("huawei"), {"defaults": intent}, {}, radius_servers=SERVERS)


def test_a_range_names_each_port() -> None:
    values = variables(device("huawei"), {"defaults": {"dot1x_ports": [
        "GigabitEthernet0/0/1-3", "XGigabitEthernet0/0/1", "25GE1/0/2"]}}, {},
        radius_servers=SERVERS)
    assert values["dot1x_ports"] == ["GigabitEthernet0/0/1", "GigabitEthernet0/0/2",
                                     "GigabitEthernet0/0/3", "XGigabitEthernet0/0/1",
                                     "25GE1/0/2"]


@pytest.mark.parametrize("platform", ["cisco_ios", "ruijie_os"])
def test_a_ports_own_settings_stay(platform: str) -> None:
    """A physical port is the site's: the plan adds the 802.1X lines and removes none of
    the port's VLAN or description."""
    port = PORTS[platform] + "1"
    running = (f"interface {port}\n description printer room 3\n switchport access vlan 50\n"
               " switchport mode access\n")
    change = plan(render(platform, dot1x_ports=[port]), running, profile(platform))
    assert not any(line.startswith("-") for line in change.removed), change.removed
    assert not any(command.startswith("no ") for command in change.commands)


def test_the_guest_template_shares_the_cisco_coa_block() -> None:
    """guest_wifi and nac own the same sections: pushing one after the other must not
    remove what the other added (IOS listens on 1700 unless told radius.coa_port)."""
    values = variables(device("cisco_ios"), {}, {"10.20.0.1": KEY}, radius_servers=SERVERS)
    guest = Renderer().render(device("cisco_ios"), ["guest_wifi"], values).text
    nac = render("cisco_ios")
    assert plan(guest, nac, profile("cisco_ios")).removed == []
    assert plan(nac, guest, profile("cisco_ios")).removed == []
