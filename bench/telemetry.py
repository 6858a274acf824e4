"""Benchmark: telemetry points per second through the InfluxDB sink, batched and one by one.

Target (monitoring issue): >= 50,000 points/s batched. The peer is Debian's VictoriaMetrics
(InfluxDB v2 write API) started here on a free loopback port with a throwaway storage dir;
the sink encodes line protocol itself and sends it with influxdb-client's synchronous
write API. Afterwards the benchmark counts what the server stored.

    .venv/bin/python bench/telemetry.py [--points 200000] [--batch 5000] [--single 3000]
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citynet.telemetry import Point, lines
from monitoring.influx import InfluxSink

TARGET = 50_000.0
VICTORIA_METRICS = "/usr/bin/victoria-metrics"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except OSError:
        return False


def start_victoria(storage: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [VICTORIA_METRICS, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={storage}",
         "-search.disableCache", "-search.latencyOffset=0s", "-loggerLevel=WARN"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit("VictoriaMetrics did not start")
        time.sleep(0.1)
    return process, port


def stored(port: int, name: str) -> int:
    """How many samples of the series ``name`` the server holds."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/internal/force_flush", timeout=30):
        pass
    query = urllib.parse.urlencode({"match[]": name})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/export?{query}",
                                timeout=120) as reply:
        return sum(len(json.loads(text)["timestamps"])
                   for text in reply.read().decode().splitlines() if text)


def make_points(measurement: str, count: int, series: int) -> list[Point]:
    """``series`` APs, each with samples one millisecond apart, an hour ago."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return [Point(measurement, {"ap": f"ap-{n % series:05d}", "street": "笋岗"},
                  {"clients": n % 97}, start + timedelta(milliseconds=n // series))
            for n in range(count)]


def rss_mib(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    return 0.0


def timed_writes(url: str, spool: Path, batches: list[list[Point]],
                 batch_size: int) -> tuple[float, InfluxSink]:
    sink = InfluxSink(url, "citynet", "citynet", "", batch_size=batch_size, spool_dir=spool,
                      spool_max_bytes=1 << 30)
    started = time.perf_counter()
    for batch in batches:
        sink.write(batch)
    elapsed = time.perf_counter() - started
    sink.close()
    return elapsed, sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--single", type=int, default=3000, help="points sent one per request")
    parser.add_argument("--series", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_victoria(Path(tmp) / "victoria")
        url = f"http://127.0.0.1:{port}"
        try:
            many = make_points("bench_batched", args.points, args.series)
            started = time.perf_counter()
            lines(many)
            encode = time.perf_counter() - started
            batched, sink = timed_writes(url, Path(tmp) / "spool-a", [many], args.batch)
            single_points = make_points("bench_single", args.single, args.series)
            single, single_sink = timed_writes(url, Path(tmp) / "spool-b",
                                               [[p] for p in single_points], 1)
            kept = stored(port, "bench_batched_clients"), stored(port, "bench_single_clients")
            server_rss = rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)

    batched_rate, single_rate = args.points / batched, args.single / single
    print(f"peer:             VictoriaMetrics ({VICTORIA_METRICS}), InfluxDB v2 write API, "
          "loopback")
    print(f"batched:          {args.points} points, {args.series} series, batch {args.batch}: "
          f"{batched:.2f} s, {batched_rate:,.0f} points/s")
    print(f"  sink counters:  {sink.counters}; stored by the server: {kept[0]}")
    print(f"  encoding alone: {args.points / encode:,.0f} points/s (line protocol)")
    print(f"one per request:  {args.single} points: {single:.2f} s, {single_rate:,.0f} points/s")
    print(f"  sink counters:  {single_sink.counters}; stored by the server: {kept[1]}")
    print(f"batched / single: {batched_rate / single_rate:.1f} x")
    print(f"ratio to target:  {batched_rate / TARGET:.2f} x (target {TARGET:,.0f} points/s)")
    print(f"peak RSS:         benchmark {rss_mib():.0f} MiB, VictoriaMetrics "
          f"{server_rss:.0f} MiB")


if __name__ == "__main__":
    main()
