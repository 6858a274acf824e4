"""The domains citynet is made of, as each declares itself in one manifest.

A domain is a top-level package with ``<domain>/manifest.py`` holding ``DOMAIN =
Domain(...)``, registered under the ``citynet.domains`` entry-point group (built-ins exactly
like a third-party domain: one line in ``pyproject.toml``). The composition roots (the app
factory, the CLI root, the schema, the OpenAPI document, the staff menu and permissions)
loop over :func:`registered`; the kernel never names a domain. Why: docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from citynet.errors import ConfigError

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from pydantic import BaseModel
    from sqlalchemy.orm import Session

    from citynet.audit import AuditEntry
    from citynet.chain import Break
    from citynet.config import Config
    from citynet.crypto import SecretBox
    from citynet.gates import Ended, LiveSession, LoginGate
    from citynet.runtime import Runtime
    from citynet.server import Service
    from citynet.staff import Role
    from citynet.telemetry import Collector
    from citynet.tunnel import EapPart, TunnelSource

GROUP = "citynet.domains"


@dataclass(frozen=True)
class MenuEntry:
    """One line of the staff menu: the page's endpoint, the permission that shows it, its
    title (an English msgid, marked ``N_()`` so it lands in the domain's catalogs and is
    shown translated); ``order`` places it among every domain's entries."""

    endpoint: str
    permission: str
    title: str
    order: int


@dataclass(frozen=True)
class ConfigSection:
    """A config section of a domain: ``[name]`` in the file, ``CITYNET_NAME__KEY`` in the
    environment, validated by ``model``; ``order`` places it among every section."""

    name: str
    model: type[BaseModel]
    order: int


@dataclass(frozen=True)
class Chain:
    """A hash-chained table ``citynet audit verify`` checks: its name for people, and the
    function returning (rows checked, problems)."""

    name: str
    verify: Callable[[Session], tuple[int, list[Break]]]


class BannerLine(NamedTuple):
    """A line of the demo's "what to open and try": ``label`` in the command's language,
    ``text`` what to open or type (and a note in the command's language). The kernel
    aligns the texts after the widest label (CJK-aware), so no domain pads by hand."""

    order: int
    label: str
    text: str


@dataclass
class DemoRun:
    """What ``citynet demo`` builds before it serves; each domain's ``demo_serve`` hook adds
    services and banner lines (:class:`BannerLine`) or swaps the config (demo-only
    settings)."""

    runtime: Runtime
    box: SecretBox
    config: Config
    base: str  # the web app's URL
    hotspot_port: int
    services: list[Service]
    banner: list[BannerLine] = field(default_factory=list)


def _none() -> tuple[()]:
    return ()


def _no_gates(config: Config) -> tuple[()]:
    return ()


def _no_services(runtime: Runtime, box: SecretBox | None) -> tuple[()]:
    return ()


@dataclass(frozen=True)
class Domain:
    """A domain's manifest: everything the composition roots take from it.

    Hooks are functions, not values, so a manifest imports nothing heavy: the web, CLI and
    collector modules load only when a composition root calls for them.
    """

    name: str
    requires: tuple[str, ...] = ()  # domains set up before this one (its imports)
    # the web: blueprints registered in order, then setup(app, config) for the rest
    blueprints: Callable[[], Sequence[Blueprint]] = _none
    setup: Callable[[Flask, Config], None] | None = None
    public_blueprints: frozenset[str] = frozenset()  # not staff pages: own CSRF, language
    commands: Callable[[], Sequence[click.Command]] = _none  # top-level `citynet` commands
    tables: tuple[str, ...] = ()  # modules whose import puts tables on citynet.db.Base
    migrations: Path | None = None  # this domain's Alembic versions directory
    translations: Path | None = None  # its gettext catalogs (<locale>/LC_MESSAGES/*.po, .mo)
    config_sections: tuple[ConfigSection, ...] = ()
    permissions: Mapping[str, frozenset[Role]] = field(default_factory=dict)  # + admin
    menu: tuple[MenuEntry, ...] = ()
    collectors: Callable[[], Sequence[Collector]] = _none  # run by the collector host
    # the one domain that runs every registered collector in a process of its own
    collector_host: Callable[[Runtime, Sequence[Collector]], Service] | None = None
    services: Callable[[Runtime, SecretBox | None], Sequence[Service]] = _no_services
    # before a serve starts listener processes that share ports: a CitynetError naming
    # the key if another program holds one (else they would join its ports unseen)
    ports_free: Callable[[Runtime], None] | None = None
    openapi_paths: Callable[[], Mapping[str, Any]] = dict  # path → OpenAPI path item
    chains: Callable[[], Sequence[Chain]] = _none
    audit_link: Callable[[AuditEntry], str | None] | None = None  # a page for an entry
    demo_seed: Callable[[Runtime, SecretBox], None] | None = None
    # a say in network logins another domain decides (citynet.gates), made for a config
    gates: Callable[[Config], Sequence[LoginGate]] = _no_gates
    # end every live network session of an identity now (citynet.gates.SessionEnder)
    end_sessions: Callable[[Runtime, str], list[Ended]] | None = None
    # the open network sessions of some login methods, and ending one of them (the staff
    # pages of a domain whose logins another domain's RADIUS holds: citynet.gates)
    live_sessions: Callable[[Runtime, tuple[str, ...], str, int],
                            list[LiveSession]] | None = None
    end_session: Callable[[Runtime, str], Ended | None] | None = None
    # network admission behind FreeRADIUS (citynet/tunnel.py): who may log in inside an
    # EAP tunnel, and the eap module (with its files, written under the given directory)
    tunnel_logins: Callable[[Runtime, SecretBox | None], TunnelSource] | None = None
    freeradius_eap: Callable[[Runtime, Path], EapPart | None] | None = None
    demo_serve: Callable[[DemoRun], None] | None = None


def ordered(domains: Iterable[Domain]) -> tuple[Domain, ...]:
    """``domains`` with each after those it requires (ties by name, so the order is the
    same on every machine); a missing or circular requirement is a start-up error."""
    pending = {domain.name: domain for domain in domains}
    done: list[Domain] = []
    placed: set[str] = set()
    for domain in pending.values():
        missing = [name for name in domain.requires if name not in pending]
        if missing:
            raise ConfigError(f"domain {domain.name} requires {missing[0]}, which is not "
                              f"registered ({GROUP} entry points)")
    while pending:
        ready = sorted(name for name, domain in pending.items()
                       if placed.issuperset(domain.requires))
        if not ready:
            raise ConfigError("domains require each other in a circle: "
                              + ", ".join(sorted(pending)))
        done.append(pending.pop(ready[0]))
        placed.add(ready[0])
    return tuple(done)


@cache
def registered() -> tuple[Domain, ...]:
    """The domains installed under the ``citynet.domains`` entry points, ordered."""
    found: dict[str, Domain] = {}
    for point in entry_points(group=GROUP):
        domain = point.load()
        if not isinstance(domain, Domain):
            raise ConfigError(f"entry point {point.name} = {point.value} is not a Domain")
        found.setdefault(domain.name, domain)  # an editable install may list one twice
    if not found:
        raise ConfigError(f"no domain is registered ({GROUP} entry points): install "
                          "citynet into its virtual environment (pip install -e .)")
    return ordered(found.values())


def permissions(domains: Sequence[Domain], kernel: Mapping[str, frozenset[Role]],
                roles: Iterable[Role], everything: Role) -> dict[Role, frozenset[str]]:
    """Each role's permissions: what the kernel and the domains grant it; ``everything``
    (the admin) has every permission there is."""
    grants = dict(kernel)
    for domain in domains:
        grants.update(domain.permissions)
    table = {role: frozenset(name for name, granted in grants.items() if role in granted)
             for role in roles}
    table[everything] = frozenset(grants)
    return table
