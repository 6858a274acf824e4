"""The ``citynet`` command: the CLI root that composes every registered domain's commands
(citynet/domains.py), services and collectors (``_collectors``: to the collector host in
``citynet serve`` and, through the click context's meta, to ``citynet collect``)."""

from __future__ import annotations

import faulthandler
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Flask

from citynet import __version__, catalogs, crypto, languages, listings
from citynet import backup as backups
from citynet import config as config_module
from citynet.app import create_app
from citynet.catalogs import gettext as _
from citynet.config import MAX_RADIUS_LISTENERS
from citynet.crypto import SecretBox
from citynet.domains import BannerLine, Chain, DemoRun, Domain, registered
from citynet.errors import CitynetError
from citynet.roles import Parts
from citynet.roles import run as run_roles
from citynet.runtime import Runtime
from citynet.server import Service, serve_forever
from citynet.staffcli import demo_admin, demo_admin_line, staff_group
from citynet.telemetry import EXTRA_COLLECTORS, Collector

pass_runtime = click.make_pass_decorator(Runtime)


def _failure(error: CitynetError) -> click.ClickException:
    """click prints a ClickException as one line and exits with its class's exit_code."""

    class Failure(click.ClickException):
        exit_code = error.exit_code

    return Failure(error.said())


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
@click.option("--lang", type=click.Choice(languages.PORTAL_LANGUAGES),
              help="Language of the messages [default: from LC_ALL, LC_MESSAGES or LANG "
              "(zh_TW, zh_HK: zh-Hant; other zh: zh-CN), else en].")
@click.version_option(__version__, prog_name="citynet")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, lang: str | None) -> None:
    """citynet — control plane for a district's public WiFi and government network.

    \b
    First steps:
      citynet demo                 seed a demo district and run everything on loopback
      citynet db upgrade           create or migrate the store (production)
      citynet inventory import D/  load streets, buildings, hotspots, NAS, devices, targets
      citynet serve                run it: RADIUS, the web app, the collectors

    Settings come from a TOML file and CITYNET_<SECTION>__<KEY> variables;
    `citynet config show` prints what is in effect.
    """
    ctx.with_resource(catalogs.speaking(catalogs.command_language(lang, os.environ),
                                        registered()))
    ctx.obj = Runtime(config_path)
    ctx.meta[EXTRA_COLLECTORS] = _collectors()


def compose(root: click.Group, domains: Sequence[Domain]) -> click.Group:
    """``root`` with every command of ``domains`` (the registered ones for ``citynet``)."""
    for domain in domains:
        for command in domain.commands():
            root.add_command(command)
    return root


cli.add_command(staff_group)
compose(cli, registered())


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
        click.echo(_("%(store)s is up to date", store=store.describe()))
    elif single_chain:
        click.echo(_("%(store)s: from revision %(revision)s of the single chain (before "
                     "each domain had its own migrations)", store=store.describe(),
                     revision=before))
    else:
        click.echo(_("%(store)s: upgraded", store=store.describe()))
    for branch in store.branches():
        was = earlier.get(branch.name) or (before if single_chain else "empty")
        moved = branch.head if was == branch.head else f"{was} → {branch.head}"
        click.echo(f"  {branch.name:<12} {moved}")


@db.command("current")
@pass_runtime
def db_current(runtime: Runtime) -> None:
    """Show each branch's schema revision in the store and the one this citynet needs."""
    store = runtime.raw_store
    click.echo(_("store:    %(store)s", store=store.describe()))
    branches = store.branches()
    current = store.current_revision()
    if current is not None and not any(branch.current for branch in branches):
        click.echo(_("revision: %(revision)s of the single chain (run `citynet db "
                     "upgrade`)", revision=current))
    for line in listings.table(["branch", "revision", "needed"],
                               [[branch.name, branch.current or "(none)", branch.head]
                                for branch in branches]):
        click.echo(line)


# --- audit ------------------------------------------------------------------------

@cli.group()
def audit() -> None:
    """Tamper evidence of the append-only records."""


def _chains() -> list[Chain]:
    """Every hash chain: the domains' (the login records), then the kernel's audit log."""
    from citynet import audit as audit_log

    return [*(chain for domain in registered() for chain in domain.chains()),
            Chain("audit log", audit_log.verify)]


@audit.command("verify")
@pass_runtime
def audit_verify(runtime: Runtime) -> None:
    """Check the hash chains of the login records and of the audit log (device pushes,
    admin actions); exit 1 naming every edited or missing row."""
    found = 0
    with runtime.store.snapshot() as session:  # the leader's purge may run meanwhile
        for chain in _chains():
            checked, problems = chain.verify(session)
            for problem in problems:
                click.echo(f"{chain.name}: {problem}", err=True)
            found += len(problems)
            if not problems:
                click.echo(_("%(chain)s: %(count)s rows, chain intact", chain=chain.name,
                             count=checked))
    if found:
        raise CitynetError(_("%(count)s problem(s): rows were edited or deleted",
                             count=found))


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
    click.echo(_("re-sealed %(count)s secrets; %(key)s", count=count, key=what))


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
    click.echo(_("backup written to %(dest)s: %(file)s, %(size)s bytes, sha256 %(sha)s…, "
                 "schema %(revision)s", dest=dest, file=entry.name, size=entry.size,
                 sha=entry.sha256[:16], revision=manifest.schema_revision))


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
        click.confirm(_("replace everything in %(store)s with the backup of %(created)s?",
                        store=store.describe(), created=manifest.created_at), abort=True)
    backups.restore(store, src)
    click.echo(_("restored the backup of %(created)s into %(store)s",
                 created=manifest.created_at, store=store.describe()))
    if manifest.schema_revision != store.head_revision():
        click.echo(_("the backup's schema is older than this citynet: run `citynet db "
                     "upgrade`"))


# --- serve / demo -------------------------------------------------------------------

@cli.command("serve")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help="radius, web or collect (repeatable) [default: all three].")
@click.option("--parent", type=int, hidden=True,
              help="Run as a listener child of `citynet serve` (this PID).")
@click.option("--listener", type=click.IntRange(1, MAX_RADIUS_LISTENERS), metavar="N",
              help="This RADIUS listener's number on the node, 1 to 64, for a serve of "
              "one listener (a systemd unit citynet-radius@N): with radius.node it picks "
              "the login-record chain; listener 1 runs the once-per-node services.")
@pass_runtime
def serve(runtime: Runtime, roles: tuple[str, ...], parent: int | None,
          listener: int | None) -> None:
    """Run citynet in the foreground (Ctrl-C stops it): the RADIUS listener, the web app
    and the collectors, or only the roles named (docs/operations.md, roles and processes).

    \b
      citynet serve --role radius   radius.processes listeners sharing the ports
      citynet serve --role web      web.workers > 1: gunicorn with threaded workers
    """
    run_roles(runtime, roles, Parts(web_app=_web_app, radius=_services,
                                    collectors=_monitoring, ports_free=_ports_free),
              parent=parent, listener=listener)


def _web_app(runtime: Runtime) -> Flask:
    return create_app(runtime.store, runtime.config, box=runtime.box())


def _services(runtime: Runtime, box: SecretBox | None) -> list[Service]:
    """The registered domains' services (the RADIUS service when it has work)."""
    return [service for domain in registered() for service in domain.services(runtime, box)]


def _ports_free(runtime: Runtime) -> None:
    """Before the serve starts its listener processes: no other program holds the ports
    the registered domains' services share (else a CitynetError that says which)."""
    for domain in registered():
        if domain.ports_free is not None:
            domain.ports_free(runtime)


def _collectors() -> list[Collector]:
    """The collectors the registered domains give the collector host to run, and the
    kernel's own clean-up of the sign-in holds' counts."""
    from citynet.holds import ForgetWindows, SignInSource

    return [ForgetWindows("sign_in_sources", SignInSource),
            *(collector for domain in registered() for collector in domain.collectors())]


def _monitoring(runtime: Runtime) -> list[Service]:
    """The collectors, in a process of their own: their work never holds the interpreter
    lock the RADIUS listener needs (citynet/process.py); run by the domain that hosts
    them (monitoring), none when no domain does."""
    return [domain.collector_host(runtime, _collectors()) for domain in registered()
            if domain.collector_host is not None]


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
    runtime.raw_store.upgrade()
    store = runtime.store
    box = runtime.box(create=True)
    if box is None:  # made just now with create=True; the demo seals its secrets
        raise CitynetError(_("the demo needs a secrets key to seal its secrets"))
    for domain in registered():  # the district first, then what builds on it
        if domain.demo_seed is not None:
            domain.demo_seed(runtime, box)
    # issue #7: the first staff admin, its generated password printed (demo only)
    with store.session() as session:
        admin_password = demo_admin(session)
    if admin_password:
        click.echo(_("staff user admin created, password %(password)s (demo only)",
                     password=admin_password))
    if seed_only:
        return
    web = runtime.config.web
    base = f"http://{web.bind}:{web.port}"
    run = DemoRun(runtime, box, runtime.config, base,
                  hotspot_port or runtime.config.demo.hotspot_port, _services(runtime, box))
    for domain in registered():
        if domain.demo_serve is not None:
            domain.demo_serve(run)
    run.services.extend(_monitoring(runtime))
    run.banner.append(demo_admin_line(base, admin_password))  # issue #7
    serve_forever(create_app(store, run.config, box=box), web, services=run.services,
                  banner=banner_lines(run.banner))


def banner_lines(entries: list[BannerLine]) -> list[str]:
    """The demo's "what to open and try", in order, each text after the widest label."""
    widest = max((listings.width(entry.label) for entry in entries), default=0)
    return [f"  {listings.pad(entry.label, widest)} {entry.text}"
            for entry in sorted(entries, key=lambda entry: entry.order)]


def main() -> None:
    # `kill -USR1 PID` writes every thread's stack to stderr (the log): where a process
    # that does not stop, or stalls, is waiting — without stopping it
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    cli.main(prog_name="citynet")


if __name__ == "__main__":
    main()
