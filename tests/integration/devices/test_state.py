"""Device state read from real CLIs: FRRouting routers over OpenSSH and the stateful Huawei
VRP / H3C Comware fakes, driven by netmiko's real drivers, through the collector in process
and through the real `citynet collect`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from citynet.db import Store
from citynet.telemetry import Context, Point
from devices.driver import Login, Session
from devices.platforms import PROFILES
from devices.state import DeviceStateCollector
from tests.conftest import make_config
from tests.fakes.vrp import FakeVrp, running
from tests.integration.devices.conftest import Cli
from tests.integration.devices.test_fake_vrp import COMWARE_CONFIG, VRP_CONFIG
from tests.lab.frr import FrrLab, Router
from tests.support import free_port

pytestmark = pytest.mark.slow

SITE = "笋岗社区"


@pytest.fixture
def routers(tmp_path: Path) -> Iterator[list[Router]]:
    """Two FRR routers; r1 has a veth pair st0/st1, both up, then st0 shut in vtysh."""
    lab = FrrLab(tmp_path / "frr")
    try:
        found = lab.start(2)
        namespace = found[0].namespace
        for command in (["link", "add", "st0", "type", "veth", "peer", "name", "st1"],
                        ["link", "set", "st0", "up"], ["link", "set", "st1", "up"]):
            subprocess.run(["ip", "-n", namespace, *command], check=True, capture_output=True)
        found[0].vtysh("configure terminal", "interface st0", "shutdown", "end")
        yield found
    finally:
        lab.stop()


@pytest.fixture
def switches(routers: list[Router]) -> Iterator[dict[str, FakeVrp]]:
    login = (routers[0].username, routers[0].password)
    fakes = {"wlc-01": FakeVrp("huawei", hostname="wlc-01", initial_config=VRP_CONFIG,
                               credentials=login),
             "h3c-01": FakeVrp("h3c", hostname="h3c-01", initial_config=COMWARE_CONFIG,
                               credentials=login)}
    fakes["wlc-01"].aps = [("hall-ap1", "nor"), ("hall-ap2", "nor"), ("roof-ap1", "fault")]
    fakes["wlc-01"].cpu_percent = 37
    fakes["h3c-01"].cpu_percent = 12
    with running(fakes):
        yield fakes


@pytest.fixture
def district(tmp_path: Path, routers: list[Router], switches: dict[str, FakeVrp]) -> Cli:
    """The routers, the switches and one device nothing answers for, imported by the CLI."""
    cli = Cli(tmp_path / "var")
    cli.env["CITYNET_DEVICES__TIMEOUT_SECONDS"] = "10"
    cli("db", "upgrade")
    rows = {
        "credentials": [{"name": "lab", "username": routers[0].username,
                         "password": routers[0].password}],
        "devices": [
            *({"hostname": r.hostname, "host": r.host, "port": r.port, "platform": "frr",
               "role": "router", "site": "lab-a", "credential": "lab"} for r in routers),
            {"hostname": "wlc-01", "host": "127.0.0.1", "port": switches["wlc-01"].port,
             "platform": "huawei", "role": "wifi_controller", "site": SITE,
             "credential": "lab"},
            {"hostname": "h3c-01", "host": "127.0.0.1", "port": switches["h3c-01"].port,
             "platform": "hp_comware", "role": "access_switch", "site": SITE,
             "credential": "lab"},
            {"hostname": "gone-01", "host": "127.0.0.1", "port": free_port(),
             "platform": "huawei", "role": "access_switch", "site": SITE,
             "credential": "lab"},
        ],
    }
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(rows, allow_unicode=True))
    cli("inventory", "import", str(path))
    return cli


def collect(tmp_path: Path) -> list[Point]:
    config = make_config(tmp_path, devices={"timeout_seconds": 10})
    store = Store.from_config(config)
    try:
        return DeviceStateCollector(environ={}).collect(
            Context(store, config, datetime.now(UTC)))
    finally:
        store.close()


def fields(found: list[Point], measurement: str, **tags: str) -> dict[str, object]:
    [point] = [p for p in found if p.measurement == measurement
               and all(p.tags.get(k) == v for k, v in tags.items())]
    return dict(point.fields)


def test_interfaces_cpu_and_aps_of_every_device_and_one_unreachable(
        tmp_path: Path, district: Cli, routers: list[Router],
        switches: dict[str, FakeVrp]) -> None:
    found = collect(tmp_path)
    polls = {p.tags["device"]: p.fields["ok"] for p in found if p.measurement == "device_poll"}
    assert polls == {"r1": 1, "r2": 1, "wlc-01": 1, "h3c-01": 1, "gone-01": 0}
    assert {p.tags["site"] for p in found if p.tags["device"] == "wlc-01"} == {SITE}
    # FRR: what `ip link` and vtysh's shutdown did, per router
    assert fields(found, "interface", device="r1", interface="lo")["up"] == 1
    assert fields(found, "interface", device="r1", interface="st0")["up"] == 0
    assert fields(found, "interface", device="r2", interface="lo")["up"] == 1
    assert not [p for p in found if p.tags.get("device") == "r2"
                and p.tags.get("interface") == "st0"]
    assert not [p for p in found if p.tags["device"] == "r1" and p.measurement == "device_cpu"]
    # VRP and Comware: the configured interfaces, CPU, and the controller's APs
    assert fields(found, "interface", device="wlc-01", interface="GigabitEthernet0/0/1") == {
        "up": 1, "admin_up": 1, "in_errors": 0, "out_errors": 0}
    assert fields(found, "interface", device="wlc-01", interface="Vlanif20")["up"] == 1
    assert fields(found, "interface", device="h3c-01", interface="Vlan-interface20") == {
        "up": 1, "admin_up": 1}
    assert fields(found, "device_cpu", device="wlc-01") == {"percent": 37.0}
    assert fields(found, "device_cpu", device="h3c-01") == {"percent": 12.0}
    assert fields(found, "wlan_aps", device="wlc-01") == {"online": 2, "total": 3}
    assert not [p for p in found if p.measurement == "wlan_aps" and p.tags["device"] != "wlc-01"]
    assert [p.measurement for p in found if p.tags["device"] == "gone-01"] == ["device_poll"]

    # an interface shut at the device's CLI reads down on the next run; the load moves
    vrp = switches["wlc-01"]
    with Session(Login("wlc-01", "127.0.0.1", vrp.port, PROFILES["huawei"],
                       routers[0].username, routers[0].password, timeout=10)) as session:
        session.configure(["interface GigabitEthernet0/0/1", "shutdown"])
    vrp.cpu_percent = 55
    again = collect(tmp_path)
    assert fields(again, "interface", device="wlc-01", interface="GigabitEthernet0/0/1") == {
        "up": 0, "admin_up": 0, "in_errors": 0, "out_errors": 0}
    assert fields(again, "device_cpu", device="wlc-01") == {"percent": 55.0}


def test_citynet_collect_runs_the_device_state_collector(
        tmp_path: Path, district: Cli, routers: list[Router]) -> None:
    result = district("collect", "--once", "--only", "device_state", "--json")
    [run] = [json.loads(line) for line in result.stdout.splitlines()]
    assert run["collector"] == "device_state" and run["ok"], run
    assert run["points"] >= 10
    assert "1 of 5 devices not read" in result.stderr and "gone-01" in result.stderr
    assert routers[0].password not in result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "var" / "citynet.sqlite3") as db:
        rows = db.execute("select series, fields from telemetry_rollup "
                          "where measurement = 'device_poll'").fetchall()
    ok = {series: json.loads(values)["ok"] for series, values in rows}
    assert ok == {f"device=gone-01,site={SITE}": 0.0, f"device=h3c-01,site={SITE}": 1.0,
                  f"device=wlc-01,site={SITE}": 1.0, "device=r1,site=lab-a": 1.0,
                  "device=r2,site=lab-a": 1.0}
    listed = district("collect", "--help").stdout
    assert "device_state" in listed
