"""Runs the web app in the foreground with waitress (threaded: rlm_rest's keep-alive
connection pool deadlocks blocking one-request-per-worker servers)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click
from flask import Flask
from waitress.server import create_server

from citynet.config import WebConfig

log = logging.getLogger(__name__)


def serve_forever(app: Flask, web: WebConfig, banner: list[str]) -> None:
    """Serve until Ctrl-C or SIGTERM; then close the listening socket and return."""
    server = create_server(app, host=web.bind, port=web.port, threads=web.threads,
                           ident="citynet")
    click.echo(f"citynet web app on http://{web.bind}:{web.port}/ (Ctrl-C stops)")
    for line in banner:
        click.echo(line)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        raise KeyboardInterrupt  # waitress's loop ends its workers cleanly on this

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
        click.echo("citynet stopped")
