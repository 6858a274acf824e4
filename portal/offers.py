"""Merchants' offers on the portal pages: which are shown, and the pages of one offer."""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, abort, current_app, render_template

from citynet.web import store
from portal import merchants, visit


def shown() -> list[merchants.Offer]:
    """Merchants' offers for the community this person is in (counted as shown)."""
    handoff = visit.handoff()
    return visit.portal().showcase.show(handoff.nasid if handoff else "",
                                   handoff.called if handoff else "", today())


def today() -> date:
    """The district's day: an offer runs from its first day's midnight there."""
    return datetime.now(visit.portal().zone).date()


@visit.blueprint.get("/offers/<int:merchant_id>")
def offer(merchant_id: int) -> str:
    with store().session() as db:
        found = merchants.click(db, merchant_id, today())
        if found is None:
            abort(404)
        shown = {"id": found.id, "name": found.name, "category": found.category,
                 "offer": found.offer, "image": bool(found.image),
                 "until": found.valid_until.isoformat()}
    return render_template("portal/offer.html", offer=shown)


@visit.blueprint.get("/offers/<int:merchant_id>/image")
def offer_image(merchant_id: int) -> Response:
    with store().session() as db:
        found = db.get(merchants.Merchant, merchant_id)
        name = found.image if found is not None else ""
    if not name:
        abort(404)
    data = (visit.portal().config.data_path / "merchants" / name).read_bytes()
    kind = merchants.image_kind(data)
    if kind is None:
        abort(404)
    response = current_app.response_class(data, mimetype=kind[1])
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
