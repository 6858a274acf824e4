"""The two sites partitioned under a steady NAS load (issue 18, fault 6): the primary's
site is cut off — its WAN link and its link to the witness and citynet both down — so
the other site holds etcd's majority with the witness. Never more than one primary;
citynet (on the host side, libpq multi-host URL) carries on with the other site; when
the link is back, the old primary rejoins as a replica; every acknowledged record is
there exactly once and ``citynet audit verify`` passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from citynet.config import Config
from citynet.db import Store
from tests.conftest import make_config
from tests.integration.ha.load import (
    Nas,
    audit_verify,
    check_records,
    error_lines,
    no_login_twice,
    prepare,
    upgrade,
)
from tests.integration.radius.test_crash import Listener
from tests.lab.patroni import Node, PatroniLab
from tests.lab.sites import SiteNetwork
from tests.support import wait_until

RTT_MS = 20.0
LOGINS = 40
BOUND = 120.0  # generous: promotion waits for the leader key's ttl (20 s)
OUTAGE_LINES = 8  # one line per cause a minute; a partition shows a handful of causes


@pytest.fixture
def sites() -> Iterator[tuple[SiteNetwork, PatroniLab]]:
    network = SiteNetwork(rtt_ms=RTT_MS).start()
    try:
        with PatroniLab(sites=network) as lab:
            yield network, lab
    finally:
        network.stop()


class PrimaryCount:
    """Samples, until stopped, how many nodes run as a writable primary at once — asked
    over each node's Unix socket, which no network partition reaches."""

    def __init__(self, lab: PatroniLab) -> None:
        self.lab = lab
        self.most = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self) -> PrimaryCount:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):  # the sampling interval
            primaries = sum(1 for node in self.lab.nodes if self._writable(node))
            self.most = max(self.most, primaries)
            self.samples += 1

    @staticmethod
    def census(lab: PatroniLab, node: Node) -> str:
        """What ``node`` holds: its role and its accounting records (for a failure's
        evidence)."""
        try:
            with psycopg.connect(host=str(lab.dir), port=node.port, user="postgres",
                                 dbname="citynet", connect_timeout=2) as conn:
                row = conn.execute("SELECT pg_is_in_recovery(), count(*) FROM "
                                   "radius_accounting").fetchone()
        except psycopg.Error as exc:
            return f"unreachable: {exc}"
        return f"in recovery {row[0]}, {row[1]} accounting records" if row else "?"

    def _writable(self, node: Node) -> bool:
        try:
            with psycopg.connect(host=str(self.lab.dir), port=node.port, user="postgres",
                                 dbname="postgres", connect_timeout=1,
                                 autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return False  # down, or shutting down: not accepting anything
        return row is not None and row[0] is False


@pytest.mark.slow
@pytest.mark.parametrize("cuts", [1, pytest.param(3, marks=pytest.mark.soak)])
def test_partitioned_sites_never_have_two_primaries(
        sites: tuple[SiteNetwork, PatroniLab], tmp_path: Path,
        open_store: Callable[[Config], Store], cuts: int) -> None:
    """The primary's site cut off, then healed (`make soak`: three times in a row, each
    time the site of whichever node is primary then)."""
    network, cluster = sites
    cluster.create_database("citynet")
    # tcp_user_timeout: a connection to a node cut off mid-commit fails within 5 s
    # instead of waiting out TCP's retransmissions (minutes)
    url = cluster.url("citynet", connect_timeout="2", tcp_user_timeout="5000")
    config = make_config(tmp_path, database={"url": url})
    upgrade(url, config)
    store = open_store(config)
    codes = prepare(config, store, LOGINS)
    listener = Listener(config, tmp_path)
    listener.start()
    # the load goes on until every cut is healed: a set number of records can all be
    # answered before a promotion (~25 s: the ttl), leaving no answer from the other site
    # to wait for; the deadline only bounds a load that never comes back
    nas = Nas(listener, codes, deadline=time.monotonic() + 300 * cuts, per_sender=None)
    events = []  # (site, old, new, promoted after, rejoined after) per cut
    with PrimaryCount(cluster) as primaries:
        try:
            nas.start()
            for cut in range(cuts):
                wait_until(lambda cut=cut: nas.answered() >= 150 * (cut + 1),
                           "load built up", listener.process, timeout=120)
                old = cluster.wait_for_primary()
                assert old.site is not None
                network.cut_off(old.site)
                cut_at = time.monotonic()
                new = cluster.wait_for_primary(other_than=old, timeout=BOUND)
                promoted_after = time.monotonic() - cut_at
                wait_until(lambda at=cut_at + promoted_after: nas.answered_after(at) > 0,
                           "answers from the other site", listener.process, timeout=BOUND)
                network.reconnect(old.site)
                healed_at = time.monotonic()
                wait_until(lambda old=old: old.answers("replica"),
                           f"{old.name} back as a replica", timeout=BOUND)
                events.append((old.site.name, old.name, new.name, promoted_after,
                               time.monotonic() - healed_at))
                if cut + 1 < cuts:  # a whole cluster again before the next cut
                    cluster.wait_for_sync_standby(timeout=BOUND)
            nas.finish()
            nas.join()
        finally:
            nas.abandon()
            listener.stop()
    print(f"\nwall clock = monotonic + {time.time() - time.monotonic():.3f}; at most "
          f"{primaries.most} primary")
    for node in cluster.nodes:
        print(f"  {node.name}: {PrimaryCount.census(cluster, node)}")
    assert primaries.most == 1
    try:
        twice = check_records(store, nas)
    except AssertionError:
        print(cluster.log_tail())  # the evidence: Patroni's and etcd's last lines
        raise
    audit_verify(config)
    lines = error_lines(listener.log)
    for site, was, now, promoted_after, rejoined_after in events:
        print(f"{site} ({was}, primary) cut off at {RTT_MS:g} ms WAN: {now} primary after "
              f"{promoted_after:.1f} s; {was} a replica {rejoined_after:.1f} s after the "
              "link came back")
    print(f"longest time without an answer {nas.longest_silence():.1f} s; at most "
          f"{primaries.most} primary in {primaries.samples} samples; {len(lines)} ERROR lines")
    for line in lines:
        print("  " + line)
    assert primaries.samples > 0
    assert primaries.most == 1
    assert len(lines) <= OUTAGE_LINES * cuts
    no_login_twice(twice)


@pytest.mark.slow
def test_the_wan_cut_alone_keeps_the_primary_writing(
        sites: tuple[SiteNetwork, PatroniLab], tmp_path: Path,
        open_store: Callable[[Config], Store]) -> None:
    """Only the link between the sites fails; the witness still sees both. The primary
    keeps etcd's majority and its role, Patroni lets it commit without its synchronous
    standby once the replication link is given up, and the standby catches up and is
    synchronous again when the link is back."""
    network, cluster = sites
    cluster.create_database("citynet")
    url = cluster.url("citynet", connect_timeout="2", tcp_user_timeout="5000")
    config = make_config(tmp_path, database={"url": url})
    upgrade(url, config)
    store = open_store(config)
    codes = prepare(config, store, LOGINS)
    listener = Listener(config, tmp_path)
    listener.start()
    # until the link is back and checked: a set number of records can all be answered
    # before the primary commits alone, leaving none to answer without the WAN
    nas = Nas(listener, codes, deadline=time.monotonic() + 300, per_sender=None)
    with PrimaryCount(cluster) as primaries:
        try:
            nas.start()
            wait_until(lambda: nas.answered() >= 150, "load built up", listener.process,
                       timeout=120)
            primary = cluster.wait_for_primary()
            network.set_wan(loss_percent=100)
            cut_at = time.monotonic()
            wait_until(lambda: not any(node.answers("sync") for node in cluster.nodes),
                       "the primary alone, without a synchronous standby", timeout=BOUND)
            alone_after = time.monotonic() - cut_at
            alone_at = time.monotonic()
            wait_until(lambda: nas.answered_after(alone_at) >= 50, "answers without the WAN",
                       listener.process, timeout=BOUND)
            assert cluster.primary() == primary
            network.set_wan(loss_percent=0)
            healed_at = time.monotonic()
            cluster.wait_for_sync_standby(timeout=BOUND)
            sync_after = time.monotonic() - healed_at
            nas.finish()
            nas.join()
        finally:
            nas.abandon()
            listener.stop()
    twice = check_records(store, nas)
    audit_verify(config)
    lines = error_lines(listener.log)
    print(f"\nWAN cut at {RTT_MS:g} ms: {primary.name} committing alone after "
          f"{alone_after:.1f} s; synchronous again {sync_after:.1f} s after the link came "
          f"back; longest time without an answer {nas.longest_silence():.1f} s; at most "
          f"{primaries.most} primary in {primaries.samples} samples; {len(lines)} ERROR lines")
    for line in lines:
        print("  " + line)
    assert cluster.primary() == primary  # never failed over
    assert primaries.most == 1
    assert len(lines) <= OUTAGE_LINES
    no_login_twice(twice)
