"""A batch of accounting records in the store: which are new, and the live sessions they
leave (arrival order, Accounting-On/-Off, counters that only grow) — on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from citynet.db import Store
from radius.accounting import AccountingEvent, retired_id, store_batch
from radius.models import AccountingRecord, RadiusSession

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
GIGA = 1 << 32


def record(status: str, session_id: str, second: int, nas: str = "gw",
           **fields: Any) -> AccountingEvent:
    base = AccountingEvent(
        nas=nas, received_at=T0 + timedelta(seconds=second), status=status,
        session_id=session_id, username=f"user-{session_id}",
        calling_station="AA-BB-CC-DD-EE-01", called_station="AP-1:city", framed_ip="",
        session_time=0, input_octets=0, output_octets=0, terminate_cause="", delay=0)
    return replace(base, **fields)


def write(store: Store, events: list[AccountingEvent]) -> list[bool]:
    with store.session() as session:
        return store_batch(session, events, store.is_sqlite)


def sessions(store: Store) -> dict[str, RadiusSession]:
    with store.session() as session:
        return {row.session_id: row for row in session.scalars(select(RadiusSession))}


def records(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(AccountingRecord)) or 0


def at(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert write(store, []) == []
    assert records(store) == 0


def test_the_first_of_a_record_sent_twice_in_one_batch_is_the_new_one(store: Store) -> None:
    start = record("start", "a", 0)
    interim = record("interim", "a", 60, session_time=60, input_octets=10)
    # a retransmission carries a later Acct-Delay-Time, and arrives later: the same record
    retry = replace(start, received_at=at(3), delay=3)
    assert write(store, [start, interim, retry, interim]) == [True, True, False, False]
    assert records(store) == 2
    row = sessions(store)["a"]
    assert (row.started_at, row.updated_at, row.input_octets) == (at(0), at(60), 10)


def test_a_retransmission_of_a_stored_record_changes_nothing(store: Store) -> None:
    interim = record("interim", "a", 60, session_time=60, input_octets=10, output_octets=20)
    assert write(store, [interim]) == [True]
    late = replace(interim, received_at=at(90), delay=30)
    stop = record("stop", "b", 95, terminate_cause="User-Request")
    assert write(store, [late, stop]) == [False, True]
    assert records(store) == 2
    row = sessions(store)["a"]
    assert (row.updated_at, row.active_at, row.stopped_at) == (at(60), at(60), None)


def test_missing_moments_stay_empty_and_counters_past_32_bits_are_kept(store: Store) -> None:
    quiet = [record("start", name, 0) for name in ("a", "b")]  # no traffic, not stopped
    assert write(store, quiet) == [True, True]
    rows = sessions(store)
    assert {(row.active_at, row.stopped_at) for row in rows.values()} == {(None, None)}
    big = 5 * GIGA + 7
    assert write(store, [
        record("interim", "a", 60, session_time=60, input_octets=big, output_octets=GIGA),
        record("stop", "b", 61, session_time=61, terminate_cause="Idle-Timeout"),
        record("start", "c", 62, username="")]) == [True, True, True]
    rows = sessions(store)
    assert (rows["a"].input_octets, rows["a"].output_octets) == (big, GIGA)
    assert (rows["a"].active_at, rows["a"].stopped_at) == (at(60), None)
    assert (rows["b"].active_at, rows["b"].stopped_at, rows["b"].terminate_cause) == (
        None, at(61), "Idle-Timeout")
    assert (rows["c"].username, rows["c"].identity) == ("", "")
    with store.session() as session:
        assert sorted(session.scalars(select(AccountingRecord.input_octets))) == [
            0, 0, 0, 0, big]


def test_an_older_interim_never_shrinks_a_session(store: Store) -> None:
    newer = record("interim", "a", 60, session_time=600, input_octets=5000,
                   output_octets=9000, framed_ip="10.0.0.7")
    older = record("interim", "a", 70, session_time=300, input_octets=3000,
                   output_octets=4000)  # sent before `newer`, delayed on the way
    assert write(store, [newer]) == [True]
    assert write(store, [older]) == [True]
    row = sessions(store)["a"]
    assert (row.session_time, row.input_octets, row.output_octets) == (600, 5000, 9000)
    assert (row.active_at, row.updated_at, row.framed_ip) == (at(60), at(70), "10.0.0.7")
    # and the same two in one batch
    assert write(store, [replace(newer, session_id="b"), replace(older, session_id="b")]) == [
        True, True]
    row = sessions(store)["b"]
    assert (row.session_time, row.input_octets, row.output_octets) == (600, 5000, 9000)


def test_accounting_on_closes_what_its_nas_had_open_before_it(store: Store) -> None:
    on = record("on", "", 30, username="")
    told = write(store, [
        record("start", "a", 0), record("start", "b", 1), record("start", "c", 2, nas="ap"),
        on,
        # after the reboot, in the same batch: a late interim of a closed session, and a
        # new session
        record("interim", "a", 40, session_time=40, input_octets=100),
        record("start", "d", 41)])
    assert told == [True] * 6
    rows = sessions(store)
    assert (rows["a"].stopped_at, rows["a"].terminate_cause) == (at(30), "NAS-Reboot")
    assert (rows["a"].updated_at, rows["a"].input_octets) == (at(40), 100)
    assert (rows["b"].stopped_at, rows["b"].terminate_cause) == (at(30), "NAS-Reboot")
    assert rows["c"].stopped_at is None and rows["d"].stopped_at is None
    assert set(rows) == {"a", "b", "c", "d"}  # the On itself opens no session
    off = record("off", "", 50, username="")
    assert write(store, [off, replace(off, received_at=at(51), delay=1)]) == [True, False]
    assert sessions(store)["d"].stopped_at == at(50)


def test_a_start_after_a_sessions_stop_under_its_id_is_a_new_session(store: Store) -> None:
    """CoovaChilli's session id is the second and the connection's slot: a phone logged
    out and let in again by its MAC within that second gets its last session's id."""
    sms = record("start", "a", 0, username="13900139002", method="sms")
    stop = record("stop", "a", 0, username="13900139002", method="sms",
                  terminate_cause="User-Request")
    mac = record("start", "a", 0, username="02-00-67-72-F7-EE", method="mac")
    assert write(store, [sms]) == [True]
    assert write(store, [stop]) == [True]
    assert write(store, [mac]) == [True]
    rows = sessions(store)
    old = retired_id("a", at(0))
    assert set(rows) == {"a", old}
    assert (rows["a"].method, rows["a"].stopped_at) == ("mac", None)
    assert (rows[old].method, rows[old].terminate_cause) == ("sms", "User-Request")
    # the three in one batch, and the new session's own stop after them
    told = write(store, [replace(sms, session_id="b"), replace(stop, session_id="b"),
                         replace(mac, session_id="b"),
                         replace(stop, session_id="b", username=mac.username, method="mac",
                                 received_at=at(5), session_time=5)])
    assert told == [True] * 4
    rows = sessions(store)
    assert (rows["b"].method, rows["b"].stopped_at, rows["b"].session_time) == (
        "mac", at(5), 5)
    assert rows[retired_id("b", at(0))].method == "sms"


def test_a_late_start_of_a_stopped_session_is_folded_into_it(store: Store) -> None:
    """A Start that was lost, then sent again after the session's Stop, is older than the
    Stop by its Acct-Delay-Time: the same session, not a new one."""
    assert write(store, [record("stop", "a", 10, session_time=8,
                                terminate_cause="User-Request")]) == [True]
    assert write(store, [record("start", "a", 12, delay=10)]) == [True]
    rows = sessions(store)
    assert set(rows) == {"a"}
    assert (rows["a"].started_at, rows["a"].stopped_at) == (at(2), at(10))


def test_a_retired_id_keeps_within_the_column() -> None:
    long = "s" * 253
    assert len(retired_id(long, at(0))) == 253
    assert retired_id(long, at(0)) != retired_id(long, at(1))


@pytest.mark.postgres
def test_on_postgresql_a_batch_is_the_same_few_statements_whatever_its_size(
        pg_database: str, statements: list[str]) -> None:
    """The texts psycopg parses, and the round trips, do not grow with the batch."""
    store = Store(pg_database)
    try:
        store.upgrade()
        texts = []
        for size in (3, 80):
            write(store, [record("start", f"s{n}", 0) for n in range(size // 2)])
            statements.clear()
            # half of them update a stored session, half open one
            write(store, [record("interim", f"s{n}", 60 + n, input_octets=n)
                          for n in range(size)])
            texts.append([sql for sql in statements if "radius_" in sql])
        assert texts[0] == texts[1]
        assert len(texts[1]) == 4  # the records, the sessions read, updated, opened
    finally:
        store.close()
