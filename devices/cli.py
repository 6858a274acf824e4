"""``citynet devices …``: plan, push, back up, roll back and check drift on the fleet."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import click

from citynet import audit
from citynet.errors import CitynetError
from citynet.runtime import Runtime
from devices import approvals
from devices.approvals import DeviceChange, Refusal
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
    run,
)
from devices.targets import Unready, build, readable

pass_runtime = click.make_pass_decorator(Runtime)


@click.group()
def devices() -> None:
    """Device configuration: plan, push, verify, roll back, back up, drift.

    \b
    Selectors (for every command taking SELECTOR...):
      luohu-core-01          one device by hostname
      '*-acc-*'              a hostname glob
      site:笋岗社区          every device at a site
      role:access_switch     platform:huawei
    Several selectors add up; none means every device in the inventory.
    """


def _selectors(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("selectors", nargs=-1, metavar="[SELECTOR]...")(function)


def _limits(runtime: Runtime, **given: Any) -> Limits:
    """The config's limits, with the options given on the command line."""
    settings = runtime.config.devices
    limits = Limits(settings.concurrency, settings.per_site, settings.sessions_per_second,
                    settings.canary, settings.max_failures)
    return replace(limits, **{k: v for k, v in given.items() if v is not None})


def _targets(runtime: Runtime, selectors: Sequence[str],
             templates: Sequence[str] = ()) -> tuple[list[Target], list[Unready]]:
    box = runtime.box()
    with runtime.store.session() as session:
        return build(session, runtime.config, box, selectors, templates or None)


def _readable(runtime: Runtime, selectors: Sequence[str]) -> tuple[list[Target],
                                                                   list[Unready]]:
    """Targets with a login and no intent: for reading, and for a rollback to a backup."""
    with runtime.store.session() as session:
        return readable(session, runtime.config, runtime.box(), selectors)


@contextmanager
def _progress(total: int, label: str, quiet: bool) -> Iterator[Callable[[Result], None]]:
    """A progress bar on stderr fed from worker threads."""
    if quiet or total == 0:
        yield lambda result: None
        return
    lock = threading.Lock()

    def shown(item: str | None) -> str | None:
        return item

    bar: Any = click.progressbar(length=total, label=label, show_pos=True,
                                 file=sys.stderr, item_show_func=shown)
    with bar:
        def tick(result: Result) -> None:
            with lock:
                bar.update(1, f"{result.hostname} {result.status.value}")
        yield tick


def _summary(results: Sequence[Result], unready: Sequence[Unready]) -> None:
    """One line per device that needs a look, then the counts."""
    width = max([len(r.hostname) for r in results] + [len(u.hostname) for u in unready] + [8])
    for result in results:
        if result.status in (Status.UNCHANGED, Status.PUSHED, Status.PLANNED):
            continue
        click.echo(f"  {result.hostname:<{width}}  {result.status.value:<15} {result.error}")
        if result.rollback:
            click.echo(f"  {'':<{width}}  {'':<15} {result.rollback}")
    for item in unready:
        click.echo(f"  {item.hostname:<{width}}  {'not ready':<15} {item.reason}")
    counts = Counter(r.status.value for r in results)
    if unready:
        counts["not ready"] = len(unready)
    click.echo("summary: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def _as_json(results: Sequence[Result], unready: Sequence[Unready]) -> str:
    return json.dumps({
        "devices": [{"hostname": r.hostname, "site": r.site, "status": r.status.value,
                     "ok": r.ok, "added": r.added, "removed": r.removed,
                     "commands": r.commands, "error": r.error, "rollback": r.rollback,
                     "timings": {k: round(v, 3) for k, v in r.timings.items()}}
                    for r in results],
        "not_ready": [{"hostname": u.hostname, "site": u.site, "reason": u.reason}
                      for u in unready]}, ensure_ascii=False, indent=2)


def _plan_all(runtime: Runtime, targets: Sequence[Target], quiet: bool) -> list[Result]:
    """Every target's plan (reads only), all devices tried whatever fails."""
    limits = _limits(runtime, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with _progress(len(targets), "planning", quiet) as tick:
        return run(targets, lambda t: plan_one(t, pacer), limits, tick)


def _plan_from_backup(runtime: Runtime, targets: Sequence[Target]) -> list[Result]:
    """Every target's plan against its newest backup; no device is contacted."""
    from devices.backups import BackupStore

    box = runtime.box()
    if box is None:
        raise CitynetError("backups are sealed: planning against them needs the secrets key")
    store = BackupStore.for_config(runtime.config)
    backed_up = set(store.devices())
    results = []
    for target in targets:
        hostname = target.device.hostname
        if hostname in backed_up:
            results.append(plan_against(target, store.restore_text(hostname, "HEAD", box)))
        else:
            results.append(Result(hostname, target.device.site, Status.FAILED,
                                  error=f"{hostname}: no backup to plan against: run "
                                  f"`citynet devices backup {hostname}`"))
    return results


def _planned(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The devices planned without error, as a change request stores them (redacted)."""
    return [{"hostname": r.hostname, "site": r.site, "added": r.added, "removed": r.removed,
             "commands": r.commands} for r in results if r.ok]


@devices.command("plan")
@_selectors
@click.option("--template", "templates", multiple=True,
              help="Intent template(s) to plan (default: devices.templates; built-in: "
              "baseline, guest_wifi).")
@click.option("--json", "as_json", is_flag=True, help="Print per-device results as JSON.")
@click.option("--request", "request_change", is_flag=True,
              help="Store this plan as a change request for a second person to approve "
              "(a push changing more than devices.approval_threshold devices needs one).")
@click.option("--reason", help="With --request: why (a ticket number, a sentence).")
@click.option("--as", "requester", metavar="NAME",
              help="With --request (required): the staff member asking (needs "
              "devices.push). That person cannot approve it.")
@click.option("--from-backup", is_flag=True,
              help="Plan against each device's last backup instead of reading the device "
              "(no SSH session: a device that is down, or the demo's, which exist "
              "nowhere). A push still reads the device and plans again.")
@pass_runtime
def plan(runtime: Runtime, selectors: tuple[str, ...], templates: tuple[str, ...],
         as_json: bool, request_change: bool, reason: str | None,
         requester: str | None, from_backup: bool) -> None:
    """Dry run: what a push would send to each device (secrets shown as <redacted>).

    Reads each device's running config and diffs it against the intent; sends nothing.
    With --request the plan is stored for approval on the staff web; the push then
    names it with --change ID.

    \b
    Examples:
      citynet devices plan                       every device
      citynet devices plan site:笋岗社区 --template guest_wifi
      citynet devices plan luohu-core-01 --json
      citynet devices plan site:笋岗社区 --from-backup
      citynet devices plan role:access_switch --request --as alice \\
          --reason "CHG-2026-1127 NTP servers"
    """
    if not request_change and (reason is not None or requester is not None):
        raise click.UsageError("--reason and --as go with --request")
    if request_change and not (reason or "").strip():
        raise click.UsageError("--request needs --reason (a ticket number, a sentence)")
    if request_change and from_backup:
        raise click.UsageError("--request plans the devices as they are: leave out "
                               "--from-backup")
    if request_change and requester is None:  # else the OS user, who could approve it
        raise click.UsageError("--request needs --as YOUR_STAFF_NAME: the person asking, "
                               "who then cannot approve it")
    asking = _requester(runtime, requester) if request_change and requester else ""
    targets, unready = _targets(runtime, selectors, templates)
    results = (_plan_from_backup(runtime, targets) if from_backup
               else _plan_all(runtime, targets, as_json))
    if as_json:
        click.echo(_as_json(results, unready))
    else:
        if from_backup:
            click.echo("planned against each device's last backup, not the device "
                       "(citynet devices history HOSTNAME)")
        for result in results:
            if result.commands:
                click.echo(f"--- {result.hostname} ({result.site}): "
                           f"{len(result.commands)} commands")
                for command in result.commands:
                    click.echo(f"    {command}")
        _summary(results, unready)
    incomplete = any(not r.ok for r in results) or unready
    if not request_change:
        _record(runtime, "devices.plan", selectors, "", results, unready,
                {"from_backup": True} if from_backup else None)
    elif incomplete:
        _record(runtime, "devices.plan", selectors, reason or "", results, unready)
        click.echo("no change request stored: a request covers every selected device, and "
                   "some could not be planned (above); fix them or leave them out of the "
                   "selection", err=True)
    elif not any(r.commands for r in results):
        _record(runtime, "devices.plan", selectors, reason or "", results, unready)
        click.echo("no change request stored: no device would change", err=True)
    else:
        change_id = _request(runtime, selectors, _templates(runtime, templates), results,
                             reason or "", asking)
        click.echo(f"change request {change_id} stored ({_changing(results)} devices "
                   f"change), requested by {asking}.\n"
                   f"Next: an engineer or an admin other than {asking} approves it on the "
                   f"staff web at /admin/devices/changes/{change_id}; then push it with\n"
                   f"  {approvals.command_line('push', selectors, templates)} --change {change_id}",
                   err=as_json)
    if incomplete:
        raise SystemExit(1)


def _changing(results: Sequence[Result]) -> int:
    return sum(1 for r in results if r.commands)


def _templates(runtime: Runtime, templates: Sequence[str]) -> list[str]:
    """The templates a command works with: those given, else the config's."""
    return list(templates or runtime.config.devices.templates)


def _requester(runtime: Runtime, name: str) -> str:
    """Who asks for a change: a staff member allowed to push. The name is only as
    trustworthy as this machine's login: the approval, by a signed-in staff member with a
    second factor, is the strong half."""
    from sqlalchemy import select

    from citynet.access import allowed
    from citynet.staff import Role, StaffUser

    with runtime.store.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.name == name))
        if user is None or user.disabled:
            raise CitynetError(f"--as {name}: no active staff member of that name "
                               "(citynet staff list)")
        if not allowed(Role(user.role), "devices.push"):
            raise CitynetError(f"--as {name}: a {user.role.value} may not push to devices "
                               "(engineers and admins may)")
        return user.name


def _request(runtime: Runtime, selectors: Sequence[str], templates: Sequence[str],
             results: Sequence[Result], reason: str, requested_by: str) -> int:
    """Store the plan as a pending change request, with its audit entries (the plan's
    and the request's) in the same transaction."""
    now = datetime.now(UTC)
    with runtime.store.session() as session:
        change = approvals.add(session, selectors=selectors, templates=templates,
                               devices=_planned(results), reason=reason,
                               requested_by=requested_by, now=now)
        _record_in(session, "devices.plan", selectors, reason, results, [],
                   {"change": change.id})
        audit.record(session, audit.Action(
            "devices.request", f"change {change.id}", "ok", reason,
            {"change": change.id, "requested_by": requested_by, "selectors": list(selectors),
             "templates": list(templates), "changing": change.changing,
             "digest": change.digest}))
        return change.id


class ApprovalRefused(CitynetError):
    """A push that needs an approved change request has none that fits."""

    exit_code = 3


REFUSALS = {  # why a change request does not cover a push, for the person at the keyboard
    Refusal.NOT_APPROVED: "is not approved (yet): it waits for a second person on the "
                          "staff web",
    Refusal.USED: "was used by an earlier push already: plan again with --request",
    Refusal.EXPIRED: "has expired: plan again with --request",
    Refusal.OTHER_SELECTION: "was for other selectors or templates",
    Refusal.PLAN_CHANGED: "no longer matches the devices: their plan changed since it was "
                          "approved; plan again with --request",
}


@devices.command("push")
@_selectors
@click.option("--reason", help="Why (a ticket number, a sentence): audited. Required unless "
              "--change gives the request's reason.")
@click.option("--change", "change_id", type=click.IntRange(1), metavar="ID",
              help="The approved change request this push carries out (needed when it "
              "changes more than devices.approval_threshold devices).")
@click.option("--template", "templates", multiple=True, help="Intent template(s) to push.")
@click.option("--canary", type=click.IntRange(0, 100),
              help="Devices pushed and checked before the rest (default devices.canary).")
@click.option("--concurrency", type=click.IntRange(1, 500), help="Devices at once.")
@click.option("--per-site", type=click.IntRange(1, 100), help="Devices at once per site.")
@click.option("--rate", "sessions_per_second", type=click.FloatRange(0.1, 1000),
              help="New SSH sessions per second at most.")
@click.option("--max-failures", type=click.IntRange(0), help="Stop after more failures.")
@click.option("--no-save", is_flag=True, help="Leave the startup config alone.")
@click.option("--json", "as_json", is_flag=True, help="Print per-device results as JSON.")
@pass_runtime
def push(runtime: Runtime, selectors: tuple[str, ...], reason: str | None,
         change_id: int | None, templates: tuple[str, ...], canary: int | None,
         concurrency: int | None, per_site: int | None, sessions_per_second: float | None,
         max_failures: int | None, no_save: bool, as_json: bool) -> None:
    """Push the intent: backup, canary, then waves; verify each device; roll back a
    device whose change fails. Exits 1 if any device failed.

    A push that would change more than devices.approval_threshold devices needs an
    approved change request (`plan --request`, then `--change ID`); without one it is
    refused with exit code 3 before anything is sent.

    \b
    Examples:
      citynet devices push site:笋岗社区 --reason "CHG-2026-1127 NTP servers"
      citynet devices push role:access_switch --template guest_wifi --canary 3 \\
          --reason "guest WiFi VLAN 100"
      citynet devices push role:access_switch --change 42
    """
    if change_id is None and not (reason or "").strip():
        raise click.UsageError("Missing option '--reason' (a ticket number, a sentence)")
    chosen = _templates(runtime, templates)
    settings = runtime.config.devices
    valid = timedelta(hours=settings.approval_valid_hours)
    change: DeviceChange | None = None
    if change_id is not None:
        change = _usable_change(runtime, change_id, selectors, chosen, reason, valid)
        reason = reason or f"change {change_id}: {change.reason}"
    assert reason is not None  # noqa: S101 - checked above
    targets, unready = _targets(runtime, selectors, templates)
    expected: dict[str, list[str]] | None = None
    if change is not None or len(targets) > settings.approval_threshold:
        results = _plan_all(runtime, targets, as_json)
        expected = {r.hostname: r.commands for r in results if r.ok}
        if change is not None:
            _check_plan(runtime, change, selectors, chosen, reason, results, unready, valid)
        elif approvals.needs_approval(_changing(results), settings.approval_threshold):
            _refuse(runtime, selectors, reason, {
                "refused": "approval_needed", "changing": _changing(results),
                "threshold": settings.approval_threshold},
                f"this push would change {_changing(results)} devices, more than "
                f"devices.approval_threshold ({settings.approval_threshold}): it needs a "
                "change request approved by a second person. Nothing was sent.\n"
                f"  1. {approvals.command_line('plan', selectors, templates)} --request "
                "--reason TEXT --as YOUR_STAFF_NAME\n"
                "  2. an engineer or an admin other than you approves it on the staff web "
                "(/admin/devices/changes)\n"
                f"  3. {approvals.command_line('push', selectors, templates)} --change ID")
    limits = _limits(runtime, canary=canary, concurrency=concurrency, per_site=per_site,
                     sessions_per_second=sessions_per_second, max_failures=max_failures)
    pacer = Pacer(limits.sessions_per_second)
    keep = _keeper(runtime, targets)
    if expected is not None:
        keep = _as_planned(targets, expected, keep)
    results = []
    extra: dict[str, Any] = {}
    if change is not None:
        _claim(runtime, change, selectors, reason)
        extra["change"] = change.id
    try:
        with _progress(len(targets), "pushing", as_json) as tick:
            results = run(targets, lambda t: push_one(t, pacer, save=not no_save, keep=keep),
                          limits, tick)
        _back_up(runtime, targets, results, f"before push: {reason}")
    finally:  # a push is audited even when the backup (or anything after it) fails
        seq = _record(runtime, "devices.push", selectors, reason, results, unready, extra)
        if change is not None:
            with runtime.store.session() as session:
                stored = session.get(DeviceChange, change.id)
                if stored is not None:
                    stored.push_seq = seq
    if as_json:
        click.echo(_as_json(results, unready))
    else:
        _summary(results, unready)
    if any(not r.ok for r in results) or unready:
        raise SystemExit(1)


def _usable_change(runtime: Runtime, change_id: int, selectors: Sequence[str],
                   templates: Sequence[str], reason: str | None,
                   valid: timedelta) -> DeviceChange:
    """The change request, if it may cover this push as far as can be told without
    reading the devices; else the push is refused (and audited)."""
    now = datetime.now(UTC)
    with runtime.store.session() as session:
        change = session.get(DeviceChange, change_id)
        if change is not None:
            approvals.expire(session, change, now, valid)
            session.flush()
            session.expunge(change)
    if change is None:
        _refuse(runtime, selectors, reason or "", {"change": change_id, "refused": "unknown"},
                f"no change request {change_id} (see /admin/devices/changes)")
    refusal = approvals.usable_refusal(change, selectors, templates, now, valid)
    if refusal is Refusal.OTHER_SELECTION:
        _refuse(runtime, selectors, reason or change.reason,
                {"change": change_id, "refused": refusal},
                f"change request {change_id} {REFUSALS[refusal]}: it covers\n"
                f"  {approvals.command_line('push', change.selectors, change.templates)} "
                f"--change {change_id}")
    if refusal is not None:
        _refuse(runtime, selectors, reason or change.reason,
                {"change": change_id, "refused": refusal},
                f"change request {change_id} {REFUSALS[refusal]}")
    return change


def _check_plan(runtime: Runtime, change: DeviceChange, selectors: Sequence[str],
                templates: Sequence[str], reason: str, results: Sequence[Result],
                unready: Sequence[Unready], valid: timedelta) -> None:
    """The devices' fresh plan is the approved one, or the push is refused."""
    fresh = _planned(results)
    unread = sorted([r.hostname for r in results if not r.ok]
                    + [u.hostname for u in unready])
    refusal = approvals.use_refusal(change, selectors, templates, approvals.plan_digest(fresh),
                                    datetime.now(UTC), valid)
    if refusal is None and not unread:
        return
    differing = [h for h in approvals.plan_differences(change.plan, fresh) if h not in unread]
    why = [f"{h}: its plan differs from the approved one" for h in differing]
    why += [f"{h}: could not be planned now" for h in unread]
    _refuse(runtime, selectors, reason,
            {"change": change.id, "refused": refusal or Refusal.PLAN_CHANGED,
             "differs": differing, "unread": unread},
            f"change request {change.id} {REFUSALS[refusal or Refusal.PLAN_CHANGED]}. "
            "Nothing was sent.\n" + "\n".join(f"  {line}" for line in why))


def _claim(runtime: Runtime, change: DeviceChange, selectors: Sequence[str],
           reason: str) -> None:
    with runtime.store.session() as session:
        if approvals.claim(session, change.id, audit.cli_actor(), datetime.now(UTC)):
            return
    _refuse(runtime, selectors, reason, {"change": change.id, "refused": Refusal.USED},
            f"change request {change.id} {REFUSALS[Refusal.USED]}")


def _refuse(runtime: Runtime, selectors: Sequence[str], reason: str, detail: dict[str, Any],
            message: str) -> NoReturn:
    """Audit a refused push, then stop with the message."""
    with runtime.store.session() as session:
        audit.record(session, audit.Action("devices.push", " ".join(selectors) or
                                           "all devices", "refused", reason, detail))
    raise ApprovalRefused(message)


def _as_planned(targets: Sequence[Target], expected: dict[str, list[str]],
                keep: KeepBefore) -> KeepBefore:
    """``keep``, after checking that the device's change is the one planned (and
    checked) before the push: a config changed in between stops that device before its
    first command."""
    from devices.confdiff import plan as plan_change
    from devices.confdiff import redact_line

    by_name = {t.device.hostname: t for t in targets}

    def checked(hostname: str, running: str) -> None:
        target = by_name[hostname]
        profile = target.login.profile
        change = plan_change(target.intent.text, running, profile, target.intent.owned)
        if [redact_line(c, profile) for c in change.commands] != expected.get(hostname):
            raise DeviceError(hostname, "its config changed since the plan checked before "
                              "the push: nothing sent; plan again")
        keep(hostname, running)
    return checked


def _keeper(runtime: Runtime, targets: Sequence[Target]) -> Callable[[str, str], None]:
    """Each device's config from before the change, sealed and fsynced into
    ``backups/pending/`` before its first command: a push killed half-way still leaves
    every changed device's earlier state on disk (the run's backup commit then takes them
    into the repository). Refuses to change a device when there is no secrets key."""
    import os

    from devices.backups import seal_lines
    from devices.confdiff import normalise

    box = runtime.box()
    pending = runtime.config.data_path / "backups" / "pending"
    profiles = {t.device.hostname: t.login.profile for t in targets}

    def keep(hostname: str, running: str) -> None:
        if box is None:
            raise DeviceError(hostname, "no secrets key: the config before the change "
                              "cannot be kept sealed, so nothing is changed")
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


def _back_up(runtime: Runtime, targets: Sequence[Target], results: Sequence[Result],
             reason: str) -> str | None:
    """Every running config read before a change, in one backup commit (git commits are
    slow: one per device would serialise a fleet push). Returns the revision."""
    from devices.backups import BackupStore
    from devices.confdiff import normalise

    box = runtime.box()
    profiles = {t.device.hostname: t.login.profile for t in targets}
    configs = {r.hostname: (normalise(r.pre_change, profiles[r.hostname]),
                            profiles[r.hostname].secret_patterns)
               for r in results if r.pre_change}
    if box is None or not configs:
        return None
    revision = BackupStore.for_config(runtime.config).save(configs, reason, box).commit
    for hostname in configs:  # now in the repository
        (runtime.config.data_path / "backups" / "pending" / f"{hostname}.cfg").unlink(
            missing_ok=True)
    return revision


def _record(runtime: Runtime, action: str, selectors: Sequence[str], reason: str,
            results: Sequence[Result], unready: Sequence[Unready],
            extra: dict[str, Any] | None = None) -> int:
    """One audit entry per fleet operation, with every device's diff and result; its seq."""
    with runtime.store.session() as session:
        return _record_in(session, action, selectors, reason, results, unready, extra)


def _record_in(session: Any, action: str, selectors: Sequence[str], reason: str,
               results: Sequence[Result], unready: Sequence[Unready],
               extra: dict[str, Any] | None = None) -> int:
    failed = sum(1 for r in results if not r.ok) + len(unready)
    outcome = "ok" if not failed else ("failed" if failed == len(results) + len(unready)
                                       else "partial")
    detail = {"devices": [{"hostname": r.hostname, "status": r.status.value,
                           "added": r.added, "removed": r.removed, "error": r.error,
                           "rollback": r.rollback} for r in results],
              "not_ready": [{"hostname": u.hostname, "reason": u.reason} for u in unready],
              **(extra or {})}
    return audit.record(session, audit.Action(action, " ".join(selectors) or "all devices",
                                              outcome, reason, detail))


@devices.command("backup")
@_selectors
@click.option("--reason", default="scheduled backup", show_default=True,
              help="Recorded in the backup's commit message.")
@click.option("--json", "as_json", is_flag=True, help="Print per-device results as JSON.")
@pass_runtime
def backup(runtime: Runtime, selectors: tuple[str, ...], reason: str, as_json: bool) -> None:
    """Read running configs into the backup repository (git: history and diffs per
    device; volatile lines dropped; secrets sealed, so a backup can be restored).

    \b
    Examples:
      citynet devices backup
      citynet devices history luohu-core-01
    """
    targets, unready = _readable(runtime, selectors)  # a backup reads: it needs no intent
    limits = _limits(runtime, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with _progress(len(targets), "reading", as_json) as tick:
        results = run(targets, lambda t: read_one(t, pacer), limits, tick)
    revision = _back_up(runtime, targets, results, reason)
    if as_json:
        click.echo(_as_json(results, unready))
    else:
        _summary(results, unready)
        click.echo(f"backup revision: {revision or _no_revision(runtime, results)}")
    _record(runtime, "devices.backup", selectors, reason, results, unready)
    if any(not r.ok for r in results) or unready:
        raise SystemExit(1)


def _no_revision(runtime: Runtime, results: Sequence[Result]) -> str:
    """Why a backup run stored nothing."""
    if not any(r.pre_change for r in results):
        return "none (no device was read)"
    return "none (no secrets key)" if runtime.box() is None else "none"


@devices.command("history")
@click.argument("hostname")
@pass_runtime
def history(runtime: Runtime, hostname: str) -> None:
    """The backups of one device that changed its config, newest first."""
    from devices.backups import BackupStore

    revisions = BackupStore.for_config(runtime.config).history(hostname)
    if not revisions:
        raise CitynetError(f"no backup of {hostname}: run `citynet devices backup {hostname}`")
    for revision in revisions:
        click.echo(f"{revision.commit[:12]}  {revision.at:%Y-%m-%d %H:%M} UTC  "
                   f"{revision.message}")


@devices.command("rollback")
@click.argument("hostname")
@click.option("--to", "rev", default="HEAD", show_default=True,
              help="Backup revision to return to (see `citynet devices history`).")
@click.option("--reason", required=True, help="Why: audited.")
@click.option("--no-save", is_flag=True, help="Leave the startup config alone.")
@pass_runtime
def rollback(runtime: Runtime, hostname: str, rev: str, reason: str, no_save: bool) -> None:
    """Put a device's config back as a backup has it: the differences are undone command
    by command (added lines removed, removed lines restored), then verified and saved.
    If a command is refused or the check fails, what was sent is undone in turn
    (rolled_back: the device is as it was before); exits 1 then.

    \b
    Example:
      citynet devices rollback luohu-core-01 --to 3f2a9c1 --reason "CHG-1127 failed"
    """
    from devices.backups import BackupStore
    from devices.fleet import restore_one

    box = runtime.box()
    if box is None:
        raise CitynetError("backups are sealed: a rollback needs the secrets key")
    wanted = BackupStore.for_config(runtime.config).restore_text(hostname, rev, box)
    targets, unready = _readable(runtime, [hostname])  # a backup's text, not the intent
    if unready:
        raise CitynetError(f"{hostname}: {unready[0].reason}")
    found = [t for t in targets if t.device.hostname == hostname]
    if not found:
        raise CitynetError(f"no device named {hostname!r}")
    target = found[0]
    result = restore_one(target, wanted, Pacer(1.0), save=not no_save)
    _summary([result], [])
    for line in result.removed + result.added:
        click.echo(f"    {line}")
    _record(runtime, "devices.rollback", [hostname], f"{reason} (to {rev})", [result], [])
    if not result.ok:
        raise SystemExit(1)


@devices.command("drift")
@_selectors
@click.option("--json", "as_json", is_flag=True, help="Print per-device results as JSON.")
@pass_runtime
def drift(runtime: Runtime, selectors: tuple[str, ...], as_json: bool) -> None:
    """Running config vs intent, and vs the last backup, per device. Exits 1 on drift.

    \b
    Example:
      citynet devices drift site:笋岗社区
    """
    from devices.backups import BackupStore
    from devices.confdiff import normalise, redact_line
    from devices.fleet import drift_of

    targets, unready = _targets(runtime, selectors)
    limits = _limits(runtime, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with _progress(len(targets), "reading", as_json) as tick:
        results = run(targets, lambda t: read_one(t, pacer), limits, tick)
    box = runtime.box()
    store = BackupStore.for_config(runtime.config)
    backed_up = set(store.devices())
    rows = []
    for target, result in zip(targets, results, strict=True):
        profile = target.login.profile
        row: dict[str, Any] = {"hostname": result.hostname, "site": result.site,
                               "error": result.error}
        if result.ok:
            row["intent"] = drift_of(target, result.pre_change)
            if box is not None and result.hostname in backed_up:
                saved = store.restore_text(result.hostname, "HEAD", box)
                now = normalise(result.pre_change, profile)
                row["backup"] = [redact_line(line, profile) for line in
                                 _changed_lines(saved, now)]
            else:
                row["backup"] = None  # never backed up
        rows.append(row)
    drifted = [r for r in rows if r.get("intent") or r.get("backup") or r["error"]]
    if as_json:
        click.echo(json.dumps({"devices": rows, "not_ready": [
            {"hostname": u.hostname, "reason": u.reason} for u in unready]},
            ensure_ascii=False, indent=2))
    else:
        for row in rows:
            if row["error"]:
                click.echo(f"{row['hostname']}: cannot read: {row['error']}")
                continue
            intent_state = (f"{len(row['intent'])} lines from intent" if row["intent"]
                            else "matches intent")
            backup_state = ("never backed up" if row["backup"] is None else
                            f"{len(row['backup'])} lines changed since the last backup"
                            if row["backup"] else "as last backed up")
            click.echo(f"{row['hostname']}: {intent_state}; {backup_state}")
            for line in (row["intent"] or []) + (row["backup"] or []):
                click.echo(f"    {line}")
        click.echo(f"summary: {len(drifted)} of {len(rows)} devices drifted"
                   + (f", {len(unready)} not ready" if unready else ""))
    if drifted or unready:
        raise SystemExit(1)


def _changed_lines(old: str, new: str) -> list[str]:
    import difflib

    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                   lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
