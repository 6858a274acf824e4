"""Inventory export: every kind as rows, ordered by key, secrets sealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from inventory.importer import export_row, load
from inventory.kinds import KINDS, Kind


def export(session: Session, kinds: list[Kind] | None = None) -> dict[str, list[dict[str, Any]]]:
    chosen = kinds or list(KINDS.values())
    return {
        kind.name: [export_row(kind, obj) for _key, obj in sorted(load(session, kind).items())]
        for kind in chosen
    }
