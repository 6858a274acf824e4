"""Creating, changing and deleting one inventory record through the importer's checks and
writer: the use cases behind the staff editor's forms and the staff API's JSON calls (the
CLI's ``nas`` commands take the importer the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from citynet.crypto import SecretBox
from citynet.spreadsheets import Problem
from inventory import forms, importer
from inventory.files import RawRow
from inventory.importer import export_row, import_rows, parse_row
from inventory.kinds import Kind


@dataclass(frozen=True)
class Saved:
    """Stored: the record's key and what changed (``forms.changes``; empty: nothing)."""

    key: str
    changed: dict[str, Any]


@dataclass(frozen=True)
class Exists:
    """A new record whose key another record has: nothing stored (a create never
    overwrites)."""

    key: str


@dataclass(frozen=True)
class Deleted:
    """Deleted (``using`` empty), or refused while the records in ``using`` name it."""

    before: dict[str, Any]
    using: list[tuple[str, str]]


def current(db: Session, kind: Kind, key: str) -> dict[str, str] | None:
    """The record's cells, what an edit starts from (secrets as their sealed tokens, which
    stay on the server); None when there is no such record."""
    found = importer.find(db, kind, key)
    return None if found is None else forms.cells(export_row(kind, found))


def save(db: Session, kind: Kind, key: str | None, cells: dict[str, str],
         form: Mapping[str, str], box: SecretBox | None, source: str
         ) -> Saved | Exists | list[Problem]:
    """Create (``key`` None) or change a record from a form's values over its ``cells``
    (``forms.row_data``), in the caller's transaction; the importer's problems when it
    refuses the row (the caller rolls back then)."""
    raw = RawRow(source, 0, kind, forms.row_data(kind, form, cells))
    values, problems = parse_row(raw, box)
    if problems:
        return problems
    new_key = kind.key_of(values)
    existing = importer.find(db, kind, new_key)
    if key is None and existing is not None:
        return Exists(new_key)
    before = export_row(kind, existing) if existing is not None else None
    outcome = import_rows(db, [raw], box)
    if outcome.problems:
        return outcome.problems
    saved = existing if existing is not None else importer.find(db, kind, new_key)
    return Saved(new_key, forms.changes(kind, before, export_row(kind, saved)))


def delete(db: Session, kind: Kind, key: str) -> Deleted | None:
    """Delete one record unless others refer to it; None when there is no such record."""
    found = importer.find(db, kind, key)
    if found is None:
        return None
    before = export_row(kind, found)
    return Deleted(before, importer.delete(db, kind, key))
