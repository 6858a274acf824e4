"""Wrong voucher codes: how many a device, a client address and a NAS may try.

A code is ten symbols of 31 with a check symbol, so guessing one is hopeless — but a
burst of guesses still costs RADIUS work and, unchecked, writes a login record each: a
flood in the compliance records. So, counted from the login records themselves (shared
by every portal and RADIUS process, nothing to lose in a restart):

- the portal answers 429, with the time until the next try, to a device, a client
  address or a NAS that has reached its count of wrong codes in the window
  (:data:`LIMITS`, :data:`WINDOW`), before it hands anything to the NAS;
- RADIUS refuses a voucher login from such a device, address or NAS (:data:`HELD`),
  right code or not, so a client posting straight to the NAS's logon guesses no more
  than through the portal (decisions of one record-writer batch do not see each
  other's wrong codes yet, nor — on PostgreSQL, where listener processes decide at once
  — another process's round before it commits: a parallel burst may pass the count by
  at most a round per listener process);
- the record writer keeps at most that many wrong-code records per device, address and
  NAS in the window (with the same overshoot: at most a round per other listener
  process); a refusal beyond it (a NAS asked directly, not through the portal)
  is answered but not recorded, and the log says once when the cap is reached.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from citynet.db import DriverStatement, table
from radius.records import LoginEvent, LoginRecord

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=10)
# wrong codes per WINDOW: one device; one client address (a NAS may give a phone a new
# MAC but the same address, or NAT several); the whole NAS, against guesses spread over
# many made-up MACs. Legitimate typos are mostly caught by the check symbol before
# RADIUS; a code used up or revoked is not a guess and is not counted.
# The NAS's count is a floor for a whole hotspot: one attacker making up MACs (and so
# addresses) holds every voucher login there once it is reached, so it is set well above
# what a hotspot's people mistype in 10 minutes. At 200 (28,800 a day) a guesser at one
# NAS needs ~250 years to hit one of 10,000 valid codes (31^9 bodies), and the records
# keep at most that many wrong codes a day per NAS.
LIMITS = {"mac": 5, "ip": 10, "nas": 200}
GUESSES = ("unknown voucher", "wrong password")  # RADIUS's reasons for a code not ours
HELD = "held: too many wrong voucher codes"  # RADIUS's reason for a held voucher login
_COLUMNS: dict[str, InstrumentedAttribute[str]] = {
    "mac": LoginRecord.mac, "ip": LoginRecord.private_ip, "nas": LoginRecord.nas}


@dataclass(frozen=True)
class Hold:
    """Who has used up their wrong codes, and when the next try is allowed."""

    by: str  # mac, ip or nas
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


Keys = Counter[tuple[str, str]]  # (mac|ip|nas, value) → wrong codes not yet in the store


def held(session: Session | Connection, nas: str, mac: str, ip: str, now: datetime,
         pending: Keys | None = None) -> Hold | None:
    """The first of device, address and NAS that has reached its count of wrong codes in
    the window (counting ``pending`` ones of this transaction too); None: may try."""
    wanted = {by: value for by, value in (("mac", mac), ("ip", ip), ("nas", nas)) if value}
    recent = _recent(session, wanted, now)
    for by, value in wanted.items():
        limit = LIMITS[by] - (pending or Counter())[(by, value)]
        if limit <= 0:
            return Hold(by, int(WINDOW.total_seconds()))
        times = sorted(recent[by], reverse=True)[:limit]
        if len(times) >= limit:  # the oldest of them leaving the window frees a try
            return Hold(by, max(1, math.ceil((times[-1] + WINDOW - now).total_seconds())))
    return None


def _recent(session: Session | Connection, wanted: dict[str, str],
            now: datetime) -> dict[str, list[datetime]]:
    """When the wrong codes of the window came, by each of ``wanted``'s device, address
    and NAS: one query for the three (every voucher login, in the portal and in RADIUS,
    asks), selected by result (indexed with time) so that it reads only refusals."""
    # an empty device, address or NAS is not asked for: = NULL matches no record
    rows = _RECENT.all(session, {"since": now - WINDOW, **{
        by: wanted.get(by) for by in _COLUMNS}})
    found: dict[str, list[datetime]] = {by: [] for by in wanted}
    for at, *values in rows:
        for by, value in zip(_COLUMNS, values, strict=True):
            if by in found and value == wanted[by]:
                found[by].append(at)
    return found


def _recent_statement() -> Select[Any]:
    """Built once, run on the driver (:class:`citynet.db.DriverStatement`): a voucher
    login pays for the query, not for building and compiling it."""
    logins = table(LoginRecord)
    columns = [logins.c[column.key] for column in _COLUMNS.values()]
    return (select(logins.c.at, *columns)
            .where(logins.c.result.in_([bindparam(f"guess{i}", reason)
                                        for i, reason in enumerate(GUESSES)]),
                   logins.c.at > bindparam("since"),
                   logins.c.event == bindparam("event", "login"),
                   logins.c.method == bindparam("method", "voucher"),
                   or_(*(column == bindparam(by) for by, column in zip(_COLUMNS, columns,
                                                                          strict=True)))))


_RECENT = DriverStatement(_recent_statement())


def newest(session: Session) -> datetime:
    """When the newest wrong voucher code was recorded (long ago if never)."""
    found = session.scalar(select(func.max(LoginRecord.at)).where(
        LoginRecord.result.in_(GUESSES)))
    return found if found is not None else datetime.min.replace(tzinfo=UTC)


def is_guess(event: LoginEvent) -> bool:
    """A wrong code, or a login refused as held: capped in the records alike."""
    return event.event == "login" and event.method == "voucher" and (
        event.result in GUESSES or event.result == HELD)


def keys(event: LoginEvent) -> list[tuple[str, str]]:
    return [(by, value) for by, value in (("mac", event.mac), ("ip", event.private_ip),
                                          ("nas", event.nas)) if value]


def recordable(session: Session, event: LoginEvent, pending: Keys) -> bool:
    """Whether the record writer keeps this login record: anything but a wrong voucher
    code always; a wrong code while its device, address and NAS are under the cap
    (``pending``: the wrong codes of this batch, kept but not yet in the store)."""
    if not is_guess(event):
        return True
    if held(session, event.nas, event.mac, event.private_ip, event.at, pending) is not None:
        return False
    pending.update(keys(event))
    reached = held(session, event.nas, event.mac, event.private_ip, event.at, pending)
    if reached is not None:
        value = {"mac": event.mac, "ip": event.private_ip, "nas": event.nas}[reached.by]
        log.warning("wrong voucher codes: %s %s has reached %d in %d min; more in that "
                    "time are refused but not recorded", reached.by, value,
                    LIMITS[reached.by], WINDOW.total_seconds() // 60)
    return True
