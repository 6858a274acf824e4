"""Remembered devices: "log in once, then no login for N days".

After a verified login the person may ask the portal to remember the device. The NAS then
authenticates it by MAC (User-Name is the MAC), or the portal offers one tap where the
NAS cannot; either way citynet answers for the person the device belongs to. A MAC is not
a secret, so the terms are tight: a remembrance ends on its date, when the person
forgets the device, or when the same MAC carries traffic at two access points at once (a
clone; see :mod:`radius.enforcement`).

Phones today randomise their MAC per network (locally administered addresses). Such a
MAC is stable for one SSID on iOS/Android unless the person resets it, so it can be
remembered, but may change; :func:`randomised` lets the portal say so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, UtcDateTime


class RememberedDevice(Base):
    __tablename__ = "remembered_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), index=True)  # aa:bb:cc:dd:ee:ff
    identity: Mapped[str] = mapped_column(String(32), index=True)  # the phone number
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_why: Mapped[str] = mapped_column(String(64), default="")


def randomised(mac: str) -> bool:
    """A locally administered address (bit 1 of the first octet): set by the OS, not the
    maker, usually a per-network private address."""
    return bool(int(mac[:2], 16) & 0x02)


def remember(session: Session, mac: str, identity: str, days: int,
             now: datetime | None = None) -> RememberedDevice:
    """Remember ``mac`` for ``identity``; replaces any earlier remembrance of that MAC."""
    now = now or datetime.now(UTC)
    forget(session, mac, "remembered again", now)
    device = RememberedDevice(mac=mac, identity=identity, created_at=now,
                              expires_at=now + timedelta(days=days))
    session.add(device)
    session.flush()  # its id names it in the portal's device cookie
    return device


def forget(session: Session, mac: str, why: str, now: datetime | None = None) -> int:
    """End every live remembrance of ``mac``; how many there were."""
    result = session.execute(update(RememberedDevice).where(
        RememberedDevice.mac == mac, RememberedDevice.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC), revoked_why=why[:64]))
    return int(result.rowcount)  # type: ignore[attr-defined]


def owner(session: Session, mac: str, now: datetime,
          device_id: int | None = None) -> str | None:
    """Whose device this MAC is, while it is remembered; given ``device_id``, only by that
    remembrance (the one a browser's cookie names: see :mod:`portal.device_cookie`)."""
    query = select(RememberedDevice.identity).where(
        RememberedDevice.mac == mac, RememberedDevice.revoked_at.is_(None),
        RememberedDevice.expires_at > now)
    if device_id is not None:
        query = query.where(RememberedDevice.id == device_id)
    return session.scalar(query.order_by(RememberedDevice.id.desc()).limit(1))


def search(session: Session, now: datetime, *, identity: str = "", mac: str = "",
           ended_too: bool = False, limit: int = 200) -> list[RememberedDevice]:
    """Remembrances of a phone number and/or a MAC (normalised), newest first; only the
    live ones unless ``ended_too``."""
    query = select(RememberedDevice).order_by(RememberedDevice.id.desc()).limit(limit)
    if identity:
        query = query.where(RememberedDevice.identity == identity)
    if mac:
        query = query.where(RememberedDevice.mac == mac)
    if not ended_too:
        query = query.where(RememberedDevice.revoked_at.is_(None),
                            RememberedDevice.expires_at > now)
    return list(session.scalars(query))


def state(device: RememberedDevice, now: datetime) -> str:
    """live, expired or revoked."""
    if device.revoked_at is not None:
        return "revoked"
    return "live" if device.expires_at > now else "expired"


def revoke(session: Session, device_id: int, why: str,
           now: datetime | None = None) -> RememberedDevice | None:
    """End one remembrance (as :func:`forget` does for a MAC); None when there is no such
    live one."""
    device = session.get(RememberedDevice, device_id)
    if device is None or device.revoked_at is not None:
        return None
    device.revoked_at, device.revoked_why = now or datetime.now(UTC), why[:64]
    session.flush()
    return device
