"""``citynet devices …``: plan, push, back up, roll back and check drift on the fleet.

Over 400 lines on purpose: most of it is the commands' options and help; what they run
is :mod:`devices.rollout`.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from citynet import listings
from citynet.catalogs import N_, said
from citynet.catalogs import gettext as _
from citynet.errors import CitynetError
from citynet.runtime import Runtime
from devices import approvals, rollout
from devices.approvals import Refusal
from devices.drift import Drift
from devices.drift import of_fleet as drift_of_fleet
from devices.fleet import STATUS_WORDS, Result, Status, Target
from devices.targets import Unready

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


def _fleet(runtime: Runtime) -> rollout.Fleet:
    return rollout.Fleet(runtime.store, runtime.config, runtime.box())


@contextmanager
def _progress(total: int, label: str, quiet: bool) -> Iterator[Callable[[Result], None]]:
    """A progress bar on stderr fed from worker threads; ``label`` a msgid (what the
    devices are going through), said in the command's language."""
    if quiet or total == 0:
        yield lambda result: None
        return
    lock = threading.Lock()

    def shown(item: str | None) -> str | None:
        return item

    bar: Any = click.progressbar(length=total, label=_(label), show_pos=True,
                                 file=sys.stderr, item_show_func=shown)
    with bar:
        def tick(result: Result) -> None:
            with lock:
                bar.update(1, f"{result.hostname} {result.status.value}")
        yield tick


NOT_READY = N_("not ready")


def _summary(results: Sequence[Result], unready: Sequence[Unready]) -> None:
    """One line per device that needs a look (its status and why, in the command's
    language), then the counts."""
    width = max([len(r.hostname) for r in results] + [len(u.hostname) for u in unready] + [8])
    shown = [(result.hostname, _(STATUS_WORDS[result.status]), said(result.error),
              said(result.rollback)) for result in results
             if result.status not in (Status.UNCHANGED, Status.PUSHED, Status.PLANNED)]
    shown += [(item.hostname, _(NOT_READY), said(item.reason), "") for item in unready]
    words = max([listings.width(word) for _host, word, _why, _back in shown] + [15])
    for hostname, word, why, back in shown:
        click.echo(f"  {hostname:<{width}}  {listings.pad(word, words)} {why}")
        if back:
            click.echo(f"  {'':<{width}}  {'':<{words}} {back}")
    counts = Counter(_(STATUS_WORDS[r.status]) for r in results)
    if unready:
        counts[_(NOT_READY)] = len(unready)
    click.echo(_("summary: %(counts)s",
                 counts=", ".join(f"{n} {s}" for s, n in sorted(counts.items()))))


def _as_json(results: Sequence[Result], unready: Sequence[Unready]) -> str:
    return json.dumps({
        "devices": [{"hostname": r.hostname, "site": r.site, "status": r.status.value,
                     "ok": r.ok, "added": r.added, "removed": r.removed,
                     "commands": r.commands, "error": r.error, "rollback": r.rollback,
                     "timings": {k: round(v, 3) for k, v in r.timings.items()}}
                    for r in results],
        "not_ready": [{"hostname": u.hostname, "site": u.site, "reason": u.reason}
                      for u in unready]}, ensure_ascii=False, indent=2)


def _watch(quiet: bool) -> rollout.Watch:
    return lambda total, label: _progress(total, label, quiet)



def _plan_from_backup(fleet: rollout.Fleet, targets: Sequence[Target]) -> list[Result]:
    results = rollout.plan_from_backup(fleet, targets)
    if results is None:
        raise CitynetError(_("backups are sealed: planning against them needs the secrets "
                             "key"))
    return results


@devices.command("plan")
@_selectors
@click.option("--template", "templates", multiple=True,
              help="Intent template(s) to plan (default: devices.templates; built-in: "
              "baseline, guest_wifi, nac).")
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
        raise click.UsageError(_("--reason and --as go with --request"))
    if request_change and not (reason or "").strip():
        raise click.UsageError(_("--request needs --reason (a ticket number, a sentence)"))
    if request_change and from_backup:
        raise click.UsageError(_("--request plans the devices as they are: leave out "
                                 "--from-backup"))
    if request_change and requester is None:  # else the OS user, who could approve it
        raise click.UsageError(_("--request needs --as YOUR_STAFF_NAME: the person asking, "
                                 "who then cannot approve it"))
    asking = _requester(runtime, requester) if request_change and requester else ""
    fleet = _fleet(runtime)
    targets, unready = rollout.targets_of(fleet, selectors, templates)
    results = (_plan_from_backup(fleet, targets) if from_backup
               else rollout.plan_all(fleet, targets, _watch(as_json)))
    if as_json:
        click.echo(_as_json(results, unready))
    else:
        if from_backup:
            click.echo(_("planned against each device's last backup, not the device "
                         "(citynet devices history HOSTNAME)"))
        for result in results:
            if result.commands:
                click.echo(_("--- %(host)s (%(site)s): %(count)s commands",
                             host=result.hostname, site=result.site,
                             count=len(result.commands)))
                for command in result.commands:
                    click.echo(f"    {command}")
        _summary(results, unready)
    incomplete = any(not r.ok for r in results) or unready
    if not request_change:
        rollout.record(fleet, "devices.plan", selectors, "", results, unready,
                {"from_backup": True} if from_backup else None)
        if incomplete:
            raise SystemExit(1)
        return
    asked = rollout.ask(fleet, selectors, templates, results, unready, reason or "", asking)
    if asked.why == rollout.INCOMPLETE:
        click.echo(_("no change request stored: a request covers every selected device, "
                     "and some could not be planned (above); fix them or leave them out of "
                     "the selection"), err=True)
    elif asked.why == rollout.NO_CHANGE:
        click.echo(_("no change request stored: no device would change"), err=True)
    else:
        click.echo(_("change request %(id)s stored (%(count)s devices change), requested by "
                     "%(who)s.\nNext: an engineer or an admin other than %(who)s approves it "
                     "on the staff web at /admin/devices/changes/%(id)s; then push it "
                     "with\n  %(command)s --change %(id)s", id=asked.change,
                     count=rollout.changing(results), who=asking,
                     command=approvals.command_line("push", selectors, templates)),
                   err=as_json)
    if incomplete:
        raise SystemExit(1)



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
            raise CitynetError(_("--as %(name)s: no active staff member of that name "
                                 "(citynet staff list)", name=name))
        if not allowed(Role(user.role), "devices.push"):
            raise CitynetError(_("--as %(name)s: a %(role)s may not push to devices "
                                 "(engineers and admins may)", name=name,
                                 role=user.role.value))
        return user.name



class ApprovalRefused(CitynetError):
    """A push that needs an approved change request has none that fits."""

    exit_code = 3


REFUSALS = {  # why a change request does not cover a push, for the person at the keyboard
    Refusal.NOT_APPROVED: N_("change request %(id)s is not approved (yet): it waits for a "
                             "second person on the staff web"),
    Refusal.USED: N_("change request %(id)s was used by an earlier push already: plan again "
                     "with --request"),
    Refusal.EXPIRED: N_("change request %(id)s has expired: plan again with --request"),
    Refusal.OTHER_SELECTION: N_("change request %(id)s was for other selectors or templates"),
    Refusal.PLAN_CHANGED: N_("change request %(id)s no longer matches the devices: their plan "
                             "changed since it was approved; plan again with --request"),
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
        raise click.UsageError(_("Missing option '--reason' (a ticket number, a sentence)"))
    outcome = rollout.push(
        _fleet(runtime), selectors, reason=reason or "", change_id=change_id,
        templates=templates, save=not no_save, watch=_watch(as_json),
        limits={"canary": canary, "concurrency": concurrency, "per_site": per_site,
                "sessions_per_second": sessions_per_second, "max_failures": max_failures})
    if outcome.refused is not None:
        raise ApprovalRefused(_refusal(outcome.refused, selectors, templates))
    _render(outcome, as_json)


def _refusal(refused: rollout.Refused, selectors: Sequence[str],
             templates: Sequence[str]) -> str:
    """A refused push, in words for the person at the keyboard."""
    change = refused.change
    if refused.why == rollout.APPROVAL_NEEDED:
        return _("this push would change %(changing)s devices, more than "
                 "devices.approval_threshold (%(threshold)s): it needs a change request "
                 "approved by a second person. Nothing was sent.\n"
                 "  1. %(plan)s --request --reason TEXT --as YOUR_STAFF_NAME\n"
                 "  2. an engineer or an admin other than you approves it on the staff web "
                 "(/admin/devices/changes)\n"
                 "  3. %(push)s --change ID", changing=refused.detail["changing"],
                 threshold=refused.detail["threshold"],
                 plan=approvals.command_line("plan", selectors, templates),
                 push=approvals.command_line("push", selectors, templates))
    if change is None:
        return _("no change request %(id)s (see /admin/devices/changes)",
                 id=refused.detail["change"])
    words = _(REFUSALS[Refusal(refused.why)], id=change.id)
    if refused.lines:
        return (_("%(refusal)s. Nothing was sent.", refusal=words) + "\n"
                + "\n".join(f"  {line}" for line in refused.lines))
    if refused.why == Refusal.OTHER_SELECTION:
        return _("%(refusal)s: it covers\n  %(command)s --change %(id)s", refusal=words,
                 command=approvals.command_line("push", change.selectors, change.templates),
                 id=change.id)
    return words


def _render(outcome: rollout.Rollout, as_json: bool) -> None:
    """Per-device results, then exit 1 if any device failed or was not ready."""
    if as_json:
        click.echo(_as_json(outcome.results, outcome.unready))
    else:
        _summary(outcome.results, outcome.unready)
    if outcome.failed_hosts:
        raise SystemExit(1)


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
    fleet = _fleet(runtime)
    outcome = rollout.backup(fleet, selectors, reason, _watch(as_json))
    if as_json:
        click.echo(_as_json(outcome.results, outcome.unready))
    else:
        _summary(outcome.results, outcome.unready)
        click.echo(_("backup revision: %(revision)s",
                     revision=outcome.revision or _no_revision(fleet, outcome)))
    if outcome.failed_hosts:
        raise SystemExit(1)


def _no_revision(fleet: rollout.Fleet, outcome: rollout.Rollout) -> str:
    """Why a backup run stored nothing."""
    if not any(r.pre_change for r in outcome.results):
        return _("none (no device was read)")
    return _("none (no secrets key)") if fleet.box is None else _("none")


@devices.command("history")
@click.argument("hostname")
@pass_runtime
def history(runtime: Runtime, hostname: str) -> None:
    """The backups of one device that changed its config, newest first."""
    from devices.backups import BackupStore

    revisions = BackupStore.for_config(runtime.config).history(hostname)
    if not revisions:
        raise CitynetError(_("no backup of %(host)s: run `citynet devices backup %(host)s`",
                             host=hostname))
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
    outcome = rollout.rollback(_fleet(runtime), hostname, rev, reason, save=not no_save)
    refused = outcome.refused
    if refused is not None:
        raise CitynetError({
            rollout.NO_KEY: _("backups are sealed: a rollback needs the secrets key"),
            rollout.NOT_READY: f"{hostname}: {refused.detail.get('reason')}",
            rollout.NO_DEVICE: _("no device named %(name)s", name=repr(hostname))}[refused.why])
    _summary(outcome.results, [])
    for line in outcome.results[0].removed + outcome.results[0].added:
        click.echo(f"    {line}")
    if not outcome.ok:
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
    rows, unready = drift_of_fleet(_fleet(runtime), selectors, _watch(as_json))
    drifted = [row for row in rows if row.drifted]
    if as_json:
        click.echo(json.dumps({"devices": [_drift_json(row) for row in rows], "not_ready": [
            {"hostname": u.hostname, "reason": u.reason} for u in unready]},
            ensure_ascii=False, indent=2))
    else:
        for row in rows:
            if row.error:
                click.echo(_("%(host)s: cannot read: %(error)s", host=row.hostname,
                             error=said(row.error)))
                continue
            intent_state = (_("%(count)s lines from intent", count=len(row.intent))
                            if row.intent else _("matches intent"))
            backup_state = (_("never backed up") if row.backup is None else
                            _("%(count)s lines changed since the last backup",
                              count=len(row.backup))
                            if row.backup else _("as last backed up"))
            click.echo(f"{row.hostname}: {intent_state}; {backup_state}")
            for line in (row.intent or []) + (row.backup or []):
                click.echo(f"    {line}")
        click.echo(_("summary: %(drifted)s of %(count)s devices drifted, %(unready)s not "
                     "ready", drifted=len(drifted), count=len(rows), unready=len(unready))
                   if unready else
                   _("summary: %(drifted)s of %(count)s devices drifted",
                     drifted=len(drifted), count=len(rows)))
    if drifted or unready:
        raise SystemExit(1)


def _drift_json(row: Drift) -> dict[str, Any]:
    shown: dict[str, Any] = {"hostname": row.hostname, "site": row.site, "error": row.error}
    if not row.error:
        shown.update(intent=row.intent, backup=row.backup)
    return shown
