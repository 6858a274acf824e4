"""The store on SQLite and PostgreSQL: migrations, refusing a schema that is behind."""

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from citynet import db, migrate
from citynet.config import Config
from citynet.db import Store, get_meta, set_meta
from citynet.errors import StoreError
from tests.support import free_port


def test_upgrade_creates_the_schema_and_is_idempotent(backend_config: Config) -> None:
    store = Store.from_config(backend_config)
    try:
        with pytest.raises(StoreError, match="has no citynet schema yet: run `citynet db upgrade`"):
            store.ensure_current()
        before, after = store.upgrade()
        assert before is None and after == store.head_revision()
        store.ensure_current()
        assert store.upgrade() == (after, after)
        with store.session() as session:
            set_meta(session, "k", "v")
        with store.session() as session:
            assert get_meta(session, "k") == "v"
    finally:
        store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_a_database_behind_the_code_is_refused(backend_config: Config, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.from_config(backend_config)
    try:
        store.upgrade()
        # A newer citynet: the shipped migrations plus one more on the devices branch.
        newer = tmp_path / "newer"
        newer.mkdir()
        current = store.current_revision()
        (newer / "9999_next.py").write_text(
            'revision = "9999"\ndown_revision = "devices_0001"\nbranch_labels = None\n'
            "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
        shipped = migrate.migration_dirs()
        monkeypatch.setattr(migrate, "migration_dirs", lambda: [*shipped, newer])
        needed = store.head_revision()
        assert "9999" in needed.split(",") and "devices_0001" not in needed.split(",")
        assert [(b.current, b.head) for b in store.branches() if b.name == "devices"] == [
            ("devices_0001", "9999")]  # a later revision belongs to its branch
        with pytest.raises(StoreError, match=f"is at revision {current} but this citynet "
                                             f"needs {needed}: run `citynet db upgrade`"):
            store.ensure_current()
        assert store.upgrade() == (current, needed)
        store.ensure_current()
        monkeypatch.undo()
        with pytest.raises(StoreError, match="revision 9999, which this citynet does not know"):
            store.ensure_current()
    finally:
        store.close()


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/none",
                                 "postgresql://nobody@127.0.0.1:1,127.0.0.1:2/none"])
def test_unreachable_database_is_a_clear_error(tmp_path: Path, url: str) -> None:
    """Named by its key, as a config error is (a multi-host URL: each host's reason)."""
    store = Store(url)
    with pytest.raises(StoreError, match=r"^database\.url: cannot open the database postgresql"):
        store.current_revision()


def test_moments_come_back_aware_and_in_utc(store: Store) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from radius.remembered import RememberedDevice

    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 27, 1, 30, tzinfo=shanghai)  # 2026-11-26 17:30 UTC
    with store.session() as session:
        session.add(RememberedDevice(mac="aa:bb:cc:dd:ee:01", identity="13800138000",
                                     created_at=at, expires_at=at + timedelta(days=7)))
    with store.session() as session:
        [stored] = session.scalars(select(RememberedDevice.created_at)).all()
    assert stored == at and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 11, 26, 17, 30, tzinfo=UTC)


def test_exclusive_is_held_once_per_transaction_and_taken_again_in_the_next(
        sqlite_store: Store) -> None:
    """Taking the same lock twice in one transaction is one lock; a later transaction
    must take it again (SQLite: the write lock, which another connection then lacks)."""
    import sqlite3

    database = str(sqlite_store.url.database)

    def someone_else_can_write() -> bool:
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            other.close()

    for _transaction in range(2):
        with sqlite_store.session() as session:
            db.exclusive(session, "ledger.x")
            db.exclusive(session, "ledger.x")  # again: harmless
            assert not someone_else_can_write()
        assert someone_else_can_write()


def test_a_statement_commits_by_itself_and_holds_no_write_lock_after(store: Store) -> None:
    """``Store.statement``: one write, committed in the one call that made it — nothing
    left open that would keep another writer (the RADIUS listener) waiting."""
    with store.statement() as connection:
        connection.execute(text("INSERT INTO citynet_meta (key, value) VALUES ('a', '1')"))
        with store.session() as other:  # another connection writes while this one is open
            set_meta(other, "b", "2")
        connection.execute(text("INSERT INTO citynet_meta (key, value) VALUES ('c', '3')"))
    with store.session() as session:
        assert [get_meta(session, key) for key in "abc"] == ["1", "2", "3"]
    with pytest.raises(IntegrityError), store.statement() as connection:
        connection.execute(text("INSERT INTO citynet_meta (key, value) VALUES ('a', 'again')"))
    with store.session() as session:
        assert get_meta(session, "a") == "1"


def test_reading_sees_commits_and_keeps_no_transaction(store: Store) -> None:
    """``Store.reading``: a prebuilt statement's read without an ORM session (the PEAP
    lookup's way), each read seeing what was committed before it, no transaction left
    open once the block ends. On SQLite the thread keeps its connection (one, the same
    for every read); on PostgreSQL it goes back to the pool."""
    value = db.DriverStatement(select(db.MetaEntry.value).where(
        db.MetaEntry.key == bindparam("key")))
    used = []
    for written in ("1", "2"):
        with store.session() as session:
            set_meta(session, "k", written)
        with store.reading() as connection:
            assert value.first(connection, {"key": "k"}) == (written,)
            with store.statement() as writer:  # the read holds no lock a write waits for
                writer.execute(text("UPDATE citynet_meta SET value = 'x' WHERE key = 'k'"))
            used.append(connection)
        assert not connection.in_transaction()
        kept = 1 if store.is_sqlite else 0
        assert store.engine.pool.checkedout() == kept  # type: ignore[attr-defined]
    assert (used[0] is used[1]) == store.is_sqlite
    store.close()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_pinned_sqlite_connection_is_the_thread_s_and_ends_every_driver_transaction(
        sqlite_store: Store) -> None:
    """``Store.pinned`` on SQLite: each thread its own connection, kept across blocks;
    whatever the driver began in a block is rolled back after it (a read's snapshot kept
    would hide later commits: a person disabled since would still log in), unless the
    block sits inside a transaction begun on it outside."""
    with sqlite_store.pinned() as first:
        driver: Any = first.connection.driver_connection
        driver.execute("BEGIN")
        driver.execute("SELECT count(*) FROM citynet_meta").fetchone()
        assert driver.in_transaction
    assert not driver.in_transaction
    with sqlite_store.pinned() as again, again.begin():
        assert again is first
        with sqlite_store.reading() as alone:  # inside the round's transaction: not it
            assert alone is not first
        assert again.in_transaction()
    others: list[object] = []
    thread = threading.Thread(target=lambda: others.append(sqlite_store.pinned().__enter__()))
    thread.start()
    thread.join(timeout=30)
    assert others and others[0] is not first
    sqlite_store.close()
    assert first.closed
    assert sqlite_store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_a_libpq_multi_host_url_skips_a_dead_first_host(pg_database: str) -> None:
    """The Patroni spelling: libpq tries each host in turn; the first (a port nothing
    listens on) refuses, the second (the real server) takes the connection."""
    real = make_url(pg_database)
    closed = free_port()  # free now: nothing listens there
    url = (f"postgresql://{real.username}@127.0.0.1:{closed},{real.host}:{real.port}"
           f"/{real.database}?target_session_attrs=read-write&connect_timeout=5")
    store = Store(url)
    try:
        store.upgrade()
        store.ensure_current()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT inet_server_port()")).scalar() == real.port
    finally:
        store.close()


def test_a_connection_lost_and_the_reconnect_are_counted(pg_database: str) -> None:
    """What a failover looks like in /metrics: a pooled connection found dead (the
    server ended it), thrown away, and a new one opened."""
    from prometheus_client import REGISTRY

    from tests.conftest import _admin

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    store = Store(pg_database)
    try:
        with store.session() as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        lost, connects = value("citynet_db_connections_lost_total"), value(
            "citynet_db_connects_total")
        with _admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with store.session() as session:  # the pool's check finds it dead
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        assert value("citynet_db_connections_lost_total") - lost == 1
        assert value("citynet_db_connects_total") - connects == 1
    finally:
        store.close()


def test_one_dead_connection_found_throws_away_the_pools_older_ones(
        pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failover ends every connection of the pool: the first check that finds one dead
    throws all that were opened before it away, as SQLAlchemy's pre-ping did, so the next
    check-outs open new connections rather than each failing a check of its own."""
    from citynet import db
    from tests.conftest import _admin

    store = Store(pg_database)
    try:
        held = [store.engine.connect() for _ in range(3)]  # three pooled connections
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in held]
        for connection in held:
            connection.close()
        with _admin() as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        failed: list[bool] = []
        check = db._answers

        def counted(driver: object, begin: bool) -> None:
            try:
                check(driver, begin)
            except Exception:
                failed.append(True)
                raise
        monkeypatch.setattr(db, "_answers", counted)
        held = [store.engine.connect() for _ in range(3)]
        assert [c.execute(text("SELECT 1")).scalar_one() for c in held] == [1, 1, 1]
        for connection in held:
            connection.close()
        assert failed == [True]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_connection_left_mid_statement_is_thrown_away_and_replaced(
        pg_database: str, caplog: pytest.LogCaptureFixture) -> None:
    """psycopg keeps a connection whose socket failed under a statement ("connection
    socket closed") as alive, in the middle of that statement for good. Here one is left
    so by hand (a query sent, its answer never read): the pool's check must throw it away
    and open another, not fail the caller; and a statement on such a connection fails as
    the store's error (the round is retried) with the connection thrown away, through
    SQLAlchemy or a :class:`DriverStatement`."""
    from prometheus_client import REGISTRY

    def lost() -> float:
        return REGISTRY.get_sample_value("citynet_db_connections_lost_total") or 0.0

    def leave_mid_statement(driver: Any) -> None:
        driver.pgconn.send_query(b"SELECT 1")

    def in_a_session_left_mid_statement(work: Callable[[Session], object]) -> None:
        with store.session() as session:
            leave_mid_statement(session.connection().connection.driver_connection)
            work(session)

    store = Store(pg_database)
    try:
        with store.engine.connect() as connection:
            pooled = connection.connection.driver_connection
        before = lost()
        leave_mid_statement(pooled)  # while it waits in the pool
        with store.session() as session:  # the pool's check finds it
            assert session.execute(text("SELECT 2")).scalar_one() == 2
        assert lost() - before == 1
        with pytest.raises(OperationalError) as failed:
            in_a_session_left_mid_statement(lambda session: session.execute(text("SELECT 3")))
        assert failed.value.connection_invalidated and lost() - before == 2
        four = db.DriverStatement(select(literal(4)))  # the RADIUS hot path's way
        with pytest.raises(OperationalError) as failed:
            in_a_session_left_mid_statement(lambda session: four.first(session, {}))
        # its own error (not a failed ROLLBACK's after it, which names no statement)
        assert failed.value.statement is not None
        assert failed.value.connection_invalidated and lost() - before == 3
        with store.session() as session:
            assert four.first(session, {}) == (4,)
        # thrown away when found, not left for the pool to fail to reset (an ERROR line)
        assert [record.getMessage() for record in caplog.records
                if record.levelno >= logging.ERROR] == []
    finally:
        store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("through", ["core", "orm"])
def test_a_statement_through_sqlalchemy_inside_a_pipeline_is_refused(
        pg_database: str, through: str) -> None:
    """SQLAlchemy reads a result at once, which a pipeline gives only later (its rows
    would silently be none): refused with an error that says so, the unit of work rolled
    back, and the store serving the next one."""
    def through_sqlalchemy(session: Session) -> object:
        if through == "core":
            return session.execute(text("SELECT 1")).scalar_one()
        return session.get(db.MetaEntry, "nothing")

    store = Store(pg_database)
    try:
        store.upgrade()
        with (pytest.raises(RuntimeError, match=r"inside citynet\.db\.pipelined"),
              store.session() as session, db.pipelined(session)):
            through_sqlalchemy(session)
        with store.session() as session:
            assert session.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        store.close()


@pytest.mark.postgres
def test_a_column_statement_takes_whole_columns_nulls_and_all(pg_database: str) -> None:
    """A batch as one array per column: NULLs inside an array and a column of NULLs
    only, integers past 32 bits, aware moments, an empty batch; a text too long for its
    column refused (as a row of its own would be), not cut by the array's type."""
    from datetime import UTC, datetime

    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table
    from sqlalchemy.exc import DataError

    things = Table("things", MetaData(), Column("id", Integer, primary_key=True),
                   Column("name", String(4)), Column("size", BigInteger),
                   Column("seen_at", db.UtcDateTime(), nullable=True),
                   Column("gone_at", db.UtcDateTime(), nullable=True))
    names = ("name", "size", "seen_at", "gone_at")
    add = db.ColumnStatement.insert(things, names, "RETURNING id")
    rename = db.ColumnStatement.update(things, "id", ("name", "gone_at"))
    find = db.ColumnStatement.select(things, ("name",))
    at = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    store = Store(pg_database)
    try:
        things.create(store.engine)
        with store.session() as session:
            ids = [row[0] for row in add.all(session, {
                "name": ["a", "b", "c"], "size": [1, 5 << 32, None],
                "seen_at": [at, None, at], "gone_at": [None, None, None]})]
            assert add.all(session, {name: [] for name in names}) == []
            rename.run(session, {"id": ids[:2], "name": ["A", "B"], "gone_at": [at, None]})
        with store.session() as session:
            assert sorted(find.all(session, {"name": ["A", "B", "c", "zz"]})) == [
                (ids[0], "A", 1, at, at), (ids[1], "B", 5 << 32, None, None),
                (ids[2], "c", None, at, None)]
        with pytest.raises(DataError), store.session() as session:
            add.run(session, {"name": ["toolong"], "size": [1], "seen_at": [at],
                              "gone_at": [at]})
    finally:
        store.close()


def test_a_column_statement_is_for_postgresql_only(sqlite_store: Store) -> None:
    things = db.table(db.MetaEntry)
    with pytest.raises(TypeError), sqlite_store.session() as session:
        db.ColumnStatement.select(things, ("key",)).all(session, {"key": ["a"]})


def test_a_driver_statement_run_for_each_row_says_what_each_run_did(store: Store) -> None:
    """``each``: an INSERT … ON CONFLICT DO NOTHING once per row, and which rows it
    inserted (a key stored before, or earlier in the same call, is not); ``first_of_each``:
    a read by key once per key, None where nothing is stored, values converted by their
    columns' types (aware moments, booleans) — SQLite's way of RETURNING and IN."""
    from datetime import UTC, datetime

    from sqlalchemy import Boolean, Column, MetaData, String, Table
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    claims = Table("claims", MetaData(), Column("key", String(8), primary_key=True),
                   Column("at", db.UtcDateTime()), Column("taken", Boolean))
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    insert = sqlite_insert if store.is_sqlite else pg_insert
    claim = db.DriverStatement(insert(claims).on_conflict_do_nothing(index_elements=["key"]),
                               ["key", "at", "taken"])
    find = db.DriverStatement(select(claims.c.at, claims.c.taken).where(
        claims.c.key == bindparam("key")))
    claims.create(store.engine)
    with store.session() as session:
        claim.many(session, [{"key": "old", "at": at, "taken": False}])
    with store.session() as session:
        assert claim.each(session, [{"key": key, "at": at, "taken": True}
                                    for key in ("a", "old", "b", "a")]) == [1, 0, 1, 0]
        assert claim.each(session, []) == []
    with store.session() as session:
        found = find.first_of_each(session, [{"key": key} for key in ("old", "zz", "b")])
        assert found == [(at, False), None, (at, True)]
        assert all(isinstance(row[1], bool) for row in found if row is not None)
        assert find.first_of_each(session, []) == []


def test_a_transactions_connection_is_asked_for_once_and_not_kept_past_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``connection_of``: the statements of one transaction ask the session for its
    connection once (a RADIUS round runs a dozen on the driver); the session's next
    transaction, after a commit or a rollback, is given its own — a write made on it is
    the new transaction's, undone with it."""
    asked: list[Session] = []
    real = Session.connection

    def counted(self: Session, *args: Any, **kwargs: Any) -> Any:
        asked.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Session, "connection", counted)
    with Session(store.engine) as session:
        first = db.connection_of(session)
        assert db.connection_of(session) is first and len(asked) == 1
        set_meta(session, "kept", "1")
        session.commit()
        second = db.connection_of(session)
        assert second is not first and len(asked) == 2
        assert db.connection_of(session) is second
        second.execute(text("DELETE FROM citynet_meta WHERE key = 'kept'"))
        session.rollback()
        assert db.connection_of(session) is not second
        assert get_meta(session, "kept") == "1"


def test_on_sqlite_the_write_lock_begins_the_transaction_or_is_a_write_within_it(
        sqlite_store: Store) -> None:
    """``exclusive`` on SQLite: a transaction that has written nothing yet begins holding
    the write lock (BEGIN IMMEDIATE, one call, no write); one that has written already
    takes it by a write that changes nothing. Either way the lock is held to the end."""
    traced: list[str] = []
    for wrote_first in (False, True):
        with sqlite_store.session() as session:
            if wrote_first:
                set_meta(session, "before", "1")
                session.flush()
            driver: Any = db.connection_of(session).connection.driver_connection
            driver.set_trace_callback(traced.append)
            try:
                db.exclusive(session, "ledger.x")
                db.exclusive(session, "ledger.x")
            finally:
                driver.set_trace_callback(None)
        if not wrote_first:
            assert traced == ["BEGIN IMMEDIATE"]
        else:
            assert len(traced) == 1 and traced[0].startswith("UPDATE citynet_meta")
        traced.clear()
    with sqlite_store.session() as session:
        assert get_meta(session, "before") == "1"


@pytest.mark.postgres
def test_on_postgresql_exclusive_holds_the_names_advisory_lock_to_the_end(
        pg_database: str) -> None:
    """``exclusive`` on PostgreSQL: the name's transaction-scoped advisory lock (by 64
    bits of its SHA-256), which another transaction cannot take until this one ends."""
    import hashlib

    import psycopg

    key = int.from_bytes(hashlib.sha256(b"ledger.x").digest()[:8], "big", signed=True)
    store = Store(pg_database)
    try:
        with psycopg.connect(pg_database, autocommit=True) as other:
            def other_can_take() -> bool:
                taken = other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if taken and taken[0]:
                    other.execute("SELECT pg_advisory_unlock(%s)", (key,))
                return bool(taken and taken[0])

            with store.session() as session:
                db.exclusive(session, "ledger.x")
                db.exclusive(session, "ledger.x")
                assert not other_can_take()
            assert other_can_take()
    finally:
        store.close()


def test_a_unit_of_work_committed_tells_the_failures_held_back(
        sqlite_store: Store, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The web and the NAS registry write through :meth:`Store.session`: a commit there,
    once the cause's minute is up, tells what an outage shorter than a minute cost; a
    unit of work that failed tells nothing."""
    from citynet import logs

    clock = [0.0]
    monkeypatch.setattr(logs, "STORE_FAILURES", logs.Throttle(60, lambda: clock[0]))
    log = logging.getLogger("citynet.test")
    refused = OperationalError("SELECT 1", None, Exception("connection refused"))
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            logs.store_failed(log, "web GET /portal/ not served", refused)
        clock[0] += 61
        with pytest.raises(RuntimeError), sqlite_store.session():
            raise RuntimeError("rolled back")
        assert len(caplog.records) == 1
        with sqlite_store.session() as session:
            set_meta(session, "probe", "1")
    told = caplog.records[-1]
    assert (told.name, told.levelname) == ("citynet.db", "WARNING")
    assert told.getMessage().startswith("the store works again; it had failed: Exception: "
                                        "connection refused (4× since its last line")


@pytest.mark.parametrize(("url", "hosts"), [
    ("postgresql://citynet@db1:5433,[fd00::11]/citynet", [("db1", 5433), ("fd00::11", 5432)]),
    ("postgresql://citynet@db1,db2:6432/citynet", [("db1", 5432), ("db2", 6432)]),
    ("postgresql+psycopg://citynet@/citynet?host=db1:5432&host=db2:6432",
     [("db1", 5432), ("db2", 6432)]),
    ("postgresql://citynet@db1:5432/citynet", []),
    ("postgresql://citynet@/citynet?host=/var/run/postgresql", []),
    ("sqlite:////var/lib/citynet/citynet.sqlite3", []),
])
def test_the_hosts_of_a_multi_host_url(url: str, hosts: list[tuple[str, int]]) -> None:
    assert db.listed_hosts(db.sqlalchemy_url(url)) == hosts


def test_a_listed_host_that_does_not_answer_is_warned_of_at_start_up(
        caplog: pytest.LogCaptureFixture) -> None:
    """A typo or a node down in the host list: citynet starts on the others (libpq skips
    it), but says which host it could not fail over to, naming the key."""
    import socket

    with socket.socket() as answering:
        answering.bind(("127.0.0.1", 0))
        answering.listen()
        up, down = answering.getsockname()[1], free_port()
        with caplog.at_level(logging.WARNING, logger="citynet.db"):
            db.warn_about_unanswered_hosts(
                f"postgresql://citynet@127.0.0.1:{down},127.0.0.1:{up}/citynet"
                "?target_session_attrs=read-write")
    assert [record.getMessage() for record in caplog.records] == [
        f"config: database.url: host 127.0.0.1:{down} does not answer (Connection refused): "
        "citynet goes on with the other hosts, but cannot fail over to this one"]
