"""Benchmark: coverage KPIs for 100,000 buildings, and the dashboard overview.

Targets (monitoring issue): every coverage KPI of every scope recomputed for 100,000
buildings in <= 1 s; the dashboard overview page p95 <= 200 ms on the demo district.

Baseline for the KPIs, run side by side: the obvious way, loading every building through
the ORM and counting in Python. The dashboard is measured through a real HTTP server
(waitress, as `citynet serve` runs it) with sequential requests from this process.

    .venv/bin/python bench/coverage.py [--buildings 100000] [--requests 200] [--postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg
from sqlalchemy import insert, select

from citynet import config as config_module
from citynet import staff
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store, set_meta, table
from citynet.server import serving
from inventory import demo
from inventory.choices import GOVERNMENT_TYPES, BuildingType, FiberStatus, TargetMetric
from inventory.importer import import_rows
from inventory.models import Building, Community, Street
from monitoring import kpis
from monitoring.targets import evaluate

KPI_TARGET_S = 1.0
PAGE_TARGET_MS = 200.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def fill(store: Store, buildings: int) -> None:
    """A district of ``buildings`` buildings over 10 streets and 100 communities."""
    rng = random.Random(7)  # noqa: S311 - benchmark data
    types = list(BuildingType)
    statuses = [FiberStatus.CONNECTED] * 8 + [FiberStatus.PLANNED, FiberStatus.UNCONNECTED,
                                              FiberStatus.NOT_ELIGIBLE]
    with store.session() as session:
        session.execute(insert(table(Street)), [{"id": s, "name": f"街道{s}", "name_en": ""}
                                               for s in range(1, 11)])
        session.execute(insert(table(Community)), [
            {"id": c, "name": f"社区{c}", "street_id": 1 + c % 10} for c in range(1, 101)])
        rows = []
        for b in range(buildings):
            status = rng.choice(statuses)
            rows.append({
                "code": f"B{b:06d}", "name": f"楼{b}", "address": "", "type": rng.choice(types),
                "community_id": 1 + b % 100, "fiber_status": status,
                "fiber_connected_on": date(2020 + rng.randrange(6), 1 + rng.randrange(12), 1)
                if status is FiberStatus.CONNECTED else None,
                "fiber_planned_on": None, "lat": None, "lon": None})
        session.execute(insert(table(Building)), rows)


def naive(store: Store) -> dict[str, tuple[int, int]]:
    """The baseline: every building as an ORM object, counted per scope in Python."""
    counts: Counter[tuple[str, str]] = Counter()
    with store.session() as session:
        for building in session.scalars(select(Building)):
            if building.fiber_status is FiberStatus.NOT_ELIGIBLE:
                continue
            community = building.community
            for scope in ("district", f"street:{community.street.name}",
                          f"community:{community.name}", f"type:{building.type.value}"):
                counts[(scope, "eligible")] += 1
                if building.fiber_status is FiberStatus.CONNECTED:
                    counts[(scope, "connected")] += 1
                if building.type in GOVERNMENT_TYPES:
                    counts[(scope, "gov")] += 1
    return {scope: (counts[(scope, "connected")], counts[(scope, "eligible")])
            for scope, kind in counts if kind == "eligible"}


def best_of(runs: int, work: object) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings)


def kpi_bench(url: str, buildings: int, label: str) -> None:
    store = Store(url)
    store.upgrade()
    started = time.perf_counter()
    fill(store, buildings)
    print(f"[{label}] {buildings:,} buildings loaded in {time.perf_counter() - started:.1f} s")
    now = datetime.now(UTC)

    def ours() -> None:
        with store.session() as session:
            kpis.compute(session, now)

    def ours_with_targets() -> None:
        with store.session() as session:
            evaluate(session, now)

    with store.session() as session:
        check = kpis.compute(session, now)
    baseline_counts = naive(store)
    eligible = check.get(TargetMetric.FIBER_ELIGIBLE, "district")
    assert baseline_counts["district"] == (eligible.numerator, eligible.denominator)
    fast = best_of(5, ours)
    with_targets = best_of(3, ours_with_targets)
    slow = best_of(2, lambda: naive(store))
    print(f"[{label}] every KPI, every scope ({len(check.ratios)} values): {fast:.3f} s "
          f"(target <= {KPI_TARGET_S:.0f} s: {'met' if fast <= KPI_TARGET_S else 'NOT met'})")
    print(f"[{label}]   with every target's history and forecast: {with_targets:.3f} s")
    print(f"[{label}] baseline, ORM objects counted in Python: {slow:.3f} s "
          f"-> ours is {slow / fast:.1f}x faster")
    store.close()


def page_bench(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = config_module.from_dict({"data_dir": tmp})
        store = Store.from_config(config)
        store.upgrade()
        box = open_box(config, store, create=True)
        with store.session() as session:
            import_rows(session, demo.raw_rows(), box)
            set_meta(session, demo.DEMO_MARK, "demo")
            staff.add(session, "bench-manager", staff.Role.MANAGER, "bench manager password")
            token = staff.issue_token(session, "bench-manager", "bench")
        app = create_app(store, config, box=box)
        with serving(app) as base:
            url = f"{base}/dashboard/"
            timings = []
            for i in range(requests + 5):
                started = time.perf_counter()
                request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1
                    url, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http://127.0.0.1
                    assert response.status == 200
                    response.read()
                if i >= 5:  # the first few warm caches (templates, statements)
                    timings.append((time.perf_counter() - started) * 1000)
        store.close()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"dashboard overview, demo district, {requests} requests: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms "
          f"(target p95 <= {PAGE_TARGET_MS:.0f} ms: "
          f"{'met' if p95 <= PAGE_TARGET_MS else 'NOT met'}; "
          f"p95/target {p95 / PAGE_TARGET_MS:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kpi_bench(f"sqlite:///{tmp}/kpi.sqlite3", args.buildings, "SQLite")
    if args.postgres:
        name = f"citynet_bench_{random.randrange(10**9)}"  # noqa: S311
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            kpi_bench(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", args.buildings,
                      "PostgreSQL")
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    page_bench(args.requests)


if __name__ == "__main__":
    main()
