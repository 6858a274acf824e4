"""citynet serve's child processes: restarted when they die, stopped when asked."""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

import pytest

from citynet.process import ChildProcess, garbage_after, settle
from tests.support import wait_until

# A child that writes its PID to a file and then exits with 3 (or stays, when told to).
CHILD = """
import os, sys, time
with open(sys.argv[1], "a") as fh:
    fh.write(f"{os.getpid()}\\n")
if sys.argv[2] == "stay":
    time.sleep(600)
sys.exit(3)
"""


def started(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    log = tmp_path / "pids"
    child = ChildProcess("test", [sys.executable, "-c", CHILD, str(log), "exit"], "a test",
                         delays=[0.01])
    child.start()
    try:
        wait_until(lambda: len(started(log)) >= 3, "three starts of the child")
    finally:
        child.stop()
    assert len(set(started(log))) == len(started(log))  # a new process each time


def test_stop_ends_the_child_and_it_is_not_restarted(tmp_path: Path) -> None:
    log = tmp_path / "pids"
    child = ChildProcess("test", [sys.executable, "-c", CHILD, str(log), "stay"], "a test",
                         delays=[0.01])
    child.start()
    wait_until(lambda: len(started(log)) == 1, "the child")
    process = child._process
    assert process is not None
    child.stop()
    assert process.poll() is not None  # stop() waited for it
    assert len(started(log)) == 1
    assert "(process " in child.describe()


def test_restarts_wait_longer_only_while_the_child_keeps_crashing(tmp_path: Path) -> None:
    log = tmp_path / "pids"
    # every run counts as healthy (healthy=0): each restart waits the first delay, never
    # the second (600 s, which would stop the test short of three starts)
    child = ChildProcess("test", [sys.executable, "-c", CHILD, str(log), "exit"], "a test",
                         delays=[0.01, 600], healthy=0)
    child.start()
    try:
        wait_until(lambda: len(started(log)) >= 3, "three starts of the child")
    finally:
        child.stop()


def test_a_stop_during_the_restart_delay_starts_nothing(tmp_path: Path) -> None:
    log = tmp_path / "pids"
    child = ChildProcess("test", [sys.executable, "-c", CHILD, str(log), "exit"], "a test",
                         delays=[600])
    child.start()
    process = child._process
    assert process is not None
    process.wait(timeout=60)  # it exits at once; the watcher then waits out the delay
    child.stop()
    assert child._watcher is not None
    child._watcher.join(timeout=60)
    assert not child._watcher.is_alive()
    assert len(started(log)) == 1


class Cycle:
    """An object that only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


def test_garbage_after_collects_a_rounds_cycles_only_once_it_is_done() -> None:
    assert gc.isenabled()
    with garbage_after():
        assert not gc.isenabled()  # no full collection inside the round's transactions
        cycle = Cycle()
        gone = weakref.ref(cycle)
        del cycle
        # enough new containers to set off several automatic collections, were it on
        kept = [[n] for n in range(100_000)]
        assert gone() is not None
        del kept
    assert gc.isenabled()
    assert gone() is None  # collected as the round ended


def test_garbage_after_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    try:
        with garbage_after():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_settle_takes_what_start_up_built_out_of_the_collectors_sight() -> None:
    try:
        settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_dead_childs_live_gauges_go_at_once_its_counters_stay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The serve's watcher saw its child die: prometheus_client is told (mark_process_dead)
    then, not at some later scrape that asks whether the PID lives — by then another
    process may have it, and a dead leader would count as the node's leader."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    child = ChildProcess("test", [sys.executable, "-c", "from citynet import metrics; "
                                  "metrics.LEADER.set(1); metrics.DB_LOST.inc()"],
                         "a test", delays=[600])  # no restart within the test
    child.start()
    pid = child.pid
    try:
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), "the child's end (reaped)")
        wait_until(lambda: not list(tmp_path.glob(f"gauge_live*_{pid}.db")),
                   "its live gauges dropped", timeout=10)
    finally:
        child.stop()
    assert (tmp_path / f"counter_{pid}.db").exists()
