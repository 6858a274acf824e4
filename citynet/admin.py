"""The staff web's frame: a home page and a menu of what the signed-in role may open (each
domain's admin pages live in its own blueprint), the audit log (auditors, admins), the
device jobs (every plan, push, backup and rollback with each device's diff and result,
from the same audit log) and the staff accounts (admins)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import audit, staff
from citynet.access import PERMISSIONS, audited, require, tr
from citynet.staff import Role
from citynet.web import query_arg, store, whole_number

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

SECTIONS = (  # (endpoint, permission, zh-CN, en)
    ("dashboard.overview", "dashboard.read", "看板", "Dashboard"),
    ("inventory.overview", "inventory.read", "资产", "Inventory"),
    ("radius_admin.sessions", "sessions.read", "上网会话", "Sessions"),
    ("portal_admin.voucher_batches", "vouchers.write", "上网券", "Vouchers"),
    ("portal_admin.remembered_devices", "sessions.read", "记住的设备", "Remembered devices"),
    ("portal_admin.merchant_list", "merchants.write", "商户优惠", "Merchants"),
    ("devices_web.changes", "devices.read", "变更申请", "Change requests"),
    ("admin.device_jobs", "devices.read", "设备作业", "Device jobs"),
    ("radius_admin.records_page", "records.read", "上网记录", "Login records"),
    ("admin.audit_log", "audit.read", "审计日志", "Audit log"),
    ("radius_admin.retention", "settings.write", "记录保留期", "Retention"),
    ("admin.staff_accounts", "staff.admin", "工作人员", "Staff"),
)
# what an admin may do to an account from the web: change → (function, zh, en outcome)
STAFF_ACTIONS: dict[str, tuple[Callable[[Session, str], None], str, str]] = {
    "disable": (staff.disable, "已停用，其会话和API令牌失效",
                "disabled; its sessions and API tokens stop working"),
    "enable": (staff.enable, "已启用", "enabled"),
    "unlock": (staff.unlock, "已解锁", "unlocked"),
    "reset-2fa": (staff.reset_2fa, "已重置身份验证器，下次登录重新设置",
                  "authenticator forgotten; the next login enrols a new one"),
}
# an admin who disables or un-enrols themselves locks the last door: another admin must
NOT_ON_ONESELF = frozenset({"disable", "reset-2fa"})
PAGE = 50
MAX_SEQ = 2**63 - 1  # a BIGINT: larger would not even reach the database


@blueprint.app_context_processor
def _sections() -> dict[str, Any]:
    def visible() -> list[tuple[str, str]]:
        """The sections the signed-in role may open, titled in the page's language."""
        who = g.get("staff")
        return [(endpoint, tr(zh, en)) for endpoint, permission, zh, en in SECTIONS
                if who is not None and who.can(permission)]
    return {"admin_sections": visible}


@blueprint.get("/")
@require("inventory.read")
def home() -> str:
    return render_template("admin/home.html", who=g.staff)


def _entries(prefix: str, before: int | None) -> list[audit.AuditEntry]:
    query = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(PAGE)
    if prefix:
        query = query.where(audit.AuditEntry.action.startswith(prefix))
    if before is not None:
        query = query.where(audit.AuditEntry.seq < before)
    with store().session() as session:
        return list(session.scalars(query))


def _before() -> int | None:
    """The page's end (older entries than this); given but empty or blank is refused,
    as the API document says: an integer or nothing."""
    if "before" not in request.args:
        return None
    number = whole_number(query_arg("before", 19), 1, MAX_SEQ)
    if number is None:
        abort(400, "before= takes an entry number")
    return number


def _action() -> str:
    return query_arg("action", 64)


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


# --- staff accounts (admins) -----------------------------------------------------------

def _accounts(created: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    with store().session() as session:
        users = list(staff.users(session))
        for user in users:
            session.expunge(user)
    return render_template("admin/staff.html", users=users, roles=list(Role),
                           needs_totp=staff.NEEDS_TOTP, now=datetime.now(UTC),
                           created=created, me=g.staff.name,
                           not_on_oneself=NOT_ON_ONESELF), status


@blueprint.get("/staff")
@require("staff.admin")
def staff_accounts() -> tuple[str, int]:
    return _accounts()


@blueprint.post("/staff")
@require("staff.admin")
def staff_add() -> tuple[str, int]:
    """A new account with a generated password, shown once on the answer page (never in a
    redirect's flash, which would travel in the cookie)."""
    name = request.form.get("name", "").strip()
    role = request.form.get("role", "")
    if role not in {r.value for r in Role}:
        flash(tr("请选择角色", "Choose a role"), "error")
        return _accounts(status=400)
    password = staff.generate_password(name)
    try:
        with store().session() as session:
            staff.add(session, name, Role(role), password)
            audited(session, "staff.add", name, detail={"role": role})
    except staff.StaffError as error:
        flash(str(error), "error")
        return _accounts(status=400)
    return _accounts(created=(name, password))


@blueprint.post("/staff/<name>/<change>")
@require("staff.admin")
def staff_change(name: str, change: str) -> BaseResponse | tuple[str, int]:
    if change not in STAFF_ACTIONS:
        abort(404)
    if change in NOT_ON_ONESELF and name == g.staff.name:
        # the page offers no such button; a hand-made POST is refused, nothing changes
        flash(tr("不能对自己执行此操作：请另一位管理员操作",
                 "Not on your own account: ask another admin"), "error")
        return _accounts(status=403)
    act, zh, en = STAFF_ACTIONS[change]
    try:
        with store().session() as session:
            act(session, name)
            audited(session, f"staff.{change.replace('-', '_')}", name)
    except staff.StaffError as error:
        flash(str(error), "error")
    else:
        flash(f"{name}: {tr(zh, en)}", "ok")
    return redirect(url_for("admin.staff_accounts"))
