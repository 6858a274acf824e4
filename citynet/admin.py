"""The staff web's frame: a home page listing what the signed-in role may open, the audit
log (auditors, admins) and the device jobs (every plan, push, backup and rollback with
each device's diff and result, from the same audit log). Read-only for now; the admin
pages that change things (NAS, vouchers, sessions, approvals) come with issue #7."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request
from sqlalchemy import select

from citynet import audit
from citynet.access import PERMISSIONS, require
from citynet.web import store

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

SECTIONS = (  # (endpoint, permission, title)
    ("dashboard.overview", "dashboard.read", "看板 Dashboard"),
    ("inventory.overview", "inventory.read", "资产 Inventory"),
    ("admin.device_jobs", "devices.read", "设备作业 Device jobs"),
    ("admin.audit_log", "audit.read", "审计日志 Audit log"),
)
PAGE = 50
MAX_SEQ = 2**63 - 1  # a BIGINT: larger would not even reach the database


@blueprint.get("/")
@require("inventory.read")
def home() -> str:
    who = g.staff
    sections = [(endpoint, title) for endpoint, permission, title in SECTIONS
                if who.can(permission)]
    return render_template("admin/home.html", sections=sections, who=who)


def _entries(prefix: str, before: int | None) -> list[audit.AuditEntry]:
    query = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(PAGE)
    if prefix:
        query = query.where(audit.AuditEntry.action.startswith(prefix))
    if before is not None:
        query = query.where(audit.AuditEntry.seq < before)
    with store().session() as session:
        return list(session.scalars(query))


def _one(name: str) -> str | None:
    """A query parameter given at most once (a repeated one is refused, not guessed)."""
    values = request.args.getlist(name)
    if len(values) > 1:
        abort(400, f"{name}= given more than once")
    return values[0] if values else None


def _before() -> int | None:
    raw = _one("before")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SEQ:
        abort(400, "before= takes an entry number")
    return int(raw)


def _action() -> str:
    action = _one("action") or ""
    if len(action) > 64:
        abort(400, "action= is at most 64 characters")
    return action


@blueprint.get("/audit")
@require("audit.read")
def audit_log() -> str:
    action = _action()
    entries = _entries(action, _before())
    with store().session() as session:
        checked, problems = audit.verify(session)
    return render_template("admin/audit.html", entries=entries, action=action,
                           checked=checked, problems=problems, page=PAGE)


@blueprint.get("/whoami.json")
@require("inventory.read")
def whoami() -> dict[str, Any]:
    who = g.staff
    return {"name": who.name, "role": who.role.value,
            "permissions": sorted(PERMISSIONS[who.role])}


@blueprint.get("/audit.json")
@require("audit.read")
def audit_json() -> dict[str, Any]:
    entries = _entries(_action(), _before())
    return {"entries": [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                         "source": e.source, "action": e.action, "target": e.target,
                         "reason": e.reason, "result": e.result, "detail": e.detail}
                        for e in entries]}


@blueprint.get("/devices/jobs")
@require("devices.read")
def device_jobs() -> str:
    return render_template("admin/jobs.html", entries=_entries("devices.", _before()),
                           page=PAGE)


@blueprint.get("/devices/jobs/<int:seq>")
@require("devices.read")
def device_job(seq: int) -> str:
    with store().session() as session:
        entry = session.get(audit.AuditEntry, seq)
    if entry is None or not entry.action.startswith("devices."):
        abort(404)
    devices: list[dict[str, Any]] = list(entry.detail.get("devices", []))
    return render_template("admin/job.html", entry=entry, devices=devices,
                           not_ready=entry.detail.get("not_ready", []))
