"""Benchmark: durable accounting records/s on the two-site Patroni cluster with synchronous
replication, at a 0 ms and a 20 ms WAN round trip, beside the single local PostgreSQL.

Target (issue 18): synchronous replication across a 20 ms link, >= 2,000 durable
records/s. The path is citynet's own: radclient (freeradius-utils) sends Interim-Updates
to the RADIUS listener running in this process on loopback, whose RecordWriter group-
commits them; an Accounting-Response leaves only after its record's transaction
committed, and with synchronous replication a commit returns only once the other site's
node has the WAL on disk. The cluster is tests/lab (site A and site B in network
namespaces, the witness etcd and this process on the host side, beside the primary: the
WAN is between the sites, where the replication runs). Needs root (namespaces).

    .venv/bin/python bench/ha_sites.py [--records 20000] [--parallel 256] [--rtt 0 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accounting import SECRET, requests_file
from citynet import config as config_module
from citynet.config import RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius.models import AccountingRecord
from radius.service import RadiusService
from tests.lab.patroni import PatroniLab
from tests.lab.sites import SiteNetwork

TARGET = 2000.0
LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Run:
    label: str
    records: int
    stored: int
    elapsed: float
    batches: int
    commit_ms: float  # one single-row commit, median: the round trip a batch pays
    radclient: str

    @property
    def rate(self) -> float:
        return self.records / self.elapsed

    @property
    def per_commit(self) -> float:
        return self.stored / max(self.batches, 1)


def commit_latency(url: str, samples: int = 30) -> float:
    """The median time of a one-row INSERT's commit, in ms."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_probe (n int)")  # a logged table: WAL, replicated
        times = []
        for n in range(samples):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_probe VALUES (%s)", (n,))
            times.append((time.perf_counter() - started) * 1000)
        conn.execute("DROP TABLE bench_probe")
    return statistics.median(times)


def measure(label: str, url: str, records: int, parallel: int) -> Run:
    commit_ms = commit_latency(url)
    with tempfile.TemporaryDirectory() as tmp:
        config = config_module.from_dict({"data_dir": tmp, "database": {"url": url}})
        store = Store.from_config(config)
        store.upgrade()
        box = open_box(config, store, create=True)
        with store.session() as session:
            assert import_rows(session, [RawRow("bench", 1, KINDS["nas"], {
                "name": "bench", "address": "127.0.0.1", "secret": SECRET})], box).ok
        service = RadiusService(store, box, RadiusConfig(auth_port=0, acct_port=0))
        service.start()
        path = Path(tmp) / "requests.txt"
        requests_file(path, records, sessions=min(2000, records))
        started = time.perf_counter()
        result = subprocess.run(
            ["radclient", "-q", "-s", "-p", str(parallel), "-r", "5", "-t", "5",
             "-f", str(path), f"127.0.0.1:{service.ports[1]}", "acct", SECRET],
            capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        service.stop()
        with store.session() as session:
            stored = session.scalar(select(func.count()).select_from(AccountingRecord)) or 0
        store.close()
    lost = " ".join(line.strip() for line in result.stdout.splitlines() if "Lost" in line)
    return Run(label, records, stored, elapsed, service.writer.batches, commit_ms,
               lost or result.stderr.strip()[-200:])


def local_baseline(records: int, parallel: int) -> Run:
    name = f"citynet_bench_ha_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(LOCAL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return measure("local PostgreSQL, no replica", LOCAL.rsplit("/", 1)[0] + f"/{name}",
                       records, parallel)
    finally:
        with psycopg.connect(LOCAL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def two_sites(rtts: list[float], records: int, parallel: int) -> list[Run]:
    network = SiteNetwork(rtt_ms=rtts[0]).start()
    runs = []
    try:
        with PatroniLab(sites=network) as lab:
            primary = lab.wait_for_primary()
            for n, rtt in enumerate(rtts):
                network.set_wan(rtt_ms=rtt)
                lab.wait_for_sync_standby()
                lab.create_database(f"bench{n}")
                runs.append(measure(f"two sites, synchronous, WAN {rtt:g} ms RTT",
                                    lab.url(f"bench{n}", connect_timeout="5"),
                                    records, parallel))
            assert lab.primary() == primary, "the primary changed during the run"
    finally:
        network.stop()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--parallel", type=int, default=256)
    parser.add_argument("--rtt", type=float, nargs="+", default=[0.0, 20.0],
                        help="WAN round trips to measure, ms")
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = [local_baseline(args.records, args.parallel),
            *two_sites(args.rtt, args.records, args.parallel)]
    load_after = os.getloadavg()

    print(f"host: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"kernel {platform.release()}; load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)} (other engineers' runs included)")
    print(f"load: {args.records} Interim-Updates per run, {args.parallel} in flight "
          "(radclient), citynet's RADIUS listener and RecordWriter")
    base = runs[0].rate
    print(f"{'store':44} {'records/s':>10} {'x local':>8} {'x target':>9} "
          f"{'rec/commit':>10} {'commit ms':>9} {'stored':>7}")
    for run in runs:
        print(f"{run.label:44} {run.rate:10,.0f} {run.rate / base:8.2f} "
              f"{run.rate / TARGET:9.2f} {run.per_commit:10.1f} {run.commit_ms:9.1f} "
              f"{run.stored:7}")
    for run in runs:
        if run.stored != run.records:
            print(f"  {run.label}: {run.records - run.stored} missing; radclient: "
                  f"{run.radclient}")
    print(f"target: >= {TARGET:,.0f} durable records/s across a 20 ms link")


if __name__ == "__main__":
    main()
