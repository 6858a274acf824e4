"""The reachability collector's pure parts (state transitions, points) and its targets
and rows on an upgraded SQLite store, with a stand-in for the network."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet.config import Config
from citynet.db import Store
from citynet.telemetry import Context
from inventory.choices import DeviceRole, Platform
from inventory.models import AccessPoint, Community, Hotspot, NetworkDevice, Street
from monitoring.models import ProbeState
from monitoring.probes import ProbeResult, Target
from monitoring.reachability import (
    AP_PORTS,
    Probed,
    ReachabilityCollector,
    Status,
    advance,
    point,
    select_targets,
)
from tests.conftest import make_config, upgraded

T0 = datetime(2015, 6, 1, 8, 0, tzinfo=UTC)
UP = ProbeResult("ap:x", "10.0.0.1", True, "icmp", 1.5, 1 / 3)
DOWN = ProbeResult("ap:x", "10.0.0.1", False, error="no answer within 1 s (icmp 3 echoes)")


def status(up: bool, since: datetime = T0) -> Status:
    return Status("ap:x", "10.0.0.1", up, since, since, "icmp" if up else "", 1.0, 0.0)


@pytest.mark.parametrize(("previous", "result", "since"), [
    (None, UP, T0 + timedelta(minutes=1)),  # first round: since now
    (None, DOWN, T0 + timedelta(minutes=1)),
    (status(True), UP, T0),  # no flip: since stays
    (status(False), DOWN, T0),
    (status(True), DOWN, T0 + timedelta(minutes=1)),  # flip: since now
    (status(False), UP, T0 + timedelta(minutes=1)),
])
def test_since_moves_only_when_up_flips(previous: Status | None, result: ProbeResult,
                                        since: datetime) -> None:
    now = T0 + timedelta(minutes=1)
    after = advance(previous, result, "ap.example", now)
    assert (after.up, after.since, after.checked_at) == (result.up, since, now)
    assert (after.target, after.address, after.method) == ("ap:x", "ap.example", result.method)


def test_a_down_round_forgets_the_round_trip_time() -> None:
    now = T0 + timedelta(minutes=1)
    assert advance(status(True), DOWN, "10.0.0.1", now).rtt_ms is None
    assert advance(status(False), UP, "10.0.0.1", now).rtt_ms == 1.5
    assert advance(status(False), UP, "10.0.0.1", now).loss == pytest.approx(1 / 3)


def test_points_carry_rtt_only_when_up() -> None:
    ap = Probed(Target("ap:x", "10.0.0.1", AP_PORTS), "ap",
                {"hotspot": "东门广场", "community": "湖景社区"})
    up, down = point(ap, UP, T0), point(ap, DOWN, T0)
    assert up.measurement == "reachability" and up.time == T0
    assert dict(up.tags) == {"target": "ap:x", "kind": "ap", "hotspot": "东门广场",
                             "community": "湖景社区"}
    assert dict(up.fields) == {"up": 1, "loss": pytest.approx(1 / 3), "rtt_ms": 1.5}
    assert dict(down.fields) == {"up": 0, "loss": 1.0}
    assert type(up.fields["up"]) is int and type(down.fields["loss"]) is float


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, monitoring={"probe_timeout_seconds": 0.5,
                                             "probe_concurrency": 7})


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    """An upgraded SQLite store with two hotspots' APs and two network devices."""
    for store in upgraded(config):
        with store.session() as session:
            street = Street(name="笋岗")
            community = Community(name="湖景社区", street=street)
            square = Hotspot(name="东门广场", community=community)
            session.add_all([
                AccessPoint(mac="00:e0:fc:01:02:03", address="10.20.0.3", hotspot=square),
                AccessPoint(mac="00:e0:fc:01:02:01", address="ap1.luohu.example",
                            hotspot=square),
                AccessPoint(mac="00:e0:fc:01:02:02", hotspot=square),  # no address: skipped
                AccessPoint(mac="00:e0:fc:01:02:04", address="  ", hotspot=square),
                NetworkDevice(hostname="luohu-core-01", host="10.1.0.1", port=2222,
                              platform=Platform.HUAWEI, role=DeviceRole.ROUTER,
                              site="罗湖机房"),
                NetworkDevice(hostname="luohu-acc-07", host="acc7.luohu.example",
                              platform=Platform.HP_COMWARE,
                              role=DeviceRole.ACCESS_SWITCH),
            ])
        yield store


def test_targets_are_aps_with_an_address_and_all_devices(store: Store) -> None:
    with store.session() as session:
        found = select_targets(session)
    assert [(p.target, p.kind, dict(p.tags)) for p in found] == [
        (Target("ap:00:e0:fc:01:02:01", "ap1.luohu.example", AP_PORTS), "ap",
         {"hotspot": "东门广场", "community": "湖景社区"}),
        (Target("ap:00:e0:fc:01:02:03", "10.20.0.3", AP_PORTS), "ap",
         {"hotspot": "东门广场", "community": "湖景社区"}),
        (Target("device:luohu-acc-07", "acc7.luohu.example", (22,)), "device", {"site": ""}),
        (Target("device:luohu-core-01", "10.1.0.1", (2222,)), "device", {"site": "罗湖机房"}),
    ]


class FakeNetwork:
    """Answers for the targets named in ``up``; remembers what it was asked."""

    def __init__(self) -> None:
        self.up: set[str] = set()
        self.calls: list[tuple[list[str], float, int]] = []

    def __call__(self, targets: Sequence[Target], *, timeout: float,
                 concurrency: int) -> list[ProbeResult]:
        self.calls.append(([t.name for t in targets], timeout, concurrency))
        return [ProbeResult(t.name, t.address, True, "tcp", 2.0, 0.0) if t.name in self.up
                else ProbeResult(t.name, t.address, False, error="no answer")
                for t in targets]


def rows(store: Store) -> dict[str, ProbeState]:
    with store.session() as session:
        return {row.target: row for row in session.scalars(select(ProbeState))}


def test_collect_keeps_one_row_per_target_and_moves_since_on_flips(
        store: Store, config: Config) -> None:
    network = FakeNetwork()
    collector = ReachabilityCollector(network)
    core, ap = "device:luohu-core-01", "ap:00:e0:fc:01:02:03"
    network.up = {core}

    points = collector.collect(Context(store, config, T0))
    assert network.calls[0][1:] == (0.5, 7)  # timeout and concurrency from the config
    assert len(network.calls[0][0]) == 4
    assert {p.tags["target"]: p.fields["up"] for p in points} == {
        "ap:00:e0:fc:01:02:01": 0, ap: 0, "device:luohu-acc-07": 0, core: 1}
    first = rows(store)
    assert (first[core].up, first[core].since, first[core].method) == (True, T0, "tcp")
    assert (first[ap].up, first[ap].since, first[ap].rtt_ms) == (False, T0, None)
    assert first[ap].address == "10.20.0.3"

    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    network.up = {core, ap}
    collector.collect(Context(store, config, t1))
    second = rows(store)
    assert (second[core].since, second[core].checked_at) == (T0, t1)  # still up
    assert (second[ap].up, second[ap].since, second[ap].rtt_ms) == (True, t1, 2.0)  # flipped

    network.up = {ap}
    collector.collect(Context(store, config, t2))
    third = rows(store)
    assert (third[core].up, third[core].since, third[core].loss) == (False, t2, 1.0)
    assert third[ap].since == t1
    assert len(third) == 4


def test_rows_of_targets_that_left_the_inventory_go(store: Store, config: Config) -> None:
    collector = ReachabilityCollector(FakeNetwork())
    with store.session() as session:
        session.add(ProbeState(target="other:kept", since=T0, checked_at=T0))
    collector.collect(Context(store, config, T0))
    with store.session() as session:
        ap = session.scalars(select(AccessPoint).where(
            AccessPoint.mac == "00:e0:fc:01:02:01")).one()
        ap.address = ""
    collector.collect(Context(store, config, T0 + timedelta(minutes=1)))
    assert sorted(rows(store)) == ["ap:00:e0:fc:01:02:03", "device:luohu-acc-07",
                                   "device:luohu-core-01", "other:kept"]
