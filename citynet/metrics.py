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
from collections.abc import Iterable, Sequence
from pathlib import Path

from flask import Flask, Response, abort, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

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
    """The text format of every metric: this process's, or the node's (multiprocess)."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        _forget_the_dead(Path(directory))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _forget_the_dead(directory: Path) -> None:
    """Drop the live-only gauges of processes that are gone (a killed leader is no
    leader); prometheus_client leaves that to whoever knows a process died."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            continue  # alive, another user's


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
