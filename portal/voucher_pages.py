"""The staff pages for vouchers: create a batch, list, print, revoke.

Voucher codes are credentials: they appear on the batch page and the printed sheet (both
``no-store``, as every staff page), never in an audit entry — revocations name the
voucher by its id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require
from citynet.catalogs import N_, gettext
from citynet.web import store, whole_number
from portal import admin_pages, sheet
from radius import vouchers

MAX_COUNT = 1000  # codes per batch from the web (the CLI takes up to 10 000)
# a batch name from the web: a word, then word characters, dots and dashes (no slash: it
# is part of the page's address)
BATCH_NAME = re.compile(r"\w[\w.\-]*")
VOUCHER_STATES = {  # vouchers.state → (msgid, CSS class)
    "unused": (N_("unused"), "ok"),
    "in_use": (N_("in use"), "ok"),
    "used_up": (N_("used up"), "muted"),
    "expired": (N_("expired"), "muted"),
    "revoked": (N_("revoked"), "bad"),
}
UNNAMED = "-"  # the address of the batch with no name (the CLI's default)


@dataclass(frozen=True)
class BatchForm:
    """The create form as typed (kept when it is refused)."""

    batch: str = ""
    count: str = "50"
    minutes: str = "120"
    devices: str = "1"
    valid_days: str = "90"


FIELDS = (  # BatchForm field, lowest, highest (the CLI's limits), label, problem: msgids
    ("count", 1, MAX_COUNT, N_("Number of codes"),
     N_("Number of codes must be a whole number from %(low)s to %(high)s")),
    ("minutes", 1, vouchers.MAX_MINUTES, N_("Minutes"),
     N_("Minutes must be a whole number from %(low)s to %(high)s")),
    ("devices", 1, vouchers.MAX_DEVICES, N_("Devices"),
     N_("Devices must be a whole number from %(low)s to %(high)s")),
    ("valid_days", 1, vouchers.MAX_VALID_DAYS, N_("Valid days"),
     N_("Valid days must be a whole number from %(low)s to %(high)s")),
)


def _batch_problems(form: BatchForm) -> dict[str, str]:
    """What is wrong with the form, by field (shown next to it, as the inventory editor
    does)."""
    problems = {}
    if not form.batch:
        problems["batch"] = gettext("Give the batch a name")
    elif len(form.batch) > vouchers.BATCH_MAX or not BATCH_NAME.fullmatch(form.batch):
        problems["batch"] = gettext("A batch name has letters, digits, dots and dashes, at "
                                    "most %(most)s characters", most=vouchers.BATCH_MAX)
    for field, low, high, _label, problem in FIELDS:
        raw = getattr(form, field)
        if whole_number(raw, low, high) is None:
            problems[field] = gettext(problem, low=low, high=high)
    return problems


def _named(slug: str) -> str:
    """The batch a page address names."""
    return "" if slug == UNNAMED else slug


def _batch_url(batch: str) -> str:
    return url_for("portal_admin.voucher_batch", batch=batch or UNNAMED)


def _batches() -> list[dict[str, Any]]:
    with store().session() as db:
        return [b.view() for b in vouchers.batches(db, admin_pages.now())]


def _vouchers_page(form: BatchForm, status: int = 200,
                   problems: dict[str, str] | None = None) -> tuple[str, int]:
    return render_template("portal_admin/vouchers.html", batches=_batches(), form=form,
                           fields=FIELDS, problems=problems or {}), status


@admin_pages.blueprint.get("/vouchers")
@require("vouchers.write")
def voucher_batches() -> tuple[str, int]:
    return _vouchers_page(BatchForm())


@admin_pages.blueprint.get("/vouchers.json")
@require("vouchers.write")
def voucher_batches_json() -> dict[str, Any]:
    return {"batches": _batches()}


def _create(form: BatchForm) -> dict[str, str]:
    """Create the batch the form asks for, audited; what is wrong with it, by field
    (nothing stored then)."""
    problems = _batch_problems(form)
    if not problems:
        with store().session() as db:
            if vouchers.batch_exists(db, form.batch):
                problems["batch"] = gettext("Batch %(batch)s exists: choose another name",
                                            batch=repr(form.batch))
            else:
                terms = {"count": int(form.count), "minutes": int(form.minutes),
                         "devices": int(form.devices), "valid_days": int(form.valid_days)}
                vouchers.create(db, terms["count"], terms["minutes"], terms["devices"],
                                form.batch, terms["valid_days"])
                audited(db, "vouchers.create", form.batch, detail=terms)  # never the codes
    return problems


@admin_pages.blueprint.post("/vouchers")
@require("vouchers.write")
def voucher_create() -> tuple[str, int] | BaseResponse:
    form = BatchForm(**{name: request.form.get(name, "").strip()[:80]
                        for name in ("batch", "count", "minutes", "devices", "valid_days")})
    problems = _create(form)
    if problems:
        return _vouchers_page(form, 400, problems)
    flash(gettext("%(count)s vouchers created", count=form.count), "ok")
    return redirect(_batch_url(form.batch))


@admin_pages.blueprint.post("/vouchers.json")
@require("vouchers.write")
def voucher_create_json() -> tuple[dict[str, Any], int]:
    """The create form as a JSON call: the batch (its counts, not its codes: those are on
    its page) or ``{"errors": {field: reason}}`` (409 for a name taken)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {"errors": {"": "the body is a JSON object"}}, 400
    unknown = set(body) - {"batch", "count", "minutes", "devices", "valid_days"}
    if unknown:
        return {"errors": {name: "no such field" for name in sorted(unknown)}}, 400
    typed = {name: value for name, value in body.items()
             if isinstance(value, str) or (isinstance(value, int)
                                           and not isinstance(value, bool))}
    if typed.keys() != body.keys() or "\x00" in "".join(map(str, typed.values())):
        return {"errors": {name: "a text or a whole number" for name in body
                           if name not in typed or "\x00" in str(body[name])}}, 400
    form = BatchForm(**{name: str(value).strip()[:80] for name, value in typed.items()})
    problems = _create(form)
    if problems:
        return {"errors": problems}, 409 if set(problems) == {"batch"} and \
            _batch_problems(form) == {} else 400
    made = next(b for b in _batches() if b["batch"] == form.batch)
    return {**made, "url": _batch_url(form.batch)}, 201


def _code_view(voucher: vouchers.Voucher, now: datetime) -> dict[str, Any]:
    return {"id": voucher.id, "code": vouchers.display(voucher.code),
            "state": vouchers.state(voucher, now), "devices": voucher.devices,
            "devices_used": voucher.devices_used, "minutes": voucher.minutes,
            "first_used_at": voucher.first_used_at, "valid_until": voucher.valid_until,
            "revoked_at": voucher.revoked_at}


@admin_pages.blueprint.get("/vouchers/<path:batch>")
@require("vouchers.write")
def voucher_batch(batch: str) -> Response:
    slug, batch, now = batch, _named(batch), admin_pages.now()
    with store().session() as db:
        codes = [_code_view(v, now) for v in vouchers.in_batch(db, batch)]
    if not codes:
        abort(404, gettext("No batch %(batch)s", batch=repr(batch)))
    page = render_template("portal_admin/batch.html", batch=batch, slug=slug, codes=codes,
                           states=VOUCHER_STATES, reason_max=admin_pages.REASON_MAX,
                           unused=sum(c["state"] == "unused" for c in codes))
    return Response(page)


@admin_pages.blueprint.get("/vouchers/<path:batch>/sheet")
@require("vouchers.write")
def voucher_sheet(batch: str) -> Response:
    """The printable sheet (as ``citynet vouchers sheet``): unused codes, or ``?all=1``
    every code not revoked. Printing credentials is audited."""
    batch, unused = _named(batch), admin_pages.arg("all") != "1"
    with store().session() as db:
        printed = sheet.of_batch(db, batch, unused)
        if printed:
            audited(db, "vouchers.print", batch,
                    detail={"codes": len(printed), "unused_only": unused})
    if not printed:
        abort(404, gettext("Batch %(batch)s has no vouchers to print", batch=repr(batch)))
    return Response(sheet.render(batch, printed))


@admin_pages.blueprint.post("/vouchers/revoke")
@require("vouchers.write")
def voucher_revoke() -> BaseResponse:
    """Revoke one code (``code``, any spelling) or a batch's unused codes (``batch``)."""
    code, batch, reason = (request.form.get("code", "")[:40],
                           _named(request.form.get("batch", "")), admin_pages.reason())
    listed = url_for("portal_admin.voucher_batches")
    back = _batch_url(batch) if request.form.get("batch") else listed
    if not code and not request.form.get("batch"):  # "" is no batch: the unnamed one is "-"
        flash(gettext("Give a voucher code or a batch"), "error")
        return redirect(listed)
    if not reason:
        flash(gettext("Give a reason to revoke"), "error")
        return redirect(back)
    now = admin_pages.now()
    with store().session() as db:
        if not code:
            if not vouchers.batch_exists(db, batch):
                flash(gettext("No such batch"), "error")
                return redirect(listed)
            count = vouchers.revoke_unused(db, batch, now)
            audited(db, "vouchers.revoke", batch, reason=reason,
                    detail={"unused_revoked": count})
            flash(gettext("%(count)s unused vouchers revoked; those in use are not "
                          "affected (revoke them one by one)", count=count), "ok")
            return redirect(back)
        voucher = vouchers.find(db, code)
        if voucher is None:
            flash(gettext("No such voucher code"), "error")
            return redirect(back)
        was, shown = vouchers.state(voucher, now), vouchers.display(voucher.code)
        back = _batch_url(voucher.batch)
        if not vouchers.revoke(db, voucher, now):
            flash(gettext("%(code)s was revoked already", code=shown), "error")
            return redirect(back)
        # the target names the voucher by its id: a code is a credential
        audited(db, "vouchers.revoke", f"voucher {voucher.id}", reason=reason,
                detail={"batch": voucher.batch, "was": was})
    if was == "in_use":
        flash(gettext("%(code)s revoked: it admits no new device. The session already "
                      "online continues until it ends or is disconnected on the sessions "
                      "page.", code=shown), "ok")
    else:
        flash(gettext("%(code)s revoked", code=shown), "ok")
    return redirect(back)


