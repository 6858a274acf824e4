"""The staff API's writes of inventory records (NAS clients included): one JSON call per
editor action, through the same use cases (``inventory.editing``), permissions and audit
entries as the editor's forms. Errors are keyed by field: ``{"errors": {field: reason}}``
(``""`` for the row as a whole). Secrets are write-only: an answer says only whether one
is set."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citynet.access import audited, require
from citynet.errors import SecretsError
from citynet.spreadsheets import Problem
from citynet.web import box, store
from inventory import editing, forms, importer
from inventory.files import cell
from inventory.importer import export_row
from inventory.kinds import KINDS, LIST_SEPARATOR, Kind
from inventory.web import require_write

blueprint = Blueprint("inventory_api", __name__, url_prefix="/admin/inventory")
SOURCE = "api"  # what the importer's problems name as their file
KEY_MAX = 400

Answer = tuple[dict[str, Any], int]


class _Refused(Exception):
    """Rolls the transaction back: nothing half-stored."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer


def errors(status: int, by_field: dict[str, str]) -> Answer:
    return {"errors": by_field}, status


def _problems(problems: list[Problem]) -> dict[str, str]:
    by_field: dict[str, str] = {}
    for problem in problems:
        field = problem.field or ""
        by_field[field] = f"{by_field[field]}; {problem.text}" if field in by_field \
            else problem.text
    return by_field


def record(kind: Kind, found: Any) -> dict[str, Any]:
    """A record as the API shows it: its values without secrets, and which secrets are set."""
    row = export_row(kind, found)
    return {"kind": kind.name, "key": kind.key_of(row) if all(
                row.get(name) is not None for name in kind.key) else "",
            "record": forms.public(kind, row),
            "secrets_set": {f.name: bool(row.get(f.name)) for f in kind.fields if f.secret}}


def form_of(kind: Kind, body: Any, key_cells: dict[str, str] | None
            ) -> tuple[dict[str, str], dict[str, str]]:
    """A JSON body as the editor form it stands for, and the problems with it by field.
    ``null`` empties a field (removes an optional secret); a list is a ";"-list; a field
    not given keeps its value. ``key_cells``: the record's key, which an edit may not
    change."""
    if not isinstance(body, dict):
        return {}, {"": "the body is a JSON object of field: value"}
    fields = {f.name: f for f in kind.fields}
    options = {f.name for f in kind.options}
    form: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, value in body.items():
        field = fields.get(name)
        if field is None and name not in options:
            problems[name] = "no such field"
        elif name in options:
            if not isinstance(value, bool):
                problems[name] = "true or false"
            elif value:
                form[name] = "1"
        elif value is None:
            form[name] = ""
            if field is not None and field.secret:
                form[name + forms.CLEAR] = "1"
        elif isinstance(value, bool) or not isinstance(value, str | int | float | list):
            problems[name] = "text, a number, a list or null"
        elif isinstance(value, list) and (field is None or not field.many or not all(
                isinstance(item, str | int | float) and not isinstance(item, bool)
                and LIST_SEPARATOR not in str(item) for item in value)):
            problems[name] = "a list only of a list field, of texts or numbers"
        elif "\x00" in cell(value):
            problems[name] = "contains a NUL character"
        else:
            form[name] = cell(value)
    for name, was in (key_cells or {}).items():
        if name in form and form[name] != was:
            problems[name] = "a record's key cannot change (create a new one)"
    return form, problems


def _kind_or_404(name: str) -> Kind | Answer:
    return KINDS.get(name) or errors(404, {"kind": f"no inventory kind {name!r}"})


def _save(kind: Kind, key: str | None) -> Answer:
    body = request.get_json(silent=True)
    try:
        with store().session() as db:
            cells: dict[str, str] = {}
            if key is not None:
                found = editing.current(db, kind, key)
                if found is None:
                    return errors(404, {"key": f"no {kind.name} record {key!r}"})
                cells = found
            form, problems = form_of(kind, body, {name: cells.get(name, "") for name in
                                                  kind.key} if key is not None else None)
            if problems:
                return errors(400, problems)
            outcome = editing.save(db, kind, key, cells, form, box(), SOURCE)
            if isinstance(outcome, editing.Exists):
                raise _Refused(errors(409, {kind.key[0]: f"{outcome.key!r} exists already"}))
            if isinstance(outcome, list):
                raise _Refused(errors(422, _problems(outcome)))
            if outcome.changed:
                audited(db, "inventory.create" if key is None else "inventory.edit",
                        f"{kind.name}:{outcome.key}", detail={"changed": outcome.changed})
            answer = {**record(kind, importer.find(db, kind, outcome.key)),
                      "changed": sorted(outcome.changed)}
    except _Refused as refused:
        return refused.answer
    except SecretsError:
        return errors(409, {"": "no secrets key is configured, so secrets cannot be stored"})
    except IntegrityError:  # someone else stored the same key or address meanwhile
        return errors(409, {"": "conflicts with a record saved meanwhile"})
    return answer, 201 if key is None else 200


@blueprint.get("/<kind>/<path:key>.json")
@require("inventory.read")
def get_record(kind: str, key: str) -> Answer:
    """One record, without its secrets."""
    chosen = _kind_or_404(kind)
    if isinstance(chosen, tuple):
        return chosen
    with store().session() as db:
        found = importer.find(db, chosen, key)
        if found is None:
            return errors(404, {"key": f"no {kind} record {key!r}"})
        return record(chosen, found), 200


@blueprint.post("/<kind>.json")
@require_write
def create_record(kind: str) -> Answer:
    chosen = _kind_or_404(kind)
    return chosen if isinstance(chosen, tuple) else _save(chosen, None)


@blueprint.put("/<kind>/<path:key>.json")
@require_write
def edit_record(kind: str, key: str) -> Answer:
    """Change the fields given; the others keep their values."""
    chosen = _kind_or_404(kind)
    return chosen if isinstance(chosen, tuple) else _save(chosen, key)


@blueprint.delete("/<kind>/<path:key>.json")
@require_write
def delete_record(kind: str, key: str) -> Answer | tuple[str, int]:
    """Delete one record, refused (409, and the refusal audited) while others name it."""
    chosen = _kind_or_404(kind)
    if isinstance(chosen, tuple):
        return chosen
    with store().session() as db:
        return _delete(db, chosen, key)


def _delete(db: Session, kind: Kind, key: str) -> Answer | tuple[str, int]:
    target = f"{kind.name}:{key}"
    outcome = editing.delete(db, kind, key)
    if outcome is None:
        return errors(404, {"key": f"no {kind.name} record {key!r}"})
    if outcome.using:
        audited(db, "inventory.delete", target, "refused", reason="still referred to",
                detail={"used_by": [f"{k}:{other}" for k, other in outcome.using[:50]],
                        "used_by_count": len(outcome.using)})
        named = ", ".join(f"{k}:{other}" for k, other in outcome.using[:10])
        return errors(409, {"": f"still referred to by {named}"
                                + (" and more" if len(outcome.using) > 10 else "")})
    audited(db, "inventory.delete", target,
            detail={"changed": forms.changes(kind, outcome.before, None)})
    return "", 204
