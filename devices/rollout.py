"""Rolling the intent out to the fleet, as one use case the CLI and the staff web both run:
the approved change, the plan check, the claim, the config kept before each change, the
push, the backup and the audit; and the backup and rollback beside it (drift, which
only reads, is :mod:`devices.drift`).

Each returns a :class:`Rollout` — every device's :class:`~devices.fleet.Result`, the
devices not ready, and why the whole was refused, if it was — which the caller renders;
nothing here raises for a device that fails or a push that is refused. The rules of a
change request are in :mod:`devices.approvals`; docs/devices.md says why a push runs so.

Over 400 lines on purpose: the push's steps, its refusals and its audit entries stay in
one module so that their order (refuse before anything is sent, audit even when the
backup fails) reads in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from citynet import audit
from citynet.catalogs import N_, Message
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from devices import approvals
from devices.approvals import DeviceChange, Refusal
from devices.backups import BackupStore, seal_lines
from devices.confdiff import normalise, redact_line
from devices.confdiff import plan as plan_change
from devices.driver import DeviceError
from devices.fleet import (
    KeepBefore,
    Limits,
    Pacer,
    Result,
    Status,
    Target,
    plan_against,
    plan_one,
    push_one,
    read_one,
    restore_one,
    run,
)
from devices.targets import Unready, build, readable

Tick = Callable[[Result], None]
# (devices, what is done to them) → a context giving the callback each result is fed to
Watch = Callable[[int, str], AbstractContextManager[Tick]]  # (devices, label: a msgid)

APPROVAL_NEEDED = "approval_needed"  # a refusal of a push too large to go unapproved
UNKNOWN_CHANGE = "unknown"  # a refusal naming no change request
NO_KEY = "no_key"  # backups are sealed: reading them needs the secrets key
NOT_READY = "not_ready"  # the one device of a rollback lacks what a session needs
NO_DEVICE = "no_device"  # the one device of a rollback is not in the inventory


@contextmanager
def unwatched(total: int, label: str) -> Iterator[Tick]:
    """No progress shown."""
    yield lambda result: None


@dataclass(frozen=True)
class Fleet:
    """What the use cases need: the store, the config, the secret box, and who acts
    (for the audit log and the claim of a change request)."""

    store: Store
    config: Config
    box: SecretBox | None
    actor: str = ""  # empty: the CLI's OS user and host
    source: str = "cli"  # the CLI, or the address a staff member's request came from

    def action(self, action: str, target: str, result: str, reason: str,
               detail: dict[str, Any]) -> audit.Action:
        return audit.Action(action, target, result, reason, detail, actor=self.actor,
                            source=self.source)


@dataclass(frozen=True)
class Refused:
    """Why nothing was done: ``why`` a :class:`~devices.approvals.Refusal` value or one
    of this module's (``APPROVAL_NEEDED`` …); ``detail`` what the audit log holds."""

    why: str
    detail: dict[str, Any] = field(default_factory=dict)
    change: DeviceChange | None = None
    lines: list[str] = field(default_factory=list)  # per device: why it stopped the push


@dataclass
class Rollout:
    """A fleet operation's outcome (nornir's AggregatedResult, one level up)."""

    results: list[Result] = field(default_factory=list)
    unready: list[Unready] = field(default_factory=list)
    refused: Refused | None = None
    change: int | None = None  # the change request carried out
    audit_seq: int | None = None
    revision: str | None = None  # the backup commit of the configs read before the change

    @property
    def failed_hosts(self) -> list[str]:
        return ([r.hostname for r in self.results if not r.ok]
                + [u.hostname for u in self.unready])

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.failed_hosts


# --- what a run works on ------------------------------------------------------------------

def limits_of(fleet: Fleet, **given: Any) -> Limits:
    """The config's limits, with those given (None: the config's)."""
    settings = fleet.config.devices
    limits = Limits(settings.concurrency, settings.per_site, settings.sessions_per_second,
                    settings.canary, settings.max_failures)
    return replace(limits, **{k: v for k, v in given.items() if v is not None})


def targets_of(fleet: Fleet, selectors: Sequence[str],
               templates: Sequence[str] = ()) -> tuple[list[Target], list[Unready]]:
    with fleet.store.session() as session:
        return build(session, fleet.config, fleet.box, selectors, templates or None)


def readable_of(fleet: Fleet, selectors: Sequence[str]) -> tuple[list[Target],
                                                                 list[Unready]]:
    """Targets with a login and no intent: for reading, and for a rollback to a backup."""
    with fleet.store.session() as session:
        return readable(session, fleet.config, fleet.box, selectors)


def templates_of(fleet: Fleet, templates: Sequence[str]) -> list[str]:
    """The templates a command works with: those given, else the config's."""
    return list(templates or fleet.config.devices.templates)


def changing(results: Sequence[Result]) -> int:
    return sum(1 for r in results if r.commands)


def planned(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The devices planned without error, as a change request stores them (redacted)."""
    return [{"hostname": r.hostname, "site": r.site, "added": r.added, "removed": r.removed,
             "commands": r.commands} for r in results if r.ok]


# --- plan -----------------------------------------------------------------------------

def plan_all(fleet: Fleet, targets: Sequence[Target], watch: Watch = unwatched) -> list[Result]:
    """Every target's plan (reads only), all devices tried whatever fails."""
    limits = limits_of(fleet, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with watch(len(targets), N_("planning")) as tick:
        return run(targets, lambda t: plan_one(t, pacer), limits, tick)


def plan_from_backup(fleet: Fleet, targets: Sequence[Target]) -> list[Result] | None:
    """Every target's plan against its newest backup; no device is contacted. None
    without the secrets key (backups are sealed)."""
    if fleet.box is None:
        return None
    store = BackupStore.for_config(fleet.config)
    backed_up = set(store.devices())
    results = []
    for target in targets:
        hostname = target.device.hostname
        if hostname in backed_up:
            results.append(plan_against(target, store.restore_text(hostname, "HEAD",
                                                                   fleet.box)))
        else:
            results.append(Result(hostname, target.device.site, Status.FAILED,
                                  error=Message(N_("%(host)s: no backup to plan against: "
                                                   "run `citynet devices backup %(host)s`"),
                                                host=hostname)))
    return results


def request(fleet: Fleet, selectors: Sequence[str], templates: Sequence[str],
            results: Sequence[Result], reason: str, requested_by: str) -> int:
    """Store the plan as a pending change request, with its audit entries (the plan's
    and the request's) in the same transaction; its id."""
    now = datetime.now(UTC)
    with fleet.store.session() as session:
        change = approvals.add(session, selectors=selectors, templates=templates,
                               devices=planned(results), reason=reason,
                               requested_by=requested_by, now=now)
        record_in(fleet, session, "devices.plan", selectors, reason, results, [],
                  {"change": change.id})
        audit.record(session, fleet.action(
            "devices.request", f"change {change.id}", "ok", reason,
            {"change": change.id, "requested_by": requested_by, "selectors": list(selectors),
             "templates": list(templates), "changing": change.changing,
             "digest": change.digest}))
        return change.id


INCOMPLETE = "incomplete"  # a request not stored: some selected device was not planned
NO_CHANGE = "no_change"  # a request not stored: no device would change


@dataclass(frozen=True)
class Asked:
    """A change request asked for: stored (``change``), or not and ``why``
    (``INCOMPLETE``, ``NO_CHANGE``); the plan is audited either way."""

    change: int | None
    why: str = ""


def ask(fleet: Fleet, selectors: Sequence[str], templates: Sequence[str],
        results: Sequence[Result], unready: Sequence[Unready], reason: str,
        requested_by: str) -> Asked:
    """Store a plan as a change request for a second person to approve, unless it does not
    cover every selected device or changes none (then only the plan is audited)."""
    if any(not r.ok for r in results) or unready:
        record(fleet, "devices.plan", selectors, reason, results, unready)
        return Asked(None, INCOMPLETE)
    if not changing(results):
        record(fleet, "devices.plan", selectors, reason, results, unready)
        return Asked(None, NO_CHANGE)
    return Asked(request(fleet, selectors, templates_of(fleet, templates), results, reason,
                         requested_by))


# --- push -----------------------------------------------------------------------------

def push(fleet: Fleet, selectors: Sequence[str], *, reason: str = "",
         change_id: int | None = None, templates: Sequence[str] = (),
         limits: dict[str, Any] | None = None, save: bool = True,
         watch: Watch = unwatched) -> Rollout:
    """Push the intent: a push changing more than devices.approval_threshold devices
    needs an approved change request whose plan the devices still have; then the config
    before each change is kept, the canary and the waves run, the configs read are backed
    up, and the run is audited (with the change it carried out)."""
    chosen = templates_of(fleet, templates)
    settings = fleet.config.devices
    valid = timedelta(hours=settings.approval_valid_hours)
    change: DeviceChange | None = None
    if change_id is not None:
        change, refused = _usable_change(fleet, change_id, selectors, chosen, reason, valid)
        if refused is not None:
            return Rollout(refused=refused)
        assert change is not None  # noqa: S101 - not refused
        reason = reason or f"change {change_id}: {change.reason}"
    targets, unready = targets_of(fleet, selectors, templates)
    expected: dict[str, list[str]] | None = None
    if change is not None or len(targets) > settings.approval_threshold:
        results = plan_all(fleet, targets, watch)
        expected = {r.hostname: r.commands for r in results if r.ok}
        if change is not None:
            refused = _check_plan(fleet, change, selectors, chosen, reason, results, unready,
                                  valid)
        elif approvals.needs_approval(changing(results), settings.approval_threshold):
            refused = _refuse(fleet, selectors, reason, Refused(APPROVAL_NEEDED, {
                "refused": APPROVAL_NEEDED, "changing": changing(results),
                "threshold": settings.approval_threshold}))
        else:
            refused = None
        if refused is not None:
            return Rollout(refused=refused)
    return _carry_out(fleet, selectors, reason, change, targets, unready, expected,
                      limits_of(fleet, **(limits or {})), save, watch)


def _carry_out(fleet: Fleet, selectors: Sequence[str], reason: str,
               change: DeviceChange | None, targets: list[Target], unready: list[Unready],
               expected: dict[str, list[str]] | None, limits: Limits, save: bool,
               watch: Watch) -> Rollout:
    pacer = Pacer(limits.sessions_per_second)
    keep = keeper(fleet, targets)
    if expected is not None:
        keep = as_planned(targets, expected, keep)
    outcome = Rollout(unready=unready)
    extra: dict[str, Any] = {}
    if change is not None:
        refused = _claim(fleet, change, selectors, reason)
        if refused is not None:
            return Rollout(refused=refused)
        extra["change"] = outcome.change = change.id
    try:
        with watch(len(targets), N_("pushing")) as tick:
            outcome.results = run(targets, lambda t: push_one(t, pacer, save=save,
                                                               keep=keep), limits, tick)
        outcome.revision = back_up(fleet, targets, outcome.results, f"before push: {reason}")
    finally:  # a push is audited even when the backup (or anything after it) fails
        outcome.audit_seq = record(fleet, "devices.push", selectors, reason,
                                   outcome.results, unready, extra)
        if change is not None:
            with fleet.store.session() as session:
                stored = session.get(DeviceChange, change.id)
                if stored is not None:
                    stored.push_seq = outcome.audit_seq
    return outcome


def _usable_change(fleet: Fleet, change_id: int, selectors: Sequence[str],
                   templates: Sequence[str], reason: str,
                   valid: timedelta) -> tuple[DeviceChange | None, Refused | None]:
    """The change request, if it may cover this push as far as can be told without
    reading the devices; else why not (audited)."""
    now = datetime.now(UTC)
    with fleet.store.session() as session:
        change = session.get(DeviceChange, change_id)
        if change is not None:
            approvals.expire(session, change, now, valid)
            session.flush()
            session.expunge(change)
    if change is None:
        return None, _refuse(fleet, selectors, reason, Refused(
            UNKNOWN_CHANGE, {"change": change_id, "refused": UNKNOWN_CHANGE}))
    refusal = approvals.usable_refusal(change, selectors, templates, now, valid)
    if refusal is not None:
        return change, _refuse(fleet, selectors, reason or change.reason, Refused(
            refusal, {"change": change_id, "refused": refusal}, change))
    return change, None


def _check_plan(fleet: Fleet, change: DeviceChange, selectors: Sequence[str],
                templates: Sequence[str], reason: str, results: Sequence[Result],
                unready: Sequence[Unready], valid: timedelta) -> Refused | None:
    """None if the devices' fresh plan is the approved one, else why the push is
    refused."""
    fresh = planned(results)
    unread = sorted([r.hostname for r in results if not r.ok]
                    + [u.hostname for u in unready])
    refusal = approvals.use_refusal(change, selectors, templates, approvals.plan_digest(fresh),
                                    datetime.now(UTC), valid)
    if refusal is None and not unread:
        return None
    differing = [h for h in approvals.plan_differences(change.plan, fresh) if h not in unread]
    why = [f"{h}: its plan differs from the approved one" for h in differing]
    why += [f"{h}: could not be planned now" for h in unread]
    refusal = refusal or Refusal.PLAN_CHANGED
    return _refuse(fleet, selectors, reason, Refused(
        refusal, {"change": change.id, "refused": refusal, "differs": differing,
                  "unread": unread}, change, why))


def _claim(fleet: Fleet, change: DeviceChange, selectors: Sequence[str],
           reason: str) -> Refused | None:
    with fleet.store.session() as session:
        if approvals.claim(session, change.id, fleet.actor or audit.cli_actor(),
                           datetime.now(UTC)):
            return None
    return _refuse(fleet, selectors, reason, Refused(
        Refusal.USED, {"change": change.id, "refused": Refusal.USED}, change))


def _refuse(fleet: Fleet, selectors: Sequence[str], reason: str, refused: Refused) -> Refused:
    """Audit a refused push; the refusal."""
    with fleet.store.session() as session:
        audit.record(session, fleet.action("devices.push", " ".join(selectors) or
                                           "all devices", "refused", reason, refused.detail))
    return refused


def as_planned(targets: Sequence[Target], expected: dict[str, list[str]],
               keep: KeepBefore) -> KeepBefore:
    """``keep``, after checking that the device's change is the one planned (and
    checked) before the push: a config changed in between stops that device before its
    first command."""
    by_name = {t.device.hostname: t for t in targets}

    def checked(hostname: str, running: str) -> None:
        target = by_name[hostname]
        profile = target.login.profile
        change = plan_change(target.intent.text, running, profile, target.intent.owned)
        if [redact_line(c, profile) for c in change.commands] != expected.get(hostname):
            raise DeviceError(hostname, N_("its config changed since the plan checked "
                                           "before the push: nothing sent; plan again"))
        keep(hostname, running)
    return checked


def keeper(fleet: Fleet, targets: Sequence[Target]) -> KeepBefore:
    """Each device's config from before the change, sealed and fsynced into
    ``backups/pending/`` before its first command: a push killed half-way still leaves
    every changed device's earlier state on disk (the run's backup commit then takes them
    into the repository). Refuses to change a device when there is no secrets key."""
    box = fleet.box
    pending = fleet.config.data_path / "backups" / "pending"
    profiles = {t.device.hostname: t.login.profile for t in targets}

    def keep(hostname: str, running: str) -> None:
        if box is None:
            raise DeviceError(hostname, N_("no secrets key: the config before the change "
                                           "cannot be kept sealed, so nothing is changed"))
        profile = profiles[hostname]
        sealed = seal_lines(normalise(running, profile), profile.secret_patterns, box)
        pending.mkdir(parents=True, exist_ok=True)
        path = pending / f"{hostname}.cfg"
        with path.with_suffix(".tmp").open("w", encoding="utf-8") as out:
            out.write(sealed)
            out.flush()
            os.fsync(out.fileno())
        path.with_suffix(".tmp").replace(path)
    return keep


def back_up(fleet: Fleet, targets: Sequence[Target], results: Sequence[Result],
            reason: str) -> str | None:
    """Every running config read before a change, in one backup commit (git commits are
    slow: one per device would serialise a fleet push). Returns the revision."""
    profiles = {t.device.hostname: t.login.profile for t in targets}
    configs = {r.hostname: (normalise(r.pre_change, profiles[r.hostname]),
                            profiles[r.hostname].secret_patterns)
               for r in results if r.pre_change}
    if fleet.box is None or not configs:
        return None
    revision = BackupStore.for_config(fleet.config).save(configs, reason, fleet.box).commit
    for hostname in configs:  # now in the repository
        (fleet.config.data_path / "backups" / "pending" / f"{hostname}.cfg").unlink(
            missing_ok=True)
    return revision


# --- the audit ------------------------------------------------------------------------

def record(fleet: Fleet, action: str, selectors: Sequence[str], reason: str,
           results: Sequence[Result], unready: Sequence[Unready],
           extra: dict[str, Any] | None = None) -> int:
    """One audit entry per fleet operation, with every device's diff and result; its seq."""
    with fleet.store.session() as session:
        return record_in(fleet, session, action, selectors, reason, results, unready, extra)


def record_in(fleet: Fleet, session: Session, action: str, selectors: Sequence[str],
              reason: str, results: Sequence[Result], unready: Sequence[Unready],
              extra: dict[str, Any] | None = None) -> int:
    failed = sum(1 for r in results if not r.ok) + len(unready)
    outcome = "ok" if not failed else ("failed" if failed == len(results) + len(unready)
                                       else "partial")
    detail = {"devices": [{"hostname": r.hostname, "status": r.status.value,
                           "added": r.added, "removed": r.removed, "error": r.error,
                           "rollback": r.rollback} for r in results],
              "not_ready": [{"hostname": u.hostname, "reason": u.reason} for u in unready],
              **(extra or {})}
    return audit.record(session, fleet.action(action, " ".join(selectors) or "all devices",
                                              outcome, reason, detail))


# --- backup, rollback ------------------------------------------------------------

def backup(fleet: Fleet, selectors: Sequence[str], reason: str,
           watch: Watch = unwatched) -> Rollout:
    """Read running configs into the backup repository, audited."""
    targets, unready = readable_of(fleet, selectors)  # a backup reads: it needs no intent
    limits = limits_of(fleet, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with watch(len(targets), N_("reading")) as tick:
        results = run(targets, lambda t: read_one(t, pacer), limits, tick)
    revision = back_up(fleet, targets, results, reason)
    seq = record(fleet, "devices.backup", selectors, reason, results, unready)
    return Rollout(results, unready, revision=revision, audit_seq=seq)


def rollback(fleet: Fleet, hostname: str, rev: str, reason: str, *,
             save: bool = True) -> Rollout:
    """Put a device's config back as a backup has it, audited."""
    if fleet.box is None:
        return Rollout(refused=Refused(NO_KEY))
    wanted = BackupStore.for_config(fleet.config).restore_text(hostname, rev, fleet.box)
    targets, unready = readable_of(fleet, [hostname])  # a backup's text, not the intent
    if unready:
        return Rollout(unready=unready, refused=Refused(NOT_READY,
                                                       {"reason": unready[0].reason}))
    found = [t for t in targets if t.device.hostname == hostname]
    if not found:
        return Rollout(refused=Refused(NO_DEVICE))
    result = restore_one(found[0], wanted, Pacer(1.0), save=save)
    seq = record(fleet, "devices.rollback", [hostname], f"{reason} (to {rev})", [result], [])
    return Rollout([result], audit_seq=seq)
