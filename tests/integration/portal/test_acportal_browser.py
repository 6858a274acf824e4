"""A phone's browser (Debian's Chromium through Playwright, 390×844) behind a fake Huawei
AC: the AC intercepts its first page and redirects it with the vendor's parameters to
citynet's portal (waitress), the person logs in with a voucher, the portal logs the phone
in at the AC over the Portal protocol, the AC asks citynet's RADIUS listener (CHAP) and
starts accounting, and the browser lands on the success page — in Chinese and in English.
Screenshots go to $CITYNET_SCREENSHOTS (docs/screenshots when refreshing the docs), else
to the test's temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from waitress.server import create_server

from citynet.app import create_app
from citynet.config import Config, RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius import vouchers
from radius.models import RadiusSession
from radius.service import RadiusService
from tests.fakes.ac import FakeAc, RedirectServer
from tests.support import wait_until

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 390, "height": 844}
AC_NAME, NAS_SECRET, PORTAL_KEY = "ac-luohu-01", "ac-radius-secret-123", "ac-portal-key-456"
MAC = "AA-BB-CC-DD-EE-31"
PHONE_IP = "127.0.0.1"  # the browser's address, as the AC and the portal see it


@dataclass
class AcStack:
    store: Store
    ac: FakeAc
    gate: RedirectServer
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


@pytest.fixture
def stack(sqlite_config: Config, sqlite_store: Store, tmp_path: Path) -> Iterator[AcStack]:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    ac = FakeAc(PORTAL_KEY.encode(), name=AC_NAME, vendor="huawei")
    with sqlite_store.session() as session:
        outcome = import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": AC_NAME, "address": ac.address, "secret": NAS_SECRET, "vendor": "huawei",
            "portal_protocol": "huawei-v2", "portal_port": ac.port,
            "portal_secret": PORTAL_KEY})], box)
        assert outcome.ok, outcome.problems
    radius = RadiusService(sqlite_store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                           acct_port=0))
    radius.start()
    ac.radius = ("127.0.0.1", radius.ports[0], radius.ports[1], NAS_SECRET.encode())
    config = sqlite_config.model_copy(update={"portal": sqlite_config.portal.model_copy(
        update={"protocol_timeout": 1.0, "protocol_tries": 3})})
    web = create_server(create_app(sqlite_store, config, box=box), host="127.0.0.1", port=0,
                        threads=4)
    web_thread = threading.Thread(target=web.run, daemon=True)
    web_thread.start()
    portal = f"http://127.0.0.1:{web.effective_port}/portal/"  # type: ignore[union-attr]
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with ac, ac.redirector(portal, MAC) as gate:
            yield AcStack(sqlite_store, ac, gate, shots)
    finally:
        web.close()
        web_thread.join(timeout=10)
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


@pytest.mark.parametrize(("locale", "suffix", "connected"),
                         [("zh-CN", "zh", "已连接"), ("en", "en", "you are online")])
def test_a_phone_behind_a_huawei_ac_logs_in_with_a_voucher(
        stack: AcStack, browser: Any, locale: str, suffix: str, connected: str) -> None:
    code = stack.voucher()
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale=locale)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(stack.gate.url + "news")  # the phone opens any page; the AC intercepts it
    assert urlsplit(page.url).path == "/portal/login"  # the login page, after the hand-off
    [handoff] = [urlsplit(url) for url in asked if urlsplit(url).path == "/portal/"]
    given = parse_qs(handoff.query)  # Huawei's parameters, as the AC put them
    assert given["wlanuserip"] == [PHONE_IP] and given["wlanacname"] == [AC_NAME]
    assert given["usermac"] == [MAC] and given["redirect-url"] == [stack.gate.url + "news"]
    page.screenshot(path=stack.shots / f"portal-ac-login-{suffix}.png", full_page=True)
    page.fill("#code", code)
    page.locator("form:has(#code) input[name=consent]").check()
    page.locator("form:has(#code) button").click()
    page.wait_for_url(re.compile(r"/portal/success"))
    assert connected in page.content().lower()
    page.screenshot(path=stack.shots / f"portal-ac-success-{suffix}.png", full_page=True)
    assert stack.ac.online[PHONE_IP].name == vouchers.normalise(code)
    assert stack.ac.radius_logins == 1  # the AC's own CHAP login at citynet's RADIUS
    wait_until(stack.online, what="the AC's accounting Start stored")
    context.close()
