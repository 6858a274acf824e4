"""The devices' manifest: what they give citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint

from citynet.audit import AuditEntry
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.crypto import SecretBox
from citynet.domains import BannerLine, ConfigSection, DemoRun, Domain, MenuEntry
from citynet.runtime import Runtime
from citynet.staff import Role
from citynet.telemetry import Collector
from devices.settings import DevicesConfig

ENGINEERS = frozenset({Role.ENGINEER})


def _blueprints() -> Sequence[Blueprint]:
    from devices.api import blueprint as api
    from devices.jobs import blueprint as jobs
    from devices.web import blueprint

    return (blueprint, jobs, api)


def _commands() -> Sequence[click.Command]:
    from devices.cli import devices

    return (devices,)


def _collectors() -> Sequence[Collector]:
    from devices.state import DeviceStateCollector

    return (DeviceStateCollector(),)


def _openapi() -> dict[str, Any]:
    from devices.openapi import paths

    return paths()


def _audit_link(entry: AuditEntry) -> str | None:
    from devices.jobs import link

    return link(entry)


def _demo_seed(runtime: Runtime, box: SecretBox) -> None:
    """The demo's devices exist nowhere: their shipped running configs become their first
    backups, so `devices plan --from-backup` shows a diff."""
    from devices.demo import seed_backups

    with runtime.store.session() as session:
        stored = seed_backups(session, runtime.config, box)
    if stored:
        click.echo(_("%(count)s device configs shipped with the demo stored as their first "
                     "backup (citynet devices plan --from-backup)", count=stored))


def _demo_serve(run: DemoRun) -> None:
    run.banner.append(BannerLine(
        50, _("device plan"), "citynet devices plan --from-backup luohu-core-01  "
        + _("(against the configs shipped with the demo)")))


DOMAIN = Domain(
    name="devices",
    requires=("inventory",),
    blueprints=_blueprints,
    commands=_commands,
    tables=("devices.approvals",),
    migrations=Path(__file__).with_name("migrations"),
    translations=Path(__file__).with_name("translations"),
    config_sections=(ConfigSection("devices", DevicesConfig, 70),),
    permissions={"devices.read": ENGINEERS, "devices.push": ENGINEERS,
                 "devices.approve": ENGINEERS},
    menu=(MenuEntry("devices_web.changes", "devices.read", N_("Change requests"), 70),
          MenuEntry("device_jobs.listing", "devices.read", N_("Device jobs"), 80)),
    collectors=_collectors,
    openapi_paths=_openapi,
    audit_link=_audit_link,
    demo_seed=_demo_seed,
    demo_serve=_demo_serve,
)
