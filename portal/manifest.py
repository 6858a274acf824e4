"""The portal's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.domains import BannerLine, ConfigSection, DemoRun, Domain, MenuEntry
from citynet.runtime import Runtime
from citynet.server import Service
from citynet.staff import Role
from portal.settings import PortalConfig

OPERATORS = frozenset({Role.OPERATOR})


def _blueprints() -> Sequence[Blueprint]:
    from portal.admin import blueprint as admin
    from portal.api import blueprint as api
    from portal.web import blueprint

    return (admin, api, blueprint)


def _setup(app: Flask, config: Config) -> None:
    from portal.web import setup

    setup(app, config)


def _commands() -> Sequence[click.Command]:
    from portal.cli import merchants, voucher_sheet
    from radius.cli import vouchers

    vouchers.add_command(voucher_sheet)  # the printable sheet, beside `vouchers create`
    return (merchants,)


def _services(runtime: Runtime, box: SecretBox | None) -> Sequence[Service]:
    """NTF_LOGOUT from Portal-protocol ACs (portal.protocol_port)."""
    from portal.acservice import AcNoticeService

    return (AcNoticeService(runtime.store, box, runtime.config),)


def _openapi() -> dict[str, Any]:
    from portal.openapi import paths

    return paths()


def _demo_serve(run: DemoRun) -> None:
    """The hotspot simulator in front of the portal (after the RADIUS listener, whose
    ports it needs), and the portal showing the SMS it sends (demo only)."""
    from inventory.demo import DEMO_NAS, DEMO_NAS_SECRET, DEMO_UAM_SECRET
    from portal.simulator import DemoHotspot
    from radius.manifest import demo_voucher
    from radius.service import RadiusService

    with run.runtime.store.session() as session:
        voucher = demo_voucher(session)
    run.config = run.config.model_copy(update={
        "portal": run.config.portal.model_copy(update={"show_outbox": True})})
    radius = next((s for s in run.services if isinstance(s, RadiusService)), None)
    if radius is not None and run.config.radius.enabled:  # it talks to the UDP listener
        run.services.append(DemoHotspot(radius, f"{run.base}/portal/", DEMO_NAS,
                                        DEMO_NAS_SECRET, DEMO_UAM_SECRET, run.hotspot_port))
    run.banner.append(BannerLine(
        10, _("captive portal"), f"http://127.0.0.1:{run.hotspot_port}/  "
        + _("(through the hotspot simulator; voucher %(voucher)s, or SMS: the code shows "
            "on the page)", voucher=voucher)))


DOMAIN = Domain(
    name="portal",
    requires=("inventory", "radius"),
    blueprints=_blueprints,
    setup=_setup,
    public_blueprints=frozenset({"portal"}),  # its own CSRF token and language picker
    commands=_commands,
    services=_services,
    tables=("portal.sms", "portal.totp", "portal.merchants", "portal.consent"),
    migrations=Path(__file__).with_name("migrations"),
    translations=Path(__file__).with_name("translations"),
    config_sections=(ConfigSection("portal", PortalConfig, 50),),
    permissions={"vouchers.write": OPERATORS, "merchants.write": OPERATORS},
    menu=(MenuEntry("portal_admin.voucher_batches", "vouchers.write", N_("Vouchers"), 40),
          MenuEntry("portal_admin.remembered_devices", "sessions.read",
                    N_("Remembered devices"), 50),
          MenuEntry("portal_admin.merchant_list", "merchants.write", N_("Merchants"), 60)),
    openapi_paths=_openapi,
    demo_serve=_demo_serve,
)
