"""``citynet inventory …`` and ``citynet nas …``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet import audit
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.crypto import SecretBox
from citynet.db import get_meta
from citynet.errors import CitynetError
from citynet.listings import Column, Listing, emit, format_options
from citynet.runtime import Runtime
from citynet.spreadsheets import Problem
from inventory import files, forms, queries
from inventory.demo import DEMO_MARK
from inventory.exporter import export
from inventory.importer import Outcome, export_row, import_rows
from inventory.kinds import (
    DEFAULT_PORTAL_PORT,
    KINDS,
    MIN_NAS_SECRET,
    PORTAL_PROTOCOLS,
    Kind,
    kind_named,
)
from inventory.models import NasClient

pass_runtime = click.make_pass_decorator(Runtime)


class ImportRejected(CitynetError):
    exit_code = 3


def _kind_option(value: str | None) -> str | None:
    """The canonical kind name for what the user typed (aliases allowed)."""
    if value is None:
        return None
    kind = kind_named(value)
    if kind is None:
        raise click.BadParameter(_("%(value)s; kinds: %(kinds)s", value=repr(value),
                                   kinds=", ".join(KINDS)))
    return kind.name


@click.group()
def inventory() -> None:
    """The source of truth: streets, communities, buildings, hotspots, APs, NAS clients,
    devices, credentials and coverage targets.

    \b
    Kinds: streets communities buildings hotspots access_points credentials nas devices
           targets
    """


@inventory.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--kind", callback=lambda _c, _p, v: _kind_option(v),
              help="Kind of the CSV rows when the file name does not say it.")
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@pass_runtime
def import_command(runtime: Runtime, paths: tuple[Path, ...], kind: str | None,
                   dry_run: bool) -> None:
    """Import CSV or YAML files (or directories of them), all or nothing.

    A CSV file holds one kind, named by the file (buildings.csv) or --kind; a YAML file
    maps kinds to lists of rows. Rows are matched by key (name, code, mac, hostname;
    metric+scope for targets): new keys are created, known ones updated. If any row is
    bad, every problem is listed as FILE:LINE: FIELD: REASON and nothing is written.

    \b
    Examples:
      citynet inventory import buildings.csv --dry-run
      citynet inventory import district/            # every .csv/.yaml in it
      citynet inventory import export.yaml
    """
    rows: list[files.RawRow] = []
    problems: list[Problem] = []
    for path in files.expand(paths):
        reading = files.read(path, kind)
        rows += reading.rows
        problems += reading.problems
    if problems:
        _reject(problems)
    store = runtime.store
    box = runtime.box(create=not dry_run)
    if box is None and dry_run:
        box = SecretBox([SecretBox.new_key()])  # a real import would make the key; so do we
    with store.session() as session:
        outcome = import_rows(session, rows, box)
        if outcome.problems:
            session.rollback()
            _reject(outcome.problems)
        if dry_run:
            session.rollback()
    click.echo(_summary(outcome, dry_run))


def _reject(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(problem.said(), err=True)
    raise ImportRejected(_("%(count)s problems; nothing was imported", count=len(problems))
                         if len(problems) > 1 else _("1 problem; nothing was imported"))


def _summary(outcome: Outcome, dry_run: bool) -> str:
    lines = [_("dry run: nothing written; an import would do this:") if dry_run
             else _("imported:")]
    for name in KINDS:
        if outcome.created[name] or outcome.updated[name] or outcome.unchanged[name]:
            lines.append(f"  {name:<14} " + _(
                "%(created)s new, %(updated)s updated, %(unchanged)s unchanged",
                created=outcome.created[name], updated=outcome.updated[name],
                unchanged=outcome.unchanged[name]))
    if len(lines) == 1:
        lines.append("  " + _("(no rows)"))
    return "\n".join(lines)


@inventory.command("export")
@click.option("--kind", "kind_names", multiple=True,
              callback=lambda _c, _p, v: [_kind_option(k) for k in v],
              help="Only this kind (repeatable). Default: every kind.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "csv"]), default="yaml",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="File (yaml, or csv of one kind) or directory (csv: one file a kind). "
                   "Default: standard output.")
@pass_runtime
def export_command(runtime: Runtime, kind_names: list[str], fmt: str,
                   out: Path | None) -> None:
    """Export the inventory; `citynet inventory import` takes the result back unchanged.

    Secrets (NAS shared secrets, device passwords) are written sealed (`sealed:…`), never
    in clear; they import back only into a store with the same secrets key.

    \b
    Examples:
      citynet inventory export > district.yaml
      citynet inventory export --format csv --out district/
      citynet inventory export --kind nas --format csv
    """
    chosen = [KINDS[name] for name in kind_names]
    with runtime.store.session() as session:
        rows = export(session, chosen or None)
    if fmt == "yaml":
        _write(out, files.write_yaml(rows))
    elif len(rows) == 1:
        [(name, kind_rows)] = rows.items()
        target = out / f"{name}.csv" if out is not None and out.is_dir() else out
        _write(target, files.write_csv(KINDS[name], kind_rows))
    else:
        if out is None:
            raise click.UsageError(_("CSV holds one kind a file: give --kind, or --out DIR"))
        out.mkdir(parents=True, exist_ok=True)
        for name, kind_rows in rows.items():
            (out / f"{name}.csv").write_text(files.write_csv(KINDS[name], kind_rows))
        click.echo(_("wrote %(count)s files to %(out)s/", count=len(rows), out=out), err=True)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_text(text)


# the count of a kind's records, of one and of several: "1 street", "3 communities"
COUNTS = {
    "streets": (N_("%(count)s street"), N_("%(count)s streets")),
    "communities": (N_("%(count)s community"), N_("%(count)s communities")),
    "buildings": (N_("%(count)s building"), N_("%(count)s buildings")),
    "hotspots": (N_("%(count)s hotspot"), N_("%(count)s hotspots")),
    "access_points": (N_("%(count)s access point"), N_("%(count)s access points")),
    "credentials": (N_("%(count)s credential"), N_("%(count)s credentials")),
    "nas": (N_("%(count)s NAS client"), N_("%(count)s NAS clients")),
    "devices": (N_("%(count)s device"), N_("%(count)s devices")),
    "targets": (N_("%(count)s target"), N_("%(count)s targets")),
}


@inventory.command("show")
@click.argument("kind", required=False, callback=lambda _c, _p, v: _kind_option(v))
@click.option("--street", help="With KIND=communities: the communities of this street.")
@format_options
@pass_runtime
def show_command(runtime: Runtime, kind: str | None, street: str | None,
                 fmt: str | None) -> None:
    """Counts of every kind, the streets/communities with fiber coverage, or every record
    of a kind (secrets only in --json/--csv, and sealed).

    \b
    Examples:
      citynet inventory show
      citynet inventory show streets
      citynet inventory show communities --street 笋岗
      citynet inventory show devices --json
    """
    with runtime.store.session() as session:
        demo = get_meta(session, DEMO_MARK)
        if demo and fmt is None:
            click.echo(_("(demo data: %(demo)s)", demo=demo), err=True)
        if kind is None:
            shown = Listing("kinds", N_("%(count)s kind"), N_("%(count)s kinds"),
                            (Column("kind"), Column("count", right=True)),
                            [{"kind": name, "count": count}
                             for name, count in queries.counts(session).items()])
        elif kind == "streets":
            shown = _areas("streets", queries.streets(session))
        elif kind == "communities" and street:
            summaries = queries.communities(session, street)
            if summaries is None:
                raise CitynetError(_("no street named %(name)s", name=repr(street)))
            shown = _areas("communities", summaries)
        else:
            shown = _records(KINDS[kind], export(session, [KINDS[kind]])[kind])
    emit(shown, fmt)


def _records(kind: Kind, rows: list[dict[str, Any]]) -> Listing:
    """A kind's records with the columns of its import files (secrets, sealed, are left
    off the table)."""
    columns = [Column(f.name, table=not f.secret) for f in kind.fields]
    return Listing(kind.name, *COUNTS[kind.name], columns, rows)


AREA_COLUMNS = (Column("name"), Column("communities", right=True),
                Column("buildings", right=True), Column("eligible", right=True),
                Column("connected", right=True),
                Column("fiber_coverage", "fiber", right=True,
                       text=lambda v: "-" if v is None else f"{v:.1f}%"),
                Column("hotspots", right=True))


def _areas(kind: str, summaries: list[queries.AreaSummary]) -> Listing:
    return Listing(kind, *COUNTS[kind], AREA_COLUMNS, [
        {**asdict(s), "fiber_coverage": None if s.fiber_coverage is None
         else round(s.fiber_coverage, 2)} for s in summaries])


# --- nas ----------------------------------------------------------------------------

@click.group()
def nas() -> None:
    """RADIUS clients (NAS): the controllers, APs and gateways allowed to ask citynet."""


NAS_OPTIONS = {"address": "--ip", "secret": "--secret", "hotspots": "--hotspot",
               "vendor": "--vendor", "policy": "--policy", "name": "NAME",
               "uam_secret": "--uam-secret", "portal_login_url": "--portal-login-url",
               "portal_protocol": "--portal-protocol", "portal_port": "--portal-port",
               "portal_secret": "--portal-secret", "portal_parameters": "--portal-parameters"}
PORTAL_PROTOCOL = click.option(
    "--portal-protocol", type=click.Choice(PORTAL_PROTOCOLS),
    help="Huawei/H3C/Ruijie ACs: the Portal protocol the AC speaks with the portal.")
PORTAL_PORT = click.option(
    "--portal-port", type=click.IntRange(1, 65535),
    help=f"The AC's Portal-protocol UDP port (default {DEFAULT_PORTAL_PORT}).")
PORTAL_SECRET = click.option(
    "--portal-secret", help="The Portal protocol's shared key (huawei-v2 needs one; `nas "
    "add` makes one if none is given, `nas set --prompt-portal-secret` asks for it).")
PORTAL_PARAMETERS = click.option(
    "--portal-parameters", metavar="ROLE=NAME,…",
    help="The AC's redirect parameter names where they differ from its vendor's, e.g. "
    "user_ip=ip,ac_ip=acip (roles: user_ip, ac_ip, ac_name, user_mac, url, ssid).")
ALLOW_SHORT_SECRET = click.option(
    "--allow-short-secret", is_flag=True,
    help=f"Accept a shared secret shorter than {MIN_NAS_SECRET} characters (old gear only).")


@nas.command("add")
@click.argument("name")
@click.option("--ip", required=True, help="IP address or CIDR network the requests come from.")
@click.option("--secret", help="Shared secret (asked for if not given, so it stays out of "
              "history; made and shown once if standard input gives none).")
@click.option("--vendor", default="other", show_default=True,
              help="coovachilli, huawei, h3c, ruijie, cisco, mikrotik or other")
@click.option("--hotspot", "hotspots", multiple=True, help="Hotspot it serves (repeatable).")
@click.option("--policy", default="default", show_default=True, help="Policy profile name.")
@click.option("--message-authenticator", type=click.Choice(["require", "off"]),
              default="require", show_default=True,
              help="off only for legacy gear that cannot sign (Blast-RADIUS risk).")
@click.option("--uam-secret", default=None,
              help="CoovaChilli's uamsecret, for the captive portal (signs its redirects).")
@click.option("--portal-login-url", default=None,
              help="Controllers with their own web-auth: where the portal posts the login.")
@PORTAL_PROTOCOL
@PORTAL_PORT
@PORTAL_SECRET
@PORTAL_PARAMETERS
@ALLOW_SHORT_SECRET
@pass_runtime
def nas_add(runtime: Runtime, name: str, ip: str, secret: str, vendor: str,
            hotspots: tuple[str, ...], policy: str, message_authenticator: str,
            uam_secret: str | None, portal_login_url: str | None,
            portal_protocol: str | None, portal_port: int | None, portal_secret: str | None,
            portal_parameters: str | None, allow_short_secret: bool) -> None:
    """Register a NAS. Its name is the NAS-Identifier it sends (CoovaChilli: radiusnasid).

    Refused when its address overlaps another NAS's (a request must name one NAS), or
    when the secret is shorter than 16 characters (unless --allow-short-secret).

    \b
    Examples:
      citynet nas add gw-dongmen --ip 10.20.0.1 --vendor huawei --hotspot 东门步行街
      citynet nas add ac-luohu --ip 10.20.0.2 --vendor huawei \\
          --portal-protocol huawei-v2 --portal-port 2000 --portal-secret 'key on the AC'
    """
    if portal_protocol and portal_port is None:
        portal_port = DEFAULT_PORTAL_PORT
    made = made_key = None
    if secret is None:
        secret = _given_secret()
    if secret is None:
        secret = made = token_urlsafe(24)
    if portal_protocol == "huawei-v2" and portal_secret is None:  # v2 signs with a key
        portal_secret = made_key = token_urlsafe(12)  # 16 characters, 96 bits
    given = {"name": name, "address": ip, "secret": secret, "vendor": vendor,
             "policy": policy, "hotspots": list(hotspots),
             "message_authenticator": message_authenticator, "uam_secret": uam_secret,
             "portal_login_url": portal_login_url, "portal_protocol": portal_protocol,
             "portal_port": portal_port, "portal_secret": portal_secret,
             "portal_parameters": portal_parameters,
             "allow_short_secret": allow_short_secret or None}
    # an option not given is a column left out, not the text "None"
    with runtime.store.session() as session:
        if session.scalar(select(NasClient.id).where(NasClient.name == name)) is not None:
            raise CitynetError(_("a NAS named %(name)s exists; change it with `citynet nas "
                                 "set`", name=repr(name)))
        _store_nas(session, runtime.box(create=True), name, None,
                   {key: value for key, value in given.items() if value is not None})
    click.echo(_("added NAS %(name)s (%(ip)s)", name=name, ip=ip))
    if made is not None:
        click.echo(_("its shared secret, made for it (shown once: set the same on the NAS): "
                     "%(secret)s", secret=made))
    if made_key is not None:
        click.echo(_("its Portal key, made for it (shown once: set the same on the AC's "
                     "portal server): %(key)s", key=made_key))


def _given_secret() -> str | None:
    """The shared secret asked for (hidden, twice) at a terminal; otherwise the first line
    of standard input (a second, if any, must match it) — None when it gives none, as a
    script run with nothing to read does: `nas add` then makes a strong one."""
    if sys.stdin.isatty():
        return str(click.prompt(_("Secret"), hide_input=True, confirmation_prompt=True))
    lines = [line for line in sys.stdin.read().splitlines() if line]
    if not lines:
        return None
    if len(lines) > 1 and lines[1] != lines[0]:
        raise CitynetError(_("the two secrets given do not match"))
    return lines[0]


@nas.command("set")
@click.argument("name")
@click.option("--ip", help="New IP address or CIDR network.")
@click.option("--secret", help="New shared secret (or --prompt, to keep it out of history).")
@click.option("--prompt", "prompt_secret", is_flag=True,
              help="Ask for the new shared secret (hidden, twice).")
@click.option("--prompt-portal-secret", "prompt_portal_secret", is_flag=True,
              help="Ask for the new Portal key (hidden, twice).")
@click.option("--vendor", help="coovachilli, huawei, h3c, ruijie, cisco, mikrotik or other")
@click.option("--hotspot", "hotspots", multiple=True,
              help="Hotspot it serves (repeatable; replaces the list).")
@click.option("--policy", help="Policy profile name.")
@click.option("--message-authenticator", type=click.Choice(["require", "off"]),
              help="off only for legacy gear that cannot sign (Blast-RADIUS risk).")
@click.option("--uam-secret", help="CoovaChilli's uamsecret.")
@click.option("--portal-login-url", help="Where the portal posts the login.")
@PORTAL_PROTOCOL
@PORTAL_PORT
@PORTAL_SECRET
@PORTAL_PARAMETERS
@ALLOW_SHORT_SECRET
@pass_runtime
def nas_set(runtime: Runtime, name: str, ip: str | None, secret: str | None,
            prompt_secret: bool, prompt_portal_secret: bool, vendor: str | None,
            hotspots: tuple[str, ...],
            policy: str | None, message_authenticator: str | None, uam_secret: str | None,
            portal_login_url: str | None, portal_protocol: str | None,
            portal_port: int | None, portal_secret: str | None,
            portal_parameters: str | None, allow_short_secret: bool) -> None:
    """Change a NAS: options not given keep their value. Checked like `nas add`, and
    written to the audit log (secrets only as "changed"). The RADIUS service picks the
    change up within radius.nas_refresh_seconds; regenerate `citynet freeradius config`
    if you use it.

    \b
    Examples:
      citynet nas set gw-dongmen --prompt                # a new shared secret
      citynet nas set ac-luohu --prompt-portal-secret    # a new Portal key
      citynet nas set gw-dongmen --ip 10.20.0.2 --policy library
    """
    if secret is not None and prompt_secret:
        raise click.UsageError(_("give --secret or --prompt, not both"))
    if portal_secret is not None and prompt_portal_secret:
        raise click.UsageError(_("give --portal-secret or --prompt-portal-secret, not both"))
    if prompt_secret:
        secret = click.prompt(_("New secret"), hide_input=True, confirmation_prompt=True)
    if prompt_portal_secret:
        portal_secret = click.prompt(_("New Portal key"), hide_input=True,
                                     confirmation_prompt=True)
    given = {"address": ip, "secret": secret, "vendor": vendor, "policy": policy,
             "hotspots": list(hotspots) or None, "message_authenticator": message_authenticator,
             "uam_secret": uam_secret, "portal_login_url": portal_login_url,
             "portal_protocol": portal_protocol, "portal_port": portal_port,
             "portal_secret": portal_secret, "portal_parameters": portal_parameters}
    changes: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if not changes:
        raise click.UsageError(_("nothing to change: give at least one option"))
    with runtime.store.session() as session:
        client = session.scalar(select(NasClient).where(NasClient.name == name))
        if client is None:
            raise CitynetError(_("no NAS named %(name)s (see `citynet nas list`)",
                                 name=repr(name)))
        if allow_short_secret:
            changes["allow_short_secret"] = True
        sealing = secret is not None or bool(uam_secret) or bool(portal_secret)
        changed = _store_nas(session, runtime.box(create=sealing),
                             name, client, changes)
    click.echo(_("NAS %(name)s: %(fields)s changed", name=name,
                 fields=", ".join(sorted(changed))) if changed
               else _("NAS %(name)s: nothing changed", name=name))


def _store_nas(session: Session, box: SecretBox | None, name: str, client: NasClient | None,
               changes: dict[str, Any]) -> dict[str, Any]:
    """Create (client None) or change a NAS through the importer's checks, and audit what
    changed, in one transaction; what changed (secrets only as "changed")."""
    kind = KINDS["nas"]
    before = export_row(kind, client) if client is not None else None
    data = {**(forms.cells(before) if before is not None else {}), **changes, "name": name}
    outcome = import_rows(session, [files.RawRow(f"nas {'set' if client else 'add'}", 0, kind,
                                                 data)], box)
    if outcome.problems:
        session.rollback()
        raise CitynetError("; ".join(
            f"{NAS_OPTIONS.get(p.field, p.field)}: {_(p.reason, **p.values)}"
            for p in outcome.problems))
    after = session.scalar(select(NasClient).where(NasClient.name == name))
    changed = forms.changes(kind, before, export_row(kind, after))
    if changed:
        audit.record(session, audit.Action("inventory.create" if client is None
                                           else "inventory.edit", f"nas:{name}", "ok",
                                           detail={"changed": changed}))
    return changed


NAS_COLUMNS = (Column("name"), Column("address"), Column("vendor"), Column("policy"),
               Column("message_authenticator", "msg-auth"), Column("portal"),
               Column("hotspots"))


@nas.command("list")
@format_options
@pass_runtime
def nas_list(runtime: Runtime, fmt: str | None) -> None:
    """List the NAS clients (secrets are never shown)."""
    with runtime.store.session() as session:
        clients = session.scalars(select(NasClient).order_by(NasClient.name)).all()
        shown = Listing("nas", *COUNTS["nas"], NAS_COLUMNS, [
            {"name": c.name, "address": c.address, "vendor": c.vendor,
             "policy": c.policy, "message_authenticator": c.message_authenticator,
             "portal": f"{c.portal_protocol}:{c.portal_port}" if c.portal_protocol else "",
             "hotspots": [h.name for h in c.hotspots]} for c in clients])
    emit(shown, fmt, empty=_("(no NAS clients: add one with `citynet nas add`)"))


@nas.command("remove")
@click.argument("name")
@pass_runtime
def nas_remove(runtime: Runtime, name: str) -> None:
    """Remove a NAS; its requests are dropped from then on."""
    with runtime.store.session() as session:
        client = session.scalar(select(NasClient).where(NasClient.name == name))
        if client is None:
            raise CitynetError(_("no NAS named %(name)s (see `citynet nas list`)",
                                 name=repr(name)))
        audit.record(session, audit.Action("inventory.delete", f"nas:{name}", "ok", detail={
            "changed": forms.changes(KINDS["nas"], export_row(KINDS["nas"], client), None)}))
        session.delete(client)
    click.echo(_("removed NAS %(name)s", name=name))
