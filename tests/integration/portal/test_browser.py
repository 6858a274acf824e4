"""A real browser (Debian's Chromium, driven by Playwright) in a phone viewport walks every
login method through the hotspot simulator, citynet's portal served by waitress and the
real RADIUS listener. Screenshots go to $CITYNET_SCREENSHOTS (docs/screenshots when
refreshing the docs), else to the test's temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from citynet.app import create_app
from citynet.config import Config, RadiusConfig
from citynet.db import Store
from citynet.server import serving
from portal.merchants import Merchant
from portal.simulator import Simulator
from radius import vouchers
from radius.models import RadiusSession
from tests.integration.portal.conftest import NAS_SECRET, NASID, UAM_SECRET, add_hotspot_nas
from tests.support import wait_until

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = "13800138000"
VIEWPORT = {"width": 390, "height": 844}


@dataclass
class Stack:
    store: Store
    gateway: Simulator
    shots: Path

    def start_url(self, mac: str, lang: str = "") -> str:
        extra = f"&lang={lang}" if lang else ""
        return f"http://127.0.0.1:{self.gateway.port}/news?sim-mac={mac}{extra}"

    def online(self, mac: str) -> bool:
        with self.store.session() as session:
            return session.scalar(select(RadiusSession.id).where(
                RadiusSession.calling_station == mac,
                RadiusSession.stopped_at.is_(None))) is not None


@pytest.fixture
def stack(sqlite_config: Config, sqlite_store: Store, tmp_path: Path) -> Iterator[Stack]:
    from radius.service import RadiusService

    box = add_hotspot_nas(sqlite_config, sqlite_store)
    radius = RadiusService(sqlite_store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                           acct_port=0))
    radius.start()
    config = sqlite_config.model_copy(update={"portal": sqlite_config.portal.model_copy(
        update={"show_outbox": True, "app_enrolment": True})})
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with serving(create_app(sqlite_store, config, box=box)) as base:
            gateway = Simulator(f"{base}/portal/", "127.0.0.1", radius.ports[0],
                                radius.ports[1], NAS_SECRET, NASID, UAM_SECRET)
            gateway.start()
            try:
                yield Stack(sqlite_store, gateway, shots)
            finally:
                gateway.stop()
    finally:
        radius.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def phone(browser: Any, lang: str = "zh-CN") -> Any:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale=lang, java_script_enabled=False)
    return context.new_page()


def outbox_code(page: Any) -> str:
    """The code in the newest SMS the demo outbox shows ('' before it is sent)."""
    page.reload()
    found = re.search(r"code: (\d{6})", page.content())
    return found.group(1) if found else ""


def test_voucher_login_in_a_phone_browser_without_javascript(stack: Stack,
                                                             browser: Any) -> None:
    with stack.store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "browser", valid_days=1)
        code = vouchers.display(voucher.code)
        today = datetime.now(UTC).date()
        session.add(Merchant(name="东门老字号", category="餐饮", offer="出示此页，堂食九折",
                             image="", communities=[], valid_from=today,
                             valid_until=today + timedelta(days=30), impressions=0,
                             clicks=0, created_at=datetime.now(UTC)))
    page = phone(browser)
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.status == 200 else None)
    page.goto(stack.start_url("AA-BB-CC-DD-EE-21"))
    assert "/portal/?res=notyet&" in page.url  # the login page, with no redirect to it
    assert sum(sizes) <= 100_000, f"login page transferred {sum(sizes)} bytes"
    assert "堂食九折" in page.content()  # a local merchant's offer on the landing page
    page.screenshot(path=stack.shots / "portal-login-zh.png", full_page=True)
    page.fill("#code", code)
    page.locator("form:has(#code) input[name=consent]").check()
    page.locator("form:has(#code) button").click()
    page.wait_for_url(re.compile(r"/portal/\?res=success"))
    assert "已连接" in page.content()
    assert page.locator("a[href='http://example.com/news']").count() == 1
    page.screenshot(path=stack.shots / "portal-success-zh.png", full_page=True)
    wait_until(lambda: stack.online("AA-BB-CC-DD-EE-21"), what="accounting Start stored")


def test_sms_login_enrolment_app_login_and_remembered_device(stack: Stack,
                                                              browser: Any) -> None:
    page = phone(browser, "en")
    page.goto(stack.start_url("AA-BB-CC-DD-EE-22", lang="en"))
    page.click("text=SMS code to my phone")
    page.fill("#phone", "138 0013 8000")
    page.check("input[name=consent]")
    page.screenshot(path=stack.shots / "portal-sms-en.png", full_page=True)
    page.click("text=Send me a code")
    page.wait_for_url(re.compile(r"/portal/sms/code"))
    wait_until(lambda: outbox_code(page) != "", what="the demo outbox shows the SMS")
    sms_code = outbox_code(page)
    page.screenshot(path=stack.shots / "portal-code-en.png", full_page=True)
    page.fill("#code", sms_code)
    page.check("input[name=remember]")
    page.locator("form:has(#code) button").click()
    page.wait_for_url(re.compile(r"/portal/\?res=success"))
    assert "You are online" in page.content()
    wait_until(lambda: stack.online("AA-BB-CC-DD-EE-22"), what="accounting Start stored")
    page.click("text=Set up an authenticator app")
    secret = page.locator("code#secret").inner_text().replace(" ", "")  # grouped
    page.screenshot(path=stack.shots / "portal-enrol-en.png", full_page=True)
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    assert "Done" in page.content()
    page.goto(page.url.replace("/portal/enrol", "/portal/status"))
    page.screenshot(path=stack.shots / "portal-status-en.png", full_page=True)
    assert "Forget this device" in page.content()

    # a second phone of the same person logs in with the app, in Chinese
    other = phone(browser)
    other.goto(stack.start_url("AA-BB-CC-DD-EE-23"))
    other.click("text=身份验证器App")
    other.fill("#phone", PHONE)
    code = pyotp.TOTP(secret).at(int(time.time()) + 30)  # the next step: not yet used
    other.fill("#code", code)
    other.check("input[name=consent]")
    other.screenshot(path=stack.shots / "portal-app-zh.png", full_page=True)
    other.locator("form:has(#code) button").click()
    other.wait_for_url(re.compile(r"/portal/\?res=success"))
    wait_until(lambda: stack.online("AA-BB-CC-DD-EE-23"), what="app login's session")

    # the remembered first phone comes back after logging off: one tap
    stack.gateway.logoff(next(d for d in stack.gateway.devices.values()
                              if d.mac == "AA-BB-CC-DD-EE-22"))
    again = page  # the same phone's browser: it holds the remembered device's cookie
    again.goto(stack.start_url("AA-BB-CC-DD-EE-22", lang="zh-CN"))
    assert "138****8000" in again.content()
    again.screenshot(path=stack.shots / "portal-one-tap-zh.png", full_page=True)
    again.locator("form[action$='/portal/device'] button").click()
    again.wait_for_url(re.compile(r"/portal/\?res=success"))
    wait_until(lambda: stack.online("AA-BB-CC-DD-EE-22"), what="one-tap session")


WIDTHS = (360, 390, 768, 1366)
# a browser's locale → what the portal shows (zh-HK asks for Traditional Chinese)
LOCALES = {"zh-CN": "zh-CN", "zh-HK": "zh-Hant", "en": "en"}
UNDERSIZED = """() => [...document.querySelectorAll('a, button, input[type=checkbox]')]
  .map(e => [e, e.type === 'checkbox' ? e.closest('label') : e])
  .map(([e, target]) => [e.outerHTML.slice(0, 90), target.getBoundingClientRect()])
  .filter(([_, box]) => box.width < 44 || box.height < 44)
  .map(([html, box]) => `${html} ${box.width}x${box.height}`)"""


def look_at_every_width(page: Any, stack: Stack, widths: Path, name: str) -> None:
    """The page at each width: no sideways scrolling, every tap target 44 px or more,
    and a screenshot to look at (the phone's also among the docs' screenshots)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), (
            name, width)
        assert page.evaluate(UNDERSIZED) == [], (name, width)
        page.screenshot(path=widths / f"{name}-{width}.png", full_page=True)
    shutil.copy(widths / f"{name}-390.png", stack.shots)


def test_portal_pages_at_every_width_in_every_language(stack: Stack, browser: Any,
                                                       tmp_path: Path) -> None:
    widths = tmp_path / "widths"
    widths.mkdir()
    for number, (locale, lang) in enumerate(LOCALES.items()):
        context = browser.new_context(viewport=VIEWPORT, is_mobile=True, has_touch=True,
                                      locale=locale, java_script_enabled=False)
        walk_the_pages(stack, context.new_page(), widths, lang,
                       f"AA-BB-CC-DD-EF-{number:02d}", f"1380013{8000 + number}")
        context.close()


def walk_the_pages(stack: Stack, page: Any, widths: Path, lang: str, mac: str,
                   number: str) -> None:
    """A refused voucher, an SMS code asked for and a login, then the status page."""
    page.goto(stack.start_url(mac))
    assert f'<html lang="{lang}">' in page.content()
    page.fill("#code", vouchers.display(vouchers.new_code()))  # never issued
    page.locator("form:has(#code) input[name=consent]").check()
    page.locator("form:has(#code) button").click()
    page.wait_for_url(re.compile(r"/portal/\?res=failed"))
    failure = page.locator("[role=alert]").inner_text()
    assert "/" not in failure and ("unknown voucher" in failure) == (lang == "en")
    look_at_every_width(page, stack, widths, f"portal-login-failed-{lang}")
    page.click("a[href='/portal/sms']")
    page.fill("#phone", number)
    page.check("input[name=consent]")
    page.click("form[action='/portal/sms'] button")
    page.wait_for_url(re.compile(r"/portal/sms/code"))
    assert page.locator("#resend").is_disabled()  # no JavaScript: disabled by the server
    wait_until(lambda: outbox_code(page) != "", what="the demo outbox shows the SMS")
    look_at_every_width(page, stack, widths, f"portal-code-{lang}")
    page.fill("#code", outbox_code(page))
    page.locator("form:has(#code) button").click()
    page.wait_for_url(re.compile(r"/portal/\?res=success"))
    wait_until(lambda: stack.online(mac), what="accounting Start stored")
    page.goto(page.url.split("/portal/")[0] + "/portal/status")
    assert (" min" in page.inner_text("main")) == (lang == "en")
    look_at_every_width(page, stack, widths, f"portal-status-{lang}")


def test_the_resend_button_counts_down_with_javascript(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    from portal.sms import SmsCode

    context = browser.new_context(viewport=VIEWPORT, locale="zh-HK")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(stack.start_url("AA-BB-CC-DD-EF-10"))
    page.click("a[href='/portal/sms']")
    page.fill("#phone", PHONE)
    page.check("input[name=consent]")
    page.click("form[action='/portal/sms'] button")
    page.wait_for_url(re.compile(r"/portal/sms/code"))
    resend = page.locator("#resend")
    assert resend.is_disabled() and "秒後" in resend.inner_text()
    with stack.store.session() as session:  # two seconds of the cooldown are left
        for code in session.scalars(select(SmsCode)):
            code.created_at -= timedelta(seconds=stack_resend_seconds() - 2)
    page.reload()
    expect(resend).to_be_enabled(timeout=15_000)  # the page's script (an eval is refused)
    assert resend.inner_text() == "重新發送" and blocked == []
    context.close()


def stack_resend_seconds() -> int:
    return Config().portal.resend_seconds
