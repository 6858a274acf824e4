"""RADIUS's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.crypto import SecretBox
from citynet.domains import BannerLine, Chain, ConfigSection, DemoRun, Domain, MenuEntry
from citynet.gates import Ended, LiveSession
from citynet.runtime import Runtime
from citynet.server import Service
from citynet.staff import Role
from citynet.telemetry import Collector
from radius.settings import RadiusConfig, RecordsConfig

AUDITORS = frozenset({Role.AUDITOR})


def _blueprints() -> Sequence[Blueprint]:
    from radius.admin import blueprint
    from radius.session_api import blueprint as api

    return (blueprint, api)


def _commands() -> Sequence[click.Command]:
    from radius.cli import freeradius, radius, records, sessions, vouchers

    return (radius, vouchers, records, sessions, freeradius)


def _services(runtime: Runtime, box: SecretBox | None) -> Sequence[Service]:
    """The RADIUS service, when it has work (the UDP ports, or the rlm_rest API)."""
    from radius.records import listener_chain
    from radius.service import (
        RadiusService,
        login_gates,
        note_chain_writer,
        tunnel_sources,
    )

    settings = runtime.config.section(RadiusConfig)
    if not settings.has_work:
        return []
    # a login-record chain per listener process of the cluster: none waits for another's
    # commit
    chain_no = listener_chain(settings.node, runtime.listener)
    if not runtime.store.is_sqlite:  # SQLite: one node, chain 0
        note_chain_writer(runtime.store, chain_no, settings.node)
    return [RadiusService(runtime.store, box, settings, udp=settings.enabled,
                          metrics_allow=runtime.config.metrics.allow,
                          gates=login_gates(runtime.config),
                          tunnel_sources=tunnel_sources(runtime, box),
                          chain_no=chain_no, share_ports=runtime.share_ports)]


def _ports_free(runtime: Runtime) -> None:
    from radius.service import check_ports_free

    settings = runtime.config.section(RadiusConfig)
    if settings.has_work:
        check_ports_free(settings)


def _end_sessions(runtime: Runtime, identity: str) -> list[Ended]:
    from radius.sessions import end_all_of

    return end_all_of(runtime.store, runtime.box(), runtime.config.section(RadiusConfig),
                      identity)


def _live_sessions(runtime: Runtime, methods: tuple[str, ...], identity: str,
                   limit: int) -> list[LiveSession]:
    from citynet.macs import normal_mac
    from radius.records import PORT_PREFIX
    from radius.sessions import open_of

    with runtime.store.session() as session:
        return [LiveSession(str(row.id), row.identity or row.username, row.method,
                            normal_mac(row.calling_station) or row.calling_station, row.nas,
                            row.called_station.removeprefix(PORT_PREFIX)
                            if row.called_station.startswith(PORT_PREFIX) else "",
                            "" if row.called_station.startswith(PORT_PREFIX)
                            else row.called_station, row.started_at)
                for row in open_of(session, methods, identity, limit)]


def _end_session(runtime: Runtime, key: str) -> Ended | None:
    from radius.sessions import end_one

    if not (key.isascii() and key.isdigit()) or not 0 < int(key) < 2**31:  # an INTEGER id
        return None
    return end_one(runtime.store, runtime.box(), runtime.config.section(RadiusConfig),
                   int(key))


def _collectors() -> Sequence[Collector]:
    """Forgetting decided requests once no NAS can retry them, and purging records and
    sessions past retention (singleton work)."""
    from radius.retention import PurgeRetention
    from radius.retries import ForgetDecided

    return (ForgetDecided(), PurgeRetention())


def _chains() -> Sequence[Chain]:
    from radius import records

    return (Chain("login records", records.verify),)


def _openapi() -> dict[str, Any]:
    from radius.openapi import paths

    return paths()


def demo_voucher(session: Session) -> str:
    """An unused demo voucher for the banner (a batch of 20 is made when none is left),
    so a person can walk the portal at once."""
    from radius import vouchers as voucher_store

    unused = session.scalar(select(voucher_store.Voucher.code).where(
        voucher_store.Voucher.batch == "demo",
        voucher_store.Voucher.first_used_at.is_(None)).limit(1))
    if unused is None:
        unused = voucher_store.create(session, 20, 120, 2, "demo", valid_days=30)[-1].code
    return voucher_store.display(unused)


def _demo_serve(run: DemoRun) -> None:
    from inventory.demo import DEMO_NAS, DEMO_NAS_SECRET

    rad = run.config.section(RadiusConfig)
    run.banner += [
        BannerLine(40, _("demo NAS"), _("%(nas)s at 127.0.0.1, secret %(secret)r (demo only)",
                                        nas=DEMO_NAS, secret=DEMO_NAS_SECRET)),
        BannerLine(41, _("RADIUS health"), "echo 'Message-Authenticator = 0x00' | radclient "
                   f"-x {rad.bind}:{rad.auth_port} status {DEMO_NAS_SECRET}"),
        BannerLine(42, _("try also"), "citynet nas list · citynet inventory show streets"),
    ]


DOMAIN = Domain(
    name="radius",
    requires=("inventory",),
    blueprints=_blueprints,
    commands=_commands,
    tables=("radius.models", "radius.records", "radius.vouchers", "radius.profiles",
            "radius.tokens", "radius.remembered", "radius.retries"),
    migrations=Path(__file__).with_name("migrations"),
    translations=Path(__file__).with_name("translations"),
    config_sections=(ConfigSection("radius", RadiusConfig, 30),
                     ConfigSection("records", RecordsConfig, 40)),
    permissions={
        "sessions.read": frozenset({Role.ENGINEER, Role.OPERATOR}),
        "sessions.kick": frozenset({Role.OPERATOR}),
        "records.read": AUDITORS,
        "records.export": AUDITORS,
    },
    menu=(MenuEntry("radius_admin.sessions", "sessions.read", N_("Sessions"), 30),
          MenuEntry("radius_admin.records_page", "records.read", N_("Login records"), 90),
          MenuEntry("radius_admin.retention", "settings.write", N_("Retention"), 110)),
    services=_services,
    ports_free=_ports_free,
    collectors=_collectors,
    openapi_paths=_openapi,
    chains=_chains,
    end_sessions=_end_sessions,
    live_sessions=_live_sessions,
    end_session=_end_session,
    demo_serve=_demo_serve,
)
