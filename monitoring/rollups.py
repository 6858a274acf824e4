"""The embedded sink: every point folded into an hourly mean per series in the citynet
database, so the dashboard needs no other server. Kept small on purpose (one row per
series and hour); InfluxDB keeps the raw points when it is configured."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from citynet.db import Store
from citynet.telemetry import Point
from monitoring.models import TelemetryRollup

# Per-port series (hundreds of devices x dozens of ports) are InfluxDB's job; the dashboard
# needs the per-device summary (device_poll: interfaces, interfaces_up), which is kept.
PER_PORT = frozenset({"interface"})


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def merge(fields: dict[str, float], samples: int, point: Point) -> dict[str, float]:
    """Running means: the numeric fields of ``point`` folded into ``samples`` earlier ones.
    A field the earlier samples lacked starts its mean at this point."""
    merged = dict(fields)
    for name, value in point.fields.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        old = merged.get(name)
        merged[name] = float(value) if old is None else old + (value - old) / (samples + 1)
    return merged


class RollupSink:
    name = "rollups"

    def __init__(self, store: Store, keep: timedelta = timedelta(days=400),
                 skip: frozenset[str] = PER_PORT) -> None:
        self._store, self._keep, self._skip = store, keep, skip

    def write(self, points: Sequence[Point]) -> None:
        points = [p for p in points if p.measurement not in self._skip]
        if not points:
            return
        with self._store.session() as session:
            rows: dict[tuple[str, str, datetime], TelemetryRollup] = {}
            hours = {hour_of(p.time) for p in points}
            for row in session.scalars(select(TelemetryRollup)
                                       .where(TelemetryRollup.hour.in_(hours))):
                rows[(row.measurement, row.series, row.hour)] = row
            for point in points:
                key = (point.measurement, point.series, hour_of(point.time))
                found = rows.get(key)
                if found is None:
                    row = rows[key] = TelemetryRollup(measurement=point.measurement,
                                                      series=point.series, hour=key[2],
                                                      samples=0, fields={})
                    session.add(row)
                else:
                    row = found
                row.fields = merge(row.fields, row.samples, point)
                row.samples += 1

    def prune(self, now: datetime) -> int:
        """Drop rollups older than the retention; returns how many went."""
        with self._store.session() as session:
            result = session.execute(delete(TelemetryRollup)
                                     .where(TelemetryRollup.hour < now - self._keep))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Nothing buffered: every write is committed."""
