"""Device change requests: a push to many devices needs a second person's approval.

A push changing more devices than ``devices.approval_threshold`` runs only with a change
request another engineer approved; the push re-plans and must match the approved digest.
The rules are pure functions; storing and I/O are the callers' (:mod:`devices.rollout`,
:mod:`devices.web`). The whole procedure and why: docs/devices.md, "Change requests and
approval".
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, CursorResult, Enum, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, UtcDateTime

PENDING_VALID = timedelta(days=7)
APPROVED_VALID = timedelta(hours=24)  # the default of devices.approval_valid_hours
MAX_NOTE = 512


class State(StrEnum):
    PENDING = "pending"  # waiting for a second person
    APPROVED = "approved"  # may be pushed, once, until it expires
    REJECTED = "rejected"  # the second person said no (the note says why)
    USED = "used"  # a push used it: a further push needs a new request
    EXPIRED = "expired"  # not decided, or not used, in time


class Refusal(StrEnum):
    """Why a decision or a push is refused (callers turn these into words)."""

    NOT_PENDING = "not_pending"  # already decided, used or expired
    OWN_REQUEST = "own_request"  # the requester may not approve (or reject) their own
    NOT_ALLOWED = "not_allowed"  # no devices.approve
    NOTE_NEEDED = "note_needed"  # a rejection says why
    NOT_APPROVED = "not_approved"  # pending or rejected
    USED = "used"
    EXPIRED = "expired"
    OTHER_SELECTION = "other_selection"  # other selectors or templates than requested
    PLAN_CHANGED = "plan_changed"  # the devices' plan is not the approved one


class DeviceChange(Base):
    """A planned push to many devices and its approval."""

    __tablename__ = "device_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    selectors: Mapped[list[str]] = mapped_column(JSON)  # as given; [] = every device
    templates: Mapped[list[str]] = mapped_column(JSON)  # the intent templates, in order
    # [{"hostname", "site", "added", "removed", "commands"}], redacted, one per device
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    changing: Mapped[int] = mapped_column(Integer)  # devices the plan changes
    reason: Mapped[str] = mapped_column(String(512))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[State] = mapped_column(Enum(
        State, name="device_change_state", native_enum=False, create_constraint=True,
        length=16, values_callable=lambda members: [m.value for m in members]), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_note: Mapped[str] = mapped_column(String(512), default="")
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_by: Mapped[str | None] = mapped_column(String(128))
    push_seq: Mapped[int | None] = mapped_column(BigInteger)  # the push's audit entry


# --- pure rules ---------------------------------------------------------------------------

def plan_digest(devices: Iterable[Mapping[str, Any]]) -> str:
    """The digest of a plan: every device's hostname and redacted commands."""
    canonical = sorted((d["hostname"], list(d["commands"])) for d in devices)
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def needs_approval(changing: int, threshold: int) -> bool:
    """A push that changes more devices than the threshold needs an approved request."""
    return changing > threshold


def expires_at(change: DeviceChange, approved_valid: timedelta = APPROVED_VALID
               ) -> datetime | None:
    """When the request stops being usable if nothing happens; None once final."""
    if change.state is State.PENDING:
        return change.requested_at + PENDING_VALID
    if change.state is State.APPROVED and change.decided_at is not None:
        return change.decided_at + approved_valid
    return None


def effective_state(change: DeviceChange, now: datetime,
                    approved_valid: timedelta = APPROVED_VALID) -> State:
    """The state, with expiry applied (the stored state may lag behind the clock)."""
    ends = expires_at(change, approved_valid)
    if ends is not None and now >= ends:
        return State.EXPIRED
    return change.state


def decision_refusal(change: DeviceChange, decider: str, may_approve: bool, now: datetime,
                     *, note: str = "", rejecting: bool = False,
                     approved_valid: timedelta = APPROVED_VALID) -> Refusal | None:
    """Why ``decider`` may not approve (or reject) the request now; None if they may.
    The requester never decides their own request, even as an admin: a rejection of
    one's own request is a withdrawal in disguise, and an approval would be no second
    person at all."""
    if not may_approve:
        return Refusal.NOT_ALLOWED
    if decider == change.requested_by:
        return Refusal.OWN_REQUEST
    if effective_state(change, now, approved_valid) is not State.PENDING:
        return Refusal.NOT_PENDING
    if rejecting and not note.strip():
        return Refusal.NOTE_NEEDED
    return None


def use_refusal(change: DeviceChange, selectors: Sequence[str], templates: Sequence[str],
                digest: str, now: datetime,
                approved_valid: timedelta = APPROVED_VALID) -> Refusal | None:
    """Why a push of ``selectors``/``templates`` whose fresh plan has ``digest`` may not
    use the request; None if it may."""
    refusal = usable_refusal(change, selectors, templates, now, approved_valid)
    if refusal is not None:
        return refusal
    if digest != change.digest:
        return Refusal.PLAN_CHANGED
    return None


def usable_refusal(change: DeviceChange, selectors: Sequence[str], templates: Sequence[str],
                   now: datetime, approved_valid: timedelta = APPROVED_VALID
                   ) -> Refusal | None:
    """The checks that need no device: state, expiry, same selection (done before any
    device is read)."""
    state = effective_state(change, now, approved_valid)
    if state is State.USED:
        return Refusal.USED
    if state is State.EXPIRED:
        return Refusal.EXPIRED
    if state is not State.APPROVED:
        return Refusal.NOT_APPROVED
    if sorted(selectors) != sorted(change.selectors) or list(templates) != change.templates:
        return Refusal.OTHER_SELECTION
    return None


def command_line(verb: str, selectors: Sequence[str], templates: Sequence[str]) -> str:
    """The ``citynet devices VERB`` command line for these selectors and templates."""
    words = ["citynet", "devices", verb, *selectors]
    for template in templates:
        words += ["--template", template]
    return " ".join(shlex.quote(word) for word in words)


def plan_differences(approved: Sequence[Mapping[str, Any]],
                     fresh: Sequence[Mapping[str, Any]]) -> list[str]:
    """The hostnames whose planned commands differ (or that are in one plan only)."""
    old = {d["hostname"]: list(d["commands"]) for d in approved}
    new = {d["hostname"]: list(d["commands"]) for d in fresh}
    return sorted(h for h in old.keys() | new.keys() if old.get(h) != new.get(h))


# --- storing ------------------------------------------------------------------------------

def add(session: Session, *, selectors: Sequence[str], templates: Sequence[str],
        devices: Sequence[Mapping[str, Any]], reason: str, requested_by: str,
        now: datetime) -> DeviceChange:
    """A new pending request for ``devices`` (each: hostname, site, added, removed,
    commands, all redacted)."""
    plan = [{"hostname": d["hostname"], "site": d["site"], "added": list(d["added"]),
             "removed": list(d["removed"]), "commands": list(d["commands"])}
            for d in devices]
    change = DeviceChange(selectors=list(selectors), templates=list(templates), plan=plan,
                          digest=plan_digest(plan),
                          changing=sum(1 for d in plan if d["commands"]),
                          reason=reason[:512], requested_by=requested_by[:128],
                          requested_at=now, state=State.PENDING, decision_note="")
    session.add(change)
    session.flush()
    return change


def decide(session: Session, change_id: int, approve: bool, decider: str, note: str,
           now: datetime) -> bool:
    """Approve or reject a pending request; False if it was no longer pending (someone
    else decided first: the update is conditional, so only one decision lands)."""
    done = session.execute(
        update(DeviceChange)
        .where(DeviceChange.id == change_id, DeviceChange.state == State.PENDING)
        .values(state=State.APPROVED if approve else State.REJECTED, decided_by=decider[:128],
                decided_at=now, decision_note=note[:MAX_NOTE]))
    return cast("CursorResult[Any]", done).rowcount == 1


def claim(session: Session, change_id: int, user: str, now: datetime) -> bool:
    """Mark an approved request used, before the push starts; False if another push
    claimed it first."""
    done = session.execute(
        update(DeviceChange)
        .where(DeviceChange.id == change_id, DeviceChange.state == State.APPROVED)
        .values(state=State.USED, used_at=now, used_by=user[:128]))
    return cast("CursorResult[Any]", done).rowcount == 1


def expire(session: Session, change: DeviceChange, now: datetime,
           approved_valid: timedelta = APPROVED_VALID) -> None:
    """Write down an expiry the clock has already decided."""
    if change.state is not State.EXPIRED and effective_state(
            change, now, approved_valid) is State.EXPIRED:
        change.state = State.EXPIRED


def listing(session: Session, recent: int = 50) -> list[DeviceChange]:
    """Pending requests (oldest first: they wait longest), then the most recent others."""
    pending = list(session.scalars(select(DeviceChange)
                                   .where(DeviceChange.state == State.PENDING)
                                   .order_by(DeviceChange.id).limit(500)))
    others = list(session.scalars(select(DeviceChange)
                                  .where(DeviceChange.state != State.PENDING)
                                  .order_by(DeviceChange.id.desc()).limit(recent)))
    return pending + others
