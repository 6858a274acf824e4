"""Device state without devices: the parsers on real-looking output of each platform (through
the ntc-templates TextFSM templates where one fits), the points, and a poll in which one
device fails while the others report."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from citynet.telemetry import Context
from devices.driver import CommandRefused, Login, Unreachable, table
from devices.intent import Device
from devices.platforms import PROFILES
from devices.state import (
    AccessPoints,
    DeviceState,
    DeviceStateCollector,
    Interface,
    Output,
    OutputError,
    Poll,
    access_points,
    comware_name,
    cpu_percent,
    interfaces,
    points,
    poll_all,
)
from inventory.choices import DeviceRole, Platform
from inventory.models import Credential, NetworkDevice
from tests.conftest import make_config

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

# --- samples: what each CLI prints (shortened), modelled on public transcripts ------------

FRR_BRIEF = """\
Interface       Status  VRF             Addresses
---------       ------  ---             ---------
eth0            up      default         10.0.12.1/30
eth1            down    default
lo              up      default         10.255.0.1/32
"""

IOS_INTERFACES = """\
GigabitEthernet0/0 is up, line protocol is up
  Hardware is iGbE, address is 5254.0012.3456 (bia 5254.0012.3456)
  Description: uplink to core
  Internet address is 10.0.0.2/30
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
     reliability 255/255, txload 1/255, rxload 1/255
  Encapsulation ARPA, loopback not set
  Keepalive set (10 sec)
  Full Duplex, Auto Speed, link type is auto, media type is RJ45
  output flow-control is unsupported, input flow-control is unsupported
  ARP type: ARPA, ARP Timeout 04:00:00
  Last input 00:00:01, output 00:00:00, output hang never
  Last clearing of "show interface" counters never
  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0
  Queueing strategy: fifo
  Output queue: 0/40 (size/max)
  5 minute input rate 2000 bits/sec, 3 packets/sec
  5 minute output rate 1000 bits/sec, 2 packets/sec
     183954 packets input, 20473651 bytes, 0 no buffer
     Received 4521 broadcasts (0 IP multicasts)
     0 runts, 0 giants, 0 throttles
     12 input errors, 3 CRC, 0 frame, 0 overrun, 0 ignored
     0 watchdog, 0 multicast, 0 pause input
     95432 packets output, 11843201 bytes, 0 underruns
     2 output errors, 0 collisions, 1 interface resets
     0 unknown protocol drops
     0 babbles, 0 late collision, 0 deferred
     0 lost carrier, 0 no carrier, 0 pause output
     0 output buffer failures, 0 output buffers swapped out
GigabitEthernet0/1 is administratively down, line protocol is down
  Hardware is iGbE, address is 5254.0012.3457 (bia 5254.0012.3457)
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
     reliability 255/255, txload 1/255, rxload 1/255
  Encapsulation ARPA, loopback not set
  Keepalive set (10 sec)
  Auto Duplex, Auto Speed, link type is auto, media type is RJ45
  ARP type: ARPA, ARP Timeout 04:00:00
  Last input never, output never, output hang never
  Last clearing of "show interface" counters never
  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0
  Queueing strategy: fifo
  Output queue: 0/40 (size/max)
  5 minute input rate 0 bits/sec, 0 packets/sec
  5 minute output rate 0 bits/sec, 0 packets/sec
     0 packets input, 0 bytes, 0 no buffer
     Received 0 broadcasts (0 IP multicasts)
     0 runts, 0 giants, 0 throttles
     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored
     0 packets output, 0 bytes, 0 underruns
     0 output errors, 0 collisions, 0 interface resets
Vlan10 is up, line protocol is down
  Hardware is EtherSVI, address is 5254.0012.3458 (bia 5254.0012.3458)
  Internet address is 10.100.0.1/22
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
     reliability 255/255, txload 1/255, rxload 1/255
  Encapsulation ARPA, loopback not set
  ARP type: ARPA, ARP Timeout 04:00:00
  Last input never, output never, output hang never
  Last clearing of "show interface" counters never
  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0
  Queueing strategy: fifo
  Output queue: 0/40 (size/max)
  5 minute input rate 0 bits/sec, 0 packets/sec
  5 minute output rate 0 bits/sec, 0 packets/sec
     0 packets input, 0 bytes, 0 no buffer
     Received 0 broadcasts (0 IP multicasts)
     0 runts, 0 giants, 0 throttles
     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored
     0 packets output, 0 bytes, 0 underruns
     0 output errors, 0 interface resets
"""

IOS_CPU = """\
CPU utilization for five seconds: 6%/0%; one minute: 5%; five minutes: 4%
 PID Runtime(ms)     Invoked      uSecs   5Sec   1Min   5Min TTY Process
   1           0          10          0  0.00%  0.00%  0.00%   0 Chunk Manager
   2        1234        5678        217  0.07%  0.02%  0.00%   0 Load Meter
"""

VRP_LEGEND = """\
PHY: Physical
*down: administratively down
^down: standby
(l): loopback
(s): spoofing
(b): BFD down
(e): ETHOAM down
(dl): DLDP down
(d): Dampening Suppressed
"""
VRP_TABLE = """\
InUti/OutUti: input utility/output utility
Interface                   PHY   Protocol  InUti OutUti   inErrors  outErrors
Eth-Trunk4                  up    down      0.69% 13.57%       4625          0
  GigabitEthernet0/0/1(10G) up    up        0.69% 14.30%          0          7
GigabitEthernet0/0/2        *down down         0%     0%          0          0
NULL0                       up    up(s)        0%     0%          0          0
Vlanif20                    up    up           --     --          0          0
"""
VRP_BRIEF = VRP_LEGEND + VRP_TABLE
# A release that adds a legend line the ntc template does not know refuses the whole table.
VRP_BRIEF_NEWER = VRP_LEGEND + "(c): CFM down\n" + VRP_TABLE

VRP_CPU = """\
CPU Usage Stat. Cycle: 60 (Second)
CPU Usage            : 4% Max: 17%
CPU Usage Stat. Time : 2025-03-01  14:12:02
CPU utilization for ten seconds: 4%: one minute: 6%: five minutes: 5%
Max CPU Usage Stat. Time : 2025-02-16 10:45:26.

TaskName        CPU  Runtime(CPU Tick High/Tick Low)  Task Explanation
VIDL            96%         0/ 21be05d3       DOPRA IDLE
OS               2%         0/  2b8a0e8       Operation System
"""

VRP_APS = """\
Total AP information:
fault : fault           [1]
nor   : normal          [2]
ExtraInfo : Extra information
P     : insufficient power supply
--------------------------------------------------------------------------------------------
ID    MAC            Name        Group      IP            Type            State  STA  Uptime     ExtraInfo Scene
--------------------------------------------------------------------------------------------
0     00e0-fc76-e360 area_1      ap-group1  10.1.1.254    AP5030DN        nor    4    10M:41S    -         -
1     dcd2-fc21-5c40 area_2      ap-group1  10.1.1.253    AP6010DN-AGN    nor    0    1M:36S     -         -
2     dcd2-fc21-5c41 area_3      ap-group1  -             AP6010DN-AGN    fault  0    -          -         -
--------------------------------------------------------------------------------------------
Total: 3
"""  # noqa: E501 - device output

COMWARE_BRIEF = """\
Brief information on interfaces in route mode:
Link: ADM - administratively down; Stby - standby
Protocol: (s) - spoofing
Interface            Link Protocol Primary IP      Description
Loop0                UP   UP(s)    10.255.0.3
NULL0                UP   UP(s)    --
Vlan20               UP   UP       10.20.0.1       staff
Vlan100              DOWN DOWN     10.100.0.1

Brief information on interfaces in bridge mode:
Link: ADM - administratively down; Stby - standby
Speed: (a) - auto
Duplex: (a)/A - auto; H - half; F - full
Type: A - access; T - trunk; H - hybrid
Interface            Link Speed   Duplex Type PVID Description
GE1/0/1              UP   1G(a)   F(a)   T    1    uplink
GE1/0/2              ADM  auto    A      A    100
XGE1/0/49            DOWN auto    A      A    1
"""

COMWARE_CPU = """\
Slot 1 CPU 0 CPU usage:
       6% in last 5 seconds
      10% in last 1 minute
       5% in last 5 minutes

Slot 2 CPU 0 CPU usage:
      21% in last 5 seconds
      17% in last 1 minute
       9% in last 5 minutes
"""


def shown(platform: str, command: str, text: str) -> Output:
    """What ``Session.show(command, textfsm=True)`` returns for this text."""
    textfsm_platform = PROFILES[platform].textfsm_platform
    rows = table(text, textfsm_platform, command) if textfsm_platform else None
    return rows or text


def brief(found: tuple[Interface, ...]) -> dict[str, tuple[bool, bool | None]]:
    return {i.name: (i.up, i.admin_up) for i in found}


# --- interfaces --------------------------------------------------------------------------

def test_the_ntc_templates_fit_the_platforms_that_have_them() -> None:
    """Rows, not text, for Cisco, VRP and Comware; FRR has no template and stays text."""
    for platform, text in (("cisco_ios", IOS_INTERFACES), ("huawei", VRP_BRIEF),
                           ("hp_comware", COMWARE_BRIEF)):
        assert isinstance(shown(platform, PROFILES[platform].show_interfaces, text), list)
    assert shown("frr", PROFILES["frr"].show_interfaces, FRR_BRIEF) == FRR_BRIEF
    assert isinstance(shown("cisco_ios", "show processes cpu", IOS_CPU), list)
    assert isinstance(shown("huawei", "display ap all", VRP_APS), list)


@pytest.mark.parametrize(("platform", "text", "expected"), [
    ("frr", FRR_BRIEF, {"eth0": (True, None), "eth1": (False, None), "lo": (True, None)}),
    ("cisco_ios", IOS_INTERFACES, {"GigabitEthernet0/0": (True, True),
                                   "GigabitEthernet0/1": (False, False),
                                   "Vlan10": (False, True)}),
    ("huawei", VRP_BRIEF, {"Eth-Trunk4": (False, True), "GigabitEthernet0/0/1": (True, True),
                           "GigabitEthernet0/0/2": (False, False), "NULL0": (True, True),
                           "Vlanif20": (True, True)}),
    ("huawei", VRP_BRIEF_NEWER, {"Eth-Trunk4": (False, True),
                                 "GigabitEthernet0/0/1": (True, True),
                                 "GigabitEthernet0/0/2": (False, False),
                                 "NULL0": (True, True), "Vlanif20": (True, True)}),
    ("hp_comware", COMWARE_BRIEF, {"LoopBack0": (True, True), "NULL0": (True, True),
                                   "Vlan-interface20": (True, True),
                                   "Vlan-interface100": (False, True),
                                   "GigabitEthernet1/0/1": (True, True),
                                   "GigabitEthernet1/0/2": (False, False),
                                   "Ten-GigabitEthernet1/0/49": (False, True)}),
], ids=["frr", "cisco_ios", "huawei", "huawei-newer-legend", "hp_comware"])
def test_interfaces_up_down_and_shut(platform: str, text: str,
                                     expected: dict[str, tuple[bool, bool | None]]) -> None:
    found = interfaces(platform, shown(platform, PROFILES[platform].show_interfaces, text))
    assert brief(found) == expected


def test_a_table_the_template_refuses_is_read_line_by_line() -> None:
    assert table(VRP_BRIEF_NEWER, "huawei_vrp", "display interface brief") is None
    rows = interfaces("huawei", shown("huawei", "display interface brief", VRP_BRIEF))
    text = interfaces("huawei", VRP_BRIEF_NEWER)
    assert rows == text  # the fallback reads what the template reads, counters included


def test_counters_where_the_device_shows_them() -> None:
    cisco = {i.name: i.counters for i in interfaces(
        "cisco_ios", shown("cisco_ios", "show interfaces", IOS_INTERFACES))}
    assert cisco["GigabitEthernet0/0"] == {"in_packets": 183954, "out_packets": 95432,
                                           "in_errors": 12, "out_errors": 2}
    vrp = {i.name: i.counters for i in interfaces(
        "huawei", shown("huawei", "display interface brief", VRP_BRIEF))}
    assert vrp["Eth-Trunk4"] == {"in_errors": 4625, "out_errors": 0}
    assert vrp["GigabitEthernet0/0/1"] == {"in_errors": 0, "out_errors": 7}
    assert all(not i.counters for i in interfaces("frr", FRR_BRIEF))


@pytest.mark.parametrize(("short", "full"), [
    ("GE1/0/1", "GigabitEthernet1/0/1"), ("XGE1/0/49", "Ten-GigabitEthernet1/0/49"),
    ("Vlan100", "Vlan-interface100"), ("Loop0", "LoopBack0"), ("BAGG1", "Bridge-Aggregation1"),
    ("MGE0/0/0", "M-GigabitEthernet0/0/0"), ("NULL0", "NULL0"), ("Aux0", "Aux0"),
])
def test_comware_names_are_spelled_out_as_in_the_configuration(short: str, full: str) -> None:
    assert comware_name(short) == full


@pytest.mark.parametrize(("platform", "output"), [
    ("huawei", "Error: Unrecognized command found at '^' position."),
    ("cisco_ios", "nothing like an interface table"),
    ("frr", "Interface       Status  VRF             Addresses\n"),
    ("ruijie_os", FRR_BRIEF),  # no reader for this platform
])
def test_output_without_interfaces_is_an_error(platform: str, output: str) -> None:
    with pytest.raises(OutputError):
        interfaces(platform, output)


# --- CPU and APs -------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "command", "text", "percent"), [
    ("cisco_ios", "show processes cpu", IOS_CPU, 5.0),
    ("huawei", "display cpu-usage", VRP_CPU, 6.0),  # the one-minute figure, not idle's 96%
    ("huawei", "display cpu-usage", "CPU Usage            : 4% Max: 17%\n", 4.0),
    ("hp_comware", "display cpu-usage", COMWARE_CPU, 17.0),  # the busiest CPU of the stack
    ("hp_comware", "display cpu-usage", "Slot 1 CPU 0 CPU usage:\n", None),
])
def test_cpu_load(platform: str, command: str, text: str, percent: float | None) -> None:
    assert cpu_percent(shown(platform, command, text)) == percent


def test_access_points_online_and_total() -> None:
    assert access_points(shown("huawei", "display ap all", VRP_APS)) == AccessPoints(2, 3)
    # a line the template does not know: the summary is read instead
    noisy = ("Info: This operation may take a few seconds. Please wait for a moment.done.\n"
             + VRP_APS)
    assert table(noisy, "huawei_vrp", "display ap all") is None
    assert access_points(shown("huawei", "display ap all", noisy)) == AccessPoints(2, 3)
    assert access_points("Total AP information:\nTotal: 0\n") == AccessPoints(0, 0)
    assert access_points("Error: Unrecognized command found at '^' position.") is None


# --- points ------------------------------------------------------------------------------

def test_points_of_a_read_device_and_of_a_failed_one() -> None:
    state = DeviceState((Interface("Vlanif20", True, True, {"in_errors": 3}),
                         Interface("eth1", False)), 12.0, AccessPoints(5, 6))
    found = points([Poll("sw-1", "a", 0.4567, state),
                    Poll("sw-2", "b", 30.0, error="sw-2: no SSH answer")], NOW)
    shapes = [(p.measurement, dict(p.tags), dict(p.fields)) for p in found]
    assert shapes == [
        ("interface", {"device": "sw-1", "site": "a", "interface": "Vlanif20"},
         {"up": 1, "admin_up": 1, "in_errors": 3}),
        ("interface", {"device": "sw-1", "site": "a", "interface": "eth1"}, {"up": 0}),
        ("device_cpu", {"device": "sw-1", "site": "a"}, {"percent": 12.0}),
        ("wlan_aps", {"device": "sw-1", "site": "a"}, {"online": 5, "total": 6}),
        ("device_poll", {"device": "sw-1", "site": "a"},
         {"ok": 1, "seconds": 0.457, "interfaces": 2, "interfaces_up": 1}),
        ("device_poll", {"device": "sw-2", "site": "b"}, {"ok": 0, "seconds": 30.0}),
    ]
    assert all(p.time == NOW for p in found)
    assert all(isinstance(p.fields["up"], int) for p in found if p.measurement == "interface")


# --- polling with stand-in sessions ------------------------------------------------------

class FakeSession:
    """Answers display commands from a table; ``None`` answers are refusals."""

    def __init__(self, login: Login, answers: dict[str, str | None],
                 on_show: Callable[[], None] | None = None) -> None:
        self.login, self.answers, self.on_show = login, answers, on_show
        self.commands: list[str] = []

    def show(self, command: str, *, textfsm: bool = False) -> Output:
        self.commands.append(command)
        if self.on_show is not None:
            self.on_show()
        answer = self.answers[command]
        if answer is None:
            raise CommandRefused(self.login.hostname, command, "Unrecognized command")
        return shown(self.login.profile.name, command, answer) if textfsm else answer


ANSWERS: dict[str, dict[str, str | None]] = {
    "frr": {"show interface brief": FRR_BRIEF},
    "huawei": {"display interface brief": VRP_BRIEF, "display cpu-usage": VRP_CPU,
               "display ap all": VRP_APS},
    "hp_comware": {"display interface brief": COMWARE_BRIEF, "display cpu-usage": None},
}


def device(name: str, platform: str, role: str = "router", site: str = "a"
           ) -> tuple[Device, Login]:
    return (Device(name, platform, role, site, "127.0.0.1"),
            Login(name, "127.0.0.1", 22, PROFILES[platform], "u", "p"))


def connector(broken: Collection[str], crash: Collection[str] = (),
              on_show: Callable[[], None] | None = None
              ) -> Callable[[Login], Any]:
    @contextmanager
    def connect(login: Login) -> Iterator[FakeSession]:
        if login.hostname in broken:
            raise Unreachable(login.hostname, "no SSH answer from 127.0.0.1:22 within 1 s")
        if login.hostname in crash:
            raise KeyError("a bug")
        yield FakeSession(login, ANSWERS[login.profile.name], on_show)
    return connect


def test_one_device_failing_does_not_stop_the_others(sqlite_config: Config) -> None:
    devices = [device("r1", "frr"), device("sw-vrp", "huawei", "wifi_controller", "b"),
               device("down", "huawei"), device("sw-h3c", "hp_comware"),
               device("buggy", "frr", site="b")]
    polls = poll_all(devices, sqlite_config.devices, connector({"down"}, {"buggy"}))
    assert [(p.hostname, p.ok) for p in polls] == [
        ("r1", True), ("sw-vrp", True), ("down", False), ("sw-h3c", True), ("buggy", False)]
    by_name = {p.hostname: p for p in polls}
    assert "no SSH answer" in by_name["down"].error
    assert "unexpected error: KeyError" in by_name["buggy"].error
    vrp = by_name["sw-vrp"].state
    assert vrp is not None and vrp.cpu_percent == 6.0 and vrp.aps == AccessPoints(2, 3)
    h3c = by_name["sw-h3c"].state  # its CPU command refused: the interfaces still count
    assert h3c is not None and h3c.cpu_percent is None and len(h3c.interfaces) == 7
    found = points(polls, NOW)
    ok = {p.tags["device"]: p.fields["ok"] for p in found if p.measurement == "device_poll"}
    assert ok == {"r1": 1, "sw-vrp": 1, "down": 0, "sw-h3c": 1, "buggy": 0}
    assert {p.tags["device"] for p in found if p.measurement == "wlan_aps"} == {"sw-vrp"}


def test_aps_are_counted_on_wlan_controllers_only(sqlite_config: Config) -> None:
    sessions: list[str] = []
    polls = poll_all([device("acc", "huawei", "access_switch")], sqlite_config.devices,
                     connector(set(), on_show=lambda: sessions.append("show")))
    [poll] = polls
    assert poll.state is not None and poll.state.aps is None
    assert len(sessions) == 2  # interfaces and CPU; `display ap all` is not sent


def test_polls_stay_within_the_concurrency_limit(tmp_path: Path) -> None:
    config = make_config(tmp_path, devices={"concurrency": 2, "per_site": 10,
                                            "sessions_per_second": 1000})
    lock = threading.Lock()
    active = {"now": 0, "most": 0}
    together = threading.Barrier(2, timeout=10)  # two polls can overlap, never a third

    def on_show() -> None:
        with lock:
            active["now"] += 1
            active["most"] = max(active["most"], active["now"])
        together.wait()  # 6 polls: three pairs; a poll left alone breaks it and fails
        with lock:
            active["now"] -= 1

    polls = poll_all([device(f"r{i}", "frr") for i in range(6)], config.devices,
                     connector(set(), on_show=on_show))
    assert all(p.ok for p in polls)
    assert active["most"] == 2


# --- the collector over a store ----------------------------------------------------------

def test_the_collector_reads_every_managed_device_of_the_inventory(
        sqlite_config: Config, sqlite_store: Store) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    with sqlite_store.session() as session:
        lab = Credential(name="lab", username="netops", password_sealed=box.seal("pw"))
        session.add(lab)
        session.add_all([
            NetworkDevice(hostname="wlc-1", host="127.0.0.1", port=22, site="dc",
                          platform=Platform.HUAWEI, role=DeviceRole.WIFI_CONTROLLER,
                          credential=lab),
            NetworkDevice(hostname="r1", host="127.0.0.1", port=22, site="dc",
                          platform=Platform.FRR, role=DeviceRole.ROUTER, credential=lab),
            NetworkDevice(hostname="no-login", host="127.0.0.1", port=22, site="x",
                          platform=Platform.HUAWEI, role=DeviceRole.ACCESS_SWITCH),
            NetworkDevice(hostname="server", host="127.0.0.1", port=22, site="dc",
                          platform=Platform.LINUX, role=DeviceRole.ROUTER, credential=lab),
        ])
    logins: list[Login] = []
    connect = connector(set())

    def recording(login: Login) -> Any:
        logins.append(login)
        return connect(login)

    collector = DeviceStateCollector(recording, environ={})
    found = collector.collect(Context(sqlite_store, sqlite_config, NOW))
    polled = {p.tags["device"]: p.fields for p in found if p.measurement == "device_poll"}
    assert polled == {"wlc-1": {"ok": 1, "seconds": polled["wlc-1"]["seconds"],
                                "interfaces": 5, "interfaces_up": 3},
                      "r1": {"ok": 1, "seconds": polled["r1"]["seconds"],
                             "interfaces": 3, "interfaces_up": 2},
                      "no-login": {"ok": 0, "seconds": 0.0}}  # linux: not a managed platform
    assert sorted((login.hostname, login.password) for login in logins) == [
        ("r1", "pw"), ("wlc-1", "pw")]
    assert [p.fields for p in found if p.measurement == "wlan_aps"] == [
        {"online": 2, "total": 3}]
    assert collector.name == "device_state" and collector.interval == 300.0


def test_an_inventory_without_devices_gives_no_points(sqlite_config: Config,
                                                      sqlite_store: Store) -> None:
    assert DeviceStateCollector(connector(set())).collect(
        Context(sqlite_store, sqlite_config, NOW)) == []


def test_unread_devices_make_one_log_line_a_run(caplog: pytest.LogCaptureFixture) -> None:
    from devices.state import report_unread

    polls = [Poll(f"sw-{n}", "a", 0.0, error=f"sw-{n}: connection refused by 10.0.0.{n}:22")
             for n in range(1, 71)] + [Poll("r1", "a", 0.1, DeviceState((), None, None))]
    with caplog.at_level(logging.INFO):
        report_unread(polls)
    assert [r.getMessage() for r in caplog.records] == [
        "device_state: 70 of 71 devices not read (first: sw-1: connection refused by "
        "10.0.0.1:22)"]
