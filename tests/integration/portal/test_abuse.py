"""What an attacker on an open network tries: forged hand-offs, open redirects, script in
reflected parameters, CSRF-less posts, SMS pumping, guessing, racing one voucher."""

from __future__ import annotations

import threading
from urllib.parse import quote

from sqlalchemy import func, select

from portal import uam
from radius import vouchers
from radius.records import LoginRecord
from tests.integration.portal.conftest import NASID, UAM_SECRET, Hotspot, Person


def signed(query: str, secret: str = UAM_SECRET) -> str:
    url = f"http://localhost/portal/?{query}"
    return f"{url}&md={uam.signature(url, secret)}"


BASE = (f"res=notyet&uamip=127.0.0.1&uamport=3990&challenge={'ab' * 16}"
        f"&mac=AA-BB-CC-DD-EE-09&ip=10.1.0.99&nasid={NASID}")


def test_a_forged_or_unsigned_handoff_is_refused(hotspot: Hotspot) -> None:
    person = hotspot.person()
    for url in (f"http://localhost/portal/?{BASE}",  # unsigned
                signed(BASE, "guessed-secret"),  # signed with the wrong secret
                signed(BASE).replace("uamip=127.0.0.1", "uamip=127.0.0.2")):  # altered
        response = person.portal(url)
        assert response.status_code == 400
        assert "无法确认热点身份" in response.get_data(as_text=True)
    with person.browser.session_transaction() as session:
        assert "handoff" not in session  # nothing of it was kept


def test_the_original_url_is_a_link_only_when_plainly_http(hotspot: Hotspot) -> None:
    for userurl, shown in (("javascript:alert(document.cookie)", False),
                           ("//evil.example/", False),
                           ("https://news.example/today", True)):
        person = hotspot.person()
        query = BASE.replace("res=notyet", "res=success") + f"&userurl={quote(userurl, '')}"
        page = person.portal(signed(query)).get_data(as_text=True)
        assert "已连接" in page
        assert (f'href="{userurl}"' in page) is shown
        assert "javascript:" not in page


def test_reflected_nas_text_is_escaped(hotspot: Hotspot) -> None:
    person = hotspot.person()
    query = BASE.replace("res=notyet", "res=failed") + "&reply=" + quote(
        "<script>alert(1)</script>", "")
    page = person.portal(signed(query)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_post_without_the_csrf_token_is_refused(hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive()
    for path, form in (("/portal/voucher", {"code": "ABCD-EFGH-JK", "consent": "1"}),
                       ("/portal/sms", {"phone": "13800138000", "consent": "1"})):
        assert person.browser.post(path, data=form).status_code == 400
        assert person.browser.post(path, data={**form, "csrf": "forged"}).status_code == 400


def test_security_headers_and_the_session_cookie(hotspot: Hotspot) -> None:
    person = hotspot.person()
    response = person.arrive()
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    port = hotspot.gateway.port
    assert f"form-action 'self' http://127.0.0.1:{port}" in policy  # the NAS's logon only
    assert response.headers["Cache-Control"] == "no-store"
    cookie = person.browser.get_cookie("citynet")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    secure = hotspot.app.test_client().get("/portal/", base_url="https://localhost")
    header = secure.headers["Set-Cookie"]
    assert header.startswith("__Host-citynet=") and "Secure" in header and "Path=/" in header


def test_sms_pumping_is_stopped_with_429(hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive()
    person.portal("/portal/sms")
    statuses = []
    for i in range(6):  # the default budget is 5 codes per number a day
        person.browser.get("/portal/sms")  # a fresh attempt each time, as a new page
        with person.browser.session_transaction() as session:
            session.pop("attempt", None)
        response = person.browser.post("/portal/sms", data={
            "csrf": person.csrf(), "phone": "13800138000", "consent": "1"})
        statuses.append(response.status_code)
        if i == 5:
            assert "今日短信发送次数已达上限" in response.get_data(as_text=True)
    assert statuses == [302] * 5 + [429]
    assert len(hotspot.sent_sms()) == 5


def test_reopening_the_code_page_sends_no_second_sms(hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive()
    person.portal("/portal/sms")
    for _ in range(3):
        assert person.post("/portal/sms", phone="13800138000", consent="1").status_code == 302
        page = person.portal("/portal/sms/code").get_data(as_text=True)
    assert "仍然有效" in page
    resend = person.post("/portal/sms", phone="13800138000", consent="1", resend="1")
    assert resend.status_code == 429 and "秒后重试" in resend.get_data(as_text=True)
    assert len(hotspot.sent_sms()) == 1


def test_guessing_the_sms_code_is_cut_off_after_five_tries(hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive()
    person.portal("/portal/sms")
    person.post("/portal/sms", phone="13800138000", consent="1")
    person.portal("/portal/sms/code")
    code = hotspot.last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [person.post("/portal/sms/code", code=wrong).get_data(as_text=True)
               for _ in range(5)]
    assert "验证码错误" in answers[0] and "错误次数过多" in answers[4]
    assert person.post("/portal/sms/code", code=code).status_code == 400


def test_fifty_phones_racing_for_a_one_device_voucher_one_wins(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "race", valid_days=1)
        code = voucher.code
    people = [hotspot.person(f"AA-BB-CC-DD-{i // 256:02X}-{i % 256:02X}") for i in range(50)]
    for person in people:
        person.arrive()
    pages: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(people))

    def race(person: Person) -> None:
        try:
            response = person.post("/portal/voucher", code=code, consent="1")
            start.wait(timeout=60)
            pages.append(person.finish(response).get_data(as_text=True))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
            start.abort()  # the others stop waiting for this one

    threads = [threading.Thread(target=race, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [e for e in errors if not isinstance(e, threading.BrokenBarrierError)], errors
    assert len(pages) == 50
    assert sum("已连接" in page for page in pages) == 1
    with hotspot.store.session() as session:
        accepted = session.scalar(select(func.count()).select_from(LoginRecord).where(
            LoginRecord.identity == code, LoginRecord.result == "accept"))
    assert accepted == 1
