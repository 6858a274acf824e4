"""The staff pages for device change requests and their approval (the rules are in
``devices.approvals``): engineers and admins read every request with each device's diff;
one of them other than the requester approves or rejects it, signed in (an API token
cannot decide); someone who may push then applies it here or with `citynet devices push
--change ID` (the same use case, :mod:`devices.rollout`). Every decision, push and
refused attempt is in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from citynet.access import audited, require
from citynet.catalogs import N_, gettext
from citynet.web import MAX_ID, box, config, form_text, may, store, who_asks
from devices import approvals, rollout
from devices.approvals import MAX_NOTE, DeviceChange, Refusal, State
from devices.fleet import STATUS_WORDS
from devices.settings import DevicesConfig

blueprint = Blueprint("devices_web", __name__, url_prefix="/admin/devices",
                      template_folder="templates")

STATES = {  # state → its name on the pages (a msgid)
    State.PENDING: N_("pending"),
    State.APPROVED: N_("approved"),
    State.REJECTED: N_("rejected"),
    State.USED: N_("used"),
    State.EXPIRED: N_("expired"),
}


REFUSALS = {  # why an approved request cannot be applied now, for the pages
    Refusal.NOT_APPROVED: N_("Change request %(id)s is not approved (yet). Nothing was "
                             "sent."),
    Refusal.USED: N_("Change request %(id)s was used by an earlier push already. Nothing "
                     "was sent."),
    Refusal.EXPIRED: N_("Change request %(id)s has expired: request it again. Nothing was "
                        "sent."),
    Refusal.OTHER_SELECTION: N_("Change request %(id)s was for other selectors or "
                                "templates. Nothing was sent."),
    Refusal.PLAN_CHANGED: N_("Change request %(id)s no longer matches the devices: their "
                             "plan changed since it was approved; request it again. "
                             "Nothing was sent."),
}
CANNOT_PUSH = N_("Change request %(id)s cannot be pushed. Nothing was sent.")


def _valid() -> timedelta:
    return timedelta(hours=config().section(DevicesConfig).approval_valid_hours)


def staff_fleet() -> rollout.Fleet:
    """The devices as the signed-in staff member reaches them (their name and address
    audited with each push); the web pages' and the JSON API's."""
    actor, source = who_asks()
    return rollout.Fleet(store(), config(), box(), actor=actor, source=source)


def summary(change: DeviceChange, now: datetime) -> dict[str, Any]:
    """A request as the JSON API shows it (no diffs)."""
    ends = approvals.expires_at(change, _valid())

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": change.id, "state": approvals.effective_state(change, now, _valid()).value,
            "selectors": change.selectors, "templates": change.templates,
            "reason": change.reason, "requested_by": change.requested_by,
            "requested_at": moment(change.requested_at), "changing": change.changing,
            "devices": len(change.plan), "digest": change.digest,
            "decided_by": change.decided_by, "decided_at": moment(change.decided_at),
            "decision_note": change.decision_note, "expires_at": moment(ends),
            "used_at": moment(change.used_at), "used_by": change.used_by,
            "push_seq": change.push_seq,
            "url": url_for("devices_web.change", change_id=change.id)}


def _ordered(now: datetime) -> list[DeviceChange]:
    """Pending requests first (oldest first: they have waited longest), then the rest,
    newest first."""
    with store().session() as session:
        rows = approvals.listing(session)
        for row in rows:
            session.expunge(row)

    def waiting(change: DeviceChange) -> bool:
        return approvals.effective_state(change, now, _valid()) is State.PENDING
    return ([c for c in rows if waiting(c)]
            + sorted((c for c in rows if not waiting(c)), key=lambda c: -c.id))


@blueprint.get("/changes")
@require("devices.read")
def changes() -> str:
    now = datetime.now(UTC)
    return render_template("devices_web/changes.html", changes=_ordered(now), now=now,
                           state_of=lambda c: approvals.effective_state(c, now, _valid()),
                           states=STATES)


@blueprint.get("/changes.json")
@require("devices.read")
def changes_json() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"changes": [summary(c, now) for c in _ordered(now)]}


def _load(change_id: int) -> DeviceChange:
    with store().session() as session:
        change = session.get(DeviceChange, change_id)
        if change is None:
            abort(404, gettext("No change request %(id)s", id=change_id))
        session.expunge(change)
        return change


def _page(change_id: int, note: str = "", status: int = 200,
          outcome: rollout.Rollout | None = None) -> tuple[str, int]:
    change = _load(change_id)
    now = datetime.now(UTC)
    state = approvals.effective_state(change, now, _valid())
    who = g.staff
    may_decide = (state is State.PENDING and may("devices.approve")
                  and who.name != change.requested_by)
    may_apply = state is State.APPROVED and may("devices.push")
    push = approvals.command_line("push", change.selectors, change.templates)
    return render_template(
        "devices_web/change.html", change=change, state=state, states=STATES,
        expires=approvals.expires_at(change, _valid()), may_decide=may_decide,
        own=who.name == change.requested_by, note=note, max_note=MAX_NOTE,
        push_command=f"{push} --change {change.id}", may_apply=may_apply,
        outcome=outcome, status_words=STATUS_WORDS), status


@blueprint.get(f"/changes/<int(max={MAX_ID}):change_id>")
@require("devices.read")
def change(change_id: int) -> tuple[str, int]:
    return _page(change_id)


@blueprint.get(f"/changes/<int(max={MAX_ID}):change_id>.json")
@require("devices.read")
def change_json(change_id: int) -> dict[str, Any]:
    change = _load(change_id)
    return {**summary(change, datetime.now(UTC)), "plan": change.plan}


@blueprint.post(f"/changes/<int(max={MAX_ID}):change_id>/approve")
@require("devices.approve")
def approve(change_id: int) -> tuple[str, int] | BaseResponse:
    return _decide(change_id, approve=True)


@blueprint.post(f"/changes/<int(max={MAX_ID}):change_id>/reject")
@require("devices.approve")
def reject(change_id: int) -> tuple[str, int] | BaseResponse:
    return _decide(change_id, approve=False)


def _decide(change_id: int, *, approve: bool) -> tuple[str, int] | BaseResponse:
    """Approve or reject: the rules decide, the decision and any refusal are audited,
    and only one decision lands however many are sent at once."""
    note = form_text("note")
    if len(note) > MAX_NOTE:
        flash(gettext("The note is at most %(most)s characters", most=MAX_NOTE), "error")
        return _page(change_id, note, 400)
    who = g.staff
    action = "devices.approve" if approve else "devices.reject"
    now = datetime.now(UTC)
    with store().session() as session:
        change = session.get(DeviceChange, change_id)
        if change is None:
            abort(404, gettext("No change request %(id)s", id=change_id))
        approvals.expire(session, change, now, _valid())
        refusal = approvals.decision_refusal(change, who.name, may("devices.approve"),
                                             now, note=note, rejecting=not approve,
                                             approved_valid=_valid())
        if who.api and refusal is None:
            refusal = Refusal.NOT_ALLOWED  # a decision takes a person signed in with 2FA
        if refusal is None and not approvals.decide(session, change_id, approve, who.name,
                                                    note, now):
            refusal = Refusal.NOT_PENDING  # someone else decided a moment ago
        state = approvals.effective_state(change, now, _valid())
        if refusal is not Refusal.NOTE_NEEDED:  # a form error, not an attempt to decide
            audited(session, action, f"change {change_id}",
                    "ok" if refusal is None else "refused", reason=note,
                    detail={"change": change_id, "requested_by": change.requested_by,
                            "changing": change.changing, "digest": change.digest,
                            **({"refused": refusal.value} if refusal else {})})
    if refusal is Refusal.NOTE_NEEDED:
        flash(gettext("Say why in the note when rejecting"), "error")
        return _page(change_id, note, 400)
    if refusal is Refusal.OWN_REQUEST:
        abort(403, gettext("This is your own change request: another engineer or an admin "
                           "must approve or reject it."))
    if refusal is Refusal.NOT_ALLOWED:
        abort(403, gettext("Approve or reject in the browser, signed in with your "
                           "authenticator code, not with an API token."))
    if refusal is not None:
        flash(gettext("Change request %(id)s is no longer pending (%(state)s)",
                      id=change_id, state=gettext(STATES[state])), "error")
    elif approve:
        hours = int(_valid().total_seconds() // 3600)
        flash(gettext("Change request %(id)s approved: it may be pushed once within "
                      "%(hours)s hours", id=change_id, hours=hours), "ok")
    else:
        flash(gettext("Change request %(id)s rejected", id=change_id), "ok")
    return redirect(url_for("devices_web.change", change_id=change_id))


@blueprint.post(f"/changes/<int(max={MAX_ID}):change_id>/apply")
@require("devices.push")
def apply(change_id: int) -> tuple[str, int]:
    """Push an approved change request to its devices, as `citynet devices push --change
    ID` does: refused unless the devices still have the approved plan; each device's
    result is shown and audited."""
    change = _load(change_id)
    outcome = rollout.push(staff_fleet(), change.selectors, change_id=change_id,
                           templates=change.templates)
    refused = outcome.refused
    if refused is not None:
        flash(gettext(REFUSALS.get(Refusal(refused.why), CANNOT_PUSH), id=change_id),
              "error")
        return _page(change_id, status=409, outcome=outcome)
    if outcome.failed_hosts:
        flash(gettext("Change request %(id)s pushed; %(failed)s device(s) failed",
                      id=change_id, failed=len(outcome.failed_hosts)), "error")
    else:
        flash(gettext("Change request %(id)s pushed", id=change_id), "ok")
    return _page(change_id, outcome=outcome)
