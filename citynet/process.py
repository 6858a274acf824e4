"""A part of ``citynet serve`` that runs as a child process, restarted if it dies.

Why a process and not a thread: the collectors' Python work (scapy probes, SSH attempts,
KPI sums) held the interpreter lock that the RADIUS listener's event loop needs, and an
Access-Request's p99 jumped from ~14 ms to up to 1.8 s once a minute (docs/monitoring.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from citynet import metrics
from citynet.catalogs import gettext as _
from citynet.catalogs import spoken

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
RESTART_DELAYS = (1.0, 5.0, 30.0, 60.0)  # seconds before the 1st, 2nd, 3rd, later restart
STOP_WAIT = 30.0  # seconds a child gets to finish its run after SIGTERM
HEALTHY = 300.0  # a child up this long has recovered: its next restart waits the least


def settle() -> None:
    """Once a long-running process has started: what start-up built (modules,
    dictionaries, compiled statements, mappers) lives as long as the process, so it goes
    out of the garbage collector's sight. A full collection then walks only what the
    process made since, and no longer pauses every thread of it for 100-300 ms — the
    RADIUS round waiting, or a collector holding the store's write lock meanwhile."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def garbage_after() -> Iterator[None]:
    """Run a block of work with the cyclic garbage collector off, and collect once it is
    done. For a collector's round: a full collection falling inside one of its write
    transactions would pause the process with the store's write lock held, and every
    RADIUS round waits that long (measured: 90-450 ms)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
        gc.collect()


def citynet_argv(config_path: str | None, *args: str) -> list[str]:
    """The command line of a ``citynet`` child: this interpreter, the same config file
    (the environment, with its CITYNET_* overrides, is inherited)."""
    config = ["--config", config_path] if config_path else []
    # the child speaks the command's language: its start-up lines join the parent's
    return [sys.executable, "-m", "citynet", "--lang", spoken(), *config, *args]


class ChildProcess:
    """Runs ``argv`` beside the web app, with ``--parent PID`` added (the command then
    leaves with its parent: :func:`die_with_parent`). A child that exits unasked is
    restarted after a growing delay, so a crash loop costs little; each restart is logged."""

    def __init__(self, name: str, argv: Sequence[str], description: str,
                 delays: Sequence[float] = RESTART_DELAYS, healthy: float = HEALTHY) -> None:
        self.name, self._argv, self._description = name, list(argv), description
        self._delays, self._healthy = tuple(delays), healthy
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a child is spawned or stopped, never both at once
        self._watcher: threading.Thread | None = None

    def describe(self) -> str:
        pid = self._process.pid if self._process else "-"
        return _("%(description)s (process %(pid)s)", description=self._description, pid=pid)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._process = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"{self.name}-watch",
                                         daemon=True)
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*self._argv, "--parent", str(os.getpid())])  # noqa: S603 (our own argv)

    def _watch(self) -> None:
        restarts = 0
        while self._process is not None:
            began = time.monotonic()
            code = self._process.wait()
            metrics.process_died(self._process.pid)
            if self._stopping.is_set():
                return
            if time.monotonic() - began >= self._healthy:
                restarts = 0  # a crash weeks after the last is not a crash loop
            delay = self._delays[min(restarts, len(self._delays) - 1)]
            log.warning("%s process %d exited with code %d; restarting it in %.0f s",
                        self.name, self._process.pid, code, delay)
            if self._stopping.wait(delay):
                return
            restarts += 1
            with self._lock:
                if self._stopping.is_set():  # stop() came during the delay
                    return
                self._process = self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            log.warning("%s process %d did not stop in %.0f s: killed", self.name,
                        process.pid, STOP_WAIT)
            process.kill()
            process.wait()


def die_with_parent(parent: int) -> None:
    """In a child: be sent SIGTERM when the parent dies (even by kill -9), so no collector
    outlives the ``citynet serve`` that started it; exits at once if it is already gone."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: parent_alive() covers
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if not parent_alive(parent):
        raise SystemExit(0)


def parent_alive(parent: int) -> bool:
    return os.getppid() == parent


def stop_on_sigterm() -> Any:
    """SIGTERM ends the foreground loop as Ctrl-C does, so ``finally`` blocks run; returns
    the handler it replaced."""

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)
