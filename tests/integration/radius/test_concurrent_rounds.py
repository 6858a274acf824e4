"""Two record writers on one PostgreSQL store, their rounds open at once (issue 18): two
listener processes decide under row locks, and only the chain append and the commit take
turns. Each writer has a store (engine) of its own, as each process has; each round runs
on a thread of its own, and the tests hold the rounds at the point that matters until
both are there — which a store-wide lock taken first would never let happen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from citynet.db import Store
from radius import accounting, records, retries, vouchers
from radius.accounting import AccountingEvent, Job, Outcome, RecordWriter, event_from
from radius.decisions import Decision, Login, LoginAttempt
from radius.models import RadiusSession
from radius.policy import Policy
from radius.profiles import ProfileBook
from radius.records import LoginRecord
from radius.retries import DecidedRequest
from radius.vouchers import Voucher, VoucherDevice

pytestmark = pytest.mark.postgres

ZONE = ZoneInfo("Asia/Shanghai")
WAIT = 10  # seconds: a round held longer than this waits for something that never comes


def concurrently(*rounds: tuple[RecordWriter, list[Job]]) -> list[list[Outcome]]:
    """Each writer's round on a thread of its own (``round-0``, ``round-1``), at once;
    what each round's callers were told."""
    told: list[list[Outcome]] = [[] for _round in rounds]
    threads = [threading.Thread(target=writer.run, name=f"round-{n}",
                                args=([(job, told[n].append) for job in jobs],))
               for n, (writer, jobs) in enumerate(rounds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return told


def me_and_other() -> tuple[str, str]:
    me = threading.current_thread().name
    return me, "round-1" if me == "round-0" else "round-0"


def attempt(code: str, mac: str) -> LoginAttempt:
    return LoginAttempt(user=code, password=code, calling_station=mac)


def deciding(store: Store, before: Callable[[], None] = lambda: None,
             after: Callable[[], None] = lambda: None) -> Callable[..., Decision]:
    """Real policy on ``store``, with ``before`` and ``after`` each decision."""
    policy = Policy(store, None, ZONE, ProfileBook.of(store))

    def decide(session: Session, login: LoginAttempt, nas: str, profile: str) -> Decision:
        before()
        decision = policy.decide_in(session, login, nas, profile)
        after()
        return decision

    return decide


def chain_verifies(store: Store, rows: int) -> None:
    with store.session() as session:
        assert records.verify(session) == (rows, [])


def new_vouchers(store: Store, count: int, devices: int) -> list[str]:
    with store.session() as session:
        return [v.code for v in vouchers.create(session, count, 30, devices, "t",
                                                valid_days=1)]


def test_two_rounds_racing_for_a_vouchers_last_slot_give_it_to_one(
        stores: tuple[Store, Store]) -> None:
    first = stores[0]
    [code] = new_vouchers(first, 1, devices=1)
    both_deciding = threading.Barrier(2, timeout=WAIT)
    writers = [RecordWriter(store, decide=deciding(store, before=both_deciding.wait))
               for store in stores]
    told = concurrently((writers[0], [Login(attempt(code, "AA-BB-CC-DD-EE-01"), "gw")]),
                        (writers[1], [Login(attempt(code, "AA-BB-CC-DD-EE-02"), "gw")]))
    decisions = [outcome for [outcome] in told]
    assert all(isinstance(d, Decision) for d in decisions), decisions
    assert sorted((d.accept, d.reason) for d in decisions if isinstance(d, Decision)) == [
        (False, vouchers.IN_USE), (True, "")]
    with first.session() as session:
        assert session.scalar(select(Voucher.devices_used)) == 1
        assert session.scalar(select(func.count()).select_from(VoucherDevice)) == 1
    chain_verifies(first, 2)


def test_one_request_decided_by_two_rounds_at_once_is_decided_and_recorded_once(
        stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """The NAS's retry reached the other process while the first still decided it: the
    second round's claim waits for the first's commit, then answers its decision."""
    first = stores[0]
    [code] = new_vouchers(first, 1, devices=1)
    both_claiming = threading.Barrier(2, timeout=WAIT)
    claiming = retries.claiming

    def claim_together(*args: Any) -> retries.Claims:
        both_claiming.wait()
        return claiming(*args)

    monkeypatch.setattr(retries, "claiming", claim_together)
    decided: list[str] = []
    writers = [RecordWriter(store, decide=deciding(
        store, after=lambda: decided.append(threading.current_thread().name)))
        for store in stores]
    login = Login(attempt(code, "AA-BB-CC-DD-EE-01"), "gw",
                  request_key=retries.request_key("gw", 7, bytes(range(16))))
    told = concurrently((writers[0], [login]), (writers[1], [login]))
    assert told[0] == told[1] and isinstance(told[0][0], Decision) and told[0][0].accept
    assert len(decided) == 1
    assert sorted(writer.retries for writer in writers) == [0, 1]
    assert [writer.batches for writer in writers] == [1, 1]  # no round failed
    with first.session() as session:
        assert session.scalar(select(func.count()).select_from(LoginRecord)) == 1
        assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 1
    chain_verifies(first, 1)


def interim(session_id: str, seconds: int, sent: int, received: int,
            status: str = "Interim-Update") -> AccountingEvent:
    return event_from({"Acct-Status-Type": status, "Acct-Session-Id": session_id,
                       "User-Name": "13800138000", "Calling-Station-Id": "AA-BB-CC-DD-EE-01",
                       "Acct-Session-Time": seconds, "Acct-Input-Octets": sent,
                       "Acct-Output-Octets": received,
                       "Acct-Terminate-Cause": "User-Request" if status == "Stop" else None},
                      "gw", datetime.now(UTC))


def session_row(store: Store) -> tuple[Any, ...]:
    with store.session() as session:
        [row] = session.execute(select(
            RadiusSession.session_time, RadiusSession.input_octets,
            RadiusSession.output_octets, RadiusSession.stopped_at.is_not(None))).all()
    return tuple(row)


def test_a_new_session_two_rounds_insert_at_once_is_one_row_with_both_records(
        stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both rounds read the session (there is none yet) before either writes it: the
    second insert waits for the first's commit and then folds into its row."""
    first = stores[0]
    both_read = threading.Barrier(2, timeout=WAIT)
    waited = threading.local()
    locked_states = accounting._locked_states

    def read_together(*args: Any) -> Any:
        states = locked_states(*args)
        if not getattr(waited, "once", False):  # the first read; not the re-read after
            waited.once = True
            both_read.wait()
        return states

    monkeypatch.setattr(accounting, "_locked_states", read_together)
    writers = [RecordWriter(store) for store in stores]
    told = concurrently((writers[0], [interim("s1", 60, 100, 50)]),
                        (writers[1], [interim("s1", 70, 80, 90, status="Stop")]))
    assert told == [[True], [True]]
    assert [writer.batches for writer in writers] == [1, 1]
    assert session_row(first) == (70, 100, 90, True)  # the counters' maxima, and the stop
    chain_verifies(first, 1)  # the Stop's logout


def waiting_for(store: Store, session: Session, done: threading.Event) -> None:
    """Until ``done`` is set or another backend waits for a lock this session holds:
    PostgreSQL's lock table is the only witness of a round that waits for the other."""
    holder = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    blocked = text("SELECT count(*) FROM pg_stat_activity "
                   "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + WAIT
    with store.engine.connect() as watcher:
        while not done.wait(0.01):  # polls the lock table: no thread to tell us
            if watcher.execute(blocked, {"holder": holder}).scalar():
                return
            assert time.monotonic() < deadline


def test_a_session_two_rounds_update_at_once_loses_neither_update(
        stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """The second round reads the row while the first holds it: it waits for the first's
    commit and folds its own record into what the first wrote. Without the row lock its
    read would return at once, it would write its record over the row as it was, and
    the first round would then write its own over that."""
    first, second = stores
    RecordWriter(first).run([(interim("s1", 0, 0, 0, status="Start"), lambda _told: None)])
    first_read, second_read = threading.Event(), threading.Event()
    locked_states = accounting._locked_states

    def in_turn(session: Session, *args: Any) -> Any:
        me, _other = me_and_other()
        if me == "round-1":
            assert first_read.wait(WAIT)
            states = locked_states(session, *args)
            second_read.set()
            return states
        states = locked_states(session, *args)
        first_read.set()
        waiting_for(first, session, second_read)  # the other reads, or waits to
        return states

    monkeypatch.setattr(accounting, "_locked_states", in_turn)
    writers = [RecordWriter(first), RecordWriter(second)]
    told = concurrently((writers[0], [interim("s1", 100, 500, 10)]),
                        (writers[1], [interim("s1", 50, 20, 600)]))
    assert told == [[True], [True]]
    assert session_row(first) == (100, 500, 600, False)
    chain_verifies(first, 1)  # the Start's session-start


def test_a_deadlock_between_two_rounds_is_tried_again_and_nobody_fails(
        stores: tuple[Store, Store]) -> None:
    """Each round takes a slot of one voucher, then wants the other's (locked by the
    other round): PostgreSQL ends one of them, which is tried again whole, after the
    other commits."""
    first = stores[0]
    one, two = new_vouchers(first, 2, devices=2)
    decided_first = {"round-0": threading.Event(), "round-1": threading.Event()}

    def after() -> None:  # after the first decision (of each try), wait for the other's
        me, other = me_and_other()
        decided_first[me].set()
        assert decided_first[other].wait(WAIT)

    writers = [RecordWriter(store, decide=deciding(store, after=after)) for store in stores]
    told = concurrently(
        (writers[0], [Login(attempt(one, "AA-BB-CC-DD-EE-01"), "gw"),
                      Login(attempt(two, "AA-BB-CC-DD-EE-01"), "gw")]),
        (writers[1], [Login(attempt(two, "AA-BB-CC-DD-EE-02"), "gw"),
                      Login(attempt(one, "AA-BB-CC-DD-EE-02"), "gw")]))
    assert all(isinstance(d, Decision) and d.accept for outcomes in told for d in outcomes)
    assert sum(writer.contended for writer in writers) == 1
    assert [writer.batches for writer in writers] == [1, 1]
    with first.session() as session:
        assert session.scalars(select(Voucher.devices_used)).all() == [2, 2]
    chain_verifies(first, 4)
