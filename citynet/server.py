"""Runs the web app in the foreground with waitress (threaded: a slow client holds one
worker, not the whole app), beside the services (the RADIUS service, monitoring)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from flask import Flask
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.config import WebConfig
from citynet.errors import CitynetError
from citynet.logs import Throttle, announce
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
    try:
        server = create_server(app, host=web.bind, port=web.port, threads=web.threads,
                               ident="citynet")
    except OSError as exc:  # the port is another's: one line naming the keys
        raise CitynetError(N_("the web app cannot listen on %(bind)s port %(port)s (web.bind, "
                              "web.port): %(reason)s"), bind=web.bind, port=web.port,
                           reason=exc.strerror or exc) from None
    # waitress calls only its warning()
    server.task_dispatcher.queue_logger = QueueDepth(  # type: ignore[assignment]
        logging.getLogger("waitress.queue"))
    started: list[Service] = []
    try:
        for service in services or []:
            service.start()
            started.append(service)
            announce(service.describe())
        announce(_("citynet web app on %(url)s (Ctrl-C stops)",
                     url=f"http://{web.bind}:{web.port}/"))
        for line in banner:
            announce(line)
        settle()
        _run(server)
    finally:
        for service in reversed(started):
            service.stop()
        announce(_("citynet stopped"))


class QueueDepth:
    """waitress's "Task queue depth is N" warning at most once a minute, with how often
    it came: waitress says it for every request that waits for a free thread — under
    load, nearly every request — and a log record per request (made, formatted,
    written) was a twentieth of the web process's CPU under the portal benchmark."""

    def __init__(self, logger: logging.Logger, throttle: Throttle | None = None) -> None:
        self.logger, self.throttle = logger, throttle or Throttle(every=60)

    def warning(self, message: str, depth: int) -> None:
        count = self.throttle.due("queue depth")
        if count:
            self.logger.warning(message + " (%d× since the last line; one line a minute)",
                                depth, count)


def _run(server: BaseWSGIServer | MultiSocketServer) -> None:
    previous = stop_on_sigterm()  # waitress's loop ends its workers cleanly on Ctrl-C
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def serving(app: Any, threads: int = 4) -> Iterator[str]:
    """The WSGI ``app`` on waitress threads in this process at a free loopback port, its
    base URL given — for tests, benchmarks and the screenshot script.

    Stopped from inside waitress's own loop (a trigger's callback): closing its sockets
    from this thread while the loop sits in select() makes select() fail with EBADF in
    the server's thread."""
    # one address: a TcpWSGIServer, whose loop's map and trigger waitress leaves untyped
    web: Any = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{web.effective_port}"
    finally:
        web.task_dispatcher.shutdown()  # first: a finishing task pulls the trigger
        # closing every channel empties the loop's map, which ends the loop
        web.trigger.pull_trigger(lambda: wasyncore.close_all(web._map))
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError(_("waitress's loop did not end within 10 s"))
