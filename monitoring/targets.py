"""Every coverage target's current value, trend, forecast to its deadline, status and
shortfall — what the dashboard's targets table and the at-risk alert show.

History: fiber metrics are reconstructed month by month from the buildings' connection
dates (exact for connections; it assumes today's set of eligible buildings throughout),
so a new installation has a trend from its first import. Other metrics use the daily KPI
samples the coverage collector keeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from citynet.catalogs import N_
from inventory.choices import (
    GOVERNMENT_TYPES,
    BuildingType,
    FiberStatus,
    ScopeKind,
    TargetMetric,
)
from inventory.models import Building, Community, CoverageTarget, Street
from monitoring import kpis as kpi_store
from monitoring.coverage import DISTRICT, PERCENT_METRICS, Kpis, shortfall
from monitoring.forecast import Forecast, Status, fit, monthly, status
from monitoring.labels import say, scope_label

HISTORY_MONTHS = 24
FIBER = frozenset({TargetMetric.FIBER_ELIGIBLE, TargetMetric.FIBER_GOVERNMENT})

SHORTFALLS = {  # what a shortfall counts: a msgid, "" where none is said
    TargetMetric.FIBER_ELIGIBLE: N_("%(count)s more buildings to connect in %(place)s"),
    TargetMetric.FIBER_GOVERNMENT: N_("%(count)s more government buildings to connect in "
                                      "%(place)s"),
    TargetMetric.HOTSPOTS_PER_COMMUNITY: N_("%(count)s more hotspots to add in %(place)s"),
    TargetMetric.PUBLIC_AREA_WIFI: N_("%(count)s more survey points to cover in %(place)s"),
    TargetMetric.AP_AVAILABILITY: N_("%(count)s more APs to bring back in %(place)s"),
    TargetMetric.LOGIN_SUCCESS: "",
}


@dataclass(frozen=True)
class TargetStatus:
    id: int
    metric: TargetMetric
    scope: str
    target: float
    deadline: date
    owner: str
    owner_en: str
    current: float | None
    status: Status
    forecast: Forecast | None
    plan: float | None  # fiber: the value if every planned connection is done by the deadline
    shortfall: int
    history: list[tuple[date, float]]
    planned: Planned | None = None  # fiber: the scope's work orders against the deadline

    @property
    def percent(self) -> bool:
        return self.metric in PERCENT_METRICS

    @property
    def days_left(self) -> int:
        return (self.deadline - date.today()).days

    def owner_in(self, lang: str) -> str:
        """The owner's English name on English pages, when the inventory has one."""
        return self.owner_en or self.owner if lang == "en" else self.owner

    @property
    def deadline_shortfall(self) -> int | None:
        """Fiber: the units still short at the deadline if every work order planned by
        then is done on time; buildings planned after the deadline count as short."""
        if self.planned is None:
            return None
        return max(0, self.shortfall - self.planned.on_time)

    def shortfall_text(self, lang: str = "en", english: Mapping[str, str] | None = None) -> str:
        """``14 more government buildings to connect in Sungang street``, or "" when
        nothing is short; ``english``: the places' English names by scope."""
        if not self.shortfall or not SHORTFALLS[self.metric]:
            return ""
        return say(SHORTFALLS[self.metric], lang, count=self.shortfall,
                   place=scope_label(self.scope, lang, english))


@dataclass(frozen=True)
class Planned:
    """A fiber target's work orders: buildings planned by its deadline, and after it."""

    on_time: int
    late: int


Columns = TypeVarTuple("Columns")


def _in_scope(query: Select[*Columns], scope: str) -> Select[*Columns]:
    kind, _, name = scope.partition(":")
    if kind == ScopeKind.STREET:
        return query.where(Building.community_id.in_(
            select(Community.id).join(Street).where(Street.name == name)))
    if kind == ScopeKind.COMMUNITY:
        return query.where(Building.community_id.in_(
            select(Community.id).where(Community.name == name)))
    if kind == ScopeKind.BUILDING_TYPE:
        return query.where(Building.type == name)
    return query


def fiber_history(session: Session, metric: TargetMetric, scope: str, eligible: float,
                  today: date) -> list[tuple[date, float]]:
    query = (select(Building.fiber_connected_on, func.count())
             .where(Building.fiber_status == FiberStatus.CONNECTED)
             .group_by(Building.fiber_connected_on))
    if metric is TargetMetric.FIBER_GOVERNMENT:
        query = query.where(Building.type.in_([t.value for t in GOVERNMENT_TYPES]))
    start = date(today.year - HISTORY_MONTHS // 12, today.month, 1)
    base, events = 0, []
    for day, count in session.execute(_in_scope(query, scope)):
        if day is None or day < start:
            base += count  # connected before the window (or on an unknown day)
        else:
            events.append((day, count))
    return monthly(events, base, int(eligible), start, today)


def planned(session: Session, metric: TargetMetric, scope: str, deadline: date) -> Planned:
    query = (select(Building.fiber_planned_on, func.count())
             .where(Building.fiber_status == FiberStatus.PLANNED,
                    Building.fiber_planned_on.is_not(None))
             .group_by(Building.fiber_planned_on))
    if metric is TargetMetric.FIBER_GOVERNMENT:
        query = query.where(Building.type.in_([t.value for t in GOVERNMENT_TYPES]))
    on_time = late = 0
    for day, count in session.execute(_in_scope(query, scope)):
        if day is not None and day <= deadline:
            on_time += count
        else:
            late += count
    return Planned(on_time, late)


def deadline_for(statuses: Iterable[TargetStatus], street: str, community: str,
                 building_type: BuildingType) -> date | None:
    """The earliest deadline of the fiber targets a building counts for (its district,
    street, community or type; the government metric only for government types)."""
    scopes = {DISTRICT, f"street:{street}", f"community:{community}",
              f"building_type:{building_type.value}"}
    metrics = FIBER if building_type in GOVERNMENT_TYPES else {TargetMetric.FIBER_ELIGIBLE}
    return min((s.deadline for s in statuses if s.metric in metrics and s.scope in scopes),
               default=None)


def evaluate(session: Session, now: datetime, today: date | None = None,
             computed: Kpis | None = None) -> list[TargetStatus]:
    """The status of every target, in metric then scope order."""
    today = today or now.date()
    current_kpis = computed if computed is not None else kpi_store.compute(session, now)
    per_community = kpi_store.hotspots_by_community(current_kpis)
    out = []
    targets = session.scalars(select(CoverageTarget)
                              .order_by(CoverageTarget.metric, CoverageTarget.scope_kind,
                                        CoverageTarget.scope_ref))
    for target in targets:
        metric, scope = target.metric, target.scope
        ratio = current_kpis.get(metric, scope)
        current = ratio.value(metric)
        plan, work = None, None
        if metric in FIBER:
            history = fiber_history(session, metric, scope, ratio.denominator, today)
            work = planned(session, metric, scope, target.deadline)
            if ratio.denominator:
                plan = 100.0 * (ratio.numerator + work.on_time) / ratio.denominator
        else:
            history = kpi_store.history(session, metric, scope)
            if current is not None and (not history or history[-1][0] < today):
                history.append((today, current))
        short = shortfall(metric, scope, target.target, current_kpis, per_community)
        bounds = (0.0, 100.0) if metric in PERCENT_METRICS else (0.0, math.inf)
        forecast = fit(history, target.deadline, bounds=bounds)
        out.append(TargetStatus(
            id=target.id, metric=metric, scope=scope, target=target.target,
            deadline=target.deadline, owner=target.owner, owner_en=target.owner_en,
            current=current,
            status=status(current, target.target, target.deadline, today, forecast,
                          short=short),
            forecast=forecast, plan=plan, shortfall=short, history=history, planned=work))
    return out


def evaluate_targets(session: Session, today: date) -> list[TargetStatus]:
    """The alerts' entry point: every target as of ``today`` (end of day, UTC)."""
    return evaluate(session, datetime.combine(today, time.max, tzinfo=UTC), today)
