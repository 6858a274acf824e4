"""Read-side summaries of the inventory for the CLI and the web pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from inventory.choices import FiberStatus
from inventory.importer import export_row, load
from inventory.kinds import KINDS, Kind
from inventory.models import Building, Community, Hotspot, Street


@dataclass(frozen=True)
class AreaSummary:
    name: str
    communities: int
    buildings: int
    eligible: int
    connected: int
    hotspots: int

    @property
    def fiber_coverage(self) -> float | None:
        """Connected share of eligible buildings, in percent."""
        return 100.0 * self.connected / self.eligible if self.eligible else None


def counts(session: Session) -> dict[str, int]:
    return {name: session.scalar(select(func.count()).select_from(kind.model)) or 0
            for name, kind in KINDS.items()}


_eligible = func.sum(case((Building.fiber_status != FiberStatus.NOT_ELIGIBLE, 1), else_=0))
_connected = func.sum(case((Building.fiber_status == FiberStatus.CONNECTED, 1), else_=0))


def streets(session: Session) -> list[AreaSummary]:
    """One summary a street, in name order."""
    buildings = {
        row[0]: tuple(row[1:]) for row in session.execute(
            select(Community.street_id, func.count(Building.id), _eligible, _connected)
            .join(Building, Building.community_id == Community.id)
            .group_by(Community.street_id))
    }
    communities = _pairs(session.execute(
        select(Community.street_id, func.count()).group_by(Community.street_id)))
    hotspots = _pairs(session.execute(
        select(Community.street_id, func.count(Hotspot.id))
        .join(Hotspot, Hotspot.community_id == Community.id)
        .group_by(Community.street_id)))
    summaries = []
    for street in session.scalars(select(Street).order_by(Street.name)):
        total, eligible, connected = buildings.get(street.id, (0, 0, 0))
        summaries.append(AreaSummary(street.name, communities.get(street.id, 0), total,
                                     eligible or 0, connected or 0, hotspots.get(street.id, 0)))
    return summaries


def communities(session: Session, street_name: str) -> list[AreaSummary] | None:
    """One summary a community of a street; None if there is no such street."""
    street = session.scalar(select(Street).where(Street.name == street_name))
    if street is None:
        return None
    hotspots = _pairs(session.execute(
        select(Hotspot.community_id, func.count()).group_by(Hotspot.community_id)))
    rows = session.execute(
        select(Community.id, Community.name, func.count(Building.id), _eligible, _connected)
        .outerjoin(Building, Building.community_id == Community.id)
        .where(Community.street_id == street.id)
        .group_by(Community.id, Community.name)
        .order_by(Community.name))
    return [AreaSummary(name, 1, total, eligible or 0, connected or 0, hotspots.get(cid, 0))
            for cid, name, total, eligible, connected in rows]


def _pairs(result: Any) -> dict[Any, int]:
    return {key: value for key, value in result}


@dataclass(frozen=True)
class HotspotRow:
    name: str
    community: str
    street: str
    location: str
    ssids: list[str]
    access_points: int
    nas: list[str]


def hotspots(session: Session, community: str | None = None) -> list[HotspotRow]:
    """Hotspots with their place, SSIDs, AP count and the NAS that serve them."""
    from inventory.models import AccessPoint, NasClient

    query = (select(Hotspot).join(Hotspot.community).order_by(Community.name, Hotspot.name))
    if community:
        query = query.where(Community.name == community)
    aps = _pairs(session.execute(select(AccessPoint.hotspot_id, func.count())
                                 .group_by(AccessPoint.hotspot_id)))
    serving: dict[int, list[str]] = {}
    for nas in session.scalars(select(NasClient).order_by(NasClient.name)):
        for hotspot in nas.hotspots:
            serving.setdefault(hotspot.id, []).append(nas.name)
    return [HotspotRow(h.name, h.community.name, h.community.street.name, h.location,
                       list(h.ssids), aps.get(h.id, 0), serving.get(h.id, []))
            for h in session.scalars(query)]


HOTSPOT_PAGE = 50  # rows of the hotspot list a page (a district has hundreds)


@dataclass(frozen=True)
class HotspotPage:
    rows: list[HotspotRow]
    total: int
    page: int  # from 1, within 1..pages
    pages: int
    first: int  # the rows shown, counted from 1 (0 when there are none)
    last: int


def hotspot_page(rows: list[HotspotRow], page: int, size: int = HOTSPOT_PAGE) -> HotspotPage:
    """Page ``page`` of the hotspot list (a page past the end shows the last one)."""
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * size: page * size]
    first = (page - 1) * size + 1 if shown else 0
    return HotspotPage(shown, len(rows), page, pages, first, first + len(shown) - 1 if shown else 0)


# --- the editor's record lists ------------------------------------------------------

PAGE = 100


@dataclass(frozen=True)
class RecordPage:
    rows: list[tuple[str, dict[str, Any]]]  # (key, exported row), in key order
    total: int  # records matching the filter
    page: int
    pages: int


def records(session: Session, kind: Kind, contains: str = "", page: int = 1,
            size: int = PAGE) -> RecordPage:
    """One page of a kind's records as the exporter sees them, those whose key contains
    ``contains`` (any case)."""
    if len(kind.key) == 1:  # a key column: filter and page in the database
        column = getattr(kind.model, kind.key[0])
        query = select(kind.model)
        if contains:
            query = query.where(column.icontains(contains, autoescape=True))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = session.scalars(query.order_by(column).offset((page - 1) * size).limit(size))
        exported = [export_row(kind, obj) for obj in found]
        rows = [(kind.key_of(row), row) for row in exported]
    else:  # a composite key (targets): few records, filtered here
        needle = contains.casefold()
        matching = [(key, obj) for key, obj in sorted(load(session, kind).items())
                    if needle in key.casefold()]
        total = len(matching)
        rows = [(key, export_row(kind, obj))
                for key, obj in matching[(page - 1) * size: page * size]]
    return RecordPage(rows, total, page, max(1, -(-total // size)))


def keys(session: Session, kind: Kind, limit: int = 2000) -> list[str]:
    """Keys of a kind, in order (what a form offers for a reference to it)."""
    if len(kind.key) == 1:
        column = getattr(kind.model, kind.key[0])
        return [str(key) for key in session.scalars(select(column).order_by(column).limit(limit))]
    return sorted(load(session, kind))[:limit]


def english_names(session: Session) -> dict[str, str]:
    """The English names set for streets and communities, by scope (``street:笋岗`` →
    ``Sungang``); a place without one is left out."""
    names = {f"street:{name}": english for name, english in
             session.execute(select(Street.name, Street.name_en).where(Street.name_en != ""))}
    names.update((f"community:{name}", english) for name, english in session.execute(
        select(Community.name, Community.name_en).where(Community.name_en != "")))
    return names
