"""citynet.db.upsert_insert: the one place that picks SQLite's or PostgreSQL's INSERT."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite

from citynet.db import upsert_insert

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("citynet", "inventory", "radius", "portal", "devices", "monitoring", "admission")
ROWS = Table("rows", MetaData(), Column("name", Integer, primary_key=True),
             Column("count", Integer))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_the_insert_of_each_dialect_has_on_conflict(dialect: object) -> None:
    statement = (upsert_insert(ROWS, dialect.name).values(name=1, count=1)  # type: ignore[attr-defined]
                 .on_conflict_do_update(index_elements=["name"],
                                        set_={"count": ROWS.c.count + 1}))
    sql = str(statement.compile(dialect=dialect))  # type: ignore[arg-type]
    assert "ON CONFLICT (name) DO UPDATE SET count = " in sql


def test_another_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        upsert_insert(ROWS, "mysql")


def test_no_module_picks_the_dialects_insert_itself() -> None:
    """Picking between the two inserts was written out in five modules; the
    SQLite-only statements (sqlite's insert, no choice) may stay where they are."""
    picking = re.compile(r"from sqlalchemy\.dialects\.postgresql import [^\n]*\binsert\b")
    found = [str(path.relative_to(ROOT)) for package in PACKAGES
             for path in (ROOT / package).rglob("*.py")
             if path != ROOT / "citynet" / "db.py" and picking.search(path.read_text())]
    assert found == []
