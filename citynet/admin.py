"""The staff web's frame: a home page and a menu of what the signed-in role may open (each
domain's admin pages live in its own blueprint, its menu entries in its manifest), the
audit log (auditors, admins) and the staff accounts (admins)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import audit, staff
from citynet.access import audited, require, role_grants
from citynet.catalogs import N_, gettext
from citynet.domains import Domain, MenuEntry
from citynet.staff import Role
from citynet.web import query_arg, store, whole_number

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

# the kernel's own menu entries; each domain adds its own in its manifest
MENU = (
    MenuEntry("admin.audit_log", "audit.read", N_("Audit log"), 100),
    MenuEntry("admin.staff_accounts", "staff.admin", N_("Staff"), 120),
)
# what an admin may do to an account from the web: change → (function, outcome msgid)
STAFF_ACTIONS: dict[str, tuple[Callable[[Session, str], None], str]] = {
    "disable": (staff.disable, N_("%(name)s: disabled; its sessions and API tokens stop "
                                  "working")),
    "enable": (staff.enable, N_("%(name)s: enabled")),
    "unlock": (staff.unlock, N_("%(name)s: unlocked")),
    "reset-2fa": (staff.reset_2fa, N_("%(name)s: authenticator forgotten; the next login "
                                      "enrols a new one")),
}
# an admin who disables or un-enrols themselves locks the last door: another admin must
NOT_ON_ONESELF = frozenset({"disable", "reset-2fa"})
PAGE = 50
MAX_SEQ = 2**63 - 1  # a BIGINT: larger would not even reach the database


def setup(app: Flask, domains: Sequence[Domain]) -> None:
    """The staff frame with the menu and audit-log links of ``domains``."""
    app.extensions["citynet.menu"] = tuple(sorted(
        (*MENU, *(entry for domain in domains for entry in domain.menu)),
        key=lambda entry: entry.order))
    app.extensions["citynet.audit_links"] = tuple(
        domain.audit_link for domain in domains if domain.audit_link is not None)
    app.register_blueprint(blueprint)


@blueprint.app_context_processor
def _sections() -> dict[str, Any]:
    def visible() -> list[tuple[str, str]]:
        """The sections the signed-in role may open, titled in the page's language."""
        who = g.get("staff")
        return [(entry.endpoint, gettext(entry.title))
                for entry in current_app.extensions["citynet.menu"]
                if who is not None and who.can(entry.permission)]
    return {"admin_sections": visible, "audit_link": _audit_link}


def _audit_link(entry: audit.AuditEntry) -> str | None:
    """A domain's page for an audit log entry (a device job's diffs), if one has it."""
    for link in current_app.extensions["citynet.audit_links"]:
        url = link(entry)
        if url is not None:
            return cast(str, url)
    return None


@blueprint.get("/")
@require("inventory.read")
def home() -> str:
    return render_template("admin/home.html", who=g.staff)


def entries(prefix: str, before: int | None) -> list[audit.AuditEntry]:
    """A page of the audit log: entries whose action starts with ``prefix``, newest
    first, older than ``before``."""
    query = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(PAGE)
    if prefix:
        query = query.where(audit.AuditEntry.action.startswith(prefix))
    if before is not None:
        query = query.where(audit.AuditEntry.seq < before)
    with store().session() as session:
        return list(session.scalars(query))


def page_end() -> int | None:
    """The page's end (older entries than this); given but empty or blank is refused,
    as the API document says: an integer or nothing."""
    if "before" not in request.args:
        return None
    number = whole_number(query_arg("before", 19), 1, MAX_SEQ)
    if number is None:
        abort(400, gettext("before= takes an entry number"))
    return number


def _action() -> str:
    return query_arg("action", 64)


@blueprint.get("/audit")
@require("audit.read")
def audit_log() -> str:
    action = _action()
    shown = entries(action, page_end())
    with store().session() as session:
        checked, problems = audit.verify(session)
    return render_template("admin/audit.html", entries=shown, action=action,
                           checked=checked, problems=problems, page=PAGE)


@blueprint.get("/whoami.json")
@require("inventory.read")
def whoami() -> dict[str, Any]:
    who = g.staff
    return {"name": who.name, "role": who.role.value,
            "permissions": sorted(role_grants(who.role))}


@blueprint.get("/audit.json")
@require("audit.read")
def audit_json() -> dict[str, Any]:
    shown = entries(_action(), page_end())
    return {"entries": [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                         "source": e.source, "action": e.action, "target": e.target,
                         "reason": e.reason, "result": e.result, "detail": e.detail}
                        for e in shown]}


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
        flash(gettext("Choose a role"), "error")
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
        flash(gettext("Not on your own account: ask another admin"), "error")
        return _accounts(status=403)
    act, outcome = STAFF_ACTIONS[change]
    try:
        with store().session() as session:
            act(session, name)
            audited(session, f"staff.{change.replace('-', '_')}", name)
    except staff.StaffError as error:
        flash(str(error), "error")
    else:
        flash(gettext(outcome, name=name), "ok")
    return redirect(url_for("admin.staff_accounts"))
