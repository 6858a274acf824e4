"""Every login method end to end: gateway simulator → portal → gateway /logon → the real
RADIUS listener → accounting Start stored → the portal's success page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
from sqlalchemy import select

from portal import totp
from portal.consent import TERMS_VERSION, Consent
from radius import remembered, vouchers
from radius.models import RadiusSession
from radius.records import LoginRecord
from tests.integration.portal.conftest import Hotspot, Person
from tests.support import wait_until

PHONE = "13800138000"


def logins(hotspot: Hotspot) -> list[tuple[str, str, str]]:
    with hotspot.store.session() as session:
        return [(r.identity, r.method, r.result) for r in session.scalars(
            select(LoginRecord).where(LoginRecord.event == "login")
            .order_by(LoginRecord.seq))]


def open_session(hotspot: Hotspot, mac: str) -> RadiusSession | None:
    with hotspot.store.session() as session:
        return session.scalar(select(RadiusSession).where(
            RadiusSession.calling_station == mac, RadiusSession.stopped_at.is_(None)))


def sms_login(hotspot: Hotspot, person: Person, remember: bool = False) -> str:
    person.arrive()
    person.portal("/portal/sms")
    sent = person.post("/portal/sms", phone="+86 138-0013-8000", consent="1", location="1")
    assert sent.status_code == 302
    person.portal(sent.location)
    form = {"code": hotspot.last_code(PHONE)}
    if remember:
        form["remember"] = "1"
    return person.finish(person.post("/portal/sms/code", **form)).get_data(as_text=True)


def test_a_voucher_login_goes_online_and_back_to_the_original_page(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "t", valid_days=1)
        code = vouchers.display(voucher.code)
    person = hotspot.person()
    landing = person.arrive("/news").get_data(as_text=True)
    assert "上网券" in landing  # Chinese by default
    page = person.finish(person.post("/portal/voucher", code=code.lower(), consent="1"))
    text = page.get_data(as_text=True)
    assert "已连接" in text
    assert 'href="http://example.com/news"' in text  # the original URL, as a plain link
    assert logins(hotspot) == [(voucher.code, "voucher", "accept")]
    # the success page was the answer to the NAS's res=success URL; switching the
    # language there (a link to ?lang=en) keeps the person on the success page
    english = person.portal("/portal/?lang=en").get_data(as_text=True)
    assert "You are online" in english and "Log in" not in english
    live = open_session(hotspot, "AA-BB-CC-DD-EE-01")
    assert live is not None and live.identity == voucher.code and live.method == "voucher"


def test_a_wrong_voucher_comes_back_with_the_radius_reason(hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive(lang="en")
    unknown = vouchers.display(vouchers.new_code())  # well-formed, never issued
    page = person.finish(person.post("/portal/voucher", code=unknown, consent="1"))
    assert "Login failed" in page.get_data(as_text=True)
    assert "unknown voucher" in page.get_data(as_text=True)
    typo = person.post("/portal/voucher", code="ABCD-EFGH-J2", consent="1")
    assert typo.status_code == 400 and "not valid" in typo.get_data(as_text=True)


def test_an_sms_login_in_english_and_the_status_page(hotspot: Hotspot) -> None:
    person = hotspot.person()
    landing = person.arrive(lang="en_US")  # the NAS's spelling, not the portal's
    assert landing.status_code == 200 and "Log in" in landing.get_data(as_text=True)
    # a language the portal does not have: the browser's, not Chinese by default
    french = hotspot.person(mac="AA-BB-CC-DD-EE-09")
    french.browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9,en;q=0.8"
    assert "Log in" in french.arrive(lang="fr").get_data(as_text=True)
    # the person's own choice outlives the NAS's lang on its next hand-off
    assert "登录" in french.portal("/portal/?lang=zh-CN").get_data(as_text=True)
    assert "登录" in french.arrive(lang="en").get_data(as_text=True)
    text = sms_login(hotspot, person)
    assert "You are online" in text
    assert logins(hotspot) == [(PHONE, "sms", "accept")]
    with hotspot.store.session() as session:  # the separate location consent is kept
        [agreed] = session.scalars(select(Consent)).all()
        assert (agreed.identity, agreed.location, agreed.terms_version) == (
            PHONE, True, TERMS_VERSION)
    wait_until(lambda: open_session(hotspot, "AA-BB-CC-DD-EE-01") is not None,
               what="accounting Start stored")
    status = person.portal("/portal/status").get_data(as_text=True)
    left = re.search(r"Time left</dt><dd>(\d+) min", status)
    assert left and 0 < int(left.group(1)) <= 240  # the default profile's 4 hours


def enrolment_secret(page: str) -> str:
    """The secret the app enrolment page shows for typing: groups of four (apps ignore
    the spaces), as the staff page shows its own."""
    typed = re.search(r'<code id="secret">([A-Z2-7]{4}(?: [A-Z2-7]{1,4})*)</code>', page)
    assert typed, page
    return typed.group(1).replace(" ", "")


def test_an_app_login_after_enrolment_and_no_replay(hotspot: Hotspot) -> None:
    person = hotspot.person()
    sms_login(hotspot, person)
    enrol = person.portal("/portal/enrol").get_data(as_text=True)
    assert "<svg" in enrol  # the QR code, inline
    secret = enrolment_secret(enrol)
    code = pyotp.TOTP(secret).now()
    assert person.post("/portal/enrol", code=code).status_code == 200
    with hotspot.store.session() as session:
        assert totp.enrolled(session, PHONE)
    # later, another device of the same person: phone + the app's code, full-width digits
    other = hotspot.person("AA-BB-CC-DD-EE-02")
    other.arrive()
    other.portal("/portal/app")
    now_code = pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in now_code)
    page = other.finish(other.post("/portal/app", phone=PHONE, code=full_width, consent="1"))
    assert "已连接" in page.get_data(as_text=True)
    # the same code again (a replay) is refused
    third = hotspot.person("AA-BB-CC-DD-EE-03")
    third.arrive()
    third.portal("/portal/app")
    replay = third.post("/portal/app", phone=PHONE, code=now_code, consent="1")
    assert replay.status_code == 400
    assert ("totp", "accept") in {(m, r) for _i, m, r in logins(hotspot)}


def test_a_remembered_device_logs_in_with_one_tap_and_can_be_forgotten(
        hotspot: Hotspot) -> None:
    person = hotspot.person("AA-BB-CC-DD-EE-04")
    sms_login(hotspot, person, remember=True)
    with hotspot.store.session() as session:
        assert remembered.owner(session, "aa:bb:cc:dd:ee:04", datetime.now(UTC)) == PHONE
    hotspot.gateway.logoff(next(d for d in hotspot.gateway.devices.values()
                                if d.mac == "AA-BB-CC-DD-EE-04"))
    back = person  # the same browser: it holds the cookie of the remembering login
    landing = back.arrive().get_data(as_text=True)
    assert "138****8000" in landing  # offered one tap, the number masked
    page = back.finish(back.post("/portal/device"))
    assert "已连接" in page.get_data(as_text=True)
    assert logins(hotspot)[-1] == (PHONE, "mac", "accept")  # a remembered device
    # a remembered device is no proof of the number: no app enrolment from it
    assert back.browser.get("/portal/enrol").location == "/portal/login"
    status = back.portal("/portal/status").get_data(as_text=True)
    assert "不再记住此设备" in status
    forgotten = back.post("/portal/forget")
    assert forgotten.status_code == 302
    with hotspot.store.session() as session:
        assert remembered.owner(session, "aa:bb:cc:dd:ee:04", datetime.now(UTC)) is None


def test_the_captive_portal_api_rfc_8908(hotspot: Hotspot) -> None:
    person = hotspot.person("AA-BB-CC-DD-EE-05")
    before = person.browser.get("/portal/api/captive", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert before.mimetype == "application/captive+json"
    assert before.headers["Cache-Control"] == "no-store"
    assert before.get_json() == {"captive": True,
                                 "user-portal-url": "http://localhost/portal/login"}
    sms_login(hotspot, person)
    device = next(d for d in hotspot.gateway.devices.values() if d.mac == "AA-BB-CC-DD-EE-05")
    wait_until(lambda: open_session(hotspot, device.mac) is not None, what="session open")
    after = person.browser.get("/portal/api/captive", environ_base={"REMOTE_ADDR": device.ip})
    body = after.get_json()
    assert body["captive"] is False and body["can-extend-session"] is False
    assert 0 < body["seconds-remaining"] <= 240 * 60
