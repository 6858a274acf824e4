"""Staff accounts: who may log in to the admin web and API, with which role.

Passwords are hashed with argon2id (argon2-cffi) and re-hashed on login when the
parameters change. Five failures in a row lock an account for 60 s, each further failure
doubles the wait up to an hour, and a full login resets the count; wrong passwords and
wrong authenticator codes count alike. An unknown name costs the same hash verify as a
known one, so timing does not tell which names exist. Failures over any names also count
per client address (``citynet.holds``, door :data:`DOOR`): one password tried on name
after name locks no name, but it holds the address, and a held address is refused before
any hash or code is checked.

Admins and engineers need an authenticator app (TOTP, RFC 6238 with pyotp): 30-second
steps, ±1 step of clock drift, and a step once accepted is never accepted again. The
secret is sealed with the secrets key. A secret counts as enrolled once a code for it has
been accepted, so an enrolment abandoned before its first code can simply start again.

API tokens are ``cnt_`` + 32 random bytes; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet import totp
from citynet.catalogs import gettext as _
from citynet.crypto import SEALED, SecretBox
from citynet.db import Base, UtcDateTime
from citynet.errors import CitynetError
from citynet.holds import NO_HOLD, SourceHold


class Role(StrEnum):
    ADMIN = "admin"  # everything, including staff accounts
    ENGINEER = "engineer"  # devices, NAS
    OPERATOR = "operator"  # vouchers, sessions, merchants
    MANAGER = "manager"  # dashboard, reports
    AUDITOR = "auditor"  # read-only: compliance records, audit log


NEEDS_TOTP = frozenset({Role.ADMIN, Role.ENGINEER})  # second factor required

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; this only bounds a silly request
NAME = re.compile(r"[\w.@-]{1,64}")

LOCK_AFTER = 5  # consecutive failures
FIRST_LOCK = 60  # seconds, doubling with each further failure
MAX_LOCK = 3600
DOOR = "staff.login"  # the staff sign-in's failures per client address (citynet.holds)

TOTP_ISSUER = "citynet staff"

TOKEN_PREFIX = "cnt_"  # noqa: S105 - a marker that says what the token is, not a secret
# An API client calls often: last_used_at is written at most once a minute per token.
TOKEN_TOUCH = timedelta(minutes=1)

_HASHER = PasswordHasher()  # argon2id with argon2-cffi's current defaults (RFC 9106)


class StaffError(CitynetError):
    """A staff account action was refused (unknown name, weak password, ...)."""


class StaffUser(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(
        Role, name="staff_role", native_enum=False, create_constraint=True, length=16,
        values_callable=lambda members: [m.value for m in members]))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_sealed: Mapped[str | None] = mapped_column(String(512), info=SEALED)
    # the last time step accepted (never accepted twice); None: no code accepted yet
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Web sessions carry the epoch they began in; bumping it (logout, a new password, a
    # 2FA reset, disabling) ends every session of the account: signed cookies cannot be
    # taken back otherwise.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def totp_enrolled(self) -> bool:
        """A secret whose app has proved it works (a code was accepted)."""
        return self.totp_sealed is not None and self.totp_last_step is not None

    def locked_for(self, now: datetime) -> int:
        """Seconds until the lock ends (0: not locked)."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))


class StaffToken(Base):
    """An API token of one staff member (``Authorization: Bearer cnt_…``)."""

    __tablename__ = "staff_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"),
                                         index=True)
    label: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class Attempt:
    """The outcome of a password check."""

    user: StaffUser | None
    ok: bool
    # "ok" | "unknown" | "bad_password" | "locked" | "disabled" | "bad_code" | "held"
    reason: str
    retry_after: int = 0  # seconds, when locked or held
    needs_totp: bool = False  # ok, but the second factor is still to come
    must_enrol: bool = False  # ok, role needs TOTP and the user has none yet


# --- pure rules -----------------------------------------------------------------------

def lock_seconds(failures: int) -> int:
    """How long an account is locked after ``failures`` consecutive failures."""
    if failures < LOCK_AFTER:
        return 0
    return min(FIRST_LOCK << min(failures - LOCK_AFTER, 16), MAX_LOCK)


def password_problem(name: str, password: str) -> str | None:
    """Why this password is refused for this user, or None."""
    if len(password) < MIN_PASSWORD:
        return _("the password must have at least %(count)s characters", count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _("the password must have at most %(count)s characters", count=MAX_PASSWORD)
    if name and name.casefold() in password.casefold():
        return _("the password must not contain the user name")
    return None


def generate_password(name: str = "") -> str:
    """A strong random password (24 URL-safe characters, 144 bits)."""
    while True:
        password = secrets.token_urlsafe(18)
        if password_problem(name, password) is None:
            return password


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- accounts -------------------------------------------------------------------------

def _hash(password: str) -> str:
    return _HASHER.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# the argon2 adapter for the domains too (network admission's TTLS/PAP passwords)
hash_password = _hash
verify_password = _verify
# for a password checked at every network login inside a RADIUS server's timeout (2 s
# for rlm_rest): OWASP's argon2id minimum (19 MiB, t=2, p=1), about a third of the
# staff cost (measured: 350 ms against 980 ms at load 13 on 2 cores, niced)
_FREQUENT = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_frequent_password(password: str) -> str:
    """argon2id for a password checked at every login (verify with verify_password)."""
    return _FREQUENT.hash(password)


@cache
def _dummy_hash() -> str:
    return _hash(secrets.token_urlsafe(16))


def _same_work(password: str) -> None:
    """What a check of an unknown or locked name costs, so timing tells nothing."""
    _verify(_dummy_hash(), password)


def _check_policy(name: str, password: str) -> None:
    problem = password_problem(name, password)
    if problem is not None:
        raise StaffError(problem)


def get(session: Session, name: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.name == name))
    if user is None:
        raise StaffError(_("no staff user named %(name)r (citynet staff list)", name=name))
    return user


def users(session: Session) -> Sequence[StaffUser]:
    return session.scalars(select(StaffUser).order_by(StaffUser.name)).all()


def add(session: Session, name: str, role: Role, password: str) -> StaffUser:
    """A new staff user; StaffError if the name is taken or invalid or the password weak."""
    if not NAME.fullmatch(name):
        raise StaffError(_("a staff name is 1-64 letters, digits or . _ @ - (no spaces)"))
    role = Role(role)
    _check_policy(name, password)
    if session.scalar(select(StaffUser.id).where(StaffUser.name == name)) is not None:
        raise StaffError(_("a staff user named %(name)r exists", name=name))
    user = StaffUser(name=name, role=role, password_hash=_hash(password), failures=0,
                     disabled=False, created_at=datetime.now(UTC))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # added by someone else since the check above; the caller's
        # transaction is spoilt and rolls back as this error leaves it
        raise StaffError(_("a staff user named %(name)r exists", name=name)) from None
    return user


def _count_failure(session: Session, user: StaffUser, now: datetime) -> int:
    """One more failure, counted in the database (parallel guesses all count); returns
    the seconds of lock it brings (0: none yet)."""
    failures = session.execute(
        update(StaffUser).where(StaffUser.id == user.id)
        .values(failures=StaffUser.failures + 1).returning(StaffUser.failures)
    ).scalar_one()
    delay = lock_seconds(failures)
    if delay:
        session.execute(update(StaffUser).where(StaffUser.id == user.id)
                        .values(locked_until=now + timedelta(seconds=delay)))
    return delay


def _logged_in(user: StaffUser, now: datetime) -> None:
    user.failures, user.locked_until, user.last_login_at = 0, None, now


def check_password(session: Session, name: str, password: str, now: datetime,
                   hold: SourceHold = NO_HOLD) -> Attempt:
    """The first login step. Counts failures and locks with a growing delay; a client
    address that ``hold`` holds is refused ("held") before any check. A disabled account
    says so only to someone who knows its password."""
    held = hold.held_for(session, now)
    if held:
        return Attempt(None, False, "held", retry_after=held)
    attempt = _check_password(session, name, password, now)
    if attempt.reason in ("unknown", "bad_password", "locked"):  # a right password is no guess
        hold.count_failure(session, now)
    return attempt


def _check_password(session: Session, name: str, password: str, now: datetime) -> Attempt:
    user = session.scalar(select(StaffUser).where(StaffUser.name == name))
    if user is None:
        _same_work(password)
        return Attempt(None, False, "unknown")
    wait = user.locked_for(now)
    if wait:
        _same_work(password)
        return Attempt(user, False, "locked", retry_after=wait)
    if not _verify(user.password_hash, password):
        delay = _count_failure(session, user, now)
        if delay:
            return Attempt(user, False, "locked", retry_after=delay)
        return Attempt(user, False, "bad_password")
    if user.disabled:
        return Attempt(user, False, "disabled")
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    if user.role in NEEDS_TOTP or user.totp_enrolled:  # an enrolled app is never skipped
        # The count is not reset yet: a password alone must not buy more code guesses.
        return Attempt(user, True, "ok", needs_totp=True, must_enrol=not user.totp_enrolled)
    _logged_in(user, now)
    return Attempt(user, True, "ok")


def set_password(session: Session, name: str, password: str) -> None:
    user = get(session, name)
    _check_policy(name, password)
    user.password_hash = _hash(password)
    end_sessions(user)


def end_sessions(user: StaffUser) -> None:
    """Every web session of the account ends at its next request."""
    user.session_epoch = (user.session_epoch or 0) + 1


def disable(session: Session, name: str) -> None:
    """No more logins or API calls (its tokens stop working too); the row stays for the
    audit trail."""
    user = get(session, name)
    user.disabled = True
    end_sessions(user)


def enable(session: Session, name: str) -> None:
    """Let a disabled account log in again (its old sessions stay ended)."""
    get(session, name).disabled = False


def unlock(session: Session, name: str) -> None:
    user = get(session, name)
    user.failures, user.locked_until = 0, None


# --- second factor --------------------------------------------------------------------

def enrol_totp(session: Session, user: StaffUser, box: SecretBox, *,
               renew: bool = False) -> str:
    """The otpauth:// URI of the account's pending secret (sealed), made on first use.
    The pending secret is kept until a code proves it or the person asks for a new one
    (``renew``): a reload must not replace a secret an app has already scanned. Refused
    when an enrolled app exists (``citynet staff reset-2fa`` first): a password alone
    must not replace the second factor."""
    if user.totp_enrolled:
        raise StaffError(_("%(name)s has an authenticator app enrolled: `citynet staff "
                           "reset-2fa %(name)s` first", name=user.name))
    if user.totp_sealed is None or renew:
        user.totp_sealed, user.totp_last_step = box.seal(pyotp.random_base32()), None
        session.flush()
    return pyotp.TOTP(box.open(user.totp_sealed), interval=totp.STEP).provisioning_uri(
        name=user.name, issuer_name=TOTP_ISSUER)


def typed_secret(uri: str) -> str:
    """An otpauth URI's secret in groups of four, for typing into an app without a
    camera (apps ignore the spaces)."""
    secret = pyotp.parse_uri(uri).secret
    return " ".join(secret[start:start + 4] for start in range(0, len(secret), 4))


def check_totp(session: Session, user: StaffUser, code: str, box: SecretBox,
               now: datetime) -> bool:
    """The second login step (and the proof that finishes an enrolment): a right code
    for now ±1 step, of a step not used before. A wrong code counts toward the lockout;
    a right one completes the login and resets the count."""
    if user.totp_sealed is None or user.disabled or user.locked_for(now):
        return False
    step = totp.matching_step(box.open(user.totp_sealed), code, now, after=user.totp_last_step)
    if step is None:
        _count_failure(session, user, now)
        return False
    # A conditional UPDATE: of two requests racing with one code, only one wins the step.
    last = StaffUser.totp_last_step
    won = session.execute(
        update(StaffUser).where(StaffUser.id == user.id,
                                last.is_(None) | (last < step))
        .values(totp_last_step=step, failures=0, locked_until=None, last_login_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        _count_failure(session, user, now)
    session.refresh(user)
    return bool(won)


def second_factor(session: Session, user: StaffUser, code: str, box: SecretBox,
                  now: datetime, hold: SourceHold = NO_HOLD) -> Attempt:
    """The code step of a login (:func:`check_totp`) from a client address ``hold`` may
    hold: a held address is refused ("held") before the code is looked at, and a refused
    code counts toward its hold — someone who knows many passwords must not get five
    code guesses on every account from one address."""
    held = hold.held_for(session, now)
    if held:
        return Attempt(user, False, "held", retry_after=held)
    if check_totp(session, user, code, box, now):
        return Attempt(user, True, "ok")
    hold.count_failure(session, now)
    return Attempt(user, False, "bad_code")


def reset_2fa(session: Session, name: str) -> None:
    """Forget the authenticator app: the next login enrols a new one."""
    user = get(session, name)
    user.totp_sealed, user.totp_last_step = None, None
    end_sessions(user)


# --- API tokens -----------------------------------------------------------------------

def issue_token(session: Session, name: str, label: str) -> str:
    """A new API token for ``name``; the clear token is returned once and never stored."""
    user = get(session, name)
    label = label.strip()
    if not 1 <= len(label) <= 64:
        raise StaffError(_("a token label is 1-64 characters (what the token is for)"))
    if user.disabled:
        raise StaffError(_("%(name)s is disabled", name=name))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(StaffToken(user_id=user.id, label=label, token_hash=token_hash(token),
                           created_at=datetime.now(UTC), revoked=False))
    session.flush()
    return token


def user_for_token(session: Session, token: str, now: datetime) -> StaffUser | None:
    """The (enabled) owner of a live token, or None. The lookup is by the token's
    SHA-256, so its timing says nothing about the token; last_used_at is kept."""
    digest = token_hash(token)  # hashed even when malformed: the same work either way
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(StaffToken, StaffUser).join(StaffUser, StaffToken.user_id == StaffUser.id)
        .where(StaffToken.token_hash == digest)).first()
    if row is None:
        return None
    found, user = row
    if found.revoked or user.disabled:
        return None
    if found.last_used_at is None or now - found.last_used_at >= TOKEN_TOUCH:
        found.last_used_at = now
    return user


def tokens(session: Session, name: str) -> Sequence[StaffToken]:
    user = get(session, name)
    return session.scalars(select(StaffToken).where(StaffToken.user_id == user.id)
                           .order_by(StaffToken.id)).all()


def revoke_tokens(session: Session, name: str, label: str | None = None) -> int:
    """Revoke ``name``'s live tokens (those with ``label`` only, if given); how many."""
    user = get(session, name)
    query = update(StaffToken).where(StaffToken.user_id == user.id,
                                     StaffToken.revoked.is_(False))
    if label is not None:
        query = query.where(StaffToken.label == label)
    return int(session.execute(query.values(revoked=True)).rowcount)  # type: ignore[attr-defined]
