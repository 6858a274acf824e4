"""One migration branch per domain, and today's stores (the single chain at 0019) carried
over without loss, on SQLite and PostgreSQL (docs/architecture.md, "Migrations")."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Engine, MetaData, event, func, inspect, select, table, text

from citynet import backup as backups
from citynet import migrate, staff
from citynet.config import Config
from citynet.crypto import SecretBox, sealed_columns
from citynet.db import Store
from citynet.errors import StoreError
from citynet.schema import all_tables
from citynet.staffcli import demo_admin
from inventory.demo import DEMO_NAS, DEMO_NAS_SECRET, DEMO_UAM_SECRET, raw_rows
from inventory.importer import import_rows
from inventory.models import NasClient
from radius import vouchers
from tests.support import CITYNET

# the branches that stand for 0019 (a store at 0019 is restamped to their first revisions)
AT_0019 = {"kernel", "inventory", "radius", "portal", "monitoring", "devices"}
BRANCHES = AT_0019 | {"admission"}  # and the domains that came after


# --- what a schema is, by reflection ------------------------------------------------

def schema(engine: Engine) -> dict[str, Any]:
    """Every table as the database describes it: columns in order with type, nullability,
    default and autoincrement; primary key, indexes, unique and check constraints, and
    foreign keys with their names. alembic_version is Alembic's, not the schema."""
    inspector = inspect(engine)
    found: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        primary = inspector.get_pk_constraint(name)
        found[name] = {
            "columns": [(c["name"], repr(c["type"]), c["nullable"], c.get("default"),
                         c.get("autoincrement")) for c in inspector.get_columns(name)],
            "primary key": (primary.get("name"), primary["constrained_columns"]),
            "indexes": sorted((i["name"], i["column_names"], i["unique"])
                              for i in inspector.get_indexes(name)),
            "uniques": sorted((u["name"], u["column_names"])
                              for u in inspector.get_unique_constraints(name)),
            "checks": sorted((c["name"], " ".join(c["sqltext"].split()))
                             for c in inspector.get_check_constraints(name)),
            "foreign keys": sorted(
                (f["name"], f["constrained_columns"], f["referred_table"],
                 f["referred_columns"], sorted(f["options"].items()))
                for f in inspector.get_foreign_keys(name)),
        }
    return found


def differences(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """What differs between two schemas, table by table and aspect by aspect."""
    found = [f"table {name}: only on one side"
             for name in sorted(set(left) ^ set(right))]
    for name in sorted(set(left) & set(right)):
        found += [f"{name} {aspect}: {left[name][aspect]} != {right[name][aspect]}"
                  for aspect in left[name] if left[name][aspect] != right[name][aspect]]
    return found


def at_0019(store: Store) -> None:
    """Today's schema: the frozen single chain, 0001 to 0019."""
    command.upgrade(migrate.settings(store.engine, legacy=True), "0019")


# --- stores ------------------------------------------------------------------------

@pytest.fixture
def make_store(backend_config: Config, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    """New, empty stores on the backend of ``backend_config`` (closed afterwards)."""
    made: list[Store] = []

    def make() -> Store:
        if backend_config.database.url:
            url = request.getfixturevalue("new_pg_database")()
        else:
            url = f"sqlite:///{tmp_path}/store-{len(made)}.db"
        made.append(Store(url))
        return made[-1]

    yield make
    for store in made:
        store.close()


def seed_demo(store: Store, box: SecretBox, make_store: Callable[[], Store]) -> None:
    """What `citynet demo` puts in a store, plus a voucher batch and an enrolled admin:
    written by today's models into a new store, then copied into ``store`` column by
    column (a store at 0019 lacks the columns added since)."""
    source = make_store()
    source.upgrade()
    with source.session() as session:
        outcome = import_rows(session, raw_rows(), box)
        assert not outcome.problems
        assert demo_admin(session) is not None
        vouchers.create(session, 5, minutes=60, devices=2, batch="upgrade", valid_days=30)
        staff.enrol_totp(session, staff.get(session, "admin"), box)
    copy_rows(source, store)


def copy_rows(source: Store, target: Store) -> None:
    """Every row of the target's tables, from the source's columns of the same names."""
    tables = MetaData()
    tables.reflect(target.engine)
    with source.engine.connect() as read, target.engine.begin() as write:
        for found in tables.sorted_tables:
            if found.name == "alembic_version":
                continue
            present = {c["name"] for c in inspect(read).get_columns(found.name)}
            names = [c.name for c in found.columns if c.name in present]
            rows = read.execute(select(*[found.c[n] for n in names])).mappings().all()
            if rows:
                write.execute(found.insert(), [dict(row) for row in rows])


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in inspect(conn).get_table_names() if name != "alembic_version"}


def kept(after: dict[str, int], before: dict[str, int]) -> bool:
    """Every table's rows as they were; a table added since is empty."""
    return ({name: after[name] for name in before} == before
            and not any(after[name] for name in after.keys() - before.keys()))


def sealed(store: Store) -> dict[str, list[str]]:
    """Every sealed value, as stored (tokens, not plaintext), by table.column; a column
    with none (one added since 0019) is left out."""
    with store.engine.connect() as conn:
        present = {(name, c["name"]) for name in inspect(conn).get_table_names()
                   for c in inspect(conn).get_columns(name)}
        return {f"{name}.{column}": sorted(
                    value for value in conn.execute(text(
                        f"SELECT {column} FROM {name}")).scalars() if value is not None)
                for name, column in sealed_columns() if (name, column) in present
                and conn.execute(text(f"SELECT count({column}) FROM {name}")).scalar_one()}


# --- the tests ---------------------------------------------------------------------

def at_squash_point(store: Store) -> None:
    """Every branch at its first revision, the one that stands for 0019 (later revisions
    of a branch change the schema on purpose)."""
    for branch in sorted(AT_0019):
        command.upgrade(migrate.settings(store.engine), f"{branch}_0001")


def test_the_branches_build_exactly_what_0019_built(make_store: Callable[[], Store]) -> None:
    today, branched = make_store(), make_store()
    at_0019(today)
    at_squash_point(branched)
    assert differences(schema(today.engine), schema(branched.engine)) == []
    assert {branch.name for branch in branched.branches()} == BRANCHES
    # the comparison bites: a store one branch short differs in that branch's tables
    command.downgrade(migrate.settings(branched.engine), "portal@base")
    assert {line.split()[1] for line in differences(schema(today.engine),
                                                     schema(branched.engine))} == {
        "portal_consent:", "portal_merchant:", "portal_sms_code:", "portal_sms_send:",
        "portal_totp:"}


def test_todays_store_with_the_demo_upgrades_without_loss(
        make_store: Callable[[], Store]) -> None:
    store, box = make_store(), SecretBox([SecretBox.new_key()])
    at_0019(store)
    seed_demo(store, box, make_store)
    rows, secrets = counts(store), sealed(store)
    assert sum(rows.values()) > 1000 and rows["nas_client"] and rows["voucher"] == 5
    assert secrets["nas_client.secret_sealed"] and secrets["staff_user.totp_sealed"]
    with pytest.raises(StoreError, match="at revision 0019, from before each domain had its "
                                         "own migrations: run `citynet db upgrade`"):
        store.ensure_current()

    assert store.upgrade() == ("0019", store.head_revision())

    store.ensure_current()
    assert kept(counts(store), rows)
    assert sealed(store) == secrets
    fresh = make_store()
    fresh.upgrade()
    assert differences(schema(fresh.engine), schema(store.engine)) == []  # as a new store
    with store.session() as session:  # the app still opens what it sealed
        nas = session.scalars(select(NasClient).where(NasClient.name == DEMO_NAS)).one()
        assert box.open(nas.secret_sealed) == DEMO_NAS_SECRET
        assert nas.uam_secret_sealed and box.open(nas.uam_secret_sealed) == DEMO_UAM_SECRET
        admin = staff.get(session, "admin")
        assert admin.totp_sealed and len(box.open(admin.totp_sealed)) >= 16


def test_a_store_older_than_0019_takes_the_frozen_chain_first(
        make_store: Callable[[], Store]) -> None:
    older, fresh = make_store(), make_store()
    command.upgrade(migrate.settings(older.engine, legacy=True), "0012")
    with older.session() as session:
        vouchers.create(session, 3, minutes=60, devices=1, batch="old", valid_days=30)
    before, after = older.upgrade()
    assert before == "0012" and after == older.head_revision()
    older.ensure_current()
    fresh.upgrade()
    assert differences(schema(fresh.engine), schema(older.engine)) == []
    assert counts(older)["voucher"] == 3


def test_a_fresh_store_matches_the_models_and_upgrading_again_changes_nothing(
        make_store: Callable[[], Store]) -> None:
    store = make_store()
    before, after = store.upgrade()
    assert before is None and after == store.head_revision()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, all_tables()) == []
    built = schema(store.engine)
    assert store.upgrade() == (after, after)
    assert schema(store.engine) == built
    assert [(b.current, b.head) for b in store.branches()] == [
        (b.head, b.head) for b in store.branches()]


def test_only_a_store_at_0019_is_restamped(make_store: Callable[[], Store]) -> None:
    store = make_store()
    command.upgrade(migrate.settings(store.engine, legacy=True), "0018")
    with pytest.raises(CommandError, match="only a store at 0019 is restamped"):
        migrate.bridge(store.engine)
    assert store.current_revision() == "0018"
    command.upgrade(migrate.settings(store.engine, legacy=True), "0019")
    assert sorted(migrate.bridge(store.engine)) == sorted(f"{b}_0001" for b in AT_0019)
    store.upgrade()  # from the squash point to each branch's head
    store.ensure_current()


def test_the_db_commands_show_each_branch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env["CITYNET_DATA_DIR"] = str(tmp_path / "var")

    def cli(*args: str) -> str:
        done = subprocess.run([CITYNET, "db", *args], capture_output=True, text=True, env=env,
                              timeout=120, check=True)
        return done.stdout

    store = Store(f"sqlite:///{tmp_path}/var/citynet.sqlite3")
    try:
        at_0019(store)
        assert "revision: 0019 of the single chain (run `citynet db upgrade`)" in cli("current")
        upgraded = cli("upgrade")
        assert "from revision 0019 of the single chain" in upgraded
        assert any(line.startswith("  radius       0019 → radius_")
                   for line in upgraded.splitlines())
        assert "is up to date" in cli("upgrade")
        rows = [line.split() for line in cli("current").splitlines()[1:]]
        assert rows[0] == ["branch", "revision", "needed"]
        assert {row[0] for row in rows[1:]} == BRANCHES
        assert all(row[1] == row[2] for row in rows[1:])
        store.ensure_current()
    finally:
        store.close()


def test_a_backup_taken_at_0019_restores_and_asks_for_the_upgrade(
        make_store: Callable[[], Store], tmp_path: Path) -> None:
    old, target = make_store(), make_store()
    at_0019(old)
    seed_demo(old, SecretBox([SecretBox.new_key()]), make_store)
    assert backups.backup(old, tmp_path / "backup").schema_revision == "0019"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env["CITYNET_DATA_DIR"] = str(tmp_path / "var")
    env["CITYNET_DATABASE__URL"] = target.url.render_as_string(hide_password=False).replace(
        "+psycopg", "")

    def cli(*args: str) -> str:
        return subprocess.run([CITYNET, *args], capture_output=True, text=True, env=env,
                              timeout=300, check=True).stdout

    restored = cli("restore", "--from", str(tmp_path / "backup"), "--yes")
    assert "the backup's schema is older than this citynet: run `citynet db upgrade`" in restored
    cli("db", "upgrade")
    target.ensure_current()
    assert kept(counts(target), counts(old))
    assert sealed(target) == sealed(old)


@pytest.mark.postgres
def test_postgresql_builds_the_session_address_index_concurrently_and_anew(
        new_pg_database: Callable[[], str]) -> None:
    """radius_0004 must not lock radius_session against accounting writes while it builds
    (CREATE INDEX CONCURRENTLY, outside the upgrade's transaction), and an earlier build
    that was interrupted — an invalid index of that name — is built again, valid."""
    store = Store(new_pg_database())
    try:
        command.upgrade(migrate.settings(store.engine), "radius_0003")
        now = "2026-12-07 12:00:00+00"
        with store.engine.begin() as conn:
            for session in ("a", "b"):  # one address twice: a unique build fails on it
                conn.execute(text(
                    "INSERT INTO radius_session (nas, session_id, username, identity, method,"
                    " calling_station, called_station, framed_ip, started_at, updated_at,"
                    " session_time, input_octets, output_octets, terminate_cause) VALUES"
                    " ('nas', :session, '', '', '', '', '', '10.0.0.9', :now, :now, 0, 0, 0,"
                    " '')"), {"session": session, "now": now})
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            with pytest.raises(Exception, match="could not create unique index"):
                conn.execute(text("CREATE UNIQUE INDEX CONCURRENTLY ix_radius_session_framed_ip"
                                  " ON radius_session (framed_ip)"))
        sent: list[str] = []
        event.listen(store.engine, "before_cursor_execute",
                     lambda *args: sent.append(args[2]))
        store.upgrade()
        assert any(sql.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS "
                                  "ix_radius_session_framed_ip") for sql in sent)
        with store.engine.connect() as conn:
            valid, unique = conn.execute(text(
                "SELECT indisvalid, indisunique FROM pg_index JOIN pg_class"
                " ON pg_class.oid = pg_index.indexrelid"
                " WHERE relname = 'ix_radius_session_framed_ip'")).one()
            assert (valid, unique) == (True, False)
            assert conn.execute(text("SELECT count(*) FROM radius_session")).scalar() == 2
        store.ensure_current()
    finally:
        store.close()
