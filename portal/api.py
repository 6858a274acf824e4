"""The staff API's writes of what the portal hands out: merchants' offers (create, read,
change, delete: :mod:`portal.merchants`, as the merchants page) and voucher revocations
(one code or a batch's unused ones: :mod:`radius.vouchers`, as the vouchers page). Same
permissions and audit entries as the pages; refusals ``{"errors": {field: reason}}``.
An offer's picture is uploaded on its page, not here (the API speaks JSON)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from citynet.access import audited, require
from citynet.web import (
    MAX_ID,
    Answer,
    json_fields,
    json_text,
    refused,
    store,
    whole_number,
)
from portal import admin_pages, merchant_pages
from portal import merchants as offers
from radius import vouchers

blueprint = Blueprint("portal_api", __name__, url_prefix="/admin")
OFFER_FIELDS = ("name", "category", "offer", "communities", "valid_from", "valid_until")
MAX_COMMUNITIES = 500
CODE_MAX = 40
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # RFC 3339's full-date, as the document says
TEXT_MAX = 10_000  # longer is refused before the rules read it


def _communities(value: Any, problems: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(c, str) and "\x00" not in c and c.strip() for c in value):
        problems["communities"] = "a list of community names"
        return ()
    if len(value) > MAX_COMMUNITIES:
        problems["communities"] = f"at most {MAX_COMMUNITIES} communities"
    return tuple(dict.fromkeys(c.strip() for c in value))


def _day(value: Any, name: str, problems: dict[str, str]) -> date:
    if isinstance(value, str) and DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems[name] = "a date, YYYY-MM-DD"
    return admin_pages.now().date()


def _draft(body: dict[str, Any], was: offers.Merchant | None
           ) -> tuple[offers.Draft, dict[str, str]]:
    """The offer a body asks for: on a change (``was``), a field left out keeps its
    value; on a create every field but ``communities`` (none: the whole district) is
    needed. Type problems by field; the rules are :func:`portal.merchants.problems`'."""
    problems: dict[str, str] = {}
    kept: dict[str, Any] = {} if was is None else {
        "name": was.name, "category": was.category, "offer": was.offer,
        "communities": list(was.communities), "valid_from": was.valid_from.isoformat(),
        "valid_until": was.valid_until.isoformat()}
    given = {"communities": [], **kept, **body}
    # the rules (portal.merchants.check) say what is empty or too long
    text = {name: json_text(given, name, TEXT_MAX, problems, required=False)
            for name in ("name", "category", "offer")}
    draft = offers.Draft(**text, communities=_communities(given["communities"], problems),
                         valid_from=_day(given.get("valid_from"), "valid_from", problems),
                         valid_until=_day(given.get("valid_until"), "valid_until", problems))
    return draft, problems


def _ruled(problems: list[offers.Problem]) -> dict[str, str]:
    keyed: dict[str, list[str]] = {}
    for problem in problems:
        keyed.setdefault(problem.field, []).append(problem.english())
    return {field: "; ".join(texts) for field, texts in keyed.items()}


def _shown(merchant: offers.Merchant) -> dict[str, Any]:
    return merchant_pages.merchant_view(merchant, admin_pages.now().date())


def _found(db: Session, merchant_id: str) -> offers.Merchant | Answer:
    """The merchant of a path's id; any text routes here (a converter's range would let an
    id past it fall to a 405 of the neighbouring methods' rules), and is 404 unless one."""
    number = whole_number(merchant_id, 1, MAX_ID)
    found = None if number is None else db.get(offers.Merchant, number)
    return found if found is not None else refused(
        404, {"id": f"no merchant {merchant_id[:20]!r}"})


@blueprint.post("/merchants.json")
@require("merchants.write")
def create_merchant() -> Answer:
    body, problems = json_fields(OFFER_FIELDS)
    if problems:
        return refused(400, problems)
    draft, typed = _draft(body, None)
    if typed:
        return refused(400, typed)
    with store().session() as db:
        ruled = offers.problems(db, draft)
        if ruled:
            return refused(422, _ruled(ruled))
        merchant = offers.add(db, draft, admin_pages.now())
        audited(db, "merchants.add", draft.name, detail={
            "category": draft.category, "communities": list(draft.communities),
            "valid_from": draft.valid_from.isoformat(),
            "valid_until": draft.valid_until.isoformat(), "image": False})
        shown = _shown(merchant)
    merchant_pages.reshow()
    return shown, 201


@blueprint.get("/merchants/<merchant_id>.json")
@require("merchants.write")
def get_merchant(merchant_id: str) -> Answer:
    with store().session() as db:
        found = _found(db, merchant_id)
        return found if isinstance(found, tuple) else (_shown(found), 200)


@blueprint.put("/merchants/<merchant_id>.json")
@require("merchants.write")
def change_merchant(merchant_id: str) -> Answer:
    """Change the fields given; the others (and the picture) keep their values."""
    body, problems = json_fields(OFFER_FIELDS)
    if problems:
        return refused(400, problems)
    with store().session() as db:
        found = _found(db, merchant_id)
        if isinstance(found, tuple):
            return found
        draft, typed = _draft(body, found)
        if typed:
            return refused(400, typed)
        ruled = offers.problems(db, draft, found.id)
        if ruled:
            return refused(422, _ruled(ruled))
        changed = offers.change(found, draft)
        audited(db, "merchants.edit", draft.name, detail={"id": found.id,
                                                          "changed": changed})
        shown = {**_shown(found), "changed": changed}
    merchant_pages.reshow()
    return shown, 200


@blueprint.delete("/merchants/<merchant_id>.json")
@require("merchants.write")
def delete_merchant(merchant_id: str) -> Answer | tuple[str, int]:
    """Remove an offer, its counts and its picture."""
    with store().session() as db:
        found = _found(db, merchant_id)
        if isinstance(found, tuple):
            return found
        audited(db, "merchants.remove", found.name, detail={
            "id": found.id, "impressions": found.impressions, "clicks": found.clicks})
        offers.remove(db, found, merchant_pages.images())
    merchant_pages.reshow()
    return "", 204


@blueprint.post("/voucher-revocations.json")
@require("vouchers.write")
def revoke_vouchers() -> Answer:
    """Revoke one code (``code``, any spelling) or a batch's unused codes (``batch``; ""
    is the unnamed batch); those in use keep their sessions. A code never comes back in
    the answer or the audit log: it names the voucher by its id."""
    body, problems = json_fields(("code", "batch", "reason"))
    if not problems:
        reason = json_text(body, "reason", admin_pages.REASON_MAX, problems)
        if ("code" in body) == ("batch" in body):
            problems[""] = "give a code or a batch, not both"
        code = json_text(body, "code", CODE_MAX, problems) if "code" in body else ""
        batch = json_text(body, "batch", vouchers.BATCH_MAX, problems, required=False)
    if problems:
        return refused(400, problems)
    now = admin_pages.now()
    with store().session() as db:
        if "batch" in body:
            if not vouchers.batch_exists(db, batch):
                return refused(404, {"batch": f"no batch {batch!r}"})
            count = vouchers.revoke_unused(db, batch, now)
            seq = audited(db, "vouchers.revoke", batch, reason=reason,
                          detail={"unused_revoked": count})
            return {"batch": batch, "revoked": count, "audit_seq": seq}, 200
        voucher = vouchers.find(db, code)
        if voucher is None:
            return refused(404, {"code": "no such voucher code"})
        was = vouchers.state(voucher, now)
        if not vouchers.revoke(db, voucher, now):
            return refused(409, {"code": "revoked already"})
        seq = audited(db, "vouchers.revoke", f"voucher {voucher.id}", reason=reason,
                      detail={"batch": voucher.batch, "was": was})
        return {"voucher": voucher.id, "batch": voucher.batch, "was": was, "revoked": 1,
                "audit_seq": seq}, 200
