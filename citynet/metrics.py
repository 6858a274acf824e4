"""Prometheus metrics: the one adapter for prometheus_client.

Every role exposes what this process counts (the web app at ``/metrics``, the RADIUS
role on its rlm_rest API's ``/metrics``). When ``PROMETHEUS_MULTIPROC_DIR`` is set (the
systemd units set it), prometheus_client keeps the values in files there and any one
process's ``/metrics`` shows the sum over every citynet process of the node: the listener
processes sharing a port and the web workers are then one scrape target, not N.

Who may scrape: the networks in ``metrics.allow`` (loopback by default), checked
against the connection's own address — never open to the internet by default.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _unset_if_empty() -> None:
    """An empty ``PROMETHEUS_MULTIPROC_DIR=`` names no directory, but prometheus_client
    takes any value as set and writes its files into the working directory: empty is
    unset. Runs before prometheus_client is imported (it decides then, once)."""
    for name in (MULTIPROCESS_DIR, MULTIPROCESS_DIR.lower()):  # and its old spelling
        if name in os.environ and not os.environ[name].strip():
            del os.environ[name]


_unset_if_empty()

from flask import Flask, Response, abort, request  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402
from prometheus_client.samples import Sample  # noqa: E402

CONTENT_TYPE = CONTENT_TYPE_LATEST

# --- the kernel's own --------------------------------------------------------------
LEADER = Gauge("citynet_leader", "1 while this process holds the cluster's leader lock "
               "(singleton work: collectors, alerts, enforcement, purges), else 0",
               multiprocess_mode="livemax")
DB_CONNECTS = Counter("citynet_db_connects", "database connections opened (a reconnect "
                      "after a failover is one more)")
DB_LOST = Counter("citynet_db_connections_lost", "pooled database connections found dead "
                  "and thrown away (failover, restart, network)")
HTTP_REQUESTS = Counter("citynet_http_requests", "web requests answered, by part of the "
                        "app and status class", ["part", "status"])


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter a domain keeps (``citynet_`` prefix; ``_total`` is added on export)."""
    return Counter(name, documentation, labels)


def histogram(name: str, documentation: str, buckets: Iterable[float],
              labels: Sequence[str] = ()) -> Histogram:
    return Histogram(name, documentation, labels, buckets=tuple(buckets))


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
    """A gauge; across processes the node shows the largest value of the live ones."""
    return Gauge(name, documentation, labels, multiprocess_mode="livemax")


def exposition() -> bytes:
    """The text format of every metric: this process's, or the node's (multiprocess) —
    with this process's own beside them when it counts in memory (:func:`share_with_children`)."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        _forget_the_dead(Path(directory))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        if not _counting_in_memory():
            return generate_latest(registry)
        merged = CollectorRegistry(auto_describe=False)
        merged.register(_Merged([REGISTRY, registry]))
        return generate_latest(merged)
    return generate_latest(REGISTRY)


def share_with_children(data_dir: Path) -> Callable[[], None] | None:
    """For a ``citynet serve`` started without ``PROMETHEUS_MULTIPROC_DIR``, before it
    starts its child processes (the collectors, RADIUS listeners, gunicorn's workers): a
    private directory they count into (they inherit the variable) and that
    :func:`exposition` reads beside this process's own numbers — else the collectors'
    leader state and the other listeners' counts never reach its ``/metrics``. It is
    ``data_dir/metrics/serve-PID``; those of serves that died without removing theirs
    (``kill -9``) are removed here. Returns what removes the directory again (None: the
    variable was set, nothing to do)."""
    if os.environ.get(MULTIPROCESS_DIR) is not None:
        return None
    owner = os.getpid()
    parent = data_dir / "metrics"
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob("serve-*"):
        pid = stale.name.removeprefix("serve-")
        if pid.isdigit() and (int(pid) == owner or not _alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)
    directory = parent / f"serve-{owner}"
    directory.mkdir()
    os.environ[MULTIPROCESS_DIR] = str(directory)

    def remove() -> None:
        if os.getpid() != owner:  # a forked gunicorn worker leaving: the node goes on
            return
        if os.environ.get(MULTIPROCESS_DIR) == str(directory):
            del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(directory, ignore_errors=True)

    return remove


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def _counting_in_memory() -> bool:
    """Whether this process's metrics live in its memory: prometheus_client chose so when
    it was imported without ``PROMETHEUS_MULTIPROC_DIR`` (the variable set later, for
    the children, does not move them to files)."""
    return values.ValueClass is values.MutexValue


class _Merged(Collector):
    """The families of several registries as one: a sample both have is summed (a
    gauge's: the largest, as ``livemax``; a ``_created`` time: the earliest)."""

    def __init__(self, registries: Sequence[CollectorRegistry]) -> None:
        self.registries = registries

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        samples: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], Sample]] = {}
        for registry in self.registries:
            for family in registry.collect():
                kept = families.setdefault(family.name, Metric(
                    family.name, family.documentation, family.type, family.unit))
                seen = samples.setdefault(family.name, {})
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    before = seen.get(key)
                    seen[key] = sample if before is None else sample._replace(
                        value=_combined(kept.type, sample.name, before.value, sample.value))
        for name, family in families.items():
            family.samples = list(samples[name].values())
            yield family


def _combined(kind: str, sample: str, one: float, other: float) -> float:
    if sample.endswith("_created"):
        return min(one, other)
    if kind == "gauge":
        return max(one, other)
    return one + other


def _forget_the_dead(directory: Path) -> None:
    """Drop the live-only gauges of processes that are gone (a killed leader is no
    leader); prometheus_client leaves that to whoever knows a process died. A scrape's
    check, for processes no parent here watched (another unit's); a PID used again
    since hides its death from it: :func:`process_died` is told at once."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def process_died(pid: int) -> None:
    """A child process ``pid`` has died (its parent saw it exit): its live-only gauges go
    now, before its PID can be some other process's. Its counters and histograms stay in
    the node's sums."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def may_scrape(address: str | None, allow: Sequence[str]) -> bool:
    """Whether a connection from ``address`` may read the metrics."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in allow)


def setup(app: Flask, allow: Sequence[str]) -> None:
    """``/metrics`` on the web app, for the addresses in ``allow`` (others: 404, as if
    there were none), and every answered request counted by blueprint and status class."""

    @app.get("/metrics")
    def metrics_page() -> Response:
        if not may_scrape(request.remote_addr, allow):
            abort(404)
        return Response(exposition(), content_type=CONTENT_TYPE)

    @app.after_request
    def count(response: Response) -> Response:
        HTTP_REQUESTS.labels(request.blueprint or "app",
                             f"{response.status_code // 100}xx").inc()
        return response
