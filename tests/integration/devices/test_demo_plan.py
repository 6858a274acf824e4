"""The demo's devices exist nowhere: a plan against the configs shipped with the demo
shows what a push would send, without a device to read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.devices.conftest import Cli

pytestmark = pytest.mark.slow


def test_the_demo_plans_against_its_shipped_configs(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    seeded = cli("demo", "--seed-only").stdout
    assert "96 device configs shipped with the demo stored as their first backup" in seeded
    plan = json.loads(cli("devices", "plan", "--from-backup", "luohu-core-01",
                          "huangbei-agg-01", "--json").stdout)
    core, agg = plan["devices"]
    assert (core["hostname"], core["status"], agg["status"]) == (
        "luohu-core-01", "planned", "planned")
    assert "no ntp server 10.0.0.1" in core["commands"]  # cisco_ios: baseline owns NTP
    assert "undo ntp-service unicast-server 10.0.0.1" in agg["commands"]  # huawei
    assert core["timings"] == {}  # no session was opened
    shown = cli("devices", "plan", "--from-backup", "luohu-core-01").stdout
    assert shown.startswith("planned against each device's last backup, not the device")
    assert "--- luohu-core-01 (罗湖区数据中心): 3 commands" in shown
    assert "device configs" not in cli("demo", "--seed-only").stdout  # stored once

    refused = cli("devices", "plan", "--from-backup", "--request", "--as", "admin",
                  "--reason", "x", code=2)
    assert "--request plans the devices as they are" in refused.stderr


def test_a_device_without_a_backup_cannot_be_planned_from_one(tmp_path: Path) -> None:
    import yaml

    cli = Cli(tmp_path / "var")
    cli("db", "upgrade")
    rows = tmp_path / "one.yaml"
    rows.write_text(yaml.safe_dump({
        "credentials": [{"name": "c", "username": "u", "password": "p"}],
        "devices": [{"hostname": "sw-1", "host": "127.0.0.1", "port": 22,
                     "platform": "huawei", "role": "access_switch", "site": "a",
                     "credential": "c"}]}))
    cli("inventory", "import", str(rows))
    done = cli("devices", "plan", "--from-backup", code=1)
    assert "sw-1: no backup to plan against: run `citynet devices backup sw-1`" in done.stdout
