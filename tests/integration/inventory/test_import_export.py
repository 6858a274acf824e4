"""Import and export against a real store (SQLite and PostgreSQL)."""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from citynet.config import Config
from citynet.crypto import EXPORT_PREFIX, SecretBox, open_box
from citynet.db import Store
from inventory import demo, files, queries
from inventory.exporter import export
from inventory.importer import import_rows
from inventory.kinds import KINDS
from inventory.models import Building, NasClient
from tests.conftest import make_config


@pytest.fixture
def box(backend_config: Config, store: Store) -> SecretBox:
    found = open_box(backend_config, store, create=True)
    assert found is not None
    return found


def seed_demo(store: Store, box: SecretBox) -> None:
    with store.session() as session:
        assert import_rows(session, demo.raw_rows(), box).ok


def read_all(path: Path) -> list[files.RawRow]:
    rows: list[files.RawRow] = []
    for file in files.expand([path]):
        reading = files.read(file)
        assert reading.problems == []
        rows += reading.rows
    return rows


def test_one_bad_row_writes_nothing(store: Store, box: SecretBox, tmp_path: Path) -> None:
    seed_demo(store, box)
    with store.session() as session:
        before = queries.counts(session)
    path = tmp_path / "buildings.csv"
    path.write_text(
        "code,name,type,community,fiber_status,fiber_connected_on\n"
        "NEW-1,新楼1,residential,湖景社区,connected,2015-01-01\n"
        "NEW-2,新楼2,residential,湖景社区,connected,2015-01-01\n"
        "LH-0101-001,改名,residential,老围社区,connected,2015-01-01\n"
        "NEW-3,新楼3,castle,湖景社区,connected,2015-01-01\n"
        "NEW-4,新楼4,residential,无此社区,connected,2015-01-01\n"
        "NEW-1,重复,residential,湖景社区,connected,2015-01-01\n")
    with store.session() as session:
        outcome = import_rows(session, read_all(path), box)
        assert [str(p) for p in outcome.problems] == [
            f"{path}:5: type: 'castle' is not one of: government_agency (政府机关), "
            "public_institution (事业单位), community_workstation (社区工作站), "
            "commercial (商业楼宇), residential (住宅)",
            f"{path}:6: community: no communities named '无此社区' in the store or this import",
            f"{path}:7: code: duplicate key 'NEW-1' (first at {path}:2)",
        ]
    with store.session() as session:
        assert queries.counts(session) == before
        renamed = session.scalar(select(Building.name).where(Building.code == "LH-0101-001"))
        assert renamed != "改名"


def test_upsert_creates_updates_and_leaves_alone(store: Store, box: SecretBox) -> None:
    seed_demo(store, box)
    rows = [
        files.RawRow("t", 1, KINDS["streets"], {"name": "笋岗", "name_en": "Sungang Street"}),
        files.RawRow("t", 2, KINDS["streets"], {"name": "桂园", "name_en": "Guiyuan"}),
        files.RawRow("t", 3, KINDS["streets"], {"name": "新街道"}),
        files.RawRow("t", 4, KINDS["nas"], {"name": demo.DEMO_NAS, "address": "127.0.0.1",
                                            "secret": demo.DEMO_NAS_SECRET,
                                            "vendor": "coovachilli",
                                            "uam_secret": demo.DEMO_UAM_SECRET,
                                            "hotspots": demo.generate()["nas"][0]["hotspots"]}),
    ]
    with store.session() as session:
        outcome = import_rows(session, rows, box)
    assert (outcome.created["streets"], outcome.updated["streets"],
            outcome.unchanged["streets"]) == (1, 1, 1)
    assert outcome.unchanged["nas"] == 1  # same secret in clear: the sealed token is kept


def test_demo_seed_is_idempotent(store: Store, box: SecretBox) -> None:
    seed_demo(store, box)
    with store.session() as session:
        outcome = import_rows(session, demo.raw_rows(), box)
    assert sum(outcome.created.values()) == sum(outcome.updated.values()) == 0
    assert sum(outcome.unchanged.values()) == sum(len(v) for v in demo.generate().values())


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_export_import_is_a_lossless_round_trip(store: Store, box: SecretBox,
                                                backend_config: Config, tmp_path: Path,
                                                second_store_url: str, fmt: str) -> None:
    seed_demo(store, box)
    with store.session() as session:  # data, not a spreadsheet: kept as it is, '=' and all
        assert import_rows(session, [files.RawRow("t", 1, KINDS["streets"], {
            "name": "=1+2", "name_en": "@Sungang"})], box).ok
        exported = export(session)
    assert {"name": "=1+2", "name_en": "@Sungang"} in exported["streets"]
    out = tmp_path / "export"
    out.mkdir()
    if fmt == "yaml":
        (out / "district.yaml").write_text(files.write_yaml(exported))
    else:
        for name, rows in exported.items():
            (out / f"{name}.csv").write_text(files.write_csv(KINDS[name], rows))
    text = "".join(p.read_text() for p in out.iterdir())
    assert demo.DEMO_NAS_SECRET not in text and "demo-device-password" not in text
    assert EXPORT_PREFIX in text

    # a second, empty store on the same backend and with the same key
    target_config = make_config(tmp_path / "second", database={"url": second_store_url},
                                secrets={"key": b",".join(_keys(backend_config)).decode()})
    target = Store.from_config(target_config)
    try:
        target.upgrade()
        target_box = open_box(target_config, target)
        assert target_box is not None
        with target.session() as session:
            outcome = import_rows(session, read_all(out), target_box)
            assert outcome.ok, outcome.problems[:3]
        with target.session() as session:
            assert export(session) == exported
            nas = session.scalars(select(NasClient)).one()
            assert target_box.open(nas.secret_sealed) == demo.DEMO_NAS_SECRET
    finally:
        target.close()


def _keys(config: Config) -> list[bytes]:
    from citynet.crypto import configured_keys

    keys = configured_keys(config)
    assert keys is not None
    return keys


def test_yaml_export_is_readable(store: Store, box: SecretBox) -> None:
    seed_demo(store, box)
    with store.session() as session:
        document = yaml.safe_load(files.write_yaml(export(
            session, [KINDS["streets"], KINDS["communities"], KINDS["targets"]])))
    assert document["streets"][0] == {"name": "东晓", "name_en": "Dongxiao"}
    # the English names the English dashboard shows go out with the rest
    hujing = next(c for c in document["communities"] if c["name"] == "湖景社区")
    assert hujing == {"name": "湖景社区", "name_en": "Hujing Community", "street": "笋岗"}
    assert {t["owner_en"] for t in document["targets"]} == {demo.OWNER[1]}


def test_foreign_key_restrictions_hold_in_the_database(store: Store, box: SecretBox) -> None:
    seed_demo(store, box)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(Building))
    assert count is not None and count >= 2000


def test_a_short_nas_secret_needs_the_allow_column_and_round_trips(
        store: Store, box: SecretBox, tmp_path: Path) -> None:
    path = tmp_path / "nas.csv"
    path.write_text("name,address,secret\nold-ac,10.9.0.1,tiny-secret\n")
    with store.session() as session:
        refused = [str(p) for p in import_rows(session, read_all(path), box).problems]
    assert len(refused) == 1 and "secret: shorter than 16 characters" in refused[0]
    assert "allow_short_secret" in refused[0] and "tiny-secret" not in refused[0]
    path.write_text("name,address,secret,allow_short_secret\nold-ac,10.9.0.1,tiny-secret,yes\n")
    with store.session() as session:
        assert import_rows(session, read_all(path), box).created["nas"] == 1
    # the export (sealed, no allow column) imports back as it is
    with store.session() as session:
        exported = files.write_csv(KINDS["nas"], export(session, [KINDS["nas"]])["nas"])
    assert "allow_short_secret" not in exported and "tiny-secret" not in exported
    path.write_text(exported)
    with store.session() as session:
        outcome = import_rows(session, read_all(path), box)
    assert outcome.ok and outcome.unchanged["nas"] == 1
    with store.session() as session:
        sealed = session.scalar(select(NasClient.secret_sealed))
        assert sealed is not None and box.open(sealed) == "tiny-secret"
