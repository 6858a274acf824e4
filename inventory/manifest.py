"""The inventory's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.crypto import SecretBox
from citynet.domains import BannerLine, DemoRun, Domain, MenuEntry
from citynet.runtime import Runtime
from citynet.staff import Role

EVERY_ROLE = frozenset(Role)


def _blueprints() -> Sequence[Blueprint]:
    from inventory.api import blueprint as api
    from inventory.web import blueprint, editor

    return (blueprint, editor, api)


def _commands() -> Sequence[click.Command]:
    from inventory.cli import inventory, nas

    return (inventory, nas)


def _openapi() -> dict[str, Any]:
    from inventory.openapi import paths

    return paths()


def _demo_seed(runtime: Runtime, box: SecretBox) -> None:
    """The demo district, through the ordinary importer."""
    from citynet.db import set_meta
    from citynet.errors import CitynetError
    from inventory.demo import DEMO_MARK, raw_rows
    from inventory.importer import import_rows

    store = runtime.store
    with store.session() as session:
        outcome = import_rows(session, raw_rows(), box)
        if outcome.problems:  # the generator is ours: a problem here is a bug
            raise CitynetError(_("demo data failed its own checks: %(problem)s",
                                 problem=outcome.problems[0]))
        set_meta(session, DEMO_MARK, "罗湖区演示数据 Luohu demo district (generated)")
    created = sum(outcome.created.values())
    click.echo(_("demo district ready in %(store)s: %(created)s records created, %(there)s "
                 "already there", store=store.describe(), created=created,
                 there=sum(outcome.unchanged.values()) + sum(outcome.updated.values())))


def _demo_serve(run: DemoRun) -> None:
    run.banner += [
        BannerLine(30, _("district overview"), f"{run.base}/inventory/"),
        BannerLine(31, _("street drill-down"), f"{run.base}/inventory/streets/笋岗"),
        BannerLine(32, _("JSON summary"), f"{run.base}/inventory/summary.json"),
    ]


DOMAIN = Domain(
    name="inventory",
    blueprints=_blueprints,
    commands=_commands,
    tables=("inventory.models",),
    migrations=Path(__file__).with_name("migrations"),
    permissions={
        "inventory.read": EVERY_ROLE,
        "inventory.write": frozenset({Role.ENGINEER}),
        "nas.write": frozenset({Role.ENGINEER}),
    },
    menu=(MenuEntry("inventory.overview", "inventory.read", N_("Inventory"), 20),),
    openapi_paths=_openapi,
    translations=Path(__file__).with_name("translations"),
    demo_seed=_demo_seed,
    demo_serve=_demo_serve,
)
