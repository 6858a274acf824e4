"""What the portal's pages say and offer, in each of their languages: units, a NAS's
reply, Traditional Chinese, the hotspot's order of login methods, the SMS code page's
"change number" and resend cooldown, and the app invitation a deployment may offer."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

from sqlalchemy import select

from portal.sms import SmsCode
from radius import vouchers
from tests.integration.portal.conftest import NASID, Hotspot, Person
from tests.integration.portal.test_flow import (
    PHONE,
    enrolment_secret,
    open_session,
    sms_login,
)
from tests.support import wait_until


def configure(hotspot: Hotspot, **portal: object) -> None:
    """The portal's settings for this hotspot's next requests."""
    config = hotspot.portal.config
    hotspot.portal.config = config.model_copy(update={
        "portal": config.portal.model_copy(update=portal)})


def reading(hotspot: Hotspot, accept_language: str, mac: str = "AA-BB-CC-DD-EE-31") -> Person:
    person = hotspot.person(mac)
    person.browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return person


def test_the_chinese_status_page_words_its_minutes(hotspot: Hotspot) -> None:
    person = hotspot.person()
    sms_login(hotspot, person)
    wait_until(lambda: open_session(hotspot, person.mac) is not None,
               what="accounting Start stored")
    status = person.portal("/portal/status").get_data(as_text=True)
    assert "剩余时长" in status and "分钟" in status
    assert not re.search(r"\d min\b", status)


def test_a_refused_voucher_is_explained_in_the_page_language_only(hotspot: Hotspot) -> None:
    unknown = vouchers.display(vouchers.new_code())  # well-formed, never issued
    for accept, lang, shown, absent in (
            ("zh-CN", "", "登录失败：上网券无效", "unknown voucher"),
            ("zh-HK", "", "登入失敗：上網券無效", "unknown voucher"),
            ("zh-CN", "en", "Login failed: unknown voucher", "上网券")):
        person = reading(hotspot, accept)
        person.arrive(lang=lang)
        page = person.finish(person.post("/portal/voucher", code=unknown, consent="1"))
        text = page.get_data(as_text=True)
        assert shown in text and absent not in text, (accept, lang)


def test_traditional_chinese_from_the_browser_the_nas_and_the_picker(
        hotspot: Hotspot) -> None:
    for accept in ("zh-HK,zh;q=0.9", "zh-TW", "zh-Hant,en;q=0.5"):
        page = reading(hotspot, accept).arrive().get_data(as_text=True)
        assert '<html lang="zh-Hant">' in page and "上網券" in page, accept
    nas_says = reading(hotspot, "en").arrive(lang="zh_TW").get_data(as_text=True)
    assert "登入" in nas_says  # the NAS's lang= spelling, mapped
    person = reading(hotspot, "zh-CN")
    landing = person.arrive().get_data(as_text=True)
    # the picker offers the two other languages, each by its own name
    assert 'href="?lang=zh-Hant"' in landing and 'href="?lang=en"' in landing
    assert 'href="?lang=zh-CN"' not in landing
    chosen = person.portal("/portal/?lang=zh-Hant").get_data(as_text=True)
    assert "請選擇登入方式" in chosen and 'href="?lang=zh-CN"' in chosen
    assert "私隱政策" in person.portal("/portal/privacy").get_data(as_text=True)


def test_the_login_methods_follow_the_hotspot_order(hotspot: Hotspot) -> None:
    page = hotspot.person().arrive().get_data(as_text=True)
    assert page.index("/portal/sms") < page.index("/portal/voucher") < page.index(
        "/portal/app")  # the default: SMS first, as in mainland China
    configure(hotspot, login_methods_by_nas={NASID: ["voucher", "sms"]})
    page = hotspot.person("AA-BB-CC-DD-EE-32").arrive().get_data(as_text=True)
    assert page.index("/portal/voucher") < page.index("/portal/sms")
    assert "/portal/app" not in page


def test_no_app_invitation_after_an_sms_login_unless_the_deployment_offers_it(
        hotspot: Hotspot) -> None:
    configure(hotspot, app_enrolment=False)
    person = hotspot.person()
    success = sms_login(hotspot, person)
    assert "已连接" in success and "/portal/enrol" not in success
    assert person.browser.get("/portal/enrol").location == "/portal/login"


def test_the_code_page_changes_number_and_resends_only_after_the_cooldown(
        hotspot: Hotspot) -> None:
    person = hotspot.person()
    person.arrive()
    person.portal("/portal/sms")
    page = person.portal(person.post("/portal/sms", phone=PHONE, consent="1").location)
    text = page.get_data(as_text=True)
    assert 'href="/portal/sms"' in text  # change the number
    resend = re.search(r'<button id="resend"[^>]*>', text)
    assert resend is not None and " disabled" in resend.group(0)
    wait = re.search(r'data-wait="(\d+)"', resend.group(0))
    assert wait is not None and 0 < int(wait.group(1)) <= 61
    assert "重新发送（" in text  # says how long, without JavaScript
    # the countdown script is the one the Content-Security-Policy allows, and no other
    script = re.search(r"<script>(.*?)</script>", text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in page.headers["Content-Security-Policy"]
    with hotspot.store.session() as session:  # the cooldown has passed
        for code in session.scalars(select(SmsCode)):
            code.created_at -= timedelta(seconds=61)
    later = person.portal("/portal/sms/code").get_data(as_text=True)
    resend = re.search(r'<button id="resend"[^>]*>', later)
    assert resend is not None and "disabled" not in resend.group(0)


def test_reloading_the_app_enrolment_keeps_its_secret(hotspot: Hotspot) -> None:
    person = hotspot.person()
    sms_login(hotspot, person)
    first = enrolment_secret(person.portal("/portal/enrol").get_data(as_text=True))
    again = enrolment_secret(person.portal("/portal/enrol").get_data(as_text=True))
    assert first == again


def test_the_success_page_claims_nothing_without_a_login(hotspot: Hotspot) -> None:
    stranger = hotspot.person("AA-BB-CC-DD-EE-51")  # no hand-off at all
    direct = stranger.browser.get("/portal/success?lang=en")
    assert direct.status_code == 302 and "You are online" not in direct.get_data(as_text=True)
    assert "You are online" not in stranger.portal("/portal/success?lang=en").get_data(
        as_text=True)
    person = hotspot.person("AA-BB-CC-DD-EE-52")
    person.arrive(lang="en")  # a hand-off (res=notyet), no login yet
    page = person.portal("/portal/success").get_data(as_text=True)
    assert "You are online" not in page and 'name="code"' in page  # the login page
    online = hotspot.person("AA-BB-CC-DD-EE-53")
    assert "已连接" in sms_login(hotspot, online)  # the NAS's res=success
    assert "已连接" in online.portal("/portal/success").get_data(as_text=True)
