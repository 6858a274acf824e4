"""The records the law asks for: every login and logout, append-only and hash-chained.

Who (phone number or voucher), which device (MAC), where (NAS, AP, SSID), which addresses
(private IP; NAT public IP and port block when the NAS sends them), how (method) and with
what result, in UTC. Rows are appended by the accounting writer thread, in the same
transaction as the accounting record or before an Access-Accept/-Reject is sent. They are
kept at least ``records.retention_days`` (≥ 60, default 180) and removed only by
``citynet records purge``; ``citynet audit verify`` detects an edited or deleted row.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    delete,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet import chain
from citynet.db import Base, UtcDateTime
from citynet.ledger import Ledger

_MAC_DIGITS = re.compile(r"[0-9a-f]{12}")


class LoginRecord(Base):
    __tablename__ = "login_record"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    event: Mapped[str] = mapped_column(String(16))  # login, session-start, logout
    result: Mapped[str] = mapped_column(String(64))  # accept, or why not
    identity: Mapped[str] = mapped_column(String(253), index=True)
    method: Mapped[str] = mapped_column(String(16))  # voucher, token, mac, ...
    nas: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(17), index=True)
    called_station: Mapped[str] = mapped_column(String(128))  # AP MAC:SSID
    private_ip: Mapped[str] = mapped_column(String(45), index=True)
    nat_ip: Mapped[str] = mapped_column(String(45), index=True)
    nat_ports: Mapped[str] = mapped_column(String(16))  # "10240-10495"
    session_id: Mapped[str] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class LoginEvent:
    at: datetime
    event: str
    result: str
    identity: str
    method: str
    nas: str
    mac: str = ""
    called_station: str = ""
    private_ip: str = ""
    nat_ip: str = ""
    nat_ports: str = ""
    session_id: str = ""


CONTENT = tuple(LoginEvent.__dataclass_fields__)
LEDGER = Ledger(LoginRecord, "login_record", CONTENT)


def normal_mac(raw: object) -> str:
    """A MAC in any NAS's spelling as aa:bb:cc:dd:ee:ff; '' when it is not one."""
    digits = re.sub(r"[^0-9a-f]", "", str(raw or "").lower())
    if not _MAC_DIGITS.fullmatch(digits):
        return ""
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def append(session: Session, events: list[LoginEvent]) -> None:
    """Chain and insert events after the current head (the caller's transaction)."""
    LEDGER.append(session, [asdict(event) for event in events])


def verify(session: Session) -> tuple[int, list[chain.Break]]:
    """(rows checked, problems)."""
    return LEDGER.verify(session)


def purge(session: Session, before: datetime) -> int:
    """Delete rows older than ``before``; the chain's new base is the last deleted row."""
    last = session.execute(select(LoginRecord.seq, LoginRecord.row_hash)
                           .where(LoginRecord.at < before)
                           .order_by(LoginRecord.seq.desc()).limit(1)).first()
    if last is None:
        return 0
    # Only a prefix may go: a younger row older than an old one would leave a hole.
    count = session.execute(delete(LoginRecord).where(LoginRecord.seq <= last.seq)).rowcount  # type: ignore[attr-defined]
    LEDGER.rebase(session, last.seq, last.row_hash)
    return int(count)


def search(session: Session, *, phone: str | None = None, mac: str | None = None,
           ip: str | None = None, since: datetime | None = None,
           until: datetime | None = None, limit: int = 10_000) -> list[LoginRecord]:
    query = select(LoginRecord).order_by(LoginRecord.seq)
    if phone:
        query = query.where(LoginRecord.identity == phone)
    if mac:
        query = query.where(LoginRecord.mac == (normal_mac(mac) or mac))
    if ip:
        query = query.where(or_(LoginRecord.private_ip == ip, LoginRecord.nat_ip == ip))
    if since:
        query = query.where(LoginRecord.at >= since)
    if until:
        query = query.where(LoginRecord.at < until)
    return list(session.scalars(query.limit(limit)))
