"""An admin's first sign-in in a real browser (Debian's Chromium via Playwright): the
password, enrolling an authenticator app from the QR page, the staff home, the audit log
and a device job; signing out. Screenshots go to $CITYNET_SCREENSHOTS (docs/screenshots
when refreshing the docs), else to the test's temporary directory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from admission import people
from citynet import audit, staff
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store
from citynet.server import serving
from tests.conftest import make_config

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN, PASSWORD = "zhao.min", "an admin's long password"
# a username longer than a phone's line: the person page's heading must wrap it
LONG_USERNAME = "a.long.username.of.an.exchange.teacher"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store, Any]]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    with store.session() as session:
        staff.add(session, ADMIN, staff.Role.ADMIN, PASSWORD)
        audit.record(session, audit.Action(
            "devices.push", "site:笋岗社区", "partial", "CHG-2026-1127 NTP",
            {"devices": [{"hostname": "sg-acc-01", "status": "pushed", "error": "",
                          "added": ["+ ntp-service unicast-server 10.0.0.123"],
                          "removed": ["- ntp-service unicast-server 10.0.0.9"],
                          "rollback": ""},
                         {"hostname": "sg-acc-02", "status": "rolled_back",
                          "added": [], "removed": [], "rollback": "restored the state "
                          "before the change (3 commands)",
                          "error": "sg-acc-02: refused 'ntp-service unicast-server "
                                   "10.0.0.123': Error: The command failed"}],
             "not_ready": []}))
        rows, problems = people.read_csv("username,real_name,role\n"
                                         f"{LONG_USERNAME},Maria Rodrigues da Silva,teacher\n",
                                         "hr.csv")
        assert problems == []
        people.apply(session, rows)
    try:
        with serving(create_app(store, config, box=box)) as base:
            yield base, store, box
    finally:
        store.close()


def test_an_admins_first_sign_in_and_the_audit_trail(site: tuple[str, Store, Any],
                                                     tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, store, box = site
    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            page.goto(f"{base}/admin/")
            page.fill("#name", ADMIN)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            assert "/login/enrol" in page.url  # an admin must have an authenticator app
            assert page.locator(".qr svg").count() == 1
            page.screenshot(path=shots / "staff-enrol.png")
            with store.session() as session:
                secret = box.open(staff.get(session, ADMIN).totp_sealed)
            page.fill("#code", pyotp.TOTP(secret).now())
            page.click("button[type=submit]")
            assert page.url == f"{base}/admin/"
            page.locator("main").get_by_role("link", name="审计日志").click()
            assert "哈希链完整" in page.content()  # Chinese first, as the browser asks
            page.get_by_role("link", name="English").click()
            assert "Chain intact" in page.content()
            assert page.locator("td", has_text="staff.login").count() >= 1
            page.screenshot(path=shots / "staff-audit-log.png", full_page=True)
            page.get_by_role("link", name="devices.push").click()
            assert "refused" in page.content() and "+ ntp-service" in page.content()
            page.screenshot(path=shots / "staff-device-job.png", full_page=True)
            page.click("header button[type=submit]")  # sign out
            assert "/login" in page.url
            page.goto(f"{base}/admin/audit")
            assert "/login" in page.url  # signed out means signed out
        finally:
            browser.close()


WIDTHS = (360, 390, 768, 1366)
# a table wider than its box must scroll inside it with the shared shadow cue
# (citynet/templates/staff/shared.css), and no header may be squeezed to a character a line
TABLE_PROBLEMS = """() => {
  const problems = [];
  for (const table of document.querySelectorAll('main table')) {
    const wrap = table.closest('.table-wrap');
    if (!wrap) { problems.push('a table outside .table-wrap'); continue; }
    const style = getComputedStyle(wrap);
    if (wrap.scrollWidth > wrap.clientWidth + 1 && !(style.overflowX === 'auto'
        && style.backgroundImage.includes('radial-gradient')))
      problems.push(`cut with no cue: ${wrap.scrollWidth} px in ${wrap.clientWidth}`);
  }
  for (const th of document.querySelectorAll('th')) {  // its text's lines, not its row's
    const range = document.createRange();
    range.selectNodeContents(th);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    if (lines > 2) problems.push(`header "${th.innerText.trim()}" on ${lines} lines`);
  }
  return problems;
}"""


def test_enrolment_and_staff_pages_at_every_width(site: tuple[str, Store, Any],
                                                  tmp_path: Path) -> None:
    """The key as text beside the QR code, kept across a reload; the admin's own row
    without disable or reset-2FA. A zh-HK browser reads Traditional Chinese (Hong Kong
    usage), unasked."""
    from playwright.sync_api import sync_playwright

    base, store, box = site
    shots = tmp_path / "widths"
    shots.mkdir()

    def look(page: Any, name: str) -> None:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 860})
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), (
                name, width)
            assert page.evaluate(TABLE_PROBLEMS) == [], (name, width)
            page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="zh-HK")
            page.goto(f"{base}/admin/")
            page.fill("#name", ADMIN)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            assert page.locator("html").get_attribute("lang") == "zh-Hant"
            assert page.locator("h1").inner_text() == "設定身份驗證器"
            key = page.locator("#secret").inner_text()
            look(page, "staff-enrol-zh-Hant")
            page.get_by_role("link", name="English").click()
            assert page.locator("#secret").inner_text() == key  # a reload keeps the key
            look(page, "staff-enrol-en")
            with store.session() as session:
                secret = box.open(staff.get(session, ADMIN).totp_sealed)
            assert secret == key.replace(" ", "")
            page.fill("#code", pyotp.TOTP(secret).now())
            page.click("form:has(#code) button[type=submit]")
            page.goto(f"{base}/admin/staff")
            assert page.locator(f"form[action$='/{ADMIN}/disable']").count() == 0
            look(page, "staff-accounts-en")
            page.goto(f"{base}/admin/staff?lang=zh-CN")
            look(page, "staff-accounts-zh-CN")
            for path in ("/admin/audit", "/admin/devices/jobs", "/admin/remembered",
                         "/admin/vouchers", f"/admin/nac/people/{LONG_USERNAME}"):
                page.goto(f"{base}{path}")
                look(page, "staff" + path.replace("/", "-"))
            # the shadow cue is there when the table is wider than its box at 360 px
            page.set_viewport_size({"width": 360, "height": 860})
            page.goto(f"{base}/admin/audit")
            assert page.evaluate("[...document.querySelectorAll('.table-wrap')].some("
                                 "w => w.scrollWidth > w.clientWidth)")
            assert page.evaluate("(() => { const s = getComputedStyle(document.querySelector("
                                 "'.table-wrap')); return s.overflowX + ' ' + "
                                 "s.backgroundImage; })()").startswith("auto ")
        finally:
            browser.close()
    if os.environ.get("CITYNET_SCREENSHOTS"):
        for name in ("staff-enrol-en-390", "staff-accounts-zh-CN-390"):
            shutil.copy(shots / f"{name}.png", Path(os.environ["CITYNET_SCREENSHOTS"]))
