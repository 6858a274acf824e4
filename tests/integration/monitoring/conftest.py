"""Real servers for the monitoring integration tests, on free loopback ports."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, http_answers, wait_until

VICTORIA_METRICS = "/usr/bin/victoria-metrics"  # Debian's victoria-metrics (scripts/test-deps.sh)


class Victoria:
    """Debian's VictoriaMetrics on 127.0.0.1: it takes InfluxDB v2 writes at
    ``/api/v2/write`` and names each series ``<measurement>_<field>``. It can be stopped
    and started again on the same port and storage directory, to play an outage."""

    def __init__(self, storage: Path, log_path: Path) -> None:
        self.port = free_port()
        self.storage = storage
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [VICTORIA_METRICS, f"-httpListenAddr=127.0.0.1:{self.port}",
                 f"-storageDataPath={self.storage}", "-retentionPeriod=1y",
                 # answer from fresh data: no query cache, no hold-back of recent samples
                 "-search.disableCache", "-search.latencyOffset=0s", "-loggerLevel=WARN"],
                stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: http_answers(f"{self.url}/health"), "VictoriaMetrics",
                   self.process, timeout=30)

    def stop(self) -> None:
        """SIGTERM by PID (VictoriaMetrics flushes its storage), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def flush(self) -> None:
        """Make recently written samples visible to reads."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):
            pass

    def export(self, selector: str) -> list[dict[str, Any]]:
        """``/api/v1/export`` for a series selector: one dict per series, with ``metric``
        (name and labels), ``values`` and ``timestamps`` (milliseconds)."""
        self.flush()
        query = urllib.parse.urlencode({"match[]": selector})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as reply:
            return [json.loads(text) for text in reply.read().decode().splitlines() if text]


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    """A running VictoriaMetrics with its own storage in tmp_path; killed after the test."""
    server = Victoria(tmp_path / "victoria", tmp_path / "victoria.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
