"""The staff API's session writes beyond the kick (which the sessions page's form serves,
:mod:`radius.admin`): a live session's bandwidth, through :mod:`radius.bandwidth` as
``citynet sessions bandwidth`` sends it, audited like the kick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from flask import Blueprint, current_app

from citynet.access import audited, require
from citynet.config import Config
from citynet.web import MAX_ID, Answer, json_fields, json_text, json_whole, refused, store
from radius import bandwidth
from radius.admin import NOT_ADDRESSABLE, REASON_MAX
from radius.settings import RadiusConfig

blueprint = Blueprint("radius_api", __name__, url_prefix="/admin")
FIELDS = ("session", "up_kbps", "down_kbps", "reason")


def _refusal(changed: bandwidth.Changed) -> Answer:
    # the JSON API answers in English, its refusals as written (msgids are English)
    if changed.refused == bandwidth.NO_SESSION:
        return refused(404, {"session": "No such session"})
    if changed.refused == bandwidth.ENDED:
        return refused(409, {"session": "This session has ended"})
    return refused(409, {"": NOT_ADDRESSABLE[changed.refused]})


@blueprint.post("/sessions/bandwidth.json")
@require("sessions.kick")
def change_bandwidth() -> Answer:
    """New upload and download limits for one open session: a CoA-Request to its NAS
    (with its whole authorisation where the NAS needs it), waiting for the answer."""
    body, problems = json_fields(FIELDS)
    if not problems:
        row = json_whole(body, "session", 1, MAX_ID, problems)
        up = json_whole(body, "up_kbps", 1, bandwidth.MAX_KBPS, problems)
        down = json_whole(body, "down_kbps", 1, bandwidth.MAX_KBPS, problems)
        reason = json_text(body, "reason", REASON_MAX, problems)
    if problems:
        return refused(400, problems)
    config = cast(Config, current_app.extensions["citynet.config"]).section(RadiusConfig)
    changed = bandwidth.change(store(), current_app.extensions.get("citynet.box"), config,
                               row, up, down, datetime.now(UTC))
    if changed.refused or changed.result is None:
        return _refusal(changed)
    result = changed.result
    detail: dict[str, Any] = {"session": row, "nas": changed.nas, "who": changed.who,
                              "mac": changed.mac, "up_kbps": up, "down_kbps": down,
                              "answer": result.answer, "error_cause": result.error_cause,
                              "attempts": result.attempts}
    with store().session() as db:
        seq = audited(db, "sessions.bandwidth", f"{changed.session_id}@{changed.nas}",
                      "ok" if result.ok else "failed", reason=reason, detail=detail)
    return {"changed": result.ok, "session_id": changed.session_id, **detail,
            "audit_seq": seq}, 200 if result.ok else 502
