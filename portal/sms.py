"""SMS one-time codes: issue, resend, verify — and the budgets that stop SMS pumping.

A code is 6 digits from a CSPRNG, stored as an HMAC (never in clear, never logged),
valid for ``code_minutes`` (at most 5), usable once, and bound to one login attempt (the
portal session that asked for it). Asking again while a code is live does not send
another — the captive mini-browser reloads the page when the person comes back from the
SMS app — unless the person presses "resend", which needs ``resend_seconds`` since the
last one and replaces the old code. Five wrong tries void a code. Every send counts
against daily budgets per number, per client IP, per MAC, per number prefix (the first
7 digits: pumping goes through ranges) and in total; a budget spent is HTTP 429.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, UtcDateTime, exclusive

MAX_TRIES = 5


class SmsCode(Base):
    __tablename__ = "portal_sms_code"
    __table_args__ = (Index("ix_portal_sms_code_phone_attempt", "phone", "attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    attempt: Mapped[str] = mapped_column(String(64))  # the portal session's login attempt
    code_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256, hex
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SmsSend(Base):
    """One SMS sent: what the budgets count."""

    __tablename__ = "portal_sms_send"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    phone: Mapped[str] = mapped_column(String(11), index=True)
    prefix: Mapped[str] = mapped_column(String(7), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    mac: Mapped[str] = mapped_column(String(17), index=True)


@dataclass(frozen=True)
class Limits:
    code_minutes: int = 5
    resend_seconds: int = 60
    per_phone_day: int = 5
    per_ip_day: int = 20
    per_mac_day: int = 5
    per_prefix_day: int = 200
    global_day: int = 20000


@dataclass(frozen=True)
class Request:
    """Who asks for a code, from where."""

    phone: str
    attempt: str
    ip: str
    mac: str = ""


@dataclass(frozen=True)
class Issued:
    """What became of a request for a code."""

    status: str  # sent, still valid, cooldown, over budget
    code: str = ""  # the clear code, to hand to the SMS sender (only when sent)
    wait_seconds: int = 0  # before a resend is possible
    budget: str = ""  # which budget is spent


def digest(key: bytes, phone: str, code: str) -> str:
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def text(code: str, minutes: int) -> str:
    """The message: Chinese first, as every mainland SMS; the code in both."""
    return (f"【罗湖免费WiFi】验证码 {code}，{minutes}分钟内有效，请勿告诉他人。"
            f" Your WiFi code: {code}")


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _live(session: Session, request: Request, now: datetime) -> SmsCode | None:
    return session.scalar(select(SmsCode).where(
        SmsCode.phone == request.phone, SmsCode.attempt == request.attempt,
        SmsCode.used_at.is_(None), SmsCode.voided_at.is_(None), SmsCode.expires_at > now)
        .order_by(SmsCode.id.desc()).limit(1))


def spent_budget(session: Session, request: Request, limits: Limits, now: datetime) -> str:
    """Which daily budget this send would exceed ('' if none)."""
    since = now - timedelta(days=1)

    def count(*conditions: object) -> int:
        return session.scalar(select(func.count()).select_from(SmsSend).where(
            SmsSend.at > since, *conditions)) or 0  # type: ignore[arg-type]

    checks = [("number", limits.per_phone_day, SmsSend.phone == request.phone),
              ("address", limits.per_ip_day, SmsSend.ip == request.ip),
              ("prefix", limits.per_prefix_day, SmsSend.prefix == request.phone[:7]),
              ("total", limits.global_day, None)]
    if request.mac:
        checks.insert(2, ("device", limits.per_mac_day, SmsSend.mac == request.mac))
    for name, limit, condition in checks:
        if count(*([condition] if condition is not None else [])) >= limit:
            return name
    return ""


def resend_wait(session: Session, request: Request, limits: Limits, now: datetime) -> int:
    """Seconds before "resend" may send another code for this attempt (0: now)."""
    live = _live(session, request, now)
    return _cooldown(live, limits, now) if live is not None else 0


def _cooldown(live: SmsCode, limits: Limits, now: datetime) -> int:
    since = (now - live.created_at).total_seconds()
    return int(limits.resend_seconds - since) + 1 if since < limits.resend_seconds else 0


def issue(session: Session, key: bytes, request: Request, limits: Limits, now: datetime,
          resend: bool = False) -> Issued:
    exclusive(session, "portal.sms.issue")  # the budgets below are check-then-insert
    live = _live(session, request, now)
    if live is not None:
        if not resend:
            return Issued("still valid")
        wait = _cooldown(live, limits, now)
        if wait:
            return Issued("cooldown", wait_seconds=wait)
    budget = spent_budget(session, request, limits, now)
    if budget:
        return Issued("over budget", budget=budget)
    if live is not None:
        live.voided_at = now  # a resend replaces the old code
    code = new_code()
    session.add(SmsCode(phone=request.phone, attempt=request.attempt,
                        code_hash=digest(key, request.phone, code), created_at=now,
                        expires_at=now + timedelta(minutes=limits.code_minutes), tries=0))
    session.add(SmsSend(at=now, phone=request.phone, prefix=request.phone[:7],
                        ip=request.ip, mac=request.mac))
    return Issued("sent", code=code)


def verify(session: Session, key: bytes, request: Request, code: str, now: datetime) -> str:
    """'ok', or why not: no code, wrong code, too many tries."""
    live = _live(session, request, now)
    if live is None:
        return "no code"
    if not hmac.compare_digest(live.code_hash, digest(key, request.phone, code)):
        # counted in the database, not from what was read: parallel guesses all count
        tries = session.execute(update(SmsCode).where(SmsCode.id == live.id)
                                .values(tries=SmsCode.tries + 1)
                                .returning(SmsCode.tries)).scalar_one()
        if tries >= MAX_TRIES:
            session.execute(update(SmsCode).where(SmsCode.id == live.id)
                            .values(voided_at=now))
            return "too many tries"
        return "wrong code"
    spent = session.execute(update(SmsCode).where(
        SmsCode.id == live.id, SmsCode.used_at.is_(None)).values(used_at=now)
        .returning(SmsCode.id)).first()
    return "ok" if spent is not None else "no code"
