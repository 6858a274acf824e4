"""Monitoring's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.domains import BannerLine, ConfigSection, DemoRun, Domain, MenuEntry
from citynet.runtime import Runtime
from citynet.server import Service
from citynet.staff import Role
from citynet.telemetry import Collector
from monitoring.settings import MonitoringConfig

READERS = frozenset({Role.ENGINEER, Role.MANAGER, Role.AUDITOR})


def _blueprints() -> Sequence[Blueprint]:
    from monitoring.web import blueprint

    return (blueprint,)


def _commands() -> Sequence[click.Command]:
    from monitoring.cli import alerts, collect, survey, targets

    return (collect, targets, survey, alerts)


def _collector_host(runtime: Runtime, extra: Sequence[Collector]) -> Service:
    """Every collector (monitoring's and ``extra``, the other domains') in a `citynet
    collect` child process."""
    from citynet.process import ChildProcess, citynet_argv
    from monitoring.service import describe

    return ChildProcess("collectors", citynet_argv(runtime.config_path, "collect"),
                        describe(runtime.config, extra))


def _openapi() -> dict[str, Any]:
    from monitoring.openapi import paths

    return paths()


def _demo_serve(run: DemoRun) -> None:
    run.banner.append(BannerLine(20, _("managers' dashboard"), f"{run.base}/dashboard/  "
                                 + _("(targets, forecasts, drill-down)")))


DOMAIN = Domain(
    name="monitoring",
    requires=("inventory", "radius"),  # hotspot use reads RADIUS's sessions and records
    blueprints=_blueprints,
    commands=_commands,
    tables=("monitoring.models",),
    migrations=Path(__file__).with_name("migrations"),
    config_sections=(ConfigSection("monitoring", MonitoringConfig, 60),),
    permissions={"dashboard.read": READERS,
                 "reports.export": frozenset({Role.MANAGER, Role.AUDITOR})},
    menu=(MenuEntry("dashboard.overview", "dashboard.read", N_("Dashboard"), 10),),
    collector_host=_collector_host,
    openapi_paths=_openapi,
    translations=Path(__file__).with_name("translations"),
    demo_serve=_demo_serve,
)
