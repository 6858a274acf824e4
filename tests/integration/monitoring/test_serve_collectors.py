"""citynet serve runs its collectors in a process of their own (defects issue, item 9):
their Python work never holds the interpreter lock the RADIUS listener needs, and the
process never outlives the serve that started it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    CITYNET,
    children,
    free_port,
    http_answers,
    status_server,
    wait_until,
)

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_collectors_run_apart_from_radius_and_die_with_serve(tmp_path: Path) -> None:
    web, auth = free_port(), free_port(socket.SOCK_DGRAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env.update(CITYNET_DATA_DIR=str(tmp_path / "var"), CITYNET_WEB__PORT=str(web),
               CITYNET_RADIUS__AUTH_PORT=str(auth),
               CITYNET_RADIUS__ACCT_PORT=str(free_port(socket.SOCK_DGRAM)))
    subprocess.run([CITYNET, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([CITYNET, "nas", "add", "t", "--ip", "127.0.0.1", "--secret",
                    "serve-test-secret-1234"], env=env, check=True, capture_output=True)
    serve = subprocess.Popen([CITYNET, "serve"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    collector = 0
    try:
        wait_until(lambda: http_answers(f"http://127.0.0.1:{web}/healthz"), "serve", serve)
        # the RADIUS listener answers from the serve process itself
        assert status_server(auth, b"serve-test-secret-1234", attempts=10) is not None
        [collector] = children(serve.pid)
        cmdline = Path(f"/proc/{collector}/cmdline").read_bytes().split(b"\0")
        assert b"collect" in cmdline and str(serve.pid).encode() in cmdline
        serve.send_signal(signal.SIGKILL)  # no chance to stop its children itself
        serve.wait(timeout=10)
        wait_until(lambda: not alive(collector), "the collector process to leave")
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        if collector and alive(collector):
            os.kill(collector, signal.SIGKILL)
