"""The InfluxDB sink over the real wire: influxdb-client writing to VictoriaMetrics (InfluxDB
v2 write API), through an outage; and the client's HTTP errors from a stub server."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from citynet.telemetry import Point
from monitoring.influx import (
    BatchRejected,
    InfluxSink,
    InfluxUnavailable,
    InfluxWriter,
    SinkCounters,
)
from tests.integration.monitoring.conftest import Victoria
from tests.support import wait_until

TOKEN = "s3cret-influx-token"


def recent(seconds: float) -> datetime:
    """A moment a little in the past, whole milliseconds (VictoriaMetrics keeps ms)."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return now + timedelta(seconds=seconds)


def make_sink(url: str, tmp_path: Path, batch_size: int = 50) -> InfluxSink:
    return InfluxSink(url, "citynet", "citynet", TOKEN, batch_size=batch_size,
                      spool_dir=tmp_path / "spool", spool_max_bytes=1 << 20,
                      retry_delays=(0.05, 0.1))


def series(victoria: Victoria, selector: str, count: int) -> list[dict[str, Any]]:
    """The exported series once ``count`` samples in all are visible (bounded wait)."""
    found: list[dict[str, Any]] = []

    def visible() -> bool:
        found[:] = victoria.export(selector)
        return sum(len(s["timestamps"]) for s in found) >= count

    wait_until(visible, f"{count} samples of {selector}", timeout=30)
    return found


@pytest.mark.slow
def test_points_arrive_with_tags_values_and_timestamps(victoria: Victoria,
                                                       tmp_path: Path) -> None:
    first, second = recent(0), recent(0.25)
    sink = make_sink(victoria.url, tmp_path)
    try:
        sink.write([
            Point("hotspot_use", {"hotspot": "笋岗-1", "street": "笋岗 街道"},
                  {"online": 12, "load": 0.5, "up": True}, first),
            Point("hotspot_use", {"hotspot": "笋岗-1", "street": "笋岗 街道"},
                  {"online": 15, "load": 0.75, "up": False}, second),
        ])
    finally:
        sink.close()
    assert sink.counters == SinkCounters(sent=2)
    labels = {"hotspot": "笋岗-1", "street": "笋岗 街道"}
    stamps = [int(first.timestamp() * 1000), int(second.timestamp() * 1000)]
    for field, values in (("online", [12, 15]), ("load", [0.5, 0.75]), ("up", [1, 0])):
        [found] = series(victoria, f"hotspot_use_{field}", 2)
        assert found["metric"] == {"__name__": f"hotspot_use_{field}", **labels}
        assert found["values"] == values
        assert found["timestamps"] == stamps


@pytest.mark.slow
def test_an_outage_is_spooled_and_replayed_without_loss_or_duplicates(
        victoria: Victoria, tmp_path: Path) -> None:
    def batch(first: int, last: int) -> list[Point]:
        return [Point("ap_clients", {"ap": f"ap-{n % 3}"}, {"n": n}, recent(n / 100))
                for n in range(first, last)]

    sink = make_sink(victoria.url, tmp_path)
    try:
        sink.write(batch(0, 120))
        victoria.stop()
        sink.write(batch(120, 240))
        sink.write(batch(240, 300))
        assert sink.counters == SinkCounters(sent=120, spooled=180)
        assert sorted(p.name for p in (tmp_path / "spool").iterdir())  # on disk, not in memory
        assert REGISTRY.get_sample_value("citynet_spool_points") == 180  # /metrics shows it
        victoria.start()  # same port, same storage
        sink.write(batch(300, 330))
    finally:
        sink.close()
    assert REGISTRY.get_sample_value("citynet_spool_points") == 0
    assert sink.counters == SinkCounters(sent=330, spooled=180)
    assert not sink.spool
    found = series(victoria, "ap_clients_n", 330)
    samples = sorted((t, v) for s in found for t, v in zip(s["timestamps"], s["values"],
                                                           strict=True))
    assert len(samples) == 330  # nothing lost, nothing twice
    assert [v for _, v in samples] == list(range(330))
    assert {s["metric"]["ap"] for s in found} == {"ap-0", "ap-1", "ap-2"}


class StubInflux(BaseHTTPRequestHandler):
    """Answers every write with the status the test set, in InfluxDB's error format."""

    status = 204
    seen: list[tuple[str, str]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.seen.append((self.headers.get("Authorization", ""),
                          self.rfile.read(length).decode()))
        body = b"" if self.status == 204 else json.dumps(
            {"code": "invalid", "message": "unable to parse 'x': missing fields"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what it needs from ``seen``."""


@pytest.fixture
def stub() -> Iterator[tuple[str, type[StubInflux]]]:
    handler = type("Handler", (StubInflux,), {"seen": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(("status", "raised", "retry"), [
    (400, BatchRejected, None), (422, BatchRejected, None),
    (401, InfluxUnavailable, False), (404, InfluxUnavailable, False),
    (429, InfluxUnavailable, True), (503, InfluxUnavailable, True),
])
def test_http_errors_become_sink_errors(stub: tuple[str, type[StubInflux]], status: int,
                                        raised: type[Exception], retry: bool | None) -> None:
    url, handler = stub
    handler.status = status
    writer = InfluxWriter(url, "citynet", "citynet", TOKEN)
    try:
        with pytest.raises(raised) as caught:
            writer(["m v=1 1", "m v=2 2"])
    finally:
        writer.close()
    if isinstance(caught.value, InfluxUnavailable):
        assert caught.value.retry is retry
    assert handler.seen == [(f"Token {TOKEN}", "m v=1 1\nm v=2 2")]


def test_a_rejected_batch_is_logged_without_the_token(
        stub: tuple[str, type[StubInflux]], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    url, handler = stub
    handler.status = 400
    sink = make_sink(url, tmp_path)
    try:
        with caplog.at_level(logging.DEBUG):
            sink.write([Point("m", {}, {"v": 1}, recent(0))])
    finally:
        sink.close()
    assert sink.counters == SinkCounters(rejected=1)
    assert len(handler.seen) == 1  # not retried
    assert "unable to parse" in caplog.text
    assert TOKEN not in caplog.text
