"""The staff pages for what the portal hands out: vouchers (create, list, print, revoke),
remembered devices (find, revoke) and merchants' promotions (add, edit, remove).

Voucher codes are credentials: they appear on the batch page and the printed sheet (both
``no-store``, as every staff page), never in an audit entry — revocations name the
voucher by its id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require, tr
from citynet.config import Config
from citynet.web import MAX_ID, form_text, query_arg, store, whole_number
from inventory.models import Community
from portal import merchants as offers
from portal import phones, sheet
from radius import remembered, vouchers
from radius.records import normal_mac

blueprint = Blueprint("portal_admin", __name__, url_prefix="/admin",
                      template_folder="templates")

MAX_COUNT = 1000  # codes per batch from the web (the CLI takes up to 10 000)
REASON_MAX = 200
REMEMBERED_SHOWN = 200
LONGEST = {"phone": 32, "mac": 32, "ended": 1, "all": 1}
# a batch name from the web: a word, then word characters, dots and dashes (no slash: it
# is part of the page's address)
BATCH_NAME = re.compile(r"\w[\w.\-]*")
VOUCHER_STATES = {  # vouchers.state → (zh, en, CSS class)
    "unused": ("未使用", "unused", "ok"),
    "in_use": ("使用中", "in use", "ok"),
    "used_up": ("已用完", "used up", "muted"),
    "expired": ("已过期", "expired", "muted"),
    "revoked": ("已作废", "revoked", "bad"),
}
REMEMBERED_STATES = {"live": ("有效", "live", "ok"), "expired": ("已过期", "expired", "muted"),
                     "revoked": ("已撤销", "revoked", "bad")}
UNNAMED = "-"  # the address of the batch with no name (the CLI's default)


def _now() -> datetime:
    return datetime.now(UTC)


def _arg(name: str) -> str:
    """A query parameter given at most once, within its length (else 400), stripped."""
    return query_arg(name, LONGEST[name])


def _reason() -> str:
    return form_text("reason")[:REASON_MAX]


# --- vouchers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchForm:
    """The create form as typed (kept when it is refused)."""

    batch: str = ""
    count: str = "50"
    minutes: str = "120"
    devices: str = "1"
    valid_days: str = "90"


FIELDS = (  # BatchForm field → (lowest, highest, zh, en): the CLI's limits
    ("count", 1, MAX_COUNT, "数量", "count"),
    ("minutes", 1, vouchers.MAX_MINUTES, "分钟", "minutes"),
    ("devices", 1, vouchers.MAX_DEVICES, "设备数", "devices"),
    ("valid_days", 1, vouchers.MAX_VALID_DAYS, "有效天数", "valid days"),
)


def _batch_problems(form: BatchForm) -> dict[str, str]:
    """What is wrong with the form, by field (shown next to it, as the inventory editor
    does)."""
    problems = {}
    if not form.batch:
        problems["batch"] = tr("请填写批次名称", "Give the batch a name")
    elif len(form.batch) > vouchers.BATCH_MAX or not BATCH_NAME.fullmatch(form.batch):
        problems["batch"] = tr("批次名称只能包含文字、数字、点和短横线，"
                               f"最多 {vouchers.BATCH_MAX} 个字符",
                               "A batch name has letters, digits, dots and dashes, at most "
                               f"{vouchers.BATCH_MAX} characters")
    for field, low, high, zh, en in FIELDS:
        raw = getattr(form, field)
        if whole_number(raw, low, high) is None:
            problems[field] = tr(f"{zh}须为 {low} 到 {high} 之间的整数",
                                 f"{en} must be a whole number from {low} to {high}")
    return problems


def _named(slug: str) -> str:
    """The batch a page address names."""
    return "" if slug == UNNAMED else slug


def _batch_url(batch: str) -> str:
    return url_for("portal_admin.voucher_batch", batch=batch or UNNAMED)


def _batches() -> list[dict[str, Any]]:
    with store().session() as db:
        return [b.view() for b in vouchers.batches(db, _now())]


def _vouchers_page(form: BatchForm, status: int = 200,
                   problems: dict[str, str] | None = None) -> tuple[str, int]:
    return render_template("portal_admin/vouchers.html", batches=_batches(), form=form,
                           fields=FIELDS, problems=problems or {}), status


@blueprint.get("/vouchers")
@require("vouchers.write")
def voucher_batches() -> tuple[str, int]:
    return _vouchers_page(BatchForm())


@blueprint.get("/vouchers.json")
@require("vouchers.write")
def voucher_batches_json() -> dict[str, Any]:
    return {"batches": _batches()}


@blueprint.post("/vouchers")
@require("vouchers.write")
def voucher_create() -> tuple[str, int] | BaseResponse:
    form = BatchForm(**{name: request.form.get(name, "").strip()[:80]
                        for name in ("batch", "count", "minutes", "devices", "valid_days")})
    problems = _batch_problems(form)
    if not problems:
        with store().session() as db:
            if vouchers.batch_exists(db, form.batch):
                problems["batch"] = tr(f"已有批次“{form.batch}”：请换一个名称",
                                       f"Batch {form.batch!r} exists: choose another name")
            else:
                terms = {"count": int(form.count), "minutes": int(form.minutes),
                         "devices": int(form.devices), "valid_days": int(form.valid_days)}
                vouchers.create(db, terms["count"], terms["minutes"], terms["devices"],
                                form.batch, terms["valid_days"])
                audited(db, "vouchers.create", form.batch, detail=terms)  # never the codes
    if problems:
        return _vouchers_page(form, 400, problems)
    flash(tr(f"已生成 {form.count} 张上网券", f"{form.count} vouchers created"), "ok")
    return redirect(_batch_url(form.batch))


def _code_view(voucher: vouchers.Voucher, now: datetime) -> dict[str, Any]:
    return {"id": voucher.id, "code": vouchers.display(voucher.code),
            "state": vouchers.state(voucher, now), "devices": voucher.devices,
            "devices_used": voucher.devices_used, "minutes": voucher.minutes,
            "first_used_at": voucher.first_used_at, "valid_until": voucher.valid_until,
            "revoked_at": voucher.revoked_at}


@blueprint.get("/vouchers/<path:batch>")
@require("vouchers.write")
def voucher_batch(batch: str) -> Response:
    slug, batch, now = batch, _named(batch), _now()
    with store().session() as db:
        codes = [_code_view(v, now) for v in vouchers.in_batch(db, batch)]
    if not codes:
        abort(404, tr(f"没有批次“{batch}”", f"No batch {batch!r}"))
    page = render_template("portal_admin/batch.html", batch=batch, slug=slug, codes=codes,
                           states=VOUCHER_STATES, reason_max=REASON_MAX,
                           unused=sum(c["state"] == "unused" for c in codes))
    return Response(page)


@blueprint.get("/vouchers/<path:batch>/sheet")
@require("vouchers.write")
def voucher_sheet(batch: str) -> Response:
    """The printable sheet (as ``citynet vouchers sheet``): unused codes, or ``?all=1``
    every code not revoked. Printing credentials is audited."""
    batch, unused = _named(batch), _arg("all") != "1"
    with store().session() as db:
        printed = sheet.of_batch(db, batch, unused)
        if printed:
            audited(db, "vouchers.print", batch,
                    detail={"codes": len(printed), "unused_only": unused})
    if not printed:
        abort(404, tr(f"批次“{batch}”没有可打印的上网券",
                      f"Batch {batch!r} has no vouchers to print"))
    return Response(sheet.render(batch, printed))


@blueprint.post("/vouchers/revoke")
@require("vouchers.write")
def voucher_revoke() -> BaseResponse:
    """Revoke one code (``code``, any spelling) or a batch's unused codes (``batch``)."""
    code, batch, reason = (request.form.get("code", "")[:40],
                           _named(request.form.get("batch", "")), _reason())
    listed = url_for("portal_admin.voucher_batches")
    back = _batch_url(batch) if request.form.get("batch") else listed
    if not code and not request.form.get("batch"):  # "" is no batch: the unnamed one is "-"
        flash(tr("请填写上网券号码或批次", "Give a voucher code or a batch"), "error")
        return redirect(listed)
    if not reason:
        flash(tr("请填写作废原因", "Give a reason to revoke"), "error")
        return redirect(back)
    now = _now()
    with store().session() as db:
        if not code:
            if not vouchers.batch_exists(db, batch):
                flash(tr("没有这个批次", "No such batch"), "error")
                return redirect(listed)
            count = vouchers.revoke_unused(db, batch, now)
            audited(db, "vouchers.revoke", batch, reason=reason,
                    detail={"unused_revoked": count})
            flash(tr(f"已作废 {count} 张未使用的上网券；使用中的不受影响（可逐张作废）",
                     f"{count} unused vouchers revoked; those in use are not affected "
                     "(revoke them one by one)"), "ok")
            return redirect(back)
        voucher = vouchers.find(db, code)
        if voucher is None:
            flash(tr("没有这个上网券号码", "No such voucher code"), "error")
            return redirect(back)
        was, shown = vouchers.state(voucher, now), vouchers.display(voucher.code)
        back = _batch_url(voucher.batch)
        if not vouchers.revoke(db, voucher, now):
            flash(tr(f"{shown} 已作废过", f"{shown} was revoked already"), "error")
            return redirect(back)
        # the target names the voucher by its id: a code is a credential
        audited(db, "vouchers.revoke", f"voucher {voucher.id}", reason=reason,
                detail={"batch": voucher.batch, "was": was})
    if was == "in_use":
        flash(tr(f"{shown} 已作废，不再接受新设备；已在线的会话持续到结束，"
                 "或在“上网会话”页面断开。",
                 f"{shown} revoked: it admits no new device. The session already online "
                 "continues until it ends or is disconnected on the sessions page."), "ok")
    else:
        flash(tr(f"{shown} 已作废", f"{shown} revoked"), "ok")
    return redirect(back)


# --- remembered devices -----------------------------------------------------------------

def _remembered_view(device: remembered.RememberedDevice, now: datetime) -> dict[str, Any]:
    return {"id": device.id, "mac": device.mac, "phone": device.identity,
            "randomised": remembered.randomised(device.mac),
            "since": device.created_at.isoformat(timespec="minutes"),
            "expires": device.expires_at.isoformat(timespec="minutes"),
            "state": remembered.state(device, now), "revoked_why": device.revoked_why}


@blueprint.get("/remembered")
@require("sessions.read")
def remembered_devices() -> tuple[str, int]:
    """Find remembered devices by phone number and/or MAC (any spelling); with neither,
    the newest live ones."""
    given = {name: _arg(name) for name in ("phone", "mac", "ended")}
    mac = normal_mac(given["mac"]) if given["mac"] else ""
    phone = (phones.mainland_mobile(given["phone"]) or given["phone"]) if given["phone"] else ""
    error = (tr(f"“{given['mac']}”不是MAC地址", f"{given['mac']!r} is not a MAC address")
             if given["mac"] and not mac else "")
    found: list[dict[str, Any]] = []
    if not error:
        now = _now()
        with store().session() as db:
            found = [_remembered_view(d, now) for d in remembered.search(
                db, now, identity=phone, mac=mac, ended_too=bool(given["ended"]),
                limit=REMEMBERED_SHOWN)]
    return render_template("portal_admin/remembered.html", given=given, error=error,
                           devices=found, states=REMEMBERED_STATES, limit=REMEMBERED_SHOWN,
                           back=request.query_string.decode()[:200],
                           reason_max=REASON_MAX), 400 if error else 200


@blueprint.post("/remembered/revoke")
@require("sessions.kick")
def remembered_revoke() -> BaseResponse:
    """Forget one remembered device (as ``citynet radius forget``): its next connection
    goes through the portal."""
    raw, reason = request.form.get("device", ""), _reason()
    query = request.form.get("back", "")[:200]
    query = query if query.isprintable() else ""  # a header never carries a line break
    back = url_for("portal_admin.remembered_devices") + (f"?{query}" if query else "")
    device_id = whole_number(raw, 1, MAX_ID)
    if device_id is None:
        abort(400, "device= takes a remembered device's number")
    if not reason:
        flash(tr("请填写撤销原因", "Give a reason to revoke"), "error")
        return redirect(back)
    with store().session() as db:
        device = remembered.revoke(db, device_id, f"staff: {reason}")
        if device is not None:
            audited(db, "remembered.revoke", device.mac, reason=reason,
                    detail={"id": device.id})
            mac = device.mac
    if device is None:
        flash(tr("这台设备已不在记住的设备中", "That device is no longer remembered"), "error")
    else:
        flash(tr(f"{mac} 已不再被记住：下次连接需在门户登录",
                 f"{mac} is no longer remembered: its next connection goes through the "
                 "portal"), "ok")
    return redirect(back)


# --- merchants ---------------------------------------------------------------------------

def _images() -> Path:
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
    problems = [offers.Problem(field, f"{zh}须为日期（年-月-日）",
                               f"{en} must be a date (YYYY-MM-DD)")
                for field, day, zh, en in (("valid_from", starts, "开始日期", "the first day"),
                                           ("valid_until", ends, "结束日期", "the last day"))
                if day is None]
    stand_in = starts or ends or _now().date()
    return offers.Draft(form.name, form.category, form.offer, form.communities,
                        starts or stand_in, ends or stand_in), problems


def _upload() -> tuple[bytes | None, offers.Problem | None]:
    """The uploaded picture, if any, and what is wrong with it."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return None, None
    data = upload.read()
    return data, offers.image_problem(data)


def _merchant_view(m: offers.Merchant, today: date) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "category": m.category, "offer": m.offer,
            "image": bool(m.image), "communities": list(m.communities),
            "valid_from": m.valid_from.isoformat(), "valid_until": m.valid_until.isoformat(),
            "active": m.valid_from <= today <= m.valid_until, "impressions": m.impressions,
            "clicks": m.clicks,
            "ctr": round(m.clicks / m.impressions, 4) if m.impressions else None}


def _merchants() -> list[dict[str, Any]]:
    today = _now().date()
    with store().session() as db:
        return [_merchant_view(m, today) for m in
                db.scalars(select(offers.Merchant).order_by(offers.Merchant.name))]


def _communities() -> list[str]:
    with store().session() as db:
        return list(db.scalars(select(Community.name).order_by(Community.name)))


def _by_field(problems: list[offers.Problem]) -> dict[str, str]:
    """The offer's problems keyed by field, in the page's language (shown beside it)."""
    keyed: dict[str, list[str]] = {}
    for problem in problems:
        keyed.setdefault(problem.field, []).append(tr(problem.zh, problem.en))
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


@blueprint.get("/merchants")
@require("merchants.write")
def merchant_list() -> tuple[str, int]:
    today = _now().date().isoformat()
    return _merchants_page(OfferForm(valid_from=today), [])


@blueprint.get("/merchants.json")
@require("merchants.write")
def merchant_list_json() -> dict[str, Any]:
    return {"merchants": _merchants()}


@blueprint.post("/merchants")
@require("merchants.write")
def merchant_add() -> tuple[str, int] | BaseResponse:
    form = _offer_form()
    draft, problems = _draft(form)
    data, bad_image = _upload()
    problems += [bad_image] if bad_image else []
    with store().session() as db:
        problems += offers.problems(db, draft)
        if not problems:
            merchant = offers.add(db, draft, _now())
            if data is not None:
                merchant.image = offers.save_image(_images(), merchant.id, data)
            audited(db, "merchants.add", draft.name, detail={
                "category": draft.category, "communities": list(draft.communities),
                "valid_from": draft.valid_from.isoformat(),
                "valid_until": draft.valid_until.isoformat(), "image": data is not None})
    if problems:
        return _merchants_page(form, problems, 400)
    _reshow()
    flash(tr(f"已添加 {form.name}", f"{form.name} added"), "ok")
    return redirect(url_for("portal_admin.merchant_list"))


def _reshow() -> None:
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


@blueprint.get(f"/merchants/<int(max={MAX_ID}):merchant_id>")
@require("merchants.write")
def merchant_edit(merchant_id: int) -> tuple[str, int]:
    m = _merchant(merchant_id)
    form = OfferForm(m.name, m.category, m.offer, tuple(m.communities),
                     m.valid_from.isoformat(), m.valid_until.isoformat())
    return _edit_page(_merchant_view(m, _now().date()), form, [])


@blueprint.post(f"/merchants/<int(max={MAX_ID}):merchant_id>")
@require("merchants.write")
def merchant_save(merchant_id: int) -> tuple[str, int] | BaseResponse:
    """Save an edited offer; a new picture replaces the old, ``drop_image`` removes it,
    and with neither the picture stays."""
    shown = _merchant_view(_merchant(merchant_id), _now().date())
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
                    merchant.image = offers.save_image(_images(), merchant.id, data)
                if old and old != merchant.image:
                    (_images() / old).unlink(missing_ok=True)
            audited(db, "merchants.edit", draft.name, detail={"id": merchant_id,
                                                              "changed": changed})
    if problems:
        return _edit_page(shown, form, problems, 400)
    _reshow()
    flash(tr(f"已保存 {form.name}", f"{form.name} saved"), "ok")
    return redirect(url_for("portal_admin.merchant_list"))


@blueprint.post(f"/merchants/<int(max={MAX_ID}):merchant_id>/remove")
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
        offers.remove(db, merchant, _images())
    _reshow()
    flash(tr(f"已删除 {name}", f"{name} removed"), "ok")
    return redirect(url_for("portal_admin.merchant_list"))
