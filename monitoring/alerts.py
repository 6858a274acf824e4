"""Alerts: rules that look at the store, and an engine that notices when their state changes.

A rule reports the current state of every subject it watches (an AP, a KPI of a scope, a
target) as :class:`Condition`s. The engine compares them with what the store remembers
(:class:`~monitoring.models.AlertState`, key ``rule:subject``) and makes a
:class:`Notice` when a subject starts firing and one when it recovers ("resolved", with
how long it lasted); a subject still firing makes none. A subject a rule no longer
reports (an AP deleted from the inventory) counts as recovered.

Delivery (:mod:`monitoring.notify`) is at most once, retried until it reaches a channel:
an evaluation *claims* its notices (``notified_at`` = the evaluation's moment) in the same
transaction, under an exclusive lock, so a second evaluator running at the same time sees
them claimed and stays quiet. A notice no channel took is released (``notified_at``
back to NULL) and sent again by the next evaluation; one that reached at least one
channel is not repeated on the others. With no channel configured nothing is owed: the
state is still kept (``citynet alerts list``). A process dying between the claim and the
delivery loses that notice; duplicates were judged worse than that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from citynet.config import Config
from citynet.db import Store, exclusive
from inventory.models import AccessPoint, Hotspot, NetworkDevice
from monitoring.models import AlertState, KpiSample, ProbeState

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning", "info"]
State = Literal["firing", "resolved"]

REGRESSION_POINTS = 0.5  # a KPI falling by more than this from one sample to the next
AT_RISK: dict[str, Severity] = {"at_risk": "warning", "missed": "critical"}  # by status


@dataclass(frozen=True)
class Condition:
    """The current state of one subject under one rule."""

    rule: str
    subject: str
    firing: bool
    detail: str
    severity: Severity = "warning"
    since: datetime | None = None  # when this state began, if the rule knows (probes do)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


Check = Callable[[Session, datetime, Config], list[Condition]]


@dataclass(frozen=True)
class Rule:
    """A named check. The name tells the engine which remembered states are the rule's,
    so a subject the rule stops reporting can be resolved."""

    name: str
    check: Check


@dataclass(frozen=True)
class Notice:
    """A change worth telling someone: a subject started firing, or recovered.

    ``since`` is when the subject started firing (for a probe: when it stopped answering,
    not when the threshold was crossed); ``at`` when this notice was made.
    ``lasted`` is known on the evaluation that saw the recovery; a resolved notice sent
    again after a failed delivery has it only in ``detail``.
    """

    rule: str
    subject: str
    state: State
    detail: str
    since: datetime
    at: datetime
    severity: Severity = "warning"
    lasted: timedelta | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"

    @property
    def idempotency_key(self) -> str:
        """The same for every sending of this change (one episode's start, or its end),
        whichever node sends it and however often a failed delivery is retried; a
        receiver that keeps the keys it saw can drop a repeat."""
        return f"{self.key}:{self.state}:{self.since.isoformat()}"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "subject": self.subject, "state": self.state,
                "severity": self.severity, "detail": self.detail,
                "since": self.since.isoformat(), "at": self.at.isoformat(),
                "lasted_seconds": None if self.lasted is None else self.lasted.total_seconds()}


@dataclass(frozen=True)
class Delivery:
    """One notice on one channel: delivered, or why not."""

    notice: Notice
    channel: str  # webhook, email
    target: str  # the URL's origin, or the recipients; never a token
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.notice.key, "state": self.notice.state, "channel": self.channel,
                "target": self.target, "ok": self.ok, "error": self.error}


Deliver = Callable[[Sequence[Notice], Config], list[Delivery]]


# --- the engine ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Known:
    """What the store remembers of one alert: firing or recovered, since when the last
    episode started firing, and whether its latest notice has been claimed."""

    rule: str
    subject: str
    firing: bool
    since: datetime
    detail: str
    severity: Severity
    notified: bool


def decide(known: Known | None, condition: Condition | None,
           now: datetime) -> tuple[Known | None, Notice | None]:
    """The next remembered state and the notice owed, from what was known and what a rule
    reports now (``None``: the subject is no longer reported). Pure."""
    if condition is not None and condition.firing:
        if known is None or not known.firing:  # a new episode
            start = min(condition.since or now, now)
            fresh = Known(condition.rule, condition.subject, True, start, condition.detail,
                          condition.severity, notified=True)
            return fresh, _notice(fresh, "firing", now)
        kept = replace(known, detail=condition.detail, severity=condition.severity,
                       notified=True)
        return kept, None if known.notified else _notice(kept, "firing", now)
    if known is None:
        return None, None
    if known.firing:
        end = now if condition is None or condition.since is None else min(
            max(condition.since, known.since), now)
        lasted = end - known.since
        now_text = f"{known.detail} — no longer watched" if condition is None else condition.detail
        detail = f"{now_text} (resolved after {duration_text(lasted)})"
        ended = replace(known, firing=False, detail=detail, notified=True)
        return ended, replace(_notice(ended, "resolved", now), lasted=lasted)
    if not known.notified:  # a resolved notice that reached no channel last time
        return replace(known, notified=True), _notice(known, "resolved", now)
    # quiet and told: forget a subject nobody reports any more
    return (known if condition is not None else None), None


def _notice(known: Known, state: State, now: datetime) -> Notice:
    return Notice(known.rule, known.subject, state, known.detail, known.since, now,
                  known.severity)


def observe(session: Session, now: datetime, config: Config,
            rules: Sequence[Rule]) -> tuple[list[Condition], set[str]]:
    """Every rule's conditions, and the names of the rules that ran. A rule failing is
    logged and left out: its remembered states stay as they are (not resolved)."""
    conditions: list[Condition] = []
    ran = set()
    for rule in rules:
        try:
            with session.begin_nested():  # PostgreSQL: a failed rule aborts only its savepoint
                found = rule.check(session, now, config)
            strays = {c.rule for c in found} - {rule.name}
            if strays:
                raise ValueError(f"conditions named {sorted(strays)} from rule {rule.name}")
        except Exception as exc:  # one rule failing never stops the others
            log.warning("alert rule %s failed: %s", rule.name, exc, exc_info=True)
            continue
        conditions += found
        ran.add(rule.name)
    return conditions, ran


def _known(row: AlertState, condition: Condition | None) -> Known:
    # severity is not stored: the rule's current one, or "warning" for a subject gone
    severity: Severity = "warning" if condition is None else condition.severity
    return Known(row.rule, row.subject, row.firing, row.since, row.detail, severity,
                 notified=row.notified_at is not None)


def evaluate(store: Store, config: Config, now: datetime, rules: Sequence[Rule], *,
             dry_run: bool = False) -> list[Notice]:
    """Run the rules, update the remembered states and claim the notices owed, in one
    transaction under the ``alerts`` lock. ``dry_run``: the notices, nothing written."""
    notices = []
    with store.session() as session:
        if not dry_run:
            exclusive(session, "alerts")
        conditions, ran = observe(session, now, config, rules)
        reported = {c.key: c for c in conditions}
        rows = {row.key: row for row in session.scalars(
            select(AlertState).where(AlertState.rule.in_(ran)))} if ran else {}
        for key in sorted(rows.keys() | reported.keys()):
            row, condition = rows.get(key), reported.get(key)
            known = _known(row, condition) if row is not None else None
            after, notice = decide(known, condition, now)
            if notice is not None:
                notices.append(notice)
            if dry_run:
                continue
            if after is None:
                if row is not None:
                    session.delete(row)
                continue
            if row is None:
                row = AlertState(key=key, rule=after.rule, subject=after.subject)
                session.add(row)
            row.firing, row.since, row.detail = after.firing, after.since, after.detail[:1024]
            if notice is not None:
                row.notified_at = now  # claimed: released again if no channel takes it
    return notices


def release(store: Store, notices: Iterable[Notice]) -> int:
    """Let the next evaluation send these notices again (no channel took them), unless a
    later evaluation has moved their alert on since."""
    released = 0
    with store.session() as session:
        for notice in notices:
            result = session.execute(
                update(AlertState)
                .where(AlertState.key == notice.key,
                       AlertState.firing == (notice.state == "firing"),
                       AlertState.notified_at == notice.at)
                .values(notified_at=None))
            released += result.rowcount  # type: ignore[attr-defined]
    return released


@dataclass(frozen=True)
class CheckResult:
    notices: list[Notice]
    deliveries: list[Delivery]

    @property
    def undelivered(self) -> list[Notice]:
        """Notices some channel was tried for and none took."""
        tried = {d.notice.key for d in self.deliveries}
        took = {d.notice.key for d in self.deliveries if d.ok}
        return [n for n in self.notices if n.key in tried and n.key not in took]


def check(store: Store, config: Config, now: datetime, rules: Sequence[Rule],
          deliver: Deliver, *, dry_run: bool = False) -> CheckResult:
    """Evaluate, deliver what is owed, and release what reached no channel."""
    notices = evaluate(store, config, now, rules, dry_run=dry_run)
    if dry_run or not notices:
        return CheckResult(notices, [])
    result = CheckResult(notices, deliver(notices, config))
    if result.undelivered:
        release(store, result.undelivered)
        log.warning("%d alert notice(s) reached no channel; retried at the next check",
                    len(result.undelivered))
    return result


def firing(store: Store) -> list[AlertState]:
    """The alerts firing now, oldest first."""
    with store.session() as session:
        return list(session.scalars(select(AlertState).where(AlertState.firing.is_(True))
                                    .order_by(AlertState.since, AlertState.key)))


# --- rules --------------------------------------------------------------------------------

def zone(config: Config) -> ZoneInfo:
    return ZoneInfo(config.radius.timezone)


def local_time(moment: datetime, where: ZoneInfo) -> str:
    """``2024-05-01 18:05 +08:00``: the district's clock, with its offset."""
    local = moment.astimezone(where)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def duration_text(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _down(session: Session, now: datetime, config: Config, rule: str, prefix: str,
          names: Mapping[str, str], severity: Severity) -> list[Condition]:
    """Probed targets under ``prefix`` that the inventory still has (``names``: key after
    the prefix -> how to name it), firing when down for the threshold or longer."""
    threshold = timedelta(minutes=config.monitoring.ap_down_minutes)
    where = zone(config)
    out = []
    for state in session.scalars(select(ProbeState).where(ProbeState.target.startswith(prefix))):
        name = names.get(state.target[len(prefix):])
        if name is None:
            continue
        since = local_time(state.since, where)
        if state.up:
            out.append(Condition(rule, state.target, False, f"{name} up since {since}",
                                 severity, state.since))
        elif now - state.since >= threshold:
            out.append(Condition(rule, state.target, True, f"{name} down since {since}",
                                 severity, state.since))
        else:  # down, not for long yet: when it stopped being up is not this state's start
            out.append(Condition(rule, state.target, False, f"{name} down since {since}",
                                 severity))
    return out


def ap_down(session: Session, now: datetime, config: Config) -> list[Condition]:
    """An AP (probe target ``ap:MAC``) down for ``monitoring.ap_down_minutes`` or longer."""
    names = {mac: f"AP {name} ({mac}) at {hotspot}" if name else f"AP {mac} at {hotspot}"
             for mac, name, hotspot in session.execute(
                 select(AccessPoint.mac, AccessPoint.name, Hotspot.name)
                 .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id))}
    return _down(session, now, config, "ap_down", "ap:", names, "warning")


def device_down(session: Session, now: datetime, config: Config) -> list[Condition]:
    """A network device (probe target ``device:HOSTNAME``) down as long as an AP would be."""
    names = {hostname: f"device {hostname}" + (f" at {site}" if site else "")
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
        if drop > REGRESSION_POINTS:
            detail = (f"{metric} of {scope} fell from {old:.1f} on {before} to {new:.1f} "
                      f"on {latest}")
            out.append(Condition("coverage_regression", subject, True, detail))
        else:
            detail = f"{metric} of {scope} at {new:.1f} on {latest} ({old:.1f} on {before})"
            out.append(Condition("coverage_regression", subject, False, detail))
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
        goal = f"target {status.target:g} by {status.deadline}"
        state = str(status.status)
        if state in AT_RISK:
            forecast = ("" if status.forecast is None
                        else f", forecast {status.forecast.value:.1f} at the deadline")
            detail = f"{status.metric} of {status.scope} {state.replace('_', ' ')}: {goal}"
            out.append(Condition("target_at_risk", subject, True, detail + forecast,
                                 AT_RISK[state]))
        else:
            detail = f"{status.metric} of {status.scope} {state.replace('_', ' ')}: {goal}"
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
