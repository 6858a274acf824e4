"""Coverage KPIs read from the store: counted in SQL, folded by :mod:`monitoring.coverage`,
kept as one sample a day per (metric, scope) for trends.

Sources: buildings and hotspots from the inventory; survey points and probe states from
monitoring's own tables; logins from the login records (by table name: monitoring does
not import the RADIUS package).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.orm import Session

from citynet import db
from citynet.db import UtcDateTime
from citynet.telemetry import Point
from inventory.choices import TargetMetric
from inventory.models import AccessPoint, Building, Community, Hotspot, Street
from monitoring.coverage import Fact, Kpis, fiber_facts, fold, hotspot_facts
from monitoring.models import KpiSample, ProbeState, SurveyPoint

LOGIN_WINDOW = timedelta(hours=24)

_login_record = table("login_record", column("at", UtcDateTime()), column("event", String),
                      column("result", String), column("called_station", String))
_MAC = re.compile(r"^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?"
                  r"([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})", re.I)


def ap_mac(called_station: str) -> str:
    """The AP's MAC in a Called-Station-Id (``00-E0-FC-12-34-56:i-Shenzhen``), or ""."""
    found = _MAC.match(called_station.strip())
    return ":".join(found.groups()).lower() if found else ""


def _places(session: Session) -> dict[str, tuple[str, str]]:
    """Hotspot name → (street, community)."""
    rows = session.execute(select(Hotspot.name, Street.name, Community.name)
                           .join(Community, Hotspot.community_id == Community.id)
                           .join(Street, Community.street_id == Street.id))
    return {hotspot: (street, community) for hotspot, street, community in rows}


def ap_places(session: Session) -> dict[str, tuple[str, str, str]]:
    """AP MAC → (street, community, hotspot)."""
    rows = session.execute(select(AccessPoint.mac, Street.name, Community.name, Hotspot.name)
                           .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id)
                           .join(Community, Hotspot.community_id == Community.id)
                           .join(Street, Community.street_id == Street.id))
    return {mac: (street, community, hotspot) for mac, street, community, hotspot in rows}


def fiber_rows(session: Session) -> Iterable[tuple[str, str, str, str, int]]:
    return session.execute(
        select(Street.name, Community.name, Building.type, Building.fiber_status, func.count())
        .join(Community, Building.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .group_by(Street.name, Community.name, Building.type, Building.fiber_status))


def hotspot_rows(session: Session) -> Iterable[tuple[str, str, int]]:
    return session.execute(
        select(Street.name, Community.name, func.count(Hotspot.id))
        .join(Street, Community.street_id == Street.id)
        .outerjoin(Hotspot, Hotspot.community_id == Community.id)
        .group_by(Street.name, Community.name))


def latest_surveys(hotspots: Sequence[str] | None = None) -> Select[str, int, int]:
    """(hotspot, covered points, points) of each hotspot's latest survey — what the
    public-area KPI counts, and what the dashboard shows beside it."""
    latest = (select(SurveyPoint.hotspot, func.max(SurveyPoint.measured_at).label("at"))
              .group_by(SurveyPoint.hotspot).subquery())
    query = (select(SurveyPoint.hotspot, func.sum(cast(SurveyPoint.covered, Integer)),
                    func.count())
             .join(latest, (latest.c.hotspot == SurveyPoint.hotspot)
                   & (latest.c.at == SurveyPoint.measured_at))
             .group_by(SurveyPoint.hotspot))
    if hotspots is not None:
        query = query.where(SurveyPoint.hotspot.in_(hotspots))
    return query


def survey_facts(session: Session) -> Iterator[Fact]:
    """Public-area coverage: covered survey points of each hotspot's latest survey."""
    places = _places(session)
    for hotspot, covered, total in session.execute(latest_surveys()):
        street, community = places.get(hotspot, ("", ""))
        yield Fact(TargetMetric.PUBLIC_AREA_WIFI, street, community, covered or 0, total)


def availability_facts(session: Session) -> Iterator[Fact]:
    """AP availability: APs answering probes now, of those probed."""
    places = ap_places(session)
    for target, up in session.execute(select(ProbeState.target, ProbeState.up)
                                      .where(ProbeState.target.startswith("ap:"))):
        street, community, _hotspot = places.get(target[3:], ("", "", ""))
        yield Fact(TargetMetric.AP_AVAILABILITY, street, community, 1 if up else 0, 1)


def login_facts(session: Session, now: datetime) -> Iterator[Fact]:
    """Login success rate over the last 24 hours, placed by the AP in Called-Station-Id."""
    rows = session.execute(
        select(_login_record.c.called_station, _login_record.c.result, func.count())
        .where(_login_record.c.event == "login", _login_record.c.at >= now - LOGIN_WINDOW)
        .group_by(_login_record.c.called_station, _login_record.c.result))
    places = ap_places(session)
    for called, result, count in rows:
        street, community, _hotspot = places.get(ap_mac(called or ""), ("", "", ""))
        yield Fact(TargetMetric.LOGIN_SUCCESS, street, community,
                   count if result == "accept" else 0, count)


def compute(session: Session, now: datetime) -> Kpis:
    """Every KPI of every scope, as of ``now``."""
    def facts() -> Iterator[Fact]:
        yield from fiber_facts(fiber_rows(session))
        yield from hotspot_facts(hotspot_rows(session))
        yield from survey_facts(session)
        yield from availability_facts(session)
        yield from login_facts(session, now)

    return fold(facts())


def hotspots_by_community(kpis: Kpis) -> dict[str, float]:
    prefix = "community:"
    return {scope[len(prefix):]: ratio.numerator
            for (metric, scope), ratio in kpis.ratios.items()
            if metric is TargetMetric.HOTSPOTS_PER_COMMUNITY and scope.startswith(prefix)}


def record(session: Session, kpis: Kpis, day: date, now: datetime) -> int:
    """Keep today's value of every (metric, scope): one sample a day, the last one wins.
    Set-wise, after the read: on SQLite the first write takes the database's one write
    lock (every RADIUS round waits for it) until the commit."""
    existing = {(metric, scope): row_id for row_id, metric, scope in session.execute(
        select(KpiSample.id, KpiSample.metric, KpiSample.scope).where(KpiSample.day == day))}
    rows = {(metric.value, scope): {
        "metric": metric.value, "scope": scope, "day": day, "value": ratio.value(metric),
        "numerator": ratio.numerator, "denominator": ratio.denominator, "computed_at": now}
        for (metric, scope), ratio in kpis.ratios.items()}
    _INSERT_SAMPLE.many(session, [row for key, row in rows.items() if key not in existing])
    _UPDATE_SAMPLE.many(session, [
        {"row_id": existing[key], **{f"new_{name}": row[name] for name in _MEASURED}}
        for key, row in rows.items() if key in existing])
    return len(kpis.ratios)


_SAMPLES = db.table(KpiSample)
_MEASURED = ("value", "numerator", "denominator", "computed_at")
_INSERT_SAMPLE = db.DriverStatement(insert(_SAMPLES), ["metric", "scope", "day", *_MEASURED])
_UPDATE_SAMPLE = db.DriverStatement(
    update(_SAMPLES).where(_SAMPLES.c.id == bindparam("row_id"))
    .values({name: bindparam(f"new_{name}") for name in _MEASURED}))


def history(session: Session, metric: TargetMetric, scope: str) -> list[tuple[date, float]]:
    """The daily samples of one KPI, oldest first."""
    return [(day, value) for day, value in session.execute(
        select(KpiSample.day, KpiSample.value)
        .where(KpiSample.metric == metric.value, KpiSample.scope == scope,
               KpiSample.value.is_not(None))
        .order_by(KpiSample.day)) if value is not None]


def points(kpis: Kpis, now: datetime) -> list[Point]:
    """The KPIs as telemetry (measurement ``coverage``) for InfluxDB and Grafana."""
    out = []
    for (metric, scope), ratio in sorted(kpis.ratios.items()):
        value = ratio.value(metric)
        if value is None:
            continue
        kind, _, name = scope.partition(":")
        out.append(Point("coverage", {"metric": metric.value, "scope_kind": kind,
                                      "scope": name or kind},
                         {"value": float(value), "numerator": float(ratio.numerator),
                          "denominator": float(ratio.denominator)}, now))
    return out
