"""One-time RADIUS tokens: what the portal hands the NAS after a verified login.

The portal verifies the person (SMS code, TOTP, or one tap for a remembered device)
and issues a token; the NAS then sends an
Access-Request with the phone number as User-Name and the token as password (PAP, or CHAP
as CoovaChilli's UAM computes it). A token is good once, for ``TTL`` seconds, and — when
the portal knew the device — only from that MAC. CHAP needs the clear value, so tokens are
sealed with the secrets key rather than hashed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Index, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.crypto import SEALED, SecretBox
from citynet.db import Base, UtcDateTime

TTL = timedelta(seconds=120)


class RadiusToken(Base):
    __tablename__ = "radius_token"
    __table_args__ = (Index("ix_radius_token_identity_expires", "identity", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(32))  # the phone number, as User-Name
    method: Mapped[str] = mapped_column(String(16))  # sms, totp, mac: how the portal checked
    mac: Mapped[str] = mapped_column(String(17), default="")  # bound device, if known
    secret_sealed: Mapped[str] = mapped_column(String(256), info=SEALED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


def issue(session: Session, box: SecretBox, identity: str, method: str, mac: str = "",
          now: datetime | None = None, ttl: timedelta = TTL) -> str:
    """A new token for ``identity``; the clear value goes to the NAS, never to a log."""
    now = now or datetime.now(UTC)
    # this identity's expired tokens can never be used: they go (the login records keep
    # what happened), so the table holds only live tokens without a purge job
    session.execute(delete(RadiusToken).where(RadiusToken.identity == identity,
                                              RadiusToken.expires_at <= now))
    token = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    session.add(RadiusToken(identity=identity, method=method, mac=mac,
                            secret_sealed=box.seal(token), created_at=now,
                            expires_at=now + ttl))
    return token


def find(session: Session, box: SecretBox, identity: str, mac: str,
         proves: Callable[[str], bool], now: datetime) -> RadiusToken | None:
    """The identity's live token the password proves (PAP compare or CHAP check)."""
    live = session.scalars(select(RadiusToken).where(
        RadiusToken.identity == identity, RadiusToken.used_at.is_(None),
        RadiusToken.expires_at > now).order_by(RadiusToken.id.desc()).limit(5))
    for token in live:
        if token.mac and mac and token.mac != mac:
            continue  # bound to another device
        if proves(box.open(token.secret_sealed)):
            return token
    return None


def spend(session: Session, token: RadiusToken, now: datetime) -> bool:
    """Use the token up; False if another request spent it first (a conditional UPDATE
    decides between two NAS requests racing for one token)."""
    spent = session.execute(update(RadiusToken).where(
        RadiusToken.id == token.id, RadiusToken.used_at.is_(None))
        .values(used_at=now).returning(RadiusToken.id)).first()
    return spent is not None
