"""The hand-off for a controller with its own web-auth (Huawei-style external portal):
the portal verifies the person and gives the browser a form to post to the controller;
the controller's PAP Access-Request with that one-time token is accepted once."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from sqlalchemy import update

from inventory.models import NasClient
from radius import guesses, records, vouchers
from radius.records import LoginEvent
from tests.integration.portal.conftest import NAS_SECRET, NASID, Hotspot
from tests.integration.radius.conftest import radclient

LOGIN_URL = "https://ac.example:8443/portal/login"
CLIENT = "10.1.0.50"
REDIRECT = (f"/portal/?wlanacname={NASID}&wlanuserip={CLIENT}&usermac=AA-BB-CC-DD-EE-31"
            "&ssid=i-Luohu&url=http%3A%2F%2Fexample.com%2F")


def with_login_url(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        session.execute(update(NasClient).where(NasClient.name == NASID)
                        .values(portal_login_url=LOGIN_URL))


def test_a_controllers_redirect_is_checked(hotspot: Hotspot) -> None:
    browser = hotspot.app.test_client()
    # the NAS has no login URL: not a web-auth controller
    assert browser.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT}).status_code == 400
    with_login_url(hotspot)
    fresh = hotspot.app.test_client()
    hotspot.portal.nases.invalidate()  # changed after first use
    # a redirect naming another client than the one asking
    spoofed = fresh.get(REDIRECT, environ_base={"REMOTE_ADDR": "10.1.0.66"})
    assert spoofed.status_code == 400
    unknown = fresh.get(REDIRECT.replace(NASID, "no-such-ac"),
                        environ_base={"REMOTE_ADDR": CLIENT})
    assert unknown.status_code == 400
    assert fresh.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT}).location == (
        "/portal/login")


def test_an_sms_login_is_handed_to_the_controller_as_a_form(hotspot: Hotspot) -> None:
    with_login_url(hotspot)
    person = hotspot.person()
    person.browser.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT})
    person.portal("/portal/sms")
    person.post("/portal/sms", phone="13800138000", consent="1")
    code_page = person.portal("/portal/sms/code").get_data(as_text=True)
    assert 'name="remember"' not in code_page  # an unsigned hand-off: no remembering
    page = person.post("/portal/sms/code", code=hotspot.last_code())
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'action="{LOGIN_URL}"' in html
    assert "form-action 'self' https://ac.example:8443" in page.headers[
        "Content-Security-Policy"]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))
    assert fields["username"] == "13800138000"
    token = unescape(fields["password"])
    # the controller asks RADIUS with what the browser posted: PAP, once
    auth = f"127.0.0.1:{hotspot.radius.ports[0]}"
    login = (f'User-Name = "13800138000"\nUser-Password = "{token}"\n'
             'Calling-Station-Id = "AA-BB-CC-DD-EE-31"\nMessage-Authenticator = 0x00\n')
    assert "Received Access-Accept" in radclient(auth, "auth", login, secret=NAS_SECRET).stdout
    assert "Received Access-Reject" in radclient(auth, "auth", login, secret=NAS_SECRET).stdout


def test_an_unsigned_handoff_cannot_act_for_a_remembered_mac(hotspot: Hotspot) -> None:
    """Someone on the WiFi names a victim's remembered MAC in a web-auth redirect."""
    from radius import remembered

    victim = "aa:bb:cc:dd:ee:31"
    with hotspot.store.session() as session:
        remembered.remember(session, victim, "13900139000", days=7)
    with_login_url(hotspot)
    attacker = hotspot.person()
    response = attacker.browser.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT})
    assert response.location == "/portal/login"
    landing = attacker.portal("/portal/login").get_data(as_text=True)
    assert "139****9000" not in landing  # no one-tap offer for an unchecked MAC
    assert attacker.post("/portal/device").status_code == 400
    assert attacker.post("/portal/forget").status_code == 302
    with hotspot.store.session() as session:  # still remembered for its owner
        assert remembered.owner(session, victim, datetime.now(UTC)) == "13900139000"
    assert attacker.browser.get("/portal/enrol").location == "/portal/login"


def test_no_logout_button_for_a_web_auth_controller(hotspot: Hotspot) -> None:
    with_login_url(hotspot)
    person = hotspot.person()
    person.browser.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT})
    status = person.portal("/portal/status").get_data(as_text=True)
    assert "退出登录" not in status  # its own pages log out; there is no UAM logoff URL
    with person.browser.session_transaction() as session:
        csrf = session["csrf"]
    assert person.browser.post("/portal/logout", data={"csrf": csrf}).status_code == 409


def test_an_unsigned_handoff_names_no_device_to_hold(hotspot: Hotspot) -> None:
    """A web-auth redirect is not signed: its MAC is anyone's to write, so the portal's
    hold of wrong voucher codes does not go by it (RADIUS holds by the controller's)."""
    named = "aa:bb:cc:dd:ee:31"  # the MAC in REDIRECT, with wrong codes used up
    with hotspot.store.session() as session:
        records.append(session, [LoginEvent(
            at=datetime.now(UTC), event="login", result="unknown voucher", identity="X",
            method="voucher", nas="elsewhere", mac=named)] * guesses.LIMITS["mac"])
    with_login_url(hotspot)
    person = hotspot.person()
    person.browser.get(REDIRECT, environ_base={"REMOTE_ADDR": CLIENT})
    person.portal("/portal/login")
    code = vouchers.display(vouchers.new_code())
    page = person.post("/portal/voucher", code=code, consent="1")
    assert page.status_code == 200 and f'action="{LOGIN_URL}"' in page.get_data(as_text=True)
