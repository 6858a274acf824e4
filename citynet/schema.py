"""Every domain's tables on one MetaData — the composition point for migrations and tests."""

import importlib

from sqlalchemy import MetaData

from citynet.db import Base

# The kernel imports domain packages only where it composes them (here, the CLI root and
# the app factory); each of these modules registers its tables on Base when imported.
TABLE_MODULES = ("citynet.audit", "citynet.staff", "inventory.models", "radius.models",
                 "radius.records", "radius.vouchers", "radius.profiles", "radius.tokens",
                 "radius.remembered", "radius.retries", "portal.sms", "portal.totp",
                 "portal.merchants", "portal.consent", "monitoring.models",
                 "devices.approvals", "citynet.leader")


def all_tables() -> MetaData:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata
