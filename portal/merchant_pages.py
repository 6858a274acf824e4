"""The staff pages for merchants' promotions on the portal: add, edit, remove."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require
from citynet.catalogs import N_, gettext
from citynet.config import Config
from citynet.web import MAX_ID, store
from inventory.models import Community
from portal import admin_pages
from portal import merchants as offers


def images() -> Path:
    config = cast(Config, current_app.extensions["citynet.config"])
    return config.data_path / "merchants"


@dataclass(frozen=True)
class OfferForm:
    """The add/edit form as typed (kept when it is refused)."""

    name: str = ""
    category: str = ""
    offer: str = ""
    communities: tuple[str, ...] = ()
    valid_from: str = ""
    valid_until: str = ""


def _offer_form() -> OfferForm:
    text = {name: request.form.get(name, "").strip()[:1000]
            for name in ("name", "category", "offer", "valid_from", "valid_until")}
    chosen = tuple(dict.fromkeys(c.strip() for c in request.form.getlist("community")
                                 if c.strip()))[:500]
    return OfferForm(communities=chosen, **text)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _draft(form: OfferForm) -> tuple[offers.Draft, list[offers.Problem]]:
    """The offer to check, and what is wrong with its dates; a date that is not one is
    stood in for by the other (or today), so the rest is still checked."""
    starts, ends = _day(form.valid_from), _day(form.valid_until)
    problems = [offers.Problem(field, message)
                for field, day, message in (
                    ("valid_from", starts, N_("the first day must be a date (YYYY-MM-DD)")),
                    ("valid_until", ends, N_("the last day must be a date (YYYY-MM-DD)")))
                if day is None]
    stand_in = starts or ends or admin_pages.now().date()
    return offers.Draft(form.name, form.category, form.offer, form.communities,
                        starts or stand_in, ends or stand_in), problems


def _upload() -> tuple[bytes | None, offers.Problem | None]:
    """The uploaded picture, if any, and what is wrong with it."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return None, None
    data = upload.read()
    return data, offers.image_problem(data)


def merchant_view(m: offers.Merchant, today: date) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "category": m.category, "offer": m.offer,
            "image": bool(m.image), "communities": list(m.communities),
            "valid_from": m.valid_from.isoformat(), "valid_until": m.valid_until.isoformat(),
            "active": m.valid_from <= today <= m.valid_until, "impressions": m.impressions,
            "clicks": m.clicks,
            "ctr": round(m.clicks / m.impressions, 4) if m.impressions else None}


def _merchants() -> list[dict[str, Any]]:
    today = admin_pages.now().date()
    with store().session() as db:
        return [merchant_view(m, today) for m in
                db.scalars(select(offers.Merchant).order_by(offers.Merchant.name))]


def _communities() -> list[str]:
    with store().session() as db:
        return list(db.scalars(select(Community.name).order_by(Community.name)))


def _by_field(problems: list[offers.Problem]) -> dict[str, str]:
    """The offer's problems keyed by field, in the page's language (shown beside it)."""
    keyed: dict[str, list[str]] = {}
    for problem in problems:
        keyed.setdefault(problem.field, []).append(problem.text())
    return {field: "; ".join(texts) for field, texts in keyed.items()}


def _merchants_page(form: OfferForm, problems: list[offers.Problem],
                    status: int = 200) -> tuple[str, int]:
    return render_template("portal_admin/merchants.html", merchants=_merchants(), form=form,
                           problems=_by_field(problems), communities=_communities(),
                           max_image=offers.MAX_IMAGE_BYTES, longest=offers.LONGEST), status


def _edit_page(merchant: dict[str, Any], form: OfferForm, problems: list[offers.Problem],
               status: int = 200) -> tuple[str, int]:
    return render_template("portal_admin/merchant.html", merchant=merchant, form=form,
                           problems=_by_field(problems), communities=_communities(),
                           max_image=offers.MAX_IMAGE_BYTES, longest=offers.LONGEST), status


@admin_pages.blueprint.get("/merchants")
@require("merchants.write")
def merchant_list() -> tuple[str, int]:
    today = admin_pages.now().date().isoformat()
    return _merchants_page(OfferForm(valid_from=today), [])


@admin_pages.blueprint.get("/merchants.json")
@require("merchants.write")
def merchant_list_json() -> dict[str, Any]:
    return {"merchants": _merchants()}


@admin_pages.blueprint.post("/merchants")
@require("merchants.write")
def merchant_add() -> tuple[str, int] | BaseResponse:
    form = _offer_form()
    draft, problems = _draft(form)
    data, bad_image = _upload()
    problems += [bad_image] if bad_image else []
    with store().session() as db:
        problems += offers.problems(db, draft)
        if not problems:
            merchant = offers.add(db, draft, admin_pages.now())
            if data is not None:
                merchant.image = offers.save_image(images(), merchant.id, data)
            audited(db, "merchants.add", draft.name, detail={
                "category": draft.category, "communities": list(draft.communities),
                "valid_from": draft.valid_from.isoformat(),
                "valid_until": draft.valid_until.isoformat(), "image": data is not None})
    if problems:
        return _merchants_page(form, problems, 400)
    reshow()
    flash(gettext("%(name)s added", name=form.name), "ok")
    return redirect(url_for("portal_admin.merchant_list"))


def reshow() -> None:
    """This process's portal shows the change at once (other processes within 30 s)."""
    portal = current_app.extensions.get("citynet.portal")
    if portal is not None:
        portal.showcase.invalidate()


def _merchant(merchant_id: int) -> offers.Merchant:
    with store().session() as db:
        found = db.get(offers.Merchant, merchant_id)
        if found is None:
            abort(404)
        db.expunge(found)
        return found


@admin_pages.blueprint.get(f"/merchants/<int(max={MAX_ID}):merchant_id>")
@require("merchants.write")
def merchant_edit(merchant_id: int) -> tuple[str, int]:
    m = _merchant(merchant_id)
    form = OfferForm(m.name, m.category, m.offer, tuple(m.communities),
                     m.valid_from.isoformat(), m.valid_until.isoformat())
    return _edit_page(merchant_view(m, admin_pages.now().date()), form, [])


@admin_pages.blueprint.post(f"/merchants/<int(max={MAX_ID}):merchant_id>")
@require("merchants.write")
def merchant_save(merchant_id: int) -> tuple[str, int] | BaseResponse:
    """Save an edited offer; a new picture replaces the old, ``drop_image`` removes it,
    and with neither the picture stays."""
    shown = merchant_view(_merchant(merchant_id), admin_pages.now().date())
    form = _offer_form()
    draft, problems = _draft(form)
    data, bad_image = _upload()
    problems += [bad_image] if bad_image else []
    with store().session() as db:
        problems += offers.problems(db, draft, merchant_id)
        merchant = db.get(offers.Merchant, merchant_id)
        if merchant is None:
            abort(404)
        if not problems:
            changed = offers.change(merchant, draft)
            if data is not None or request.form.get("drop_image"):
                changed.append("image")
                old, merchant.image = merchant.image, ""
                if data is not None:
                    merchant.image = offers.save_image(images(), merchant.id, data)
                if old and old != merchant.image:
                    (images() / old).unlink(missing_ok=True)
            audited(db, "merchants.edit", draft.name, detail={"id": merchant_id,
                                                              "changed": changed})
    if problems:
        return _edit_page(shown, form, problems, 400)
    reshow()
    flash(gettext("%(name)s saved", name=form.name), "ok")
    return redirect(url_for("portal_admin.merchant_list"))


@admin_pages.blueprint.post(f"/merchants/<int(max={MAX_ID}):merchant_id>/remove")
@require("merchants.write")
def merchant_remove(merchant_id: int) -> BaseResponse:
    with store().session() as db:
        merchant = db.get(offers.Merchant, merchant_id)
        if merchant is None:
            abort(404)
        name = merchant.name
        audited(db, "merchants.remove", name, detail={"id": merchant_id,
                                                      "impressions": merchant.impressions,
                                                      "clicks": merchant.clicks})
        offers.remove(db, merchant, images())
    reshow()
    flash(gettext("%(name)s removed", name=name), "ok")
    return redirect(url_for("portal_admin.merchant_list"))
