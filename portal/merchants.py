"""Local merchants' promotions on the portal, chosen by the hotspot's community.

A merchant's offer is shown while it is valid, in the communities it names (none: the
whole district), least-shown first so every merchant gets its turn. Impressions and
clicks are counted in aggregate per offer — never per person or device.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Date, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, UtcDateTime
from inventory.models import AccessPoint, Hotspot, NasClient
from radius.records import normal_mac

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}
MAX_IMAGE_BYTES = 200_000


class Merchant(Base):
    __tablename__ = "portal_merchant"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    category: Mapped[str] = mapped_column(String(64))
    offer: Mapped[str] = mapped_column(String(500))
    image: Mapped[str] = mapped_column(String(64), default="")  # file under data_dir/merchants
    communities: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: everywhere
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


def image_kind(data: bytes) -> tuple[str, str] | None:
    """(extension, media type) of a PNG or JPEG, by its magic bytes; None otherwise."""
    return next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)


def save_image(directory: Path, merchant_id: int, data: bytes) -> str:
    """Store an offer's picture; the file name, or ValueError saying what is wrong."""
    kind = image_kind(data)
    if kind is None:
        raise ValueError("the image must be a PNG or JPEG file")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"the image is {len(data):,} bytes; at most {MAX_IMAGE_BYTES:,} "
                         "(the portal must stay light on a weak signal)")
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{merchant_id}.{kind[0]}"
    (directory / name).write_bytes(data)
    return name


def community_of(session: Session, nasid: str, called: str) -> str | None:
    """The community of the AP the person is at (Called-Station's MAC), else of the
    NAS's first hotspot."""
    mac = normal_mac(called[:17])
    if mac:
        found = session.scalar(select(AccessPoint).where(AccessPoint.mac == mac))
        if found is not None:
            return found.hotspot.community.name
    nas = session.scalar(select(NasClient).where(NasClient.name == nasid))
    hotspot: Hotspot | None = nas.hotspots[0] if nas is not None and nas.hotspots else None
    return hotspot.community.name if hotspot is not None else None


class Tally:
    """Impressions counted in memory and written in one go every ``every`` views or
    ``seconds``: a page view must not cost a write. At most that many counts are lost if
    the process dies — aggregate statistics, not records."""

    def __init__(self, every: int = 50, seconds: float = 30.0) -> None:
        self.every, self.seconds = every, seconds
        self._pending: Counter[int] = Counter()
        self._since = time.monotonic()
        self._lock = threading.Lock()

    def add(self, session: Session, merchant_ids: list[int]) -> None:
        with self._lock:
            self._pending.update(merchant_ids)
            due = (sum(self._pending.values()) >= self.every
                   or time.monotonic() - self._since >= self.seconds)
            if not due:
                return
            pending, self._pending = self._pending, Counter()
            self._since = time.monotonic()
        for merchant_id, count in pending.items():
            session.execute(update(Merchant).where(Merchant.id == merchant_id)
                            .values(impressions=Merchant.impressions + count))


def choose(session: Session, community: str | None, today: date, tally: Tally | None = None,
           limit: int = 3) -> list[Merchant]:
    """Offers valid today for this community (or the whole district), least shown first;
    each chosen offer's impressions go up by one (through ``tally``, or at once)."""
    valid = session.scalars(select(Merchant).where(
        Merchant.valid_from <= today, Merchant.valid_until >= today)
        .order_by(Merchant.impressions, Merchant.id)).all()
    chosen = [m for m in valid if not m.communities or community in m.communities][:limit]
    if chosen:
        (tally or Tally(every=1)).add(session, [m.id for m in chosen])
    return chosen


def click(session: Session, merchant_id: int, today: date) -> Merchant | None:
    """A person opened an offer: count it (if the offer is still on)."""
    found = session.get(Merchant, merchant_id)
    if found is None or not found.valid_from <= today <= found.valid_until:
        return None
    session.execute(update(Merchant).where(Merchant.id == merchant_id)
                    .values(clicks=Merchant.clicks + 1))
    return found
