"""The purge by retention (radius/retention.py, issue 18): login records, accounting
records and ended sessions past the one retention go — a batch to a transaction, on the
leader only, fenced by its term — and the young ones, the live sessions and every
chain's verification stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from citynet.config import Config
from citynet.db import Store
from citynet.leader import Fenced, Leadership
from citynet.telemetry import Context
from radius import records, retention
from radius.models import AccountingRecord, RadiusSession
from radius.records import LoginEvent, LoginRecord
from tests.conftest import make_config

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=200)  # past the default retention (180 days)
YOUNG = NOW - timedelta(days=100)  # within it, but past a retention of 90 days
FAR_CHAIN = 64  # node 1's first listener


def login_records(store: Store, chain_no: int, count: int, at: datetime) -> None:
    with store.session() as session:
        records.append(session, [LoginEvent(at + timedelta(seconds=n), "login", "accept",
                                            f"138{n:08d}", "voucher", "gw")
                                 for n in range(count)], chain_no)


def accounting(store: Store, count: int, at: datetime, tag: str) -> None:
    with store.session() as session:
        session.add_all(AccountingRecord(
            dedupe_key=f"{tag}-{n}", received_at=at + timedelta(seconds=n), nas="gw",
            status="interim", session_id=f"{tag}-{n}") for n in range(count))


def sessions(store: Store, count: int, started: datetime, tag: str, *,
             live: bool = False) -> None:
    stopped = None if live else started + timedelta(hours=1)
    with store.session() as session:
        session.add_all(RadiusSession(
            nas="gw", session_id=f"{tag}-{n}", started_at=started, updated_at=started,
            stopped_at=stopped) for n in range(count))


def fill(store: Store) -> None:
    """Old and young rows of each kind, more old ones than a batch of 3; live sessions
    that started long ago (a NAS that never sent their Stop)."""
    login_records(store, 0, 7, OLD)
    login_records(store, FAR_CHAIN, 4, OLD)
    login_records(store, 0, 2, YOUNG)
    login_records(store, FAR_CHAIN, 1, NOW)
    accounting(store, 7, OLD, "old")
    accounting(store, 2, YOUNG, "young")
    sessions(store, 7, OLD, "old")
    sessions(store, 2, YOUNG, "young")
    sessions(store, 2, OLD, "live", live=True)


def left(store: Store) -> tuple[list[tuple[int, int]], list[str], list[str]]:
    """(login records' (chain, seq), accounting records' keys, sessions' ids) kept."""
    with store.session() as session:
        return (sorted((c, s) for c, s in session.execute(
                    select(LoginRecord.chain, LoginRecord.seq))),
                sorted(session.scalars(select(AccountingRecord.dedupe_key))),
                sorted(session.scalars(select(RadiusSession.session_id))))


YOUNG_ROWS = ([(0, 8), (0, 9), (FAR_CHAIN, 5)], ["young-0", "young-1"],
              ["live-0", "live-1", "young-0", "young-1"])
EVERY_ROW = ([*[(0, n) for n in range(1, 10)], *[(FAR_CHAIN, n) for n in range(1, 6)]],
             [*[f"old-{n}" for n in range(7)], "young-0", "young-1"],
             ["live-0", "live-1", *[f"old-{n}" for n in range(7)], "young-0", "young-1"])


def verified(store: Store) -> tuple[int, list[str]]:
    with store.session() as session:
        checked, problems = records.verify(session)
    return checked, [str(problem) for problem in problems]


def test_old_rows_of_each_kind_go_in_batches_and_young_ones_and_live_sessions_stay(
        store: Store) -> None:
    fill(store)
    pauses: list[float] = []
    done = retention.purge(store, 180, NOW, batch=3, pause=pauses.append)
    assert (done.login_records, done.accounting, done.sessions) == (11, 7, 7)
    assert done.before == NOW - timedelta(days=180)
    assert left(store) == YOUNG_ROWS
    assert verified(store) == (3, [])  # each chain rebased on its last purged row
    # batches of 3: login records 3+3+1 on chain 0 and 3+1 on the other, accounting
    # records 3+3+1 (the last batch full with the young ones, so one more read finds
    # nothing), sessions 3+3+1 — the lock left free after each full one
    assert len(pauses) == 2 + 1 + 3 + 2
    assert all(pause >= retention.PURGE_PAUSE for pause in pauses)
    # nothing more to do; appending goes on after each chain's base
    assert retention.purge(store, 180, NOW, batch=3, pause=pauses.append) == \
        retention.Purged(180, NOW - timedelta(days=180))
    login_records(store, FAR_CHAIN, 2, NOW)
    assert verified(store) == (5, [])


def test_a_run_stops_when_its_time_is_up_and_the_next_goes_on(
        store: Store) -> None:
    """The collectors run one after another, so a run of the leader's purge has a time
    budget; what it leaves, the next run takes (a clock that moves only in the pauses)."""
    fill(store)
    clock = [0.0]

    def pause(_seconds: float) -> None:
        clock[0] += 10.0

    done = retention.purge(store, 180, NOW, batch=3, pause=pause, budget=15.0,
                           clock=lambda: clock[0])
    # two batches (at 0 and 10 s), then the time is up: login records of chain 0 only
    assert (done.login_records, done.accounting, done.sessions, done.finished) == (
        6, 0, 0, False)
    assert retention.purge(store, 180, NOW, batch=3, pause=pause, budget=0.0,
                           clock=lambda: clock[0]) == \
        retention.Purged(180, NOW - timedelta(days=180), finished=False)
    done = retention.purge(store, 180, NOW, batch=3, pause=pause)
    assert (done.login_records, done.accounting, done.sessions, done.finished) == (
        5, 7, 7, True)
    assert left(store) == YOUNG_ROWS
    assert verified(store) == (3, [])


def test_a_young_row_among_old_accounting_records_does_not_end_the_walk(
        store: Store) -> None:
    """A node whose clock once ran ahead wrote a young-looking record among old ones: the
    walk by id steps over it rather than stopping a batch short every run."""
    accounting(store, 1, NOW, "ahead")  # the lowest id, stamped now
    accounting(store, 7, OLD, "old")
    done = retention.purge(store, 180, NOW, batch=3, pause=lambda _s: None)
    assert done.accounting == 7
    with store.session() as session:
        assert session.scalars(select(AccountingRecord.dedupe_key)).all() == ["ahead-0"]


def test_never_under_the_laws_floor(store: Store) -> None:
    fill(store)
    with pytest.raises(ValueError, match="at least 60 days"):
        retention.purge(store, 59, NOW + timedelta(days=300))
    assert left(store) == EVERY_ROW


def config_of(tmp_path: Path, **records_section: object) -> Config:
    """A config with this [records] section (a collector is given its store apart)."""
    return make_config(tmp_path / "config", records=records_section)


def test_the_leader_purges_past_the_retention_set_on_the_admin_web(
        store: Store, leader: Leadership, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    fill(store)
    with store.session() as session:
        records.set_retention_days(session, 90)  # the admin web's value wins over 180
    caplog.set_level("INFO", logger="radius.retention")
    points = retention.PurgeRetention().collect(
        Context(leader.store(), config_of(tmp_path), NOW))
    assert {p.tags["table"]: p.fields["pruned"] for p in points} == {
        "login_record": 13, "radius_accounting": 9, "radius_session": 9}
    assert left(store) == ([(FAR_CHAIN, 5)], [], ["live-0", "live-1"])
    assert verified(store) == (1, [])
    # one line a run, counts only
    assert [r.getMessage() for r in caplog.records if r.name == "radius.retention"] == [
        "retention purge: 13 login records, 9 accounting records, 9 ended sessions older "
        "than 90 days"]


def test_with_auto_purge_off_the_leader_purges_nothing(
        store: Store, leader: Leadership, tmp_path: Path) -> None:
    fill(store)
    off = config_of(tmp_path, auto_purge=False)
    assert retention.PurgeRetention().collect(Context(leader.store(), off, NOW)) == []
    assert left(store) == EVERY_ROW


def test_the_purge_is_the_leaders_work() -> None:
    from radius.manifest import DOMAIN

    assert any(isinstance(c, retention.PurgeRetention) for c in DOMAIN.collectors())
    assert retention.PurgeRetention.interval == 300


@pytest.mark.postgres
def test_a_follower_purges_nothing(pg_database: str, tmp_path: Path) -> None:
    store = Store(pg_database)
    store.upgrade()
    follower = Leadership(store, holder="node-b")  # has not won the lock
    try:
        fill(store)
        with pytest.raises(Fenced, match="not the leader"):
            retention.PurgeRetention().collect(
                Context(follower.store(), config_of(tmp_path), NOW))
        assert left(store) == EVERY_ROW
    finally:
        follower.stop()
        store.close()


@pytest.mark.postgres
def test_a_leader_whose_term_moved_on_stops_before_its_next_batch(
        pg_database: str) -> None:
    """Each batch is fenced: once another process holds a newer term, the old leader's
    next transaction is refused and nothing more goes."""
    store = Store(pg_database)
    store.upgrade()
    old = Leadership(store, holder="node-a")
    try:
        assert old.lead_once().leader
        fill(store)

        def successor_takes_over(_seconds: float) -> None:
            with store.session() as session:  # as a new leader's election does
                session.execute(text("UPDATE leader_term SET term = term + 1"))

        with pytest.raises(Fenced, match="store is at term 2"):
            retention.purge(old.store(), 180, NOW, batch=3, pause=successor_takes_over)
        kept_logins, kept_accounting, kept_sessions = left(store)
        assert len(kept_logins) == len(EVERY_ROW[0]) - 3  # the first batch, no more
        assert (kept_accounting, kept_sessions) == EVERY_ROW[1:]
        assert verified(store) == (11, [])
    finally:
        old.stop()
        store.close()


def test_an_edited_young_row_is_still_found_after_the_purge(store: Store) -> None:
    """Only each chain's prefix goes: a tampered young row is still found after."""
    fill(store)
    with store.session() as session:
        session.execute(update(LoginRecord).where(LoginRecord.chain == 0, LoginRecord.seq == 9)
                        .values(identity="13900000000"))
    retention.purge(store, 180, NOW, batch=3, pause=lambda _s: None)
    assert verified(store) == (3, ["row 9: content does not match its hash (edited)"])
