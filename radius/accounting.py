"""Accounting that loses nothing: a record is durable before its response is sent.

:func:`event_from` turns a decoded Accounting-Request into an :class:`AccountingEvent`
(pure). :class:`RecordWriter` does RADIUS's store work: it stores accounting records and
decides logins (with their login records) in batches — one transaction a batch (group
commit) — and tells each caller the outcome only after that transaction committed. If
the store fails, no response is sent, and the NAS's retransmission is stored exactly
once thanks to the record's ``dedupe_key``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from citynet.db import (
    ColumnStatement,
    DriverStatement,
    Store,
    kept_lengths,
    lend,
    pipelined,
    table,
)
from citynet.logs import store_failed, store_works
from citynet.macs import normal_mac
from radius import guesses, records, retries
from radius.decisions import (
    Decision,
    ForeignLogin,
    Login,
    LoginAttempt,
    class_parts,
    login_record,
)
from radius.models import AccountingRecord, RadiusSession
from radius.records import LoginEvent

log = logging.getLogger(__name__)

STATUS = {"Start": "start", "Stop": "stop", "Interim-Update": "interim",
          "Accounting-On": "on", "Accounting-Off": "off"}


class Attributes(Protocol):
    """A request's attributes by name: a decoded packet, or rlm_rest's JSON."""

    def get(self, name: str) -> Any: ...


class UnusableAccounting(ValueError):
    """An Accounting-Request without what RFC 2866 requires (status, session id)."""


@dataclass(frozen=True)
class AccountingEvent:
    nas: str
    received_at: datetime
    status: str
    session_id: str
    username: str
    calling_station: str
    called_station: str
    framed_ip: str
    session_time: int
    input_octets: int
    output_octets: int
    terminate_cause: str
    delay: int
    nat_ip: str = ""
    nat_ports: str = ""
    method: str = ""  # from the Class we put in the Access-Accept, echoed by the NAS
    identity: str = ""  # whom the session is for, from our Class ('' without one)

    @property
    def dedupe_key(self) -> str:
        """Same for every retransmission of one request (Acct-Delay-Time aside)."""
        parts: tuple[str, ...] = (
            self.nas, self.status, self.session_id, self.username, self.calling_station,
            str(self.session_time), str(self.input_octets), str(self.output_octets),
            self.terminate_cause)
        if self.status in ("on", "off"):  # these carry no session: the NAS's event time
            parts += ((self.received_at - timedelta(seconds=self.delay)).isoformat(
                timespec="minutes"),)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _number(request: Attributes, name: str) -> int:
    """A 32-bit counter (decoded from a datagram: an int already; from rlm_rest's JSON: a
    number, or digits)."""
    value = request.get(name)
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 32:
        raise UnusableAccounting(f"{name} is not a 32-bit counter")
    return value


# What the store's columns hold (BIGINT, INTEGER: signed). A NAS may count past them — 64
# bits of octets with Gigawords, a session time past 2^31 s from a broken clock — and a
# value the column refuses would lose the record for ever (the NAS retrying it): such a
# counter is kept at the column's maximum instead; no real session gets near either.
MAX_OCTETS = (1 << 63) - 1
MAX_SESSION_TIME = (1 << 31) - 1


def _octets(request: Attributes, octets: str, gigawords: str) -> int:
    return min(_number(request, gigawords) << 32 | _number(request, octets), MAX_OCTETS)


# A NAS may send up to 253 bytes where a column keeps fewer (PostgreSQL would refuse the
# row: the record lost, the NAS retrying for ever); the record keeps what fits.
_KEPT = kept_lengths(AccountingRecord)


def _text(request: Attributes, name: str, column: str) -> str:
    return str(request.get(name) or "")[:_KEPT[column]]


# the methods of a Class from an admission gate (citynet.gates): 802.1X, MAC bypass
ADMISSIONS = frozenset({"eap", "mab"})


def event_from(request: Attributes, nas: str, now: datetime) -> AccountingEvent:
    status = STATUS.get(str(request.get("Acct-Status-Type")))
    if status is None:
        raise UnusableAccounting("Acct-Status-Type missing or not one citynet records")
    session_id = _text(request, "Acct-Session-Id", "session_id")
    if not session_id and status not in ("on", "off"):
        raise UnusableAccounting("Acct-Session-Id missing")
    method, identity = class_parts(request.get("Class"))
    called = _text(request, "Called-Station-Id", "called_station")
    if method in ADMISSIONS:  # per switch port (or AP and SSID), as the login's record
        called = records.place(called, str(request.get("NAS-Port-Id") or ""))[
            :_KEPT["called_station"]]
    return AccountingEvent(
        nas=nas, received_at=now, status=status, session_id=session_id,
        username=_text(request, "User-Name", "username"),
        calling_station=_text(request, "Calling-Station-Id", "calling_station"),
        called_station=called,
        framed_ip=_text(request, "Framed-IP-Address", "framed_ip"),
        session_time=min(_number(request, "Acct-Session-Time"), MAX_SESSION_TIME),
        input_octets=_octets(request, "Acct-Input-Octets", "Acct-Input-Gigawords"),
        output_octets=_octets(request, "Acct-Output-Octets", "Acct-Output-Gigawords"),
        terminate_cause=_text(request, "Acct-Terminate-Cause", "terminate_cause"),
        delay=_number(request, "Acct-Delay-Time"),
        nat_ip=str(request.get("H3C-NAT-IP-Address") or ""),
        nat_ports=_port_block(request.get("H3C-NAT-Start-Port"), request.get("H3C-NAT-End-Port")),
        method=method, identity=identity,
    )


def _port_block(start: object, end: object) -> str:
    if start is None:
        return ""
    return f"{start}-{end}" if end is not None else str(start)


def login_event(event: AccountingEvent) -> LoginEvent | None:
    """The compliance record of a session's start or end (None for other statuses)."""
    kind = {"start": "session-start", "stop": "logout"}.get(event.status)
    if kind is None:
        return None
    return LoginEvent(
        at=event.received_at - timedelta(seconds=event.delay), event=kind,
        result=event.terminate_cause if kind == "logout" else "",
        identity=event.identity or event.username,
        method=event.method, nas=event.nas, mac=normal_mac(event.calling_station),
        called_station=event.called_station, private_ip=event.framed_ip,
        nat_ip=event.nat_ip, nat_ports=event.nat_ports, session_id=event.session_id)


RECORD_FIELDS = ("received_at", "nas", "status", "session_id", "username", "calling_station",
                 "called_station", "framed_ip", "session_time", "input_octets", "output_octets",
                 "terminate_cause")


def store_batch(session: Session, events: list[AccountingEvent], sqlite: bool) -> list[bool]:
    """Insert the records not stored yet and update live sessions, set-wise.

    Returns, for each event, whether it was new (False: a retransmission of a record
    already stored, in this batch or before)."""
    if not events:
        return []
    unique: dict[str, AccountingEvent] = {}
    for event in events:
        unique.setdefault(event.dedupe_key, event)
    inserted = _insert_records(session, unique, sqlite)
    update_sessions(session, [event for key, event in unique.items() if key in inserted],
                    sqlite)
    claimed: set[str] = set()
    result = []
    for event in events:  # the first occurrence of a new key is the new one
        key = event.dedupe_key
        result.append(key in inserted and key not in claimed)
        claimed.add(key)
    return result


_RECORDS = table(AccountingRecord)
_RECORD_COLUMNS = ("dedupe_key", *RECORD_FIELDS)
_PG_INSERT_RECORDS = ColumnStatement.insert(
    _RECORDS, _RECORD_COLUMNS, "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key")
# SQLite: one prebuilt INSERT run for each record on the driver (DriverStatement.each),
# whose count says whether it was new — the driver's executemany gives back no RETURNING
# rows, and SQLAlchemy's ("insertmanyvalues") sends a new multi-row VALUES each batch
_SQLITE_INSERT_RECORD = DriverStatement(sqlite_insert(_RECORDS).on_conflict_do_nothing(
    index_elements=["dedupe_key"]), _RECORD_COLUMNS)


def _insert_records(session: Session, unique: dict[str, AccountingEvent],
                    sqlite: bool) -> set[str]:
    """The keys of the records among ``unique`` (by key) not stored before, now stored."""
    # in key order: two processes storing the same retransmissions wait for each other
    # in one order (a unique key's insert waits for the other's commit) — they queue;
    # a deadlock across kinds of lock is still possible, and retried (ROUND_TRIES)
    keys = sorted(unique)
    if not sqlite:  # where SQLAlchemy's executemany sends a new multi-row VALUES a batch
        columns = {"dedupe_key": keys, **{
            name: [getattr(unique[key], name) for key in keys] for name in RECORD_FIELDS}}
        return {key for (key,) in _PG_INSERT_RECORDS.all(session, columns)}
    rows = [{"dedupe_key": key, **{name: getattr(unique[key], name) for name in RECORD_FIELDS}}
            for key in keys]
    counts = _SQLITE_INSERT_RECORD.each(session, rows)
    return {key for key, count in zip(keys, counts, strict=True) if count}


# --- live sessions (Core statements: this runs for every accounting record) -------------

TEXTS = ("username", "method", "calling_station", "called_station", "framed_ip")
COUNTERS = ("session_time", "input_octets", "output_octets")
SESSION_FIELDS = (*TEXTS, "identity", *COUNTERS, "updated_at", "active_at", "stopped_at",
                  "terminate_cause")


def fold(state: dict[str, Any] | None, event: AccountingEvent) -> dict[str, Any]:
    """A session's row after one more accounting record (pure). Any record opens a session
    (its Start may be lost or late); counters only grow, so an out-of-order older interim
    cannot shrink them; a Stop closes it."""
    if state is None:
        state = {"nas": event.nas, "session_id": event.session_id,
                 "started_at": event.received_at - timedelta(
                     seconds=event.delay + event.session_time),
                 "stopped_at": None, "terminate_cause": "", "identity": "",
                 "active_at": None,
                 **dict.fromkeys(TEXTS, ""), **dict.fromkeys(COUNTERS, 0)}
    else:
        state = dict(state)
    for name in TEXTS:
        state[name] = getattr(event, name) or state[name]
    # whose session: our Class says; without it (a NAS that does not echo Class), the
    # User-Name — but never over an identity a Class gave
    state["identity"] = event.identity or state["identity"] or event.username
    if event.input_octets > (state["input_octets"] or 0) or (
            event.output_octets > (state["output_octets"] or 0)):
        state["active_at"] = event.received_at
    for name in COUNTERS:
        state[name] = max(state[name] or 0, getattr(event, name))
    state["updated_at"] = event.received_at
    if event.status == "stop":
        state["stopped_at"] = event.received_at
        state["terminate_cause"] = event.terminate_cause
    return state


# CoovaChilli names a session by the second it began and its connection's slot
# ("%.8lld%.8x"): a device logged out and let in again within one second — a remembered
# phone's MAC login right after its logout — gets its last session's id. A Start for a
# session stopped before it (by its NAS's clock) is such a new session: the stopped row
# keeps its history under a retired id and the new session opens. A late Start of the
# session itself is older than its Stop, and is folded into it.
def reuses_id(state: dict[str, Any], event: AccountingEvent) -> bool:
    """Whether ``event`` opens a new session under a stopped session's id (pure)."""
    return (event.status == "start" and state["stopped_at"] is not None
            and event.received_at - timedelta(seconds=event.delay) >= state["stopped_at"])


def retired_id(session_id: str, stopped_at: datetime) -> str:
    """The id a stopped session keeps once a new one took its own: unique by when it
    stopped, within the column's length."""
    suffix = f"~{stopped_at:%Y%m%dT%H%M%S.%f}"
    return session_id[:_KEPT_SESSION_ID - len(suffix)] + suffix


_KEPT_SESSION_ID = kept_lengths(RadiusSession)["session_id"]
SessionKey = tuple[str, str]  # (nas, session id)


def fold_all(states: dict[SessionKey, dict[str, Any]],
             events: Sequence[AccountingEvent]) -> list[dict[str, Any]]:
    """Fold ``events`` into ``states`` (by key) in arrival order; the stopped sessions
    whose id a new session took (:func:`reuses_id`), each under its retired id."""
    retired = []
    for event in events:
        key = (event.nas, event.session_id)
        state = states.get(key)
        if state is not None and reuses_id(state, event):
            retired.append({**state, "session_id": retired_id(
                event.session_id, state["stopped_at"])})
            state = None
        states[key] = fold(state, event)
    return retired


def update_sessions(session: Session, events: list[AccountingEvent], sqlite: bool) -> None:
    """Bring the live-session rows up to date with new records, in arrival order.
    Accounting-On/-Off (the NAS rebooted) closes what that NAS had open before it."""
    segment: list[AccountingEvent] = []
    for event in events:
        if event.status not in ("on", "off"):
            segment.append(event)
            continue
        _write_sessions(session, segment, sqlite)
        segment = []
        session.execute(
            update(table(RadiusSession))
            .where(RadiusSession.nas == event.nas, RadiusSession.stopped_at.is_(None))
            .values(stopped_at=event.received_at, updated_at=event.received_at,
                    terminate_cause="NAS-Reboot"))
    _write_sessions(session, segment, sqlite)


_SESSIONS = table(RadiusSession)
_SESSION_COLUMNS = tuple(_SESSIONS.c.keys())
# built once; the writes run on the driver (DriverStatement): every Accounting-Start,
# Interim and Stop writes its session's row, and SQLAlchemy's per-execution work (cache
# keys, execution contexts, results) cost several times the writes.
# SQLite's read: its round holds the one write lock, so the row read is the row written
# back. PostgreSQL's (_PG_SESSION_ROWS below) reads FOR UPDATE: whatever another
# process's round does meanwhile waits for this one's commit; in (NAS, session id)
# order, so two rounds of the same sessions queue (a deadlock with other locks is retried).
_SQLITE_SESSION_ROW = DriverStatement(select(_SESSIONS).where(
    _SESSIONS.c.nas == bindparam("nas"), _SESSIONS.c.session_id == bindparam("session_id")))
_SQLITE_UPDATE_SESSION = DriverStatement(
    update(_SESSIONS).where(_SESSIONS.c.id == bindparam("row_id"))
    .values({name: bindparam("new_" + name) for name in SESSION_FIELDS}))
_INSERT_COLUMNS = ("nas", "session_id", "started_at", *SESSION_FIELDS)
# a new session's row, unless it is there already (on PostgreSQL, _PG_INSERT_SESSIONS:
# another process's round inserted it meanwhile; the insert waits for that round's
# commit, then leaves the row to _write_sessions)
_SQLITE_INSERT_SESSION = DriverStatement(sqlite_insert(_SESSIONS).on_conflict_do_nothing(
    index_elements=["nas", "session_id"]), _INSERT_COLUMNS)
# PostgreSQL: one statement each for the whole segment (ColumnStatement)
_PG_SESSION_ROWS = ColumnStatement.select(
    _SESSIONS, ("nas", "session_id"),
    "ORDER BY stored.nas, stored.session_id FOR UPDATE OF stored")
_PG_UPDATE_SESSIONS = ColumnStatement.update(_SESSIONS, "id", SESSION_FIELDS)
_PG_INSERT_SESSIONS = ColumnStatement.insert(
    _SESSIONS, _INSERT_COLUMNS, "ON CONFLICT (nas, session_id) DO NOTHING RETURNING id")


def _locked_states(session: Session, keys: set[SessionKey],
                   sqlite: bool) -> dict[SessionKey, dict[str, Any]]:
    """The stored rows of these sessions, locked until the round commits (PostgreSQL),
    in (NAS, session id) order, so every process takes them in the same order."""
    if not sqlite:
        pairs = sorted(keys)
        rows = (dict(zip(_SESSION_COLUMNS, values, strict=True))
                for values in _PG_SESSION_ROWS.all(session, {
                    "nas": [nas for nas, _id in pairs],
                    "session_id": [session_id for _nas, session_id in pairs]}))
        return {(row["nas"], row["session_id"]): row for row in rows}
    # a read by the unique key for each session: one prebuilt statement, where an
    # expanding IN is a new text (and compilation) for each number of sessions
    found = _SQLITE_SESSION_ROW.first_of_each(session, [
        {"nas": nas, "session_id": session_id} for nas, session_id in sorted(keys)])
    rows = (dict(zip(_SESSION_COLUMNS, values, strict=True))
            for values in found if values is not None)
    return {(row["nas"], row["session_id"]): row for row in rows}


def _write_states(session: Session, known: list[dict[str, Any]], new: list[dict[str, Any]],
                  sqlite: bool) -> int:
    """Write the ``known`` rows back and insert the ``new``; how many of these were
    inserted (fewer: another process's round inserted the others first)."""
    if not sqlite:
        if known:
            _PG_UPDATE_SESSIONS.run(session, _columns(known, ("id", *SESSION_FIELDS)))
        return len(_PG_INSERT_SESSIONS.all(session, _columns(new, _INSERT_COLUMNS))) if new else 0
    _SQLITE_UPDATE_SESSION.many(session, [
        {"row_id": state["id"], **{"new_" + name: state[name] for name in SESSION_FIELDS}}
        for state in known])
    return _SQLITE_INSERT_SESSION.many(session, new)


def _write_sessions(session: Session, events: list[AccountingEvent], sqlite: bool) -> None:
    if not events:
        return
    states = _locked_states(session, {(event.nas, event.session_id) for event in events},
                            sqlite)
    retired = fold_all(states, events)
    if _write_folded(session, list(states.values()), retired, sqlite):
        return
    # Another process's round inserted some of these sessions after our read, and
    # committed (the insert waited for it): this round's records are folded into its
    # rows now. Folding our own records again into a row we inserted changes nothing
    # (counters are maxima, the rest the last record's), so all of them are re-read.
    raced = _locked_states(session, {key for key, state in states.items()
                                     if state.get("id") is None}, sqlite)
    retired = fold_all(raced, [event for event in events
                               if (event.nas, event.session_id) in raced])
    _write_folded(session, list(raced.values()), retired, sqlite)


_RENAME_SESSION = update(_SESSIONS).where(_SESSIONS.c.id == bindparam("row_id")).values(
    session_id=bindparam("new_session_id"))


def _write_folded(session: Session, states: list[dict[str, Any]],
                  retired: list[dict[str, Any]], sqlite: bool) -> bool:
    """Write folded sessions: the stored ones back, the others inserted — a retired one
    renamed first, so that its id is free for the new session; whether every insert was
    made (False: another process's round inserted one of them first)."""
    renamed = [{"row_id": state["id"], "new_session_id": state["session_id"]}
               for state in retired if state.get("id") is not None]
    if renamed:  # rare: only where a NAS reused a session's id (fold_all)
        session.execute(_RENAME_SESSION, renamed)
    everything = [*states, *retired]
    known = [state for state in everything if state.get("id") is not None]
    new = sorted((state for state in everything if state.get("id") is None),
                 key=lambda state: (state["nas"], state["session_id"]))
    return _write_states(session, known, new, sqlite) == len(new)


# PostgreSQL's answer to two rounds each waiting for the other's rows (deadlock
# detected; serialization failure): it rolls one back whole, which is then tried again
# from the start rather than failing every request of the round
CONTENDED = frozenset({"40P01", "40001"})
ROUND_TRIES = 3


def contended(exc: OperationalError) -> bool:
    """The store ended the transaction to break a deadlock: trying again may succeed."""
    return getattr(exc.orig, "sqlstate", None) in CONTENDED


def _columns(states: list[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    return {name: [state[name] for state in states] for name in names}


Job = AccountingEvent | Login | ForeignLogin
# what a job's caller is told: an accounting record was new (True) or stored before
# (False); a login's Decision (a foreign login's own, once recorded); or the exception
# that kept it from the store
Outcome = bool | Decision | Exception
Done = Callable[[Outcome], None]
Decide = Callable[[Session, LoginAttempt, str, str], Decision]  # (session, attempt, nas, profile)
# before a round's decisions: (session, the (attempt, nas) of each of its logins — the
# retries among them not known yet); on PostgreSQL inside the pipeline of the round's
# claims (citynet.db.pipelined): what it sends, it reads when a decision needs it
Prepare = Callable[[Session, Sequence[tuple[LoginAttempt, str]]], None]
# a login decided elsewhere, recorded in this transaction: (session, attempt, nas, decision)
Refused = Callable[[Session, LoginAttempt, str, Decision], None]


class RecordWriter:
    """Group commit of RADIUS store work: accounting records, logins to decide (with their
    login records) and logins decided elsewhere, one transaction per batch — so a decision
    (a voucher's device slot, a token spent) and the record of it commit together. The
    RADIUS service's event loop hands over each round of jobs, from its UDP ports and its
    rlm_rest API (:meth:`run`).

    Writers of one store, in one process or several: on PostgreSQL each decision and
    session write locks its own rows (docs/radius.md, "Several listener processes"), and
    each writer appends its login records to a chain of its own (``chain_no``), so no
    writer waits for another's commit — writers on one chain take turns from the append
    to the commit, on the chain's lock. On SQLite a round holds the database's one write
    lock throughout, and every record goes on chain 0."""

    def __init__(self, store: Store, max_batch: int = 400,
                 after_commit: Callable[[list[AccountingEvent]], None] | None = None,
                 decide: Decide | None = None, prepare: Prepare | None = None,
                 chain_no: int = 0, refused: Refused | None = None) -> None:
        self.store = store
        # SQLite: one writer at a time whatever the chain; one chain keeps the records simple
        self.chain_no = 0 if store.is_sqlite else chain_no
        self.max_batch = max_batch
        self.after_commit = after_commit  # sees each batch's new accounting, once durable
        self.decide = decide  # needed for Login jobs
        self.prepare = prepare  # reads for a round's decisions, made at once (optional)
        # told of each refusal decided elsewhere as it is recorded (a wrong PEAP password
        # counts towards a hold), in the same transaction (optional)
        self.refused = refused
        self.batches = 0
        self.stored = 0
        self.retries = 0  # retried logins answered with the decision already stored
        self.contended = 0  # rounds rolled back by a deadlock and tried again
        # each thread's session, used again round after round (closed after each)
        self._sessions = threading.local()

    def run(self, jobs: Sequence[tuple[Job, Done]]) -> None:
        """Do ``jobs`` on the calling thread, ``max_batch`` to a transaction; each ``done``
        runs here with its :data:`Outcome` once its transaction committed (or failed)."""
        for start in range(0, len(jobs), self.max_batch):
            self._commit(jobs[start:start + self.max_batch])

    def _commit(self, batch: Sequence[tuple[Job, Done]]) -> OperationalError | None:
        """Store ``batch`` and tell each job's caller; the error if the store itself
        failed. (The engine hides statement parameters: no credential reaches the log.)"""
        try:
            outcomes, retried = self._transaction([job for job, _done in batch])
        except OperationalError as exc:  # the store failed: no response for any of them
            # the batch's size stays out of the line: it is the throttle's key, and every
            # size would be a cause of its own (9 lines for one 10-s outage, not 2)
            store_failed(log, "batch not stored", exc)
            _resolve(batch, [exc for _item in batch])
            return exc
        except Exception as exc:
            if len(batch) == 1:
                store_failed(log, f"{type(batch[0][0]).__name__} not stored", exc)
                _resolve(batch, [exc])
                return None
            # one bad job (a value the store refuses) must not cost the rest their answer
            store_failed(log, "batch not stored, storing its records one by one",
                         exc)
            for index, item in enumerate(batch):
                failed = self._commit([item])
                if failed is not None:  # the store itself failed: so would the rest
                    _resolve(batch[index + 1:], [failed for _item in batch[index + 1:]])
                    return failed
            return None
        self.batches += 1
        self.retries += retried
        self.stored += sum(1 for outcome in outcomes if outcome is True)
        _resolve(batch, outcomes)
        store_works(log)  # committed: failures held back by the log throttle are told
        if self.after_commit is not None:
            fresh = [job for (job, _done), new in zip(batch, outcomes, strict=True)
                     if new is True and isinstance(job, AccountingEvent)]
            try:
                self.after_commit(fresh)
            except Exception as exc:  # what follows a commit never costs a record
                log.error("after-commit check failed: %s", exc)
        return None

    def _transaction(self, jobs: list[Job]) -> tuple[list[Outcome], int]:
        """:meth:`_store` in a transaction of its own, tried again (up to
        :data:`ROUND_TRIES` in all) when PostgreSQL ended it to break a deadlock."""
        tries = 0
        while True:
            tries += 1
            try:
                return self._in_session(jobs)
            except OperationalError as exc:
                if tries >= ROUND_TRIES or not contended(exc):
                    raise
                self.contended += 1
                log.info("round rolled back by the store to break a deadlock (%s): "
                         "trying it again", getattr(exc.orig, "sqlstate", ""))

    def _in_session(self, jobs: list[Job]) -> tuple[list[Outcome], int]:
        """:meth:`_store` in one transaction, committed (rolled back if it raises): begun
        on the thread's connection (:meth:`Store.pinned`) and lent to this thread's
        session (:func:`lend`), which is closed after it — nothing loaded, no lock or
        connection noted in ``info`` outlives the round — and used again by the next
        round. The session's own transaction machinery (SQLAlchemy's unit of work) is
        paid only by a round whose decisions use the ORM: a PEAP post-auth round's
        decision and record go on the driver. A thread's own session: a writer may run
        on several."""
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = self.store.new_session()
        try:
            with self.store.pinned() as connection, connection.begin():
                lend(session, connection)
                outcomes = self._store(session, jobs)
                if session.in_transaction():  # the ORM joined: its changes into the round's
                    session.commit()  # (flushed; the connection's commit is the round's)
                return outcomes
        finally:
            session.close()
            session.info.clear()

    def _store(self, session: Session, jobs: list[Job]) -> tuple[list[Outcome], int]:
        """The outcomes, and how many logins were retries answered as decided before."""
        if self.store.is_sqlite:
            # SQLite has no row locks: the store's one write lock first, so what the
            # decisions read (a voucher's free slots) nobody changes before they write
            records.LEDGER.lock(session)
        # PostgreSQL: what a decision changes, it changes under the rows' own locks (a
        # slot by a conditional UPDATE, a session FOR UPDATE, a request by its claim);
        # the chain's lock is taken by the append, last — only it and the commit are one
        # writer at a time, and only among the writers of one chain
        accounting = [job for job in jobs if isinstance(job, AccountingEvent)]
        new_accounting = iter(store_batch(session, accounting, self.store.is_sqlite))
        outcomes: list[Outcome] = []
        logins: list[LoginEvent] = []
        pending: guesses.Keys = Counter()
        decided: dict[str, Decision] = {}  # request identities decided in this batch
        # PostgreSQL: the claims and what the decisions read first go to the server
        # together, one round trip (the transaction's BEGIN went with the connection's
        # check); the reads are made for the retries among the logins too, which are
        # not known as such before the claims come back. No claims, no pipeline: its
        # end alone would cost a round trip
        keys = {job.request_key for job in jobs if isinstance(job, Login) and job.request_key}
        with pipelined(session) if keys else nullcontext():
            claims = retries.claiming(session, keys, datetime.now(UTC))
            if self.prepare is not None:
                self.prepare(session, [(job.attempt, job.nas) for job in jobs
                                       if isinstance(job, Login)])
        claimed, known = claims()
        retried = 0
        for job in jobs:  # login records in arrival order
            if isinstance(job, AccountingEvent):
                new = next(new_accounting)
                outcomes.append(new)
                login = login_event(job) if new else None
                if login is not None:
                    logins.append(login)
                continue
            if job.deadline is not None and time.monotonic() > job.deadline:
                outcomes.append(TimeoutError("nobody waits for this login any more"))
                continue
            if isinstance(job, ForeignLogin):  # decided elsewhere: its record (and a
                # refusal told to whoever counts them)
                decision = job.decision
                if self.refused is not None and not decision.accept:
                    self.refused(session, job.attempt, job.nas, decision)
            elif self.decide is None:
                raise RuntimeError("this record writer decides no logins")
            elif job.request_key:
                earlier = decided.get(job.request_key) or known.get(job.request_key)
                if earlier is not None:  # a retry of a decided request: answered, not recorded
                    retried += 1
                    outcomes.append(earlier)
                    continue
                decision = decided[job.request_key] = self.decide(
                    session, job.attempt, job.nas, job.profile)
            else:
                decision = self.decide(session, job.attempt, job.nas, job.profile)
            outcomes.append(decision)
            # the login record commits with the decision, before the answer leaves;
            # a burst of wrong voucher codes is recorded up to its cap only
            record = login_record(job.attempt, job.nas, decision)
            if guesses.recordable(session, record, pending):
                logins.append(record)
        if not (claimed or logins):  # interim updates alone: no decision, no chain
            return outcomes, retried
        # PostgreSQL: the decisions' writes, the chain's lock and head read go to the
        # server together, then the records and the new head — two round trips, where
        # each statement was one (the results these read come later, or never)
        with pipelined(session):
            retries.remember(session, claimed, decided)
            if logins:
                records.append(session, logins, self.chain_no)
        return outcomes, retried


def _resolve(batch: Sequence[tuple[Job, Done]], outcomes: list[Outcome]) -> None:
    for (_job, done), outcome in zip(batch, outcomes, strict=True):
        try:
            done(outcome)
        except Exception:  # one caller's bug must not cost the others their answer
            log.exception("record outcome not delivered")
