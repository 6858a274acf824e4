"""Local merchants' promotions on the portal, chosen by the hotspot's community.

A merchant's offer is shown while it is valid, in the communities it names (none: the
whole district), least-shown first so every merchant gets its turn. Impressions and
clicks are counted in aggregate per offer — never per person or device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import JSON, Date, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.cache import Reloading
from citynet.catalogs import N_, gettext
from citynet.db import Base, Store, UtcDateTime
from citynet.macs import normal_mac
from inventory.models import AccessPoint, Community, Hotspot, NasClient

log = logging.getLogger(__name__)

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}
MAX_IMAGE_BYTES = 200_000
LONGEST = {"name": 128, "category": 64, "offer": 500}  # the columns' lengths


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


@dataclass(frozen=True)
class Problem:
    """What is wrong with an offer, by field: a msgid and its blanks' values, said in
    the reader's language where it is shown (:meth:`text`)."""

    field: str
    message: str
    values: Mapping[str, object] | None = None

    def text(self) -> str:
        return gettext(self.message, **(self.values or {}))

    def english(self) -> str:
        """As written (a msgid is the English text): the JSON API's language."""
        return self.message % self.values if self.values else self.message


def image_problem(data: bytes) -> Problem | None:
    if image_kind(data) is None:
        return Problem("image", N_("the image must be a PNG or JPEG file"))
    if len(data) > MAX_IMAGE_BYTES:
        return Problem("image", N_("the image is %(size)s bytes; at most %(most)s (the portal "
                                   "must stay light on a weak signal)"),
                       {"size": f"{len(data):,}", "most": f"{MAX_IMAGE_BYTES:,}"})
    return None


def save_image(directory: Path, merchant_id: int, data: bytes) -> str:
    """Store an offer's picture; the file name, or ValueError saying what is wrong."""
    problem = image_problem(data)
    if problem is not None:
        raise ValueError(problem.text())
    extension, _ = image_kind(data) or ("", "")
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{merchant_id}.{extension}"
    (directory / name).write_bytes(data)
    return name


@dataclass(frozen=True)
class Draft:
    """An offer as staff entered it (CLI or web), before it is checked."""

    name: str
    category: str
    offer: str
    communities: tuple[str, ...]
    valid_from: date
    valid_until: date


def check(draft: Draft, known_communities: Collection[str], name_taken: bool) -> list[Problem]:
    """Everything wrong with an offer, given which of its communities exist and whether
    another merchant has its name; empty when it may be saved."""
    problems = []
    for name, (empty, too_long) in _TEXT_FIELDS.items():
        value = getattr(draft, name)
        if not value.strip():
            problems.append(Problem(name, empty))
        elif len(value) > LONGEST[name]:
            problems.append(Problem(name, too_long, {"most": LONGEST[name]}))
    if draft.valid_until < draft.valid_from:
        problems.append(Problem("valid_until", N_("%(last)s is before the first day %(first)s"),
                                {"last": draft.valid_until, "first": draft.valid_from}))
    unknown = [c for c in draft.communities if c not in known_communities]
    if unknown:
        problems.append(Problem("communities", N_("no community named %(names)s"),
                                {"names": ", ".join(unknown)}))
    if name_taken:
        problems.append(Problem("name", N_("a merchant named %(name)s exists"),
                                {"name": repr(draft.name)}))
    return problems


_TEXT_FIELDS = {  # field → (msgid when empty, msgid when too long)
    "name": (N_("the name is empty"), N_("the name is at most %(most)s characters")),
    "category": (N_("the category is empty"),
                 N_("the category is at most %(most)s characters")),
    "offer": (N_("the offer is empty"), N_("the offer is at most %(most)s characters")),
}


def problems(session: Session, draft: Draft, merchant_id: int | None = None) -> list[Problem]:
    """:func:`check` against the store (``merchant_id``: the offer being edited)."""
    known = set(session.scalars(select(Community.name).where(
        Community.name.in_(draft.communities))))
    taken = select(Merchant.id).where(Merchant.name == draft.name)
    if merchant_id is not None:
        taken = taken.where(Merchant.id != merchant_id)
    return check(draft, known, session.scalar(taken.limit(1)) is not None)


def add(session: Session, draft: Draft, now: datetime) -> Merchant:
    merchant = Merchant(name=draft.name, category=draft.category, offer=draft.offer,
                        image="", communities=list(draft.communities),
                        valid_from=draft.valid_from, valid_until=draft.valid_until,
                        impressions=0, clicks=0, created_at=now)
    session.add(merchant)
    session.flush()
    return merchant


def change(merchant: Merchant, draft: Draft) -> list[str]:
    """Make the offer say what the draft says; the fields that changed."""
    changed = []
    for field in ("name", "category", "offer", "valid_from", "valid_until"):
        if getattr(merchant, field) != getattr(draft, field):
            setattr(merchant, field, getattr(draft, field))
            changed.append(field)
    if list(merchant.communities) != list(draft.communities):
        merchant.communities = list(draft.communities)
        changed.append("communities")
    return changed


def remove(session: Session, merchant: Merchant, directory: Path) -> None:
    """Remove an offer, its counts and its picture."""
    if merchant.image:
        (directory / merchant.image).unlink(missing_ok=True)
    session.delete(merchant)


@dataclass(frozen=True)
class Offer:
    """An offer as the portal's pages show it: a row of the showcase's snapshot."""

    id: int
    name: str
    category: str
    offer: str
    image: bool
    communities: frozenset[str]  # empty: the whole district
    valid_from: date
    valid_until: date
    impressions: int  # as stored when the snapshot was read


@dataclass(frozen=True)
class Snapshot:
    """Every offer not yet over, and where each access point and NAS is."""

    offers: tuple[Offer, ...]
    ap_community: dict[str, str]  # AP MAC (normal form) → community
    nas_community: dict[str, str]  # NAS name → the community of its first hotspot


def community_of(snapshot: Snapshot, nasid: str, called: str) -> str | None:
    """The community of the AP the person is at (Called-Station's MAC), else of the
    NAS's first hotspot."""
    mac = normal_mac(called[:17])
    return (snapshot.ap_community.get(mac) if mac else None) or snapshot.nas_community.get(
        nasid)


def choose(offers: Collection[Offer], community: str | None, today: date,
           shown: Counter[int], limit: int = 3) -> list[Offer]:
    """Offers valid today for this community (or the whole district), least shown first
    (``shown``: views not yet in the snapshot's counts)."""
    valid = [o for o in offers if o.valid_from <= today <= o.valid_until
             and (not o.communities or community in o.communities)]
    valid.sort(key=lambda o: (o.impressions + shown[o.id], o.id))
    return valid[:limit]


def read_snapshot(session: Session, today: date) -> Snapshot:
    """The offers not over by ``today`` and where every AP and NAS is."""
    offers = tuple(Offer(m.id, m.name, m.category, m.offer, bool(m.image),
                         frozenset(m.communities or ()), m.valid_from, m.valid_until,
                         m.impressions)
                   for m in session.scalars(select(Merchant).where(
                       Merchant.valid_until >= today)))
    aps = session.execute(select(AccessPoint.mac, Community.name)
                          .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id)
                          .join(Community, Hotspot.community_id == Community.id))
    first: dict[str, str] = {}
    for nas, community in session.execute(
            select(NasClient.name, Community.name).join(NasClient.hotspots)
            .join(Community, Hotspot.community_id == Community.id)
            .order_by(NasClient.name, Hotspot.name)):
        first.setdefault(nas, community)
    by_mac = {normal_mac(mac): name for mac, name in aps}
    by_mac.pop("", None)  # a stored MAC that is not one places nobody
    return Snapshot(offers, by_mac, first)


class Showcase:
    """The offers a portal page shows, without a query per page: the snapshot is re-read
    every ``ttl`` seconds (an edit in another process's admin shows within that), views
    are counted here for the rotation and written in batches through the tally — all
    that are pending just before each re-read, so that it reads them back."""

    def __init__(self, store: Store, tally: Tally | None = None, ttl: float = 30.0) -> None:
        self.store, self.tally = store, tally or Tally()
        self._shown: Counter[int] = Counter()  # views since the snapshot was read
        self._lock = threading.Lock()
        # offers are extras: with the store unreadable at start, pages show none
        self._snapshot = Reloading(self._load, "merchants' offers", ttl=ttl,
                                   fallback=Snapshot((), {}, {}))

    def _load(self) -> Snapshot:
        # the views counted so far go in first, so the rotation reads them back
        written = self._write(self.tally.drain())
        with self.store.session() as session:  # a day early: the district may be behind UTC
            snapshot = read_snapshot(session, datetime.now(UTC).date() - timedelta(days=1))
        if written:  # else the snapshot lacks them: the rotation keeps counting them
            with self._lock:
                self._shown.clear()
        return snapshot

    def show(self, nasid: str, called: str, today: date, limit: int = 3) -> list[Offer]:
        """The offers for a person at this NAS and AP, counted as shown."""
        snapshot = self._snapshot.get()
        community = community_of(snapshot, nasid, called)
        with self._lock:
            chosen = choose(snapshot.offers, community, today, self._shown, limit)
            self._shown.update(o.id for o in chosen)
        self._write(self.tally.add([o.id for o in chosen]))
        return chosen

    def _write(self, counts: Counter[int]) -> bool:
        """Write counts that are due; if the store fails, they wait for the next write
        (a page is never refused for a count). Whether all are stored."""
        if not counts:
            return True
        try:
            with self.store.session() as session:
                add_impressions(session, counts)
        except Exception as exc:
            log.warning("offer impressions not written (kept for the next write): %s", exc)
            self.tally.restore(counts)
            return False
        return True

    def invalidate(self) -> None:
        self._snapshot.invalidate()


class Tally:
    """Impressions counted in memory and handed out for writing every ``every`` views or
    ``seconds`` (and all of them when the showcase re-reads): a page view must not cost a
    write. At most that many counts are lost if the process dies — aggregate statistics,
    not records."""

    def __init__(self, every: int = 50, seconds: float = 30.0) -> None:
        self.every, self.seconds = every, seconds
        self._pending: Counter[int] = Counter()
        self._since_write = 0  # views added since the last write was due
        self._since = time.monotonic()
        self._lock = threading.Lock()

    def add(self, merchant_ids: list[int]) -> Counter[int]:
        """Count these views; the counts now due for writing (empty until due)."""
        with self._lock:
            self._pending.update(merchant_ids)
            self._since_write += len(merchant_ids)
            if (self._since_write < self.every
                    and time.monotonic() - self._since < self.seconds):
                return Counter()
        return self.drain()

    def restore(self, counts: Counter[int]) -> None:
        """Counts that could not be written, back for the next write — due after
        ``every`` more views, not at the very next one (the store may still be down)."""
        with self._lock:
            self._pending.update(counts)

    def drain(self) -> Counter[int]:
        """Every count not yet written, now due."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._since_write, self._since = 0, time.monotonic()
        return pending


def add_impressions(session: Session, counts: Counter[int]) -> None:
    """Add views to the stored counts: an increment, so that several processes' writes add
    up; in id order, so that two of them never wait on each other's rows."""
    for merchant_id, count in sorted(counts.items()):
        session.execute(update(Merchant).where(Merchant.id == merchant_id)
                        .values(impressions=Merchant.impressions + count))


def click(session: Session, merchant_id: int, today: date) -> Merchant | None:
    """A person opened an offer: count it (if the offer is still on)."""
    found = session.get(Merchant, merchant_id)
    if found is None or not found.valid_from <= today <= found.valid_until:
        return None
    session.execute(update(Merchant).where(Merchant.id == merchant_id)
                    .values(clicks=Merchant.clicks + 1))
    return found
