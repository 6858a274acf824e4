"""MAC authentication bypass over the store: the allow-list, and the unknown MACs seen
asking for it (``citynet nac mab …``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from admission.models import MabEntry, UnknownMac
from admission.policy import locally_administered, multicast
from admission.settings import NacConfig
from citynet.catalogs import N_
from citynet.db import table, upsert_insert
from citynet.errors import CitynetError

_SPELLING = re.compile(r"[0-9A-Fa-f]{2}([-:.]?[0-9A-Fa-f]{2}){5}")  # aa:bb.., aabb.ccdd.eeff, bare


class BadMac(CitynetError):
    """A MAC that cannot be on the list, and why."""


def normal(text: str) -> str:
    """``text`` in any switch's spelling as aa:bb:cc:dd:ee:ff; '' when it is no MAC."""
    text = text.strip()
    if not _SPELLING.fullmatch(text):
        return ""
    digits = re.sub(r"[^0-9a-f]", "", text.lower())
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def checked(text: str) -> str:
    """The MAC to list, or :class:`BadMac` saying why not."""
    mac = normal(text)
    if not mac:
        raise BadMac(N_("%(text)s is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-…, "
                        "aabb.ccdd.eeff)"), text=repr(text))
    if multicast(mac):
        raise BadMac(N_("%(mac)s is a multicast address, not a device's"), mac=mac)
    if locally_administered(mac):
        raise BadMac(N_("%(mac)s is locally administered (randomised, a 'private "
                        "address'): it changes, so whoever draws it next would be let in. "
                        "Turn private addresses off on the device for this network and add "
                        "its own MAC"), mac=mac)
    if mac == "00:00:00:00:00:00":
        raise BadMac(N_("00:00:00:00:00:00 is no device's address"))
    return mac


def add(session: Session, config: NacConfig, text: str, profile: str,
        now: datetime) -> tuple[MabEntry, bool]:
    """List the MAC under ``profile`` (True) or move it there (False)."""
    mac = checked(text)
    if profile not in config.mab_profiles:
        if not config.mab_profiles:
            raise BadMac(N_("no MAC bypass profile %(profile)s (configured: none: add "
                            "[nac.mab_profiles.NAME])"), profile=repr(profile))
        raise BadMac(N_("no MAC bypass profile %(profile)s (configured: %(known)s)"),
                     profile=repr(profile), known=", ".join(sorted(config.mab_profiles)))
    entry = session.scalar(select(MabEntry).where(MabEntry.mac == mac))
    if entry is not None:
        entry.profile = profile
        return entry, False
    entry = MabEntry(mac=mac, profile=profile, added_at=now)
    session.add(entry)
    return entry, True


def remove(session: Session, text: str) -> MabEntry | None:
    entry = session.scalar(select(MabEntry).where(MabEntry.mac == (normal(text) or text)))
    if entry is not None:
        session.delete(entry)
    return entry


def entries(session: Session) -> list[MabEntry]:
    return list(session.scalars(select(MabEntry).order_by(MabEntry.mac)))


def profile_of(session: Session, mac: str) -> str | None:
    return session.scalar(select(MabEntry.profile).where(MabEntry.mac == mac))


@dataclass(frozen=True)
class Seen:
    mac: str
    nas: str
    port: str


def note_unknown(session: Session, seen: Seen, now: datetime) -> None:
    """Count an unknown MAC's bypass request (per MAC, switch and port). One upsert: RADIUS
    rounds of several processes count the same MAC at once (PostgreSQL: the second waits
    for the first's row), and neither count is lost nor a second row refused."""
    unknown = table(UnknownMac)
    session.execute(upsert_insert(unknown, session.connection().dialect.name).values(
        mac=seen.mac, nas=seen.nas, port=seen.port, first_seen=now, last_seen=now, count=1)
        .on_conflict_do_update(index_elements=["mac", "nas", "port"],
                               set_={"last_seen": now, "count": unknown.c.count + 1}))


def randomised(mac: str) -> bool:
    """A randomised (private) address: it can never be listed (:func:`checked`), so the
    report of unknown MACs says so rather than invite an entry the list would refuse."""
    return locally_administered(mac)


def unknown(session: Session) -> list[UnknownMac]:
    """Unknown MACs still not on the list, most recently seen first."""
    listed = select(MabEntry.mac)
    return list(session.scalars(select(UnknownMac).where(UnknownMac.mac.not_in(listed))
                                .order_by(UnknownMac.last_seen.desc(), UnknownMac.mac)))
