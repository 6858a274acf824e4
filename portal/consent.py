"""What a person agreed to at login: the terms and privacy policy (required), and —
separately, optional — the use of location-related data (which access point they use)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Connection, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, DriverStatement, UtcDateTime, table

TERMS_VERSION = "2026-11"  # bump when the terms or the privacy policy change


class Consent(Base):
    __tablename__ = "portal_consent"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(32), index=True)  # phone or voucher code
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    terms_version: Mapped[str] = mapped_column(String(16))
    location: Mapped[bool] = mapped_column(Boolean)


def record(session: Session | Connection, identity: str, location: bool, now: datetime) -> None:
    # an INSERT, not an object: it is on every login, and nothing reads it back here;
    # built once and run on the driver (no SQLAlchemy work per login)
    _RECORD.many(session, [{"identity": identity, "at": now, "terms_version": TERMS_VERSION,
                            "location": location}])


_RECORD = DriverStatement(insert(table(Consent)), ["identity", "at", "terms_version",
                                                   "location"])
