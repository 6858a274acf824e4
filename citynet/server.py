"""Runs the web app in the foreground with waitress (threaded: a slow client holds one
worker, not the whole app), beside the services (the RADIUS service, monitoring)."""

from __future__ import annotations

import logging
import signal
from typing import Protocol

import click
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from citynet.catalogs import gettext as _
from citynet.config import WebConfig
from citynet.process import settle, stop_on_sigterm

log = logging.getLogger(__name__)


class Service(Protocol):
    """Something that runs beside the web app (the RADIUS service, monitoring)."""

    def describe(self) -> str: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


def serve_forever(app: Flask, web: WebConfig, banner: list[str],
                  services: list[Service] | None = None) -> None:
    """Start the services, serve the web app until Ctrl-C or SIGTERM, stop everything."""
    server = create_server(app, host=web.bind, port=web.port, threads=web.threads,
                           ident="citynet")
    started: list[Service] = []
    try:
        for service in services or []:
            service.start()
            started.append(service)
            click.echo(service.describe())
        click.echo(_("citynet web app on %(url)s (Ctrl-C stops)",
                     url=f"http://{web.bind}:{web.port}/"))
        for line in banner:
            click.echo(line)
        settle()
        _run(server)
    finally:
        for service in reversed(started):
            service.stop()
        click.echo(_("citynet stopped"))


def _run(server: BaseWSGIServer | MultiSocketServer) -> None:
    previous = stop_on_sigterm()  # waitress's loop ends its workers cleanly on Ctrl-C
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
