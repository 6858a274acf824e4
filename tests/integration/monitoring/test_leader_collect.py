"""Singleton work across real processes: several ``citynet collect`` on one PostgreSQL
database, one of them working at a time; kill -9 the leader and another takes over;
end the leader's lock session and it is fenced; an alert reaches the webhook once
across all of it. Takeover times are printed (run with -s to see them)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from citynet.db import Store
from citynet.leader import LeaderTerm, SingletonRound
from inventory.models import AccessPoint, Community, Hotspot, Street
from monitoring.models import ProbeState
from tests.conftest import make_config, upgraded
from tests.integration.monitoring.test_notify import Receiver
from tests.support import CITYNET, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NEVER = 60.0  # a takeover slower than this is "never" (the target is 15 s)


class Cluster:
    """``citynet collect`` processes sharing one database and one config file."""

    def __init__(self, tmp_path: Path, url: str, webhook: str) -> None:
        self.tmp_path, self.url = tmp_path, url
        path = tmp_path / "citynet.toml"
        path.write_text(f'[database]\nurl = "{url}"\n\n[monitoring]\n'
                        f"alert_webhooks = {json.dumps([webhook])}\n\n"
                        "[monitoring.intervals]\nhotspot_use = 1\nalerts = 1\n",
                        encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env |= {"CITYNET_CONFIG": str(path), "CITYNET_DATA_DIR": str(tmp_path / "var")}
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.store = Store(url)

    def start(self) -> int:
        with (self.tmp_path / f"collect-{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen([CITYNET, "collect", "--only", "hotspot_use",
                                        "--only", "alerts"], env=self.env, stdout=log,
                                       stderr=log)
        self.processes[process.pid] = process
        return process.pid

    def kill(self, pid: int) -> None:
        self.processes[pid].send_signal(signal.SIGKILL)
        self.processes[pid].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.store.close()

    def leader(self) -> tuple[int, int]:
        """(term, pid of its holder), or (0, 0) before the first election."""
        with self.store.session() as session:
            row = session.get(LeaderTerm, "singleton")
            return (row.term, int(row.holder.rpartition(":")[2])) if row else (0, 0)

    def rounds(self) -> list[SingletonRound]:
        with self.store.session() as session:
            return list(session.scalars(select(SingletonRound).order_by(SingletonRound.id)))

    def rounds_by(self, pid: int, work: str = "") -> int:
        return sum(1 for r in self.rounds()
                   if r.holder.endswith(f":{pid}") and work in r.work)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def cluster(tmp_path: Path, pg_database: str, receiver: Receiver) -> Iterator[Cluster]:
    for store in upgraded(make_config(tmp_path, database={"url": pg_database})):
        since = datetime.now(UTC) - timedelta(hours=1)
        with store.session() as session:  # one AP down for an hour: the ap_down alert
            hotspot = Hotspot(name="笋岗公园", community=Community(
                name="笋岗社区", street=Street(name="笋岗")))
            session.add(AccessPoint(mac="aa:bb:cc:00:00:01", name="笋岗-01", hotspot=hotspot))
            session.add(ProbeState(target="ap:aa:bb:cc:00:00:01", up=False, since=since,
                                   checked_at=since))
    made = Cluster(tmp_path, pg_database, receiver.url)
    yield made
    made.stop()


def terms_never_overlap(rounds: list[SingletonRound], since: dict[int, datetime]) -> None:
    """Each term's rounds started within its own reign, and every round that finished
    did so before the next term began."""
    terms = sorted({r.term for r in rounds})
    for earlier, later in itertools.pairwise(terms):
        for r in rounds:
            if r.term == earlier:
                assert r.started_at < since[later], (r.id, r.term, r.holder)
                assert r.finished_at is None or r.finished_at <= since[later], (r.id, r.term)


def reigns(store: Store) -> dict[int, datetime]:
    """When the current term began (the store keeps the latest only: the test samples
    it after each change)."""
    with store.session() as session:
        row = session.get(LeaderTerm, "singleton")
        return {row.term: row.since} if row else {}


def test_one_collector_works_a_killed_leader_is_replaced_and_alerts_go_once(
        cluster: Cluster, receiver: Receiver) -> None:
    first, second = cluster.start(), cluster.start()
    wait_until(lambda: cluster.leader()[0] == 1, "a leader", timeout=NEVER)
    _term, leader = cluster.leader()
    follower = second if leader == first else first
    since = reigns(cluster.store)
    wait_until(lambda: cluster.rounds_by(leader, "alerts") >= 3, "three rounds of the leader")
    assert {r.holder.rpartition(":")[2] for r in cluster.rounds()} == {str(leader)}
    assert [r["json"]["state"] for r in receiver.received] == ["firing"]
    alert_id = receiver.received[0]["json"]["id"]

    killed = time.monotonic()
    cluster.kill(leader)
    wait_until(lambda: cluster.leader() == (2, follower), "the takeover", timeout=NEVER)
    elected = time.monotonic() - killed
    wait_until(lambda: cluster.rounds_by(follower) >= 1, "the new leader's first round",
               timeout=NEVER)
    working = time.monotonic() - killed
    print(f"\nkill -9 of the leader: new leader elected after {elected:.2f} s, "
          f"its first round after {working:.2f} s")
    since |= reigns(cluster.store)
    wait_until(lambda: cluster.rounds_by(follower, "alerts") >= 3,
               "three alert rounds of the new leader")
    assert [r["json"]["id"] for r in receiver.received] == [alert_id]  # not sent again

    # a third process joins; then the leader's lock session is ended under it
    third = cluster.start()
    with cluster.store.engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE :name"), {"name": f"citynet leader %:{follower}"}).all()
    assert len(ended) == 1
    terminated = time.monotonic()
    wait_until(lambda: cluster.leader()[0] == 3, "a new term", timeout=NEVER)
    print(f"pg_terminate_backend of the leader's lock session: term 3 after "
          f"{time.monotonic() - terminated:.2f} s")
    since |= reigns(cluster.store)
    new_leader = cluster.leader()[1]
    assert new_leader in (follower, third)
    wait_until(lambda: cluster.rounds_by(new_leader, "alerts") >= 3,
               "three alert rounds in term 3")
    assert all(p.poll() is None for pid, p in cluster.processes.items() if pid != leader)

    rounds = cluster.rounds()
    assert {r.term for r in rounds} == {1, 2, 3}
    assert {r.holder.rpartition(":")[2] for r in rounds if r.term == 2} == {str(follower)}
    terms_never_overlap(rounds, since)
    assert [r["json"]["id"] for r in receiver.received] == [alert_id]


def test_a_frozen_leader_loses_the_lead_and_is_fenced_when_it_wakes(
        cluster: Cluster) -> None:
    """SIGSTOP: the process and its sockets live on (TCP keepalives are answered by the
    kernel), only its heartbeat stops — a hung node. The server's idle_session_timeout
    ends its lock session; when it wakes it finds its term gone and writes nothing more."""
    first, second = cluster.start(), cluster.start()
    wait_until(lambda: cluster.leader()[0] == 1, "a leader", timeout=NEVER)
    _term, frozen = cluster.leader()
    other = second if frozen == first else first
    since = reigns(cluster.store)
    wait_until(lambda: cluster.rounds_by(frozen) >= 2, "rounds of the leader")

    stopped = time.monotonic()
    os.kill(frozen, signal.SIGSTOP)
    try:
        wait_until(lambda: cluster.leader() == (2, other), "the takeover", timeout=NEVER)
        print(f"\nSIGSTOP of the leader: new leader after {time.monotonic() - stopped:.2f} s")
        since |= reigns(cluster.store)
        wait_until(lambda: cluster.rounds_by(other) >= 2, "rounds of the new leader")
    finally:
        os.kill(frozen, signal.SIGCONT)
    woke = cluster.rounds_by(frozen)
    wait_until(lambda: cluster.rounds_by(other) >= 5, "more rounds of the new leader")
    assert cluster.processes[frozen].poll() is None  # it lives on, as a follower
    assert cluster.rounds_by(frozen) == woke  # and never worked again
    assert cluster.leader() == (2, other)
    terms_never_overlap(cluster.rounds(), since)
