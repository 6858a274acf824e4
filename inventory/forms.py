"""The staff web's inventory forms as importer rows: what a form shows for a record, the
row a submitted form stands for, and what a change did (for the audit log).

Pure: no request, no store. A form is one importer row, so the web checks exactly what
the CSV importer checks; a form field left empty is a CSV cell left empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inventory.choices import LABELS_ZH
from inventory.files import cell, plain
from inventory.kinds import Field, Kind, iso_date

# (zh-CN, en) for each kind, in KINDS order
KIND_TITLES: dict[str, tuple[str, str]] = {
    "streets": ("街道", "Streets"),
    "communities": ("社区", "Communities"),
    "buildings": ("楼宇", "Buildings"),
    "hotspots": ("热点", "Hotspots"),
    "access_points": ("无线接入点 AP", "Access points"),
    "credentials": ("设备登录凭据", "Device credentials"),
    "nas": ("NAS（RADIUS 客户端）", "NAS (RADIUS clients)"),
    "devices": ("网络设备", "Network devices"),
    "targets": ("覆盖目标", "Coverage targets"),
}

# (zh-CN, en) for a field name, whatever its kind; the column name is shown beside it
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "Name"), "name_en": ("英文名", "English name"),
    "street": ("街道", "Street"), "community": ("社区", "Community"),
    "code": ("编码", "Code"), "address": ("地址", "Address"), "type": ("类型", "Type"),
    "fiber_status": ("光纤状态", "Fiber status"),
    "fiber_planned_on": ("计划接入日期", "Fiber planned on"),
    "fiber_connected_on": ("接入日期", "Fiber connected on"),
    "lat": ("纬度", "Latitude"), "lon": ("经度", "Longitude"),
    "location": ("位置", "Location"), "ssids": ("SSID", "SSIDs"),
    "mac": ("MAC 地址", "MAC address"), "model": ("型号", "Model"),
    "hotspot": ("热点", "Hotspot"), "hotspots": ("服务的热点", "Hotspots served"),
    "username": ("用户名", "User name"), "password": ("密码", "Password"),
    "enable_secret": ("enable 密码", "Enable secret"),
    "secret": ("共享密钥", "Shared secret"), "vendor": ("厂商", "Vendor"),
    "policy": ("策略", "Policy"),
    "message_authenticator": ("Message-Authenticator", "Message-Authenticator"),
    "uam_secret": ("UAM 密钥", "UAM secret"),
    "portal_login_url": ("门户登录提交地址", "Portal login URL"),
    "portal_protocol": ("Portal 协议", "Portal protocol"),
    "portal_port": ("Portal 协议端口", "Portal protocol port"),
    "portal_secret": ("Portal 共享密钥", "Portal shared key"),
    "portal_parameters": ("重定向参数名", "Redirect parameter names"),
    "allow_short_secret": ("允许少于 16 个字符的共享密钥（仅限无法使用长密钥的旧设备）",
                           "Allow a shared secret shorter than 16 characters (only for old "
                           "gear that cannot take a long one)"),
    "hostname": ("主机名", "Host name"), "host": ("管理地址", "Management address"),
    "port": ("端口", "Port"), "platform": ("平台", "Platform"), "role": ("角色", "Role"),
    "site": ("站点", "Site"), "credential": ("登录凭据", "Credential"),
    "metric": ("指标", "Metric"), "scope": ("范围", "Scope"), "target": ("目标值", "Target"),
    "deadline": ("期限", "Deadline"), "owner": ("责任单位", "Owner"),
    "owner_en": ("责任单位英文名", "Owner (English)"),
}

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
    options: tuple[tuple[str, str, str], ...] = ()  # (value, zh-CN label, en label)
    is_key: bool = False

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def label(self) -> tuple[str, str]:
        return FIELD_LABELS.get(self.name, (self.name, self.name))


def inputs(kind: Kind) -> list[Input]:
    return ([Input(f, *_widget(kind, f), is_key=f.name in kind.key) for f in kind.fields]
            + [Input(f, "checkbox") for f in kind.options])


def _widget(kind: Kind, f: Field) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    if f.secret:
        return "password", ()
    if f.many:
        return "list", ()
    if f.parse is iso_date:
        return "date", ()
    if f.name in ONE_OF:
        return "select", tuple((value, value, value) for value in ONE_OF[f.name])
    column = kind.model.__table__.c.get(f.name)
    members = getattr(column.type, "enum_class", None) if column is not None else None
    if members is not None:
        return "select", tuple((m.value, LABELS_ZH.get(m, m.value), m.value) for m in members)
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
