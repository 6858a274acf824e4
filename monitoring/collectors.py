"""Collectors: small plug-ins that each produce telemetry points on their own interval.

A collector (``citynet.telemetry.Collector``) is any object with a ``name``, a default
``interval`` (seconds) and ``collect(context) -> list[Point]``. One failing never stops the
others: its run is reported as failed (with the reason) and the next collector runs.
Points go to every sink (the embedded rollups always; InfluxDB when configured).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from citynet.config import Config
from citynet.db import Store
from citynet.leader import Fenced
from citynet.telemetry import Collector, Context, Point
from monitoring.settings import MonitoringConfig

log = logging.getLogger(__name__)


class Sink(Protocol):
    name: str

    def write(self, points: Sequence[Point]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Run:
    """One collector's run: how many points it made, or why it failed."""

    collector: str
    points: int
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def run_collectors(collectors: Sequence[Collector], context: Context,
                   sinks: Sequence[Sink]) -> list[Run]:
    """Run each collector once and hand its points to every sink; a sink failing is
    logged and does not stop the other sinks (the InfluxDB sink spools by itself).
    :class:`~citynet.leader.Fenced` (this process no longer leads) ends the whole run."""
    runs = []
    for collector in collectors:
        started = time.perf_counter()
        try:
            points = collector.collect(context)
        except Fenced:
            raise
        except Exception as exc:  # one collector never stops the others
            log.warning("collector %s failed: %s", collector.name, exc, exc_info=True)
            runs.append(Run(collector.name, 0, time.perf_counter() - started,
                            f"{type(exc).__name__}: {exc}"))
            continue
        for sink in sinks:
            try:
                sink.write(points)
            except Fenced:
                raise
            except Exception as exc:  # a sink failing never stops collection
                log.warning("sink %s refused %d points from %s: %s", sink.name, len(points),
                            collector.name, exc)
        runs.append(Run(collector.name, len(points), time.perf_counter() - started))
    return runs


class Scheduler:
    """Runs each collector on its own interval; ``tick`` runs those that are due."""

    def __init__(self, collectors: Sequence[Collector], store: Store, config: Config,
                 sinks: Sequence[Sink], clock: Callable[[], float] = time.monotonic) -> None:
        self._collectors = list(collectors)
        self._store, self._config, self._sinks = store, config, list(sinks)
        self._clock = clock
        self._due = {c.name: 0.0 for c in self._collectors}

    def interval(self, collector: Collector) -> float:
        intervals = self._config.section(MonitoringConfig).intervals
        return float(intervals.get(collector.name, collector.interval))

    def due(self) -> list[str]:
        """The names of the collectors due now."""
        now = self._clock()
        return [c.name for c in self._collectors if self._due[c.name] <= now]

    def tick(self) -> list[Run]:
        """Run the collectors that are due; returns their runs."""
        now = self._clock()
        due = [c for c in self._collectors if self._due[c.name] <= now]
        runs = run_collectors(due, Context(self._store, self._config, datetime.now(UTC)),
                              self._sinks)
        for collector in due:
            self._due[collector.name] = self._clock() + self.interval(collector)
        return runs
