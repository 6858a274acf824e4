"""The enrolment page in a real browser (Debian's Chromium via Playwright): a person
signs in, names a device and reads the answer page; the form and the answer fit every
width from a phone to a desktop with no sideways scroll, in each catalogued language.
Screenshots go to the test's temporary directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from admission import authority, passwords, people
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store
from citynet.server import serving
from tests.conftest import make_config

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (360, 390, 768, 1366)
PASSWORD = "a network password"
NOW = datetime.now(UTC)


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    rows, problems = people.read_csv("username,real_name,department,role,status\n"
                                     "t1,王芳,第一中学教务处,teacher,active\n", "hr.csv")
    assert problems == []
    with store.session() as db:
        people.apply(db, rows)
        authority.init(db, box, "示范区", "radius.example.org", NOW)
        passwords.set_password(db, box, "t1", PASSWORD, ())
    try:
        with serving(create_app(store, config, box=box)) as base:
            yield base
    finally:
        store.close()


def test_the_form_and_the_answer_fit_every_width(base: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    def look(page: Any, name: str) -> None:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 860})
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), (
                name, width)
            page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="zh-HK")
            page.goto(f"{base}/nac/enrol")
            assert page.locator("html").get_attribute("lang") == "zh-Hant"
            look(page, "enrol-zh-Hant")
            page.get_by_role("link", name="English").click()
            assert page.locator("html").get_attribute("lang") == "en"
            look(page, "enrol-en")
            page.fill("#username", "t1")
            page.fill("#password", "a wrong password")
            page.fill("#device", "laptop")
            page.click("button[type=submit]")
            assert page.locator("[role=alert]").inner_text() == "Wrong username or password."
            look(page, "enrol-refused-en")
            page.goto(f"{base}/nac/enrol?lang=zh-CN")
            page.fill("#username", "t1")
            page.fill("#password", PASSWORD)
            page.fill("#device", "一台很长名字的笔记本电脑-教务处-二〇二六年秋季学期-第三教学楼")
            page.click("button[type=submit]")
            assert page.locator("a[download='district-ca.crt']").count() == 1
            assert "radius.example.org" in page.locator("main").inner_text()
            assert len(page.locator("code.secret").inner_text()) == 16
            look(page, "enrolled-zh-CN")
        finally:
            browser.close()
