"""Alerts: rules that look at the store, and an engine that notices when their state changes.

A rule reports the current state of every subject it watches (an AP, a KPI of a scope, a
target) as :class:`Condition`s. The engine compares them with what the store remembers
(:class:`~monitoring.models.AlertState`, key ``rule:subject``) and makes a
:class:`Notice` when a subject starts firing and one when it recovers ("resolved", with
how long it lasted); a subject still firing makes none. A subject a rule no longer
reports (an AP deleted from the inventory) counts as recovered. The rules themselves are
:mod:`monitoring.alert_rules`.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from citynet.catalogs import N_, Message
from citynet.config import Config
from citynet.db import Store, exclusive, get_meta, set_meta
from monitoring.models import AlertState

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning", "info"]
State = Literal["firing", "resolved"]



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
        now_text = (Message(N_("%(detail)s — no longer watched"), detail=known.detail)
                    if condition is None else condition.detail)
        detail = Message(N_("%(detail)s (resolved after %(lasted)s)"), detail=now_text,
                         lasted=duration_text(lasted))
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
    return Known(row.rule, row.subject, row.firing, row.since, stored_detail(row), severity,
                 notified=row.notified_at is not None)


DETAIL_MAX = 1024  # alert_state.detail's length


def stored_detail(row: AlertState) -> str:
    """A remembered alert's detail: a :class:`~citynet.catalogs.Message` (English as the
    string, said in the reader's language) when its msgid was kept, else the English."""
    return Message.restored(row.detail_said) if row.detail_said else row.detail


def evaluate(store: Store, config: Config, now: datetime, rules: Sequence[Rule], *,
             dry_run: bool = False) -> list[Notice]:
    """Run the rules, then update the remembered states and claim the notices owed in a
    short transaction under the ``alerts`` lock. ``dry_run``: the notices, nothing written.

    The rules run before the lock is taken: on SQLite that lock is the database's one
    write lock, which every RADIUS round waits for, and the rules' reads take tens of
    milliseconds (a RADIUS round waited 40-130 ms for them once a minute). Evaluations
    are ordered by when their rules ran: one whose observations are older than those an
    evaluation running meanwhile has already applied changes nothing and owes nothing."""
    observed = datetime.now(UTC).isoformat(timespec="microseconds")
    with store.session() as session:
        conditions, ran = observe(session, now, config, rules)
        if dry_run:
            return _apply(session, conditions, ran, now, write=False)
    with store.session() as session:
        exclusive(session, "alerts")
        latest = get_meta(session, OBSERVED_META)
        if latest is not None and latest > observed:
            log.info("alert evaluation dropped: a later one was applied meanwhile")
            return []
        set_meta(session, OBSERVED_META, observed)
        return _apply(session, conditions, ran, now, write=True)


# when the rules of the evaluation last applied ran (ISO 8601, UTC, microseconds)
OBSERVED_META = "alerts.observed_at"


def _apply(session: Session, conditions: list[Condition], ran: set[str], now: datetime,
           *, write: bool) -> list[Notice]:
    """Compare the rules' conditions with the remembered states; the notices owed, and
    (``write``) the states updated and those notices claimed."""
    notices = []
    reported = {c.key: c for c in conditions}
    rows = {row.key: row for row in session.scalars(
        select(AlertState).where(AlertState.rule.in_(ran)))} if ran else {}
    for key in sorted(rows.keys() | reported.keys()):
        row, condition = rows.get(key), reported.get(key)
        known = _known(row, condition) if row is not None else None
        after, notice = decide(known, condition, now)
        if notice is not None:
            notices.append(notice)
        if not write:
            continue
        if after is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = AlertState(key=key, rule=after.rule, subject=after.subject)
            session.add(row)
        row.firing, row.since, row.detail = after.firing, after.since, after.detail[:DETAIL_MAX]
        # the msgid only while it says what the English says: not for a cut detail
        row.detail_said = (after.detail.kept() if isinstance(after.detail, Message)
                           and len(after.detail) <= DETAIL_MAX else None)
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


# --- how alerts tell time ----------------------------------------------------------------

def zone(config: Config) -> ZoneInfo:
    return ZoneInfo(config.radius.timezone)


def local_time(moment: datetime, where: ZoneInfo) -> str:
    """``2024-05-01 18:05 +08:00``: the district's clock, with its offset."""
    local = moment.astimezone(where)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def duration_text(delta: timedelta) -> str:
    """``2 d 3 h``, ``1 h 5 min``, ``7 min``: English as a string, a Message to say."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return Message(N_("%(days)s d %(hours)s h"), days=days, hours=hours)
    if hours:
        return Message(N_("%(hours)s h %(minutes)s min"), hours=hours, minutes=minutes)
    return Message(N_("%(minutes)s min"), minutes=minutes)
