"""A phone's browser (Debian's Chromium through Playwright, 390×844) behind a fake Huawei,
H3C or Ruijie AC: the AC intercepts its first page and redirects it with its vendor's
parameters to citynet's portal (waitress), the person logs in — with a voucher, with an
SMS code sent through a fake HTTP SMS gateway, or (after an SMS login that remembered the
device, and a logout) with one tap for the remembered device — the portal logs the phone
in at the AC over the Portal protocol, the AC asks citynet's RADIUS listener (CHAP) and
starts accounting, and the browser lands on the success page — in Chinese and in English.
Screenshots (portal-ac-STEP-LANG.png: login and success, sms-code, one-tap) go to
$CITYNET_SCREENSHOTS (docs/screenshots when refreshing the docs), else to the test's
temporary directory."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from citynet.app import create_app
from citynet.config import Config, RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from citynet.server import serving
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius import vouchers
from radius.models import RadiusSession
from radius.service import RadiusService
from tests.fakes.ac import REDIRECT_PARAMETERS, FakeAc, RedirectServer
from tests.fakes.sms import FakeGateway
from tests.support import wait_until

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 390, "height": 844}
AC_NAME, NAS_SECRET, PORTAL_KEY = "ac-luohu-01", "ac-radius-secret-123", "ac-portal-key-456"
MAC = "AA-BB-CC-DD-EE-31"
PHONE_IP = "127.0.0.1"  # the browser's address, as the AC and the portal see it
PHONE = "13800138031"


@dataclass
class AcStack:
    store: Store
    ac: FakeAc
    gate: RedirectServer
    sms: FakeGateway
    portal: str
    shots: Path

    def voucher(self) -> str:
        with self.store.session() as session:
            [made] = vouchers.create(session, 1, 60, 1, "browser", valid_days=1)
            return vouchers.display(made.code)

    def online(self) -> bool:
        with self.store.session() as session:
            return session.scalar(select(RadiusSession.id).where(
                RadiusSession.nas == AC_NAME, RadiusSession.calling_station == MAC,
                RadiusSession.stopped_at.is_(None))) is not None

    def sms_code(self) -> str:
        """The code in the newest SMS the fake gateway was sent ('' before any)."""
        found = re.search(r"\b(\d{6})\b", self.sms.received[-1]["text"]) if (
            self.sms.received) else None
        return found.group(1) if found else ""


@pytest.fixture
def stacks(sqlite_config: Config, sqlite_store: Store,
           tmp_path: Path) -> Iterator[Callable[[str], AcStack]]:
    """Builds the stack for one vendor's AC (a test makes one)."""
    with ExitStack() as cleanup:
        def make(vendor: str) -> AcStack:
            return _stack(cleanup, sqlite_config, sqlite_store, tmp_path, vendor)

        yield make


def _stack(cleanup: ExitStack, sqlite_config: Config, sqlite_store: Store, tmp_path: Path,
           vendor: str) -> AcStack:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    ac = FakeAc(PORTAL_KEY.encode(), name=AC_NAME, vendor=vendor)
    with sqlite_store.session() as session:
        outcome = import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": AC_NAME, "address": ac.address, "secret": NAS_SECRET, "vendor": vendor,
            "portal_protocol": "huawei-v2", "portal_port": ac.port,
            "portal_secret": PORTAL_KEY})], box)
        assert outcome.ok, outcome.problems
    radius = RadiusService(sqlite_store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                           acct_port=0))
    radius.start()
    cleanup.callback(radius.stop)
    ac.radius = ("127.0.0.1", radius.ports[0], radius.ports[1], NAS_SECRET.encode())
    sms = FakeGateway([200])
    cleanup.callback(sms.close)
    config = sqlite_config.model_copy(update={"portal": sqlite_config.portal.model_copy(
        update={"protocol_timeout": 1.0, "protocol_tries": 3, "sms_gateway": "http",
                "sms_urls": [sms.url]})})
    portal = cleanup.enter_context(serving(create_app(sqlite_store, config, box=box))) \
        + "/portal/"
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    cleanup.enter_context(ac)
    gate = cleanup.enter_context(ac.redirector(portal, MAC))
    return AcStack(sqlite_store, ac, gate, sms, portal, shots)


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


# (vendor, how the person logs in): each vendor's redirect once per login method
CASES = [("huawei", "voucher"), ("h3c", "sms"), ("ruijie", "remembered")]
LOCALES = [("zh-CN", "zh", "已连接"), ("en", "en", "you are online")]


@pytest.mark.parametrize(("vendor", "method"), CASES, ids=[v for v, _ in CASES])
@pytest.mark.parametrize(("locale", "suffix", "connected"), LOCALES,
                         ids=[s for _, s, _ in LOCALES])
def test_a_phone_behind_an_ac_logs_in_through_the_portal_protocol(
        stacks: Callable[[str], AcStack], browser: Any, vendor: str, method: str,
        locale: str, suffix: str, connected: str) -> None:
    stack = stacks(vendor)
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale=locale)
    page = context.new_page()

    def shot(step: str) -> None:
        # the login and success pages look alike behind every vendor: shot once (voucher)
        if method == "voucher" or step not in ("login", "success"):
            page.screenshot(path=stack.shots / f"portal-ac-{step}-{suffix}.png",
                            full_page=True)

    arrive(stack, page, vendor)
    shot("login")
    if method == "voucher":
        code = stack.voucher()
        page.fill("#code", code)
        page.locator("form:has(#code) input[name=consent]").check()
        page.locator("form:has(#code) button").click()
        user = vouchers.normalise(code)
    else:
        sms_login(stack, page, shot, remember=method == "remembered")
        user = PHONE
    page.wait_for_url(re.compile(r"/portal/success"))
    assert connected in page.content().lower()
    shot("success")
    assert stack.ac.online[PHONE_IP].name == user
    assert stack.ac.radius_logins == 1  # the AC's own CHAP login at citynet's RADIUS
    wait_until(stack.online, what="the AC's accounting Start stored")
    if method == "remembered":
        # log out on the status page, come back: one tap logs the remembered device in
        page.goto(stack.portal + "status")
        page.locator("form[action$='/portal/logout'] button").click()
        page.wait_for_url(re.compile(r"/portal/logged-out"))
        assert PHONE_IP not in stack.ac.online
        wait_until(lambda: not stack.online(), what="the AC's accounting Stop stored")
        arrive(stack, page, vendor)
        assert "138****8031" in page.content()
        shot("one-tap")
        page.locator("form[action$='/portal/device'] button").click()
        page.wait_for_url(re.compile(r"/portal/success"))
        assert stack.ac.online[PHONE_IP].name == PHONE
        assert stack.ac.radius_logins == 2
        wait_until(stack.online, what="the one-tap login's accounting Start stored")
    context.close()


def arrive(stack: AcStack, page: Any, vendor: str) -> None:
    """The phone opens any page; the AC intercepts it and redirects it to the portal with
    its vendor's parameters, which name this AC, this phone and the page it asked for."""
    asked: list[str] = []

    def record(request: Any) -> None:
        asked.append(request.url)

    page.on("request", record)
    page.goto(stack.gate.url + "news")
    page.remove_listener("request", record)
    assert urlsplit(page.url).path == "/portal/login"  # the login page, after the hand-off
    [handoff] = [urlsplit(url) for url in asked if urlsplit(url).path == "/portal/"]
    given, names = parse_qs(handoff.query), REDIRECT_PARAMETERS[vendor]
    assert given[names["user_ip"]] == [PHONE_IP] and given[names["ac_name"]] == [AC_NAME]
    assert given[names["ac_ip"]] == [stack.ac.address]
    assert given[names["user_mac"]] == [MAC]
    assert given[names["url"]] == [stack.gate.url + "news"]


def sms_login(stack: AcStack, page: Any, shot: Callable[[str], None],
              remember: bool) -> None:
    """An SMS code, through the fake HTTP SMS gateway, typed into the code page."""
    page.click("a[href='/portal/sms']")
    page.fill("#phone", PHONE)
    page.check("form[action='/portal/sms'] input[name=consent]")
    page.click("form[action='/portal/sms'] button")
    page.wait_for_url(re.compile(r"/portal/sms/code"))
    wait_until(lambda: stack.sms_code() != "", what="the SMS gateway got the code")
    assert stack.sms.received[-1]["phone"] == PHONE
    page.fill("#code", stack.sms_code())
    if remember:
        page.check("input[name=remember]")
    shot("sms-code")
    page.locator("form:has(#code) button").click()
