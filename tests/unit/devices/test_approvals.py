"""The change-request rules: who may decide, when a request expires, and when a push may
use it (same selection, same plan digest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices import approvals
from devices.approvals import DeviceChange, Refusal, State

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PLAN: list[dict[str, Any]] = [
    {"hostname": "vrp-01", "site": "笋岗社区", "added": ["+ ntp-service unicast-server 10.0.0.1"],
     "removed": [], "commands": ["ntp-service unicast-server 10.0.0.1"]},
    {"hostname": "vrp-02", "site": "笋岗社区", "added": [], "removed": [], "commands": []},
]


def _change(state: State = State.PENDING, *, requested_at: datetime = NOW,
            decided_at: datetime | None = None, by: str = "alice") -> DeviceChange:
    return DeviceChange(id=7, selectors=["site:笋岗社区", "vrp-*"], templates=["baseline"],
                        plan=PLAN, digest=approvals.plan_digest(PLAN), changing=1,
                        reason="CHG-1", requested_by=by, requested_at=requested_at,
                        state=state, decided_by="bob" if decided_at else None,
                        decided_at=decided_at, decision_note="")


# --- who decides --------------------------------------------------------------------------

def test_a_second_person_with_the_permission_may_approve() -> None:
    assert approvals.decision_refusal(_change(), "bob", True, NOW) is None


@pytest.mark.parametrize("may_approve", [True, False])
def test_the_requester_never_decides_their_own_request(may_approve: bool) -> None:
    refusal = approvals.decision_refusal(_change(), "alice", may_approve, NOW)
    assert refusal is (Refusal.OWN_REQUEST if may_approve else Refusal.NOT_ALLOWED)
    assert approvals.decision_refusal(_change(), "alice", True, NOW, note="no",
                                      rejecting=True) is Refusal.OWN_REQUEST


def test_without_devices_approve_no_decision() -> None:
    assert approvals.decision_refusal(_change(), "carol", False, NOW) is Refusal.NOT_ALLOWED


def test_a_rejection_says_why() -> None:
    assert approvals.decision_refusal(_change(), "bob", True, NOW, note="  ",
                                      rejecting=True) is Refusal.NOTE_NEEDED
    assert approvals.decision_refusal(_change(), "bob", True, NOW, note="wrong VLAN",
                                      rejecting=True) is None


@pytest.mark.parametrize("state", [State.APPROVED, State.REJECTED, State.USED, State.EXPIRED])
def test_only_a_pending_request_is_decided(state: State) -> None:
    change = _change(state, decided_at=NOW)
    assert approvals.decision_refusal(change, "bob", True, NOW) is Refusal.NOT_PENDING


def test_a_request_pending_for_a_week_expires_undecided() -> None:
    old = _change(requested_at=NOW - approvals.PENDING_VALID)
    assert approvals.effective_state(old, NOW) is State.EXPIRED
    assert approvals.decision_refusal(old, "bob", True, NOW) is Refusal.NOT_PENDING
    recent = _change(requested_at=NOW - approvals.PENDING_VALID + timedelta(seconds=1))
    assert approvals.effective_state(recent, NOW) is State.PENDING


# --- expiry -------------------------------------------------------------------------------

def test_an_approval_is_valid_for_a_day_unless_configured() -> None:
    change = _change(State.APPROVED, decided_at=NOW)
    assert approvals.expires_at(change) == NOW + timedelta(hours=24)
    assert approvals.effective_state(change, NOW + timedelta(hours=23, minutes=59)) \
        is State.APPROVED
    assert approvals.effective_state(change, NOW + timedelta(hours=24)) is State.EXPIRED
    assert approvals.effective_state(change, NOW + timedelta(hours=3),
                                     timedelta(hours=2)) is State.EXPIRED


@pytest.mark.parametrize("state", [State.REJECTED, State.USED])
def test_final_states_do_not_expire(state: State) -> None:
    change = _change(state, decided_at=NOW)
    assert approvals.expires_at(change) is None
    assert approvals.effective_state(change, NOW + timedelta(days=365)) is state


# --- using a request for a push -------------------------------------------------------------

def _use(change: DeviceChange, *, selectors: tuple[str, ...] = ("vrp-*", "site:笋岗社区"),
         templates: tuple[str, ...] = ("baseline",), plan: list[dict[str, Any]] = PLAN,
         at: datetime = NOW + timedelta(hours=1)) -> Refusal | None:
    return approvals.use_refusal(change, selectors, templates, approvals.plan_digest(plan), at)


def test_an_approved_request_covers_the_same_push() -> None:
    assert _use(_change(State.APPROVED, decided_at=NOW)) is None  # selector order is no matter


def test_a_changed_running_config_means_another_plan() -> None:
    drifted = [PLAN[0], {**PLAN[1], "commands": ["undo ntp-service unicast-server 10.0.0.9"]}]
    assert _use(_change(State.APPROVED, decided_at=NOW), plan=drifted) is Refusal.PLAN_CHANGED
    assert approvals.plan_differences(PLAN, drifted) == ["vrp-02"]


def test_a_device_added_to_the_selection_means_another_plan() -> None:
    grown = [*PLAN, {"hostname": "vrp-03", "site": "x", "added": [], "removed": [],
                     "commands": []}]
    assert _use(_change(State.APPROVED, decided_at=NOW), plan=grown) is Refusal.PLAN_CHANGED
    assert approvals.plan_differences(PLAN, grown) == ["vrp-03"]


def test_other_selectors_or_templates_are_not_covered() -> None:
    approved = _change(State.APPROVED, decided_at=NOW)
    assert _use(approved, selectors=("vrp-*",)) is Refusal.OTHER_SELECTION
    assert _use(approved, templates=("baseline", "guest_wifi")) is Refusal.OTHER_SELECTION


@pytest.mark.parametrize(("state", "refusal"), [
    (State.PENDING, Refusal.NOT_APPROVED), (State.REJECTED, Refusal.NOT_APPROVED),
    (State.USED, Refusal.USED), (State.EXPIRED, Refusal.EXPIRED)])
def test_only_an_approved_unused_request_is_pushed(state: State, refusal: Refusal) -> None:
    assert _use(_change(state, decided_at=NOW)) is refusal


def test_an_expired_approval_is_not_pushed() -> None:
    approved = _change(State.APPROVED, decided_at=NOW)
    assert _use(approved, at=NOW + timedelta(hours=25)) is Refusal.EXPIRED


# --- digest and threshold -------------------------------------------------------------------

def test_the_digest_covers_hostnames_and_commands_not_their_order() -> None:
    assert approvals.plan_digest(PLAN) == approvals.plan_digest(list(reversed(PLAN)))
    other = [{**PLAN[0], "commands": ["ntp-service unicast-server 10.0.0.2"]}, PLAN[1]]
    assert approvals.plan_digest(other) != approvals.plan_digest(PLAN)
    renamed = [{**PLAN[0], "hostname": "vrp-09"}, PLAN[1]]
    assert approvals.plan_digest(renamed) != approvals.plan_digest(PLAN)


@pytest.mark.parametrize(("changing", "threshold", "needed"), [
    (0, 0, False), (1, 0, True), (20, 20, False), (21, 20, True)])
def test_more_devices_than_the_threshold_need_approval(changing: int, threshold: int,
                                                       needed: bool) -> None:
    assert approvals.needs_approval(changing, threshold) is needed


def test_the_command_line_is_quoted_for_a_shell() -> None:
    assert approvals.command_line("push", ["*-acc-*", "site:笋岗社区"], ["guest_wifi"]) == (
        "citynet devices push '*-acc-*' 'site:笋岗社区' --template guest_wifi")


# --- the last check, on each device before its first command ------------------------------

def test_a_device_whose_config_changed_after_the_check_gets_no_command() -> None:
    from devices.confdiff import plan
    from devices.driver import DeviceError, Login
    from devices.fleet import Target
    from devices.intent import Device, Intent
    from devices.platforms import PROFILES
    from devices.rollout import as_planned

    profile = PROFILES["huawei"]
    intent = Intent("sw", "ntp-service unicast-server 10.0.0.1\n",
                    ("ntp-service unicast-server",), ("baseline",))
    target = Target(Device("sw", "huawei", "access_switch", "a", "127.0.0.1"),
                    Login("sw", "127.0.0.1", 22, profile, "u", "p"), intent)
    checked_running = "sysname sw\n"
    expected = {"sw": plan(intent.text, checked_running, profile, intent.owned).commands}
    kept: list[str] = []
    guard = as_planned([target], expected, lambda hostname, running: kept.append(hostname))
    guard("sw", checked_running)
    assert kept == ["sw"]
    with pytest.raises(DeviceError, match="changed since the plan checked before the push"):
        guard("sw", "sysname sw\nntp-service unicast-server 10.0.0.9\n")
    assert kept == ["sw"]  # not kept, so nothing was sent either
