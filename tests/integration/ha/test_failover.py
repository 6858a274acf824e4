"""kill -9 the PostgreSQL primary of a Patroni cluster under accounting load: Patroni
promotes the synchronous standby, citynet (on the libpq multi-host URL) reconnects by
itself, every acknowledged record is there exactly once, and the outage is a few log
lines, not one per request. `make soak` kills the primary four times in a row, each
time after the old one came back as the synchronous standby. The load lasts until the
last failover is behind it (a fixed number of records ran out before the fourth kill
when the machine was quiet)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from citynet.config import Config
from citynet.db import Store
from radius import codec
from radius.models import AccountingRecord
from radius.wire import Code
from tests.conftest import make_config
from tests.integration.radius.conftest import SECRET, add_nas
from tests.integration.radius.test_crash import Listener
from tests.lab.patroni import Node, PatroniLab
from tests.support import CITYNET, Flows, wait_until

SENDERS = 4
STEP = 200  # records acknowledged before the first kill, between kills, after the last
PACE = 0.02  # seconds between one sender's records: a steady load, not a flood
OUTAGE_BOUND = 60.0  # a generous bound on the time without answers (the notes: 2-4 s)
OUTAGE_LINES = 4  # ERROR lines a failover may cost the log: one per cause (36 before the throttle)
KILLS = [1, pytest.param(4, marks=pytest.mark.soak)]


@pytest.fixture
def cluster() -> Iterator[PatroniLab]:
    with PatroniLab() as lab:
        yield lab


def _primary_after(cluster: PatroniLab, old: Node, victim: int) -> Node:
    """The primary once the crashed postmaster ``victim`` is replaced: the standby
    promoted, or ``old`` restarted by its Patroni (its crash recovery)."""
    def replaced() -> bool:
        primary = cluster.primary()
        return primary is not None and (primary != old or primary.postmaster_pid() != victim)

    wait_until(replaced, "a primary after the crash", timeout=OUTAGE_BOUND)
    primary = cluster.primary()
    assert primary is not None
    return primary


class Nas(Flows):
    """Paced senders that retransmit each Accounting-Request until it is answered (like
    a NAS), new records until :meth:`finish`; when each answer came."""

    def __init__(self, port: int, deadline: float) -> None:
        self.port, self.deadline = port, deadline
        self.acked: list[tuple[float, str]] = []  # (when, Acct-Session-Id)
        self.finished = 0  # senders that ended because they were told to, not given up
        self._lock = threading.Lock()
        self._enough = threading.Event()  # no new record after the one in hand
        self._stop = threading.Event()  # only to pace, and to give up at the deadline
        self.threads = [threading.Thread(target=self._send, args=(i,)) for i in range(SENDERS)]

    def acked_after(self, moment: float) -> int:
        with self._lock:
            return sum(1 for when, _id in self.acked if when > moment)

    def a_step_after(self, moment: float) -> bool:
        return self.acked_after(moment) >= STEP

    def finish(self) -> None:
        """Each sender ends once its record in hand is answered."""
        self._enough.set()
        self.join()

    def abandon(self) -> None:
        self._stop.set()
        self.join()

    def longest_silence(self) -> float:
        """The longest time between two answers, any sender: the outage as a NAS saw it."""
        times = sorted(when for when, _id in self.acked)
        return max((later - earlier for earlier, later in itertools.pairwise(times)), default=0)

    def _send(self, sender: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            for n in itertools.count():
                session_id = f"failover-{sender}-{n}"
                data = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), {
                    "Acct-Status-Type": "Start", "Acct-Session-Id": session_id,
                    "User-Name": "13800138000"}, identifier=n % 256,
                    message_authenticator=False)
                if not self._acknowledged(sock, data, session_id) or self._stop.wait(PACE):
                    return
                if self._enough.is_set():
                    with self._lock:
                        self.finished += 1
                    return

    def _acknowledged(self, sock: socket.socket, data: bytes, session_id: str) -> bool:
        while time.monotonic() < self.deadline and not self._stop.is_set():
            sock.sendto(data, ("127.0.0.1", self.port))
            try:
                reply, _ = sock.recvfrom(4096)
            except (TimeoutError, ConnectionRefusedError):
                continue  # a retransmission, as a NAS does
            if reply[0] == Code.ACCOUNTING_RESPONSE and reply[1] == data[1]:
                with self._lock:
                    self.acked.append((time.monotonic(), session_id))
                return True
        return False


@pytest.mark.slow
@pytest.mark.parametrize("kills", KILLS)
def test_killing_the_primary_loses_no_acknowledged_record(
        cluster: PatroniLab, tmp_path: Path, open_store: Callable[[Config], Store],
        kills: int) -> None:
    cluster.create_database("citynet")
    url = cluster.url("citynet", connect_timeout="2")
    config = make_config(tmp_path, database={"url": url})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    subprocess.run([CITYNET, "db", "upgrade"], check=True, timeout=120, env={
        **env, "CITYNET_DATA_DIR": str(config.data_path), "CITYNET_DATABASE__URL": url})
    store = open_store(config)
    add_nas(config, store)
    listener = Listener(config, tmp_path)
    listener.start()
    nas = Nas(listener.acct, deadline=time.monotonic() + 240 * kills)
    killed: list[float] = []  # when each primary was killed
    promoted: list[float] = []  # how long until the next one was primary
    after: list[str] = []  # which node it was
    try:
        nas.start()
        for kill in range(kills):
            # answers before each kill: the load built up, or going on after the last one
            wait_until(partial(nas.a_step_after, killed[-1] if killed else 0.0),
                       "records answered", listener.process, timeout=120)
            if kill:  # the old primary back as the synchronous standby: a whole cluster
                cluster.wait_for_sync_standby()
            old = cluster.wait_for_primary()
            victim = old.postmaster_pid()
            os.kill(victim, signal.SIGKILL)
            killed.append(time.monotonic())
            if not kill:  # the first crash: Patroni promotes the synchronous standby
                new = cluster.wait_for_primary(other_than=old, timeout=OUTAGE_BOUND)
            else:  # later ones: promoted, or restarted in place if Patroni so decides
                new = _primary_after(cluster, old, victim)
            promoted.append(time.monotonic() - killed[-1])
            after.append(new.name)
        # requests go on being answered after the last failover
        wait_until(partial(nas.a_step_after, killed[-1]), "records answered after the last "
                   "kill", listener.process, timeout=120)
        nas.finish()
    finally:
        nas.abandon()
        listener.stop()
    with store.session() as session:
        stored = session.execute(select(AccountingRecord.session_id,
                                        func.count()).group_by(AccountingRecord.session_id)
                                 ).all()
    acked = sorted(session_id for _when, session_id in nas.acked)
    answered_after_kill = sum(1 for when, _id in nas.acked if when > killed[-1])
    log = listener.log.read_text(errors="replace")
    outage_lines = [line for line in log.splitlines() if " ERROR " in line]
    gap = nas.longest_silence()
    print(f"\n{kills} kill(s) of the primary; a primary again after "
          + ", ".join(f"{took:.1f} s ({name})" for took, name in zip(promoted, after,
                                                                     strict=True))
          + f"; longest time without an answer {gap:.1f} s; {len(outage_lines)} outage log "
          f"lines; {answered_after_kill} records answered after the last kill")
    for line in outage_lines:
        print("  " + line)  # the evidence, in the test's output
    assert nas.finished == SENDERS, "senders gave up at the deadline"
    assert answered_after_kill >= STEP
    assert sorted(session_id for session_id, _count in stored) == acked
    assert {count for _id, count in stored} == {1}  # each exactly once
    assert gap < OUTAGE_BOUND
    assert len(outage_lines) <= OUTAGE_LINES * kills
