"""The password hold: wrong network passwords (PEAP-MSCHAPv2, EAP-TTLS) hold a guesser.

FreeRADIUS checks a PEAP password itself; citynet hears of a wrong one when FreeRADIUS
records the refusal (rlm_rest post-auth, reason "wrong password": the gate's
:meth:`~admission.gate.AdmissionGate.refused`), and of a TTLS/PAP one the same way.
Each counts, in a fixed window of :data:`WINDOW` from its first, for the person and the
device (Calling-Station-Id) and for the person over all devices (:data:`ANY_DEVICE`).
Once a count reaches its limit (``nac.password_failures`` for a device,
``nac.password_person_failures`` for the person), the inner tunnel refuses that
person's password logins from that device — or from everywhere — until the window is
over, before a password is checked or an NT hash handed out; a right password
(FreeRADIUS authenticated it) clears that device's count — not the person's, which a
guesser making up MACs would otherwise see reset by every login of the person's own
devices (it ends with its window, or staff lift it). EAP-TLS logins are not counted
nor held. docs/admission.md, "The password hold", says why two counts (a hold per
person alone lets anyone lock a teacher out).

:func:`held_until` is pure; the rest is the store side, one row per (person, device).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from admission import people
from admission.models import PasswordFailures
from citynet import audit
from citynet.db import DriverStatement
from citynet.holds import WINDOW, count_in_window

log = logging.getLogger(__name__)

ANY_DEVICE = "*"  # the person's count over every device (no MAC has a "*")
WRONG_PASSWORD = "wrong password"  # noqa: S105 - a refusal reason, not a secret
HELD = "too many wrong passwords, held until "  # a held login's reason starts so


@dataclass(frozen=True)
class Limits:
    """Wrong passwords in :data:`WINDOW` that hold one device's, and every device's,
    password logins of a person (0: no such hold)."""

    device: int
    person: int

    @property
    def any(self) -> bool:
        return bool(self.device or self.person)


@dataclass(frozen=True)
class Count:
    """A count as stored: ``failures`` wrong passwords since ``since``."""

    device: str
    since: datetime
    failures: int


def held_until(counts: Iterable[Count], device: str, limits: Limits,
               now: datetime) -> datetime | None:
    """Until when a password login from ``device`` is refused, given the person's
    ``counts`` (any devices'; those of others are not this one's); None: not held."""
    until = None
    for count in counts:
        if count.device == ANY_DEVICE:
            limit = limits.person
        elif count.device == device:
            limit = limits.device
        else:
            continue
        end = count.since + WINDOW
        if limit and count.failures >= limit and end > now:
            until = end if until is None else max(until, end)
    return until


def held_reason(until: datetime) -> str:
    """The refusal's words, as recorded and sent as Reply-Message (UTC: the time the
    records show)."""
    return f"{HELD}{until:%Y-%m-%d %H:%M} UTC"


# every PEAP and TTLS login reads the person's two counts that matter to it (one indexed
# read by primary key prefix), on the RADIUS service's loop
_COUNTS = DriverStatement(select(
    PasswordFailures.device, PasswordFailures.since, PasswordFailures.failures
).where(PasswordFailures.username == bindparam("username"),
        or_(PasswordFailures.device == bindparam("device"),
            PasswordFailures.device == ANY_DEVICE)))
# and every one FreeRADIUS authenticated clears its device's (matching nothing, as
# mostly: no write)
_CLEAR = DriverStatement(delete(PasswordFailures).where(
    PasswordFailures.username == bindparam("username"),
    PasswordFailures.device == bindparam("device")))


def counts(session: Session | Connection, username: str, device: str) -> list[Count]:
    """The person's counts for ``device`` and over all devices."""
    return [Count(*row) for row in _COUNTS.all(session, {
        "username": username, "device": device})]


def held(session: Session | Connection, username: str, device: str, limits: Limits,
         now: datetime) -> datetime | None:
    """Until when the person's password logins from ``device`` are held (None: not)."""
    if not limits.any:
        return None
    return held_until(counts(session, username, device), device, limits, now)


def count_failure(session: Session, username: str, device: str, limits: Limits,
                  now: datetime) -> None:
    """One wrong password more of ``username`` (as stored) from ``device``: for the
    device and for the person, each in its window (a new one once the last is over).
    Upserts, sorted by device (the primary key's order), so that RADIUS processes
    counting the same person at once lose no count and take the rows' locks in one
    order."""
    if not limits.any:
        return
    for key, limit in sorted(((ANY_DEVICE, limits.person), (device, limits.device))):
        if not limit:
            continue
        count = count_in_window(session, PasswordFailures,
                                {"username": username, "device": key}, now)
        if count == limit:  # once a window, not at every refusal after it
            log.warning("admission: %s's password logins held %s for %d minutes after "
                        "%d wrong passwords", username,
                        "everywhere" if key == ANY_DEVICE else f"from {key or 'no MAC'}",
                        WINDOW.seconds // 60, count)


def clear(session: Session | Connection, username: str, device: str) -> None:
    """A right password from ``device``: its count starts again. Other devices' stay (a
    guesser's device stays held while its person logs in elsewhere), and so does the
    person's over all devices: the person's own devices log in again and again (roaming,
    waking), and each would let a guesser who changes MACs start over."""
    _CLEAR.run(session, {"username": username, "device": device})


@dataclass(frozen=True)
class Lifted:
    """A person's password holds lifted by staff: those that were in force."""

    username: str  # as stored
    held: list[tuple[str, datetime]]  # (device or ANY_DEVICE, until when)


def lift(session: Session, username: str, limits: Limits, now: datetime,
         actor: str = "", source: str = "cli") -> Lifted | None:
    """Lift every password hold and count of the person ``username`` names (audited,
    with the staff member ``actor`` and their ``source`` address on the web); None:
    nobody by that name."""
    person = people.at_login(session, username)
    if person is None:
        return None
    in_force = holds_of(session, person.username, limits, now)
    session.execute(delete(PasswordFailures).where(
        PasswordFailures.username == person.username))
    audit.record(session, audit.Action("admission.person.unhold", person.username, "ok",
                                       detail={"held": len(in_force)}, actor=actor,
                                       source=source))
    return Lifted(person.username, in_force)


def holds_of(session: Session, username: str, limits: Limits,
             now: datetime) -> list[tuple[str, datetime]]:
    """The person's holds in force: (device, or :data:`ANY_DEVICE`; until when)."""
    found = []
    for row in session.scalars(select(PasswordFailures).where(
            PasswordFailures.username == username).order_by(PasswordFailures.device)):
        count = Count(row.device, row.since, row.failures)
        until = held_until([count], row.device, limits, now)
        if until is not None:
            found.append((row.device, until))
    return found
