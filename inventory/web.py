"""Inventory pages: the district at a glance, and the staff editor of every inventory kind
(under /admin/inventory), which stores only what the importer would accept."""

from __future__ import annotations

from collections.abc import Mapping
from functools import wraps
from typing import Any, cast

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import languages
from citynet.access import View, audited, require
from citynet.catalogs import N_, gettext
from citynet.crypto import SecretBox
from citynet.db import get_meta
from citynet.errors import SecretsError
from citynet.spreadsheets import Problem
from citynet.web import box, may, query_arg, store, whole_number
from inventory import editing, forms, importer, queries
from inventory.demo import DEMO_MARK
from inventory.exporter import export
from inventory.importer import export_row
from inventory.kinds import KINDS, Kind

blueprint = Blueprint("inventory", __name__, url_prefix="/inventory",
                      template_folder="templates")

# every language with a catalog; the choice is the staff pages' (one session key)
OFFERED = tuple(languages.LOCALES)


def _language() -> None:
    """The page's language: ``?lang=`` (any of the three) switches it for the session, as
    on every staff page."""
    languages.switch("staff_lang", OFFERED)
    g.staff_lang = languages.of_request("staff_lang", OFFERED)


@blueprint.context_processor
def _offered() -> dict[str, Any]:
    return {"languages": [(code, languages.NAMES[code]) for code in OFFERED],
            "lang": g.get("staff_lang", languages.SIMPLIFIED)}


blueprint.before_request(_language)


@blueprint.get("/")
@require("inventory.read")
def overview() -> str:
    with store().session() as session:
        return render_template("inventory/overview.html", streets=queries.streets(session),
                               counts=queries.counts(session), demo=get_meta(session, DEMO_MARK),
                               kinds=forms.KIND_TITLES)


@blueprint.get("/streets/<name>")
@require("inventory.read")
def street(name: str) -> str:
    with store().session() as session:
        communities = queries.communities(session, name)
        if communities is None:
            abort(404, gettext("No street named %(name)s", name=name))
        return render_template("inventory/street.html", street=name, communities=communities,
                               demo=get_meta(session, DEMO_MARK))


@blueprint.get("/hotspots")
@require("inventory.read")
def hotspots() -> str:
    """Every hotspot (or one community's) with what a network engineer configures on it:
    its NAS and the captive-portal API URI for DHCP option 114 / RAs (RFC 8910)."""
    community = request.args.get("community") or None
    with store().session() as session:
        page = queries.hotspot_page(queries.hotspots(session, community), _page())
        return render_template("inventory/hotspots.html", page=page, community=community,
                               captive_api=url_for("portal.captive_api", _external=True),
                               demo=get_meta(session, DEMO_MARK))


@blueprint.get("/summary.json")
@require("inventory.read")
def summary() -> dict[str, Any]:
    with store().session() as session:
        return {
            "demo": get_meta(session, DEMO_MARK),
            "counts": queries.counts(session),
            "streets": [
                {"name": s.name, "communities": s.communities, "buildings": s.buildings,
                 "eligible": s.eligible, "connected": s.connected, "hotspots": s.hotspots,
                 "fiber_coverage": s.fiber_coverage}
                for s in queries.streets(session)
            ],
        }


# --- the editor: every kind through one set of views, checked by the importer -----------

editor = Blueprint("inventory_edit", __name__, url_prefix="/admin/inventory",
                   template_folder="templates")
editor.before_request(_language)
editor.context_processor(_offered)
# the staff admin lives under /admin; the pages above keep their /inventory addresses

# NAS clients are the RADIUS edge: engineers' and admins' business, not every editor's
WRITE_PERMISSION = {"nas": "nas.write"}
FILTER_MAX = 128
PAGES_MAX = 100_000
SOURCE = "web"  # what the importer's problems name as their file


def write_permission(kind_name: str) -> str:
    return WRITE_PERMISSION.get(kind_name, "inventory.write")


def require_write(view: View) -> View:
    """The write permission of the kind in the URL (``require``'s checks, per kind)."""
    by_permission = {permission: require(permission)(view)
                     for permission in {"inventory.write", *WRITE_PERMISSION.values()}}

    @wraps(view)
    def guarded(kind: str, **kwargs: Any) -> Any:
        return by_permission[write_permission(kind)](kind, **kwargs)
    guarded.permission = "inventory.write"  # type: ignore[attr-defined]  # nas: nas.write
    return cast(View, guarded)


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        abort(404, gettext("No inventory kind %(name)r", name=name))
    return kind


def _may_write(kind: Kind) -> bool:
    return may(write_permission(kind.name))




def _page() -> int:
    page = whole_number(query_arg("page", 6) or "1", 1, PAGES_MAX)
    if page is None:
        abort(400, gettext("page= takes a page number"))
    return page


@editor.get("/<kind>")
@require("inventory.read")
def records(kind: str) -> str:
    chosen = _kind(kind)
    contains = query_arg("q", FILTER_MAX)
    with store().session() as db:
        page = queries.records(db, chosen, contains, _page())
    rows = [(key, forms.summary(chosen, row)) for key, row in page.rows]
    return render_template("inventory/records.html", kind=chosen, page=page, rows=rows,
                           q=contains, title=forms.KIND_TITLES[chosen.name],
                           may_write=_may_write(chosen))


@editor.get("/<kind>.json")
@require("inventory.read")
def records_json(kind: str) -> dict[str, Any]:
    """The records as the exporter writes them, without their secrets."""
    chosen = _kind(kind)
    with store().session() as db:
        rows = export(db, [chosen])[chosen.name]
    return {"kind": chosen.name, "key": list(chosen.key),
            "columns": [f.name for f in chosen.fields if not f.secret],
            "records": [forms.public(chosen, row) for row in rows]}


@editor.get("/<kind>/new")
@require("inventory.read")
def new_record(kind: str) -> str:
    return _form(_kind(kind), None, {})


@editor.get("/<kind>/<path:key>")
@require("inventory.read")
def record(kind: str, key: str) -> str:
    chosen = _kind(kind)
    with store().session() as db:
        current = _current(db, chosen, key)
    return _form(chosen, key, current)


@editor.post("/<kind>/new")
@require_write
def create(kind: str) -> tuple[str, int] | BaseResponse:
    return _save(_kind(kind), None)


@editor.post("/<kind>/<path:key>")
@require_write
def edit(kind: str, key: str) -> tuple[str, int] | BaseResponse:
    return _save(_kind(kind), key)


@editor.post("/<kind>/<path:key>/delete")
@require_write
def delete(kind: str, key: str) -> BaseResponse:
    """Delete one record, refused (and the refusal audited) while others refer to it."""
    chosen = _kind(kind)
    target = f"{chosen.name}:{key}"
    with store().session() as db:
        outcome = editing.delete(db, chosen, key)
        if outcome is None:
            abort(404, gettext("No %(kind)s record %(key)r", kind=chosen.name, key=key))
        using = outcome.using
        if using:
            named = gettext(", ").join(f"{gettext(forms.KIND_TITLES[k])} {other}"
                                       for k, other in using[:10])
            more = len(using) - 10
            if more > 0:
                named = gettext("%(named)s and %(more)s more", named=named, more=more)
            audited(db, "inventory.delete", target, "refused", reason="still referred to",
                    detail={"used_by": [f"{k}:{other}" for k, other in using[:50]],
                            "used_by_count": len(using)})
            flash(gettext("%(key)s cannot be deleted: still referred to by %(named)s. Change "
                          "or delete those first.", key=key, named=named), "error")
            return redirect(url_for(".record", kind=chosen.name, key=key))
        audited(db, "inventory.delete", target,
                detail={"changed": forms.changes(chosen, outcome.before, None)})
    flash(gettext("%(key)s deleted", key=key), "ok")
    return redirect(url_for(".records", kind=chosen.name))


def _existing(db: Session, kind: Kind, key: str) -> Any:
    obj = importer.find(db, kind, key)
    if obj is None:
        abort(404, gettext("No %(kind)s record %(key)r", kind=kind.name, key=key))
    return obj


def _current(db: Session, kind: Kind, key: str) -> dict[str, str]:
    """The record's cells: what the form starts from (secrets as their sealed tokens, which
    stay on the server)."""
    return forms.cells(export_row(kind, _existing(db, kind, key)))


def _form(kind: Kind, key: str | None, current: dict[str, str],
          submitted: Mapping[str, str] | None = None,
          problems: list[Problem] | None = None) -> str:
    """The record's form: enabled for those who may write, with the importer's problems
    next to the fields they concern."""
    inputs = forms.inputs(kind)
    by_field: dict[str, list[str]] = {}
    for problem in problems or []:  # in the page's language
        by_field.setdefault(problem.field, []).append(gettext(problem.reason,
                                                              **problem.values))
    names = {i.name for i in inputs}
    with store().session() as db:
        options = {f.name: queries.keys(db, KINDS[f.ref]) for f in kind.fields
                   if f.ref and not f.many}
    return render_template(
        "inventory/record.html", kind=kind, key=key, inputs=inputs, options=options,
        title=forms.KIND_TITLES[kind.name], values=forms.shown(kind, current, submitted),
        secrets_set={f.name: f.name in current for f in kind.fields if f.secret},
        retype={f.name for f in kind.fields if f.secret and (submitted or {}).get(f.name)},
        problems=by_field, general=[(f, r) for f, rs in by_field.items() if f not in names
                                    for r in rs],
        may_write=_may_write(kind), clear=forms.CLEAR)


def _save(kind: Kind, key: str | None) -> tuple[str, int] | BaseResponse:
    """Create (key None) or edit a record from the form, through the importer's own checks
    and writer; refused rows come back with the input kept and the reasons shown."""
    sealing = box()
    current: dict[str, str] = {}
    try:
        with store().session() as db:
            if key is not None:
                current = _current(db, kind, key)
            outcome = _store_row(db, kind, key, current, request.form, sealing)
            if isinstance(outcome, list):
                raise _Refused(outcome)  # rolls the transaction back: nothing half-stored
            if outcome.changed:
                action = "inventory.create" if key is None else "inventory.edit"
                audited(db, action, f"{kind.name}:{outcome.key}",
                        detail={"changed": outcome.changed})
    except _Refused as refused:
        outcome = refused.problems
    except SecretsError:
        outcome = [Problem(SOURCE, 0, "", N_("No secrets key is configured, so secrets "
                                             "cannot be stored: ask an admin."))]
    except IntegrityError:  # someone else stored the same key or address meanwhile
        outcome = [Problem(SOURCE, 0, "", N_("Conflicts with a record saved meanwhile: "
                                             "reload and try again."))]
    if isinstance(outcome, list):
        return _form(kind, key, current, request.form, outcome), 400
    if not outcome.changed:
        flash(gettext("Nothing changed"), "ok")
    elif key is None:
        flash(gettext("%(key)s created", key=outcome.key), "ok")
    else:
        flash(gettext("%(key)s saved", key=outcome.key), "ok")
    return redirect(url_for(".record", kind=kind.name, key=outcome.key))


class _Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


def _store_row(db: Session, kind: Kind, key: str | None, current: dict[str, str],
               form: Mapping[str, str], box: SecretBox | None
               ) -> editing.Saved | list[Problem]:
    outcome = editing.save(db, kind, key, current, form, box, SOURCE)
    if isinstance(outcome, editing.Exists):  # a form for a new record never overwrites
        return [Problem(SOURCE, 0, kind.key[0], N_("%(key)r exists already: open it to edit "
                                                   "it"), {"key": outcome.key})]
    return outcome
