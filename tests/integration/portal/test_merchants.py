"""Merchants' offers: chosen by community and date, counted in aggregate, managed by CLI."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, text

from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal import merchants
from portal.merchants import Merchant
from tests.integration.portal.conftest import Hotspot


def today() -> date:
    """Today as the app sees it (UTC), taken when a test runs, not at import."""
    return datetime.now(UTC).date()

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def offer(name: str, communities: list[str] | None = None, days_left: int = 30) -> Merchant:
    return Merchant(name=name, category="餐饮", offer=f"{name}: 九折 <b>today</b>", image="",
                    communities=communities or [], valid_from=today() - timedelta(days=1),
                    valid_until=today() + timedelta(days=days_left), impressions=0, clicks=0,
                    created_at=datetime.now(UTC))


def test_offers_on_the_portal_are_counted_in_aggregate(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        session.add_all([offer("东门老字号"), offer("elsewhere", ["笋岗"]),
                         offer("expired", days_left=-1)])
    hotspot.portal.showcase = merchants.Showcase(hotspot.store, merchants.Tally(every=1))
    person = hotspot.person()
    landing = person.arrive().get_data(as_text=True)
    assert "东门老字号" in landing
    assert "elsewhere" not in landing and "expired" not in landing
    assert "&lt;b&gt;today&lt;/b&gt;" in landing  # offer text is escaped
    with hotspot.store.session() as session:
        shown = session.scalar(select(Merchant).where(Merchant.name == "东门老字号"))
        assert shown is not None and (shown.impressions, shown.clicks) == (1, 0)
        merchant_id = shown.id
    assert person.browser.get(f"/portal/offers/{merchant_id}").status_code == 200
    with hotspot.store.session() as session:
        counted = session.get(Merchant, merchant_id)
        assert counted is not None and (counted.impressions, counted.clicks) == (1, 1)
    assert person.browser.get("/portal/offers/99999").status_code == 404


def test_impressions_are_written_in_batches(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        session.add(offer("all"))
    showcase = merchants.Showcase(sqlite_store, merchants.Tally(every=3, seconds=3600))
    for _ in range(5):
        assert [o.name for o in showcase.show("any-nas", "", today())] == ["all"]
    with sqlite_store.session() as session:
        [shown] = session.scalars(select(Merchant.impressions)).all()
    assert shown == 3  # the first three in one write; two still pending in memory


def test_offers_follow_the_access_points_community(sqlite_store: Store,
                                                   sqlite_config: Config) -> None:
    with sqlite_store.session() as session:
        rows = [RawRow("t", 1, KINDS["streets"], {"name": "东门"}),
                RawRow("t", 2, KINDS["communities"], {"name": "湖贝", "street": "东门"}),
                RawRow("t", 3, KINDS["hotspots"], {"name": "湖贝广场", "community": "湖贝"}),
                RawRow("t", 4, KINDS["access_points"], {"mac": "00-E0-FC-00-00-07",
                                                        "hotspot": "湖贝广场"})]
        assert import_rows(session, rows, None).ok
        session.add_all([offer("here", ["湖贝"]), offer("there", ["笋岗"]), offer("all"),
                         offer("over", days_left=-1)])
    showcase = merchants.Showcase(sqlite_store)
    at_ap = "00-E0-FC-00-00-07:i-Luohu"
    assert sorted(o.name for o in showcase.show("any-nas", at_ap, today())) == [
        "all", "here"]
    # elsewhere in the district: only the offers for everywhere
    assert [o.name for o in showcase.show("any-nas", "00-E0-FC-00-00-08", today())] == [
        "all"]
    # least shown first: a new offer comes before the shown ones, once it is read
    with sqlite_store.session() as session:
        session.add(offer("new"))
    assert showcase.show("any-nas", at_ap, today(), limit=1)[0].name != "new"
    showcase.invalidate()
    # the views so far were written before the re-read: here 2, all 2, new 0
    picks = [showcase.show("any-nas", at_ap, today(), limit=1)[0].name for _ in range(4)]
    assert picks == ["new", "new", "here", "all"]


def test_views_from_many_threads_are_all_counted(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        session.add_all([offer("one"), offer("two")])
    showcase = merchants.Showcase(sqlite_store, merchants.Tally(every=7, seconds=3600))

    def browse() -> None:
        for _ in range(25):
            assert len(showcase.show("any-nas", "", today())) == 2

    threads = [threading.Thread(target=browse) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    showcase.invalidate()  # a re-read writes what is pending first
    showcase.show("any-nas", "", today(), limit=0)
    with sqlite_store.session() as session:
        assert sorted(session.scalars(select(Merchant.impressions))) == [200, 200]


def test_a_store_that_fails_costs_no_page_and_no_count(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        session.add(offer("one"))
    showcase = merchants.Showcase(sqlite_store, merchants.Tally(every=1))
    assert [o.name for o in showcase.show("any-nas", "", today())] == ["one"]  # written
    with sqlite_store.session() as session:  # the store can no longer take the counts
        session.execute(text("ALTER TABLE portal_merchant RENAME TO elsewhere"))
    assert [o.name for o in showcase.show("any-nas", "", today())] == ["one"]
    assert [o.name for o in showcase.show("any-nas", "", today())] == ["one"]
    with sqlite_store.session() as session:
        session.execute(text("ALTER TABLE elsewhere RENAME TO portal_merchant"))
    showcase.show("any-nas", "", today())
    with sqlite_store.session() as session:
        assert session.scalars(select(Merchant.impressions)).all() == [4]


def test_the_nas_first_hotspot_places_a_person_without_a_known_ap() -> None:
    offers = (merchants.Offer(1, "a", "c", "o", False, frozenset({"湖贝"}), today(),
                              today(), 0),)
    snapshot = merchants.Snapshot(offers, {}, {"hb-gw": "湖贝"})
    assert merchants.community_of(snapshot, "hb-gw", "AA-BB-CC-DD-EE-FF") == "湖贝"
    assert merchants.community_of(snapshot, "other", "") is None
    assert merchants.choose(offers, "湖贝", today(), Counter()) == list(offers)
    assert merchants.choose(offers, None, today(), Counter()) == []
    assert merchants.choose(offers, "湖贝", today() + timedelta(days=1), Counter()) == []


def test_merchants_from_the_cli(sqlite_store: Store, sqlite_config: Config,
                                tmp_path: Path) -> None:
    env = {"CITYNET_DATA_DIR": str(sqlite_config.data_path)}
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    not_image = tmp_path / "logo.gif"
    not_image.write_bytes(b"GIF89a")
    run = CliRunner().invoke
    added = run(cli, ["merchants", "add", "东门老字号", "--category", "餐饮", "--offer", "九折",
                      "--until", "2099-12-31", "--image", str(image)], env=env)
    assert added.exit_code == 0, added.output
    assert "shown in the whole district" in added.output
    assert len(list((sqlite_config.data_path / "merchants").glob("*.png"))) == 1
    bad = run(cli, ["merchants", "add", "x", "--category", "c", "--offer", "o", "--until",
                    "2099-01-01", "--image", str(not_image)], env=env)
    assert bad.exit_code == 1 and "PNG or JPEG" in bad.output
    nowhere = run(cli, ["merchants", "add", "y", "--category", "c", "--offer", "o",
                        "--until", "2099-01-01", "--community", "火星"], env=env)
    assert nowhere.exit_code == 1 and "no community named 火星" in nowhere.output
    listed = run(cli, ["merchants", "list"], env=env)
    assert "东门老字号" in listed.output
    with sqlite_store.session() as session:  # the refused ones left nothing behind
        assert session.scalars(select(Merchant.name)).all() == ["东门老字号"]
    assert run(cli, ["merchants", "remove", "东门老字号"], env=env).exit_code == 0
    assert not list((sqlite_config.data_path / "merchants").glob("*.png"))


def test_a_printable_voucher_sheet(sqlite_store: Store, sqlite_config: Config,
                                   tmp_path: Path) -> None:
    import re

    from radius import vouchers

    env = {"CITYNET_DATA_DIR": str(sqlite_config.data_path)}
    with sqlite_store.session() as session:
        made = vouchers.create(session, 3, 120, 2, "library", valid_days=30)
        codes = sorted(vouchers.display(v.code) for v in made)
        used = vouchers.redeem(session, made[0].code, "aa:bb:cc:dd:ee:01", datetime.now(UTC),
                               sqlite=True)
        assert used.ok
    out = tmp_path / "sheet.html"
    result = CliRunner().invoke(cli, ["vouchers", "sheet", "--batch", "library", "--out",
                                      str(out)], env=env)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    printed = sorted(re.findall(r'class="code">([A-Z0-9-]+)<', html))
    assert printed == sorted(set(codes) - {vouchers.display(made[0].code)})  # unused only
    assert html.count("<svg") == 2 and "120 分钟" in html and "@page{size:A4" in html
    everything = CliRunner().invoke(cli, ["vouchers", "sheet", "--batch", "library", "--all",
                                          "--out", str(out)], env=env)
    assert everything.exit_code == 0 and out.read_text().count("<svg") == 3
    none = CliRunner().invoke(cli, ["vouchers", "sheet", "--batch", "nope", "--out",
                                    str(out)], env=env)
    assert none.exit_code == 1 and "no unused vouchers in batch 'nope'" in none.output
