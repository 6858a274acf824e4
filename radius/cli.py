"""``citynet radius …``."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from citynet.errors import CitynetError
from citynet.runtime import Runtime

pass_runtime = click.make_pass_decorator(Runtime)


@click.group()
def radius() -> None:
    """The RADIUS authenticator and accounting listener."""


@radius.command("serve")
@pass_runtime
def radius_serve(runtime: Runtime) -> None:
    """Run only the RADIUS listener, in the foreground (Ctrl-C stops it).

    `citynet serve` runs it beside the web app; use this for a RADIUS-only host.

    \b
    Try it (Message-Authenticator is required, as Blast-RADIUS demands):
      echo 'Message-Authenticator = 0x00' | radclient -x 127.0.0.1:1812 status SECRET
    """
    from radius.service import RadiusService

    box = runtime.box()
    service = RadiusService(runtime.store, box, runtime.config.radius)
    try:
        service.start()
    except OSError as exc:
        raise CitynetError(str(exc)) from None
    click.echo(service.describe() + " (Ctrl-C stops)")
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while not done.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        service.stop()
        counters = ", ".join(f"{k} {v}" for k, v in sorted(service.server.counters.items()))
        click.echo(f"RADIUS stopped ({counters or 'no traffic'})")
