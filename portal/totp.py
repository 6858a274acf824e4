"""Authenticator-app (TOTP) logins: enrolment after an SMS login, then phone + 6 digits.

RFC 6238 with pyotp: 30-second steps, ±1 step of clock drift, and a step once used is
never accepted again (a code seen over a shoulder cannot be replayed). Five wrong codes
lock the number's app login for 15 minutes (SMS still works). Full-width digits from
Chinese input methods are accepted. The secret is sealed with the secrets key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.crypto import SEALED, SecretBox
from citynet.db import Base, UtcDateTime
from citynet.totp import matching_step

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
ISSUER = "citynet WiFi"


class TotpSecret(Base):
    __tablename__ = "portal_totp"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    secret_sealed: Mapped[str] = mapped_column(String(256), info=SEALED)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


def new_secret() -> str:
    return pyotp.random_base32()


def uri(secret: str, label: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)


def confirm(session: Session, box: SecretBox, phone: str, secret: str, code: str,
            now: datetime) -> bool:
    """Finish enrolment: the app shows a right code for the new secret."""
    step = matching_step(secret, code, now)
    if step is None:
        return False
    row = session.scalar(select(TotpSecret).where(TotpSecret.phone == phone))
    if row is None:
        row = TotpSecret(phone=phone)
        session.add(row)
    row.secret_sealed, row.enrolled_at = box.seal(secret), now
    row.last_step, row.failures, row.locked_until = step, 0, None
    return True


def enrolled(session: Session, phone: str) -> bool:
    return session.scalar(select(TotpSecret.id).where(TotpSecret.phone == phone)) is not None


def verify(session: Session, box: SecretBox, phone: str, code: str, now: datetime) -> str:
    """'ok', or why not: not enrolled, locked, wrong code."""
    row = session.scalar(select(TotpSecret).where(TotpSecret.phone == phone)
                         .with_for_update())
    if row is None:
        return "not enrolled"
    if row.locked_until is not None and row.locked_until > now:
        return "locked"
    step = matching_step(box.open(row.secret_sealed), code, now, after=row.last_step)
    if step is None:
        # counted in the database, not from what was read: parallel guesses all count
        failures = session.execute(update(TotpSecret).where(TotpSecret.id == row.id)
                                   .values(failures=TotpSecret.failures + 1)
                                   .returning(TotpSecret.failures)).scalar_one()
        if failures >= MAX_FAILURES:
            session.execute(update(TotpSecret).where(TotpSecret.id == row.id)
                            .values(failures=0, locked_until=now + LOCKOUT))
            return "locked"
        return "wrong code"
    # a conditional UPDATE: of two requests racing with one code, only one wins the step
    won = session.execute(update(TotpSecret).where(
        TotpSecret.id == row.id, TotpSecret.last_step < step)
        .values(last_step=step, failures=0, locked_until=None)).rowcount  # type: ignore[attr-defined]
    return "ok" if won else "wrong code"
