"""A remembered device on the portal: one tap needs the browser that was remembered, not
only its MAC (which anyone on the WiFi can see and clone)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal import device_cookie
from radius import remembered
from radius.records import LoginRecord
from tests.integration.portal.conftest import Hotspot
from tests.integration.portal.test_flow import PHONE, sms_login

MAC = "AA-BB-CC-DD-EE-41"


def mac_logins(hotspot: Hotspot) -> int:
    with hotspot.store.session() as session:
        return len(session.scalars(select(LoginRecord).where(
            LoginRecord.event == "login", LoginRecord.method == "mac")).all())


def remembered_then_offline(hotspot: Hotspot) -> None:
    owner = hotspot.person(MAC)
    sms_login(hotspot, owner, remember=True)
    hotspot.gateway.logoff(next(d for d in hotspot.gateway.devices.values()
                                if d.mac == MAC))


def test_a_fresh_browser_behind_a_remembered_mac_gets_no_one_tap(hotspot: Hotspot) -> None:
    remembered_then_offline(hotspot)
    clone = hotspot.person(MAC)  # another browser (or device) showing the same MAC
    landing = clone.arrive().get_data(as_text=True)
    assert "138****8000" not in landing  # not offered
    refused = clone.post("/portal/device")
    assert refused.status_code == 400
    assert mac_logins(hotspot) == 0  # and nobody was logged in or recorded as the owner
    with hotspot.store.session() as session:  # the owner's remembrance stays
        assert remembered.owner(session, "aa:bb:cc:dd:ee:41", datetime.now(UTC)) == PHONE


def test_a_cookie_for_another_mac_or_a_forged_one_is_refused(hotspot: Hotspot) -> None:
    remembered_then_offline(hotspot)
    with hotspot.store.session() as session:
        [device] = remembered.search(session, datetime.now(UTC), mac="aa:bb:cc:dd:ee:41")
    key = hotspot.portal.device_key
    for cookie in (device_cookie.value(key, "aa:bb:cc:dd:ee:42", device.id),  # other MAC
                   device_cookie.value(b"k" * 32, "aa:bb:cc:dd:ee:41", device.id),  # forged
                   device_cookie.value(key, "aa:bb:cc:dd:ee:41", device.id + 1)):  # other
        clone = hotspot.person(MAC)
        clone.browser.set_cookie(device_cookie.NAME, cookie, path="/portal")
        assert "138****8000" not in clone.arrive().get_data(as_text=True)
        assert clone.post("/portal/device").status_code == 400
    assert mac_logins(hotspot) == 0


def test_the_remembered_browser_gets_one_tap_until_the_device_is_remembered_anew(
        hotspot: Hotspot) -> None:
    owner = hotspot.person(MAC)
    sms_login(hotspot, owner, remember=True)
    cookie = owner.browser.get_cookie(device_cookie.NAME, path="/portal")
    assert cookie is not None and cookie.http_only
    hotspot.gateway.logoff(next(d for d in hotspot.gateway.devices.values()
                                if d.mac == MAC))
    assert "138****8000" in owner.arrive().get_data(as_text=True)
    # the MAC remembered again (by someone else's login on it): the old cookie names a
    # remembrance that has ended
    with hotspot.store.session() as session:
        remembered.remember(session, "aa:bb:cc:dd:ee:41", "13900139000", days=7)
    assert owner.post("/portal/device").status_code == 400
    assert mac_logins(hotspot) == 0
