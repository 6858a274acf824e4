"""Schema versions: one Alembic branch per domain, and the bridge from the single chain.

The kernel's branch lives in ``citynet/migrations/versions``, each domain's in
``<domain>/migrations/versions``; a store is current when it carries every branch's head.
A store from before the split carries the single chain's ``0019`` (or older): it is
brought to 0019 by the frozen chain, then restamped at each branch's first revision,
which builds exactly what 0019 left. docs/architecture.md, "Migrations", says why.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, insert

from citynet.domains import Domain, registered

MIGRATIONS = Path(__file__).with_name("migrations")
LEGACY = MIGRATIONS / "legacy"  # the single chain 0001–0019, frozen
LEGACY_HEAD = "0019"
# set in a branch's first revision: it builds what LEGACY_HEAD left of that branch's tables
STANDS_FOR = "stands_for"


def migration_dirs(domains: Sequence[Domain] | None = None) -> list[Path]:
    """Each registered domain's folder of migrations (its Alembic branch)."""
    chosen = registered() if domains is None else domains
    return [domain.migrations / "versions" for domain in chosen if domain.migrations]


@dataclass(frozen=True)
class Branch:
    """Where one branch is: the store's revision (None: not there yet) and the head."""

    name: str
    current: str | None
    head: str


def settings(engine: Engine, *, legacy: bool = False) -> AlembicConfig:
    """Alembic's settings for ``engine``: every branch's folder, or the frozen chain."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    if legacy:
        cfg.set_main_option("script_location", str(LEGACY))
    else:
        cfg.set_main_option("script_location", str(MIGRATIONS))
        folders = [MIGRATIONS / "versions", *migration_dirs()]
        cfg.set_main_option("version_locations", os.pathsep.join(map(str, folders)))
    cfg.attributes["engine"] = engine
    return cfg


def scripts(engine: Engine, *, legacy: bool = False) -> ScriptDirectory:
    return ScriptDirectory.from_config(settings(engine, legacy=legacy))


def heads(engine: Engine) -> frozenset[str]:
    """The revisions a current store carries: the head of every branch."""
    return frozenset(scripts(engine).get_heads())


def applied(connection: Connection) -> frozenset[str]:
    """The revisions the store carries (empty: no schema yet)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def shown(revisions: frozenset[str]) -> str | None:
    """One string for a set of revisions (in backup manifests and messages)."""
    return ",".join(sorted(revisions)) or None


def is_legacy(engine: Engine, revisions: frozenset[str]) -> bool:
    """Is this a store from before the split (one revision of the frozen chain)?"""
    return len(revisions) == 1 and _known(scripts(engine, legacy=True), next(iter(revisions)))


def unknown(engine: Engine, revisions: frozenset[str]) -> list[str]:
    """The revisions that neither the branches nor the frozen chain know (a newer citynet)."""
    branches, legacy = scripts(engine), scripts(engine, legacy=True)
    return sorted(rev for rev in revisions if not (_known(branches, rev)
                                                   or _known(legacy, rev)))


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(engine: Engine) -> None:
    """Bring the store to every branch's head; a store from before the split first
    reaches 0019 by the frozen chain and is restamped (no table touched)."""
    with engine.connect() as connection:
        found = applied(connection)
    if is_legacy(engine, found):
        if found != {LEGACY_HEAD}:
            command.upgrade(settings(engine, legacy=True), LEGACY_HEAD)
        bridge(engine)
    command.upgrade(settings(engine), "heads")


def starting_points(script: ScriptDirectory) -> list[str]:
    """The first revision of each branch that stands for what 0019 built."""
    return sorted(rev.revision for rev in script.walk_revisions()
                  if getattr(rev.module, STANDS_FOR, None) == LEGACY_HEAD)


def bridge(engine: Engine) -> list[str]:
    """Restamp a store at 0019 at the first revision of every branch that 0019 covers:
    one transaction on the version table, nothing else. Returns the new revisions."""
    points = starting_points(scripts(engine))
    with engine.begin() as connection:
        if applied(connection) != {LEGACY_HEAD}:
            raise CommandError(f"only a store at {LEGACY_HEAD} is restamped")
        connection.execute(delete(_VERSIONS))
        connection.execute(insert(_VERSIONS), [{"version_num": rev} for rev in points])
    return points


# Alembic's version table, as Alembic creates it (one row per branch head)
_VERSIONS = Table("alembic_version", MetaData(), Column("version_num", String(32)))


def branches(engine: Engine, revisions: frozenset[str]) -> list[Branch]:
    """Each branch: where the store is and where this citynet's head is."""
    script = scripts(engine)
    where = {}
    for rev in revisions:
        if _known(script, rev):
            where[_branch(script.get_revision(rev))] = rev
    return [Branch(_branch(head), where.get(_branch(head)), head.revision)
            for head in sorted((script.get_revision(rev) for rev in script.get_heads()),
                               key=_branch)]


def _branch(revision: Script | None) -> str:
    assert revision is not None  # noqa: S101 - asked only for revisions the script knows
    return sorted(revision.branch_labels)[0] if revision.branch_labels else "?"
