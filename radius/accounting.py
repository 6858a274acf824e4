"""Accounting that loses nothing: a record is durable before its response is sent.

:func:`event_from` turns a decoded Accounting-Request into an :class:`AccountingEvent`
(pure). :class:`RecordWriter` stores events from the asyncio listener in batches —
one transaction a batch (group commit) on a writer thread — and resolves each caller's
future only after that transaction committed. If the store fails, the futures fail, no
response is sent, and the NAS's retransmission is stored exactly once thanks to the
record's ``dedupe_key``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from citynet.db import Store, table
from radius import records
from radius.decisions import class_parts
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
    identity: str = ""  # whom the session is for (Class), else the User-Name

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


def _octets(request: Attributes, octets: str, gigawords: str) -> int:
    return int(request.get(gigawords) or 0) << 32 | int(request.get(octets) or 0)


def event_from(request: Attributes, nas: str, now: datetime) -> AccountingEvent:
    status = STATUS.get(str(request.get("Acct-Status-Type")))
    if status is None:
        raise UnusableAccounting("Acct-Status-Type missing or not one citynet records")
    session_id = str(request.get("Acct-Session-Id") or "")
    if not session_id and status not in ("on", "off"):
        raise UnusableAccounting("Acct-Session-Id missing")
    username = str(request.get("User-Name") or "")
    method, identity = class_parts(request.get("Class"))
    return AccountingEvent(
        nas=nas, received_at=now, status=status, session_id=session_id, username=username,
        calling_station=str(request.get("Calling-Station-Id") or ""),
        called_station=str(request.get("Called-Station-Id") or ""),
        framed_ip=str(request.get("Framed-IP-Address") or ""),
        session_time=int(request.get("Acct-Session-Time") or 0),
        input_octets=_octets(request, "Acct-Input-Octets", "Acct-Input-Gigawords"),
        output_octets=_octets(request, "Acct-Output-Octets", "Acct-Output-Gigawords"),
        terminate_cause=str(request.get("Acct-Terminate-Cause") or ""),
        delay=int(request.get("Acct-Delay-Time") or 0),
        nat_ip=str(request.get("H3C-NAT-IP-Address") or ""),
        nat_ports=_port_block(request.get("H3C-NAT-Start-Port"), request.get("H3C-NAT-End-Port")),
        method=method, identity=identity or username,
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
        result=event.terminate_cause if kind == "logout" else "", identity=event.identity,
        method=event.method, nas=event.nas, mac=records.normal_mac(event.calling_station),
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
    insert = sqlite_insert if sqlite else pg_insert
    rows = [{"dedupe_key": key, **{name: getattr(event, name) for name in RECORD_FIELDS}}
            for key, event in unique.items()]
    records_table = table(AccountingRecord)
    # executemany of one cached statement ("insertmanyvalues"): a multi-row VALUES built
    # per batch would be compiled anew every time, which costs more than the writes
    inserted = set(session.connection().scalars(
        insert(records_table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(records_table.c.dedupe_key), rows))
    fresh = [event for key, event in unique.items() if key in inserted]
    live = _load_sessions(session, fresh)
    with session.no_autoflush:
        for event in fresh:
            _apply_to_sessions(session, event, live)
    claimed: set[str] = set()
    result = []
    for event in events:  # the first occurrence of a new key is the new one
        key = event.dedupe_key
        result.append(key in inserted and key not in claimed)
        claimed.add(key)
    return result


def _load_sessions(session: Session,
                   events: list[AccountingEvent]) -> dict[tuple[str, str], RadiusSession]:
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.session_id:
            wanted.setdefault(event.nas, set()).add(event.session_id)
    live = {}
    for nas, ids in wanted.items():
        for found in session.scalars(select(RadiusSession).where(
                RadiusSession.nas == nas, RadiusSession.session_id.in_(ids))):
            live[(found.nas, found.session_id)] = found
    return live


def _apply_to_sessions(session: Session, event: AccountingEvent,
                       sessions: dict[tuple[str, str], RadiusSession]) -> None:
    if event.status in ("on", "off"):
        # The NAS (re)booted: whatever it had open is over.
        session.flush()
        session.execute(
            update(RadiusSession)
            .where(RadiusSession.nas == event.nas, RadiusSession.stopped_at.is_(None))
            .values(stopped_at=event.received_at, updated_at=event.received_at,
                    terminate_cause="NAS-Reboot"))
        return
    live = sessions.get((event.nas, event.session_id))
    if live is None:  # a Start may be lost or late: any record opens the session
        live = RadiusSession(
            nas=event.nas, session_id=event.session_id,
            started_at=event.received_at - timedelta(seconds=event.delay + event.session_time))
        session.add(live)
        sessions[(event.nas, event.session_id)] = live
    live.username = event.username or live.username
    live.identity = event.identity or live.identity
    live.method = event.method or live.method
    live.called_station = event.called_station or live.called_station
    live.calling_station = event.calling_station or live.calling_station
    live.framed_ip = event.framed_ip or live.framed_ip
    live.updated_at = event.received_at
    # counters only grow within a session; an out-of-order older interim must not shrink them
    live.session_time = max(live.session_time or 0, event.session_time)
    live.input_octets = max(live.input_octets or 0, event.input_octets)
    live.output_octets = max(live.output_octets or 0, event.output_octets)
    if event.status == "stop":
        live.stopped_at = event.received_at
        live.terminate_cause = event.terminate_cause


Job = AccountingEvent | LoginEvent


class RecordWriter:
    """Group commit from the event loop to the store on one writer thread: accounting
    records and login records, so the login-record chain has a single appender."""

    def __init__(self, store: Store, max_batch: int = 400,
                 after_commit: Callable[[list[AccountingEvent]], None] | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        self.after_commit = after_commit  # sees each batch's new accounting, once durable
        self._queue: queue.Queue[tuple[Job, asyncio.Future[bool]] | None] = (
            queue.Queue())
        self._thread = threading.Thread(target=self._run, name="accounting-writer",
                                        daemon=True)
        self.batches = 0
        self.stored = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    async def write(self, event: Job) -> bool:
        """Resolves once the record is durable: True if new, False if already stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put((event, future))
        return bool(await future)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Job, asyncio.Future[bool]]]) -> None:
        futures = [future for _job, future in batch]
        try:
            with self.store.session() as session:
                news = self._store(session, [job for job, _future in batch])
        except Exception as exc:  # the store failed: no response for any of them
            log.error("accounting batch of %d not stored: %s", len(batch), exc)
            _resolve(futures, [exc for _future in futures])
            return
        self.batches += 1
        self.stored += sum(news)
        _resolve(futures, list(news))
        if self.after_commit is not None:
            fresh = [job for (job, _future), new in zip(batch, news, strict=True)
                     if new and isinstance(job, AccountingEvent)]
            try:
                self.after_commit(fresh)
            except Exception as exc:  # what follows a commit never costs a record
                log.error("after-commit check failed: %s", exc)

    def _store(self, session: Session, jobs: list[Job]) -> list[bool]:
        accounting = [job for job in jobs if isinstance(job, AccountingEvent)]
        new_accounting = iter(store_batch(session, accounting, self.store.is_sqlite))
        news, logins = [], []
        for job in jobs:  # login records in arrival order
            if isinstance(job, LoginEvent):
                news.append(True)
                logins.append(job)
                continue
            new = next(new_accounting)
            news.append(new)
            login = login_event(job) if new else None
            if login is not None:
                logins.append(login)
        records.append(session, logins)
        return news


def _resolve(futures: list[asyncio.Future[bool]], outcomes: list[bool | Exception]) -> None:
    """Hand a batch's outcomes to the event loop in one wake-up, not one per record."""

    def apply() -> None:
        for future, outcome in zip(futures, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    if futures:
        futures[0].get_loop().call_soon_threadsafe(apply)


