"""The reachability collector: are the access points and network devices answering?

Targets come from the inventory: every AP with a management address (``ap:MAC``) and
every network device (``device:HOSTNAME``). Each run probes them all (``probes.probe``),
keeps one ``probe_state`` row per target (``since`` moves only when up/down flips, which
is what "down for 10 minutes" alerts need) and returns one ``reachability`` point each.
Rows of targets that left the inventory are deleted. Selection, the state transition and
the points are pure; the store and the network are touched only in ``collect``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from citynet.db import DriverStatement, table
from citynet.telemetry import Context, FieldValue, Point
from inventory.models import AccessPoint, Community, Hotspot, NetworkDevice
from monitoring import probes
from monitoring.models import ProbeState
from monitoring.probes import ProbeResult, Target
from monitoring.settings import MonitoringConfig

MEASUREMENT = "reachability"
# The inventory knows no management port of an AP; these are the ones APs serve their
# web UI or SSH on, tried when ICMP is filtered.
AP_PORTS = (443, 80, 22)
KEY_PREFIXES = ("ap:", "device:")


class Prober(Protocol):
    """``probes.probe``, or a stand-in for it in tests."""

    def __call__(self, targets: Sequence[Target], *, timeout: float,
                 concurrency: int) -> list[ProbeResult]: ...


@dataclass(frozen=True)
class Probed:
    """One target with what its points are tagged with."""

    target: Target
    kind: str  # ap, device
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Status:
    """The values of one ``probe_state`` row."""

    target: str
    address: str
    up: bool
    since: datetime
    checked_at: datetime
    method: str
    rtt_ms: float | None
    loss: float


def select_targets(session: Session) -> list[Probed]:
    """APs with a management address, then network devices, each in key order."""
    aps = session.execute(
        select(AccessPoint.mac, AccessPoint.address, Hotspot.name, Community.name)
        .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id)
        .join(Community, Hotspot.community_id == Community.id)
        .where(func.trim(AccessPoint.address) != "")
        .order_by(AccessPoint.mac))
    devices = session.execute(
        select(NetworkDevice.hostname, NetworkDevice.host, NetworkDevice.port,
               NetworkDevice.site).order_by(NetworkDevice.hostname))
    return [
        *(Probed(Target(f"ap:{mac}", address.strip(), AP_PORTS), "ap",
                 {"hotspot": hotspot, "community": community})
          for mac, address, hotspot, community in aps),
        *(Probed(Target(f"device:{hostname}", host.strip(), (port,)), "device", {"site": site})
          for hostname, host, port, site in devices),
    ]


def advance(previous: Status | None, result: ProbeResult, address: str,
            now: datetime) -> Status:
    """The row after this round: ``since`` is kept unless up/down flipped (or it is the
    target's first round)."""
    return Status(
        target=result.target,
        address=address,
        up=result.up,
        since=now if previous is None or previous.up != result.up else previous.since,
        checked_at=now,
        method=result.method,
        rtt_ms=result.rtt_ms if result.up else None,
        loss=result.loss,
    )


def point(probed: Probed, result: ProbeResult, now: datetime) -> Point:
    fields: dict[str, FieldValue] = {"up": int(result.up), "loss": float(result.loss)}
    if result.up and result.rtt_ms is not None:
        fields["rtt_ms"] = float(result.rtt_ms)
    return Point(MEASUREMENT, {"target": probed.target.name, "kind": probed.kind,
                               **probed.tags}, fields, now)


def _status(row: ProbeState) -> Status:
    return Status(row.target, row.address, row.up, row.since, row.checked_at, row.method,
                  row.rtt_ms, row.loss)


class ReachabilityCollector:
    """Probes every AP and network device once a minute (see the module docstring)."""

    name = "reachability"
    interval = 60.0

    def __init__(self, prober: Prober = probes.probe) -> None:
        self._probe = prober

    def collect(self, context: Context) -> list[Point]:
        with context.store.session() as session:
            probed = select_targets(session)
        settings = context.config.section(MonitoringConfig)
        # Probing takes up to a few timeouts: no transaction stays open meanwhile.
        results = self._probe([p.target for p in probed],
                              timeout=settings.probe_timeout_seconds,
                              concurrency=settings.probe_concurrency)
        with context.store.session() as session:
            self._store(session, probed, results, context.now)
        return [point(p, r, context.now) for p, r in zip(probed, results, strict=True)]

    def _store(self, session: Session, probed: Sequence[Probed],
               results: Sequence[ProbeResult], now: datetime) -> None:
        rows = {status.target: status for status in map(_status, session.scalars(
            select(ProbeState)))}
        keys = {p.target.name for p in probed}
        gone = [key for key in rows if key.startswith(KEY_PREFIXES) and key not in keys]
        after = [advance(rows.get(item.target.name), result, item.target.address, now)
                 for item, result in zip(probed, results, strict=True)]
        # The writes last and set-wise: on SQLite the first write takes the database's
        # one write lock, which every RADIUS round waits for, until the commit (an ORM
        # flush of one row at a time held it for tens of milliseconds a minute).
        if gone:
            session.execute(delete(ProbeState).where(ProbeState.target.in_(gone)))
        _INSERT.many(session, [asdict(s) for s in after if s.target not in rows])
        _UPDATE.many(session, [{"key": s.target, **{f"new_{name}": value for name, value
                                                    in asdict(s).items() if name != "target"}}
                               for s in after if s.target in rows])


_STATES = table(ProbeState)
_COLUMNS = list(Status.__dataclass_fields__)  # the row's columns, in order
_INSERT = DriverStatement(insert(_STATES), _COLUMNS)
_UPDATE = DriverStatement(update(_STATES).where(_STATES.c.target == bindparam("key")).values(
    {name: bindparam(f"new_{name}") for name in _COLUMNS if name != "target"}))
