"""The guest WiFi templates name every RADIUS server of the cluster, for RADIUS and as
the clients whose Disconnect/CoA-Requests the NAS accepts; the key never shows."""

from __future__ import annotations

import pytest

from devices.confdiff import redact
from devices.intent import Device, IntentError, Renderer, variables
from devices.platforms import profile

KEY = "nas-key-42"
SERVERS = ("10.1.0.10", "10.2.0.10")
AT = {"radius_servers": SERVERS}  # the cluster's servers, as targets.py passes them
# per platform: the lines that must name each server (format with the server)
EXPECTED = {
    "cisco_ios": (" address ipv4 {} auth-port 1812 acct-port 1813",
                  " client {} server-key <redacted>"),
    "huawei": (" radius-server authentication {} 1812 weight",
               "radius-server authorization {} shared-key <redacted>"),
    "hp_comware": ("authentication {} 1812 key <redacted>",
                   " client ip {} key <redacted>"),
    "ruijie_os": ("radius-server host {} auth-port 1812 acct-port 1813 key <redacted>",),
}


def device(platform: str) -> Device:
    return Device("nas-1", platform, "access_switch", "笋岗社区", "10.20.0.1")


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_every_server_is_named_for_radius_and_coa(platform: str) -> None:
    values = variables(device(platform), {}, {"10.20.0.1": KEY}, radius_servers=SERVERS)
    text = Renderer().render(device(platform), ["guest_wifi"], values).text
    shown = redact(text, profile(platform))
    assert KEY not in shown
    for line in EXPECTED[platform]:
        for server in SERVERS:
            assert line.format(server) in shown, (line, server, shown)


def test_comware_and_huawei_order_primary_then_secondary() -> None:
    values = variables(device("hp_comware"), {}, {"10.20.0.1": KEY}, radius_servers=SERVERS)
    text = Renderer().render(device("hp_comware"), ["guest_wifi"], values).text
    assert f" primary authentication {SERVERS[0]} 1812" in text
    assert f" secondary authentication {SERVERS[1]} 1812" in text
    values = variables(device("huawei"), {}, {"10.20.0.1": KEY}, radius_servers=SERVERS)
    text = Renderer().render(device("huawei"), ["guest_wifi"], values).text
    assert f"authentication {SERVERS[0]} 1812 weight 80" in text
    assert f"authentication {SERVERS[1]} 1812 weight 70" in text


def test_the_intent_file_may_name_its_own_servers() -> None:
    site = {"sites": {"笋岗社区": {"radius_servers": ["10.9.0.1"]}}}
    assert variables(device("huawei"), site, {}, **AT)["radius_servers"] == ["10.9.0.1"]
    legacy = {"defaults": {"radius_server": "10.0.0.5"}}  # one server, as before
    assert variables(device("huawei"), legacy, {}, **AT)["radius_servers"] == ["10.0.0.5"]
    assert variables(device("huawei"), {}, {}, **AT)["radius_server"] == SERVERS[0]


@pytest.mark.parametrize("servers", [[], ["10.0.0.1", "10.0.0.2", "10.0.0.3"], ["radius-1"]])
def test_a_server_list_no_template_can_take_is_refused(servers: list[str]) -> None:
    with pytest.raises(IntentError, match="nas-1: radius_servers"):
        variables(device("huawei"), {"defaults": {"radius_servers": servers}}, {}, **AT)
