"""The staff pages for remembered devices: find them, revoke them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require
from citynet.catalogs import N_, gettext
from citynet.macs import normal_mac
from citynet.web import MAX_ID, store, whole_number
from portal import admin_pages, phones
from radius import remembered

REMEMBERED_SHOWN = 200
REMEMBERED_STATES = {"live": (N_("live"), "ok"), "expired": (N_("expired"), "muted"),
                     "revoked": (N_("revoked"), "bad")}  # state → (msgid, CSS class)


def _remembered_view(device: remembered.RememberedDevice, now: datetime) -> dict[str, Any]:
    return {"id": device.id, "mac": device.mac, "phone": device.identity,
            "randomised": remembered.randomised(device.mac),
            "since": device.created_at.isoformat(timespec="minutes"),
            "expires": device.expires_at.isoformat(timespec="minutes"),
            "state": remembered.state(device, now), "revoked_why": device.revoked_why}


@admin_pages.blueprint.get("/remembered")
@require("sessions.read")
def remembered_devices() -> tuple[str, int]:
    """Find remembered devices by phone number and/or MAC (any spelling); with neither,
    the newest live ones."""
    given = {name: admin_pages.arg(name) for name in ("phone", "mac", "ended")}
    mac = normal_mac(given["mac"]) if given["mac"] else ""
    phone = (phones.mainland_mobile(given["phone"]) or given["phone"]) if given["phone"] else ""
    error = (gettext("%(mac)s is not a MAC address", mac=repr(given["mac"]))
             if given["mac"] and not mac else "")
    found: list[dict[str, Any]] = []
    if not error:
        now = admin_pages.now()
        with store().session() as db:
            found = [_remembered_view(d, now) for d in remembered.search(
                db, now, identity=phone, mac=mac, ended_too=bool(given["ended"]),
                limit=REMEMBERED_SHOWN)]
    return render_template("portal_admin/remembered.html", given=given, error=error,
                           devices=found, states=REMEMBERED_STATES, limit=REMEMBERED_SHOWN,
                           back=request.query_string.decode()[:200],
                           reason_max=admin_pages.REASON_MAX), 400 if error else 200


@admin_pages.blueprint.post("/remembered/revoke")
@require("sessions.kick")
def remembered_revoke() -> BaseResponse:
    """Forget one remembered device (as ``citynet radius forget``): its next connection
    goes through the portal."""
    raw, reason = request.form.get("device", ""), admin_pages.reason()
    query = request.form.get("back", "")[:200]
    query = query if query.isprintable() else ""  # a header never carries a line break
    back = url_for("portal_admin.remembered_devices") + (f"?{query}" if query else "")
    device_id = whole_number(raw, 1, MAX_ID)
    if device_id is None:
        abort(400, "device= takes a remembered device's number")
    if not reason:
        flash(gettext("Give a reason to revoke"), "error")
        return redirect(back)
    with store().session() as db:
        device = remembered.revoke(db, device_id, f"staff: {reason}")
        if device is not None:
            audited(db, "remembered.revoke", device.mac, reason=reason,
                    detail={"id": device.id})
            mac = device.mac
    if device is None:
        flash(gettext("That device is no longer remembered"), "error")
    else:
        flash(gettext("%(mac)s is no longer remembered: its next connection goes through "
                      "the portal", mac=mac), "ok")
    return redirect(back)


