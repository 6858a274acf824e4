"""The staff pages for vouchers, remembered devices and merchants, through the real login
against a real SQLite store: what each role may do, what a change leaves in the audit
log (never a voucher code), and that a revocation holds where it matters — the voucher
redemption and the MAC-authentication lookup RADIUS uses."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from citynet import audit
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal import merchants
from radius import remembered, vouchers
from tests.conftest import make_config
from tests.support import role_matrix, staff_login
from tests.support import staff_csrf as token

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff" + b"\0" * 64
PHONE = "13800138000"


class Site:
    def __init__(self, tmp_path: Path) -> None:
        self.config = make_config(tmp_path)
        self.store = Store.from_config(self.config)
        self.store.upgrade()
        box = open_box(self.config, self.store, create=True)
        self.app = create_app(self.store, self.config, box=box,
                              test_config={"TESTING": True})
        with self.store.session() as db:
            assert import_rows(db, [
                RawRow("t", 1, KINDS["streets"], {"name": "东门"}),
                RawRow("t", 2, KINDS["communities"], {"name": "湖贝", "street": "东门"}),
                RawRow("t", 3, KINDS["communities"], {"name": "笋岗", "street": "东门"}),
            ], None).ok

    def login(self, role: Role) -> FlaskClient:
        client: FlaskClient = staff_login(self.app, self.store, role.value)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    def entries(self, prefix: str) -> list[audit.AuditEntry]:
        with self.store.session() as db:
            return list(audit.recent(db, prefix))

    def redeem(self, code: str, mac: str) -> vouchers.Redemption:
        with self.store.session() as db:
            return vouchers.redeem(db, code, mac, datetime.now(UTC), sqlite=True)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path)
    try:
        yield made
    finally:
        made.store.close()



def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> Any:
    return client.post(path, data={"csrf": token(client), **(data or {})}, **kwargs)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def codes_in(html: str) -> list[str]:
    return re.findall(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2})</code>", html)


# --- vouchers ------------------------------------------------------------------------

def test_a_batch_from_creation_to_revocation(site: Site) -> None:
    client = site.login(Role.OPERATOR)
    made = post(client, "/admin/vouchers", {"batch": "library-2026", "count": "3",
                                            "minutes": "120", "devices": "2",
                                            "valid_days": "30"})
    assert made.status_code == 302 and made.headers["Location"] == "/admin/vouchers/library-2026"
    assert "library-2026" in text(client.get("/admin/vouchers"))
    [listed] = client.get("/admin/vouchers.json").get_json()["batches"]
    assert {k: listed[k] for k in ("batch", "count", "minutes", "devices", "used", "unused",
                                   "expired", "revoked")} == {
        "batch": "library-2026", "count": 3, "minutes": [120], "devices": [2], "used": 0,
        "unused": 3, "expired": 0, "revoked": 0}

    page = client.get("/admin/vouchers/library-2026")
    assert page.headers["Cache-Control"] == "no-store"
    shown = codes_in(text(page))
    with site.store.session() as db:
        stored = [v.code for v in vouchers.in_batch(db, "library-2026")]
    assert sorted(shown) == sorted(vouchers.display(c) for c in stored)

    sheet = client.get("/admin/vouchers/library-2026/sheet")
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    assert text(sheet).count("<svg") == 3 and "@page{size:A4" in text(sheet)
    [printed] = site.entries("vouchers.print")
    assert (printed.target, printed.detail["codes"], printed.actor) == (
        "library-2026", 3, "test-operator")

    first, second, third = stored
    assert site.redeem(first, "aa:bb:cc:dd:ee:01").ok  # in use on one device
    revoked = post(client, "/admin/vouchers/revoke", {
        "code": vouchers.display(first).lower(), "batch": "library-2026",
        "reason": "reported lost"}, follow_redirects=True)
    assert "continues until it ends or is disconnected" in text(revoked)
    assert site.redeem(first, "aa:bb:cc:dd:ee:02").reason == "voucher revoked"
    assert site.redeem(first, "aa:bb:cc:dd:ee:01").reason == "voucher revoked"
    again = post(client, "/admin/vouchers/revoke", {"code": first, "reason": "twice"},
                 follow_redirects=True)
    assert "was revoked already" in text(again)

    whole = post(client, "/admin/vouchers/revoke", {"batch": "library-2026",
                                                    "reason": "event cancelled"},
                 follow_redirects=True)
    assert "2 unused vouchers revoked" in text(whole)
    assert not site.redeem(second, "aa:bb:cc:dd:ee:03").ok
    assert site.redeem(third, "aa:bb:cc:dd:ee:03").reason == "voucher revoked"
    [after] = client.get("/admin/vouchers.json").get_json()["batches"]
    assert (after["revoked"], after["unused"]) == (3, 0)
    assert client.get("/admin/vouchers/library-2026/sheet").status_code == 404  # none left

    changes = site.entries("vouchers.")
    assert sorted(e.action for e in changes) == [
        "vouchers.create", "vouchers.print", "vouchers.revoke", "vouchers.revoke"]
    create = next(e for e in changes if e.action == "vouchers.create")
    assert create.detail == {"count": 3, "minutes": 120, "devices": 2, "valid_days": 30}
    written = json.dumps([[e.target, e.reason, e.detail] for e in site.entries("")])
    for code in stored:  # codes are credentials: never in the audit log
        assert code not in written and vouchers.display(code) not in written
    with site.store.session() as db:
        assert audit.verify(db)[1] == []


def test_a_refused_batch_keeps_what_was_typed(site: Site) -> None:
    client = site.login(Role.OPERATOR)
    bad = post(client, "/admin/vouchers", {"batch": "", "count": "1001", "minutes": "45",
                                           "devices": "21", "valid_days": "7"})
    page = text(bad)
    assert bad.status_code == 400
    assert "Give the batch a name" in page
    assert "Number of codes must be a whole number from 1 to 1000" in page
    assert "Devices must be a whole number from 1 to 20" in page
    assert 'value="1001"' in page and 'value="45"' in page and 'value="7"' in page
    # each problem next to its field, as the inventory editor shows them
    assert 'id="e-batch">Give the batch a name<' in page
    assert 'id="e-count">Number of codes must be a whole number from 1 to 1000<' in page
    assert 'id="e-devices">Devices must' in page and 'id="e-minutes"' not in page
    assert page.count('aria-invalid="true"') == 3
    slash = post(client, "/admin/vouchers", {"batch": "a/b", "count": "1", "minutes": "1",
                                             "devices": "1", "valid_days": "1"})
    assert slash.status_code == 400
    with site.store.session() as db:
        assert vouchers.batches(db, datetime.now(UTC)) == []
        vouchers.create(db, 1, 60, 1, "taken", 30)
    taken = post(client, "/admin/vouchers", {"batch": "taken", "count": "1", "minutes": "1",
                                             "devices": "1", "valid_days": "1"})
    assert taken.status_code == 400 and "exists: choose another name" in text(taken)
    with site.store.session() as db:
        [only] = vouchers.batches(db, datetime.now(UTC))
        assert only.count == 1
    assert site.entries("vouchers.") == []
    assert client.get("/admin/vouchers/nope").status_code == 404


def test_the_unnamed_batch_of_the_cli_has_a_page(site: Site) -> None:
    with site.store.session() as db:
        [made] = vouchers.create(db, 1, 60, 1, "", 30)
        code = made.code
    client = site.login(Role.OPERATOR)
    assert "/admin/vouchers/-" in text(client.get("/admin/vouchers"))
    assert codes_in(text(client.get("/admin/vouchers/-"))) == [vouchers.display(code)]
    assert text(client.get("/admin/vouchers/-/sheet")).count("<svg") == 1
    for vague in ({"reason": "old"}, {"code": "", "batch": "", "reason": "old"}):
        refused = post(client, "/admin/vouchers/revoke", vague)  # neither a code nor a batch
        assert "Give a voucher code or a batch" in text(client.get(refused.headers["Location"]))
    with site.store.session() as db:  # the unnamed batch was not touched
        assert db.scalar(select(vouchers.Voucher.revoked_at)
                         .where(vouchers.Voucher.code == code)) is None
    done = post(client, "/admin/vouchers/revoke", {"batch": "-", "reason": "old"})
    assert done.headers["Location"] == "/admin/vouchers/-"
    assert site.redeem(code, "aa:bb:cc:dd:ee:01").reason == "voucher revoked"


# --- remembered devices --------------------------------------------------------------

def test_remembered_devices_found_and_revoked(site: Site) -> None:
    with site.store.session() as db:
        kept = remembered.remember(db, "aa:bb:cc:dd:ee:01", PHONE, 7)
        remembered.remember(db, "02:00:00:00:00:09", PHONE, 7)  # a randomised address
        remembered.remember(db, "aa:bb:cc:dd:ee:02", "13900139000", 7)
        db.flush()
        kept_id = kept.id
    client = site.login(Role.OPERATOR)
    by_mac = text(client.get("/admin/remembered?mac=AA-BB-CC-DD-EE-01"))
    assert "aa:bb:cc:dd:ee:01" in by_mac and PHONE in by_mac
    assert "13900139000" not in by_mac
    by_phone = text(client.get("/admin/remembered",
                               query_string={"phone": "+86 138 0013 8000"}))
    assert "aa:bb:cc:dd:ee:01" in by_phone and "02:00:00:00:00:09" in by_phone
    assert "(randomised)" in by_phone and "aa:bb:cc:dd:ee:02" not in by_phone
    assert client.get("/admin/remembered?mac=nonsense").status_code == 400
    assert client.get("/admin/remembered?mac=a&mac=b").status_code == 400

    no_reason = post(client, "/admin/remembered/revoke", {"device": str(kept_id)},
                     follow_redirects=True)
    assert "Give a reason" in text(no_reason)
    with site.store.session() as db:
        assert remembered.owner(db, "aa:bb:cc:dd:ee:01", datetime.now(UTC)) == PHONE
    done = post(client, "/admin/remembered/revoke", {
        "device": str(kept_id), "reason": "lost", "back": "mac=aa:bb:cc:dd:ee:01"})
    assert done.headers["Location"] == "/admin/remembered?mac=aa:bb:cc:dd:ee:01"
    with site.store.session() as db:  # what RADIUS's MAC authentication asks
        assert remembered.owner(db, "aa:bb:cc:dd:ee:01", datetime.now(UTC)) is None
        assert remembered.owner(db, "02:00:00:00:00:09", datetime.now(UTC)) == PHONE
    assert "<code>aa:bb:cc:dd:ee:01</code>" not in text(client.get(
        f"/admin/remembered?phone={PHONE}"))
    ended = text(client.get(f"/admin/remembered?phone={PHONE}&ended=1"))
    assert "revoked" in ended and "staff: lost" in ended
    twice = post(client, "/admin/remembered/revoke", {"device": str(kept_id), "reason": "x"},
                 follow_redirects=True)
    assert "no longer remembered" in text(twice)
    [entry] = site.entries("remembered.")
    assert (entry.action, entry.target, entry.reason, entry.detail) == (
        "remembered.revoke", "aa:bb:cc:dd:ee:01", "lost", {"id": kept_id})


# --- merchants -----------------------------------------------------------------------

def offer_form(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"name": "东门老字号", "category": "餐饮", "offer": "出示此页九折",
            "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(), "community": ["湖贝"],
            **changes}


def test_merchants_added_edited_and_removed(site: Site) -> None:
    client = site.login(Role.OPERATOR)
    images = site.config.data_path / "merchants"
    refused = post(client, "/admin/merchants", offer_form(name=" ", valid_until="2026-02-30",
                                                          offer="一段很长的优惠说明"))
    page = text(refused)
    assert refused.status_code == 400
    assert "the name is empty" in page and "the last day must be a date" in page
    # each problem next to its field, as the inventory editor shows them
    assert 'id="e-name">the name is empty<' in page
    assert 'id="e-valid_until">the last day must be a date (YYYY-MM-DD)<' in page
    assert page.count('aria-invalid="true"') == 2
    assert "一段很长的优惠说明" in page and "<option selected>湖贝</option>" in page
    backwards = post(client, "/admin/merchants", offer_form(valid_until="2000-01-01",
                                                            community=["火星"]))
    assert backwards.status_code == 400
    assert "is before the first day" in text(backwards)
    assert 'id="e-communities">no community named 火星<' in text(backwards)
    gif = post(client, "/admin/merchants", {**offer_form(),
                                            "image": (io.BytesIO(b"GIF89a"), "a.gif")},
               content_type="multipart/form-data")
    assert gif.status_code == 400 and "PNG or JPEG" in text(gif)
    with site.store.session() as db:
        assert db.scalars(select(merchants.Merchant)).all() == []

    added = post(client, "/admin/merchants", {**offer_form(),
                                              "image": (io.BytesIO(PNG), "logo.png")},
                 content_type="multipart/form-data")
    assert added.status_code == 302
    [listed] = client.get("/admin/merchants.json").get_json()["merchants"]
    assert {k: listed[k] for k in ("name", "communities", "active", "image", "impressions",
                                   "ctr")} == {"name": "东门老字号", "communities": ["湖贝"],
                                               "active": True, "image": True,
                                               "impressions": 0, "ctr": None}
    merchant_id = listed["id"]
    assert [p.name for p in images.iterdir()] == [f"{merchant_id}.png"]
    assert "东门老字号" in text(client.get("/admin/merchants"))

    edit = f"/admin/merchants/{merchant_id}"
    assert "出示此页九折" in text(client.get(edit))
    with site.store.session() as db:
        merchants.add(db, merchants.Draft("另一家", "零售", "八折", (), datetime.now(UTC).date(),
                                          datetime.now(UTC).date()), datetime.now(UTC))
    clash = post(client, edit, offer_form(name="另一家", offer="改过的说明"))
    assert clash.status_code == 400 and "另一家" in text(clash) and "exists" in text(clash)
    assert "改过的说明" in text(clash)  # nothing typed is lost
    saved = post(client, edit, offer_form(offer="出示此页八折", community=["湖贝", "笋岗"]))
    assert saved.status_code == 302
    with site.store.session() as db:
        found = db.get(merchants.Merchant, merchant_id)
        assert found is not None
        assert (found.offer, found.communities, found.image) == (
            "出示此页八折", ["湖贝", "笋岗"], f"{merchant_id}.png")  # the picture stays
    replaced = post(client, edit, {**offer_form(), "image": (io.BytesIO(JPEG), "new.jpg")},
                    content_type="multipart/form-data")
    assert replaced.status_code == 302
    assert [p.name for p in images.iterdir()] == [f"{merchant_id}.jpg"]

    removed = post(client, f"{edit}/remove")
    assert removed.status_code == 302
    assert list(images.iterdir()) == []
    with site.store.session() as db:
        assert db.get(merchants.Merchant, merchant_id) is None
    assert post(client, f"{edit}/remove").status_code == 404
    assert [(e.action, e.target) for e in reversed(site.entries("merchants."))] == [
        ("merchants.add", "东门老字号"), ("merchants.edit", "东门老字号"),
        ("merchants.edit", "东门老字号"), ("merchants.remove", "东门老字号")]
    edits = [e.detail["changed"] for e in reversed(site.entries("merchants.edit"))]
    assert edits == [["offer", "communities"], ["offer", "communities", "image"]]


def test_the_portal_shows_an_offer_as_soon_as_staff_change_it(site: Site) -> None:
    client = site.login(Role.OPERATOR)
    showcase = site.app.extensions["citynet.portal"].showcase
    today = datetime.now(UTC).date()
    assert showcase.show("any-nas", "", today) == []  # read once: the portal holds a copy
    assert post(client, "/admin/merchants", offer_form(community=[])).status_code == 302
    [shown] = showcase.show("any-nas", "", today)
    assert shown.offer == "出示此页九折"
    edit = f"/admin/merchants/{shown.id}"
    assert post(client, edit, offer_form(offer="出示此页八折", community=[])).status_code == 302
    assert [o.offer for o in showcase.show("any-nas", "", today)] == ["出示此页八折"]
    assert post(client, f"{edit}/remove").status_code == 302
    assert showcase.show("any-nas", "", today) == []


# --- who may ---------------------------------------------------------------------------

GETS = {
    "/admin/vouchers": "vouchers.write",
    "/admin/vouchers.json": "vouchers.write",
    "/admin/vouchers/seed": "vouchers.write",
    "/admin/vouchers/seed/sheet": "vouchers.write",
    "/admin/remembered": "sessions.read",
    "/admin/merchants": "merchants.write",
    "/admin/merchants.json": "merchants.write",
    "/admin/merchants/{id}": "merchants.write",
}
POSTS = {
    "/admin/vouchers": "vouchers.write",
    "/admin/vouchers/revoke": "vouchers.write",
    "/admin/remembered/revoke": "sessions.kick",
    "/admin/merchants": "merchants.write",
    "/admin/merchants/{id}": "merchants.write",
    "/admin/merchants/{id}/remove": "merchants.write",
}


def seed(site: Site) -> int:
    with site.store.session() as db:
        vouchers.create(db, 2, 60, 1, "seed", 30)
        day = datetime.now(UTC).date()
        return merchants.add(db, merchants.Draft("seed", "c", "o", (), day, day),
                             datetime.now(UTC)).id


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(site: Site, role: Role) -> None:
    merchant_id = seed(site)
    client = site.login(role)
    role_matrix(role, GETS.items(),
                lambda path: client.get(path.format(id=merchant_id)).status_code)
    role_matrix(role, POSTS.items(), lambda path: post(
        client, path.format(id=merchant_id), {"reason": "", "device": "1"}).status_code,
        allowed=(302, 400))  # 400: refused input, not the role
    if role is not Role.OPERATOR and role is not Role.ADMIN:
        assert site.entries("vouchers.") == site.entries("merchants.") == []


def test_posts_without_the_csrf_token_are_refused(site: Site) -> None:
    merchant_id = seed(site)
    client = site.login(Role.OPERATOR)
    for path in POSTS:
        answer = client.post(path.format(id=merchant_id), data={
            "batch": "x", "count": "1", "minutes": "1", "devices": "1", "valid_days": "1",
            "reason": "r", "device": "1", **offer_form()})
        assert answer.status_code == 400, path
    assert site.entries("vouchers.") == site.entries("merchants.") == []
    with site.store.session() as db:
        assert db.get(merchants.Merchant, merchant_id) is not None


@pytest.mark.parametrize(("lang", "shown"), [
    ("en", ["Revoke one code", "Number of codes must be a whole number from 1 to 1000",
            "Not created: correct the fields marked below.", "the name is empty",
            "Remembered devices"]),
    ("zh-CN", ["作废一张券", "数量须为 1 到 1000 之间的整数", "未生成：请更正下面标出的字段。",
               "请填写商户名称", "记住的设备"]),
    ("zh-Hant", ["作廢一張券", "數量須為 1 至 1000 之間的整數", "未產生：請更正下面標示的欄位。",
                 "請填寫商戶名稱", "記住的裝置"]),
])
def test_the_staff_pages_speak_the_chosen_language(site: Site, lang: str,
                                                   shown: list[str]) -> None:
    """The portal's staff pages and their form problems come from its catalogs, in the
    staff session's language (Traditional: the Hong Kong catalog)."""
    client = site.login(Role.ADMIN)
    with client.session_transaction() as session:
        session["staff_lang"] = lang
    refused = text(post(client, "/admin/vouchers", {"batch": "b", "count": "0",
                                                    "minutes": "1", "devices": "1",
                                                    "valid_days": "1"}))
    merchant = text(post(client, "/admin/merchants", {"name": " ", "category": "x",
                                                      "offer": "y",
                                                      "valid_from": "2026-01-01",
                                                      "valid_until": "2026-12-31"}))
    remembered_page = text(client.get("/admin/remembered"))
    page = refused + merchant + remembered_page
    assert [wanted for wanted in shown if wanted not in page] == []
