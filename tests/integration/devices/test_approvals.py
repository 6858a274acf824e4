"""Change requests end to end: `citynet devices plan --request` against the stateful
Huawei/H3C fakes, the approval on the staff web by a second engineer, `push --change`;
and the pages' permissions, CSRF and audit trail on a real SQLite store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from citynet import audit, staff
from citynet.access import PERMISSIONS
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from devices import approvals
from devices.approvals import DeviceChange, State
from tests.conftest import make_config
from tests.fakes.vrp import CliSession, FakeVrp
from tests.integration.devices.conftest import Cli
from tests.integration.devices.test_push_vrp import SECRETS, _district, switches
from tests.support import role_matrix, staff_login
from tests.support import staff_csrf as csrf

__all__ = ["switches"]  # the fake switches fixture, shared with test_push_vrp

PLAN = [{"hostname": "vrp-01", "site": "笋岗社区",
         "added": ["+ ntp-service unicast-server 10.0.0.1"], "removed": [],
         "commands": ["ntp-service unicast-server 10.0.0.1"]}]


class Web:
    """The staff web app on the store in ``tmp_path/var`` (shared with the CLI)."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = make_config(tmp_path)
        self.store = Store.from_config(self.config)
        self.store.upgrade()
        self.app = create_app(self.store, self.config,
                              box=open_box(self.config, self.store, create=True),
                              test_config={"TESTING": True})

    def login(self, role: str, name: str) -> FlaskClient:
        client: FlaskClient = staff_login(self.app, self.store, role, name)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    def request(self, requested_by: str = "alice") -> int:
        with self.store.session() as session:
            return approvals.add(session, selectors=["vrp-01"], templates=["baseline"],
                                 devices=PLAN, reason="CHG-1 NTP", requested_by=requested_by,
                                 now=datetime.now(UTC)).id

    def change(self, change_id: int) -> DeviceChange:
        with self.store.session() as session:
            change = session.get(DeviceChange, change_id)
            assert change is not None
            session.expunge(change)
            return change

    def entries(self, action: str) -> list[tuple[str, str, str]]:
        with self.store.session() as session:
            return [(e.actor, e.target, e.result) for e in audit.recent(session, action)
                    if e.action == action]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    made = Web(tmp_path)
    try:
        yield made
    finally:
        made.store.close()



def decide(client: FlaskClient, change_id: int, verb: str, note: str = "") -> Any:
    return client.post(f"/admin/devices/changes/{change_id}/{verb}",
                       data={"csrf": csrf(client), "note": note})


# --- the pages (no devices needed) ----------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_who_may_read_and_decide(web: Web, role: Role) -> None:
    change_id = web.request(requested_by="someone-else")
    client = web.login(role.value, f"user-{role.value}")
    role_matrix(role, [(path, "devices.read") for path in (
        "/admin/devices/changes", "/admin/devices/changes.json",
        f"/admin/devices/changes/{change_id}", f"/admin/devices/changes/{change_id}.json")],
        lambda path: client.get(path).status_code)
    token = csrf(client, "/admin/")
    role_matrix(role, [(verb, "devices.approve") for verb in ("reject", "approve")],
                lambda verb: client.post(f"/admin/devices/changes/{change_id}/{verb}",
                                         data={"csrf": token, "note": "checked"}).status_code,
                allowed=(302,))
    decided = web.change(change_id)
    if "devices.approve" in PERMISSIONS[role]:  # the reject landed; the approve came late
        assert decided.state is State.REJECTED and decided.decided_by == f"user-{role.value}"
        assert web.entries("devices.approve") == [
            (f"user-{role.value}", f"change {change_id}", "refused")]
    else:
        assert decided.state is State.PENDING


def test_the_requester_cannot_approve_their_own_request(web: Web) -> None:
    change_id = web.request(requested_by="alice")
    alice = web.login("engineer", "alice")
    page = alice.get(f"/admin/devices/changes/{change_id}").get_data(as_text=True)
    assert "/approve" not in page and "You requested this" in page
    answer = decide(alice, change_id, "approve")
    assert answer.status_code == 403
    assert "your own change request" in answer.get_data(as_text=True)
    assert decide(alice, change_id, "reject", "never mind").status_code == 403
    assert web.change(change_id).state is State.PENDING
    assert web.entries("devices.approve") == [("alice", f"change {change_id}", "refused")]
    assert web.entries("devices.reject") == [("alice", f"change {change_id}", "refused")]
    # an admin is no exception
    admin_request = web.request(requested_by="root")
    root = web.login("admin", "root")
    assert decide(root, admin_request, "approve").status_code == 403


def test_a_second_engineer_approves_once(web: Web) -> None:
    change_id = web.request(requested_by="alice")
    bob = web.login("engineer", "bob")
    page = bob.get(f"/admin/devices/changes/{change_id}").get_data(as_text=True)
    assert "+ ntp-service unicast-server 10.0.0.1" in page and "CHG-1 NTP" in page
    assert f"/admin/devices/changes/{change_id}/approve" in page
    answer = decide(bob, change_id, "approve", "looks right")
    assert answer.status_code == 302
    shown = bob.get(answer.headers["Location"]).get_data(as_text=True)
    assert "approved: it may be pushed once within 24 hours" in shown
    assert f"citynet devices push vrp-01 --template baseline --change {change_id}" in shown
    change = web.change(change_id)
    assert (change.state, change.decided_by, change.decision_note) == (
        State.APPROVED, "bob", "looks right")
    # a late second decision is refused, and audited as such
    carol = web.login("admin", "carol")
    late = decide(carol, change_id, "reject", "too late")
    assert late.status_code == 302
    assert "no longer pending (approved)" in carol.get(late.headers["Location"]).get_data(True)
    assert web.entries("devices.approve") == [("bob", f"change {change_id}", "ok")]
    assert web.entries("devices.reject") == [("carol", f"change {change_id}", "refused")]
    with web.store.session() as session:
        assert audit.verify(session)[1] == []


def test_a_rejection_needs_a_note_and_keeps_it_on_errors(web: Web) -> None:
    change_id = web.request()
    bob = web.login("engineer", "bob")
    empty = decide(bob, change_id, "reject", "   ")
    assert empty.status_code == 400 and "Say why in the note" in empty.get_data(as_text=True)
    long_note = "x" * (approvals.MAX_NOTE + 1)
    too_long = decide(bob, change_id, "reject", long_note)
    assert too_long.status_code == 400 and long_note in too_long.get_data(as_text=True)
    assert web.change(change_id).state is State.PENDING
    assert web.entries("devices.reject") == []  # form errors are not decisions
    assert decide(bob, change_id, "reject", "wrong VLAN").status_code == 302
    assert web.change(change_id).state is State.REJECTED


def test_posts_need_the_form_token_and_api_tokens_cannot_decide(web: Web) -> None:
    change_id = web.request()
    bob = web.login("engineer", "bob")
    assert bob.post(f"/admin/devices/changes/{change_id}/approve").status_code == 400
    with web.store.session() as session:
        token = staff.issue_token(session, "bob", "ci")
    api = web.app.test_client().post(f"/admin/devices/changes/{change_id}/approve",
                                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert web.change(change_id).state is State.PENDING
    assert web.entries("devices.approve") == [("bob", f"change {change_id}", "refused")]
    anonymous = web.app.test_client()
    answer = anonymous.post(f"/admin/devices/changes/{change_id}/approve",
                            data={"csrf": csrf(anonymous, "/login")})
    # a write without a login is refused, not redirected: the login page would lose it
    assert answer.status_code == 401
    assert web.change(change_id).state is State.PENDING


def test_the_list_puts_pending_first_and_the_json_says_it_all(web: Web) -> None:
    first, second, third = web.request(), web.request(), web.request()
    bob = web.login("engineer", "bob")
    decide(bob, first, "reject", "no")
    with web.store.session() as session:  # an approval a day and an hour old has expired
        approvals.decide(session, third, True, "carol", "", datetime.now(UTC)
                         - timedelta(hours=25))
    listed = bob.get("/admin/devices/changes.json").get_json()["changes"]
    assert [(c["id"], c["state"]) for c in listed] == [
        (second, "pending"), (third, "expired"), (first, "rejected")]
    assert listed[0].keys() == {
        "id", "state", "selectors", "templates", "reason", "requested_by", "requested_at",
        "changing", "devices", "digest", "decided_by", "decided_at", "decision_note",
        "expires_at", "used_at", "used_by", "push_seq", "url"}
    assert listed[0]["url"] == f"/admin/devices/changes/{second}"
    one = bob.get(f"/admin/devices/changes/{second}.json").get_json()
    assert one["plan"] == PLAN and one["changing"] == 1
    assert bob.get("/admin/devices/changes/999").status_code == 404
    page = bob.get("/admin/devices/changes?lang=zh-CN").get_data(as_text=True)
    assert "变更申请" in page and "待审批" in page



@pytest.mark.parametrize("role", list(Role))
def test_only_who_may_push_applies_and_only_an_approved_request(web: Web, role: Role) -> None:
    change_id = web.request(requested_by="someone-else")
    client = web.login(role.value, f"user-{role.value}")
    answer = client.post(f"/admin/devices/changes/{change_id}/apply",
                         data={"csrf": csrf(client, "/admin/")})
    if "devices.push" not in PERMISSIONS[role]:
        assert answer.status_code == 403
        assert web.entries("devices.push") == []
        return
    # still pending: refused before any device is read, audited under the staff name
    assert answer.status_code == 409
    assert "is not approved (yet). Nothing was sent." in answer.get_data(as_text=True)
    assert web.entries("devices.push") == [(f"user-{role.value}", "vrp-01", "refused")]
    assert web.change(change_id).state is State.PENDING
    # the button is offered only for an approved request
    assert "/apply" not in client.get(f"/admin/devices/changes/{change_id}").get_data(
        as_text=True)


def test_each_devices_result_and_reason_is_said_in_the_pages_language(
        web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-device reasons (Messages: English in the API and the audit record) and
    statuses on the change page are in its reader's language. The push itself is
    replaced: what is checked is the page, given a rollout's outcome."""
    from citynet.catalogs import Message
    from devices import rollout
    from devices.fleet import Result, Status
    from devices.targets import Unready

    outcome = rollout.Rollout(
        results=[Result("vrp-01", "town-hall", Status.SKIPPED,
                        error=Message("not tried: the canary failed"))],
        unready=[Unready("vrp-02", "library", Message(
            "its credential is sealed and there is no secrets key"))])
    monkeypatch.setattr(rollout, "push", lambda *args, **kwargs: outcome)
    change_id = web.request(requested_by="alice")
    assert decide(web.login("engineer", "bob"), change_id, "approve").status_code == 302
    alice = web.login("engineer", "alice")
    alice.get("/admin/devices/changes?lang=zh-Hant")
    shown = alice.post(f"/admin/devices/changes/{change_id}/apply",
                       data={"csrf": csrf(alice, "/admin/")}).get_data(as_text=True)
    assert "<td>vrp-01</td><td>town-hall</td><td>已略過</td><td>未嘗試：先導裝置失敗</td>" in shown
    assert "<td>未就緒</td><td>它的登入憑證已加密，但沒有機密密鑰</td>" in shown
    assert "canary" not in shown and "credential" not in shown


# --- the CLI, no devices needed -------------------------------------------------------------

def test_an_unknown_or_expired_request_is_refused_before_any_device_is_read(
        web: Web, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    unknown = cli("devices", "push", "--change", "41", code=3)
    assert "no change request 41" in unknown.stderr
    change_id = web.request()
    with web.store.session() as session:
        approvals.decide(session, change_id, True, "bob", "",
                         datetime.now(UTC) - timedelta(hours=25))
    expired = cli("devices", "push", "vrp-01", "--template", "baseline", "--change",
                  str(change_id), code=None)
    assert expired.returncode == 3 and "has expired" in expired.stderr, expired.stderr
    assert web.change(change_id).state is State.EXPIRED  # written down once met
    assert cli("devices", "push", code=2).stderr.count("--reason") == 1  # still required
    assert web.entries("devices.push") == [(audit.cli_actor(), "all devices", "refused"),
                                           (audit.cli_actor(), "vrp-01", "refused")][::-1]


def test_as_names_an_active_staff_member_who_may_push(web: Web, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    with web.store.session() as session:
        staff.add(session, "mia", Role.MANAGER, "a long test password 1")
    for name, words in (("nobody", "no active staff member"), ("mia", "may not push")):
        refused = cli("devices", "plan", "--request", "--reason", "x", "--as", name, code=1)
        assert words in refused.stderr
    assert "--request" in cli("devices", "plan", "--as", "mia", code=2).stderr
    assert "--reason" in cli("devices", "plan", "--request", code=2).stderr
    # without --as the requester would be the OS user, free to approve under a staff name
    assert "--as" in cli("devices", "plan", "--request", "--reason", "x", code=2).stderr


# --- end to end with the fake switches ------------------------------------------------------

def _fleet(tmp_path: Path, switches: dict[str, FakeVrp]) -> Cli:
    cli = _district(tmp_path, switches)
    cli.env["CITYNET_DEVICES__APPROVAL_THRESHOLD"] = "1"
    return cli


def _configs(switches: dict[str, FakeVrp]) -> dict[str, str]:
    return {name: fake.running_config() for name, fake in switches.items()}


@pytest.mark.slow
def test_a_big_push_waits_for_a_second_engineer(tmp_path: Path,
                                                switches: dict[str, FakeVrp]) -> None:
    cli = _fleet(tmp_path, switches)
    web = Web(tmp_path)
    alice, bob = web.login("engineer", "alice"), web.login("engineer", "bob")
    before = _configs(switches)

    refused = cli("devices", "push", "--reason", "CHG-9 NTP", code=3)
    assert "would change 3 devices, more than devices.approval_threshold (1)" in refused.stderr
    assert "citynet devices plan --request --reason TEXT" in refused.stderr
    assert "approves it on the staff web" in refused.stderr
    assert _configs(switches) == before  # nothing sent
    assert cli("devices", "push", "vrp-01", "--reason", "one device").returncode == 0  # under

    requested = cli("devices", "plan", "--request", "--reason", "CHG-9 NTP", "--as", "alice",
                    "--json")
    json.loads(requested.stdout)  # the JSON stays parseable: the news is on stderr
    found = re.search(r"change request (\d+) stored \(2 devices change\)", requested.stderr)
    assert found is not None, requested.stderr
    change_id = int(found.group(1))
    assert f"/admin/devices/changes/{change_id}" in requested.stderr
    assert f"citynet devices push --change {change_id}" in requested.stderr
    not_yet = cli("devices", "push", "--change", str(change_id), code=3)
    assert "is not approved (yet)" in not_yet.stderr

    assert decide(alice, change_id, "approve").status_code == 403
    page = bob.get(f"/admin/devices/changes/{change_id}").get_data(as_text=True)
    assert "&lt;redacted&gt;" in page and "alice" in page
    for secret in SECRETS:
        assert secret not in page
    assert decide(bob, change_id, "approve", "NTP per CHG-9").status_code == 302

    other = cli("devices", "push", "vrp-02", "--change", str(change_id), code=3)
    assert "was for other selectors or templates" in other.stderr
    pushed = cli("devices", "push", "--change", str(change_id), "--json")
    statuses = {d["hostname"]: d["status"] for d in json.loads(pushed.stdout)["devices"]}
    assert statuses == {"vrp-01": "unchanged", "vrp-02": "pushed", "h3c-01": "pushed"}
    change = web.change(change_id)
    assert change.state is State.USED and change.used_at is not None
    with web.store.session() as session:
        entry = session.get(audit.AuditEntry, change.push_seq)
        assert entry is not None and entry.action == "devices.push" and entry.result == "ok"
        assert entry.detail["change"] == change_id
        assert entry.reason == f"change {change_id}: CHG-9 NTP"
        kinds = [e.action for e in session.scalars(select(audit.AuditEntry)
                                                   .order_by(audit.AuditEntry.seq))]
        assert "devices.request" in kinds and audit.verify(session)[1] == []
    again = cli("devices", "push", "--change", str(change_id), code=3)
    assert "was used by an earlier push" in again.stderr
    assert f"job {change.push_seq}" in bob.get(
        f"/admin/devices/changes/{change_id}?lang=en").get_data(as_text=True)
    web.store.close()


@pytest.mark.slow
def test_a_rejected_request_and_a_config_changed_after_approval(
        tmp_path: Path, switches: dict[str, FakeVrp]) -> None:
    cli = _fleet(tmp_path, switches)
    web = Web(tmp_path)
    bob = web.login("engineer", "bob")
    with web.store.session() as session:
        staff.add(session, "alice", Role.ENGINEER, "a long test password 1")

    def request() -> int:
        made = cli("devices", "plan", "--request", "--reason", "CHG-10", "--as", "alice")
        found = re.search(r"change request (\d+) stored", made.stdout)
        assert found is not None and "alice" in made.stdout
        return int(found.group(1))

    rejected = request()
    assert decide(bob, rejected, "reject", "wrong window").status_code == 302
    assert "is not approved" in cli("devices", "push", "--change", str(rejected),
                                    code=3).stderr

    approved = request()
    assert decide(bob, approved, "approve").status_code == 302  # the OS user asked: bob may
    before = _configs(switches)
    session = CliSession(switches["vrp-02"])  # someone adds an NTP server by hand
    for line in ("system-view", "ntp-service unicast-server 10.0.0.200", "quit"):
        session.feed(line)
    drifted = cli("devices", "push", "--change", str(approved), code=3)
    assert "no longer matches the devices" in drifted.stderr
    assert "vrp-02: its plan differs from the approved one" in drifted.stderr
    assert "vrp-01" not in drifted.stderr and "h3c-01" not in drifted.stderr
    assert {k: v for k, v in _configs(switches).items() if k != "vrp-02"} == {
        k: v for k, v in before.items() if k != "vrp-02"}  # nothing sent
    assert web.change(approved).state is State.APPROVED  # still there: nothing used it
    web.store.close()


@pytest.mark.slow
def test_an_approved_request_is_applied_from_its_page(tmp_path: Path,
                                                     switches: dict[str, FakeVrp]) -> None:
    cli = _fleet(tmp_path, switches)
    web = Web(tmp_path)
    alice, bob = web.login("engineer", "alice"), web.login("engineer", "bob")
    made = cli("devices", "plan", "--request", "--reason", "CHG-11 NTP", "--as", "alice")
    found = re.search(r"change request (\d+) stored", made.stdout)
    assert found is not None, made.stdout
    change_id = int(found.group(1))
    assert decide(bob, change_id, "approve").status_code == 302
    page = alice.get(f"/admin/devices/changes/{change_id}").get_data(as_text=True)
    assert f"/admin/devices/changes/{change_id}/apply" in page

    applied = alice.post(f"/admin/devices/changes/{change_id}/apply",
                         data={"csrf": csrf(alice, "/admin/")})
    shown = applied.get_data(as_text=True)
    assert applied.status_code == 200 and f"Change request {change_id} pushed" in shown
    for hostname in switches:
        assert re.search(rf"<td>{hostname}</td><td>[^<]*</td><td>pushed</td>", shown), (
            hostname, shown)
    for secret in SECRETS:
        assert secret not in shown
    change = web.change(change_id)
    assert change.state is State.USED and change.used_by == "alice"
    with web.store.session() as session:
        entry = session.get(audit.AuditEntry, change.push_seq)
        assert entry is not None and (entry.action, entry.actor, entry.result) == (
            "devices.push", "alice", "ok")
        assert entry.detail["change"] == change_id
    again = alice.post(f"/admin/devices/changes/{change_id}/apply",
                       data={"csrf": csrf(alice, "/admin/")})
    assert again.status_code == 409
    assert "was used by an earlier push already" in again.get_data(as_text=True)
    web.store.close()
