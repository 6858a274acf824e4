"""The staff API's writes for operations scripts beyond the inventory: a session's
bandwidth, merchants' offers, voucher revocations and device change requests, on both
stores: each through its use case, audited as the pages and the CLI do, refusals keyed by
field, and the role matrix (2xx with the permission, 403 without, 401 without a token)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import radius.openapi
from citynet.app import create_app
from citynet.audit import AuditEntry
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from devices import approvals
from radius import bandwidth, vouchers
from radius.models import RadiusSession
from tests.conftest import make_config
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET, add_nas
from tests.support import api_tokens, role_matrix


@dataclass
class Api:
    app: Flask
    store: Store
    tokens: dict[Role, str]
    nas: FakeNas

    def call(self, method: str, path: str, role: Role | None = Role.ADMIN,
             body: Any = None) -> tuple[int, Any]:
        headers = {"Accept-Language": "en"}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        answer = self.app.test_client().open(path, method=method, headers=headers, json=body)
        text = answer.get_data(as_text=True)
        return answer.status_code, (json.loads(text) if answer.is_json and text else text)

    def audit(self, action: str) -> list[AuditEntry]:
        with self.store.session() as db:
            entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                      .order_by(AuditEntry.seq)))
            db.expunge_all()
            return entries

    def live_session(self, session_id: str) -> int:
        """An open session at the test NAS, which knows it; its row id."""
        self.nas.sessions[session_id] = {}
        now = datetime.now(UTC)
        with self.store.session() as db:
            row = RadiusSession(nas="test-gw", session_id=session_id, username="13800138000",
                                identity="13800138000", method="sms",
                                calling_station="AA-BB-CC-DD-EE-01", called_station="",
                                framed_ip="10.8.0.1", started_at=now, updated_at=now,
                                session_time=0, input_octets=0, output_octets=0,
                                terminate_cause="")
            db.add(row)
            db.flush()
            return row.id

    def pending_change(self, requested_by: str = "someone") -> int:
        with self.store.session() as db:
            return approvals.add(db, selectors=["core-01"], templates=["baseline"], devices=[
                {"hostname": "core-01", "site": "x", "added": ["a"], "removed": [],
                 "commands": ["a"]}], reason="CHG-1", requested_by=requested_by,
                now=datetime.now(UTC)).id


@pytest.fixture
def api(backend_config: Config, store: Store) -> Iterator[Api]:
    add_nas(backend_config, store, vendor="huawei")  # keeps what a CoA leaves out
    box = open_box(backend_config, store, create=True)
    tokens = api_tokens(store)
    with FakeNas(SECRET.encode()) as nas:
        url = backend_config.database.url
        config = make_config(backend_config.data_path.parent, radius={"coa_port": nas.port},
                             **({"database": {"url": url}} if url else {}))
        yield Api(create_app(store, config, box=box, test_config={"TESTING": True}), store,
                  tokens, nas)


OFFER = {"name": "Tea house", "category": "food", "offer": "10% off tea",
         "valid_from": "2026-01-01", "valid_until": "2027-12-31"}


def test_a_merchants_offer_through_its_life(api: Api) -> None:
    status, made = api.call("POST", "/admin/merchants.json", role=Role.OPERATOR, body=OFFER)
    assert status == 201, made
    assert (made["name"], made["communities"], made["image"]) == ("Tea house", [], False)
    path = f"/admin/merchants/{made['id']}.json"
    assert api.call("GET", path, role=Role.OPERATOR) == (200, made)
    status, changed = api.call("PUT", path, role=Role.OPERATOR, body={"offer": "20% off"})
    assert status == 200 and changed["changed"] == ["offer"]
    assert changed["offer"] == "20% off" and changed["category"] == "food"
    assert [m["offer"] for m in api.call("GET", "/admin/merchants.json")[1]["merchants"]] \
        == ["20% off"]
    assert api.call("DELETE", path, role=Role.OPERATOR) == (204, "")
    assert api.call("GET", path)[0] == 404
    assert [(e.action, e.target, e.actor) for e in api.audit("merchants.add")
            + api.audit("merchants.edit") + api.audit("merchants.remove")] == [
        ("merchants.add", "Tea house", "api-operator"),
        ("merchants.edit", "Tea house", "api-operator"),
        ("merchants.remove", "Tea house", "api-operator")]


def test_a_merchants_refusals_are_keyed_by_field(api: Api) -> None:
    assert api.call("POST", "/admin/merchants.json", body=OFFER)[0] == 201
    assert api.call("POST", "/admin/merchants.json", body=[OFFER]) == (
        400, {"errors": {"": "the body is a JSON object"}})
    assert api.call("POST", "/admin/merchants.json", body={**OFFER, "logo": "x"}) == (
        400, {"errors": {"logo": "no such field"}})
    status, answer = api.call("POST", "/admin/merchants.json", body={
        **OFFER, "valid_from": "20260101", "communities": "all"})
    assert status == 400 and set(answer["errors"]) == {"valid_from", "communities"}
    status, answer = api.call("POST", "/admin/merchants.json", body={
        **OFFER, "category": " ", "valid_until": "2025-01-01", "communities": ["nowhere"]})
    assert status == 422 and answer["errors"] == {
        "name": "a merchant named 'Tea house' exists", "category": "the category is empty",
        "valid_until": "2025-01-01 is before the first day 2026-01-01",
        "communities": "no community named nowhere"}
    assert len(api.audit("merchants.add")) == 1  # nothing stored by a refusal


def test_vouchers_revoked_one_by_one_or_by_batch(api: Api) -> None:
    with api.store.session() as db:
        codes = [v.code for v in vouchers.create(db, 3, 60, 1, "sheet-1", 30)]
    status, one = api.call("POST", "/admin/voucher-revocations.json", role=Role.OPERATOR,
                           body={"code": codes[0].lower(), "reason": "sheet lost"})
    assert status == 200 and (one["revoked"], one["was"], one["batch"]) == (1, "unused",
                                                                           "sheet-1")
    assert codes[0] not in json.dumps(one)
    assert api.call("POST", "/admin/voucher-revocations.json", body={
        "code": codes[0], "reason": "again"}) == (409, {"errors": {"code": "revoked already"}})
    status, batch = api.call("POST", "/admin/voucher-revocations.json", role=Role.OPERATOR,
                             body={"batch": "sheet-1", "reason": "event cancelled"})
    assert status == 200 and batch["revoked"] == 2
    assert api.call("POST", "/admin/voucher-revocations.json", body={
        "batch": "nope", "reason": "r"}) == (404, {"errors": {"batch": "no batch 'nope'"}})
    assert api.call("POST", "/admin/voucher-revocations.json", body={"reason": "r"})[0] == 400
    assert api.call("POST", "/admin/voucher-revocations.json", body={
        "code": codes[1], "reason": "\t"}) == (400, {"errors": {"reason": "required"}})
    entries = api.audit("vouchers.revoke")
    assert [(e.target, e.reason) for e in entries] == [
        (f"voucher {one['voucher']}", "sheet lost"), ("sheet-1", "event cancelled")]
    assert not any(code in str(e.detail) + e.target for e in entries for code in codes)


def test_bandwidth_refusals_before_anything_is_sent(api: Api) -> None:
    row = api.live_session("s-1")
    with api.store.session() as db:
        db.get(RadiusSession, row).stopped_at = datetime.now(UTC)  # type: ignore[union-attr]
    body = {"session": row, "up_kbps": 500, "down_kbps": 500, "reason": "abuse"}
    assert api.call("POST", "/admin/sessions/bandwidth.json", body=body) == (
        409, {"errors": {"session": "This session has ended"}})
    assert api.call("POST", "/admin/sessions/bandwidth.json", body={**body, "session": True}
                    ) == (400, {"errors": {"session": "a whole number from 1 to 2147483647"}})
    assert api.nas.received == [] and api.audit("sessions.bandwidth") == []
    assert radius.openapi.KBPS["maximum"] == bandwidth.MAX_KBPS  # the document's limit


def test_a_change_request_asked_for_and_pushed_is_refused_as_the_cli_refuses(
        api: Api) -> None:
    status, answer = api.call("POST", "/admin/devices/changes.json", role=Role.ENGINEER,
                              body={"selectors": ["core-*"], "reason": "CHG-9 NTP"})
    assert status == 422 and answer["errors"] == {
        "selectors": "no device matches core-* (HOSTNAME or a glob (*-acc-*), site:NAME, "
                     "role:ROLE or platform:NAME; several are OR-ed; none means every "
                     "device)"}
    assert api.call("POST", "/admin/devices/changes.json", body={"reason": " "}) == (
        400, {"errors": {"reason": "required"}})
    change = api.pending_change()
    status, answer = api.call("POST", f"/admin/devices/changes/{change}/push.json",
                              role=Role.ENGINEER)
    assert status == 409 and answer["refused"] == "not_approved"
    assert answer["errors"] == {"change": "is not approved (yet)"}
    assert api.call("POST", "/admin/devices/changes/999/push.json")[0] == 404
    (refusal,) = api.audit("devices.push")
    assert (refusal.result, refusal.actor, refusal.detail["refused"]) == (
        "refused", "api-engineer", "not_approved")
    status, shown = api.call("GET", f"/admin/devices/changes/{change}.json")
    assert status == 200 and shown["state"] == "pending" and shown["plan"][0]["commands"]


def _calls(api: Api, role: Role) -> list[tuple[str, str, Any, str, int]]:
    """Each new call as ``role`` would make it: (method, path, body, permission, the
    status when allowed), with what it works on made first by the admin."""
    status, made = api.call("POST", "/admin/merchants.json",
                            body={**OFFER, "name": f"shop {role.value}"})
    assert status == 201, made
    merchant = f"/admin/merchants/{made['id']}.json"
    with api.store.session() as db:
        vouchers.create(db, 2, 60, 1, f"sheet-{role.value}", 30)
    return [
        ("POST", "/admin/sessions/bandwidth.json", {
            "session": api.live_session(f"s-{role.value}"), "up_kbps": 500,
            "down_kbps": 500, "reason": "r"}, "sessions.kick", 200),
        ("POST", "/admin/merchants.json", {**OFFER, "name": f"new {role.value}"},
         "merchants.write", 201),
        ("GET", merchant, None, "merchants.write", 200),
        ("PUT", merchant, {"offer": "30% off"}, "merchants.write", 200),
        ("DELETE", merchant, None, "merchants.write", 204),
        ("POST", "/admin/voucher-revocations.json", {"batch": f"sheet-{role.value}",
                                                  "reason": "r"}, "vouchers.write", 200),
        # no device to plan: allowed roles reach the use case, which stores nothing
        ("POST", "/admin/devices/changes.json", {"reason": "r"}, "devices.push", 422),
        ("GET", f"/admin/devices/changes/{api.pending_change()}.json", None,
         "devices.read", 200),
        ("POST", f"/admin/devices/changes/{api.pending_change()}/push.json", None,
         "devices.push", 409),  # refused by the rules (not approved), not by the role
    ]


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(api: Api, role: Role) -> None:
    def ask(call: tuple[str, str, Any, str, int]) -> int:
        method, path, body, _permission, _allowed = call
        assert api.call(method, path, role=None, body=body)[0] == 401, path
        return api.call(method, path, role=role, body=body)[0]
    role_matrix(role, [(call, call[3]) for call in _calls(api, role)], ask,
                allowed=lambda call: (call[4],))
