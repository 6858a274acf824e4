"""The ``citynet`` command: the CLI root that composes every domain's commands, and the
collectors other domains give monitoring (``_collectors``: to ``citynet serve`` and, through
the click context's meta, to ``citynet collect``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from admission.cli import admission
from citynet import __version__, crypto, listings
from citynet import backup as backups
from citynet import config as config_module
from citynet.app import create_app
from citynet.crypto import SecretBox
from citynet.db import set_meta
from citynet.errors import CitynetError
from citynet.process import ChildProcess, citynet_argv
from citynet.runtime import Runtime
from citynet.server import Service, serve_forever
from citynet.staffcli import demo_admin, demo_admin_line, staff_group
from citynet.telemetry import Collector
from devices.cli import devices
from inventory.cli import inventory, nas
from monitoring.cli import EXTRA_COLLECTORS, alerts, collect, survey, targets
from portal.cli import merchants, voucher_sheet
from radius.cli import audit, freeradius, radius, records, sessions, vouchers

pass_runtime = click.make_pass_decorator(Runtime)


def _failure(error: CitynetError) -> click.ClickException:
    """click prints a ClickException as one line and exits with its class's exit_code."""

    class Failure(click.ClickException):
        exit_code = error.exit_code

    return Failure(str(error))


class Root(click.Group):
    """Turns a CitynetError anywhere below into one readable line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CitynetError as exc:
            raise _failure(exc) from None
        finally:
            if isinstance(ctx.obj, Runtime):
                ctx.obj.close()


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="CITYNET_CONFIG", help="TOML config file (or CITYNET_CONFIG).")
@click.version_option(__version__, prog_name="citynet")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """citynet — control plane for a district's public WiFi and government network.

    \b
    First steps:
      citynet demo                 seed a demo district and run everything on loopback
      citynet db upgrade           create or migrate the store (production)
      citynet inventory import D/  load streets, buildings, hotspots, NAS, devices, targets
      citynet serve                run the web app

    Settings come from a TOML file and CITYNET_<SECTION>__<KEY> variables;
    `citynet config show` prints what is in effect.
    """
    ctx.obj = Runtime(config_path)
    ctx.meta[EXTRA_COLLECTORS] = _collectors()


cli.add_command(inventory)
cli.add_command(nas)
cli.add_command(radius)
vouchers.add_command(voucher_sheet)  # the portal's printable sheet, beside `create`
cli.add_command(vouchers)
cli.add_command(records)
cli.add_command(audit)
cli.add_command(sessions)
cli.add_command(freeradius)
cli.add_command(merchants)
cli.add_command(devices)
cli.add_command(collect)
cli.add_command(targets)
cli.add_command(survey)
cli.add_command(alerts)
cli.add_command(staff_group)
cli.add_command(admission)


# --- config -------------------------------------------------------------------------

@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@pass_runtime
def config_show(runtime: Runtime) -> None:
    """Print the effective configuration (file + environment), secrets masked."""
    for section, values in config_module.effective(runtime.config).items():
        if isinstance(values, dict):
            click.echo(f"[{section}]")
            for key, value in values.items():
                click.echo(f"{key} = {json.dumps(value, ensure_ascii=False)}")
            click.echo()
        else:
            click.echo(f"{section} = {json.dumps(values, ensure_ascii=False)}\n")


@config.command("reference")
def config_reference() -> None:
    """Print every setting as a Markdown table (key, variable, default, meaning)."""
    click.echo(reference_table())


def reference_table() -> str:
    lines = ["| key | environment variable | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{key}` | `{env}` | `{default}` | {description} |"
              for key, env, default, description in config_module.reference()]
    return "\n".join(lines)


# --- db -----------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@pass_runtime
def db_upgrade(runtime: Runtime) -> None:
    """Create the schema or apply pending migrations (safe to run again)."""
    store = runtime.raw_store
    earlier = {branch.name: branch.current for branch in store.branches()}
    before, after = store.upgrade()
    single_chain = before is not None and not any(earlier.values())
    if before == after:
        click.echo(f"{store.describe()} is up to date")
    elif single_chain:
        click.echo(f"{store.describe()}: from revision {before} of the single chain "
                   "(before each domain had its own migrations)")
    else:
        click.echo(f"{store.describe()}: upgraded")
    for branch in store.branches():
        was = earlier.get(branch.name) or (before if single_chain else "empty")
        moved = branch.head if was == branch.head else f"{was} → {branch.head}"
        click.echo(f"  {branch.name:<12} {moved}")


@db.command("current")
@pass_runtime
def db_current(runtime: Runtime) -> None:
    """Show each branch's schema revision in the store and the one this citynet needs."""
    store = runtime.raw_store
    click.echo(f"store:    {store.describe()}")
    branches = store.branches()
    current = store.current_revision()
    if current is not None and not any(branch.current for branch in branches):
        click.echo(f"revision: {current} of the single chain (run `citynet db upgrade`)")
    for line in listings.table(["branch", "revision", "needed"],
                               [[branch.name, branch.current or "(none)", branch.head]
                                for branch in branches]):
        click.echo(line)


# --- secrets ------------------------------------------------------------------------

@cli.group()
def secrets() -> None:
    """The key that seals NAS secrets, device passwords and TOTP seeds at rest."""


@secrets.command("rotate")
@pass_runtime
def secrets_rotate(runtime: Runtime) -> None:
    """Re-encrypt every stored secret under a new key.

    With a key file, a new key is generated and the old one retired to a dated file
    (keep it to open older backups). With CITYNET_SECRETS__KEY, put the new key first
    (new,old), run this, then drop the old key.
    """
    count, what = crypto.rotate(runtime.config, runtime.store)
    click.echo(f"re-sealed {count} secrets; {what}")


# --- backup / restore ---------------------------------------------------------------

@cli.command("backup")
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new directory for this backup.")
@pass_runtime
def backup_command(runtime: Runtime, dest: Path) -> None:
    """Write a consistent online snapshot of the store with a checksummed manifest.

    Safe while citynet runs. Ship the directory to the second site (docs/operations.md);
    the secrets key is not in it — back that up separately.
    """
    manifest = backups.backup(runtime.store, dest)
    [entry] = manifest.files
    click.echo(f"backup written to {dest}: {entry.name}, {entry.size} bytes, "
               f"sha256 {entry.sha256[:16]}…, schema {manifest.schema_revision}")


@cli.command("restore")
@click.option("--from", "src", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A directory written by `citynet backup`.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store.")
@pass_runtime
def restore_command(runtime: Runtime, src: Path, yes: bool) -> None:
    """Replace the store with a backup, after checking every checksum. Stop citynet first."""
    manifest = backups.verify(src)
    store = runtime.raw_store
    if not yes:
        click.confirm(f"replace everything in {store.describe()} with the backup of "
                      f"{manifest.created_at}?", abort=True)
    backups.restore(store, src)
    click.echo(f"restored the backup of {manifest.created_at} into {store.describe()}")
    if manifest.schema_revision != store.head_revision():
        click.echo("the backup's schema is older than this citynet: run `citynet db upgrade`")


# --- serve / demo -------------------------------------------------------------------

@cli.command("serve")
@pass_runtime
def serve(runtime: Runtime) -> None:
    """Run citynet's web app in the foreground (Ctrl-C stops it)."""
    box = runtime.box()  # a missing or wrong secrets key stops start-up here
    serve_forever(create_app(runtime.store, runtime.config, box=box), runtime.config.web,
                  banner=[], services=[*_services(runtime, box), _monitoring(runtime)])


def _services(runtime: Runtime, box: SecretBox | None) -> list[Service]:
    from radius.service import RadiusService

    radius = runtime.config.radius
    return [RadiusService(runtime.store, box, radius, udp=radius.enabled)
            ] if radius.has_work else []


def _collectors() -> list[Collector]:
    """Collectors of domains other than monitoring, for monitoring to run."""
    from devices.state import DeviceStateCollector

    return [DeviceStateCollector()]


def _monitoring(runtime: Runtime) -> Service:
    """The collectors, in a process of their own: their work never holds the interpreter
    lock the RADIUS listener needs (citynet/process.py)."""
    from monitoring.service import describe

    return ChildProcess("collectors", citynet_argv(runtime.config_path, "collect"),
                        describe(runtime.config, _collectors()))


@cli.command("demo")
@click.option("--seed-only", is_flag=True, help="Seed the demo district and exit.")
@click.option("--hotspot-port", type=click.IntRange(1, 65535), default=None,
              help="Port of the hotspot simulator (CoovaChilli's UAM port) "
              "[default: demo.hotspot_port, 3990].")
@pass_runtime
def demo(runtime: Runtime, seed_only: bool, hotspot_port: int | None) -> None:
    """Seed a demo Luohu district into the embedded store and run citynet on loopback,
    with a hotspot simulator in front of the captive portal.

    Seeding is idempotent: run it again and nothing changes. Everything it creates is
    labelled demo data. SMS codes go to an outbox file and are shown on the portal
    (demo only).

    \b
    Every port it opens is a setting, so another instance or program can keep its own:
      CITYNET_WEB__PORT=8081 CITYNET_DEMO__HOTSPOT_PORT=3991 \\
      CITYNET_RADIUS__AUTH_PORT=11812 CITYNET_RADIUS__ACCT_PORT=11813 citynet demo
    """
    from inventory.demo import (
        DEMO_MARK,
        DEMO_NAS,
        DEMO_NAS_SECRET,
        DEMO_UAM_SECRET,
        raw_rows,
    )
    from inventory.importer import import_rows
    from portal.simulator import DemoHotspot

    runtime.raw_store.upgrade()
    store = runtime.store
    box = runtime.box(create=True)
    with store.session() as session:
        outcome = import_rows(session, raw_rows(), box)
        if outcome.problems:  # the generator is ours: a problem here is a bug
            raise CitynetError("demo data failed its own checks: " + str(outcome.problems[0]))
        set_meta(session, DEMO_MARK, "罗湖区演示数据 Luohu demo district (generated)")
    created = sum(outcome.created.values())
    click.echo(f"demo district ready in {store.describe()}: {created} records created, "
               f"{sum(outcome.unchanged.values()) + sum(outcome.updated.values())} already there")
    _demo_device_configs(runtime, box)
    # issue #7: the first staff admin, its generated password printed (demo only)
    with store.session() as session:
        admin_password = demo_admin(session)
    if admin_password:
        click.echo(f"staff user admin created, password {admin_password} (demo only)")
    if seed_only:
        return
    with store.session() as session:
        voucher = _demo_voucher(session)
    web, rad = runtime.config.web, runtime.config.radius
    hotspot_port = hotspot_port or runtime.config.demo.hotspot_port
    base = f"http://{web.bind}:{web.port}"
    config = runtime.config.model_copy(update={
        "portal": runtime.config.portal.model_copy(update={"show_outbox": True})})
    services = _services(runtime, box)
    if services and rad.enabled:  # the hotspot simulator talks to the UDP listener
        services.append(DemoHotspot(services[0], f"{base}/portal/", DEMO_NAS, DEMO_NAS_SECRET,
                                    DEMO_UAM_SECRET, hotspot_port))
    services.append(_monitoring(runtime))
    serve_forever(create_app(store, config, box=box), web, services=services, banner=[
        f"  captive portal      http://127.0.0.1:{hotspot_port}/  (through the hotspot "
        "simulator; voucher " + voucher + ", or SMS: the code shows on the page)",
        f"  managers' dashboard {base}/dashboard/  (targets, forecasts, drill-down)",
        f"  district overview   {base}/inventory/",
        f"  street drill-down   {base}/inventory/streets/笋岗",
        f"  JSON summary        {base}/inventory/summary.json",
        f"  demo NAS            {DEMO_NAS} at 127.0.0.1, secret {DEMO_NAS_SECRET!r} (demo only)",
        f"  RADIUS health       echo 'Message-Authenticator = 0x00' | radclient "
        f"-x {rad.bind}:{rad.auth_port} status {DEMO_NAS_SECRET}",
        "  try also            citynet nas list · citynet inventory show streets",
        "  device plan         citynet devices plan --from-backup luohu-core-01  (against "
        "the configs shipped with the demo)",
        demo_admin_line(base, admin_password),  # issue #7
    ])


def _demo_device_configs(runtime: Runtime, box: SecretBox | None) -> None:
    """The demo's devices exist nowhere: their shipped running configs become their first
    backups, so `devices plan --from-backup` shows a diff."""
    from devices.demo import seed_backups

    if box is None:  # made above with create=True; sealed backups need it
        raise CitynetError("the demo needs a secrets key to keep device configs")
    with runtime.store.session() as session:
        stored = seed_backups(session, runtime.config, box)
    if stored:
        click.echo(f"{stored} device configs shipped with the demo stored as their first "
                   "backup (citynet devices plan --from-backup)")


def _demo_voucher(session: Session) -> str:
    """An unused demo voucher for the banner (a batch of 20 is made when none is left),
    so a person can walk the portal at once."""
    from radius import vouchers as voucher_store

    unused = session.scalar(select(voucher_store.Voucher.code).where(
        voucher_store.Voucher.batch == "demo",
        voucher_store.Voucher.first_used_at.is_(None)).limit(1))
    if unused is None:
        unused = voucher_store.create(session, 20, 120, 2, "demo", valid_days=30)[-1].code
    return voucher_store.display(unused)


def main() -> None:
    cli.main(prog_name="citynet")


if __name__ == "__main__":
    main()
