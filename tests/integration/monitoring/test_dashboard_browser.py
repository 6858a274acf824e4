"""The managers' dashboard in a real browser (Debian's Chromium via Playwright): the demo
district with probe results, drill-down by clicking the map, language switch, the phone
layout and the printed report. Screenshots go to $CITYNET_SCREENSHOTS (docs/screenshots
when refreshing the docs), else to the test's temporary directory."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from waitress.server import create_server

from citynet import staff
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from citynet.telemetry import Context
from inventory import demo
from inventory.importer import import_rows
from monitoring.builtin import CoverageCollector
from monitoring.collectors import run_collectors
from monitoring.models import ProbeState
from tests.conftest import make_config

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MANAGER, PASSWORD = "wang.li", "a manager's long password"


@dataclass
class Dashboard:
    base: str
    shots: Path


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    now = datetime.now(UTC)
    with store.session() as session:
        assert import_rows(session, demo.raw_rows(), box).ok
        set_meta(session, demo.DEMO_MARK, "罗湖区演示数据 Luohu demo district (generated)")
        for i, ap in enumerate(demo.generate()["access_points"]):  # every 23rd AP is down
            session.add(ProbeState(target=f"ap:{ap['mac']}", up=i % 23 != 0,
                                   since=now - timedelta(hours=3), checked_at=now))
    assert all(run.ok for run in run_collectors([CoverageCollector()],
                                                Context(store, config, now), []))
    with store.session() as session:
        staff.add(session, MANAGER, staff.Role.MANAGER, PASSWORD)
    web = create_server(create_app(store, config, box=box), host="127.0.0.1", port=0,
                        threads=4)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield Dashboard(f"http://127.0.0.1:{web.effective_port}", shots)  # type: ignore[union-attr]
    finally:
        web.close()
        thread.join(timeout=10)
        store.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def log_in(page: Any, base: str, shots: Path | None = None) -> None:
    """A manager logs in through the form the dashboard redirects to."""
    page.goto(f"{base}/dashboard/")
    assert "/login?next=/dashboard/" in page.url
    page.fill("#name", MANAGER)
    page.fill("#password", PASSWORD)
    if shots is not None:
        page.screenshot(path=shots / "staff-login.png")
    page.click("button[type=submit]")
    assert page.url == f"{base}/dashboard/"


def test_overview_drill_down_and_language(dashboard: Dashboard, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    log_in(page, dashboard.base, dashboard.shots)
    assert page.locator("h1").inner_text() == "罗湖区网络建设看板"
    assert page.locator("tr[data-status]").count() == len(demo.generate()["targets"])
    aps = len(demo.generate()["access_points"])
    up = aps - len(range(0, aps, 23))
    assert f"{100 * up / aps:.1f}%" in page.locator(".tile").nth(3).inner_text()
    page.screenshot(path=dashboard.shots / "dashboard-overview-zh.png", full_page=True)
    # everything the page needs comes from citynet itself: works offline, no CDN
    assert requested and all(url.startswith(dashboard.base) for url in requested)

    page.locator("svg.map a").first.click(force=True)  # a community on the map (dots overlap)
    assert "/dashboard/communities/" in page.url
    assert page.locator("h2").first.inner_text() == "未接入光纤的楼宇"

    page.goto(f"{dashboard.base}/dashboard/?lang=en")
    page.get_by_role("link", name="笋岗", exact=True).click()
    assert page.url.endswith("/dashboard/streets/%E7%AC%8B%E5%B2%97")
    assert page.locator("h1").inner_text() == "笋岗 street"  # the language choice stays
    page.goto(f"{dashboard.base}/dashboard/")
    page.get_by_role("link", name="Fiber, eligible buildings").first.click()
    assert "/dashboard/targets/" in page.url
    assert page.locator("svg.chart polygon").count() == 1  # the forecast band
    page.screenshot(path=dashboard.shots / "dashboard-target-en.png", full_page=True)
    context.close()


def test_phone_layout_and_printed_report(dashboard: Dashboard, browser: Any,
                                         tmp_path: Path) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, locale="en")
    page = phone.new_page()
    log_in(page, dashboard.base)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    page.screenshot(path=dashboard.shots / "dashboard-phone-en.png", full_page=True)
    phone.close()

    desk = browser.new_context(viewport={"width": 1100, "height": 1400}, locale="en")
    report = desk.new_page()
    log_in(report, dashboard.base)
    report.goto(f"{dashboard.base}/dashboard/report?lang=en")
    report.emulate_media(media="print")
    assert not report.locator("header nav").is_visible()  # no navigation on paper
    pdf = tmp_path / "report.pdf"
    report.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    report.screenshot(path=dashboard.shots / "dashboard-report-en.png")
    desk.close()
