"""The staff API's device change requests beyond reading them (:mod:`devices.web`):
ask for one (plan the devices, store the plan for a second person) and push an approved
one, through the use cases ``citynet devices plan --request`` and ``push --change`` run
(:mod:`devices.rollout`). Deciding stays with a person signed in with a second factor
(docs/devices.md): an API token cannot approve or reject. Both calls wait for the devices
(planning reads each one; a push writes them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g

from citynet.access import require
from citynet.errors import CitynetError
from citynet.web import MAX_ID, Answer, json_fields, json_text, refused, store
from devices import rollout
from devices.approvals import MAX_NOTE, DeviceChange, Refusal
from devices.fleet import Result
from devices.targets import SelectorError, Unready
from devices.web import staff_fleet, summary

blueprint = Blueprint("devices_api", __name__, url_prefix="/admin/devices")
NAMES_MAX = 200  # selectors or templates in one request
NAME_MAX = 200
NOT_STORED = {rollout.INCOMPLETE: "some selected devices could not be planned (devices): "
                                  "fix them or leave them out of the selection",
              rollout.NO_CHANGE: "no selected device would change"}
# the API's English (the pages say whole sentences from the catalogs: devices.web.REFUSALS)
WHY = {rollout.UNKNOWN_CHANGE: "no such change request",
       rollout.APPROVAL_NEEDED: "needs an approved change request",
       Refusal.NOT_APPROVED.value: "is not approved (yet)",
       Refusal.USED.value: "was used by an earlier push already",
       Refusal.EXPIRED.value: "has expired: request it again",
       Refusal.OTHER_SELECTION.value: "was for other selectors or templates",
       Refusal.PLAN_CHANGED.value: "no longer matches the devices: their plan changed since "
                                   "it was approved; request it again"}


def _names(body: dict[str, Any], name: str, problems: dict[str, str]) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > NAMES_MAX or not all(
            isinstance(item, str) and item.strip() and "\x00" not in item
            and len(item) <= NAME_MAX for item in value):
        problems[name] = f"a list of at most {NAMES_MAX} names"
        return []
    return [item.strip() for item in value]


def devices(results: list[Result], unready: list[Unready]) -> list[dict[str, Any]]:
    """Each device's outcome, redacted (as ``citynet devices … --json``)."""
    return [{"hostname": r.hostname, "site": r.site, "status": r.status.value, "ok": r.ok,
             "commands": r.commands, "error": r.error, "rollback": r.rollback}
            for r in results] + [{"hostname": u.hostname, "site": u.site,
                                  "status": "not_ready", "ok": False, "commands": [],
                                  "error": u.reason, "rollback": ""} for u in unready]


def _change(change_id: int) -> DeviceChange | None:
    with store().session() as db:
        found = db.get(DeviceChange, change_id)
        if found is not None:
            db.expunge(found)
        return found


@blueprint.post("/changes.json")
@require("devices.push")
def ask_for_change() -> Answer:
    """Plan the selected devices and store the plan as a pending change request, asked
    for by the token's owner (who then may not decide it); audited."""
    body, problems = json_fields(("selectors", "templates", "reason"))
    if not problems:
        selectors = _names(body, "selectors", problems)
        templates = _names(body, "templates", problems)
        reason = json_text(body, "reason", MAX_NOTE, problems)
    if problems:
        return refused(400, problems)
    fleet = staff_fleet()
    try:
        targets, unready = rollout.targets_of(fleet, selectors, templates)
    except SelectorError as problem:
        return refused(422, {"selectors": str(problem)})
    except CitynetError as problem:  # an intent file or template that cannot be used
        return refused(422, {"templates": str(problem)})
    results = rollout.plan_all(fleet, targets)
    asked = rollout.ask(fleet, selectors, templates, results, unready, reason, g.staff.name)
    if asked.change is None:
        return {**refused(422, {"selectors": NOT_STORED[asked.why]})[0],
                "devices": devices(results, unready)}, 422
    stored = _change(asked.change)
    assert stored is not None  # noqa: S101 - just stored
    return {**summary(stored, datetime.now(UTC)), "plan": stored.plan}, 201


@blueprint.post(f"/changes/<int(max={MAX_ID}):change_id>/push.json")
@require("devices.push")
def push_change(change_id: int) -> Answer:
    """Push an approved change request, as ``citynet devices push --change ID``: refused
    (409, nothing sent) unless the devices still have the approved plan; each device's
    result, audited."""
    change = _change(change_id)
    if change is None:
        return refused(404, {"change": f"no change request {change_id}"})
    outcome = rollout.push(staff_fleet(), change.selectors, change_id=change_id,
                           templates=change.templates)
    answer = {"change": change_id, "ok": outcome.ok,
              "devices": devices(outcome.results, outcome.unready),
              "audit_seq": outcome.audit_seq, "revision": outcome.revision}
    if outcome.refused is not None:
        why = outcome.refused.why
        return {**refused(409, {"change": WHY.get(why, why)})[0], **answer,
                "refused": why, "reasons": outcome.refused.lines}, 409
    return answer, 200 if outcome.ok else 502
