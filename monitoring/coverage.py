"""Coverage KPIs: each metric as numerator / denominator for every scope.

Pure. Facts come in already counted (a SQL GROUP BY turns 100,000 buildings into a few
thousand facts); :func:`fold` adds each fact to its community, its street, the district
and, for buildings, its building type. A value is a percentage, except hotspots per
community, which is a plain ratio.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from inventory.choices import GOVERNMENT_TYPES, BuildingType, FiberStatus, TargetMetric

DISTRICT = "district"
PERCENT_METRICS = frozenset(TargetMetric) - {TargetMetric.HOTSPOTS_PER_COMMUNITY}


@dataclass(frozen=True, slots=True)
class Fact:
    """``numerator`` of ``denominator`` for one metric in one community (and, for
    buildings, one building type)."""

    metric: TargetMetric
    street: str
    community: str
    numerator: float
    denominator: float
    building_type: str | None = None


@dataclass
class Ratio:
    numerator: float = 0.0
    denominator: float = 0.0

    def value(self, metric: TargetMetric) -> float | None:
        if not self.denominator:
            return None
        ratio = self.numerator / self.denominator
        return 100.0 * ratio if metric in PERCENT_METRICS else ratio


@dataclass
class Kpis:
    """Every (metric, scope) ratio, and which communities make up each scope (for
    shortfalls counted community by community, like hotspots per community)."""

    ratios: dict[tuple[TargetMetric, str], Ratio] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def get(self, metric: TargetMetric, scope: str) -> Ratio:
        return self.ratios.get((metric, scope), Ratio())

    def value(self, metric: TargetMetric, scope: str) -> float | None:
        return self.get(metric, scope).value(metric)

    def scopes(self, metric: TargetMetric) -> list[str]:
        return sorted(scope for m, scope in self.ratios if m is metric)


def scopes_of(fact: Fact) -> list[str]:
    if not fact.community:  # placed nowhere more precise (a login from an unknown AP)
        return [DISTRICT]
    scopes = [DISTRICT, f"street:{fact.street}", f"community:{fact.community}"]
    if fact.building_type is not None:
        scopes.append(f"building_type:{fact.building_type}")
    return scopes


def fold(facts: Iterable[Fact]) -> Kpis:
    kpis = Kpis()
    ratios = kpis.ratios
    for fact in facts:
        for scope in scopes_of(fact):
            ratio = ratios.get((fact.metric, scope))
            if ratio is None:
                ratio = ratios[(fact.metric, scope)] = Ratio()
            ratio.numerator += fact.numerator
            ratio.denominator += fact.denominator
            if fact.community:
                kpis.members[scope].add(fact.community)
    return kpis


def fiber_facts(rows: Iterable[tuple[str, str, str, str, int]]) -> Iterable[Fact]:
    """Facts from (street, community, building type, fiber status, count) groups: every
    eligible building counts for the eligible metric; government agencies, public
    institutions and community workstations also for the government metric."""
    for street, community, building_type, status, count in rows:
        if status == FiberStatus.NOT_ELIGIBLE:
            continue
        connected = count if status == FiberStatus.CONNECTED else 0
        yield Fact(TargetMetric.FIBER_ELIGIBLE, street, community, connected, count,
                   building_type)
        if BuildingType(building_type) in GOVERNMENT_TYPES:
            yield Fact(TargetMetric.FIBER_GOVERNMENT, street, community, connected, count,
                       building_type)


def hotspot_facts(rows: Iterable[tuple[str, str, int]]) -> Iterable[Fact]:
    """Facts from (street, community, hotspots) — communities with none included."""
    for street, community, hotspots in rows:
        yield Fact(TargetMetric.HOTSPOTS_PER_COMMUNITY, street, community, hotspots, 1)


def shortfall(metric: TargetMetric, scope: str, target: float, kpis: Kpis,
              per_community: dict[str, float] | None = None) -> int:
    """How many more units (buildings to connect, hotspots to add, survey points to
    cover, APs to bring back) the scope needs to reach ``target`` today."""
    if metric is TargetMetric.HOTSPOTS_PER_COMMUNITY:
        counts = per_community or {}
        return int(sum(max(0.0, target - counts.get(c, 0.0))
                       for c in kpis.members.get(scope, set())) + 0.999)
    if metric is TargetMetric.LOGIN_SUCCESS:
        return 0  # a rate of attempts, not a count of things to build
    ratio = kpis.get(metric, scope)
    needed = target / 100.0 * ratio.denominator - ratio.numerator
    return max(0, int(needed + 0.999_999))  # ceil, tolerant of float noise
