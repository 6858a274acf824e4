"""Every coverage target's current value, trend, forecast to its deadline, status and
shortfall — what the dashboard's targets table and the at-risk alert show.

History: fiber metrics are reconstructed month by month from the buildings' connection
dates (exact for connections; it assumes today's set of eligible buildings throughout),
so a new installation has a trend from its first import. Other metrics use the daily KPI
samples the coverage collector keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from inventory.choices import GOVERNMENT_TYPES, FiberStatus, ScopeKind, TargetMetric
from inventory.models import Building, Community, CoverageTarget, Street
from monitoring import kpis as kpi_store
from monitoring.coverage import PERCENT_METRICS, Kpis, shortfall
from monitoring.forecast import Forecast, Status, fit, monthly, status
from monitoring.labels import scope_label

HISTORY_MONTHS = 24
FIBER = frozenset({TargetMetric.FIBER_ELIGIBLE, TargetMetric.FIBER_GOVERNMENT})

UNITS = {  # what a shortfall counts, (English, Chinese)
    TargetMetric.FIBER_ELIGIBLE: ("buildings to connect", "栋楼宇待接入光纤"),
    TargetMetric.FIBER_GOVERNMENT: ("government buildings to connect", "栋政务楼宇待接入光纤"),
    TargetMetric.HOTSPOTS_PER_COMMUNITY: ("hotspots to add", "个热点待建设"),
    TargetMetric.PUBLIC_AREA_WIFI: ("survey points to cover", "个测点待覆盖"),
    TargetMetric.AP_AVAILABILITY: ("APs to bring back", "台AP待恢复"),
    TargetMetric.LOGIN_SUCCESS: ("", ""),
}


@dataclass(frozen=True)
class TargetStatus:
    id: int
    metric: TargetMetric
    scope: str
    target: float
    deadline: date
    owner: str
    current: float | None
    status: Status
    forecast: Forecast | None
    plan: float | None  # fiber: the value if every planned connection is done by the deadline
    shortfall: int
    history: list[tuple[date, float]]

    @property
    def percent(self) -> bool:
        return self.metric in PERCENT_METRICS

    @property
    def days_left(self) -> int:
        return (self.deadline - date.today()).days

    def shortfall_text(self, lang: str = "en") -> str:
        """``14 government buildings to connect in 笋岗``, or "" when nothing is short."""
        if not self.shortfall or not UNITS[self.metric][0]:
            return ""
        place = scope_label(self.scope, lang)
        if lang == "en":
            return f"{self.shortfall} more {UNITS[self.metric][0]} in {place}"
        return f"{place}还有 {self.shortfall} {UNITS[self.metric][1]}"


Dated = Select[date | None, int]


def _in_scope(query: Dated, scope: str) -> Dated:
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


def planned_by(session: Session, metric: TargetMetric, scope: str, deadline: date) -> int:
    query = (select(Building.fiber_planned_on, func.count())
             .where(Building.fiber_status == FiberStatus.PLANNED,
                    or_(Building.fiber_planned_on.is_(None),
                        Building.fiber_planned_on <= deadline))
             .group_by(Building.fiber_planned_on))
    if metric is TargetMetric.FIBER_GOVERNMENT:
        query = query.where(Building.type.in_([t.value for t in GOVERNMENT_TYPES]))
    return sum(count for day, count in session.execute(_in_scope(query, scope))
               if day is not None)


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
        plan = None
        if metric in FIBER:
            history = fiber_history(session, metric, scope, ratio.denominator, today)
            if ratio.denominator:
                plan = 100.0 * (ratio.numerator + planned_by(session, metric, scope,
                                                              target.deadline)) / ratio.denominator
        else:
            history = kpi_store.history(session, metric, scope)
            if current is not None and (not history or history[-1][0] < today):
                history.append((today, current))
        short = shortfall(metric, scope, target.target, current_kpis, per_community)
        bounds = (0.0, 100.0) if metric in PERCENT_METRICS else (0.0, math.inf)
        forecast = fit(history, target.deadline, bounds=bounds)
        out.append(TargetStatus(
            id=target.id, metric=metric, scope=scope, target=target.target,
            deadline=target.deadline, owner=target.owner, current=current,
            status=status(current, target.target, target.deadline, today, forecast,
                          short=short),
            forecast=forecast, plan=plan, shortfall=short, history=history))
    return out


def evaluate_targets(session: Session, today: date) -> list[TargetStatus]:
    """The alerts' entry point: every target as of ``today`` (end of day, UTC)."""
    return evaluate(session, datetime.combine(today, time.max, tzinfo=UTC), today)
