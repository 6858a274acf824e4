"""The alert rules: what each watches in the store and when it fires (the engine that
turns their conditions into notices is :mod:`monitoring.alerts`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citynet.catalogs import N_, Message
from citynet.config import Config
from inventory.models import AccessPoint, Hotspot, NetworkDevice
from monitoring.alerts import Condition, Rule, Severity, local_time, zone
from monitoring.models import KpiSample, ProbeState
from monitoring.settings import MonitoringConfig

REGRESSION_POINTS = 0.5  # a KPI falling by more than this from one sample to the next
AT_RISK: dict[str, Severity] = {"at_risk": "warning", "missed": "critical"}  # by status
# a target's status as a detail says it ("at risk": the words the English always had)
TARGET_STATES = {"met": N_("met"), "on_track": N_("on track"), "at_risk": N_("at risk"),
                 "missed": N_("missed")}


def _down(session: Session, now: datetime, config: Config, rule: str, prefix: str,
          names: Mapping[str, str], severity: Severity) -> list[Condition]:
    """Probed targets under ``prefix`` that the inventory still has (``names``: key after
    the prefix -> how to name it), firing when down for the threshold or longer."""
    threshold = timedelta(minutes=config.section(MonitoringConfig).ap_down_minutes)
    where = zone(config)
    out = []
    for state in session.scalars(select(ProbeState).where(ProbeState.target.startswith(prefix))):
        name = names.get(state.target[len(prefix):])
        if name is None:
            continue
        since = local_time(state.since, where)
        if state.up:
            out.append(Condition(rule, state.target, False, Message(
                N_("%(name)s up since %(since)s"), name=name, since=since),
                severity, state.since))
            continue
        down = Message(N_("%(name)s down since %(since)s"), name=name, since=since)
        if now - state.since >= threshold:
            out.append(Condition(rule, state.target, True, down, severity, state.since))
        else:  # down, not for long yet: when it stopped being up is not this state's start
            out.append(Condition(rule, state.target, False, down, severity))
    return out


def ap_down(session: Session, now: datetime, config: Config) -> list[Condition]:
    """An AP (probe target ``ap:MAC``) down for ``monitoring.ap_down_minutes`` or longer."""
    names = {mac: Message(N_("AP %(name)s (%(mac)s) at %(hotspot)s"), name=name, mac=mac,
                          hotspot=hotspot) if name
             else Message(N_("AP %(mac)s at %(hotspot)s"), mac=mac, hotspot=hotspot)
             for mac, name, hotspot in session.execute(
                 select(AccessPoint.mac, AccessPoint.name, Hotspot.name)
                 .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id))}
    return _down(session, now, config, "ap_down", "ap:", names, "warning")


def device_down(session: Session, now: datetime, config: Config) -> list[Condition]:
    """A network device (probe target ``device:HOSTNAME``) down as long as an AP would be."""
    names = {hostname: Message(N_("device %(hostname)s at %(site)s"), hostname=hostname,
                               site=site) if site
             else Message(N_("device %(hostname)s"), hostname=hostname)
             for hostname, site in session.execute(
                 select(NetworkDevice.hostname, NetworkDevice.site))}
    return _down(session, now, config, "device_down", "device:", names, "critical")


def coverage_regression(session: Session, now: datetime, config: Config) -> list[Condition]:
    """A KPI whose latest daily sample is more than :data:`REGRESSION_POINTS` below the
    sample before it (percentage points; for the hotspots-per-community ratio, the same
    number as a ratio). Day over day on purpose: it fires on the day of the drop and
    resolves with the next sample that does not drop again, rather than waiting for the
    old high, which may never come back (buildings demolished)."""
    recent = (select(KpiSample.metric, KpiSample.scope, KpiSample.day, KpiSample.value,
                     func.row_number().over(partition_by=(KpiSample.metric, KpiSample.scope),
                                            order_by=KpiSample.day.desc()).label("n"))
              .where(KpiSample.value.is_not(None)).subquery())
    series: dict[tuple[str, str], list[tuple[date, float]]] = {}
    for metric, scope, day, value in session.execute(
            select(recent.c.metric, recent.c.scope, recent.c.day, recent.c.value)
            .where(recent.c.n <= 2).order_by(recent.c.metric, recent.c.scope, recent.c.day)):
        series.setdefault((metric, scope), []).append((day, value))
    out = []
    for (metric, scope), samples in series.items():
        if len(samples) < 2:
            continue
        (before, old), (latest, new) = samples
        drop = round(old - new, 9)  # 90.3 - 89.8 is 0.5000000000000028 in floats
        subject = f"{metric}@{scope}"
        values = {"metric": metric, "scope": scope, "old": f"{old:.1f}", "before": str(before),
                  "new": f"{new:.1f}", "latest": str(latest)}
        if drop > REGRESSION_POINTS:
            out.append(Condition("coverage_regression", subject, True, Message(N_(
                "%(metric)s of %(scope)s fell from %(old)s on %(before)s to %(new)s on "
                "%(latest)s"), **values)))
        else:
            out.append(Condition("coverage_regression", subject, False, Message(N_(
                "%(metric)s of %(scope)s at %(new)s on %(latest)s (%(old)s on %(before)s)"),
                **values)))
    return out


class ForecastLike(Protocol):
    @property
    def value(self) -> float: ...


class TargetStatusLike(Protocol):
    """What the at-risk rule reads of a target's status (``monitoring.targets``)."""

    @property
    def metric(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def status(self) -> str: ...  # met, on_track, at_risk, missed
    @property
    def forecast(self) -> ForecastLike | None: ...
    @property
    def target(self) -> float: ...
    @property
    def deadline(self) -> date: ...


TargetSource = Callable[[Session, date], Sequence[TargetStatusLike]]


def target_conditions(statuses: Iterable[TargetStatusLike]) -> list[Condition]:
    """A target at risk (warning) or missed (critical) fires; met or on track does not.
    Going from at risk to missed is the same episode: no second notice."""
    out = []
    for status in statuses:
        subject = f"{status.metric}@{status.scope}"
        state = str(status.status)
        detail = Message(N_("%(metric)s of %(scope)s %(state)s: target %(target)s by "
                            "%(deadline)s"), metric=status.metric, scope=status.scope,
                         state=Message(TARGET_STATES.get(state, state)),
                         target=f"{status.target:g}", deadline=str(status.deadline))
        if state in AT_RISK:
            if status.forecast is not None:
                detail = Message(N_("%(detail)s, forecast %(forecast)s at the deadline"),
                                 detail=detail, forecast=f"{status.forecast.value:.1f}")
            out.append(Condition("target_at_risk", subject, True, detail, AT_RISK[state]))
        else:
            out.append(Condition("target_at_risk", subject, False, detail))
    return out


def target_rule(source: TargetSource) -> Rule:
    """The at-risk rule over a source of target statuses (``monitoring.targets.
    evaluate_targets``), asked for the district's today."""

    def target_at_risk(session: Session, now: datetime, config: Config) -> list[Condition]:
        return target_conditions(source(session, now.astimezone(zone(config)).date()))

    return Rule("target_at_risk", target_at_risk)


def default_rules(targets: TargetSource | None = None) -> list[Rule]:
    """The rules ``citynet alerts check`` and ``citynet serve`` run; the at-risk rule asks
    :func:`monitoring.targets.evaluate_targets` unless another source is given."""
    from monitoring.targets import evaluate_targets

    return [Rule("ap_down", ap_down), Rule("device_down", device_down),
            Rule("coverage_regression", coverage_regression),
            target_rule(targets or evaluate_targets)]
