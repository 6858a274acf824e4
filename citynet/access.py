"""Who may do what on the staff web and API: login (password, then an authenticator code
for the roles that need one, enrolled at the first login), sessions with idle and absolute
timeouts, CSRF on every POST, and a permission check on every page and API call.

Roles and their permissions are data (the kernel's ``KERNEL_PERMISSIONS`` and each
domain's manifest, composed in ``PERMISSIONS``); a view says what it needs with
``@require("dashboard.read")``. API calls carry ``Authorization: Bearer <token>`` (a
staff member's token, ``citynet staff token``) and get the same permissions as its owner.
Every login, failed or not, is in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_app_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import audit, csrf, languages, staff
from citynet.catalogs import gettext
from citynet.config import Config
from citynet.db import Store
from citynet.domains import Domain, permissions, registered
from citynet.holds import SourceHold
from citynet.staff import Role, StaffUser
from citynet.web import headers_by_default

# the kernel's own permissions and who has them besides the admin; each domain adds its
# own in its manifest (citynet/domains.py)
KERNEL_PERMISSIONS: dict[str, frozenset[Role]] = {
    "audit.read": frozenset({Role.AUDITOR}),
    "staff.admin": frozenset(),
    "settings.write": frozenset(),
}

blueprint = Blueprint("access", __name__)
View = TypeVar("View", bound=Callable[..., Any])


def role_permissions(domains: Sequence[Domain]) -> dict[Role, frozenset[str]]:
    """Each role's permissions with these domains: the admin has all of them."""
    return permissions(domains, KERNEL_PERMISSIONS, Role, Role.ADMIN)


@cache
def _registered() -> dict[Role, frozenset[str]]:
    return role_permissions(registered())


def __getattr__(name: str) -> Any:
    """``PERMISSIONS`` (role → permissions), ``ALL`` and ``NOT_STAFF`` (the blueprints that
    are not staff pages) of the registered domains, composed on first use."""
    if name == "PERMISSIONS":
        return _registered()
    if name == "ALL":
        return _registered()[Role.ADMIN]
    if name == "NOT_STAFF":
        return frozenset().union(*(domain.public_blueprints for domain in registered()))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _table() -> dict[Role, frozenset[str]]:
    """The running app's permissions (its domains); the registered ones outside a request
    (the CLI)."""
    if has_app_context():
        return cast(dict[Role, frozenset[str]], current_app.extensions["citynet.permissions"])
    return _registered()


def allowed(role: Role, permission: str) -> bool:
    return permission in _table().get(role, frozenset())


def role_grants(role: Role) -> frozenset[str]:
    """What ``role`` may do in the running app (or, outside one, with the registered
    domains)."""
    return _table().get(role, frozenset())


def _store() -> Store:
    return cast(Store, current_app.extensions["citynet.store"])


def _config() -> Config:
    return cast(Config, current_app.extensions["citynet.config"])


def _now() -> datetime:
    return datetime.now(UTC)


# --- who is asking ------------------------------------------------------------------

@blueprint.before_app_request
def _identify() -> None:
    """``g.staff``: the staff member behind this request (by session or API token), or
    None. An expired session is ended here."""
    g.staff = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        with _store().session() as db:
            user = staff.user_for_token(db, header[7:].strip(), _now())
            if user is not None:
                g.staff = _Staff(user.id, user.name, Role(user.role), api=True)
        return
    staff_id = session.get("staff_id")
    if staff_id is None:
        return
    web = _config().web
    now = _now().timestamp()
    if (now - float(session.get("staff_seen", 0)) > web.staff_idle_minutes * 60
            or now - float(session.get("staff_since", 0)) > web.staff_session_hours * 3600):
        _end_session()
        session["staff_expired"] = True  # the login page says why
        return
    with _store().session() as db:
        user = db.get(StaffUser, staff_id)
        if user is None or user.disabled or user.session_epoch != session.get("staff_epoch"):
            _end_session()
            return
        g.staff = _Staff(user.id, user.name, Role(user.role))
    session["staff_seen"] = now


class _Staff:
    def __init__(self, id: int, name: str, role: Role, *, api: bool = False) -> None:
        self.id, self.name, self.role, self.api = id, name, role, api

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


def require(permission: str) -> Callable[[View], View]:
    """The view needs a logged-in staff member with ``permission``: otherwise a login
    redirect (pages), 401 (API calls), or 403."""
    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = g.get("staff")
            if who is None:
                if _wants_json():
                    return Response('{"error": "log in or send a staff API token"}', 401,
                                    {"Content-Type": "application/json",
                                     "WWW-Authenticate": "Bearer"})
                return redirect(url_for("access.login", next=request.full_path.rstrip("?")))
            if not who.can(permission):
                abort(403, gettext("Your role (%(role)s) may not do this (%(permission)s)",
                                   role=who.role.value, permission=permission))
            return view(*args, **kwargs)
        guarded.permission = permission  # type: ignore[attr-defined]  # for the role matrix test
        return cast(View, guarded)
    return decorate


def _wants_json() -> bool:
    """An API call, or a write (which a login page would lose: 401 rather than a
    redirect)."""
    return (request.headers.get("Authorization", "").startswith("Bearer ")
            or request.method in UNSAFE
            or request.path.endswith(".json")
            or request.accept_mimetypes.best == "application/json")


# --- CSRF ---------------------------------------------------------------------------

CSRF_KEY = "staff_csrf"  # the staff pages' token in the session
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    return csrf.token(CSRF_KEY)


def check_csrf() -> None:
    """Every staff POST carries the session's token (API calls use a bearer token)."""
    if g.get("staff") is not None and g.staff.api:
        return
    csrf.check(CSRF_KEY)


def _not_staff() -> frozenset[str]:
    """The blueprints that are not staff pages (the portal: its own token and language)."""
    return cast(frozenset[str], current_app.extensions["citynet.public_blueprints"])


@blueprint.before_app_request
def _csrf_on_posts() -> None:
    """Every staff POST, PUT, PATCH and DELETE, on any blueprint (later admin pages
    included): a browser's session may not change anything without the page's token."""
    if request.method not in UNSAFE or request.blueprint in _not_staff():
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if g.get("staff") is None and getattr(view, "permission", None) is not None:
        return  # nobody signed in: ``require`` refuses it (401, or the login page)
    check_csrf()


@blueprint.before_app_request
def _language() -> None:
    """The staff pages' language: ``?lang=`` switches it for the session; else the
    browser's preference; Simplified Chinese by default."""
    if request.blueprint in _not_staff():
        return
    languages.switch("staff_lang", languages.STAFF_LANGUAGES)
    g.staff_lang = languages.of_request("staff_lang", languages.STAFF_LANGUAGES)


@blueprint.after_app_request
def _not_cached(response: Response) -> Response:
    """What a signed-in staff member sees (phone numbers, voucher codes, a new password)
    stays out of browser and proxy caches."""
    if g.get("staff") is not None:
        headers_by_default(response.headers, _NO_STORE)
    return response


_NO_STORE = (("Cache-Control", "no-store"),)


def _lang_url(lang: str) -> str:
    """This page in language ``lang``, every other query parameter kept."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    return f"{request.path}?{urlencode(args, doseq=True)}"


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"staff_csrf": csrf_token, "current_staff": lambda: g.get("staff"),
            "staff_lang": lambda: g.get("staff_lang", languages.SIMPLIFIED),
            "lang_url": _lang_url, "staff_languages": _other_languages}


def _other_languages() -> list[tuple[str, str]]:
    """The language picker: (code, name written in itself) of every other language."""
    here = g.get("staff_lang", languages.SIMPLIFIED)
    return [(code, languages.NAMES[code]) for code in languages.STAFF_LANGUAGES
            if code != here]


def audited(db: Any, action: str, target: str, result: str = "ok", *, reason: str = "",
            detail: dict[str, Any] | None = None) -> int:
    """Put the signed-in staff member's action in the audit log, in the caller's
    transaction (so the change and its entry land together or not at all); its seq.
    ``detail`` holds no secret."""
    who = g.staff
    return audit.record(db, audit.Action(action, target, result, reason, detail or {},
                                         actor=who.name if who else "unknown",
                                         source=request.remote_addr or ""))


# --- login --------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target:
        return url_for("home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home")
    return target


def _record(name: str, result: str, detail: dict[str, Any]) -> None:
    with _store().session() as db:
        audit.record(db, audit.Action("staff.login", name, result, "",
                                      detail, actor=name or "unknown",
                                      source=request.remote_addr or ""))


def _hold() -> SourceHold:
    """The staff sign-in's hold on this request's client address."""
    return SourceHold.of(staff.DOOR, request.remote_addr or "",
                         _config().web.staff_source_failures)


def _held(template: str, retry_after: int, **page: Any) -> Response:
    """429 for a client address held after too many failed sign-ins over any names; it
    says nothing of any account, so it may say what it is."""
    minutes = max(1, (retry_after + 59) // 60)
    error = gettext("Too many failed sign-ins from your network: try again in "
                    "%(minutes)s minute(s), or ask an admin.", minutes=minutes)
    answer = Response(render_template(template, error=error, **page), 429)
    answer.headers["Retry-After"] = str(retry_after)
    return answer


def _start_session(user_id: int) -> None:
    """A new session at login: nothing of the old one is kept (no fixation)."""
    with _store().session() as db:
        user = db.get(StaffUser, user_id)
        epoch = user.session_epoch if user is not None else -1
    session.clear()
    now = _now().timestamp()
    session.update(staff_id=user_id, staff_since=now, staff_seen=now, staff_epoch=epoch,
                   staff_csrf=csrf.fresh())
    session.permanent = False


def _end_session() -> None:
    for key in ("staff_id", "staff_since", "staff_seen", "staff_pending", CSRF_KEY,
                "staff_epoch"):
        session.pop(key, None)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse:
    next_path = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("access/login.html", next=next_path, error="",
                               expired=session.pop("staff_expired", False))
    name = request.form.get("name", "").strip()
    with _store().session() as db:
        attempt = staff.check_password(db, name, request.form.get("password", ""), _now(),
                                       _hold())
        user_id = attempt.user.id if attempt.user is not None else None
    if not attempt.ok or user_id is None:
        _record(name, "failed", {"reason": attempt.reason})
        if attempt.reason == "held":
            return _held("access/login.html", attempt.retry_after, next=next_path,
                         expired=False)
        # one message for every refusal: which names exist, or are locked, is not told
        message = gettext("Wrong name or password, or too many attempts: wait a minute "
                          "and try again, or ask an admin (citynet staff unlock)")
        return Response(render_template("access/login.html", next=next_path, error=message,
                                        expired=False), 401)
    if attempt.needs_totp or attempt.must_enrol:
        session.clear()
        session.update(staff_pending=user_id, staff_pending_at=_now().timestamp(),
                       staff_csrf=csrf.fresh())
        step = "access.enrol" if attempt.must_enrol else "access.second_factor"
        return redirect(url_for(step, next=next_path))
    _record(name, "ok", {"factors": "password"})  # audited first: no unrecorded login
    _start_session(user_id)
    return redirect(next_path)


def _pending() -> StaffUser | None:
    """The staff member who passed the password step in the last 5 minutes."""
    user_id = session.get("staff_pending")
    if user_id is None or _now().timestamp() - float(session.get("staff_pending_at", 0)) > 300:
        return None
    with _store().session() as db:
        user = db.get(StaffUser, user_id)
        if user is not None:
            db.expunge(user)
        return user


@blueprint.route("/login/code", methods=["GET", "POST"])
def second_factor() -> str | BaseResponse:
    next_path = _safe_next(request.values.get("next"))
    user = _pending()
    if user is None:
        return redirect(url_for("access.login", next=next_path))
    if request.method == "GET":
        return render_template("access/code.html", next=next_path, error="", name=user.name)
    box = current_app.extensions["citynet.box"]
    with _store().session() as db:
        fresh = db.get(StaffUser, user.id)
        assert fresh is not None  # noqa: S101 - read above
        attempt = staff.second_factor(db, fresh, request.form.get("code", "").strip(), box,
                                      _now(), _hold())
    if not attempt.ok:
        _record(user.name, "failed", {"reason": attempt.reason})
        if attempt.reason == "held":
            return _held("access/code.html", attempt.retry_after, next=next_path,
                         name=user.name)
        error = gettext("Wrong or reused code")
        return Response(render_template("access/code.html", next=next_path, name=user.name,
                                        error=error), 401)
    _record(user.name, "ok", {"factors": "password+totp"})
    _start_session(user.id)
    return redirect(next_path)


@blueprint.route("/login/enrol", methods=["GET", "POST"])
def enrol() -> str | BaseResponse:
    """First login of a role that needs a second factor: scan, then prove it works."""
    next_path = _safe_next(request.values.get("next"))
    user = _pending()
    if user is None:
        return redirect(url_for("access.login", next=next_path))
    if user.totp_enrolled:  # enrolling again takes an admin's reset-2fa, not a password
        return redirect(url_for("access.second_factor", next=next_path))
    if request.method == "GET":
        uri = _pending_secret(user.id)
        qr = segno.make(uri, error="m").svg_inline(scale=4)
        return render_template("access/enrol.html", next=next_path, qr=qr, name=user.name,
                               uri=uri, typed=staff.typed_secret(uri), error="")
    return second_factor()


@blueprint.post("/login/enrol/new")
def enrol_anew() -> BaseResponse:
    """A new secret only when the person asks (a lost scan, a second try on another
    phone): the one shown before stops working."""
    next_path = _safe_next(request.values.get("next"))
    user = _pending()
    if user is None:
        return redirect(url_for("access.login", next=next_path))
    if not user.totp_enrolled:
        _pending_secret(user.id, renew=True)
    return redirect(url_for("access.enrol", next=next_path))


def _pending_secret(user_id: int, renew: bool = False) -> str:
    """The otpauth URI of the account's secret waiting for its first code."""
    with _store().session() as db:
        fresh = db.get(StaffUser, user_id)
        assert fresh is not None  # noqa: S101 - read by the caller
        return staff.enrol_totp(db, fresh, current_app.extensions["citynet.box"],
                                renew=renew)


@blueprint.post("/logout")
def logout() -> BaseResponse:
    who = g.get("staff")
    _end_session()
    if who is not None:
        with _store().session() as db:  # a copy of the old cookie is worthless from now on
            user = db.get(StaffUser, who.id)
            if user is not None:
                staff.end_sessions(user)
        _record(who.name, "ok", {"event": "logout"})
    return redirect(url_for("access.login"))


@blueprint.app_errorhandler(403)
def _forbidden(error: Any) -> tuple[str, int]:
    return render_template("access/forbidden.html", message=getattr(error, "description",
                                                                     "")), 403


def setup(app: Flask, domains: Sequence[Domain]) -> None:
    app.extensions["citynet.permissions"] = role_permissions(domains)
    app.extensions["citynet.public_blueprints"] = frozenset().union(
        *(domain.public_blueprints for domain in domains))
    app.register_blueprint(blueprint)
    app.permanent_session_lifetime = timedelta(hours=_config_of(app).web.staff_session_hours)


def check_permissions(app: Flask) -> None:
    """Every view's ``@require`` names a permission some domain declares (a typo would
    lock everyone but nobody out): checked once the blueprints are in."""
    known = app.extensions["citynet.permissions"][Role.ADMIN]
    for endpoint, view in app.view_functions.items():
        permission = getattr(view, "permission", None)
        if permission is not None and permission not in known:
            raise ValueError(f"{endpoint}: unknown permission {permission!r}")


def _config_of(app: Flask) -> Config:
    return cast(Config, app.extensions["citynet.config"])
