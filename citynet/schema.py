"""Every table on one MetaData — the composition point for migrations and tests."""

import importlib
from collections.abc import Sequence

from sqlalchemy import MetaData

from citynet.db import Base
from citynet.domains import Domain, registered

# the kernel's tables; each domain names its own in its manifest (``tables``)
KERNEL_TABLES = ("citynet.audit", "citynet.staff", "citynet.leader", "citynet.holds")


def table_modules(domains: Sequence[Domain] | None = None) -> tuple[str, ...]:
    """The modules whose import puts every table on ``Base``: the kernel's, then each
    domain's in the registry's order."""
    chosen = registered() if domains is None else domains
    return (*KERNEL_TABLES, *(module for domain in chosen for module in domain.tables))


def all_tables() -> MetaData:
    for module in table_modules():
        importlib.import_module(module)
    return Base.metadata
