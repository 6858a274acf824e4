"""Network admission's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
from flask import Blueprint

from admission.settings import NacConfig
from citynet.catalogs import N_
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.domains import ConfigSection, Domain, MenuEntry
from citynet.gates import LoginGate
from citynet.runtime import Runtime
from citynet.staff import Role
from citynet.telemetry import Collector
from citynet.tunnel import EapPart, TunnelSource


def _commands() -> Sequence[click.Command]:
    from admission.cli import admission

    return (admission,)


def _blueprints() -> Sequence[Blueprint]:
    from admission.web_enrol import blueprint as enrol
    from admission.web_network import blueprint  # its views and admission.web's

    return (blueprint, enrol)


def _gates(config: Config) -> Sequence[LoginGate]:
    from admission.gate import AdmissionGate

    return (AdmissionGate(config.section(NacConfig)),)


def _tunnel_logins(runtime: Runtime, box: SecretBox | None) -> TunnelSource:
    from admission.tunnel import tunnel_source

    return tunnel_source(runtime, box)


def _freeradius_eap(runtime: Runtime, out: Path) -> EapPart | None:
    from admission.tunnel import freeradius_eap

    return freeradius_eap(runtime, out)


def _collectors() -> Sequence[Collector]:
    """Forgetting the password holds' counts whose window is over (singleton work)."""
    from admission.models import PasswordFailures
    from citynet.holds import ForgetWindows

    return (ForgetWindows("password_holds", PasswordFailures),)


DOMAIN = Domain(
    name="admission",
    collectors=_collectors,
    commands=_commands,
    tables=("admission.models",),
    migrations=Path(__file__).with_name("migrations"),
    translations=Path(__file__).with_name("translations"),
    config_sections=(ConfigSection("nac", NacConfig, 75),),
    gates=_gates,
    tunnel_logins=_tunnel_logins,
    freeradius_eap=_freeradius_eap,
    blueprints=_blueprints,
    # the enrolment page is a person's, not staff's: its own CSRF token and language
    public_blueprints=frozenset({"admission_enrol"}),
    # engineers run admission; front desks see it and kick a session; auditors read it
    permissions={
        "nac.read": frozenset({Role.ENGINEER, Role.OPERATOR, Role.AUDITOR}),
        "nac.write": frozenset({Role.ENGINEER}),
        "nac.kick": frozenset({Role.ENGINEER, Role.OPERATOR}),
    },
    # one entry; the pages link to each other (people, certificates, MAC bypass, sessions)
    menu=(MenuEntry("admission_web.people_page", "nac.read", N_("Network admission"), 35),),
)
