"""RADIUS tables: accounting records (append-only) and live sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citynet.db import Base, UtcDateTime


class AccountingRecord(Base):
    """One Accounting-Request as received, stored before it is acknowledged.

    ``dedupe_key`` identifies a record across NAS retransmissions (which may carry a new
    Identifier and Acct-Delay-Time), so a retry after a crash is stored exactly once.
    """

    __tablename__ = "radius_accounting"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    nas: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # start, interim, stop, on, off
    session_id: Mapped[str] = mapped_column(String(253), default="")
    username: Mapped[str] = mapped_column(String(253), default="")
    calling_station: Mapped[str] = mapped_column(String(253), default="")  # the client's MAC
    called_station: Mapped[str] = mapped_column(String(253), default="")  # AP MAC : SSID
    framed_ip: Mapped[str] = mapped_column(String(45), default="")
    session_time: Mapped[int] = mapped_column(Integer, default=0)
    input_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    terminate_cause: Mapped[str] = mapped_column(String(32), default="")


class RadiusSession(Base):
    """The live view of a session, updated by Start / Interim-Update / Stop."""

    __tablename__ = "radius_session"
    __table_args__ = (UniqueConstraint("nas", "session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    nas: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(253))
    username: Mapped[str] = mapped_column(String(253), default="")
    # who, for limits and records: the phone or voucher behind the login (a MAC-auth
    # session's User-Name is the MAC); from the Class of our Access-Accept
    identity: Mapped[str] = mapped_column(String(253), default="", server_default="",
                                          index=True)
    method: Mapped[str] = mapped_column(String(16), default="", server_default="")
    calling_station: Mapped[str] = mapped_column(String(253), default="")
    called_station: Mapped[str] = mapped_column(String(253), default="", server_default="")
    # the portal finds a device's session by its address (captive API, an AC's MAC)
    framed_ip: Mapped[str] = mapped_column(String(45), default="", index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    session_time: Mapped[int] = mapped_column(Integer, default=0)
    input_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    terminate_cause: Mapped[str] = mapped_column(String(32), default="")
    # when its traffic counters last grew: a session still sending, not one merely
    # reported by an AP the device has left (roaming vs a cloned MAC)
    active_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
