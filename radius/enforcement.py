"""Limits that accounting reveals, enforced with Disconnect-Requests (RFC 5176).

After each accounting batch is durable, the sessions it touched are checked on a thread
of their own (not the RADIUS service's event loop):

- a person over the day's time or traffic (their profile's ``daily_minutes`` /
  ``daily_megabytes``, seen in Start and Interim-Update counters): every open session of
  theirs is disconnected — for a NAS that ignores Session-Timeout or
  ChilliSpot-Max-Total-Octets, or a limit crossed on two devices at once;
- a remembered MAC online at two access points at once (a cloned MAC): both sessions are
  disconnected and the remembrance ends, so the next login goes through the portal.

A session is sent at most one Disconnect in ``REPEAT_AFTER`` seconds, so every interim
of a NAS that NAKs does not trigger another.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.db import Store
from citynet.macs import normal_mac
from radius import coa, remembered, usage
from radius.accounting import AccountingEvent
from radius.models import RadiusSession
from radius.nas import NasEntry
from radius.profiles import ProfileBook, Terms
from radius.wire import Code

log = logging.getLogger(__name__)

REPEAT_AFTER = 600.0
PERSON_METHODS = frozenset({"sms", "totp", "mac"})  # vouchers carry their own limits

Send = Callable[..., coa.CoaResult]


@dataclass(frozen=True)
class Kick:
    """A session to disconnect, and why."""

    nas: str
    session_id: str
    username: str
    mac: str
    ip: str
    reason: str


def access_point(called_station: str) -> str:
    """The AP in a Called-Station-Id (``AP-MAC:SSID``), as a normal MAC when it is one."""
    return normal_mac(called_station[:17]) or called_station.rpartition(":")[0] or called_station


def over_limit(terms: Terms, used: usage.Usage) -> str:
    """Why a person's day is over ('' if it is not)."""
    if terms.daily_minutes and used.seconds >= terms.daily_seconds:
        return "daily time used up"
    if terms.daily_megabytes and used.octets >= terms.daily_octets:
        return "daily data used up"
    return ""


def clones(sessions: list[RadiusSession]) -> dict[str, list[RadiusSession]]:
    """Remembered-device sessions of one MAC carrying traffic at two access points at
    once, by MAC. A device that roams leaves its old session open until the old AP's
    idle timeout, but that session's counters stop growing: only both sessions growing
    after both had started is a clone."""
    by_mac: dict[str, list[RadiusSession]] = {}
    for live in sessions:
        if live.method == "mac":
            by_mac.setdefault(normal_mac(live.calling_station), []).append(live)
    found = {}
    for mac, group in by_mac.items():
        for a, b in itertools.combinations(group, 2):
            if (a.nas, access_point(a.called_station)) == (b.nas, access_point(b.called_station)):
                continue
            both_started = max(a.started_at, b.started_at)
            if (a.active_at is not None and b.active_at is not None
                    and min(a.active_at, b.active_at) > both_started):
                found[mac] = group
                break
    return {mac: group for mac, group in found.items() if mac}


class Enforcer:
    def __init__(self, store: Store, nas: Callable[[str], NasEntry | None],
                 profiles: ProfileBook, zone: ZoneInfo, send: Send = coa.send,
                 port: int = coa.PORT, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.nas, self.profiles, self.zone = store, nas, profiles, zone
        self.send, self.port, self.clock = send, port, clock
        self.counters: Counter[str] = Counter()
        self._sent: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radius-enforce")

    def after_commit(self, events: list[AccountingEvent]) -> None:
        """Called by the record writer with the events a batch stored."""
        relevant = [e for e in events
                    if e.status in ("start", "interim") and e.method in PERSON_METHODS]
        if relevant:
            self._pool.submit(self._run, relevant)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _run(self, events: list[AccountingEvent]) -> None:
        try:
            with self.store.session() as session:
                kicks = self.verdicts(session, events, datetime.now(UTC))
        except Exception as exc:  # the next interim brings the next chance
            log.error("limits not checked for %d accounting records: %s", len(events), exc)
            self.counters["not checked"] += len(events)
            return
        for kick in kicks:
            self._disconnect(kick)
        self.counters["checked"] += len(events)  # records looked at (tests wait on it)

    def verdicts(self, session: Session, events: list[AccountingEvent],
                 now: datetime) -> list[Kick]:
        kicks: dict[tuple[str, str], Kick] = {}
        since = usage.day_start(now, self.zone)
        for identity, nas_name in {(e.identity, e.nas) for e in events if e.identity}:
            entry = self.nas(nas_name)
            terms = self.profiles.get(entry.policy if entry else "default")
            fresh = now - usage.stale_after(terms.interim_interval)
            open_sessions = list(session.scalars(select(RadiusSession).where(
                RadiusSession.identity == identity, RadiusSession.stopped_at.is_(None),
                RadiusSession.updated_at > fresh)))
            reason = over_limit(terms, usage.today(session, identity, since))
            if reason:
                for live in open_sessions:
                    kicks.setdefault((live.nas, live.session_id), _kick(live, reason))
            for mac, group in clones(open_sessions).items():
                remembered.forget(session, mac, "seen at two access points at once", now)
                for live in group:
                    kicks[(live.nas, live.session_id)] = _kick(
                        live, "remembered device online at two access points")
        return list(kicks.values())

    def _disconnect(self, kick: Kick) -> None:
        key = (kick.nas, kick.session_id)
        with self._lock:
            now = self.clock()
            if now - self._sent.get(key, -REPEAT_AFTER) < REPEAT_AFTER:
                return
            self._sent = {k: t for k, t in self._sent.items() if now - t < REPEAT_AFTER}
            self._sent[key] = now
        entry = self.nas(kick.nas)
        if entry is None or entry.network.num_addresses != 1:
            self.counters["disconnect impossible"] += 1
            log.warning("session %s on %s over its limits (%s) but the NAS has no single "
                        "address to send a Disconnect-Request to", kick.session_id, kick.nas,
                        kick.reason)
            return
        result = self.send(str(entry.network.network_address), entry.secret,
                           Code.DISCONNECT_REQUEST,
                           coa.session_identity(kick.username, kick.session_id, kick.mac,
                                                kick.ip), port=self.port)
        self.counters["disconnected" if result.ok else "disconnect failed"] += 1
        log.warning("session %s on %s: %s → Disconnect-Request: %s", kick.session_id,
                    kick.nas, kick.reason, result)


def _kick(live: RadiusSession, reason: str) -> Kick:
    return Kick(live.nas, live.session_id, live.username, live.calling_station,
                live.framed_ip, reason)
