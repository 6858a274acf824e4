"""Retention: what is older than the one retention (``records.retention_days``, or the
admin web's value; never under 60 days) leaves the store — login records (each chain's
old prefix, its base recorded so ``citynet audit verify`` still passes), accounting
records, and ended sessions (a live one never). The leader does it every 5
minutes (:class:`PurgeRetention`, unless ``records.auto_purge`` is off); ``citynet records
purge`` does the same on demand.

Rows go :data:`PURGE_BATCH` to a short transaction, and the write lock is left free
between two (on SQLite it is the lock every RADIUS answer waits for). Each transaction
first takes the purge's own lock, so two purges at once (the leader's and an operator's)
take turns, and each reads what the other left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Delete, delete, select
from sqlalchemy.orm import Session

from citynet.db import Store, exclusive
from citynet.telemetry import Context, Point
from radius import records
from radius.models import AccountingRecord, RadiusSession
from radius.settings import RecordsConfig

log = logging.getLogger(__name__)

# rows a purge transaction deletes. Each row rewrites pages of its random-keyed indexes
# (a login record's identity, MAC and addresses; an accounting record's dedupe key; a
# session's identity, address and NAS + session id) — 200 rows are about what a RADIUS
# round itself writes, as for the decided requests (radius/retries.py, measured there)
PURGE_BATCH = 200
PURGE_PAUSE = 0.01  # seconds, at least, between two batches (see retries.forget)
# seconds a run of the leader's purge may take: the collectors run one after another on
# one thread, so the alerts wait for it; what is left goes the next run (every 5 min)
RUN_BUDGET = 20.0
LOCK = "records.purge"  # two purges at once take turns, batch by batch


@dataclass(frozen=True)
class Purged:
    """What one purge removed, by kind, and its cut-off."""

    days: int
    before: datetime
    login_records: int = 0
    accounting: int = 0
    sessions: int = 0
    finished: bool = True  # False: the run's time was up, rows past the cut-off are left


def retention_days(store: Store, default: int) -> int:
    """The retention in force: the admin web's value, else ``default`` (the config's)."""
    with store.session() as session:
        return records.retention_days(session, default)


# a batch: (rows deleted, whether to go on) in the caller's transaction
Step = Callable[[Session], tuple[int, bool]]


def purge(store: Store, days: int, now: datetime, batch: int = PURGE_BATCH,
          pause: Callable[[float], None] = time.sleep,
          budget: float | None = None,
          clock: Callable[[], float] = time.monotonic) -> Purged:
    """Delete login records, accounting records and ended sessions older than ``days``
    before ``now``, ``batch`` rows to a transaction — all of them, or what ``budget``
    seconds allow (``finished`` says which). Raises ValueError under the law's floor."""
    if days < records.MIN_RETENTION_DAYS:
        raise ValueError(f"records must be kept at least {records.MIN_RETENTION_DAYS} days")
    before = now - timedelta(days=days)
    until = None if budget is None else clock() + budget
    with store.session() as session:
        chains = records.past(session, before)
    done = [0, 0, 0]
    # accounting records before sessions: a purge stopped half way leaves no record
    # whose session is gone
    steps = [(0, _login_records(chain_no, upto, batch)) for chain_no, upto in chains]
    steps += [(1, _accounting(before, batch)), (2, _ended_sessions(before, batch))]
    finished = True
    for kind, step in steps:
        gone, finished = _in_batches(store, step, pause, until, clock)
        done[kind] += gone
        if not finished:
            break
    logins, accounting, sessions = done
    return Purged(days, before, logins, accounting, sessions, finished=finished)


def _in_batches(store: Store, step: Step, pause: Callable[[float], None],
                until: float | None, clock: Callable[[], float]) -> tuple[int, bool]:
    """Run ``step`` a transaction at a time until it says it is done, or the time is up
    (``until``, monotonic); how many went, and whether it is done. Between two, the lock
    stays free for as long as the last one held it (at least :data:`PURGE_PAUSE`):
    SQLite's busy handler wakes a waiting writer in steps of milliseconds, and a batch
    taken again at once would let it find the lock held."""
    gone = 0
    while True:
        if until is not None and clock() >= until:
            return gone, False
        started = clock()
        with store.session() as session:
            exclusive(session, LOCK)  # SQLite: the transaction begins holding the lock
            count, more = step(session)
        gone += count
        if not more:
            return gone, True
        pause(max(clock() - started, PURGE_PAUSE))


def _login_records(chain_no: int, upto: int, batch: int) -> Step:
    def step(session: Session) -> tuple[int, bool]:
        count = records.purge_prefix(session, chain_no, upto, batch)
        return count, count == batch
    return step


def _accounting(before: datetime, batch: int) -> Step:
    """Accounting records by id, oldest first: ids follow the time they were received
    (the server's clock) closely enough, and the primary key walks them without an index
    on the time that every accounting request would have to write. The walk ends at the
    first batch with no old row (or the table's end): a young row among old ones — a
    node's clock once ahead — is stepped over, not taken for the end."""
    after = 0

    def step(session: Session) -> tuple[int, bool]:
        nonlocal after
        rows = session.execute(select(AccountingRecord.id, AccountingRecord.received_at)
                               .where(AccountingRecord.id > after)
                               .order_by(AccountingRecord.id).limit(batch)).all()
        old = [row.id for row in rows if row.received_at < before]
        if rows:
            after = rows[-1].id  # the next batch starts past this one's (deleted) rows
        return _deleted(session, delete(AccountingRecord).where(
            AccountingRecord.id.in_(old))) if old else 0, bool(old) and len(rows) == batch
    return step


def _ended_sessions(before: datetime, batch: int) -> Step:
    """Sessions that stopped before the cut-off, by the stop's time (its index); a live
    session has none and is never chosen."""
    since: datetime | None = None

    def step(session: Session) -> tuple[int, bool]:
        nonlocal since
        query = (select(RadiusSession.id, RadiusSession.stopped_at)
                 .where(RadiusSession.stopped_at < before)
                 .order_by(RadiusSession.stopped_at).limit(batch))
        if since is not None:  # PostgreSQL: not over the index entries deleted before
            query = query.where(RadiusSession.stopped_at >= since)
        rows = session.execute(query).all()
        if not rows:
            return 0, False
        since = rows[-1].stopped_at
        return _deleted(session, delete(RadiusSession).where(
            RadiusSession.id.in_([row.id for row in rows]),
            RadiusSession.stopped_at < before)), len(rows) == batch
    return step


def _deleted(session: Session, statement: Delete) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


class PurgeRetention:
    """The leader's purge by retention (a collector), every 5 minutes for at most
    :data:`RUN_BUDGET` seconds: a run has the last minutes' rows to delete — a few
    hundred batches at a city's peak — and the collectors after it (the alerts) wait at
    most that long; a backlog (the first run on a store never purged) goes run by run."""

    name = "records_retention"
    interval = 300.0

    def collect(self, context: Context) -> list[Point]:
        settings = context.config.section(RecordsConfig)
        if not settings.auto_purge:
            return []
        days = retention_days(context.store, settings.retention_days)
        done = purge(context.store, days, context.now, budget=RUN_BUDGET)
        log.info("retention purge: %d login records, %d accounting records, %d ended "
                 "sessions older than %d days%s", done.login_records, done.accounting,
                 done.sessions, days, "" if done.finished else "; more left for the next run")
        return [Point("retention", {"table": table}, {"pruned": count}, context.now)
                for table, count in (("login_record", done.login_records),
                                     ("radius_accounting", done.accounting),
                                     ("radius_session", done.sessions))]
