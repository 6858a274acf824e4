"""Atomic inventory import: every row is checked before anything is written.

``check`` is pure (rows + what the store already holds → typed rows or problems);
``apply`` upserts by natural key inside the caller's transaction. A dry run is the same
import rolled back, so its counts are exactly what a real run would do.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.catalogs import N_
from citynet.crypto import EXPORT_PREFIX, SecretBox
from citynet.errors import SecretsError
from citynet.spreadsheets import Problem
from inventory.files import RawRow
from inventory.kinds import KINDS, FieldError, Kind


@dataclass
class Row:
    raw: RawRow
    values: dict[str, Any]

    @property
    def key(self) -> str:
        return self.raw.kind.key_of(self.values)


@dataclass
class Known:
    """What the store already holds, as far as checking an import needs to know."""

    keys: dict[str, set[str]] = field(default_factory=dict)
    # (kind, field) → {value: key of the record that has it}
    unique: dict[tuple[str, str], dict[Any, str]] = field(default_factory=dict)


@dataclass
class Outcome:
    problems: list[Problem]
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_row(raw: RawRow, box: SecretBox | None) -> tuple[dict[str, Any], list[Problem]]:
    kind = raw.kind
    values: dict[str, Any] = {}
    problems = []

    def problem(name: str, reason: str, values: dict[str, object] | None = None) -> None:
        problems.append(Problem(raw.source, raw.line, name, reason, values or {}))

    for f in kind.fields + kind.options:
        if f.name not in raw.data:
            if f.required:
                problem(f.name, N_("required"))
            values[f.name] = list(f.default) if isinstance(f.default, list) else f.default
            continue
        try:
            values[f.name] = f.parse(raw.data[f.name])
        except FieldError as exc:
            problem(f.name, exc.msgid, exc.values)
            continue
        if f.secret and str(values[f.name]).startswith(EXPORT_PREFIX):
            if box is None:
                problem(f.name, N_("is sealed, but no secrets key is configured"))
            else:
                try:
                    box.open(values[f.name][len(EXPORT_PREFIX):])
                except SecretsError:
                    problem(f.name, N_("is sealed with another installation's key; "
                                       "give the secret in clear instead"))
    if not problems:
        for name, reason, reason_values in kind.check(values):
            problem(name, reason, reason_values)
    return values, problems


def check(raws: Iterable[RawRow], known: Known,
          box: SecretBox | None = None) -> tuple[list[Row], list[Problem]]:
    """Parse and cross-check an import against itself and the store."""
    rows: list[Row] = []
    problems: list[Problem] = []
    for raw in raws:
        values, row_problems = parse_row(raw, box)
        problems += row_problems
        if not row_problems:
            rows.append(Row(raw, values))

    first: dict[tuple[str, str], Row] = {}
    unique_seen: dict[tuple[str, str, Any], Row] = {}
    kept: list[Row] = []
    for row in rows:
        kind, raw = row.raw.kind, row.raw
        earlier = first.setdefault((kind.name, row.key), row)
        if earlier is not row:
            problems.append(Problem(raw.source, raw.line, "/".join(kind.key),
                                    N_("duplicate key %(key)r (first at %(where)s)"),
                                    {"key": row.key,
                                     "where": f"{earlier.raw.source}:{earlier.raw.line}"}))
            continue
        for name in kind.unique:
            value = row.values[name]
            other = unique_seen.setdefault((kind.name, name, value), row)
            owner = known.unique.get((kind.name, name), {}).get(value)
            if other is not row:
                problems.append(Problem(raw.source, raw.line, name,
                                        N_("%(value)r is also used by %(key)r at %(where)s"),
                                        {"value": value, "key": other.key,
                                         "where": f"{other.raw.source}:{other.raw.line}"}))
            elif owner is not None and owner != row.key and not _renamed_away(
                    kind, name, owner, rows):
                problems.append(Problem(raw.source, raw.line, name,
                                        N_("%(value)r is already used by %(kind)s %(key)r"),
                                        {"value": value, "kind": kind.name, "key": owner}))
        kept.append(row)
    problems += _overlaps(kept, known)

    imported = {(kind, key) for kind, key in first}
    for row in kept:
        for name, ref_kind, ref_key in _references(row.raw.kind, row.values):
            if (ref_kind, ref_key) not in imported and ref_key not in known.keys.get(ref_kind, ()):
                problems.append(Problem(row.raw.source, row.raw.line, name,
                                        N_("no %(kind)s named %(key)r in the store or this "
                                           "import"), {"kind": ref_kind, "key": ref_key}))
    problems.sort(key=lambda p: (p.source, p.line, p.field))
    return kept, problems


def _overlaps(rows: list[Row], known: Known) -> list[Problem]:
    """Rows whose network shares addresses with another record's, as the records will be
    after this import (an equal value is the unique check's to report)."""
    problems = []
    for kind in {row.raw.kind.name: row.raw.kind for row in rows}.values():
        mine = [row for row in rows if row.raw.kind is kind]
        for name in kind.disjoint:
            after = {key: value for value, key in known.unique.get((kind.name, name), {}).items()}
            after.update((row.key, row.values[name]) for row in mine)
            networks = {key: ipaddress.ip_network(value) for key, value in after.items()}
            wide = {key: net for key, net in networks.items() if net.num_addresses > 1}
            for row in mine:
                net = networks[row.key]
                # a single address can only fall inside a wider network: few of those
                others = networks if net.num_addresses > 1 else wide
                problems += [Problem(row.raw.source, row.raw.line, name,
                                     N_("%(value)r overlaps %(network)s of %(kind)s %(key)r"),
                                     {"value": row.values[name], "network": str(other_net),
                                      "kind": kind.name, "key": other})
                             for other, other_net in sorted(others.items())
                             if other != row.key and other_net != net and net.overlaps(other_net)]
    return problems


def _renamed_away(kind: Kind, name: str, owner: str, rows: list[Row]) -> bool:
    """The record that holds a unique value is given another value in this same import."""
    return any(r.raw.kind is kind and r.key == owner for r in rows)


def _references(kind: Kind, values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    refs = []
    for f in kind.fields:
        if f.ref is None or values.get(f.name) is None:
            continue
        targets = values[f.name] if f.many else [values[f.name]]
        refs += [(f.name, f.ref, str(target)) for target in targets]
    return refs + kind.scope_refs(dict(values))


# --- the store side -----------------------------------------------------------------

def load(session: Session, kind: Kind) -> dict[str, Any]:
    """Every record of a kind, by key."""
    return {kind.key_of(_key_values(kind, obj)): obj
            for obj in session.scalars(select(kind.model))}


def _key_values(kind: Kind, obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in kind.key}


def known_from(records: Mapping[str, Mapping[str, Any]]) -> Known:
    known = Known()
    for kind in KINDS.values():
        objects = records.get(kind.name, {})
        known.keys[kind.name] = set(objects)
        for name in kind.unique:
            known.unique[(kind.name, name)] = {getattr(o, name): k for k, o in objects.items()}
    return known


def export_row(kind: Kind, obj: Any) -> dict[str, Any]:
    """A record as a row of its kind (the exporter's and the change detector's view)."""
    row: dict[str, Any] = {}
    for f in kind.fields:
        if f.secret:
            token = getattr(obj, f"{f.name}_sealed")
            row[f.name] = EXPORT_PREFIX + token if token else None
        elif f.ref and f.many:
            row[f.name] = sorted(_ref_key(item) for item in getattr(obj, f.name))
        elif f.ref:
            target = getattr(obj, f.name)
            row[f.name] = _ref_key(target) if target is not None else None
        else:
            row[f.name] = getattr(obj, f.name)
    return row


def _ref_key(obj: Any) -> str:
    kind = next(k for k in KINDS.values() if isinstance(obj, k.model))
    return kind.key_of(_key_values(kind, obj))


def import_rows(session: Session, raws: list[RawRow], box: SecretBox | None) -> Outcome:
    """Check, then write every row; on any problem nothing is written."""
    imported = {raw.kind.name for raw in raws}
    needed = imported.union(*(KINDS[name].refers_to for name in imported))
    records = {name: load(session, kind) if name in needed else {}
               for name, kind in KINDS.items()}
    rows, problems = check(raws, known_from(records), box)
    outcome = Outcome(problems)
    if problems:
        return outcome
    if box is None and any(f.secret and row.values.get(f.name) is not None
                           for row in rows for f in row.raw.kind.fields):
        raise SecretsError(N_("this import has secrets but no secrets key is available"))
    by_kind: dict[str, list[Row]] = {}
    for row in rows:
        by_kind.setdefault(row.raw.kind.name, []).append(row)
    for kind in KINDS.values():  # dependency order
        for row in by_kind.get(kind.name, []):
            existing = records[kind.name].get(row.key)
            obj = existing if existing is not None else kind.model()
            before = export_row(kind, obj) if existing is not None else None
            _assign(kind, obj, row.values, records, box)
            if existing is None:
                session.add(obj)
                records[kind.name][row.key] = obj
                outcome.created[kind.name] += 1
            elif export_row(kind, obj) == before:
                outcome.unchanged[kind.name] += 1
            else:
                outcome.updated[kind.name] += 1
        session.flush()
    return outcome


def _assign(kind: Kind, obj: Any, values: Mapping[str, Any],
            records: Mapping[str, Mapping[str, Any]], box: SecretBox | None) -> None:
    for f in kind.fields:
        value = values[f.name]
        if f.secret:
            setattr(obj, f"{f.name}_sealed", _sealed(getattr(obj, f"{f.name}_sealed", None),
                                                     value, box))
        elif f.ref and f.many:
            setattr(obj, f.name, [records[f.ref][str(item)] for item in value])
        elif f.ref:
            setattr(obj, f.name, records[f.ref][str(value)] if value is not None else None)
        else:
            setattr(obj, f.name, value)


def _sealed(current: str | None, value: str | None, box: SecretBox | None) -> str | None:
    if value is None:
        return None
    assert box is not None  # noqa: S101 - import_rows refuses secrets without a box
    if value.startswith(EXPORT_PREFIX):
        return value[len(EXPORT_PREFIX):]
    if current is not None and box.open(current) == value:
        return current  # same secret: keep the token, so the record reads as unchanged
    return box.seal(value)


# --- one record at a time (the staff web's editor) -----------------------------------

def find(session: Session, kind: Kind, key: str) -> Any | None:
    """The record of ``kind`` with this key, or None."""
    if len(kind.key) == 1:  # a column of its own
        column = getattr(kind.model, kind.key[0])
        return session.scalar(select(kind.model).where(column == key))
    return load(session, kind).get(key)  # a composite key (targets): few records


def referrers(session: Session, kind: Kind, key: str) -> list[tuple[str, str]]:
    """The records that name this one, as (kind, key): exactly the references the importer
    checks, so what it refuses to leave dangling is what stops a delete."""
    found = []
    for other in KINDS.values():
        if kind.name not in other.refers_to:
            continue
        for other_key, obj in sorted(load(session, other).items()):
            if any(ref_kind == kind.name and ref_key == key
                   for _name, ref_kind, ref_key in _references(other, export_row(other, obj))):
                found.append((other.name, other_key))
    return found


def delete(session: Session, kind: Kind, key: str) -> list[tuple[str, str]]:
    """Delete one record unless others refer to it; those referrers (nothing deleted then).
    Raises KeyError when there is no such record."""
    obj = find(session, kind, key)
    if obj is None:
        raise KeyError(key)
    using = referrers(session, kind, key)
    if not using:
        session.delete(obj)
        session.flush()
    return using
