"""The managers' dashboard in a real browser (Debian's Chromium via Playwright): the demo
district with probe results, drill-down by clicking the map, language switch, the phone
layout and the printed report. Screenshots go to $CITYNET_SCREENSHOTS (docs/screenshots
when refreshing the docs), else to the test's temporary directory."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from citynet import staff
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from citynet.server import serving
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
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with serving(create_app(store, config, box=box)) as base:
            yield Dashboard(base, shots)
    finally:
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
    # everything the page needs comes from citynet itself: works offline, no CDN
    assert requested and all(url.startswith(dashboard.base) for url in requested)

    page.locator("svg.map a").first.click(force=True)  # a community on the map (dots overlap)
    assert "/dashboard/communities/" in page.url
    assert page.locator("h2").first.inner_text() == "未接入光纤的楼宇"

    page.goto(f"{dashboard.base}/dashboard/?lang=en")
    page.get_by_role("link", name="Sungang street", exact=True).click()
    assert page.url.endswith("/dashboard/streets/%E7%AC%8B%E5%B2%97")
    assert page.locator("h1").inner_text() == "Sungang street"  # the language choice stays
    page.goto(f"{dashboard.base}/dashboard/")
    page.get_by_role("link", name="Fiber, eligible buildings").first.click()
    assert "/dashboard/targets/" in page.url
    assert page.locator("svg.chart polygon").count() == 1  # the forecast band
    context.close()


WIDTHS = (360, 390, 768, 1366)
PAGES = {"overview": "/dashboard/", "street": "/dashboard/streets/笋岗",
         "community": "/dashboard/communities/湖景社区", "target": "/dashboard/targets/1",
         "report": "/dashboard/report"}
# the screenshots kept (viewport-sized: small files), by (page, width, language)
SHOTS = {("overview", 1366, "zh-CN"): "dashboard-overview-zh.png",
         ("overview", 390, "en"): "dashboard-phone-en.png",
         ("community", 1366, "en"): "dashboard-community-en.png",
         ("street", 768, "zh-CN"): "dashboard-street-tablet-zh.png",
         ("target", 360, "en"): "dashboard-target-en.png"}
MIN_EM = 2.5  # a column or a menu entry narrower than this reads one character a line

# what a person cannot read: the page wider than the window, a table cut off inside its
# frame, and any cell, heading or menu entry with text squeezed narrower than MIN_EM
LAYOUT_PROBLEMS = """(minEm) => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    const out = [...document.body.querySelectorAll('*')].filter(
      el => el.getBoundingClientRect().right > root.clientWidth + 0.5).pop();
    problems.push(`page ${root.scrollWidth} px wide in ${root.clientWidth}: `
                  + (out ? `${out.tagName}.${out.getAttribute("class")}` : ""));
  }
  for (const wrap of document.querySelectorAll('.table-wrap'))
    if (wrap.scrollWidth > wrap.clientWidth + 1)
      problems.push(`table cut: ${wrap.scrollWidth} px in ${wrap.clientWidth}: `
                    + wrap.innerText.slice(0, 40));
  for (const el of document.querySelectorAll(
      'th, td, header a, header button, h1, h2, li, .tile, .badge')) {
    const text = el.innerText.trim();
    const box = el.getBoundingClientRect();
    if (text.length < 3 || box.width === 0) continue;  // empty or not shown
    const em = parseFloat(getComputedStyle(el).fontSize);
    if (box.width < minEm * em)
      problems.push(`${el.tagName} "${text.slice(0, 20)}" ${box.width.toFixed(0)} px wide`);
  }
  return problems;
}"""


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_every_page_reads_well_from_phone_to_desk(dashboard: Dashboard, browser: Any,
                                                  lang: str) -> None:
    """At 360, 390, 768 and 1366 px, in both languages: nothing wider than the window,
    no table cut off, no column or menu entry squeezed to a character a line."""
    problems: dict[str, list[str]] = {}
    for width in WIDTHS:
        phone = width < 600
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      is_mobile=phone, has_touch=phone, locale=lang)
        page = context.new_page()
        log_in(page, dashboard.base)
        for name, path in PAGES.items():
            page.goto(f"{dashboard.base}{path}?lang={lang}")
            found = page.evaluate(LAYOUT_PROBLEMS, MIN_EM)
            if found:
                problems[f"{name} at {width} px"] = found[:5]
            shot = SHOTS.get((name, width, lang))
            if shot:
                page.screenshot(path=dashboard.shots / shot)
        context.close()
    assert not problems, "\n".join(f"{where}: {found}" for where, found in problems.items())


def test_printed_report_fits_a_few_a4_pages(dashboard: Dashboard, browser: Any,
                                            tmp_path: Path) -> None:
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en")
    report = desk.new_page()
    log_in(report, dashboard.base)
    report.goto(f"{dashboard.base}/dashboard/report?lang=en")
    report.emulate_media(media="print")
    assert not report.locator("header nav").is_visible()  # no navigation on paper
    pdf = tmp_path / "report.pdf"
    report.pdf(path=str(pdf), format="A4", print_background=True)
    shutil.copy(pdf, dashboard.shots / "dashboard-report-en.pdf")
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert data.startswith(b"%PDF") and 1 <= pages <= 3, f"{pages} A4 pages"
    # A4's printable width (210 mm less 2 × 12 mm margins, at 96 px an inch) as a window:
    # the print layout must not squeeze its columns either
    report.set_viewport_size({"width": 703, "height": 1050})
    assert report.evaluate(LAYOUT_PROBLEMS, MIN_EM) == []
    report.screenshot(path=dashboard.shots / "dashboard-report-en.png")
    desk.close()
