"""The staff web's inventory forms as importer rows: what a form shows for a record, the
row a submitted form stands for, and what a change did (for the audit log).

Pure: no request, no store. A form is one importer row, so the web checks exactly what
the CSV importer checks; a form field left empty is a CSV cell left empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from citynet.catalogs import N_
from inventory.choices import LABELS
from inventory.files import cell, plain
from inventory.kinds import Field, Kind, iso_date

# each kind's title (a gettext msgid, shown translated), in KINDS order
KIND_TITLES: dict[str, str] = {
    "streets": N_("Streets"),
    "communities": N_("Communities"),
    "buildings": N_("Buildings"),
    "hotspots": N_("Hotspots"),
    "access_points": N_("Access points"),
    "credentials": N_("Device credentials"),
    "nas": N_("NAS (RADIUS clients)"),
    "devices": N_("Network devices"),
    "targets": N_("Coverage targets"),
}

# a field's label (a gettext msgid), whatever its kind; the column name is shown beside it
FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"), "name_en": N_("English name"),
    "street": N_("Street"), "community": N_("Community"),
    "code": N_("Code"), "address": N_("Address"), "type": N_("Type"),
    "fiber_status": N_("Fiber status"),
    "fiber_planned_on": N_("Fiber planned on"),
    "fiber_connected_on": N_("Fiber connected on"),
    "lat": N_("Latitude"), "lon": N_("Longitude"),
    "location": N_("Location"), "ssids": N_("SSIDs"),
    "mac": N_("MAC address"), "model": N_("Model"),
    "hotspot": N_("Hotspot"), "hotspots": N_("Hotspots served"),
    "username": N_("User name"), "password": N_("Password"),
    "enable_secret": N_("Enable secret"),
    "secret": N_("Shared secret"), "vendor": N_("Vendor"),
    "policy": N_("Policy"),
    "uam_secret": N_("UAM secret"),
    "portal_login_url": N_("Portal login URL"),
    "portal_protocol": N_("Portal protocol"),
    "portal_port": N_("Portal protocol port"),
    "portal_secret": N_("Portal shared key"),
    "portal_parameters": N_("Redirect parameter names"),
    "allow_short_secret": N_("Allow a shared secret shorter than 16 characters (only for old "
                             "gear that cannot take a long one)"),
    "hostname": N_("Host name"), "host": N_("Management address"),
    "port": N_("Port"), "platform": N_("Platform"), "role": N_("Role"),
    "site": N_("Site"), "credential": N_("Credential"),
    "metric": N_("Metric"), "scope": N_("Scope"), "target": N_("Target value"),
    "deadline": N_("Deadline"), "owner": N_("Owner"),
    "owner_en": N_("Owner (English)"),
}
# a field without a label here (message_authenticator: a RADIUS attribute's name, the same
# in every language) shows its column name

# fields parsed by kinds.one_of (their allowed values are not introspectable)
ONE_OF: dict[str, tuple[str, ...]] = {"message_authenticator": ("require", "off")}

CHANGED = "(changed)"  # what the audit log says of a secret that changed
CLEAR = "__clear"  # suffix of the checkbox that removes an optional secret


@dataclass(frozen=True)
class Input:
    """How one field is edited: text, select, date, password, list (";"-separated) or
    checkbox (a row option: how to take the row, not stored)."""

    field: Field
    widget: str
    # (value, label): the label a gettext msgid, or "" for a value shown as it is
    options: tuple[tuple[str, str], ...] = ()
    is_key: bool = False

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def label(self) -> str:
        """The field's label msgid, "" when the column name is all there is to show."""
        return FIELD_LABELS.get(self.name, "")


def inputs(kind: Kind) -> list[Input]:
    return ([Input(f, *_widget(kind, f), is_key=f.name in kind.key) for f in kind.fields]
            + [Input(f, "checkbox") for f in kind.options])


def _widget(kind: Kind, f: Field) -> tuple[str, tuple[tuple[str, str], ...]]:
    if f.secret:
        return "password", ()
    if f.many:
        return "list", ()
    if f.parse is iso_date:
        return "date", ()
    if f.name in ONE_OF:
        return "select", tuple((value, "") for value in ONE_OF[f.name])
    column = kind.model.__table__.c.get(f.name)
    members = getattr(column.type, "enum_class", None) if column is not None else None
    if members is not None:
        return "select", tuple((m.value, LABELS.get(m, "")) for m in members)
    return "text", ()


def cells(row: Mapping[str, Any]) -> dict[str, str]:
    """An exported row as the form's (and a CSV file's) cells; empty values left out."""
    return {name: cell(value) for name, value in row.items() if value not in (None, [], "")}


def summary(kind: Kind, row: Mapping[str, Any]) -> dict[str, str]:
    """A record as a line of the list: its cells, a secret only as whether it is set."""
    return {f.name: ("1" if row.get(f.name) else "") if f.secret else cell(row.get(f.name))
            for f in kind.fields}


def shown(kind: Kind, current: Mapping[str, str],
          form: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the form's inputs hold: the submitted values when re-shown after a refusal
    (so nothing typed is lost), else the record's; never a secret."""
    values = {}
    for f in kind.fields:
        if f.secret:
            continue
        if form is not None and f.name in form and f.name not in _fixed(kind, current):
            values[f.name] = form[f.name]
        else:
            values[f.name] = current.get(f.name, "")
    for f in kind.options:  # asked again on every save: unticked unless just submitted
        values[f.name] = (form or {}).get(f.name, "")
    return values


def _fixed(kind: Kind, current: Mapping[str, str]) -> tuple[str, ...]:
    """The fields a form may not change: a record's key (renaming is not an edit)."""
    return kind.key if current else ()


def row_data(kind: Kind, form: Mapping[str, str], current: Mapping[str, str]) -> dict[str, Any]:
    """The importer row a submitted form stands for. ``current`` is the record's cells
    (empty for a new record). A field not on the form keeps its value; an empty one is an
    empty cell; the key of a record is kept; an empty secret keeps the sealed one (unless
    its clear box is ticked)."""
    data: dict[str, Any] = dict(current)
    for f in kind.fields:
        if f.name in _fixed(kind, current):
            continue
        given = form.get(f.name)
        if f.secret:
            if given:
                data[f.name] = given
            elif form.get(f.name + CLEAR) and not f.required:
                data.pop(f.name, None)
        elif given is not None:
            if given.strip():
                data[f.name] = given
            else:
                data.pop(f.name, None)
    for f in kind.options:  # an unticked box is not sent
        if form.get(f.name):
            data[f.name] = form[f.name]
    return data


def changes(kind: Kind, before: Mapping[str, Any] | None,
            after: Mapping[str, Any] | None) -> dict[str, Any]:
    """What changed, field by field: [old, new] (None for a record not there), or
    ``(changed)`` for a secret, whose values never leave the store."""
    old, new = before or {}, after or {}
    changed: dict[str, Any] = {}
    for f in kind.fields:
        was, now = _value(old.get(f.name)), _value(new.get(f.name))
        if was == now:
            continue
        changed[f.name] = CHANGED if f.secret else [was, now]
    return changed


def _value(value: Any) -> Any:
    """A value as the audit log keeps it; an empty one is None (not there)."""
    value = plain(value)
    return None if value in ("", []) else value


def public(kind: Kind, row: Mapping[str, Any]) -> dict[str, Any]:
    """An exported row without its secrets, JSON-ready."""
    return {f.name: plain(row.get(f.name)) for f in kind.fields if not f.secret}
