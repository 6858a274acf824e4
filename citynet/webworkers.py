"""The web role as several processes: gunicorn (its one adapter) with threaded workers.

Why gthread and not gunicorn's default ``sync`` workers: FreeRADIUS's rlm_rest and the
browsers behind a captive portal keep connections alive, and a sync worker serves one
connection at a time — a kept-alive connection holds the worker, and every other request
waits behind it (the design's field notes: rlm_rest against sync workers deadlocks).

Each worker builds its own app from the factory after the fork (no preloading): its own
store engine and connection pool, nothing shared with the master but the listening socket.
The staff session key lives in the store, so every worker signs and reads the same
cookies. A worker that dies is replaced by the master.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from citynet import metrics
from citynet.config import WebConfig

GRACEFUL_SECONDS = 30  # a worker told to stop finishes its requests this long at most


class _WorkerApps(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._factory, self._options = factory, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: its control
            self.cfg.set("control_socket_disable", True)  # socket is one path per user

    def load(self) -> Flask:
        return self._factory()


class _CitynetLines(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's own lines (a worker killed, timed out, replaced) in citynet's log, in
    its format — with logging.format = "json" a JSON object like every other line, not
    gunicorn's text among them. ``errorlog`` None: gunicorn adds no handler of its own."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.propagate = True


def options(web: WebConfig) -> dict[str, Any]:
    """gunicorn's settings for ``web``."""
    host = f"[{web.bind}]" if ":" in web.bind else web.bind
    return {"bind": [f"{host}:{web.port}"], "workers": web.workers,
            "worker_class": "gthread", "threads": web.threads, "preload_app": False,
            "graceful_timeout": GRACEFUL_SECONDS, "proc_name": "citynet-web",
            "logger_class": _CitynetLines, "errorlog": None, "loglevel": "warning",
            "accesslog": None, "child_exit": _worker_exited}


def _worker_exited(_arbiter: Any, worker: Any) -> None:
    """gunicorn's hook, in the master: a worker is gone (stopped, killed, timed out)."""
    metrics.process_died(worker.pid)


def serve_workers(factory: Callable[[], Flask], web: WebConfig) -> None:
    """Run gunicorn in the foreground until SIGTERM or Ctrl-C (it then stops its workers
    and raises SystemExit); ``factory`` runs once in each worker."""
    master = os.getpid()
    try:
        _WorkerApps(factory, options(web)).run()
    except BaseException as exc:
        if os.getpid() == master:
            raise
        # A worker leaving. gunicorn forks it inside this call and ends it by raising
        # SystemExit, which would climb through the caller's frames copied from the
        # master — and run their cleanup (stopping the master's services) in the worker.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_code(exc))


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 1
