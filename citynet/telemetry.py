"""Telemetry points, their InfluxDB line-protocol form, and what a collector is.

A collector produces :class:`Point`s; sinks (the embedded rollups, InfluxDB) take them.
They live in the kernel because collectors come from more than one domain (monitoring's
own, and the devices package's device-state collector) and domains do not import each
other. Pure: no I/O here. Line protocol is written by hand because it is small, exact and
much faster than building client objects point by point (see ``bench/telemetry.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from citynet.config import Config
    from citynet.db import Store

FieldValue = float | int | bool | str


@dataclass(frozen=True, slots=True)
class Point:
    """One measurement of one series at one moment: ``hotspot_use,hotspot=X online=12``."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.measurement:
            raise ValueError("a point needs a measurement name")
        if not self.fields:
            raise ValueError(f"point {self.measurement!r} has no fields")
        if self.time.tzinfo is None:
            raise ValueError(f"point {self.measurement!r} has a naive time")

    @property
    def series(self) -> str:
        """The tag set in canonical form (sorted, ``k=v`` joined by commas)."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.tags.items()))


def _escape_key(text: str) -> str:
    # line protocol cannot carry a newline in a key or tag at all: it becomes a space
    text = text.replace("\n", " ").replace("\\", "\\\\")
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_measurement(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _field(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("InfluxDB cannot store NaN or infinity")
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def nanoseconds(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def line(point: Point) -> str:
    """The point in InfluxDB line protocol, nanosecond precision. Empty tag values are
    left out (line protocol has no empty tags)."""
    head = _escape_measurement(point.measurement)
    tags = "".join(f",{_escape_key(k)}={_escape_key(v)}"
                   for k, v in sorted(point.tags.items()) if v != "")
    fields = ",".join(f"{_escape_key(k)}={_field(v)}" for k, v in point.fields.items())
    return f"{head}{tags} {fields} {nanoseconds(point.time)}"


def lines(points: Iterable[Point]) -> list[str]:
    return [line(point) for point in points]


# the click context's meta key under which the CLI root hands ``citynet collect`` the
# collectors the domains register
EXTRA_COLLECTORS = "citynet.extra_collectors"


@dataclass(frozen=True)
class Context:
    """What a collector may use: the store, the config, and the moment of this run."""

    store: Store
    config: Config
    now: datetime


class Collector(Protocol):
    name: str
    interval: float  # seconds between runs, unless monitoring.intervals names another

    def collect(self, context: Context) -> list[Point]: ...
