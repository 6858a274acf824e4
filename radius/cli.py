"""``citynet radius …``, ``sessions``, ``vouchers``, ``records`` and ``freeradius``.

Over 400 lines on purpose: it is RADIUS's whole command line, five groups of short
commands that share the look-ups of a NAS and of a session (``_nas_target``); split by
group, each module would import those helpers from a sixth."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.errors import CitynetError
from citynet.listings import Column, Listing, emit, format_options
from citynet.process import settle
from citynet.runtime import Runtime
from citynet.spreadsheets import SpreadsheetDictWriter
from radius import vouchers as voucher_limits  # the limits the admin web shares
from radius.settings import RadiusConfig, RecordsConfig

if TYPE_CHECKING:
    from radius.sessions import NasTarget

pass_runtime = click.make_pass_decorator(Runtime)


@click.group()
def radius() -> None:
    """The RADIUS authenticator and accounting listener."""


@radius.command("serve")
@pass_runtime
def radius_serve(runtime: Runtime) -> None:
    """Run only the RADIUS service, in the foreground (Ctrl-C stops it): the UDP
    listener (unless radius.enabled is false) and, with radius.rest_token set, the
    rlm_rest API for FreeRADIUS in front.

    `citynet serve` runs it beside the web app; use this for a RADIUS-only host.

    \b
    Try it (Message-Authenticator is required, as Blast-RADIUS demands):
      echo 'Message-Authenticator = 0x00' | radclient -x 127.0.0.1:1812 status SECRET
    """
    from radius.service import RadiusService, login_gates, tunnel_sources

    config = runtime.config.section(RadiusConfig)
    if not config.has_work:
        raise CitynetError(_("nothing to run: radius.enabled is false and radius.rest_token "
                             "is not set (the rlm_rest API needs it)"))
    box = runtime.box()
    service = RadiusService(runtime.store, box, config, udp=config.enabled,
                            gates=login_gates(runtime.config),
                            tunnel_sources=tunnel_sources(runtime, box))
    try:
        service.start()
    except OSError as exc:
        raise CitynetError(str(exc)) from None
    click.echo(_("%(service)s (Ctrl-C stops)", service=service.describe()))
    settle()
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while not done.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        service.stop()
        counters = ", ".join(f"{k} {v}" for k, v in sorted(service.server.counters.items()))
        click.echo(_("RADIUS stopped (%(counters)s)", counters=counters) if counters
                   else _("RADIUS stopped (no traffic)"))


@radius.command("chilli-conf")
@click.argument("nas_name", metavar="NAS")
@click.option("--portal-url", required=True,
              help="The portal as phones reach it, e.g. https://portal.example.cn/portal.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (mode 0600: it holds the NAS's secrets).")
@pass_runtime
def radius_chilli_conf(runtime: Runtime, nas_name: str, portal_url: str, out: Path) -> None:
    """Write the RADIUS part of a CoovaChilli NAS's config: radiusserver1/2 from
    radius.servers (both sites, so a kick from either is accepted), the NAS's shared
    and UAM secrets, the CoA port and the portal.

    \b
    Example:
      citynet radius chilli-conf gw-dongmen-01 --portal-url https://portal.example.cn/portal \\
        --out /etc/chilli/citynet-radius.conf
    """
    import os

    from sqlalchemy import select

    from inventory.models import NasClient
    from radius.coovachilli import ChilliNas, conf

    box = runtime.box()
    if box is None:
        raise CitynetError(_("the NAS secrets are sealed: set up secrets.key first"))
    with runtime.store.session() as session:
        row = session.scalars(select(NasClient).where(NasClient.name == nas_name)).first()
        if row is None:
            raise CitynetError(_("no NAS named %(name)s (citynet nas list)",
                                 name=repr(nas_name)))
        if not row.uam_secret_sealed:
            raise CitynetError(_("%(name)s has no UAM secret: citynet nas set %(name)s "
                                 "--uam-secret ...", name=nas_name))
        secret, uam_secret = box.open(row.secret_sealed), box.open(row.uam_secret_sealed)
    config = runtime.config.radius
    try:
        text = conf(ChilliNas(nas_name, secret, uam_secret, config.servers, portal_url,
                              config.auth_port, config.acct_port, config.coa_port))
    except ValueError as exc:
        raise CitynetError(f"{nas_name}: {exc}") from None
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    click.echo(_("wrote %(out)s for %(name)s: RADIUS servers %(servers)s", out=out,
                 name=nas_name, servers=", ".join(config.servers)))


@radius.group("profile")
def profile() -> None:
    """Policy profiles: the terms a NAS's users get (a NAS names one with --policy)."""


PROFILE_HELP = {
    "max_session_minutes": "Longest session (Session-Timeout), minutes.",
    "idle_timeout": "Idle-Timeout, seconds.",
    "interim_interval": "Acct-Interim-Interval asked of the NAS, seconds.",
    "bandwidth_up_kbps": "WISPr-Bandwidth-Max-Up, kbit/s (0: none).",
    "bandwidth_down_kbps": "WISPr-Bandwidth-Max-Down, kbit/s (0: none).",
    "daily_minutes": "Online minutes a phone number may use a day (0: no limit).",
    "daily_megabytes": "Traffic a phone number may use a day, MB (0: no limit).",
    "simultaneous_use": "Devices one phone number may have online at once (0: any).",
    "remember_days": "Days the portal may remember a device (0: never).",
}


def _profile_options(command: Callable[..., None]) -> Callable[..., None]:
    from radius.profiles import LANGUAGES, LIMITS

    for name, (low, high) in reversed(LIMITS.items()):
        command = click.option(f"--{name.replace('_', '-')}", name,
                               type=click.IntRange(low, high), help=PROFILE_HELP[name])(command)
    return click.option("--language", type=click.Choice(LANGUAGES),
                        help="Language of Reply-Messages.")(command)


@profile.command("set")
@click.argument("name")
@_profile_options
@pass_runtime
def profile_set(runtime: Runtime, /, name: str, **changes: Any) -> None:
    """Create or change a profile; options not given keep their value (or the default).

    \b
    Examples:
      citynet radius profile set default --daily-minutes 240 --simultaneous-use 2
      citynet radius profile set library --bandwidth-down-kbps 8000 --language zh-CN
    """
    from dataclasses import replace

    from sqlalchemy import select

    from radius import profiles

    with runtime.store.session() as session:
        row = session.scalar(select(profiles.PolicyProfile)
                             .where(profiles.PolicyProfile.name == name))
        terms = profiles.terms_of(row) if row is not None else replace(profiles.DEFAULT,
                                                                       name=name)
        terms = replace(terms, **{k: v for k, v in changes.items() if v is not None})
        problems = profiles.check(terms)
        if problems:
            raise CitynetError(_("profile %(name)s: %(problems)s", name=name,
                                 problems="; ".join(problems)))
        profiles.save(session, terms)
    click.echo(terms.describe())


def _profile_columns() -> tuple[Column, ...]:
    from radius.profiles import LIMITS

    short = {"max_session_minutes": "session min", "idle_timeout": "idle s",
             "interim_interval": "interim s", "bandwidth_up_kbps": "up kbit/s",
             "bandwidth_down_kbps": "down kbit/s", "daily_minutes": "min/day",
             "daily_megabytes": "MB/day", "simultaneous_use": "devices",
             "remember_days": "remember d"}
    return (Column("name"), *(Column(name, short[name], right=True) for name in LIMITS),
            Column("language"), Column("built_in", "built in"))


@profile.command("list")
@format_options
@pass_runtime
def profile_list(runtime: Runtime, fmt: str | None) -> None:
    """The profiles in the store (a NAS naming another one gets the built-in defaults).

    0 is "no limit" for the limits."""
    from dataclasses import asdict

    from radius import profiles

    with runtime.store.session() as session:
        found = profiles.load_all(session)
    terms = sorted(found.values(), key=lambda t: t.name)
    rows = [{**asdict(t), "built_in": False} for t in terms]
    if "default" not in found:
        rows.insert(0, {**asdict(profiles.DEFAULT), "built_in": True})
    emit(Listing("profiles", N_("%(count)s profile"), N_("%(count)s profiles"),
                 _profile_columns(), rows), fmt)


@radius.command("token")
@click.argument("phone")
@click.option("--mac", default="", help="Bind the token to this device's MAC.")
@click.option("--method", type=click.Choice(["sms", "totp"]), default="sms",
              show_default=True, help="How the person was verified (goes into the records).")
@pass_runtime
def radius_token(runtime: Runtime, phone: str, mac: str, method: str) -> None:
    """Issue a one-time login token for PHONE, as the portal does after an SMS login.

    For testing a NAS by hand: the token is the password, PHONE the user name, good once
    within two minutes. The token is printed and nowhere logged.

    \b
    Example:
      radtest 13800138000 "$(citynet radius token 13800138000)" 127.0.0.1 0 SECRET
    """
    from citynet.macs import normal_mac
    from radius import tokens

    box = runtime.box(create=True)
    if box is None:
        raise CitynetError(_("tokens are sealed with the secrets key, and there is none"))
    bound = normal_mac(mac) if mac else ""
    if mac and not bound:
        raise CitynetError(_("--mac %(mac)s is not a MAC address", mac=repr(mac)))
    with runtime.store.session() as session:
        token = tokens.issue(session, box, phone, method, bound)
    click.echo(token)


@radius.command("remember")
@click.argument("mac")
@click.option("--phone", required=True, help="Whose device it is.")
@click.option("--days", type=click.IntRange(1, 365), default=7, show_default=True)
@pass_runtime
def radius_remember(runtime: Runtime, mac: str, phone: str, days: int) -> None:
    """Remember a device: the NAS's MAC authentication then logs it in as PHONE.

    The portal does this when a person ticks "remember this device"; this is for support.
    """
    from citynet.macs import normal_mac
    from radius import remembered

    bound = normal_mac(mac)
    if not bound:
        raise CitynetError(_("%(mac)s is not a MAC address", mac=repr(mac)))
    with runtime.store.session() as session:
        device = remembered.remember(session, bound, phone, days)
        until = device.expires_at.isoformat(timespec="minutes")
    if remembered.randomised(bound):
        click.echo(_("%(mac)s remembered for %(phone)s until %(until)s (a randomised, "
                     "per-network address: it may change)", mac=bound, phone=phone,
                     until=until))
    else:
        click.echo(_("%(mac)s remembered for %(phone)s until %(until)s", mac=bound,
                     phone=phone, until=until))


@radius.command("forget")
@click.argument("mac")
@pass_runtime
def radius_forget(runtime: Runtime, mac: str) -> None:
    """Forget a remembered device: its next connection goes through the portal."""
    from citynet.macs import normal_mac
    from radius import remembered

    bound = normal_mac(mac)
    if not bound:
        raise CitynetError(_("%(mac)s is not a MAC address", mac=repr(mac)))
    with runtime.store.session() as session:
        count = remembered.forget(session, bound, "forgotten by an operator")
    click.echo(_("%(mac)s: %(count)s remembrance(s) ended", mac=bound, count=count) if count
               else _("%(mac)s was not remembered", mac=bound))


@click.group()
def vouchers() -> None:
    """Printed one-time vouchers: one short code is both user name and password."""


@vouchers.command("create")
@click.option("--count", type=click.IntRange(1, 10000), required=True, help="How many codes.")
@click.option("--minutes", type=click.IntRange(1, voucher_limits.MAX_MINUTES), required=True,
              help="Online time, counted from the first login.")
@click.option("--devices", type=click.IntRange(1, voucher_limits.MAX_DEVICES), default=1,
              show_default=True, help="How many devices may use one code.")
@click.option("--batch", default="", help="Batch name, to find and print them together.")
@click.option("--valid-days", type=click.IntRange(1, voucher_limits.MAX_VALID_DAYS), default=90,
              show_default=True,
              help="After this many days an unused code expires.")
@click.option("--json", "as_json", is_flag=True, help="Print the codes as JSON.")
@pass_runtime
def vouchers_create(runtime: Runtime, count: int, minutes: int, devices: int, batch: str,
                    valid_days: int, as_json: bool) -> None:
    """Create a batch of vouchers and print their codes.

    \b
    Examples:
      citynet vouchers create --count 100 --minutes 120 --batch 2026-12-library
      citynet vouchers create --count 5 --minutes 60 --devices 2 --json
    """
    from radius import vouchers as voucher_store

    with runtime.store.session() as session:
        created = voucher_store.create(session, count, minutes, devices, batch, valid_days)
        rows = [{"code": voucher_store.display(v.code), "minutes": v.minutes,
                 "devices": v.devices, "batch": v.batch,
                 "valid_until": v.valid_until.isoformat(timespec="seconds")}
                for v in created]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            click.echo(row["code"])
        click.echo(_("%(vouchers)s, %(minutes)s min, %(devices)s each, batch %(batch)s, "
                     "unused ones expire %(until)s",
                     vouchers=_("1 voucher") if count == 1 else
                     _("%(count)s vouchers", count=format(count, ",")),
                     minutes=minutes, devices=_("1 device") if devices == 1 else
                     _("%(count)s devices", count=format(devices, ",")),
                     batch=batch or "-", until=rows[0]["valid_until"]), err=True)


BATCH_COLUMNS = (Column("batch"), Column("count", right=True),
                 Column("minutes", text=lambda v: "/".join(map(str, v))),
                 Column("devices", text=lambda v: "/".join(map(str, v))),
                 Column("created_at", "created"), Column("valid_until", "valid until"),
                 Column("used", right=True), Column("unused", right=True),
                 Column("expired", right=True), Column("revoked", right=True))


@vouchers.command("list")
@format_options
@pass_runtime
def vouchers_list(runtime: Runtime, fmt: str | None) -> None:
    """Every batch, newest first: its terms and how many codes are used, unused (still
    valid), expired unused and revoked. Codes are never listed (print them with
    `citynet vouchers sheet`)."""
    from radius import vouchers as voucher_store

    with runtime.store.session() as session:
        batches = voucher_store.batches(session, datetime.now(UTC))
    emit(Listing("batches", N_("%(count)s batch"), N_("%(count)s batches"),
                 BATCH_COLUMNS, [b.view() for b in batches]), fmt,
         empty=_("(no vouchers: citynet vouchers create --help)"))


@click.group()
def records() -> None:
    """Login and logout records (real-name rules): search, export, purge by retention."""


def _identity_option(command: Callable[..., None]) -> Callable[..., None]:
    """--identity, and --phone, its name before it said what it searches, kept hidden so
    that scripts written for it still run."""
    command = click.option("--phone", "phone_alias", hidden=True)(command)
    return click.option("--identity", help="Phone number or voucher code, as typed or as "
                        "printed (84R2-E6M6-5E, any case, full-width).")(command)


def _identity(identity: str | None, phone_alias: str | None) -> str | None:
    if identity and phone_alias and identity != phone_alias:
        raise click.UsageError(_("--phone is the old name of --identity: give one of them"))
    return identity or phone_alias


RECORD_COLUMNS = tuple(Column(key, right=key in ("chain", "seq")) for key in (
    "chain", "seq", "at", "event", "result", "identity", "method", "mac", "private_ip", "nas",
    "called_station"))


@records.command("search")
@_identity_option
@click.option("--mac", help="Device MAC, any spelling.")
@click.option("--ip", help="Private or NAT public IP address.")
@click.option("--port", help="Switch port, as the switch names it (NAS-Port-Id) — "
              "802.1X and MAC bypass logins; with --nas for one switch.")
@click.option("--nas", "nas_name", help="The NAS (switch, AC) the record came from.")
@click.option("--since", type=click.DateTime(), help="From this UTC time (inclusive).")
@click.option("--until", type=click.DateTime(), help="Up to this UTC time (exclusive).")
@click.option("--csv", "as_csv", is_flag=True,
              help="Every matching record as CSV, for a lawful request's answer.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Records shown on screen (the oldest first); --csv has them all.")
@pass_runtime
def records_search(runtime: Runtime, identity: str | None, phone_alias: str | None,
                   mac: str | None, ip: str | None, port: str | None,
                   nas_name: str | None, since: datetime | None,
                   until: datetime | None, as_csv: bool, limit: int) -> None:
    """Find login records by identity, MAC, IP, switch port and time range (times in UTC).

    The CSV holds every matching record, streamed (there may be millions); the count of
    them goes to stderr.

    \b
    Examples:
      citynet records search --identity 13800138000 --since 2026-11-01 --csv > answer.csv
      citynet records search --identity 84R2-E6M6-5E
      citynet records search --nas sw-lib-3 --port GigabitEthernet0/0/7
    """
    from citynet.macs import normal_mac
    from radius import records as login_records

    identity = _identity(identity, phone_alias)
    if not any((identity, mac, ip, port, nas_name, since, until)):
        raise click.UsageError(_("give at least one of --identity, --mac, --ip, --port, "
                                 "--nas, --since, --until"))
    if mac and not normal_mac(mac):
        raise click.BadParameter(_("%(mac)s is not a MAC address", mac=repr(mac)),
                                 param_hint="--mac")
    conditions = login_records.matching(identity=identity, mac=mac, ip=ip, port=port,
                                        nas=nas_name, since=_utc(since), until=_utc(until))
    with runtime.store.session() as session:
        matched, last = login_records.count(session, conditions)
        found = login_records.export(session, conditions, last)
        if as_csv:
            writer = SpreadsheetDictWriter(sys.stdout, login_records.COLUMNS,
                                           lineterminator="\n")
            writer.writeheader()
            for record in found:
                writer.writerow(login_records.export_row(record))
            click.echo(_("1 record") if matched == 1 else
                       _("%(count)s records", count=format(matched, ",")), err=True)
            return
        shown = Listing("records", N_("%(count)s record"), N_("%(count)s records"),
                        RECORD_COLUMNS,
                        [login_records.export_row(r) for r in islice(found, limit)], matched)
    emit(shown, "table", more=_("raise --limit to see more, or --csv for every one"))


@records.command("purge")
@click.option("--older-than-days", type=int,
              help="Default: the retention set on the admin web, else records.retention_days.")
@pass_runtime
def records_purge(runtime: Runtime, older_than_days: int | None) -> None:
    """Delete login records, accounting records and ended sessions past retention (never
    younger than 60 days): what the leader does every 5 minutes unless records.auto_purge
    is off."""
    from radius import retention
    from radius.records import MIN_RETENTION_DAYS

    days = older_than_days or retention.retention_days(
        runtime.store, runtime.config.section(RecordsConfig).retention_days)
    if days < MIN_RETENTION_DAYS:
        raise CitynetError(_("records must be kept at least 60 days"))
    done = retention.purge(runtime.store, days, datetime.now(UTC))
    click.echo(_("purged %(count)s login records older than %(days)s days (before %(cutoff)s "
                 "UTC)", count=done.login_records, days=days,
                 cutoff=f"{done.before:%Y-%m-%d %H:%M}"))
    click.echo(_("purged %(accounting)s accounting records and %(sessions)s ended sessions "
                 "as old", accounting=done.accounting, sessions=done.sessions))


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@click.group()
def sessions() -> None:
    """Public WiFi sessions as the NAS accounting reports them."""


def _megabytes(octets: int) -> str:
    return f"{octets / 1e6:.1f}"


SESSION_COLUMNS = (
    Column("id", table=False), Column("session_id", "session"), Column("identity", "user"),
    Column("username", table=False), Column("method", table=False), Column("mac"),
    Column("ip"), Column("nas"), Column("called_station", table=False),
    Column("minutes", right=True),
    Column("input_octets", "MB in", right=True, text=_megabytes),
    Column("output_octets", "MB out", right=True, text=_megabytes),
    Column("state"), Column("terminate_cause", "cause"), Column("started_at", "started"),
    Column("updated_at", table=False), Column("stopped_at", table=False))


@sessions.command("list")
@click.option("--all", "show_all", is_flag=True, help="Stopped sessions too (newest first).")
@click.option("--user", help="Phone number or voucher code, any spelling (or a MAC-auth "
              "User-Name).")
@click.option("--mac", help="Client MAC, any spelling.")
@click.option("--ip", help="Client IP address (Framed-IP-Address).")
@click.option("--nas", "nas_name", help="NAS name.")
@click.option("--port", "switch_port", help="Switch port (NAS-Port-Id) of 802.1X and MAC "
              "bypass sessions; with --nas for one switch.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Sessions shown, newest first; the count says how many matched.")
@format_options
@pass_runtime
def sessions_list(runtime: Runtime, show_all: bool, user: str | None, mac: str | None,
                  ip: str | None, nas_name: str | None, switch_port: str | None, limit: int,
                  fmt: str | None) -> None:
    """List open sessions: who, which device, where, for how long, how much traffic.

    \b
    Examples:
      citynet sessions list
      citynet sessions list --user 13800138000 --all
      citynet sessions list --mac AA-BB-CC-DD-EE-FF --all --json
      citynet sessions list --nas sw-lib-3 --port GigabitEthernet0/0/7 --all
    """
    from radius import sessions as live_sessions
    from radius.records import MAC_SPELLING

    if mac and not re.fullmatch(MAC_SPELLING, mac):
        raise click.BadParameter(_("%(mac)s is not a MAC address", mac=repr(mac)),
                                 param_hint="--mac")
    criteria: dict[str, Any] = {"who": user or "", "mac": mac or "", "ip": ip or "",
                                "nas": nas_name or "", "port": switch_port or "",
                                "stopped_too": show_all}
    with runtime.store.session() as session:
        rows, more = live_sessions.search(session, limit=limit, **criteria)
        matched = live_sessions.count(session, **criteria) if more else len(rows)
        shown = Listing("sessions", N_("%(count)s session"), N_("%(count)s sessions"),
                        SESSION_COLUMNS,
                        [live_sessions.view(r, masked=False) for r in rows], matched)
    emit(shown, fmt, more=_("raise --limit to see more"))


def _open_row(runtime: Runtime, session_id: str, nas_name: str | None) -> int:
    """The row id of the one open session with this id (on this NAS)."""
    from sqlalchemy import select

    from radius.models import RadiusSession

    with runtime.store.session() as session:
        query = select(RadiusSession.id).where(RadiusSession.session_id == session_id,
                                               RadiusSession.stopped_at.is_(None))
        if nas_name:
            query = query.where(RadiusSession.nas == nas_name)
        found = session.scalars(query).all()
        if len(found) != 1:
            raise CitynetError(
                _("%(count)s open sessions have id %(id)s; name the NAS with --nas",
                  count=len(found), id=repr(session_id)) if found else
                _("%(count)s open sessions have id %(id)s", count=0, id=repr(session_id)))
        return found[0]


def _nas_target(runtime: Runtime, session_id: str, nas_name: str | None) -> NasTarget:
    """Where and how to address an open session."""
    from radius import sessions as live_sessions
    from radius.models import RadiusSession

    row_id = _open_row(runtime, session_id, nas_name)
    with runtime.store.session() as session:
        found = session.get(RadiusSession, row_id)
        assert found is not None  # noqa: S101 - just read
        return live_sessions.target(session, runtime.box(), found)


COA_PORT = click.option("--port", type=click.IntRange(1, 65535), default=None,
                        help="The NAS's dynamic-authorization (CoA) port "
                        "[default: radius.coa_port, 3799].")


@sessions.command("kick")
@click.argument("session_id")
@click.option("--nas", "nas_name", help="The NAS, when the session id is not unique.")
@COA_PORT
@pass_runtime
def sessions_kick(runtime: Runtime, session_id: str, nas_name: str | None,
                  port: int | None) -> None:
    """Disconnect a session: a Disconnect-Request (RFC 5176) to its NAS.

    The NAS answers ACK, or NAK with a reason (e.g. Session-Context-Not-Found); no answer
    after 3 tries is an error too. The session closes when the NAS's Stop arrives.

    \b
    Example:
      citynet sessions kick 5f3a0001 --nas gw-dongmen
    """
    from radius import coa
    from radius.wire import Code

    target = _nas_target(runtime, session_id, nas_name)
    result = coa.send(target.host, target.secret, Code.DISCONNECT_REQUEST, target.identity,
                      port=port or runtime.config.section(RadiusConfig).coa_port,
                      source=coa.source_for(runtime.config.section(RadiusConfig)))
    if not result.ok:
        raise CitynetError(_("not disconnected: %(result)s", result=result.said()))
    click.echo(_("disconnected %(session)s on %(nas)s: %(result)s", session=session_id,
                 nas=target.nas, result=result.said()))


@sessions.command("bandwidth")
@click.argument("session_id")
@click.option("--up", "up_kbps", type=click.IntRange(1, 10_000_000), required=True,
              help="Upload limit, kbit/s.")
@click.option("--down", "down_kbps", type=click.IntRange(1, 10_000_000), required=True,
              help="Download limit, kbit/s.")
@click.option("--nas", "nas_name", help="The NAS, when the session id is not unique.")
@COA_PORT
@pass_runtime
def sessions_bandwidth(runtime: Runtime, session_id: str, up_kbps: int, down_kbps: int,
                       nas_name: str | None, port: int | None) -> None:
    """Change a live session's bandwidth: a CoA-Request (RFC 5176) with
    WISPr-Bandwidth-Max-Up/-Down, which CoovaChilli and most controllers apply at once.

    A NAS that takes a CoA as a whole new authorisation (CoovaChilli) is also sent the
    session's other limits as they stand — Session-Timeout, Idle-Timeout, byte cap,
    Acct-Interim-Interval — so they are kept.

    \b
    Example (2 Mbit/s up, 8 Mbit/s down):
      citynet sessions bandwidth 5f3a0001 --up 2000 --down 8000
    """
    from radius import bandwidth

    outcome = bandwidth.change(runtime.store, runtime.box(),
                               runtime.config.section(RadiusConfig),
                               _open_row(runtime, session_id, nas_name), up_kbps, down_kbps,
                               datetime.now(UTC), port)
    if outcome.refused:
        raise CitynetError(_("bandwidth not changed: %(reason)s",
                             reason=_(REFUSED[outcome.refused])))
    assert outcome.result is not None  # noqa: S101 - not refused: it was sent
    if not outcome.ok:
        raise CitynetError(_("bandwidth not changed: %(reason)s",
                             reason=outcome.result.said()))
    click.echo(_("%(session)s on %(nas)s: %(up)s kbit/s up, %(down)s kbit/s down (%(result)s)",
                 session=session_id, nas=outcome.nas, up=up_kbps, down=down_kbps,
                 result=outcome.result.said()))


REFUSED = {  # radius.bandwidth's refusals, for the CLI (msgids, said where shown)
    "no_session": N_("the session is gone"), "ended": N_("the session has ended"),
    "nas_gone": N_("the session's NAS is no longer registered"),
    "nas_network": N_("its NAS is registered as a network: a CoA needs one address"),
    "no_key": N_("NAS secrets are sealed with the secrets key, and there is none")}


@click.group()
def freeradius() -> None:
    """FreeRADIUS in front of citynet (production at scale)."""


@freeradius.command("config")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write (created if missing).")
@click.option("--api-url", "api_urls", multiple=True,
              help="citynet's rlm_rest API as FreeRADIUS reaches it (scheme, host, port); "
              "repeat it for each node, in failover order. Default: this node's "
              "(radius.rest_bind/rest_port), then the other radius.servers on rest_port.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="FreeRADIUS's address.")
@click.option("--auth-port", type=click.IntRange(1, 65535),
              help="Default: radius.auth_port (where the switch templates send).")
@click.option("--acct-port", type=click.IntRange(1, 65535),
              help="Default: radius.acct_port.")
@pass_runtime
def freeradius_config(runtime: Runtime, out: Path, api_urls: tuple[str, ...], bind: str,
                      auth_port: int | None, acct_port: int | None) -> None:
    """Write a FreeRADIUS 3.2 config directory; run it with `freeradius -d DIR`.

    Needs radius.rest_token (CITYNET_RADIUS__REST_TOKEN) set for both: FreeRADIUS
    presents it, citynet's API checks it. With the token set, `citynet serve` runs the
    API (radius.rest_port, 8812); set radius.enabled = false there so that FreeRADIUS,
    not citynet, listens on the RADIUS ports. The files hold NAS secrets: mode 0600.
    Regenerate after NAS changes.

    With two citynet nodes, FreeRADIUS calls the first API and, when it fails (down,
    timeout, 5xx), the next: a `redundant` block over one rest instance per node.

    With network admission's people or MAC bypass entries (or nac.enabled), it adds
    802.1X: the eap module (EAP-TLS, PEAP-MSCHAPv2, EAP-TTLS/PAP) with the district
    CA's files in DIR/eap, and the inner-tunnel server asking citynet about the logins
    inside PEAP and TTLS.

    A site's own rules go in DIR/site-authorize (unlang, kept when regenerating),
    run before citynet: `reject`, or `update control { &Auth-Type := Accept }`.
    citynet records what they decide (rlm_rest post-auth) like its own logins.

    \b
    Example:
      citynet freeradius config --out /etc/citynet/freeradius
      freeradius -f -d /etc/citynet/freeradius
    """
    from citynet.domains import registered
    from radius.freeradius import FrontConfig, api_urls_of, write
    from radius.nas import NasRegistry

    settings = runtime.config.section(RadiusConfig)
    # FreeRADIUS listens where citynet would (radius.enabled = false in front of it),
    # which is where the device templates point the switches
    auth_port = auth_port or settings.auth_port or 1812  # 0: a listener's any port
    acct_port = acct_port or settings.acct_port or 1813
    token = settings.rest_token.get_secret_value()
    if not token:
        raise CitynetError(_("set radius.rest_token (CITYNET_RADIUS__REST_TOKEN) first: "
                             "FreeRADIUS must authenticate to citynet's API"))
    urls = api_urls or api_urls_of(settings)
    box = runtime.box()
    with runtime.store.session() as session:
        registry = NasRegistry.load(session, box)
    # 802.1X: the eap module of the domain that has it (network admission)
    parts = [part for domain in registered() if domain.freeradius_eap is not None
             if (part := domain.freeradius_eap(runtime, out.resolve())) is not None]
    if len(parts) > 1:
        raise CitynetError(_("more than one domain contributes an eap module"))
    try:
        written = write(out, FrontConfig(tuple(urls), token, bind, auth_port, acct_port,
                                         parts[0].module if parts else None),
                        sorted(registry.entries, key=lambda e: e.name))
    except OSError as exc:
        raise CitynetError(_("cannot write %(path)s: %(error)s", path=exc.filename or out,
                             error=exc.strerror)) from None
    names = [p.name for p in written] + [str(f.relative_to(out.resolve()))
                                         for part in parts for f in part.files]
    eap = "; EAP-TLS, PEAP-MSCHAPv2, EAP-TTLS" if parts else ""
    click.echo(_("wrote %(files)s to %(out)s/ (%(count)s NAS; API %(urls)s%(eap)s); run: "
                 "freeradius -f -d %(out)s", files=", ".join(names), out=out,
                 count=len(registry), urls=", ".join(urls), eap=eap))
