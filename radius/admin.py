"""The staff pages for public WiFi sessions and the records the law asks for: find and
disconnect sessions (operators), search and export login records for lawful requests
(auditors; every look is in the audit log), and how long the records are kept (admins).
No page deletes: what is past retention the leader purges (radius/retention.py), or
``citynet records purge``."""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import (
    Blueprint,
    Response,
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
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require
from citynet.catalogs import N_, gettext
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.macs import normal_mac
from citynet.spreadsheets import SpreadsheetDictWriter
from citynet.web import MAX_ID, form_text, query_arg, store, whole_number
from inventory.models import NasClient
from radius import coa, records
from radius import sessions as live_sessions
from radius.models import RadiusSession
from radius.records import MAC_SPELLING
from radius.wire import Code

blueprint = Blueprint("radius_admin", __name__, url_prefix="/admin",
                      template_folder="templates")

SESSIONS_SHOWN = 200
RECORDS_SHOWN = 500  # on the page; the CSV export has every matching row
REASON_MAX = 200
LONGEST = {"who": 64, "phone": 64, "mac": 32, "ip": 45, "nas": 64, "since": 32, "until": 32,
           "reason": REASON_MAX, "stopped": 5}
YES = frozenset({"1", "on", "true", "yes"})  # a checkbox's value, or an API client's
RECORD_CRITERIA = ("phone", "mac", "ip", "since", "until")
# NotAddressable.kind → why a session cannot be disconnected, for the front desk
NOT_ADDRESSABLE = {
    "nas_gone": N_("This session's hotspot (NAS) is no longer registered: it cannot be "
                   "disconnected."),
    "nas_network": N_("This hotspot is registered as a network, not one address: ask a "
                      "network engineer to correct it."),
    "no_key": N_("The secrets key is missing, so the hotspot's shared secret cannot be "
                 "read: ask an admin."),
}


def _config() -> Config:
    return cast(Config, current_app.extensions["citynet.config"])


def _arg(name: str) -> str:
    """A query parameter given at most once, within its length (else 400), stripped."""
    return query_arg(name, LONGEST[name])


def _bad_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return True
    return False


def _utc(raw: str) -> datetime | None:
    """An HTML datetime-local value (or any ISO 8601 time), read as UTC; None if not one."""
    try:
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59-14:00 is past the last year
        return None


def _described(criteria: dict[str, str]) -> str:
    """The criteria as the audit entry's target: what was looked for."""
    return "; ".join(f"{key}={value}" for key, value in criteria.items() if value)[:255]


# --- sessions ------------------------------------------------------------------------

def _address_problems(given: dict[str, str]) -> dict[str, str]:
    """What is wrong with the MAC and IP filters, by field."""
    problems = {}
    if given["mac"] and not re.fullmatch(MAC_SPELLING, given["mac"]):
        problems["mac"] = gettext("'%(given)s' is not a MAC address", given=given["mac"])
    if given["ip"] and _bad_ip(given["ip"]):
        problems["ip"] = gettext("'%(given)s' is not an IP address", given=given["ip"])
    return problems


def _said(problems: dict[str, str]) -> str:
    """The problems in one line (an API's error, a plain 400)."""
    return "; ".join(problems.values())


def _session_search() -> tuple[dict[str, str], dict[str, str]]:
    """The filters as given, and what is wrong with them, by field."""
    given = {name: _arg(name) for name in ("who", "mac", "ip", "nas", "stopped")}
    given["stopped"] = "1" if given["stopped"].lower() in YES else ""
    return given, _address_problems(given)


def _found_sessions(given: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:
    with store().session() as db:
        rows, more = live_sessions.search(db, who=given["who"], mac=given["mac"],
                                          ip=given["ip"], nas=given["nas"],
                                          stopped_too=bool(given["stopped"]),
                                          limit=SESSIONS_SHOWN)
        return [live_sessions.view(r) for r in rows], more


@blueprint.get("/sessions")
@require("sessions.read")
def sessions() -> tuple[str, int]:
    given, problems = _session_search()
    found, more = ([], False) if problems else _found_sessions(given)
    with store().session() as db:
        nas_names = list(db.scalars(select(NasClient.name).order_by(NasClient.name)))
    return render_template("radius_admin/sessions.html", given=given, problems=problems,
                           sessions=found, more=more, limit=SESSIONS_SHOWN,
                           nas_names=nas_names, back=request.query_string.decode(),
                           reason_max=REASON_MAX), 400 if problems else 200


@blueprint.get("/sessions.json")
@require("sessions.read")
def sessions_json() -> tuple[dict[str, Any], int]:
    given, problems = _session_search()
    if problems:
        return {"error": _said(problems)}, 400
    found, more = _found_sessions(given)
    return {"sessions": found, "truncated": more, "limit": SESSIONS_SHOWN}, 200


def _refuse(status: int, message: str, back: str, field: str = ""
            ) -> tuple[dict[str, Any], int] | BaseResponse:
    """A kick that cannot go ahead (``message`` in the page's language): JSON for API
    clients (keyed by the form field it concerns, ``""`` for the kick as a whole;
    ``error`` kept for older scripts), else a flash on the list."""
    if g.staff.api:
        return {"errors": {field: message}, "error": message}, status
    flash(message, "error")
    return redirect(back)


def _back() -> str:
    """The sessions list as the operator had it filtered (only ever a path on this site)."""
    query = request.form.get("back", "")
    path = url_for("radius_admin.sessions")
    return f"{path}?{query}" if query and len(query) <= 1000 and query.isprintable() else path


@blueprint.post("/sessions/kick")
@require("sessions.kick")
def kick() -> tuple[dict[str, Any], int] | BaseResponse:
    """Disconnect one open session: a Disconnect-Request (RFC 5176) to its NAS, as
    ``citynet sessions kick`` sends. Waits for the NAS's answer (up to 3 × 2 s)."""
    back = _back()
    row_id = request.form.get("session", "").strip()
    if g.staff.api and "\x00" in request.form.get("reason", ""):  # pages: form_text's 400
        return _refuse(400, gettext("The reason holds a NUL character"), back, "reason")
    reason = form_text("reason")
    row = whole_number(row_id, 1, MAX_ID)
    if row is None:
        return _refuse(400, gettext("Choose a session"), back, "session")
    if not reason:
        return _refuse(400, gettext("Give a reason for the disconnect"), back, "reason")
    if len(reason) > REASON_MAX:
        return _refuse(400, gettext("The reason is at most %(most)s characters",
                                    most=REASON_MAX), back, "reason")
    box: SecretBox | None = current_app.extensions.get("citynet.box")
    with store().session() as db:
        live = db.get(RadiusSession, row)
        if live is None:
            return _refuse(404, gettext("No such session (it may have been cleaned up): "
                                        "reload the list"), back, "session")
        if live.stopped_at is not None:
            return _refuse(409, gettext("This session has already ended: nothing to "
                                        "disconnect"), back, "session")
        try:
            target = live_sessions.target(db, box, live)
        except live_sessions.NotAddressable as problem:
            return _refuse(409, gettext(NOT_ADDRESSABLE[problem.kind]), back)
        who, mac, session_id = (live_sessions.shown(live.identity or live.username,
                                                    live.method),
                                normal_mac(live.calling_station) or live.calling_station,
                                live.session_id)
    # outside any transaction: the NAS may take seconds to answer
    result = coa.send(target.host, target.secret, Code.DISCONNECT_REQUEST, target.identity,
                      port=_config().radius.coa_port, source=coa.source_for(_config().radius))
    with store().session() as db:
        seq = audited(db, "sessions.kick", f"{session_id}@{target.nas}",
                      "ok" if result.ok else "failed", reason=reason,
                      detail={"session": row, "nas": target.nas, "who": who,
                              "mac": mac, "answer": result.answer,
                              "error_cause": result.error_cause,
                              "attempts": result.attempts})
    if g.staff.api:
        return {"kicked": result.ok, "session": row, "session_id": session_id,
                "nas": target.nas, "answer": result.answer, "error_cause": result.error_cause,
                "attempts": result.attempts, "audit_seq": seq}, 200 if result.ok else 502
    flash(_outcome(result, who, mac, target.nas), "ok" if result.ok else "error")
    return redirect(back)


def _outcome(result: coa.CoaResult, who: str, mac: str, nas: str) -> str:
    """What the NAS's answer means, for the front desk."""
    if result.ok:
        return gettext("Disconnected %(who)s's device %(mac)s (hotspot %(nas)s confirmed). "
                       "The list shows it as ended once the hotspot reports the logout.",
                       who=who, mac=mac, nas=nas)
    if result.error_cause == "Session-Context-Not-Found":
        return gettext("Hotspot %(nas)s no longer has this session: the device has "
                       "probably left already.", nas=nas)
    if result.answer == coa.NO_ANSWER:
        return gettext("Hotspot %(nas)s did not answer (%(tries)s tries); not "
                       "disconnected: ask a network engineer to check its CoA port and "
                       "shared secret.", nas=nas, tries=result.attempts)
    return gettext("Hotspot %(nas)s refused to disconnect (%(answer)s): ask a network "
                   "engineer.", nas=nas, answer=result.error_cause or result.answer)


# --- login records (real-name rules) ---------------------------------------------------

def _record_search() -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """(criteria as given, as search arguments, what is wrong with them by field; "" for
    the search as a whole)."""
    given = {name: _arg(name) for name in RECORD_CRITERIA}
    parsed: dict[str, Any] = {"identity": given["phone"] or None, "mac": None,
                              "ip": given["ip"] or None, "since": None, "until": None}
    if not any(given.values()):
        return given, parsed, {"": gettext("Give at least one of phone, MAC, IP or a time "
                                           "range")}
    if given["mac"]:
        parsed["mac"] = normal_mac(given["mac"])
    problems = _address_problems(given)
    for name in ("since", "until"):
        if given[name]:
            parsed[name] = _utc(given[name])
            if parsed[name] is None:
                problems[name] = gettext("%(field)s: a time like 2026-11-01T08:00",
                                         field=name)
    return given, parsed, problems


@blueprint.get("/records")
@require("records.read")
def records_page() -> tuple[str, int]:
    """Search the login records; each search is audited (who looked up whom, and why)."""
    asked = any(name in request.args for name in RECORD_CRITERIA)
    given, parsed, problems = _record_search()
    reason = _arg("reason")
    found: list[dict[str, object]] = []
    more = False
    if asked and not problems:
        with store().session() as db:
            rows = records.search(db, **parsed, limit=RECORDS_SHOWN + 1)
            more = len(rows) > RECORDS_SHOWN
            found = [records.export_row(r) for r in rows[:RECORDS_SHOWN]]
            audited(db, "records.search", _described(given), reason=reason,
                    detail={"criteria": {k: v for k, v in given.items() if v},
                            "shown": len(found), "more": more})
    status = 400 if asked and problems else 200
    return render_template("radius_admin/records.html", given=given, reason=reason,
                           problems=problems if asked else {}, asked=asked, records=found,
                           more=more, limit=RECORDS_SHOWN, columns=records.COLUMNS,
                           reason_max=REASON_MAX), status


@blueprint.get("/records.csv")
@require("records.export")
def records_csv() -> Response:
    """Every matching record as CSV (the columns of ``citynet records search --csv``),
    streamed; audited with the criteria, the request's reference and the row count."""
    given, parsed, problems = _record_search()
    reason = _arg("reason")
    if problems:
        abort(400, _said(problems))
    if not reason:
        abort(400, gettext("reason= is required: the lawful request's reference (e.g. a "
                           "case number)"))
    conditions = records.matching(**parsed)
    with store().session() as db:
        count, last = records.count(db, conditions)
        audited(db, "records.export", _described(given), reason=reason,
                detail={"criteria": {k: v for k, v in given.items() if v}, "rows": count})
    source = store()

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = SpreadsheetDictWriter(buffer, records.COLUMNS, lineterminator="\n")
        writer.writeheader()
        with source.session() as db:
            # what was counted (and audited) is what is sent
            for number, record in enumerate(records.export(db, conditions, last), 1):
                writer.writerow(records.export_row(record))
                if number % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(lines(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="login-records-{stamp}.csv"'})


# --- retention -----------------------------------------------------------------------

@blueprint.get("/settings/retention")
@require("settings.write")
def retention() -> str:
    return _retention_page()


def _retention_page(problems: dict[str, str] | None = None) -> str:
    """The retention form, with what is wrong by field (shown next to it, as the
    inventory editor does)."""
    settings = _config().records
    default = settings.retention_days
    with store().session() as db:
        stored = records.stored_retention_days(db)
        days = records.retention_days(db, default)
        cutoff = datetime.now(UTC) - timedelta(days=days)
        older, oldest = records.past_retention(db, cutoff)
    return render_template("radius_admin/retention.html", default=default, stored=stored,
                           days=days, cutoff=cutoff, older=older, oldest=oldest,
                           low=records.MIN_RETENTION_DAYS, high=records.MAX_RETENTION_DAYS,
                           auto_purge=settings.auto_purge, problems=problems or {})


@blueprint.post("/settings/retention")
@require("settings.write")
def retention_save() -> BaseResponse | tuple[str, int]:
    """Set the retention (or, with ``reset``, go back to the config file's value)."""
    here = url_for("radius_admin.retention")
    raw = request.form.get("days", "").strip()
    reset = "reset" in request.form
    low, high = records.MIN_RETENTION_DAYS, records.MAX_RETENTION_DAYS
    days = whole_number(raw, low, high)
    if not reset and days is None:
        return _retention_page({"days": gettext(
            "Retention is a whole number of days from %(low)s to %(high)s (the law asks "
            "for at least %(low)s)", low=low, high=high)}), 400
    default = _config().records.retention_days
    with store().session() as db:
        before = records.retention_days(db, default)
        stored = records.stored_retention_days(db)
        wanted = None if reset else days
        if wanted == stored:
            flash(gettext("Unchanged"), "ok")
            return redirect(here)
        records.set_retention_days(db, wanted)
        after = records.retention_days(db, default)
        audited(db, "settings.retention", "records.retention_days",
                detail={"old": before, "new": after, "old_stored": stored,
                        "new_stored": wanted, "config": default})
    flash(gettext("Login records are kept %(days)s days", days=after), "ok")
    return redirect(here)
