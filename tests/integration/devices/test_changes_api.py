"""A device change request through the staff API, end to end against a stateful fake
Huawei switch (netmiko's real driver): asked for with a token (the plan read from the
device and stored), approved by a second person, pushed with a token once — the same
use cases and audit entries as `citynet devices plan --request` and `push --change`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import select

from citynet import staff
from citynet.app import create_app
from citynet.audit import AuditEntry
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from devices import approvals
from devices.approvals import DeviceChange, State
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from tests.conftest import make_config
from tests.fakes.vrp import FakeVrp
from tests.integration.devices.test_fake_vrp import VRP_CONFIG

pytestmark = pytest.mark.slow

DEVICE_PASSWORD = "Lab-Device-Password-5e2d"
SNMP_COMMUNITY = "Lab-Snmp-Community-71ab"
STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def switch() -> Iterator[FakeVrp]:
    fake = FakeVrp("huawei", initial_config=VRP_CONFIG,
                   credentials=("netops", DEVICE_PASSWORD)).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def site(tmp_path: Path, switch: FakeVrp) -> Iterator[tuple[FlaskClient, Store, str]]:
    config = make_config(tmp_path, devices={"approval_threshold": 0})
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    rows = {"credentials": [{"name": "lab", "username": "netops",
                             "password": DEVICE_PASSWORD}],
            "devices": [{"hostname": "vrp-01", "host": "127.0.0.1", "port": switch.port,
                         "platform": "huawei", "role": "access_switch", "site": "笋岗社区",
                         "credential": "lab"}]}
    config.data_path.mkdir(parents=True, exist_ok=True)
    (config.data_path / "intent.yaml").write_text(yaml.safe_dump({"defaults": {
        "ntp_servers": ["10.0.0.123"], "syslog_hosts": ["10.0.0.9"],
        "snmp_community": SNMP_COMMUNITY}}, allow_unicode=True))
    with store.session() as db:
        outcome = import_rows(db, [RawRow("lab", n, KINDS[kind], row)
                                   for kind, listed in rows.items()
                                   for n, row in enumerate(listed, start=1)], box)
        assert outcome.ok, outcome.problems
        staff.add(db, "alice", Role.ENGINEER, STAFF_PASSWORD)
        token = staff.issue_token(db, "alice", "change scripts")
    try:
        yield (create_app(store, config, box=box, test_config={"TESTING": True})
               .test_client(), store, token)
    finally:
        store.close()


def test_asked_for_approved_and_pushed_once(site: tuple[FlaskClient, Store, str],
                                            switch: FakeVrp) -> None:
    client, store, token = site
    auth = {"Authorization": f"Bearer {token}"}

    def post(path: str, body: Any = None) -> tuple[int, Any]:
        answer = client.post(path, headers=auth, json=body)
        return answer.status_code, answer.get_json()

    status, asked = post("/admin/devices/changes.json", {
        "selectors": ["site:笋岗社区"], "templates": ["baseline"], "reason": "CHG-7 NTP"})
    assert status == 201, asked
    assert (asked["state"], asked["requested_by"], asked["changing"]) == (
        "pending", "alice", 1)
    (planned,) = asked["plan"]
    assert planned["hostname"] == "vrp-01" and planned["commands"]
    assert SNMP_COMMUNITY not in str(asked) and DEVICE_PASSWORD not in str(asked)
    assert "ntp" in " ".join(planned["commands"]).lower()
    assert "10.0.0.123" not in switch.running_config()  # a plan sends nothing
    change = asked["id"]
    status, refused = post(f"/admin/devices/changes/{change}/push.json")
    assert status == 409 and refused["refused"] == "not_approved" and refused["devices"] == []
    with store.session() as db:  # bob, signed in on the staff web, approves it
        assert approvals.decide(db, change, True, "bob", "checked", datetime.now(UTC))
    status, pushed = post(f"/admin/devices/changes/{change}/push.json")
    assert status == 200, pushed
    assert pushed["ok"] and [d["hostname"] for d in pushed["devices"]] == ["vrp-01"]
    assert "10.0.0.123" in switch.running_config()
    status, again = post(f"/admin/devices/changes/{change}/push.json")
    assert status == 409 and again["refused"] == "used"
    with store.session() as db:
        stored = db.get(DeviceChange, change)
        assert stored is not None and stored.state is State.USED
        assert (stored.used_by, stored.push_seq) == ("alice", pushed["audit_seq"])
        entries = [(e.action, e.result, e.actor) for e in db.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith("devices."))
            .order_by(AuditEntry.seq))]
    assert entries == [("devices.plan", "ok", "alice"), ("devices.request", "ok", "alice"),
                       ("devices.push", "refused", "alice"), ("devices.push", "ok", "alice"),
                       ("devices.push", "refused", "alice")]
    # deciding stays a person's: the token may not approve (docs/devices.md)
    assert client.post(f"/admin/devices/changes/{change}/approve", headers=auth,
                       data={"note": "x"}).status_code == 403
