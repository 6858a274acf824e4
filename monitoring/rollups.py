"""The embedded sink: every point folded into an hourly mean per series in the citynet
database, so the dashboard needs no other server. Kept small on purpose (one row per
series and hour); InfluxDB keeps the raw points when it is configured."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from citynet.db import DriverStatement, Store, table
from citynet.telemetry import Point
from monitoring.models import TelemetryRollup

# Per-port series (hundreds of devices x dozens of ports) are InfluxDB's job; the dashboard
# needs the per-device summary (device_poll: interfaces, interfaces_up), which is kept.
PER_PORT = frozenset({"interface"})


_ROLLUPS = table(TelemetryRollup)
_READ = (select(_ROLLUPS.c.id, _ROLLUPS.c.measurement, _ROLLUPS.c.series, _ROLLUPS.c.hour,
                _ROLLUPS.c.samples, _ROLLUPS.c.fields)
         .where(_ROLLUPS.c.hour.in_(bindparam("hours", expanding=True))))
_INSERT = DriverStatement(insert(_ROLLUPS), ["measurement", "series", "hour", "samples",
                                             "fields"])
_UPDATE = DriverStatement(update(_ROLLUPS).where(_ROLLUPS.c.id == bindparam("row_id")).values(
    samples=bindparam("new_samples"), fields=bindparam("new_fields")))


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
        hours = {hour_of(p.time) for p in points}
        with self._store.session() as session:
            # [row id or None, samples, fields] per (measurement, series, hour)
            rows: dict[tuple[str, str, datetime], list[Any]] = {
                (measurement, series, hour): [row_id, samples, fields]
                for row_id, measurement, series, hour, samples, fields in session.execute(
                    _READ, {"hours": list(hours)})}
            touched = set()  # the hours' other series are read, not written back
            for point in points:
                key = (point.measurement, point.series, hour_of(point.time))
                row = rows.setdefault(key, [None, 0, {}])
                row[2] = merge(row[2], row[1], point)
                row[1] += 1
                touched.add(key)
            # The writes come last and set-wise: on SQLite the first write takes the
            # database's one write lock, which every RADIUS round waits for, until the
            # commit — an ORM flush of one row at a time held it for 20-80 ms a minute.
            _INSERT.many(session, [
                {"measurement": key[0], "series": key[1], "hour": key[2], "samples": samples,
                 "fields": fields} for key, (row_id, samples, fields) in rows.items()
                if row_id is None])
            _UPDATE.many(session, [
                {"row_id": row_id, "new_samples": samples, "new_fields": fields}
                for key, (row_id, samples, fields) in rows.items()
                if row_id is not None and key in touched])

    def prune(self, now: datetime) -> int:
        """Drop rollups older than the retention; returns how many went."""
        with self._store.session() as session:
            result = session.execute(delete(TelemetryRollup)
                                     .where(TelemetryRollup.hour < now - self._keep))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Nothing buffered: every write is committed."""
