"""Every domain's tables on one MetaData, and where each domain keeps its migrations — the
composition point for migrations and tests."""

import importlib
import importlib.util
from pathlib import Path

from sqlalchemy import MetaData

# The kernel imports domain packages only where it composes them (here, the CLI root and
# the app factory); each of these modules registers its tables on Base when imported.
TABLE_MODULES = ("citynet.audit", "citynet.staff", "inventory.models", "radius.models",
                 "radius.records", "radius.vouchers", "radius.profiles", "radius.tokens",
                 "radius.remembered", "portal.sms", "portal.totp", "portal.merchants",
                 "portal.consent", "monitoring.models", "devices.approvals",
                 "admission.models")

# The domains whose packages hold a migrations/versions folder (one Alembic branch each).
MIGRATING_DOMAINS = ("inventory", "radius", "portal", "monitoring", "devices", "admission")


def all_tables() -> MetaData:
    from citynet.db import Base  # here, so that citynet.db may import citynet.migrate

    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata


def migration_dirs() -> list[Path]:
    """Each domain's folder of migrations (its Alembic branch), found without importing
    the domain. The domain registry (issue 17) will answer this from the manifests."""
    found = []
    for name in MIGRATING_DOMAINS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"the domain package {name} is not installed")
        found.append(Path(next(iter(spec.submodule_search_locations))) / "migrations" /
                     "versions")
    return found
