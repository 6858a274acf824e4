"""The staff's everyday tasks in a real browser (Debian's Chromium via Playwright): an
operator's voucher batch, printed sheet (its QR codes read back from an A4 PDF with
pdftoppm and zbarimg) and revocation, and a merchant's offer; an
engineer's new NAS; a second engineer approving a device change request; an auditor's
login-record search and CSV export; the operator's home page in Chinese. Screenshots go
to $CITYNET_SCREENSHOTS (docs/screenshots when refreshing the docs), else to the test's
temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest

from citynet import staff
from citynet.app import create_app
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.server import serving
from devices import approvals
from radius import records
from tests.conftest import make_config
from tests.integration.citynet.test_admin_browser import CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.slow

PASSWORD = "a staff member's long password"
OPERATOR, ENGINEER, ALICE, BOB, AUDITOR = "wang.li", "chen.gong", "alice", "bob", "sun.yue"
PHONE = "13800138000"  # the person whose login records are asked for
DIFF_LINE = "+ ntp-service unicast-server 10.0.0.123"


@dataclass(frozen=True)
class Site:
    base: str
    store: Store
    box: SecretBox
    change_id: int


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The web app served on a free port, with the staff, a pending change request by
    alice and three login records already stored."""
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    assert box is not None
    now = datetime.now(UTC)
    with store.session() as db:
        for name, role in ((OPERATOR, staff.Role.OPERATOR), (ENGINEER, staff.Role.ENGINEER),
                           (ALICE, staff.Role.ENGINEER), (BOB, staff.Role.ENGINEER),
                           (AUDITOR, staff.Role.AUDITOR)):
            staff.add(db, name, role, PASSWORD)
        change = approvals.add(
            db, selectors=["site:笋岗社区"], templates=["ntp"],
            reason="CHG-2026-1203 NTP server move", requested_by=ALICE,
            now=now - timedelta(minutes=20), devices=[
                {"hostname": f"sg-acc-0{n}", "site": "笋岗社区", "added": [DIFF_LINE],
                 "removed": ["- ntp-service unicast-server 10.0.0.9"],
                 "commands": ["undo ntp-service unicast-server 10.0.0.9",
                              "ntp-service unicast-server 10.0.0.123"]} for n in (1, 2)])
        change_id = change.id
        records.append(db, [
            records.LoginEvent(now - timedelta(hours=3), "login", "accept", PHONE, "sms",
                               "lib-ac-00", "a4:5e:60:12:34:56", "f0-9f-c2-00-00-01:Luohu-Free",
                               "10.64.3.21", "203.0.113.7", "10240-10495", "s-1001"),
            records.LoginEvent(now - timedelta(hours=2), "logout", "accept", PHONE, "sms",
                               "lib-ac-00", "a4:5e:60:12:34:56", "f0-9f-c2-00-00-01:Luohu-Free",
                               "10.64.3.21", "203.0.113.7", "10240-10495", "s-1001"),
            records.LoginEvent(now - timedelta(hours=1), "login", "accept", "13900139000",
                               "voucher", "lib-ac-00", "3c:22:fb:aa:bb:cc",
                               "f0-9f-c2-00-00-01:Luohu-Free", "10.64.3.40", "203.0.113.7",
                               "10496-10751", "s-1002")])
    try:
        with serving(create_app(store, config, box=box)) as base:
            yield Site(base, store, box, change_id)
    finally:
        store.close()


def sign_in(browser: Browser, site: Site, name: str, locale: str = "en-US") -> Page:
    """A fresh browser (own cookies) signed in as ``name``; roles that need an
    authenticator enrol one, as at a first login."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1280, "height": 860}, locale=locale,
                               accept_downloads=True).new_page()
    page.goto(f"{site.base}/admin/")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    with site.store.session() as db:
        needs_code = staff.get(db, name).role in staff.NEEDS_TOTP
    if needs_code:
        expect(page).to_have_url(re.compile(r"/login/enrol"))
        with site.store.session() as db:
            sealed = staff.get(db, name).totp_sealed  # sealed when the enrol page showed
        assert sealed is not None
        secret = site.box.open(sealed)
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
    expect(page).to_have_url(f"{site.base}/admin/")
    return page


def section(page: Page, title: str) -> None:
    """Open a section from the header menu."""
    page.get_by_role("navigation", name="Sections").get_by_role(
        "link", name=title, exact=True).click()


def test_the_staffs_everyday_tasks(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("CITYNET_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            operator_vouchers(sign_in(browser, site, OPERATOR), shots)
            operator_merchants(sign_in(browser, site, OPERATOR), shots)
            engineer_nas(sign_in(browser, site, ENGINEER), shots)
            change_approval(browser, site, shots)
            auditor_records(sign_in(browser, site, AUDITOR), shots)
            home = sign_in(browser, site, OPERATOR, locale="zh-CN")
            expect(home.get_by_role("heading", level=1)).to_have_text(f"你好，{OPERATOR}")
            expect(home.locator("main .cards")).to_contain_text("上网券")
            home.screenshot(path=shots / "staff-home-zh.png")
        finally:
            browser.close()


def operator_vouchers(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    section(page, "Vouchers")
    expect(page.get_by_role("heading", name="Vouchers", level=1)).to_be_visible()
    page.get_by_label("Batch name").fill("library-2026-12")
    page.locator("input[name=count]").fill("5")
    page.locator("input[name=minutes]").fill("60")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/vouchers/library-2026-12$"))
    expect(page.get_by_role("status")).to_have_text("5 vouchers created")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.locator("code")).to_have_count(5)
    expect(rows.get_by_text("unused", exact=True)).to_have_count(5)
    page.screenshot(path=shots / "staff-vouchers-batch.png", full_page=True)

    page.get_by_role("link", name="Printable sheet of the unused codes").click()
    expect(page.locator(".card svg")).to_have_count(5)  # a QR code on every card
    page.screenshot(path=shots / "staff-voucher-sheet.png", full_page=True)
    sheet_on_phone_and_paper(page)
    page.go_back()

    first = page.locator("main tbody tr").first
    code = first.locator("code").inner_text()
    first.get_by_placeholder("Reason").fill("misprinted, shredded")
    first.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"{code} revoked")
    revoked = page.locator("main tbody tr", has=page.locator("code", has_text=code))
    expect(revoked.locator(".bad")).to_have_text("revoked")
    expect(revoked.get_by_role("button", name="Revoke", exact=True)).to_have_count(0)
    expect(page.locator("main tbody").get_by_text("unused", exact=True)).to_have_count(4)


def sheet_on_phone_and_paper(page: Page) -> None:
    """The sheet fits a 360 px phone with every code on one line. On A4 nothing overflows
    the printable width (Chromium would shrink the page to fit), the QR codes are at least
    25 mm, three cards a row, and every code on the printed page reads back with zbar
    (which, like many phone cameras, reads no Micro QR)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    whole = page.eval_on_selector_all(
        ".card .code", "els => els.map(e => e.getClientRects().length === 1 "
        "&& e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().height < 30)")
    assert whole and all(whole), whole
    codes = set(page.eval_on_selector_all(".card .code", "els => els.map(e => e.innerText)"))
    page.set_viewport_size({"width": 703, "height": 1050})  # A4 less 2 x 12 mm, 96 px/in
    page.emulate_media(media="print")
    try:
        assert page.evaluate("document.documentElement.scrollWidth <= 703")
        mm = page.eval_on_selector_all(
            ".card svg", "els => els.map(e => e.getBoundingClientRect().width * 25.4 / 96)")
        assert min(mm) >= 25, mm
        tops = page.eval_on_selector_all(".card", "els => els.map(e => e.offsetTop)")
        assert tops[:3] == [tops[0]] * 3, tops
        with tempfile.TemporaryDirectory(prefix="citynet-sheet-") as work:
            pdf = Path(work) / "sheet.pdf"
            page.pdf(path=str(pdf), format="A4")
            subprocess.run(["pdftoppm", "-png", "-r", "150", str(pdf),
                            str(Path(work) / "a4")], check=True)
            pages = sorted(Path(work).glob("a4-*.png"))
            read = subprocess.run(["zbarimg", "-q", "--raw", *map(str, pages)],
                                  capture_output=True, text=True, check=False)
        assert len(pages) == 1 and set(read.stdout.split()) == codes, (read.stdout, codes)
    finally:
        page.emulate_media(media="screen")
        if size:
            page.set_viewport_size(size)


def operator_merchants(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    section(page, "Merchants")
    expect(page.get_by_role("heading", name="Merchants' offers")).to_be_visible()
    today = datetime.now(UTC).date()
    name, offer = "Luohu Book Café", "10% off any coffee: show this page at the counter"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Category", exact=True).fill("culture")
    page.get_by_label("Offer", exact=True).fill(offer)
    page.get_by_label("First day").fill(today.isoformat())
    page.get_by_label("Last day").fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"{today - timedelta(days=1)} is before the first day {today}")
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)  # nothing lost
    # by role: a label's text takes in its textarea's, which now holds the offer
    expect(page.get_by_role("textbox", name="Offer", exact=True)).to_have_value(offer)
    expect(page.get_by_label("First day")).to_have_value(today.isoformat())
    expect(page.get_by_text("No offers yet")).to_be_visible()

    page.get_by_label("Last day").fill((today + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"{name} added")
    listed = page.locator("main tbody tr", has=page.get_by_role("link", name=name))
    expect(listed).to_contain_text(offer)
    expect(listed).to_contain_text("whole district")
    page.screenshot(path=shots / "staff-merchants.png", full_page=True)


def engineer_nas(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(page.url + "inventory/nas")
    expect(page.get_by_role("heading", level=1)).to_contain_text("NAS (RADIUS clients)")
    page.get_by_role("link", name="+ New").click()
    page.locator("#f-name").fill("lib-ac-01")
    page.locator("#f-address").fill("10.20.0.300")
    page.locator("#f-secret").fill("a shared secret for lib-ac-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    expect(page.locator("#f-address")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-address")).to_contain_text(
        "'10.20.0.300' is not an IP address or CIDR network")
    expect(page.locator("#f-name")).to_have_value("lib-ac-01")  # typed fields kept
    expect(page.locator("#f-address")).to_have_value("10.20.0.300")
    expect(page.get_by_text("Not shown again for safety: type it again.")).to_be_visible()

    page.locator("#f-address").fill("10.20.0.1")
    page.locator("#f-secret").fill("a shared secret for lib-ac-01")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/inventory/nas/lib-ac-01$"))
    expect(page.get_by_role("status")).to_have_text("lib-ac-01 created")
    expect(page.locator("#f-address")).to_have_value("10.20.0.1")
    expect(page.locator("#e-address")).to_have_count(0)
    page.get_by_role("link", name="← NAS (RADIUS clients)").click()
    expect(page.locator("main tbody tr", has_text="lib-ac-01")).to_contain_text("10.20.0.1")
    page.screenshot(path=shots / "staff-inventory-nas.png", full_page=True)


def change_approval(browser: Browser, site: Site, shots: Path) -> None:
    from playwright.sync_api import expect

    def approve(page: Page) -> Locator:
        return page.get_by_role("button", name="Approve", exact=True)

    alice = sign_in(browser, site, ALICE)
    section(alice, "Change requests")
    alice.get_by_role("link", name=str(site.change_id), exact=True).click()
    expect(alice.get_by_text("You requested this: another engineer or an admin approves "
                             "it.")).to_be_visible()
    expect(approve(alice)).to_have_count(0)  # not her own request

    bob = sign_in(browser, site, BOB)
    section(bob, "Change requests")
    row = bob.locator("main tbody tr", has_text="CHG-2026-1203")
    expect(row).to_contain_text("pending")
    row.get_by_role("link", name=str(site.change_id), exact=True).click()
    expect(bob.get_by_role("heading", level=1)).to_have_text(
        f"Change request {site.change_id} · pending")
    expect(bob.locator("main pre", has_text=DIFF_LINE)).to_have_count(2)  # both devices
    bob.get_by_label("Note (optional to approve, required to reject)").fill(
        "Checked with the NOC: 10.0.0.123 is the new NTP server")
    approve(bob).click()
    expect(bob.get_by_role("status")).to_contain_text(
        f"Change request {site.change_id} approved")
    expect(bob.get_by_role("heading", level=1)).to_have_text(
        f"Change request {site.change_id} · approved")
    expect(bob.get_by_role("row", name=re.compile("Decision"))).to_contain_text(
        "bob · ")
    expect(approve(bob)).to_have_count(0)  # decided once
    bob.screenshot(path=shots / "staff-change-approve.png", full_page=True)


def auditor_records(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    section(page, "Login records")
    page.get_by_label("Phone number or voucher code").fill(PHONE)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("2 records", exact=True)).to_be_visible()
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=PHONE)).to_have_count(2)
    expect(rows.first).to_contain_text("203.0.113.7")
    page.screenshot(path=shots / "staff-records.png", full_page=True)

    reason = page.get_by_label("Reason for the export (required, e.g. case number)")
    assert reason.evaluate("input => input.validity.valueMissing")  # the browser asks first
    reason.fill("Luohu PSB request 2026-118")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(records.COLUMNS)
    assert len(lines) == 3 and all(PHONE in line for line in lines[1:])
