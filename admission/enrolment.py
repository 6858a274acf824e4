"""The enrolment page's sign-in: a person of the district proves who they are with their
username and network password (``citynet nac people password``) before a certificate is
issued for their device. Wrong passwords lock the person out with the staff login's
growing delay (``citynet.staff.lock_seconds``), counted in the database so parallel
guesses all count; an unknown name costs the same work as a known one. Guesses spread
over many names (one password tried on every name) are held by their source
(``citynet.holds``, the staff login's too): after ``nac.enrol_source_failures`` failed
sign-ins from one client address within 15 minutes, that address is refused until the 15
minutes are over, without a password check."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import update
from sqlalchemy.orm import Session

from admission import people
from admission.choices import PersonStatus
from admission.models import Person
from citynet.holds import NO_HOLD, SourceHold
from citynet.staff import hash_frequent_password, lock_seconds, verify_password

DOOR = "nac.enrol"  # this page's failures per client address (citynet.holds)

OK, UNKNOWN, BAD_PASSWORD, LOCKED, DISABLED, NO_PASSWORD = (
    "ok", "unknown", "bad_password", "locked", "disabled", "no_password")

@cache
def _nobody() -> str:
    """An argon2id hash of no one's password: what an unknown name is checked against."""
    return hash_frequent_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignIn:
    """The outcome: ``reason`` is one of the names above; ``retry_after`` when locked."""

    reason: str
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.reason == OK


def locked_for(person: Person, now: datetime) -> int:
    """Seconds until the person's enrolment lock ends (0: not locked)."""
    until = person.enrol_locked_until
    if until is None or until <= now:
        return 0
    return max(1, math.ceil((until - now).total_seconds()))


def _count_failure(session: Session, person: Person, now: datetime) -> int:
    failures = session.execute(
        update(Person).where(Person.id == person.id)
        .values(enrol_failures=Person.enrol_failures + 1)
        .returning(Person.enrol_failures)).scalar_one()
    delay = lock_seconds(failures)
    if delay:
        session.execute(update(Person).where(Person.id == person.id)
                        .values(enrol_locked_until=now + timedelta(seconds=delay)))
    return delay


def sign_in(session: Session, username: str, password: str, now: datetime,
            hold: SourceHold = NO_HOLD) -> SignIn:
    """Check a person's network password for the enrolment page, its client address held
    by ``hold`` (door :data:`DOOR`). A disabled person is told so only once the password
    is right; one without a password has none to guess."""
    held = hold.held_for(session, now)
    if held:
        return SignIn(LOCKED, held)
    signed = _sign_in(session, username, password, now)
    if signed.reason not in (OK, DISABLED):  # a right password is no guess
        hold.count_failure(session, now)
    return signed


def _sign_in(session: Session, username: str, password: str, now: datetime) -> SignIn:
    person = people.find(session, username)
    if person is None:
        verify_password(_nobody(), password)  # the same work: timing tells nothing
        return SignIn(UNKNOWN)
    wait = locked_for(person, now)
    if wait:
        verify_password(_nobody(), password)
        return SignIn(LOCKED, wait)
    if person.password_hash is None:
        return SignIn(NO_PASSWORD)
    if not verify_password(person.password_hash, password):
        delay = _count_failure(session, person, now)
        return SignIn(LOCKED, delay) if delay else SignIn(BAD_PASSWORD)
    person.enrol_failures, person.enrol_locked_until = 0, None
    if person.status is not PersonStatus.ACTIVE:
        return SignIn(DISABLED)
    return SignIn(OK)
