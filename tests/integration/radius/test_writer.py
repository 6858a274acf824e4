"""The record writer decides logins and stores records in one transaction per batch: what
one caller is told, and what is left in the store, when a batch's work fails."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from alembic import command
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from citynet import migrate
from citynet.config import Config
from citynet.db import Store, _lock_key
from radius import codec, records, vouchers
from radius.accounting import AccountingEvent, Outcome, RecordWriter, event_from
from radius.decisions import Decision, ForeignLogin, Login, LoginAttempt
from radius.models import AccountingRecord, RadiusSession
from radius.policy import Policy
from radius.profiles import ProfileBook
from radius.records import LoginRecord
from radius.retries import DecidedRequest
from tests.fakes.roundtrips import RoundTrips
from tests.support import append_to_one_chain

NOW = datetime.now(UTC)


def attempt(user: str, password: str | None = None) -> LoginAttempt:
    return LoginAttempt(user=user, password=user if password is None else password,
                        calling_station="AA-BB-CC-DD-EE-01")


def run(writer: RecordWriter, logins: list[Login | ForeignLogin]) -> list[Outcome]:
    told: list[Outcome] = []
    writer.run([(login, told.append) for login in logins])
    return told


def logged(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(row.identity, row.result) for row in session.scalars(
            select(LoginRecord).order_by(LoginRecord.seq))]


def test_a_round_of_logins_is_decided_and_recorded_together(store: Store) -> None:
    with store.session() as session:
        [one, two] = vouchers.create(session, 2, 30, 1, "t", valid_days=1)
    policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(store))
    writer = RecordWriter(store, decide=policy.decide_in)
    told = run(writer, [Login(attempt(one.code), "gw"), Login(attempt(two.code, "no"), "gw"),
                        Login(attempt("ZZZZZZZZZZ"), "gw")])
    assert [(d.accept, d.reason) for d in told if isinstance(d, Decision)] == [
        (True, ""), (False, "wrong password"), (False, "unknown voucher")]
    assert logged(store) == [(one.code, "accept"), (two.code, "wrong password"),
                             ("ZZZZZZZZZZ", "unknown voucher")]
    assert writer.batches == 1  # one transaction for the round
    with store.session() as session:
        assert records.verify(session) == (3, [])


def test_one_failing_decision_costs_only_its_own_answer(store: Store) -> None:
    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        if attempt.user == "bug":
            raise ValueError("a policy bug")
        return Decision(True, {}, method="test", identity=attempt.user)

    writer = RecordWriter(store, decide=decide)
    told = run(writer, [Login(attempt("a"), "gw"), Login(attempt("bug"), "gw"),
                        Login(attempt("b"), "gw")])
    assert isinstance(told[0], Decision) and isinstance(told[2], Decision)
    assert isinstance(told[1], ValueError)
    # the failed batch left nothing; each job was then done in a transaction of its own
    assert logged(store) == [("a", "accept"), ("b", "accept")]


def test_a_store_that_fails_answers_nobody_and_keeps_nothing(store: Store) -> None:
    calls: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        calls.append(attempt.user)
        if attempt.user == "b":  # the store itself fails mid-batch (a lost connection, a
            # full disk): nobody is answered, the NASes retry; no retry of each job here
            raise OperationalError("INSERT …", {}, Exception("disk I/O error"))
        return Decision(True, {}, method="test", identity=attempt.user)

    writer = RecordWriter(store, decide=decide)
    told = run(writer, [Login(attempt(user), "gw") for user in ("a", "b", "c")])
    assert all(isinstance(outcome, OperationalError) for outcome in told) and len(told) == 3
    assert calls == ["a", "b"]  # not one by one after a store failure
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(LoginRecord)) == 0


def test_a_failed_round_leaves_nothing_to_the_threads_next_round(store: Store) -> None:
    """The writer keeps one session per thread across rounds: what a failed round loaded,
    noted or began is gone when the next round starts on it."""
    left: list[object] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        left.append((session.info.get("noted"), session.in_nested_transaction(),
                     len(session.identity_map)))
        session.info["noted"] = attempt.user  # as a lock's note would be
        session.add(RadiusSession(nas="gw", session_id=attempt.user, started_at=NOW,
                                  updated_at=NOW))
        session.flush()
        if attempt.user == "a":
            raise OperationalError("INSERT …", {}, Exception("disk I/O error"))
        return Decision(True, {}, method="test", identity=attempt.user)

    writer = RecordWriter(store, decide=decide)
    assert isinstance(run(writer, [Login(attempt("a"), "gw")])[0], OperationalError)
    assert isinstance(run(writer, [Login(attempt("b"), "gw")])[0], Decision)
    assert left == [(None, False, 0), (None, False, 0)]  # the second round started clean
    assert logged(store) == [("b", "accept")]
    with store.session() as session:
        assert session.scalars(select(RadiusSession.session_id)).all() == ["b"]


def test_a_store_error_in_a_raw_statement_is_a_store_failure(sqlite_store: Store) -> None:
    """The hot statements run on the DB-API cursor: the driver's own error must still be
    an OperationalError to the writer — no answers, and no retry of every job one by one
    (each would wait out the store's busy timeout again)."""
    with sqlite_store.session() as session:
        codes = [v.code for v in vouchers.create(session, 3, 30, 1, "t", valid_days=1)]
    policy = Policy(sqlite_store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(sqlite_store))
    calls: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        calls.append(attempt.user)
        return policy.decide_in(session, attempt, nas, profile)

    with sqlite_store.session() as session:  # the voucher lookup's table is gone
        session.execute(text("DROP TABLE voucher_device"))
    told = run(RecordWriter(sqlite_store, decide=decide),
               [Login(attempt(code), "gw") for code in codes])
    assert len(told) == 3 and all(isinstance(outcome, OperationalError) for outcome in told)
    assert "no such table" in str(told[0])
    assert calls == codes[:1]


def deadlock() -> OperationalError:
    """What the store raises in the round PostgreSQL ended to break a deadlock."""
    return OperationalError("UPDATE voucher …", {},
                            psycopg.errors.DeadlockDetected("deadlock detected"))


def test_a_round_the_store_ended_to_break_a_deadlock_is_tried_again(store: Store) -> None:
    tries: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        tries.append(attempt.user)
        if len(tries) == 1:
            raise deadlock()
        return Decision(True, {}, method="test", identity=attempt.user)

    writer = RecordWriter(store, decide=decide)
    told = run(writer, [Login(attempt("a"), "gw"), Login(attempt("b"), "gw")])
    assert [isinstance(outcome, Decision) and outcome.accept for outcome in told] == [
        True, True]
    assert tries == ["a", "a", "b"] and writer.contended == 1 and writer.batches == 1
    assert logged(store) == [("a", "accept"), ("b", "accept")]


def test_a_round_is_tried_three_times_at_most(store: Store) -> None:
    tries: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        tries.append(attempt.user)
        raise deadlock()

    writer = RecordWriter(store, decide=decide)
    told = run(writer, [Login(attempt("a"), "gw"), Login(attempt("b"), "gw")])
    assert all(isinstance(outcome, OperationalError) for outcome in told)
    assert tries == ["a", "a", "a"] and writer.contended == 2
    assert logged(store) == []


def test_a_claimed_request_without_a_decision_to_keep_is_given_up(store: Store) -> None:
    """Its retry is then decided again: a reply value of a type not kept, or a login
    nobody waited for any more, leaves no claim behind."""
    decided: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        decided.append(attempt.user)
        return Decision(True, {"Odd": 1.5}, method="test", identity=attempt.user)

    writer = RecordWriter(store, decide=decide)
    odd = Login(attempt("odd"), "gw", request_key="k1")
    late = Login(attempt("late"), "gw", request_key="k2", deadline=time.monotonic() - 1)
    told = run(writer, [odd, late])
    assert isinstance(told[0], Decision) and isinstance(told[1], TimeoutError)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 0
    assert isinstance(run(writer, [odd])[0], Decision)
    assert decided == ["odd", "odd"] and writer.retries == 0


def test_a_login_nobody_waits_for_is_neither_decided_nor_recorded(store: Store) -> None:
    decided: list[str] = []

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        decided.append(attempt.user)
        return Decision(True, {}, method="test", identity=attempt.user)

    late, later = time.monotonic() - 1, time.monotonic() + 60
    told = run(RecordWriter(store, decide=decide), [
        Login(attempt("late"), "gw", deadline=late),
        Login(attempt("waited"), "gw", deadline=later),
        # decided by FreeRADIUS: a record after its deadline would contradict its answer
        ForeignLogin(attempt("fr-late"), "gw", Decision(True, {}), deadline=late),
        ForeignLogin(attempt("fr"), "gw", Decision(False, {}, reason="no"), deadline=later)])
    assert [type(outcome) for outcome in told] == [TimeoutError, Decision, TimeoutError,
                                                   Decision]
    assert decided == ["waited"]
    assert logged(store) == [("waited", "accept"), ("fr", "no")]


def test_attributes_as_long_as_radius_allows_are_stored_whole(store: Store) -> None:
    """A string attribute holds up to 253 bytes: ids that long are kept whole (a
    Disconnect-Request names the session by its id; a retransmission is known by it), two
    that differ only at the end stay two sessions, and a NUL (PostgreSQL refuses it in
    text) is kept as U+FFFD — on both stores alike."""
    def start(session_id: str, delay: int = 0) -> AccountingEvent:
        return event_from({"Acct-Status-Type": "Start", "Acct-Session-Id": session_id,
                           "User-Name": "u" * 253, "Calling-Station-Id": "c" * 253,
                           "Called-Station-Id": "AP:" + "x" * 250, "Acct-Delay-Time": delay,
                           "H3C-NAT-Start-Port": 4294967295, "H3C-NAT-End-Port": 4294967295},
                          "gw", datetime.now(UTC))

    def decide(session: Session, attempt: LoginAttempt, nas: str, profile: str) -> Decision:
        return Decision(False, {}, reason="r" * 253, method="m" * 253, identity=attempt.user)

    one, two = "s" * 252 + "1", "s" * 252 + "2"
    nul = codec.without_nul("s\x001\x00")
    login = Login(LoginAttempt(user="u" * 253, password="p", calling_station="c" * 253,
                               called_station="AP:" + "x" * 250, framed_ip="f" * 253), "gw")
    jobs: list[Any] = [start(one), start(two), start(nul), login]
    told = run(RecordWriter(store, decide=decide), jobs)
    assert told[:3] == [True, True, True] and isinstance(told[3], Decision)
    with store.session() as session:
        stored = session.scalars(select(AccountingRecord).order_by(AccountingRecord.id)).all()
        assert [r.session_id for r in stored] == [one, two, "s\ufffd1"]
        assert {(len(r.calling_station), len(r.called_station), len(r.username))
                for r in stored} == {(253, 253, 253)}
        assert session.scalar(select(func.count()).select_from(RadiusSession)) == 3
        rows = session.scalars(select(LoginRecord).order_by(LoginRecord.seq)).all()
        assert [r.session_id for r in rows[:3]] == [one, two, "s\ufffd1"]
        assert rows[0].nat_ports == "4294967295-4294967295"
        # what no RADIUS value can be (a reason, a method, an address of 253 characters)
        # is cut to its column, before it is chained
        assert (len(rows[3].result), len(rows[3].method), len(rows[3].private_ip)) == (
            64, 16, 45)
        assert records.verify(session) == (4, [])
    # the NAS sends one again, later (Acct-Delay-Time): known as a retransmission
    assert run(RecordWriter(store), [start(one, delay=5)]) == [False]  # type: ignore[list-item]


def test_a_voucher_login_without_a_mac_from_a_long_named_nas_holds_one_slot(
        store: Store) -> None:
    """No Calling-Station-Id: the device is the NAS's unknown one, which must fit the
    slot's column even when the NAS's name (up to 64 characters) does not."""
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(store))
    writer = RecordWriter(store, decide=policy.decide_in, prepare=policy.prepare_in)
    no_mac = LoginAttempt(user=voucher.code, password=voucher.code, calling_station="")
    nas = "district-gateway-luohu-01"
    told = run(writer, [Login(no_mac, nas)]) + run(writer, [Login(no_mac, nas)])
    assert [(d.accept, d.reason) for d in told if isinstance(d, Decision)] == [
        (True, ""), (True, "")]  # the second: the same device, back on its slot
    [other] = run(writer, [Login(no_mac, "district-gateway-luohu-02")])
    assert isinstance(other, Decision) and not other.accept  # another NAS, another device


def test_counters_past_what_a_column_holds_are_kept_at_its_maximum(store: Store) -> None:
    """Every Gigawords and octet bit set (2^64 - 1 octets) and a session time past 2^31 s:
    the record is stored, the counters at the columns' maxima, not refused for ever."""
    full = (1 << 32) - 1
    stop = event_from({"Acct-Status-Type": "Stop", "Acct-Session-Id": "huge", "User-Name": "u",
                       "Acct-Session-Time": full, "Acct-Input-Octets": full,
                       "Acct-Input-Gigawords": full, "Acct-Output-Octets": full,
                       "Acct-Output-Gigawords": full}, "gw", datetime.now(UTC))
    assert run(RecordWriter(store), [stop]) == [True]  # type: ignore[list-item]
    with store.session() as session:
        for row in (session.scalars(select(AccountingRecord)).one(),
                    session.scalars(select(RadiusSession)).one()):
            assert (row.session_time, row.input_octets, row.output_octets) == (
                (1 << 31) - 1, (1 << 63) - 1, (1 << 63) - 1)
    assert run(RecordWriter(store), [stop]) == [False]  # type: ignore[list-item]


def test_records_written_before_the_ids_were_widened_are_kept(
        backend_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 0017 of the frozen single chain widens the RADIUS ids (on SQLite by
    copying the tables): the records written before it, and their chain, come through
    whole, and on through the restamp at 0019 to the per-domain branches."""
    store = Store.from_config(backend_config)
    # login records as those stores wrote them (one chain: no chain column yet)
    monkeypatch.setattr(records, "append", append_to_one_chain)
    try:
        chain = migrate.settings(store.engine, legacy=True)
        command.upgrade(chain, "0016")
        event = event_from({"Acct-Status-Type": "Start", "Acct-Session-Id": "before",
                            "User-Name": "u", "Calling-Station-Id": "AA-BB-CC-DD-EE-01"},
                           "gw", datetime.now(UTC))
        login = ForeignLogin(attempt("fr-user"), "gw", Decision(True, {}, method="fr"))
        assert run(RecordWriter(store), [event, login])[0] is True  # type: ignore[list-item]
        command.upgrade(chain, "0019")
        with store.session() as session:
            assert session.scalars(select(AccountingRecord.session_id)).all() == ["before"]
            assert session.scalars(select(RadiusSession.session_id)).all() == ["before"]
        assert run(RecordWriter(store), [event]) == [False]  # type: ignore[list-item]
        # once a longer id is stored, going back below 0017 is refused, saying where
        longer = event_from({"Acct-Status-Type": "Start", "Acct-Session-Id": "s" * 200},
                            "gw", datetime.now(UTC))
        assert run(RecordWriter(store), [longer]) == [True]  # type: ignore[list-item]
        with pytest.raises(RuntimeError, match=r"radius_accounting\.session_id .* 200"):
            command.downgrade(chain, "0016")
        store.upgrade()
        store.ensure_current()
        monkeypatch.undo()
        with store.session() as session:
            assert records.verify(session) == (3, [])
    finally:
        store.close()


@pytest.mark.postgres
def test_on_postgresql_a_rounds_known_devices_are_looked_up_in_one_statement(
        pg_database: str, statements: list[str]) -> None:
    """Devices coming back on their vouchers: one lookup for the round, not one a login;
    a new device and a wrong code are looked up as before — and decided as before."""
    store = Store(pg_database)
    try:
        store.upgrade()
        with store.session() as session:
            codes = [voucher.code for voucher in vouchers.create(session, 3, 30, 2, "t",
                                                                valid_days=1)]
        policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(store))
        writer = RecordWriter(store, decide=policy.decide_in, prepare=policy.prepare_in)

        def login(code: str, mac: str) -> Login:
            return Login(LoginAttempt(user=code, password=code, calling_station=mac), "gw")

        run(writer, [login(code, "AA-BB-CC-DD-EE-01") for code in codes])
        statements.clear()
        told = run(writer, [*(login(code, "AA-BB-CC-DD-EE-01") for code in codes),
                            login(codes[0], "AA-BB-CC-DD-EE-02"),
                            login(vouchers.new_code(), "AA-BB-CC-DD-EE-03")])  # none such
        assert [(d.accept, d.reason) for d in told if isinstance(d, Decision)] == [
            (True, ""), (True, ""), (True, ""), (True, ""), (False, "unknown voucher")]
        assert sum("AS wanted (code, mac)" in sql for sql in statements) == 1
        assert sum(sql.startswith("SELECT voucher.id") for sql in statements) == 2
        with store.session() as session:
            assert session.scalar(select(func.sum(vouchers.Voucher.devices_used))) == 4
    finally:
        store.close()


@pytest.mark.postgres
def test_on_postgresql_a_login_round_waits_on_the_server_few_times(pg_database: str) -> None:
    """A voucher login of a known device with a request identity: its round sends what it
    does not read at once together (citynet.db.pipelined) — 10 round trips before —
    its transaction's BEGIN is the connection's check before use — 7 before — its claim
    and its voucher read go together — 6 before — and it is decided and recorded as
    before."""
    direct = Store(pg_database)
    direct.upgrade()
    direct.close()
    url = urlsplit(pg_database)
    with RoundTrips(url.hostname or "127.0.0.1", url.port or 5432) as relay:
        store = Store(url._replace(netloc=f"postgres@127.0.0.1:{relay.port}").geturl())
        try:
            with store.session() as session:
                [voucher] = vouchers.create(session, 1, 30, 2, "t", valid_days=1)
            policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(store))
            writer = RecordWriter(store, decide=policy.decide_in, prepare=policy.prepare_in,
                                  chain_no=1)

            def login(key: str) -> Login:
                return Login(LoginAttempt(user=voucher.code, password=voucher.code,
                                          calling_station="AA-BB-CC-DD-EE-01"), "gw",
                             request_key=key)

            run(writer, [login("k1")])  # the device's first login takes a slot
            before = relay.count()
            told = run(writer, [login("k2")])
            trips = relay.count() - before
            assert run(writer, [login("k2")]) == told  # a retry: answered as decided
            interim = event_from({"Acct-Status-Type": "Interim-Update",
                                  "Acct-Session-Id": "s1", "User-Name": voucher.code},
                                 "gw", datetime.now(UTC))
            run(writer, [interim])  # type: ignore[list-item]
            before = relay.count()
            run(writer, [replace(interim, session_time=60)])  # type: ignore[list-item]
            accounting_trips = relay.count() - before
            with store.session() as session:
                assert records.verify(session) == (2, [])
                assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 2
        finally:
            store.close()
    assert [(d.accept, d.reason) for d in told if isinstance(d, Decision)] == [(True, "")]
    assert trips <= 5
    assert accounting_trips <= 5  # the BEGIN with the check: one fewer than before


@pytest.mark.postgres
def test_on_postgresql_a_round_after_its_connection_was_lost_is_decided_on_a_new_one(
        pg_database: str) -> None:
    """A failover ends the pooled connections: the check before use (the round's BEGIN)
    finds the thread's dead, the pool opens another, and the login is decided, recorded
    and answered on it — as with SQLAlchemy's pre-ping before. A connection left in the
    middle of a statement is replaced the same way."""
    from prometheus_client import REGISTRY

    from tests.conftest import _admin

    def lost() -> float:
        return REGISTRY.get_sample_value("citynet_db_connections_lost_total") or 0.0

    store = Store(pg_database)
    try:
        store.upgrade()
        with store.session() as session:
            [voucher] = vouchers.create(session, 1, 30, 2, "t", valid_days=1)
        policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), ProfileBook.of(store))
        writer = RecordWriter(store, decide=policy.decide_in, prepare=policy.prepare_in)

        def login(key: str) -> Login:
            return Login(LoginAttempt(user=voucher.code, password=voucher.code,
                                      calling_station="AA-BB-CC-DD-EE-01"), "gw",
                         request_key=key)

        assert [d.accept for d in run(writer, [login("k1")])] == [True]  # type: ignore[union-attr]
        before = lost()
        with _admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()",
                          (urlsplit(pg_database).path.lstrip("/"),))
        assert [d.accept for d in run(writer, [login("k2")])] == [True]  # type: ignore[union-attr]
        assert lost() - before >= 1
        with store.engine.connect() as connection:
            connection.connection.driver_connection.pgconn.send_query(b"SELECT 1")
        assert [d.accept for d in run(writer, [login("k3")])] == [True]  # type: ignore[union-attr]
        with store.session() as session:
            assert records.verify(session) == (3, [])
            assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 3
    finally:
        store.close()


# a statement failing in the part of a round sent together: one whose error comes back
# with a result the round reads (the chain's lock: its head is read next), and one whose
# error comes back only at the end (the record's insert)
REFUSE_LOCK = "ALTER DATABASE {database} SET lock_timeout = '200ms'"
REFUSE_INSERT = """
CREATE TABLE refusing (since integer);
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.identity = 'a' AND EXISTS (SELECT 1 FROM refusing) THEN
        RAISE EXCEPTION 'refused' USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON login_record FOR EACH ROW EXECUTE FUNCTION refuse();
"""


@pytest.mark.postgres
@pytest.mark.parametrize(("refusal", "chain_lock"), [(REFUSE_LOCK, True),
                                                     (REFUSE_INSERT, False)],
                         ids=["lock", "insert"])
def test_on_postgresql_a_round_failing_in_its_pipeline_answers_nothing_and_keeps_nothing(
        pg_database: str, refusal: str, chain_lock: bool) -> None:
    """A statement of the round's part sent together fails (the chain's lock held by
    another connection; a trigger refusing the record): every login is told the store's error
    (SQLAlchemy's, as any statement's), nothing of the round is kept, the connection is
    replaced (psycopg may leave it unusable), and the NAS's retry is decided and
    recorded."""
    store = Store(pg_database)
    lost: list[object] = []
    try:
        store.upgrade()
        with store.session() as session:
            database = session.scalar(text("SELECT current_database()"))
            session.connection().exec_driver_sql(refusal.format(database=database))
        store.engine.dispose()  # new connections: a database's setting applies to them
        event.listen(store.engine, "invalidate", lambda *_args: lost.append(_args))
        writer = RecordWriter(store, decide=lambda *_args: Decision(True, {}), chain_no=1)
        login = Login(attempt("a"), "gw", request_key="k1")
        run(writer, [Login(attempt("warm"), "gw", request_key="k0")])
        with psycopg.connect(pg_database, autocommit=True) as holder:
            if chain_lock:
                holder.execute("SELECT pg_advisory_lock(%s)",
                               (_lock_key(f"ledger.{records.LEDGER.keys(1)[0]}"),))
            else:
                holder.execute("INSERT INTO refusing VALUES (1)")
            [failed] = run(writer, [login])
            if not chain_lock:
                holder.execute("DELETE FROM refusing")
        assert isinstance(failed, OperationalError)
        assert getattr(failed.orig, "sqlstate", None) == "55P03"
        assert logged(store) == [("warm", "accept")]
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 1
        assert [(d.accept, d.reason) for d in run(writer, [login])
                if isinstance(d, Decision)] == [(True, "")]
        assert logged(store) == [("warm", "accept"), ("a", "accept")]
        assert len(lost) == 1  # the connection the pipeline failed on, replaced
    finally:
        store.close()
