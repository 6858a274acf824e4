"""Device state: interface up/down and error/packet counters, CPU, and the access points of
WLAN controllers, read over SSH from every managed device as telemetry points (issue #6).

:class:`DeviceStateCollector` is a ``citynet.telemetry.Collector`` (``device_state``, every
300 s). The kernel hands it to monitoring (``citynet serve`` and ``citynet collect``, see
``citynet/cli.py``): devices never import monitoring. Each run logs in to every device of
a platform whose profile names a ``show_interfaces`` command, a few at a time
(``devices.concurrency``, ``devices.per_site``, ``devices.sessions_per_second``), and runs
only read-only display commands. A device that cannot be read gives ``device_poll ok=0``
and the others still report.

Parsing is pure and apart from the I/O: ntc-templates' TextFSM rows where a template fits
the platform and command (Cisco ``show interfaces`` and ``show processes cpu``, VRP and
Comware ``display interface brief``, VRP ``display ap all``), and small parsers here for
what has none (FRR's ``show interface brief``, VRP and Comware ``display cpu-usage``) or
when a template refuses a table (VRP and Comware interface tables read line by line, the
summary of ``display ap all``).

Points (tags; fields, "?" only when the device shows them):

- ``interface`` (device, site, interface): ``up`` (link and protocol up), ``admin_up``?,
  ``in_errors``?, ``out_errors``?, ``in_packets``?, ``out_packets``?
- ``device_cpu`` (device, site): ``percent`` (the one-minute figure; the busiest CPU of
  a stack)
- ``wlan_aps`` (device, site): ``online`` (state normal), ``total``
- ``device_poll`` (device, site): ``ok`` 0/1, ``seconds``; ``interfaces`` and
  ``interfaces_up`` when ok
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from citynet.crypto import open_box
from citynet.telemetry import Context, FieldValue, Point
from devices.driver import CommandRefused, DeviceError, Login, Session
from devices.fleet import Pacer
from devices.intent import Device
from devices.platforms import PROFILES, Profile
from devices.settings import DevicesConfig
from devices.targets import SelectorError, logins

log = logging.getLogger(__name__)

Rows = list[dict[str, str]]
Output = str | Rows  # what Session.show(..., textfsm=True) gives: rows, or the text
WLAN_CONTROLLER = "wifi_controller"  # the inventory role whose APs are counted


class OutputError(ValueError):
    """A display command's output that says nothing usable."""


# --- what a device's state is ------------------------------------------------------------

@dataclass(frozen=True)
class Interface:
    name: str
    up: bool  # link and line protocol up: the interface carries traffic
    admin_up: bool | None = None  # False: shut down by configuration; None: not shown
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessPoints:
    online: int
    total: int


@dataclass(frozen=True)
class DeviceState:
    interfaces: tuple[Interface, ...]
    cpu_percent: float | None = None
    aps: AccessPoints | None = None


@dataclass(frozen=True)
class Poll:
    """One device's poll: its state, or why there is none."""

    hostname: str
    site: str
    seconds: float
    state: DeviceState | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.state is not None


# --- parsing (pure) ----------------------------------------------------------------------

def _count(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _counters(row: Mapping[str, str], columns: Mapping[str, str]) -> dict[str, int]:
    """Counter name → value for the columns the row has a number in."""
    found = {name: _count(row.get(column, "")) for name, column in columns.items()}
    return {name: value for name, value in found.items() if value is not None}


_CISCO_COUNTERS = {"in_packets": "input_packets", "out_packets": "output_packets",
                   "in_errors": "input_errors", "out_errors": "output_errors"}


def _cisco_rows(rows: Rows) -> list[Interface]:
    """ntc-templates ``cisco_ios`` ``show interfaces``: "administratively down" is a shut
    interface; the protocol may read "up (connected)"."""
    return [Interface(row["interface"],
                      up=row["link_status"] == "up" and row["protocol_status"].startswith("up"),
                      admin_up="administratively" not in row["link_status"],
                      counters=_counters(row, _CISCO_COUNTERS))
            for row in rows]


def _vrp_rows(rows: Rows) -> list[Interface]:
    """ntc-templates ``huawei_vrp`` ``display interface brief``: PHY ``*down`` is shut,
    ``^down`` standby; ``up(l)``/``up(s)`` (loopback, spoofing) are up. A port's speed may
    trail its name: ``GigabitEthernet15/1/0(10G)``."""
    return [Interface(re.sub(r"\(\w+\)$", "", row["interface"]),
                      up=row["phy"].startswith("up") and row["protocol"].startswith("up"),
                      admin_up=row["phy"] != "*down",
                      counters=_counters(row, {"in_errors": "inerrors",
                                               "out_errors": "outerrors"}))
            for row in rows]


# Comware's brief tables abbreviate interface types; the configuration spells them out.
COMWARE_TYPES = {
    "GE": "GigabitEthernet", "XGE": "Ten-GigabitEthernet", "FGE": "FortyGigE",
    "HGE": "HundredGigE", "WGE": "Twenty-FiveGigE", "MGE": "M-GigabitEthernet",
    "Vlan": "Vlan-interface", "Loop": "LoopBack", "InLoop": "InLoopBack",
    "BAGG": "Bridge-Aggregation", "RAGG": "Route-Aggregation", "Tun": "Tunnel",
}


def comware_name(short: str) -> str:
    """``GE1/0/1`` → ``GigabitEthernet1/0/1``; names it does not abbreviate stay."""
    found = re.fullmatch(r"([A-Za-z-]+)(\d.*)", short)
    if found is None:
        return short
    return COMWARE_TYPES.get(found[1], found[1]) + found[2]


def _comware_rows(rows: Rows) -> list[Interface]:
    """ntc-templates ``hp_comware`` ``display interface brief``: Link ``ADM`` is shut,
    ``Stby`` standby; bridge-mode ports have no protocol column; ``UP(s)`` is spoofing
    (up)."""
    return [Interface(comware_name(row["interface"]),
                      up=row["link"].upper() == "UP"
                      and (not row.get("protocol") or row["protocol"].upper().startswith("UP")),
                      admin_up=row["link"].upper() != "ADM")
            for row in rows]


_FRR_ROW = re.compile(r"^(?P<name>\S+)\s+(?P<status>up|down)\b", re.M)


def frr_interfaces(text: str) -> list[Interface]:
    """FRR vtysh ``show interface brief``: ``NAME  up|down  VRF  ADDRESSES`` under a header
    (vtysh shows no counters on Linux and no administrative state here)."""
    return [Interface(found["name"], found["status"] == "up") for found in _FRR_ROW.finditer(text)]


# The TextFSM templates end in "^. -> Error": one legend line a release adds and the whole
# table is refused. These read the same tables line by line, as a fallback.
_VRP_ROW = re.compile(r"^\s*(?P<name>\S+)\s+(?P<phy>\*?\^?down|up\S*)\s+(?P<protocol>\S+)"
                      r"\s+\S+%?\s+\S+%?\s+(?P<in>\d+)\s+(?P<out>\d+)\s*$", re.M)
_COMWARE_ROW = re.compile(r"^(?P<name>[A-Za-z][\w/:.-]*\d)\s+(?P<link>UP|DOWN|ADM|Stby)\b"
                          r"(?:\s+(?P<protocol>UP|DOWN)\b)?", re.M)


def vrp_interfaces(text: str) -> list[Interface]:
    """VRP ``display interface brief`` as text (see ``_vrp_rows``)."""
    return _vrp_rows([{"interface": m["name"], "phy": m["phy"], "protocol": m["protocol"],
                       "inerrors": m["in"], "outerrors": m["out"]}
                      for m in _VRP_ROW.finditer(text)])


def comware_interfaces(text: str) -> list[Interface]:
    """Comware ``display interface brief`` as text (see ``_comware_rows``)."""
    return _comware_rows([{"interface": m["name"], "link": m["link"],
                           "protocol": m["protocol"] or ""}
                          for m in _COMWARE_ROW.finditer(text)])


# Per platform: how TextFSM rows become interfaces, and how text does (where no template
# fits, or the template refuses the table).
ROW_READERS: Mapping[str, Callable[[Rows], list[Interface]]] = {
    "cisco_ios": _cisco_rows, "huawei": _vrp_rows, "hp_comware": _comware_rows,
}
TEXT_READERS: Mapping[str, Callable[[str], list[Interface]]] = {
    "frr": frr_interfaces, "huawei": vrp_interfaces, "hp_comware": comware_interfaces,
}


def interfaces(platform: str, output: Output) -> tuple[Interface, ...]:
    """The interfaces in ``output`` of the platform's ``show_interfaces`` command."""
    if isinstance(output, list) and platform in ROW_READERS:
        found = ROW_READERS[platform](output)
    elif isinstance(output, str) and platform in TEXT_READERS:
        found = TEXT_READERS[platform](output)
    else:
        raise OutputError("the interface table did not parse (an unknown output format?)")
    if not found:
        raise OutputError("no interface in the interface table")
    return tuple(found)


# One-minute CPU figures, tried in order; every match of the first that matches counts
# (one per CPU of a stack or chassis) and the highest is kept.
CPU_PATTERNS = tuple(re.compile(p) for p in (
    r"one minute:?\s*(\d+(?:\.\d+)?)%",  # IOS "...; one minute: 5%;", VRP "one minute: 4%"
    r"(\d+(?:\.\d+)?)%\s+in last 1 minute",  # Comware "   10% in last 1 minute"
    r"CPU [Uu]sage\s*:\s*(\d+(?:\.\d+)?)%",  # VRP "CPU Usage            : 4% Max: 17%"
))


def cpu_percent(output: Output) -> float | None:
    """The CPU load from ``show processes cpu`` (rows) or ``display cpu-usage`` (text)."""
    if isinstance(output, list):
        figure = output[0].get("cpu_usage_1_min", "") if output else ""
        return float(figure) if figure.isdigit() else None
    for pattern in CPU_PATTERNS:
        figures = [float(value) for value in pattern.findall(output)]
        if figures:
            return max(figures)
    return None


NORMAL_AP_STATES = frozenset({"nor", "normal"})


def access_points(output: Output) -> AccessPoints | None:
    """Online and total APs from VRP ``display ap all``: the AP table's rows when it parses,
    else the summary (``nor : normal [N]`` and ``Total: N``)."""
    if isinstance(output, list):
        online = sum(1 for row in output if row.get("state", "").lower() in NORMAL_AP_STATES)
        return AccessPoints(online, len(output))
    total = re.search(r"^\s*Total\s*:\s*(\d+)\s*$", output, re.M)
    if total is None:
        return None
    normal = re.search(r"^\s*nor\s*:\s*normal\s*\[(\d+)\]", output, re.M)
    return AccessPoints(int(normal[1]) if normal else 0, int(total[1]))


# --- points (pure) -----------------------------------------------------------------------

def points(polls: Iterable[Poll], now: datetime) -> list[Point]:
    found: list[Point] = []
    for poll in polls:
        tags = {"device": poll.hostname, "site": poll.site}
        state = poll.state
        summary: dict[str, FieldValue] = {"ok": int(poll.ok), "seconds": round(poll.seconds, 3)}
        if state is not None:
            for interface in state.interfaces:
                fields: dict[str, FieldValue] = {"up": int(interface.up)}
                if interface.admin_up is not None:
                    fields["admin_up"] = int(interface.admin_up)
                fields.update(interface.counters)
                found.append(Point("interface", {**tags, "interface": interface.name},
                                   fields, now))
            if state.cpu_percent is not None:
                found.append(Point("device_cpu", tags, {"percent": state.cpu_percent}, now))
            if state.aps is not None:
                found.append(Point("wlan_aps", tags, {"online": state.aps.online,
                                                      "total": state.aps.total}, now))
            summary["interfaces"] = len(state.interfaces)
            summary["interfaces_up"] = sum(1 for i in state.interfaces if i.up)
        found.append(Point("device_poll", tags, summary, now))
    return found


# --- reading devices (I/O) ---------------------------------------------------------------

class Shows(Protocol):
    """What reading needs of a session (``devices.driver.Session``, or a test's stand-in)."""

    def show(self, command: str, *, textfsm: bool = False) -> Output: ...


Connect = Callable[[Login], AbstractContextManager[Shows]]


def _optional(session: Shows, command: str) -> Output | None:
    """A figure a device may not offer (an older release refusing the command): its
    refusal costs that figure, not the poll."""
    try:
        return session.show(command, textfsm=True)
    except CommandRefused as exc:
        log.info("device_state: %s", exc)
        return None


def read(session: Shows, profile: Profile, *, wlan: bool) -> DeviceState:
    """Run the profile's display commands on an open session and parse what they show."""
    found = interfaces(profile.name, session.show(profile.show_interfaces, textfsm=True))
    cpu = aps = None
    if profile.show_cpu:
        output = _optional(session, profile.show_cpu)
        cpu = None if output is None else cpu_percent(output)
    if wlan and profile.show_aps:
        output = _optional(session, profile.show_aps)
        aps = None if output is None else access_points(output)
    return DeviceState(found, cpu, aps)


def poll_one(device: Device, login: Login, pacer: Pacer, connect: Connect = Session) -> Poll:
    """Log in to one device and read its state; never raises for the device's sake."""
    pacer.wait()
    started = time.perf_counter()
    try:
        with connect(login) as session:
            state = read(session, login.profile, wlan=device.role == WLAN_CONTROLLER)
    except (DeviceError, OutputError) as exc:
        error = str(exc) if isinstance(exc, DeviceError) else f"{device.hostname}: {exc}"
        return Poll(device.hostname, device.site, time.perf_counter() - started, error=error)
    except Exception as exc:  # one device's surprise never stops the others; it is reported
        log.exception("device_state: %s: unexpected error", device.hostname)
        return Poll(device.hostname, device.site, time.perf_counter() - started,
                    error=f"{device.hostname}: unexpected error: {type(exc).__name__}")
    return Poll(device.hostname, device.site, time.perf_counter() - started, state)


def poll_all(devices: Sequence[tuple[Device, Login]], settings: DevicesConfig,
             connect: Connect = Session) -> list[Poll]:
    """Every device polled, at most ``concurrency`` at once (``per_site`` per site) and
    ``sessions_per_second`` new logins a second; results in the order given."""
    if not devices:
        return []
    pacer = Pacer(settings.sessions_per_second)
    lock = threading.Lock()
    gates: dict[str, threading.Semaphore] = defaultdict(
        lambda: threading.Semaphore(settings.per_site))

    def one(item: tuple[Device, Login]) -> Poll:
        device, login = item
        with lock:
            gate = gates[device.site]
        with gate:
            return poll_one(device, login, pacer, connect)

    workers = min(settings.concurrency, len(devices))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="device-state") as pool:
        return list(pool.map(one, devices))


POLLED_PLATFORMS = tuple(f"platform:{p.name}" for p in PROFILES.values() if p.show_interfaces)


class DeviceStateCollector:
    """Polls every managed device's state (see the module docstring)."""

    name = "device_state"
    interval = 300.0

    def __init__(self, connect: Connect = Session,
                 environ: Mapping[str, str] = os.environ) -> None:
        self._connect, self._environ = connect, environ

    def collect(self, context: Context) -> list[Point]:
        box = open_box(context.config, context.store)
        with context.store.session() as session:
            try:
                ready, unready = logins(session, context.config, box, POLLED_PLATFORMS,
                                        self._environ)
            except SelectorError:  # no device of a platform it can read
                return []
        # the sessions run with no transaction open
        polls = poll_all(ready, context.config.section(DevicesConfig), self._connect)
        polls += [Poll(u.hostname, u.site, 0.0, error=f"{u.hostname}: {u.reason}")
                  for u in unready]
        report_unread(polls)
        return points(polls, context.now)


def report_unread(polls: Sequence[Poll]) -> None:
    """One log line a run for the devices not read, whatever their number (a district has
    hundreds, and a demo's devices exist nowhere); each device's error at DEBUG only.
    Every unread device is a ``device_poll`` point with ok=0 already."""
    failed = [poll.error for poll in polls if not poll.ok]
    for error in failed:
        log.debug("device_state: %s", error)
    if failed:
        log.warning("device_state: %d of %d devices not read (first: %s)", len(failed),
                    len(polls), failed[0])
