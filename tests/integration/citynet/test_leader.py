"""Leader election on the real PostgreSQL: one leader at a time, takeover when it goes,
and a leader whose lock was taken from it fenced before its next write."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from citynet import metrics
from citynet.db import Store
from citynet.leader import Fenced, Leadership, LeaderTerm, SingletonRound
from tests.conftest import make_config, upgraded
from tests.support import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_database: str, tmp_path: Path) -> Iterator[Store]:
    yield from upgraded(make_config(tmp_path, database={"url": pg_database}))


@pytest.fixture
def leaderships(pg_store: Store) -> Iterator[Callable[..., Leadership]]:
    made: list[Leadership] = []

    def make(holder: str, heartbeat: float = 0.2) -> Leadership:
        made.append(Leadership(pg_store, holder=holder, heartbeat=heartbeat))
        return made[-1]

    yield make
    for leadership in made:
        leadership.stop()


def until(leadership: Leadership, leader: bool, timeout: float = 30.0) -> None:
    """Wait (woken by each change of standing) until ``leadership`` leads, or not."""
    deadline = datetime.now(UTC).timestamp() + timeout
    while leadership.state.leader is not leader:
        if datetime.now(UTC).timestamp() > deadline:
            pytest.fail(f"{leadership.holder} leader={leader} not reached: "
                        f"{leadership.state}")
        leadership.wait(0.5)


def terminate_lock_session(store: Store, holder: str) -> int:
    """pg_terminate_backend of the session holding the leader's lock; how many ended."""
    with store.engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name"), {"name": f"citynet leader {holder}"}).all()
    return len(ended)


def term(store: Store) -> LeaderTerm | None:
    with store.session() as session:
        return session.get(LeaderTerm, "singleton")


def test_one_leader_and_a_follower_takes_over_when_it_resigns(
        pg_store: Store, leaderships: Callable[..., Leadership]) -> None:
    first = leaderships("node-a").start()
    until(first, leader=True)
    second = leaderships("node-b").start()
    second.wait(1.0)  # a few of its tries (heartbeat 0.2 s): all refused
    assert not second.state.leader and second.state.reason == "another process leads"
    assert first.state.term == 1
    first.stop()
    until(second, leader=True)
    assert second.state.term == 2
    stored = term(pg_store)
    assert stored is not None and (stored.holder, stored.term) == ("node-b", 2)
    with pytest.raises(Fenced, match="not the leader"), first.store().session():
        pass


def test_the_leader_gauge_follows_the_standing(
        pg_store: Store, leaderships: Callable[..., Leadership]) -> None:
    """``citynet_leader`` on /metrics: 1 while this process leads, 0 once it resigned."""
    leadership = leaderships("node-a").start()
    until(leadership, leader=True)
    assert metrics.LEADER._value.get() == 1
    leadership.stop()
    assert metrics.LEADER._value.get() == 0


def test_a_leader_whose_session_was_ended_is_fenced_before_its_next_write(
        pg_store: Store, leaderships: Callable[..., Leadership]) -> None:
    old = leaderships("node-a")
    assert old.lead_once().leader  # one try, no heartbeat: it cannot notice the loss
    with old.round("before"):
        pass
    new = leaderships("node-b").start()
    assert terminate_lock_session(pg_store, "node-a") == 1
    until(new, leader=True)
    assert old.state.leader  # it still believes it leads...
    with pytest.raises(Fenced, match="store is at term 2"), old.round("after"):
        pytest.fail("the old leader's round ran")
    # ...and is told so once, then refused at the door
    with pytest.raises(Fenced), old.store().session():
        pass
    with new.round("new"):
        pass
    with pg_store.session() as session:
        rounds = [(r.term, r.holder, r.work) for r in session.scalars(
            select(SingletonRound).order_by(SingletonRound.id))]
    assert rounds == [(1, "node-a", "before"), (2, "node-b", "new")]


def test_a_write_in_flight_lands_before_the_new_term_or_not_at_all(
        pg_store: Store, leaderships: Callable[..., Leadership]) -> None:
    """The fence's share lock: a successor's term waits for the old leader's open write
    transaction, so that write is ordered before the new term begins."""
    old = leaderships("node-a")
    assert old.lead_once().leader
    new = leaderships("node-b").start()
    with old.store().session() as session:  # fenced: holds the term row FOR SHARE
        assert terminate_lock_session(pg_store, "node-a") == 1
        new.wait(1.5)  # its try got the lock; its term is waiting on this transaction
        assert not new.state.leader
        session.add(SingletonRound(term=1, holder="node-a", work="in flight",
                                   started_at=datetime.now(UTC)))
        session.flush()
        wrote = session.scalar(text("SELECT clock_timestamp()"))
    until(new, leader=True)
    stored = term(pg_store)
    assert stored is not None and stored.term == 2 and stored.since > wrote


def test_sqlite_is_always_the_leader(sqlite_store: Store) -> None:
    one, two = Leadership(sqlite_store, holder="a"), Leadership(sqlite_store, holder="b")
    assert one.lead_once().leader and two.start().state.leader
    with one.round("coverage"), one.store().session() as session:
        session.add(SingletonRound(term=0, holder="a", work="w", started_at=datetime.now(UTC)))
    with sqlite_store.session() as session:
        assert [r.finished_at is not None for r in session.scalars(
            select(SingletonRound).where(SingletonRound.work == "coverage"))] == [True]
    assert metrics.LEADER._value.get() == 1  # /metrics says what the standing says
    two.stop()
    assert metrics.LEADER._value.get() == 0


def test_a_second_leader_on_one_sqlite_file_is_warned_of(
        sqlite_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Two long-running collect roles on one SQLite file (no election there): the second
    names the key; once the first has gone, a new one starts without a word."""
    first, second = Leadership(sqlite_store, holder="a"), Leadership(sqlite_store, holder="b")
    try:
        first.start()
        assert not caplog.records
        second.start()
        assert [r.getMessage().split(" another")[0] for r in caplog.records] == [
            "config: database.url:"]
    finally:
        second.stop()
        first.stop()
    caplog.clear()
    third = Leadership(sqlite_store, holder="c").start()
    third.stop()
    assert not caplog.records


def test_a_store_that_refuses_the_lock_connection_leaves_no_leader_and_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    unreachable = Store(f"postgresql://postgres@127.0.0.1:{free_port()}/citynet")
    try:
        state = Leadership(unreachable, holder="node-a").lead_once()
    finally:
        unreachable.close()
    assert not state.leader and state.reason.startswith("OperationalError")
    assert [r.levelname for r in caplog.records if "not this process" in r.message] == [
        "WARNING"]
