"""The enrolment page's sign-in: a person of the district proves who they are with their
username and network password (``citynet nac people password``) before a certificate is
issued for their device. Wrong passwords lock the person out with the staff login's
growing delay (``citynet.staff.lock_seconds``), counted in the database so parallel
guesses all count; an unknown name costs the same work as a known one. Guesses spread
over many names (one password tried on every name) are held by their source: after
``nac.enrol_source_failures`` failed sign-ins from one client address within 15 minutes,
that address is refused until the 15 minutes are over, without a password check."""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import case, literal, update
from sqlalchemy.orm import Session

from admission import people
from admission.choices import PersonStatus
from admission.models import EnrolSource, Person
from citynet.db import table, upsert_insert
from citynet.staff import hash_frequent_password, lock_seconds, verify_password

log = logging.getLogger(__name__)
SOURCE_WINDOW = timedelta(minutes=15)

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


def source_of(address: str) -> str:
    """The key a client address's failures count under: an IPv4 address as it is (an
    IPv4-mapped IPv6 one too), an IPv6 address by its /64 — one host may use any address
    of its network's /64; "" for none."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def source_held_for(session: Session, address: str, limit: int, now: datetime) -> int:
    """Seconds until sign-ins from ``address`` (:func:`source_of`) are taken again (0: not
    held; ``limit`` 0: no hold)."""
    if not address or not limit:
        return 0
    row = session.get(EnrolSource, address)
    if row is None or row.failures < limit or row.since + SOURCE_WINDOW <= now:
        return 0
    return max(1, math.ceil((row.since + SOURCE_WINDOW - now).total_seconds()))


def _count_source_failure(session: Session, address: str, limit: int,
                          now: datetime) -> None:
    """One failed sign-in more from ``address`` in its 15 minutes (a new window once the
    last is over). One upsert: web workers on several nodes count the same address at
    once, and no count is lost. A row stays once written (one per address that ever
    failed, reset in place): deleting the windows that are over on the way made two
    workers wait for each other's rows on PostgreSQL (a deadlock)."""
    if not address or not limit:
        return
    source = table(EnrolSource)
    over = source.c.since <= now - SOURCE_WINDOW
    failures = session.execute(
        upsert_insert(source, session.connection().dialect.name)
        .values(address=address, since=now, failures=1)
        .on_conflict_do_update(index_elements=["address"], set_={
            "failures": case((over, 1), else_=source.c.failures + 1),
            "since": case((over, literal(now, EnrolSource.since.type)),
                          else_=source.c.since)})
        .returning(source.c.failures)).scalar_one()
    if failures == limit:
        log.warning("enrolment: %s held for 15 minutes after %d failed sign-ins",
                    address, failures)


def sign_in(session: Session, username: str, password: str, now: datetime,
            source: str = "", source_limit: int = 0) -> SignIn:
    """Check a person's network password for the enrolment page, signing in from client
    address ``source`` (held after ``source_limit`` failures). A disabled person is told
    so only once the password is right; one without a password has none to guess."""
    source = source_of(source)
    held = source_held_for(session, source, source_limit, now)
    if held:
        return SignIn(LOCKED, held)
    signed = _sign_in(session, username, password, now)
    if signed.reason not in (OK, DISABLED):  # a right password is no guess
        _count_source_failure(session, source, source_limit, now)
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
