"""Every domain's tables on one MetaData — the composition point for migrations and tests."""

from sqlalchemy import MetaData

from citynet.db import Base


def all_tables() -> MetaData:
    # The kernel imports domain packages only where it composes them (here, the CLI root
    # and the app factory); each domain module registers its tables on Base when imported.
    import inventory.models  # noqa: F401
    import radius.models
    import radius.vouchers  # noqa: F401

    return Base.metadata
