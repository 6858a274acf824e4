"""The portal and RADIUS against a real CoovaChilli (built from ../shared/peers/), with a
phone in a network namespace: DHCP (and RFC 8910 option 114), the redirect, every login
method, status, logout, Disconnect and CoA on chilli's coaport, RFC 8908.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from radius import vouchers
from radius.models import RadiusSession
from radius.records import LoginRecord
from tests.integration.portal.test_flow import enrolment_secret
from tests.lab.coova import CoovaLab, Phone, Response, build
from tests.support import wait_until

pytestmark = pytest.mark.slow

PAGE = "/news?from=coova"
WAIT = 30.0  # seconds for accounting to reach the store, or chilli to act on a request


@pytest.fixture(scope="module")
def chilli_prefix() -> Path:
    return build()


@pytest.fixture(scope="module")
def coova(chilli_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoovaLab]:
    # macauth: a remembered device is let in by the NAS's MAC authentication, no portal
    with CoovaLab(tmp_path_factory.mktemp("coova"), chilli_prefix, flags=("macauth",)) as lab:
        yield lab


# --- a person's steps -------------------------------------------------------------------

def internet(lab: CoovaLab) -> str:
    return f"http://{lab.addresses.internet_ip}{PAGE}"


def arrive(lab: CoovaLab, phone: Phone) -> Response:
    """The phone opens a web page; chilli sends it to the portal's login page."""
    redirect = phone.get(internet(lab))
    assert redirect.status == 302, (redirect.status, redirect.body[:300])
    assert redirect.location.startswith(f"http://{lab.addresses.server_ip}:"), redirect.location
    assert "res=notyet" in redirect.location
    landing, _urls = phone.follow(redirect.location)
    assert landing.status == 200, (landing.status, landing.body[:500])
    return landing


def portal_url(lab: CoovaLab, path: str) -> str:
    return lab.addresses.portal + path.lstrip("/")


def csrf(page: Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.body)
    assert found, f"no CSRF field on the page: {page.body[:500]}"
    return found.group(1)


def post(lab: CoovaLab, phone: Phone, path: str, /, **form: str) -> Response:
    assert phone.last is not None
    return phone.request("POST", portal_url(lab, path), {"csrf": csrf(phone.last), **form})


def through_nas(lab: CoovaLab, phone: Phone, answer: Response) -> tuple[Response, list[str]]:
    """After a login or logout POST: the portal's 303 to chilli, chilli's answer back to the
    portal, and that page."""
    assert answer.status == 303, (answer.status, answer.body[:500])
    nas = urlsplit(answer.location)
    assert nas.netloc == f"{lab.addresses.uam_ip}:3990", answer.location
    page, urls = phone.follow(answer.location)
    assert page.status == 200, (page.status, urls, page.body[:500])
    return page, urls


def voucher(lab: CoovaLab, minutes: int = 30) -> str:
    assert lab.store is not None
    with lab.store.session() as session:
        [made] = vouchers.create(session, 1, minutes, 1, "coova", valid_days=1)
        return vouchers.display(made.code)


def voucher_login(lab: CoovaLab, phone: Phone, minutes: int = 30) -> Response:
    arrive(lab, phone)
    page, urls = through_nas(lab, phone, post(lab, phone, "/voucher", code=voucher(lab, minutes),
                                              consent="1"))
    assert "res=success" in urls[-1], urls
    assert "You are online" in page.body, page.body[:800]
    return page


def sms_code(lab: CoovaLab, number: str) -> str:
    found: list[str] = []

    def sent() -> bool:
        for message in lab.sent_sms():
            code = re.search(r"\b(\d{6})\b", message["text"])
            if message["phone"] == number and code:
                found.append(code.group(1))
                return True
        return False

    wait_until(sent, f"the SMS to {number} in the outbox", timeout=WAIT)
    return found[0]


def sms_login(lab: CoovaLab, phone: Phone, number: str, remember: bool = False) -> Response:
    arrive(lab, phone)
    phone.get(portal_url(lab, "/sms"))
    sent = post(lab, phone, "/sms", phone=number, consent="1")
    assert sent.status == 302, (sent.status, sent.body[:500])
    phone.get(urljoin(portal_url(lab, "/sms"), sent.location))
    form = {"code": sms_code(lab, number)}
    if remember:
        form["remember"] = "1"
    page, urls = through_nas(lab, phone, post(lab, phone, "/sms/code", **form))
    assert "res=success" in urls[-1] and "You are online" in page.body, (urls, page.body[:800])
    return page


def online(lab: CoovaLab, phone: Phone) -> bool:
    """The phone reaches the internet (not chilli's redirect)."""
    answer = phone.get(f"http://{lab.addresses.internet_ip}/")
    return answer.status == 200 and "hello from the internet" in answer.body


def captive_api(phone: Phone) -> dict[str, object]:
    """RFC 8908, at the URI the phone's DHCP lease carried in option 114."""
    assert phone.lease is not None
    answer = phone.get(phone.lease.option(114).decode())
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/captive+json")
    body: dict[str, object] = json.loads(answer.body)
    return body


def live_session(lab: CoovaLab, phone: Phone) -> RadiusSession | None:
    """citynet's open session for the phone, from chilli's accounting."""
    assert lab.store is not None
    with lab.store.session() as session:
        return session.scalar(select(RadiusSession).where(
            RadiusSession.calling_station == phone.mac, RadiusSession.stopped_at.is_(None)))


def stopped(lab: CoovaLab, session_id: str) -> bool:
    assert lab.store is not None
    with lab.store.session() as session:
        row = session.scalar(select(RadiusSession).where(RadiusSession.session_id == session_id))
        return row is not None and row.stopped_at is not None


def authenticated(lab: CoovaLab, phone: Phone) -> bool:
    found = lab.chilli_session(phone)
    return found is not None and found.authenticated


def logins(lab: CoovaLab, identity: str) -> list[tuple[str, str]]:
    assert lab.store is not None
    with lab.store.session() as session:
        return [(r.method, r.result) for r in session.scalars(
            select(LoginRecord).where(LoginRecord.event == "login",
                                      LoginRecord.identity == identity)
            .order_by(LoginRecord.seq))]


def opened(lab: CoovaLab, phone: Phone) -> RadiusSession:
    try:
        wait_until(lambda: live_session(lab, phone) is not None,
                   "chilli's accounting Start stored", timeout=WAIT)
    except pytest.fail.Exception as failed:
        assert lab.store is not None
        with lab.store.session() as session:
            rows = [(r.session_id, r.method, r.started_at, r.stopped_at, r.terminate_cause)
                    for r in session.scalars(select(RadiusSession).where(
                        RadiusSession.calling_station == phone.mac))]
        pytest.fail(f"{failed}; {phone.mac}'s sessions: {rows}\n{lab.radius_trail()}")
    found = live_session(lab, phone)
    assert found is not None
    return found


# --- the tests --------------------------------------------------------------------------

def test_dhcp_gives_an_address_and_the_rfc_8908_uri_in_option_114(coova: CoovaLab) -> None:
    phone = coova.phone()
    assert phone.lease is not None
    assert phone.lease.ip.startswith(coova.addresses.clients.rsplit(".", 1)[0] + ".")
    assert phone.lease.router == coova.addresses.uam_ip
    assert phone.lease.option(114).decode() == coova.addresses.captive_api
    before = captive_api(phone)  # the API is reachable before login (uamserver's host)
    assert before["captive"] is True
    assert str(before["user-portal-url"]).startswith(coova.addresses.portal)


def test_a_voucher_login_status_and_logout(coova: CoovaLab) -> None:
    phone = coova.phone()
    assert not online(coova, phone)  # captive: every web page is chilli's redirect
    redirect = phone.get(internet(coova))
    hand_off = parse_qs(urlsplit(redirect.location).query)
    assert hand_off["nasid"] == ["coova-lab"] and hand_off["mac"] == [phone.mac]
    page = voucher_login(coova, phone)
    assert f'href="{internet(coova)}"' in page.body  # the original page, as a link
    assert online(coova, phone)
    live = opened(coova, phone)
    assert live.method == "voucher" and live.framed_ip == phone.lease.ip  # type: ignore[union-attr]
    chilli = coova.chilli_session(phone)
    assert chilli is not None and chilli.authenticated
    assert chilli.session_id == live.session_id
    assert chilli.session_timeout == 30 * 60  # the voucher's Session-Timeout from RADIUS

    wait_until(lambda: captive_api(phone)["captive"] is False, "RFC 8908 captive false",
               timeout=WAIT)
    status = phone.get(portal_url(coova, "/status"))
    assert status.status == 200 and "Time left" in status.body

    page, urls = through_nas(coova, phone, post(coova, phone, "/logout"))
    assert "res=logoff" in urls[-1], urls
    assert not authenticated(coova, phone)
    assert not online(coova, phone)
    wait_until(lambda: stopped(coova, live.session_id), "chilli's accounting Stop stored",
               timeout=WAIT)
    assert captive_api(phone)["captive"] is True


def test_a_wrong_voucher_comes_back_from_chilli_as_a_failed_login(coova: CoovaLab) -> None:
    phone = coova.phone()
    arrive(coova, phone)
    unknown = vouchers.display(vouchers.new_code())  # well-formed, never issued
    page, urls = through_nas(coova, phone, post(coova, phone, "/voucher", code=unknown,
                                                consent="1"))
    assert "res=failed" in urls[-1], urls
    assert "Login failed" in page.body and csrf(page)  # the login page again, with why
    assert not online(coova, phone)


def test_an_sms_login_a_remembered_device_and_an_app_login(coova: CoovaLab) -> None:
    number = "13900139001"
    phone = coova.phone()
    sms_login(coova, phone, number, remember=True)
    assert online(coova, phone)
    opened(coova, phone)
    # the authenticator app, enrolled on the success page's offer
    enrol = phone.get(portal_url(coova, "/enrol"))
    secret = enrolment_secret(enrol.body)
    assert post(coova, phone, "/enrol", code=pyotp.TOTP(secret).now()).status == 200

    # log out, come back: the remembered device is offered one tap
    phone.get(portal_url(coova, "/status"))
    through_nas(coova, phone, post(coova, phone, "/logout"))
    assert not online(coova, phone)
    landing = arrive(coova, phone)
    assert "139****9001" in landing.body
    page, urls = through_nas(coova, phone, post(coova, phone, "/device"))
    assert "res=success" in urls[-1] and "You are online" in page.body
    assert online(coova, phone)

    # another device of the same person: number + the app's code (the next step: the
    # one used to enrol is spent)
    tablet = coova.phone()
    arrive(coova, tablet)
    tablet.get(portal_url(coova, "/app"))
    code = pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30)
    _page, urls = through_nas(coova, tablet, post(coova, tablet, "/app", phone=number,
                                                  code=code, consent="1"))
    assert "res=success" in urls[-1] and online(coova, tablet)
    assert [method for method, result in logins(coova, number) if result == "accept"] == [
        "sms", "mac", "totp"]


def test_a_remembered_device_is_let_in_by_chillis_mac_authentication(coova: CoovaLab) -> None:
    number = "13900139002"
    phone = coova.phone()
    assert not online(coova, phone)  # an unknown MAC: chilli's MAC login was refused
    sms_login(coova, phone, number, remember=True)
    phone.get(portal_url(coova, "/status"))
    through_nas(coova, phone, post(coova, phone, "/logout"))
    assert not online(coova, phone)
    coova.rejoin(phone)
    wait_until(lambda: authenticated(coova, phone), "chilli's MAC authentication",
               timeout=WAIT)
    assert online(coova, phone)  # never saw the portal
    chilli = coova.chilli_session(phone)
    assert chilli is not None and chilli.user.upper() == phone.mac
    assert opened(coova, phone).method == "mac"
    assert logins(coova, number)[-1] == ("mac", "accept")


def test_kick_disconnects_the_session_on_chilli(coova: CoovaLab) -> None:
    phone = coova.phone()
    voucher_login(coova, phone)
    live = opened(coova, phone)
    done = coova.run_citynet("sessions", "kick", live.session_id)
    assert "disconnected" in done.stdout
    assert not authenticated(coova, phone)  # chilli acted before it acknowledged
    assert not online(coova, phone)
    wait_until(lambda: stopped(coova, live.session_id), "the Stop after the Disconnect",
               timeout=WAIT)


def test_a_bandwidth_coa_is_applied_by_chilli(coova: CoovaLab) -> None:
    phone = coova.phone()
    voucher_login(coova, phone)
    live = opened(coova, phone)
    coova.run_citynet("sessions", "bandwidth", live.session_id, "--up", "2000", "--down", "8000")
    after = coova.chilli_session(phone)
    assert after is not None and after.authenticated
    assert (after.bandwidth_up, after.bandwidth_down) == (2_000_000, 8_000_000)
    assert online(coova, phone)


def test_a_bandwidth_coa_keeps_the_sessions_limits(coova: CoovaLab) -> None:
    phone = coova.phone()
    voucher_login(coova, phone)
    live = opened(coova, phone)
    before = coova.chilli_session(phone)
    assert before is not None and before.session_timeout == 30 * 60
    coova.run_citynet("sessions", "bandwidth", live.session_id, "--up", "2000", "--down", "8000")
    after = coova.chilli_session(phone)
    assert after is not None
    # chilli takes a CoA as a whole new authorisation: what is left out is reset to none
    assert 0 < after.session_timeout <= before.session_timeout
    assert after.idle_timeout == before.idle_timeout
    assert after.interim_interval == before.interim_interval


def test_the_time_left_is_what_radius_granted(coova: CoovaLab) -> None:
    phone = coova.phone()
    voucher_login(coova, phone)  # 30 minutes; the default profile allows 240
    opened(coova, phone)
    wait_until(lambda: captive_api(phone)["captive"] is False, "RFC 8908 captive false",
               timeout=WAIT)
    remaining = captive_api(phone)["seconds-remaining"]
    assert isinstance(remaining, int) and 0 < remaining <= 30 * 60
    status = phone.get(portal_url(coova, "/status")).body
    left = re.search(r"Time left\D*(\d+) min", status)
    assert left and int(left.group(1)) <= 30, status[:800]


def test_a_uamserver_without_the_trailing_slash(chilli_prefix: Path,
                                                tmp_path: Path) -> None:
    with CoovaLab(tmp_path, chilli_prefix, portal_path="/portal") as lab:
        phone = lab.phone()
        redirect = phone.get(internet(lab))
        assert redirect.location.startswith(
            f"http://{lab.addresses.server_ip}:8080/portal?res=notyet"), redirect.location
        voucher_login(lab, phone)
        assert online(lab, phone)
