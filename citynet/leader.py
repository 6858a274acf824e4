"""One leader for singleton work (collectors, alerts, retention purges), elected through
the store and fenced by a term.

- **Election**: PostgreSQL session advisory lock (``pg_try_advisory_lock``) held on a
  connection of its own. A process that dies closes it (the lock goes at once); a node
  that vanishes is found out by the server's TCP keepalives and ``idle_session_timeout``
  (the leader's heartbeat keeps its session busy), within :data:`DEAD_AFTER` seconds.
- **Fencing**: the lock's winner raises ``leader_term.term`` by one. Every singleton
  write transaction first reads that row ``FOR SHARE`` and gives up (:class:`Fenced`)
  unless it still carries this leader's term; the share lock makes a successor's raise
  wait for the write in flight, so an old leader's write lands before the new term
  begins or not at all.
- **SQLite** is one node: its process is always the leader (term 0), nothing to fence;
  a second long-running leader on the same file is warned of (:meth:`Leadership.start`).

The campaign and the heartbeat run on a thread of their own, so a long collector round
never lets the lock's session look dead. docs/operations.md "Leader election" tells the
failure cases.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    String,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from citynet import metrics
from citynet.db import Base, Store, UtcDateTime, table, upsert_insert

log = logging.getLogger(__name__)

SINGLETON = "singleton"  # the one role elected today
HEARTBEAT = 1.0  # seconds between the leader's checks of its lock, and a follower's tries
DEAD_AFTER = 6  # seconds after which the server ends a silent leader's session
KEEP_ROUNDS = timedelta(days=7)  # how long singleton_round keeps its history

# Server side (options) and client side (libpq) limits of the lock's connection: a
# leader that stops answering loses its session, and so its lock, within DEAD_AFTER s;
# a leader that can no longer reach the server notices as fast.
_SERVER_LIMITS = {
    "tcp_keepalives_idle": 2, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3,
    "tcp_user_timeout": DEAD_AFTER * 1000, "idle_session_timeout": DEAD_AFTER * 1000,
    "statement_timeout": DEAD_AFTER * 1000, "lock_timeout": DEAD_AFTER * 1000,
}
_CLIENT_LIMITS = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 2,
                  "keepalives_interval": 1, "keepalives_count": 3,
                  "tcp_user_timeout": DEAD_AFTER * 1000}


class LeaderTerm(Base):
    """Who leads a role, and the term its writes carry (raised by each new leader)."""

    __tablename__ = "leader_term"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    term: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str] = mapped_column(String(255))
    since: Mapped[datetime] = mapped_column(UtcDateTime())


class SingletonRound(Base):
    """One round of singleton work: which leader ran it, under which term, and when (the
    store's clock), kept :data:`KEEP_ROUNDS`; rounds of two terms never overlap."""

    __tablename__ = "singleton_round"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    term: Mapped[int] = mapped_column(BigInteger, index=True)
    holder: Mapped[str] = mapped_column(String(255))
    work: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Fenced(RuntimeError):
    """This process is no longer the leader: the singleton write was not made."""


@dataclass(frozen=True)
class LeaderState:
    """This process's standing, for logs and metrics."""

    leader: bool
    term: int
    holder: str  # this process, ``host:pid``
    since: datetime | None = None  # when it became leader
    reason: str = ""  # why it is not (or since when it is) the leader

    def as_dict(self) -> dict[str, Any]:
        return {"leader": self.leader, "term": self.term, "holder": self.holder,
                "since": self.since.isoformat() if self.since else None,
                "reason": self.reason}


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_key(name: str) -> int:
    """The advisory lock's key: apart from :func:`citynet.db.exclusive`'s by a prefix."""
    digest = hashlib.sha256(f"citynet leader {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
# seconds a fenced transaction may sit idle (its process paused, or its Python busy
# between two statements): with the lock session's DEAD_AFTER, a successor leads within
# ~11 s even when the old leader froze in the middle of a write
FENCED_IDLE = 10
_TRANSACTION_LIMIT = text(f"SET LOCAL idle_in_transaction_session_timeout = {FENCED_IDLE * 1000}")
_TERMS = table(LeaderTerm)
_ROUNDS = table(SingletonRound)


class Leadership:
    """Campaigns for ``name`` and keeps the lock while it is held (``start``/``stop``).

    ``state`` is this process's standing now; :meth:`store` gives the store whose
    sessions are fenced by the term; :meth:`round` records one round of work."""

    def __init__(self, store: Store, name: str = SINGLETON, holder: str | None = None,
                 heartbeat: float = HEARTBEAT) -> None:
        self._store, self.name = store, name
        self.holder = holder or this_process()
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self.changed = threading.Event()  # set at each change of standing
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._engine: Engine | None = None
        self._sqlite_claim: IO[str] | None = None
        if store.is_sqlite:
            self._state = LeaderState(True, 0, self.holder, datetime.now(UTC),
                                      "SQLite: one node, always the leader")
        else:
            self._state = LeaderState(False, 0, self.holder, reason="not campaigned yet")

    @property
    def state(self) -> LeaderState:
        return self._state

    def start(self) -> Leadership:
        if self._store.is_sqlite:
            self._claim_sqlite_file()
            metrics.LEADER.set(1)  # /metrics: the one node leads, as the election would say
        elif self._thread is None:
            self._thread = threading.Thread(target=self._campaign, daemon=True,
                                            name=f"leader-{self.name}")
            self._thread.start()
        return self

    def stop(self) -> None:
        """Resign: the lock goes with the connection, so a follower takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=DEAD_AFTER + 5)
        if self._sqlite_claim is not None:
            self._sqlite_claim.close()  # the kernel drops the flock with the file
            self._sqlite_claim = None
        if self._store.is_sqlite:
            metrics.LEADER.set(0)
        self._drop("stopped")

    def _claim_sqlite_file(self) -> None:
        """SQLite has no election: every process that runs the singleton work leads. Two
        long-running ones on one file (two `citynet serve` or `citynet collect` on one
        data_dir by mistake) each run every collector, alert and purge — samples counted
        twice, notices sent twice — so the second is told, naming the key to change. A
        flock beside the file: the kernel frees it when its holder dies."""
        path = self._store.url.database
        if self._sqlite_claim is not None or not path or path == ":memory:":
            return
        claim = open(f"{path}.leader", "a")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            claim.close()
            log.warning("config: database.url: another process already leads %s on the "
                        "SQLite file %s, and SQLite has no election: both run the %s work "
                        "(collectors, alerts, purges), counting and sending twice; run one "
                        "collect role per SQLite file, or use PostgreSQL for several nodes",
                        self.name, path, self.name)
            return
        self._sqlite_claim = claim

    def lead_once(self) -> LeaderState:
        """One try for the lock, in this thread, without a heartbeat after it: for a
        single round (``citynet collect --once``); :meth:`stop` resigns."""
        if not self._store.is_sqlite:
            try:
                self._try()
            except Exception as exc:  # the store is down: not the leader
                self._drop(f"{type(exc).__name__}: {_first_line(exc)}", problem=True)
        return self._state

    def wait(self, timeout: float) -> LeaderState:
        """The standing after the next change (or ``timeout`` seconds)."""
        self.changed.wait(timeout)
        self.changed.clear()
        return self._state

    # --- the campaign thread ----------------------------------------------------------

    def _campaign(self) -> None:
        while not self._stop.is_set():
            try:
                if self._state.leader:
                    self._check()
                else:
                    self._try()
            except Exception as exc:  # the store is down or the session was ended
                self._drop(f"{type(exc).__name__}: {_first_line(exc)}", problem=True)
            self._stop.wait(self._heartbeat)

    def _connect(self) -> Connection:
        if self._connection is None:
            if self._engine is None:
                options = " ".join(f"-c {k}={v}" for k, v in _SERVER_LIMITS.items())
                self._engine = create_engine(
                    self._store.url, poolclass=NullPool, hide_parameters=True,
                    connect_args={**_CLIENT_LIMITS, "options": options,
                                  "application_name": f"citynet leader {self.holder}"[:63]})
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")
        return self._connection

    def _try(self) -> None:
        connection = self._connect()
        if not connection.scalar(_TRY_LOCK, {"key": lock_key(self.name)}):
            self._set(replace(self._state, reason="another process leads"))
            return
        # won: raise the term; this waits for an old leader's write in flight (FOR SHARE),
        # and "since" is read after that wait (clock_timestamp, not the statement's now())
        statement = upsert_insert(_TERMS, "postgresql").values(
            name=self.name, term=1, holder=self.holder, since=func.clock_timestamp())
        term = connection.scalar(statement.on_conflict_do_update(
            index_elements=[_TERMS.c.name],
            set_={"term": _TERMS.c.term + 1, "holder": self.holder,
                  "since": func.clock_timestamp()},
        ).returning(_TERMS.c.term))
        assert term is not None  # noqa: S101 - RETURNING of an upsert always gives a row
        self._set(LeaderState(True, int(term), self.holder, datetime.now(UTC),
                              "holds the lock"))
        log.warning("leader of %s: this process (%s), term %d", self.name, self.holder, term)

    def _check(self) -> None:
        """The heartbeat: the session (so the lock) is alive and the term is still ours."""
        connection = self._connect()
        term = connection.scalar(select(_TERMS.c.term).where(_TERMS.c.name == self.name))
        if term != self._state.term:
            self._drop(f"the term moved on to {term}")

    def _drop(self, reason: str, problem: bool = False) -> None:
        """Not the leader any more: close the lock's connection (which frees the lock if
        the session somehow still holds it) and say so once."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already dead: nothing to release
                log.debug("leader connection close: %s", exc)
        was = self._state
        if self._store.is_sqlite:
            return
        if was.leader:
            log.warning("leader of %s: this process (%s) lost term %d: %s", self.name,
                        self.holder, was.term, reason)
        elif was.reason != reason:  # a store problem is a warning; another leader is not
            log.log(logging.WARNING if problem else logging.INFO,
                    "leader of %s: not this process: %s", self.name, reason)
        self._set(LeaderState(False, was.term, self.holder, reason=reason))

    def _set(self, state: LeaderState) -> None:
        changed = state.leader != self._state.leader or state.term != self._state.term
        self._state = state
        metrics.LEADER.set(1 if state.leader else 0)  # /metrics: citynet_leader
        if changed:
            self.changed.set()

    # --- fenced writes ----------------------------------------------------------------

    def fence(self, session: Session) -> None:
        """In a write transaction: go on only if this process still holds its term, and
        keep the term from moving until the transaction ends. Raises :class:`Fenced`."""
        state = self._state
        if not state.leader:
            raise Fenced(f"{self.holder} is not the leader of {self.name}: {state.reason}")
        if self._store.is_sqlite:
            return
        # a leader frozen inside this transaction would hold the share lock, and keep its
        # successor's term waiting, for as long as it stays frozen: the server ends it
        session.execute(_TRANSACTION_LIMIT)
        stored = session.scalar(select(_TERMS.c.term).where(_TERMS.c.name == self.name)
                                .with_for_update(read=True))
        if stored != state.term:
            self._set(LeaderState(False, state.term, self.holder,
                                  reason=f"fenced: the term is {stored}"))
            raise Fenced(f"{self.holder} holds term {state.term} of {self.name} but the "
                         f"store is at term {stored}: another process leads")

    def store(self) -> Store:
        """The store, with every session fenced (for the singleton work's writes)."""
        return FencedStore(self._store, self)

    @contextmanager
    def round(self, work: str) -> Iterator[None]:
        """Record one round of singleton work (start and finish, on the store's clock).
        Raises :class:`Fenced` before the work if this process no longer leads."""
        term = self._state.term
        with self._store.session() as session:
            self.fence(session)
            round_id = session.execute(insert(_ROUNDS).values(
                term=term, holder=self.holder, work=work[:255],
                started_at=func.now()).returning(_ROUNDS.c.id)).scalar_one()
        yield
        with self._store.session() as session:
            self.fence(session)
            session.execute(update(_ROUNDS).where(_ROUNDS.c.id == round_id)
                            .values(finished_at=func.now()))

    def forget_rounds(self, now: datetime) -> int:
        """Drop round history older than :data:`KEEP_ROUNDS` (a retention purge itself)."""
        with self._store.session() as session:
            self.fence(session)
            result = session.execute(delete(_ROUNDS).where(
                _ROUNDS.c.started_at < now - KEEP_ROUNDS))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


class FencedStore(Store):
    """A store whose every session begins with the leader's fence. ``statement()``
    (autocommit, one statement a transaction) cannot carry the fence: refused."""

    def __init__(self, store: Store, leadership: Leadership) -> None:
        # shares the engine and session factory; only session() differs
        self.__dict__.update(store.__dict__)
        self._leadership = leadership

    @contextmanager
    def session(self) -> Iterator[Session]:
        with super().session() as session:
            self._leadership.fence(session)
            yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        raise Fenced("singleton work writes through fenced sessions, not statement()")
        yield  # pragma: no cover - makes this a generator

    def close(self) -> None:
        """The engine belongs to the store this one wraps."""


def leaders(store: Store) -> list[LeaderTerm]:
    """Every role's current term and leader, as the store has them."""
    with store.session() as session:
        return list(session.scalars(select(LeaderTerm).order_by(LeaderTerm.name)))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
