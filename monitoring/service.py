"""Which collectors and sinks run (``citynet collect``, and ``citynet serve``'s collector
process).

Collectors of other domains (the devices package's ``device_state``) come in as ``extra``
from the kernel, which gathers them from the domains' manifests (``citynet/cli.py``);
monitoring never imports them."""

from __future__ import annotations

from collections.abc import Sequence

from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.db import Store
from citynet.telemetry import Collector, Context, Point
from monitoring.builtin import CoverageCollector, HotspotUseCollector
from monitoring.collectors import Sink
from monitoring.rollups import RollupSink
from monitoring.settings import MonitoringConfig


class AlertsCollector:
    """Evaluates the alert rules after the others have run and notifies; its points say
    how many alerts are firing (for Grafana)."""

    name = "alerts"
    interval = 60.0

    def collect(self, context: Context) -> list[Point]:
        from monitoring.alert_rules import default_rules
        from monitoring.alerts import check, firing
        from monitoring.notify import deliver

        result = check(context.store, context.config, context.now, default_rules(), deliver)
        states = firing(context.store)
        return [Point("alerts", {}, {"firing": len(states), "notices": len(result.notices),
                                     "undelivered": len(result.undelivered)}, context.now)]


class RetentionCollector:
    """Drops hourly rollups past their retention (400 days): a purge, so it runs on the
    leader only, like every collector; its point says how many rows went."""

    name = "retention"
    interval = 3600.0

    def collect(self, context: Context) -> list[Point]:
        pruned = RollupSink(context.store).prune(context.now)
        return [Point("retention", {"table": "telemetry_rollup"}, {"pruned": pruned},
                      context.now)]


def collectors(extra: Sequence[Collector] = ()) -> list[Collector]:
    """Every collector, cheapest first, then ``extra``; alerts last, to see what the others
    found; the retention purge after them."""
    from monitoring.reachability import ReachabilityCollector

    return [CoverageCollector(), HotspotUseCollector(), ReachabilityCollector(), *extra,
            AlertsCollector(), RetentionCollector()]


def sinks(store: Store, config: Config) -> list[Sink]:
    """The embedded rollups always; InfluxDB too when ``monitoring.influx_url`` is set."""
    from monitoring.influx import from_config

    found: list[Sink] = [RollupSink(store)]
    influx = from_config(config)
    if influx is not None:
        found.append(influx)
    return found


def pick(names: Sequence[str], extra: Sequence[Collector] = ()) -> list[Collector]:
    """The named collectors (all when none are named); an unknown name is an error."""
    every = collectors(extra)
    if not names:
        return every
    known = {c.name: c for c in every}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown collector {unknown[0]!r}: choose from {', '.join(known)}")
    return [known[n] for n in names]


def describe(config: Config, extra: Sequence[Collector] = ()) -> str:
    """What ``citynet serve``'s collector process runs, for its start-up banner."""
    names = ", ".join(c.name for c in collectors(extra))
    influx = config.section(MonitoringConfig).influx_url
    if not influx:
        return _("collectors running: %(names)s (InfluxDB: off)", names=names)
    return _("collectors running: %(names)s (InfluxDB: %(url)s)", names=names, url=influx)
