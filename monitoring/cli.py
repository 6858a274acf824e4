"""``citynet collect``, ``citynet targets``, ``citynet survey``, ``citynet alerts``: the
monitoring side of the CLI.

``citynet collect`` runs monitoring's collectors and those of other domains, which the CLI
root puts in the click context's ``meta`` under ``EXTRA_COLLECTORS`` (gathered from the
domains' manifests; monitoring imports none of them)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import OperationalError

from citynet import catalogs, languages
from citynet.catalogs import N_, said
from citynet.catalogs import gettext as _
from citynet.errors import StoreError
from citynet.leader import Fenced
from citynet.listings import Column, Listing, emit, format_options, pad, table
from citynet.process import (
    die_with_parent,
    garbage_after,
    parent_alive,
    settle,
    stop_on_sigterm,
)
from citynet.runtime import Runtime
from citynet.telemetry import EXTRA_COLLECTORS
from monitoring.settings import MonitoringConfig

if TYPE_CHECKING:
    from citynet.leader import Leadership
    from citynet.telemetry import Collector
    from monitoring.alerts import Delivery
    from monitoring.collectors import Run

log = logging.getLogger(__name__)
pass_runtime = click.make_pass_decorator(Runtime)
FORGET_ROUNDS_EVERY = 3600.0  # seconds between purges of the singleton rounds' history


@click.command("collect")
@click.option("--once", is_flag=True,
              help="Run every (or each named) collector once and exit; default: keep "
              "running them on their intervals until Ctrl-C.")
@click.option("--only", "names", multiple=True, metavar="NAME",
              help="Run this collector only (repeatable): coverage, hotspot_use, "
              "reachability, device_state, alerts, retention.")
@click.option("--json", "as_json", is_flag=True, help="Print each run as JSON.")
@click.option("--parent", type=int, hidden=True,
              help="Run as a child of `citynet serve` (this PID): quiet, and gone with it.")
@pass_runtime
def collect(runtime: Runtime, once: bool, names: tuple[str, ...], as_json: bool,
            parent: int | None) -> None:
    """Run the telemetry collectors: coverage KPIs, hotspot use, reachability, device
    state (interfaces, CPU, APs over SSH), alerts.

    Points go to the embedded rollups (always) and to InfluxDB when monitoring.influx_url
    is set (spooled on disk while it is down). `citynet serve` runs the collectors too.
    On PostgreSQL only the elected leader of the cluster collects; the others wait to
    take over (docs/operations.md, "Leader election").

    \b
    Examples:
      citynet collect --once                      every collector, once
      citynet collect --once --only coverage      recompute the coverage KPIs now
      citynet collect                             keep collecting (Ctrl-C stops)
    """
    if parent is not None:
        die_with_parent(parent)
    from citynet.leader import Leadership
    from monitoring import service

    try:
        chosen = service.pick(names, click.get_current_context().meta.get(EXTRA_COLLECTORS,
                                                                          ()))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None

    def show(runs: list[Run]) -> None:
        for run in runs:
            if as_json:
                click.echo(json.dumps({"collector": run.collector, "ok": run.ok,
                                       "points": run.points, "seconds": round(run.seconds, 3),
                                       "error": run.error}, ensure_ascii=False))
            elif run.ok:
                click.echo(_("%(collector)s %(points)s points  %(seconds)s s",
                             collector=f"{run.collector:<14}", points=f"{run.points:>6}",
                             seconds=f"{run.seconds:6.2f}"))
            else:
                click.echo(_("%(collector)s FAILED  %(error)s", collector=f"{run.collector:<14}",
                             error=run.error), err=True)

    # singleton work: only the elected leader runs it, its writes fenced by its term
    leadership = Leadership(runtime.store)
    if once:
        _collect_once(leadership, runtime, chosen, show)
        return
    if parent is None:
        click.echo(_("collecting: %(collectors)s (Ctrl-C stops)",
                     collectors=", ".join(c.name for c in chosen)))
    else:  # failures are logged by run_collectors; serve's terminal gets no line per run
        stop_on_sigterm()
    leadership.start()
    try:
        _collect_while_leader(leadership, runtime, chosen,
                              show if parent is None else lambda _runs: None,
                              lambda: parent is None or parent_alive(parent))
    except KeyboardInterrupt:
        pass
    finally:
        leadership.stop()


def _collect_once(leadership: Leadership, runtime: Runtime, chosen: list[Collector],
                  show: Callable[[list[Run]], None]) -> None:
    """One round, if this process can lead now; another leader's round is not doubled."""
    from citynet.telemetry import Context
    from monitoring import service
    from monitoring.collectors import run_collectors

    state = leadership.lead_once()
    if not state.leader:
        raise click.ClickException(_("another process leads the singleton work (%(reason)s); "
                                     "its collectors run there", reason=state.reason))
    store = leadership.store()
    sinks = service.sinks(store, runtime.config)
    try:
        with leadership.round(",".join(c.name for c in chosen)):
            runs = run_collectors(chosen, Context(store, runtime.config, datetime.now(UTC)),
                                  sinks)
    except Fenced as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        for sink in sinks:
            sink.close()
        leadership.stop()
    show(runs)
    if not all(run.ok for run in runs):
        raise SystemExit(1)


def _collect_while_leader(leadership: Leadership, runtime: Runtime, chosen: list[Collector],
                          show: Callable[[list[Run]], None],
                          running: Callable[[], bool]) -> None:
    """While this process leads, each due collector runs in a recorded, fenced round; a
    follower waits (woken at once when its standing changes)."""
    from monitoring import service
    from monitoring.collectors import Scheduler

    store = leadership.store()
    sinks = service.sinks(store, runtime.config)
    scheduler = Scheduler(chosen, store, runtime.config, sinks)
    forgotten = 0.0
    settled = False
    try:
        while running():
            if leadership.state.leader:
                try:
                    due = scheduler.due()
                    if due:
                        with garbage_after(), leadership.round(",".join(due)):
                            show(scheduler.tick())
                        if not settled:  # the first round built the caches it keeps
                            settle()
                            settled = True
                    if time.monotonic() - forgotten > FORGET_ROUNDS_EVERY:
                        with garbage_after():  # a write too: no collection inside it
                            leadership.forget_rounds(datetime.now(UTC))
                        forgotten = time.monotonic()
                except Fenced as exc:
                    log.warning("singleton round stopped: %s", exc)
                except (OperationalError, StoreError) as exc:  # the store is away: retried
                    log.warning("singleton round not run: %s", exc)
            leadership.wait(1.0)  # the loop's tick; each collector keeps its own interval
    finally:
        for sink in sinks:
            sink.close()


@click.command("targets")
@click.option("--json", "as_json", is_flag=True, help="Print the targets as JSON.")
@click.option("--lang", type=click.Choice(languages.PORTAL_LANGUAGES),
              help="Language of the shortfall sentences [default: the command's (citynet "
              "--lang, LANG); with --json, en].")
@pass_runtime
def targets(runtime: Runtime, as_json: bool, lang: str | None) -> None:
    """Every coverage target: value now, trend, forecast at the deadline, status, shortfall.

    \b
    Status: met (holds today) · on_track (the trend reaches it by the deadline) ·
    at_risk (it does not) · missed (the deadline passed without it).
    """
    from monitoring.targets import evaluate

    # the JSON's shortfall_text is English unless asked (scripts read it, as before)
    lang = lang or (languages.ENGLISH if as_json else catalogs.spoken())
    with runtime.store.session() as session:
        found = evaluate(session, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps([{
            "metric": s.metric.value, "scope": s.scope, "target": s.target,
            "deadline": s.deadline.isoformat(), "owner": s.owner, "current": s.current,
            "status": s.status.value, "shortfall": s.shortfall,
            "shortfall_text": s.shortfall_text(lang), "plan": s.plan,
            "forecast": None if s.forecast is None else {
                "value": s.forecast.value, "low": s.forecast.low, "high": s.forecast.high,
                "slope_per_month": s.forecast.slope_per_month}}
            for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(_("no targets: import them with `citynet inventory import` (kind targets)"))
        return
    for s in found:
        unit = "%" if s.percent else ""
        now = "—" if s.current is None else f"{s.current:.1f}{unit}"
        forecast = (_("no trend yet") if s.forecast is None else
                    f"{s.forecast.value:.1f}{unit} ({s.forecast.low:.1f}–{s.forecast.high:.1f})")
        click.echo(f"{s.status.value:<9} {s.metric.value:<28} {s.scope:<36} " + _(
            "target %(target)s by %(deadline)s  now %(now)s  forecast %(forecast)s",
            target=f"{s.target:g}{unit}", deadline=s.deadline, now=now, forecast=forecast))
        if s.shortfall_text(lang):
            click.echo(f"          {s.shortfall_text(lang)}")


@click.group()
def survey() -> None:
    """WiFi site surveys: import a survey walk's capture, list results."""


# Imports for the survey commands are local: scapy loads only when a capture is read, and
# the module head stays shared with the other commands.

@survey.command("import")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="The survey's name; importing it again replaces "
              "its results.")
@click.option("--points", "plan_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV point,start,end (ISO 8601 with offset, or epoch seconds): beacons "
              "belong to the point whose time window holds them.")
@click.option("--gap", type=click.FloatRange(min=0, min_open=True),
              help="Without --points: a pause of this many seconds starts a new point "
              "(P1, P2, ...). Default 5.")
@click.option("--hotspot", "hotspots", multiple=True,
              help="A hotspot this walk surveys (repeatable). Default: every inventory "
              "hotspot heard.")
@click.option("--threshold", type=click.FloatRange(-100, -30),
              help="Covered when the best signal is at least this many dBm. Default: "
              "monitoring.signal_threshold_dbm.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_runtime
def survey_import(runtime: Runtime, capture: str, name: str, plan_path: str | None,
                  gap: float | None, hotspots: tuple[str, ...], threshold: float | None,
                  as_json: bool) -> None:
    """Import a survey walk: a monitor-mode capture (pcap or pcapng, may be gzipped) of
    802.11 beacons with radiotap signal strength.

    Beacons are matched to hotspots by BSSID against the inventory's access point MACs
    (also BSSIDs that differ from an AP MAC in the last octet only). Per point and hotspot
    the best signal (median per BSSID, max over BSSIDs) is stored; the point is covered
    when it reaches the threshold. Nothing is stored when the capture is cut off.

    \b
    Examples:
      sudo tcpdump -i wlan0mon -w walk.pcap type mgt subtype beacon
      citynet survey import walk.pcap --name dongmen-2026-05 --hotspot 东门文化广场
      citynet survey import walk.pcap --name library --points library-points.csv
    \b
    A points CSV:
      point,start,end
      entrance,2026-05-01T10:00:00+08:00,2026-05-01T10:01:00+08:00
    """
    import json
    from pathlib import Path

    from monitoring import pcap
    from monitoring import survey as surveys

    if plan_path is not None and gap is not None:
        raise click.UsageError(_("--gap splits a walk into points by its pauses; with "
                                 "--points the points' times decide: give one of them"))
    if not 0 < len(name) <= surveys.MAX_NAME:
        raise click.BadParameter(_("1 to %(most)s characters", most=surveys.MAX_NAME),
                                 param_hint="--name")
    limit = threshold if threshold is not None else runtime.config.section(
        MonitoringConfig).signal_threshold_dbm
    plan = surveys.read_points(Path(plan_path)) if plan_path is not None else None
    counts = pcap.CaptureCounts()
    with runtime.store.session() as session:
        unknown = surveys.unknown_hotspots(session, hotspots)
        if unknown:
            raise click.BadParameter(_("no hotspot named %(names)s (citynet inventory show "
                                       "hotspots)", names=", ".join(unknown)),
                                     param_hint="--hotspot")
        result = surveys.measure(
            pcap.read_beacons(Path(capture), counts), surveys.load_index(session),
            threshold=limit, gap=gap if gap is not None else surveys.DEFAULT_GAP_SECONDS,
            plan=plan, targets=hotspots or None)
        surveys.check_measured(result, counts, capture, plan_path)
        surveys.save(session, name, result.rows)
    tally, covered = result.tally, surveys.coverage(result.rows)
    if as_json:
        click.echo(json.dumps({
            "survey": name, "threshold_dbm": limit, "points": result.points,
            "coverage": [{"hotspot": h, "covered": c.covered, "points": c.total,
                          "percent": c.percent} for h, c in covered.items()],
            "counts": {"frames": counts.frames, "beacons_used": tally.used,
                       "foreign": tally.foreign, "ambiguous": tally.ambiguous,
                       "other_hotspots": tally.other_hotspots, "ignored": tally.ignored,
                       "skipped": counts.skipped, "not_beacons": counts.not_beacons,
                       "no_signal": counts.no_signal, "bad_fcs": counts.bad_fcs},
            "unknown_with_inventory_ssid": result.unknown_with_our_ssid,
            "rows": [{"point": r.point, "hotspot": r.hotspot, "best_dbm": r.best_dbm,
                      "bssid": r.bssid, "covered": r.covered,
                      "measured_at": r.measured_at.isoformat()} for r in result.rows],
        }, ensure_ascii=False, indent=2))
        return
    click.echo(_("survey %(name)s: %(count)s points, threshold %(limit)s dBm", name=name,
                 count=len(result.points), limit=f"{limit:g}"))
    for line in table(("hotspot", "covered", "points", "%"),
                      ((hotspot, str(found.covered), str(found.total),
                        f"{found.percent or 0.0:.1f}") for hotspot, found in covered.items()),
                      (False, True, True, True)):
        click.echo(line)
    bad = (_(", %(count)s with a bad checksum", count=counts.bad_fcs) if counts.bad_fcs
           else "")
    click.echo(_("frames read %(frames)s, beacons used %(used)s, foreign %(foreign)s, skipped "
                 "%(skipped)s (%(not_beacons)s not beacons, %(no_signal)s without a dBm "
                 "signal%(bad)s)", frames=counts.frames, used=tally.used,
                 foreign=tally.foreign, skipped=counts.skipped,
                 not_beacons=counts.not_beacons, no_signal=counts.no_signal, bad=bad))
    unused = [_(what, count=n) for n, what in (
        (tally.ambiguous, N_("%(count)s of ambiguous BSSIDs")),
        (tally.other_hotspots, N_("%(count)s of other hotspots")),
        (tally.ignored, N_("%(count)s outside every point"))) if n]
    if unused:
        click.echo(_("beacons not used: %(parts)s", parts=", ".join(unused)))
    for bssid, ssid in result.unknown_with_our_ssid.items():
        click.echo(_("note: %(bssid)s broadcasts %(ssid)s, an inventory SSID, but is no "
                     "inventory access point", bssid=bssid, ssid=repr(ssid)), err=True)


SURVEY_COLUMNS = (Column("survey"), Column("date", text=lambda v: v[:16].replace("T", " ")),
                  Column("hotspot"), Column("covered", right=True),
                  Column("points", right=True),
                  Column("percent", "%", right=True, text=lambda v: f"{v:.1f}"))


@survey.command("list")
@format_options
@pass_runtime
def survey_list(runtime: Runtime, fmt: str | None) -> None:
    """Every stored survey, newest first: its date (district time) and, per hotspot, the
    points covered of the points surveyed."""
    from zoneinfo import ZoneInfo

    from monitoring.survey import survey_coverage

    where = ZoneInfo(runtime.config.radius.timezone)
    with runtime.store.session() as session:
        results = survey_coverage(session)
    emit(Listing("surveys", N_("%(count)s survey hotspot"), N_("%(count)s survey hotspots"),
                 SURVEY_COLUMNS, [
        {"survey": r.survey, "date": r.started.astimezone(where).isoformat(timespec="minutes"),
         "hotspot": r.hotspot, "covered": r.covered, "points": r.total,
         "percent": 100.0 * r.covered / r.total if r.total else 0.0} for r in results]),
         fmt, empty=_("(no surveys yet: citynet survey import --help)"))


@click.group()
def alerts() -> None:
    """Alert rules and their notifications (webhook, e-mail)."""


# Imports for the alerts commands are local so this part can change without touching
# the module head other commands share.

@alerts.command("check")
@click.option("--dry-run", is_flag=True, help="Evaluate and show; send and remember nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print notices and deliveries as JSON.")
@pass_runtime
def alerts_check(runtime: Runtime, dry_run: bool, as_json: bool) -> None:
    """Evaluate the alert rules now and notify what started firing or recovered.

    \b
    Examples:
      citynet alerts check             notify, remember what was notified
      citynet alerts check --dry-run   only show what would be notified
    Exits 1 when a notice reached no channel; the next check sends it again.
    """
    import json
    from datetime import UTC, datetime

    from monitoring.alert_rules import default_rules
    from monitoring.alerts import check, firing
    from monitoring.notify import channels, deliver

    result = check(runtime.store, runtime.config, datetime.now(UTC), default_rules(), deliver,
                   dry_run=dry_run)
    still = len(firing(runtime.store))
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "firing": still,
                               "notices": [n.as_dict() for n in result.notices],
                               "deliveries": [d.as_dict() for d in result.deliveries]},
                              ensure_ascii=False, indent=2))
    else:
        for notice in result.notices:
            click.echo(f"{pad(_(NOTICE_STATES[notice.state]), 9)}{notice.key}  "
                       f"{said(notice.detail)}")
            for delivery in (d for d in result.deliveries if d.notice is notice):
                click.echo(f"  {delivery.channel} {delivery.target}: {delivered(delivery)}")
        if not result.notices:
            click.echo(_("no alert started or recovered"))
        click.echo(_("%(count)s alert(s) firing (dry run: nothing sent or remembered)",
                     count=still) if dry_run
                   else _("%(count)s alert(s) firing", count=still))
    if result.notices and not dry_run and not channels(runtime.config):
        click.echo(_("no alert channel configured (monitoring.alert_webhooks, or "
                     "monitoring.smtp_host and monitoring.mail_to): nothing was sent"),
                   err=True)
    if result.undelivered:
        raise click.exceptions.Exit(1)


# a notice's state as `alerts check` shows it (--json keeps the state's own value)
NOTICE_STATES = {"firing": N_("FIRING"), "resolved": N_("RESOLVED")}


def delivered(delivery: Delivery) -> str:
    """What a channel answered, in the command's language (the error as it came)."""
    return _("ok") if delivery.ok else _("FAILED: %(error)s", error=delivery.error)


@alerts.command("list")
@format_options
@pass_runtime
def alerts_list(runtime: Runtime, fmt: str | None) -> None:
    """Show the alerts firing now, oldest first (times in the district's time zone)."""
    from datetime import UTC, datetime

    from monitoring.alerts import duration_text, firing, local_time, stored_detail, zone

    rows, now, where = firing(runtime.store), datetime.now(UTC), zone(runtime.config)
    # "for" and "detail" are English in --json and --csv, said in the table
    columns = (Column("since", text=lambda v: local_time(datetime.fromisoformat(v), where)),
               Column("for", right=True, text=said), Column("key", "alert"),
               Column("detail", text=said),
               Column("rule", table=False), Column("subject", table=False),
               Column("notified", table=False))
    emit(Listing("alerts", N_("%(count)s alert firing"), N_("%(count)s alerts firing"),
                 columns, [
        {"since": r.since.isoformat(), "for": duration_text(now - r.since), "key": r.key,
         "detail": stored_detail(r), "rule": r.rule, "subject": r.subject,
         "notified": r.notified_at is not None} for r in rows]),
         fmt, empty=_("(no alert firing)"))


@alerts.command("test")
@pass_runtime
def alerts_test(runtime: Runtime) -> None:
    """Send a test notice to every configured channel and show what each answered."""
    from monitoring.notify import channels, deliver, trial_notice

    if not channels(runtime.config):
        raise click.ClickException(_(
            "no alert channel configured: set monitoring.alert_webhooks, or "
            "monitoring.smtp_host and monitoring.mail_to"))
    deliveries = deliver([trial_notice()], runtime.config)
    for delivery in deliveries:
        click.echo(f"{delivery.channel} {delivery.target}: {delivered(delivery)}")
    if not all(d.ok for d in deliveries):
        raise click.exceptions.Exit(1)
