"""Login records on several chains (docs/radius.md, "One chain per listener process"):
writers on different chains never wait for each other's commit; every chain verifies,
purges and exports on its own; a store of one chain upgrades to chain 0 unchanged."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, event, select, text, update

from citynet import migrate
from citynet.config import Config
from citynet.db import MetaEntry, Store
from radius import records
from radius.accounting import RecordWriter
from radius.decisions import Decision, ForeignLogin, LoginAttempt
from radius.records import LoginEvent, LoginRecord
from tests.support import append_to_one_chain, wait_until

WAIT = 10  # seconds: a writer still waiting after this waits for the other's commit
NOW = datetime.now(UTC).replace(microsecond=0)


def events(who: str, count: int, at: datetime = NOW) -> list[LoginEvent]:
    return [LoginEvent(at + timedelta(seconds=n), "login", "accept", f"{who}-{n}", "voucher",
                       "gw", mac="aa:bb:cc:dd:ee:01") for n in range(count)]


def on_chains(store: Store, rows: dict[int, int], at: datetime = NOW) -> None:
    """``rows[chain]`` records on each chain, one transaction each."""
    for chain_no, count in rows.items():
        with store.session() as session:
            records.append(session, events(f"c{chain_no}", count, at), chain_no)


def problems(store: Store) -> list[str]:
    with store.session() as session:
        return [str(problem) for problem in records.verify(session)[1]]


# --- two writers, two chains (the radius conftest's ``stores``) -------------------------

def waiting_for_a_lock(store: Store) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("second_chain", [1, 0])
def test_a_writer_on_another_chain_commits_while_the_first_holds_its_append(
        stores: tuple[Store, Store], second_chain: int) -> None:
    """The first writer appends on chain 0 and keeps its transaction open (as a round
    waiting for its commit's WAL flush); the second commits meanwhile on chain 1 — and,
    the case that shows the test bites, waits on chain 0 until the first commits."""
    first, second = stores
    done = threading.Event()

    def append_second() -> None:
        with second.session() as session:
            records.append(session, events("second", 3), second_chain)
        done.set()

    writer = threading.Thread(target=append_second, name="second-writer")
    with first.session() as session:
        records.append(session, events("first", 2), 0)
        writer.start()
        if second_chain:
            assert done.wait(WAIT), "the second writer waited for the first one's commit"
        else:
            wait_until(lambda: waiting_for_a_lock(first), "the second writer waiting",
                       timeout=WAIT)
            assert not done.is_set()
    writer.join(timeout=WAIT)
    assert done.is_set()
    with first.session() as session:
        assert records.verify(session) == (5, [])
        assert sorted(session.execute(select(LoginRecord.chain, LoginRecord.seq)).all()) == (
            [(0, 1), (0, 2), (1, 1), (1, 2), (1, 3)] if second_chain else
            [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)])


def test_a_record_writer_appends_to_its_chain_on_postgresql_and_to_0_on_sqlite(
        store: Store) -> None:
    login = ForeignLogin(LoginAttempt(user="u", password="p"), "gw",
                         Decision(True, {}, method="fr"))
    told: list[object] = []
    RecordWriter(store, chain_no=1).run([(login, told.append)])
    assert told == [login.decision]
    with store.session() as session:
        chains = session.scalars(select(LoginRecord.chain)).all()
        assert chains == ([0] if store.is_sqlite else [1])
        assert records.verify(session) == (1, [])


# --- verify, purge, export -------------------------------------------------------------

# chains of other listeners: node 0's second, node 1's first, node 63's 64th (the last)
FAR = [1, 64, 4095]


@pytest.mark.parametrize("far", FAR)
def test_verify_walks_every_chain(store: Store, far: int) -> None:
    on_chains(store, {0: 3, far: 4})
    with store.session() as session:
        assert records.verify(session) == (7, [])
        assert records.LEDGER.chains(session) == [0, far]


def test_verify_finds_a_tampered_row_on_the_last_chain(store: Store) -> None:
    on_chains(store, {0: 3, 64: 2, 4095: 4})
    with store.session() as session:
        session.execute(update(LoginRecord).where(LoginRecord.chain == 4095,
                                                  LoginRecord.seq == 2)
                        .values(identity="13900000000"))
        session.execute(delete(MetaEntry).where(MetaEntry.key == "chain.login_record.64.head"))
    assert problems(store) == [
        "chain 64, row 2: the chain ends at row 2 but the recorded head is row 0 "
        "(newest rows deleted)",
        "chain 4095, row 2: content does not match its hash (edited)"]


@pytest.mark.parametrize(("tamper", "found"), [
    (update(LoginRecord).where(LoginRecord.chain == 1, LoginRecord.seq == 2)
     .values(identity="13900000000"),
     ["chain 1, row 2: content does not match its hash (edited)"]),
    (delete(LoginRecord).where(LoginRecord.chain == 1, LoginRecord.seq == 2),
     ["chain 1, row 3: rows 2..2 are missing",
      "chain 1, row 3: does not link to the row before it (a row was deleted or replaced)"]),
    (delete(LoginRecord).where(LoginRecord.chain == 1, LoginRecord.seq >= 3),
     ["chain 1, row 2: the chain ends at row 2 but the recorded head is row 4 "
      "(newest rows deleted)"]),
    (delete(LoginRecord).where(LoginRecord.chain == 1),
     ["chain 1, row 0: the chain ends at row 0 but the recorded head is row 4 "
      "(newest rows deleted)"]),
    (delete(MetaEntry).where(MetaEntry.key == "chain.login_record.1.head"),
     ["chain 1, row 4: the chain ends at row 4 but the recorded head is row 0 "
      "(newest rows deleted)"]),
], ids=["edited", "middle row deleted", "newest rows deleted", "every row deleted",
        "head deleted"])
def test_verify_finds_a_tampered_row_on_a_chain_other_than_0(
        store: Store, tamper: object, found: list[str]) -> None:
    on_chains(store, {0: 3, 1: 4})
    with store.session() as session:
        session.execute(tamper)  # type: ignore[call-overload]
    assert problems(store) == found


@pytest.mark.parametrize("far", FAR)
def test_purge_removes_each_chains_old_prefix_and_every_chain_still_verifies(
        store: Store, far: int) -> None:
    old = NOW - timedelta(days=200)
    on_chains(store, {0: 2, far: 3}, at=old)
    on_chains(store, {0: 2, far: 1})
    cutoff = NOW - timedelta(days=180)
    with store.session() as session:
        assert records.past_retention(session, cutoff) == (5, old)
        assert records.purge(session, cutoff) == 5
    with store.session() as session:
        assert records.verify(session) == (3, [])
        assert sorted(session.execute(select(LoginRecord.chain, LoginRecord.seq)).all()) == [
            (0, 3), (0, 4), (far, 4)]
        assert records.purge(session, cutoff) == 0
    on_chains(store, {far: 2})  # appending goes on after the chain's base
    assert problems(store) == []


@pytest.mark.postgres
def test_a_purge_that_waited_for_another_does_not_move_the_base_back(
        stores: tuple[Store, Store]) -> None:
    """Two purges at once (the leader's hourly one and an operator's, or two cut-offs):
    the one that waited for the other's rows finds them gone, and leaves the chain's base
    where the other put it — rebased on its own last row, the base would be behind the
    rows kept and the chain would no longer verify."""
    first, second = stores
    on_chains(first, {0: 6}, at=NOW - timedelta(days=200))
    done: list[int] = []
    with first.session() as session:
        assert records.purge_prefix(session, 0, 5) == 5  # not committed: rows 1..5 held

        def other_purge() -> None:
            with second.session() as other:
                done.append(records.purge_prefix(other, 0, 3))

        thread = threading.Thread(target=other_purge)
        thread.start()
        wait_until(lambda: waiting_for_a_row(first), "the second purge to wait for the first")
    thread.join(timeout=WAIT)
    assert done == [0]
    assert problems(first) == []


def waiting_for_a_row(store: Store) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def test_what_is_past_retention_is_found_by_the_time_not_by_walking_the_chain(
        sqlite_store: Store) -> None:
    """A purge's first question, each chain's newest row past the cut-off (the leader
    asks it every hour): through the index on the time, over the old rows only. By the
    chain's key, SQLite walked back over every younger row — 180 days of them."""
    on_chains(sqlite_store, {0: 2}, at=NOW - timedelta(days=200))
    asked: list[tuple[str, Any]] = []

    def spy(_conn: object, _cursor: object, statement: str, parameters: Any,
            *_rest: object) -> None:
        if "FROM login_record" in statement and "login_record.at <" in statement:
            asked.append((statement, parameters))

    event.listen(sqlite_store.engine, "before_cursor_execute", spy)
    try:
        with sqlite_store.session() as session:
            assert records.past(session, NOW - timedelta(days=180)) == [(0, 2)]
    finally:
        event.remove(sqlite_store.engine, "before_cursor_execute", spy)
    assert asked
    with sqlite_store.engine.connect() as connection:
        for statement, parameters in asked:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                              parameters).all()
            assert "USING INDEX ix_login_record_at (at<?)" in " ".join(str(r[-1]) for r in plan)


@pytest.mark.parametrize("far", FAR)
def test_export_goes_by_time_across_chains_and_stops_at_what_was_counted(
        store: Store, far: int) -> None:
    with store.session() as session:
        records.append(session, events("a", 2, NOW), far)
        records.append(session, events("b", 2, NOW + timedelta(seconds=1)), 0)
    with store.session() as session:
        counted, last = records.count(session, [])
        assert (counted, last) == (4, {0: 2, far: 2})
    on_chains(store, {0: 1, far: 1}, at=NOW + timedelta(minutes=1))  # after the count
    with store.session() as session:
        rows = [records.export_row(r) for r in records.export(session, [], last)]
        found = records.search(session, since=NOW, limit=3)
    assert [(row["chain"], row["seq"], row["identity"]) for row in rows] == [
        (far, 1, "a-0"), (0, 1, "b-0"), (far, 2, "a-1"), (0, 2, "b-1")]
    assert list(rows[0])[:2] == ["chain", "seq"]  # the CSV's first columns
    assert [(r.chain, r.seq) for r in found] == [(far, 1), (0, 1), (far, 2)]


# --- who writes a chain ---------------------------------------------------------------

def test_a_chain_last_written_from_another_host_is_named(store: Store) -> None:
    """Two nodes given one radius.node: the second to start hears of the first."""
    with store.session() as session:
        assert records.note_writer(session, 64, "site1") is None  # the first
    with store.session() as session:
        assert records.note_writer(session, 64, "site1") is None  # a restart
        assert records.note_writer(session, 65, "site2") is None  # another chain
    with store.session() as session:
        assert records.note_writer(session, 64, "site2") == "site1"
    with store.session() as session:
        assert records.note_writer(session, 64, "site2") is None
        assert records.LEDGER.chains(session) == [0]  # a note is no chain


# --- from one chain ------------------------------------------------------------------

def test_a_store_of_one_chain_upgrades_to_chain_0_and_still_verifies(
        backend_config: Config) -> None:
    store = Store.from_config(backend_config)
    try:
        store.upgrade()
        settings = migrate.settings(store.engine)
        command.downgrade(settings, "radius_0002")  # the head before several chains
        with store.session() as session:
            append_to_one_chain(session, events("old", 3))
        command.upgrade(settings, "heads")
        store.ensure_current()
        with store.session() as session:
            assert records.verify(session) == (3, [])
            assert session.scalars(select(LoginRecord.chain).distinct()).all() == [0]
        on_chains(store, {0: 1, 1: 2})
        with store.session() as session:
            assert records.verify(session) == (6, [])
        # back to one chain only while every record is on chain 0
        with pytest.raises(RuntimeError, match="2 login records are on chains other than 0"):
            command.downgrade(settings, "radius_0002")
    finally:
        store.close()


def test_a_check_beside_the_leaders_purge_sees_one_moment(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """`citynet audit verify` reads a chain's base, then its rows; the leader's purge may
    commit a batch in between (another connection). In a snapshot the check sees the
    chain as it was; read statement by statement it saw rows gone under the old base."""
    from citynet import ledger

    read = ledger.get_meta

    def purge_between(session: Any, key: str) -> str | None:
        value = read(session, key)
        if key.endswith("base") and not purged:  # the base read, then a batch commits
            purged.append(True)
            with store.session() as other:
                records.purge_prefix(other, 0, upto[0])
        return value

    monkeypatch.setattr(ledger, "get_meta", purge_between)
    on_chains(store, {0: 6})
    purged: list[bool] = []
    upto = [3]
    with store.snapshot() as session:
        assert records.verify(session) == (6, [])
    assert purged  # the purge did run inside the check
    on_chains(store, {0: 6})  # rows 4-12 now
    purged.clear()
    upto[0] = 9
    with store.session() as session:  # statement by statement: a false break
        assert records.verify(session)[1] != []
