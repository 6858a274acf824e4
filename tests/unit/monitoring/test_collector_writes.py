"""The collectors' set-wise writes (rollups, KPI samples): what the rows hold after
repeated writes, on each backend. (Why set-wise: docs/monitoring.md, the write lock.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from citynet.db import Store
from citynet.telemetry import Point
from inventory.choices import TargetMetric
from monitoring import kpis
from monitoring import rollups as rollup_sink
from monitoring.coverage import Kpis, Ratio
from monitoring.models import KpiSample, TelemetryRollup
from monitoring.rollups import RollupSink

AT = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def rollups(store: Store) -> dict[tuple[str, str, datetime], tuple[int, dict[str, float]]]:
    with store.session() as session:
        return {(row.measurement, row.series, row.hour): (row.samples, row.fields)
                for row in session.scalars(select(TelemetryRollup))}


def test_rollups_fold_into_the_hours_rows_across_writes(store: Store) -> None:
    sink = RollupSink(store)
    sink.write([Point("use", {"hotspot": "a"}, {"online": 10}, AT),
                Point("use", {"hotspot": "b"}, {"online": 4}, AT),
                Point("interface", {"port": "1"}, {"up": 1}, AT)])  # per port: skipped
    sink.write([Point("use", {"hotspot": "a"}, {"online": 20, "octets": 6.0},
                      AT + timedelta(minutes=1)),
                Point("use", {"hotspot": "c"}, {"online": 1}, AT + timedelta(minutes=1)),
                Point("use", {"hotspot": "a"}, {"online": 7}, AT + timedelta(hours=1))])
    hour = AT.replace(minute=0)
    assert rollups(store) == {
        ("use", "hotspot=a", hour): (2, {"online": 15.0, "octets": 6.0}),
        ("use", "hotspot=b", hour): (1, {"online": 4.0}),
        ("use", "hotspot=c", hour): (1, {"online": 1.0}),
        ("use", "hotspot=a", hour + timedelta(hours=1)): (1, {"online": 7.0}),
    }


def samples(store: Store) -> dict[tuple[str, str, date], tuple[float | None, float, float]]:
    with store.session() as session:
        return {(row.metric, row.scope, row.day): (row.value, row.numerator, row.denominator)
                for row in session.scalars(select(KpiSample))}


def test_the_last_kpi_computation_of_a_day_wins(store: Store) -> None:
    metric = TargetMetric.FIBER_ELIGIBLE
    first = Kpis({(metric, "district"): Ratio(9, 10), (metric, "street:笋岗"): Ratio(0, 0)})
    later = Kpis({(metric, "district"): Ratio(19, 20), (metric, "community:湖景"): Ratio(1, 2)})
    day = AT.date()
    with store.session() as session:
        assert kpis.record(session, first, day, AT) == 2
    with store.session() as session:
        kpis.record(session, later, day, AT + timedelta(hours=1))
        kpis.record(session, first, day + timedelta(days=1), AT + timedelta(days=1))
    percent = pytest.approx(95.0)
    assert samples(store) == {
        (metric.value, "district", day): (percent, 19, 20),
        (metric.value, "street:笋岗", day): (None, 0, 0),
        (metric.value, "community:湖景", day): (pytest.approx(50.0), 1, 2),
        (metric.value, "district", day + timedelta(days=1)): (pytest.approx(90.0), 9, 10),
        (metric.value, "street:笋岗", day + timedelta(days=1)): (None, 0, 0),
    }


def test_a_rollup_write_updates_only_the_rows_its_points_fold_into(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hours' other series are read with the rows to fold into, not written back:
    each row written is time under SQLite's one write lock."""
    sink = RollupSink(store)
    sink.write([Point("use", {"hotspot": "a"}, {"online": 10}, AT),
                Point("use", {"hotspot": "b"}, {"online": 4}, AT)])
    updated: list[list[dict[str, object]]] = []
    many = rollup_sink._UPDATE.many

    def counted(session: object, rows: list[dict[str, object]]) -> int:
        updated.append(rows)
        return many(session, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(rollup_sink._UPDATE, "many", counted)
    sink.write([Point("use", {"hotspot": "a"}, {"online": 20}, AT + timedelta(minutes=1))])
    assert [len(rows) for rows in updated] == [1]
    assert rollups(store)[("use", "hotspot=b", AT.replace(minute=0))] == (1, {"online": 4.0})
