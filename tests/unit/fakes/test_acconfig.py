"""A fake AC's portal settings read from what the guest_wifi templates put on the fake
Huawei and H3C devices: every setting from the NAS entry and the intent, found through the
bindings, and a broken binding a clear error rather than a default."""

from __future__ import annotations

import pytest

from devices.confdiff import plan
from devices.intent import Device, Renderer, variables
from devices.platforms import profile
from tests.fakes.acconfig import ConfigError, RedirectParameter, portal_settings
from tests.fakes.vrp import CliSession, FakeVrp

VENDORS = {"huawei": "huawei", "hp_comware": "h3c"}


def pushed(platform: str, port: int, *extra: str) -> FakeVrp:
    """A fake device of ``platform`` with guest_wifi for a Portal AC typed in (and then
    the ``extra`` lines, in the system view)."""
    device = Device("ac-7", platform, "access_switch", "x", "10.20.0.2")
    document = {"defaults": {"radius_servers": ["10.0.0.10", "10.0.0.11"],
                             "portal_url": "http://portal.example.cn/portal/",
                             "ssid": "i-Luohu", "walled_garden": ["10.0.0.80"]}}
    portals = {"10.20.0.2": {"portal_protocol": "huawei-v2", "ac_name": "ac-luohu",
                             "portal_port": port, "portal_key": "the-portal-key"}}
    intent = Renderer().render(device, ["guest_wifi"], variables(
        device, document, {"10.20.0.2": "the-radius-key"}, portals))
    fake = FakeVrp(VENDORS[platform], hostname="ac-luohu")
    session = CliSession(fake)
    change = plan(intent.text, fake.running_config(), profile(platform), intent.owned)
    for line in ["system-view", *change.commands, "return", "system-view", *extra]:
        reply, _ = session.feed(line)
        assert "rror" not in reply and " % " not in reply, (line, reply)
    return fake


def test_a_huawei_ac_reads_what_the_nas_entry_and_intent_said() -> None:
    fake = pushed("huawei", 2001)
    settings = portal_settings(fake.running_config(), "huawei", fake.vault)
    assert (settings.name, settings.address, settings.port) == ("ac-luohu", "10.20.0.2", 2001)
    assert settings.secret == "the-portal-key" and settings.portal == ("10.0.0.10", 50100)
    assert settings.url == "http://portal.example.cn/portal/" and settings.ssid == "i-Luohu"
    assert settings.parameters == (
        RedirectParameter("wlanacip", "ac_ip"), RedirectParameter("wlanacname", "ac_name"),
        RedirectParameter("ssid", "ssid"), RedirectParameter("wlanuserip", "user_ip"),
        RedirectParameter("usermac", "user_mac"), RedirectParameter("redirect-url", "url"))
    assert settings.radius == ("10.0.0.10", 1812, 1813, "the-radius-key")  # the first server


def test_an_h3c_ac_reads_what_the_nas_entry_and_intent_said() -> None:
    fake = pushed("hp_comware", 2000)
    settings = portal_settings(fake.running_config(), "h3c", fake.vault)
    assert (settings.name, settings.address, settings.port) == ("ac-luohu", "10.20.0.2", 2000)
    assert settings.secret == "the-portal-key" and settings.portal == ("10.0.0.10", 50100)
    assert settings.url == "http://portal.example.cn/portal/" and settings.ssid == "i-Luohu"
    assert settings.parameters == (
        RedirectParameter("userip", "user_ip"), RedirectParameter("usermac", "user_mac"),
        RedirectParameter("nasip", value="10.20.0.2"),
        RedirectParameter("wlanacname", value="ac-luohu"))
    assert settings.radius == ("10.0.0.10", 1812, 1813, "the-radius-key")


@pytest.mark.parametrize(("platform", "extra", "said"), [
    pytest.param("huawei", ["wlan", "vap-profile name citynet-guest",
                            "undo authentication-profile"],
                 "0 of a VAP profile with an authentication profile", id="huawei-unbound"),
    pytest.param("huawei", ["wlan", "ap-group name default",
                            "undo vap-profile citynet-guest wlan 1 radio all"],
                 "0 of an AP group with 'vap-profile citynet-guest wlan'",
                 id="huawei-on-no-radio"),
    pytest.param("huawei", ["undo web-auth-server listening-port"],
                 "0 lines 'web-auth-server listening-port'", id="huawei-no-port"),
    pytest.param("huawei", ["url-template name citynet-portal", "undo url-parameter",
                            "url-parameter ap-mac apmac"],
                 r"cannot fill in \['ap-mac'\]", id="huawei-parameter"),
    pytest.param("hp_comware", ["wlan service-template citynet-guest",
                                "undo portal apply web-server"],
                 "0 of a service template applying a portal", id="h3c-unbound"),
    pytest.param("hp_comware", ["wlan service-template citynet-guest",
                                "undo portal enable method direct"],
                 "no portal enable method direct", id="h3c-not-enabled"),
    pytest.param("hp_comware", ["portal web-server citynet",
                                "url-parameter apname ap-name"],
                 "cannot fill it in", id="h3c-parameter"),
])
def test_a_missing_or_unreadable_setting_is_an_error(platform: str, extra: list[str],
                                                     said: str) -> None:
    fake = pushed(platform, 2000, *extra)
    with pytest.raises(ConfigError, match=said):
        portal_settings(fake.running_config(), VENDORS[platform], fake.vault)


def test_a_key_the_device_cannot_open_is_an_error() -> None:
    fake = pushed("huawei", 2000)
    with pytest.raises(ConfigError, match="cannot open") as raised:
        portal_settings(fake.running_config(), "huawei", {})
    assert "the-portal-key" not in str(raised.value)
