"""``citynet radius …``."""

from __future__ import annotations

import json
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


@click.group()
def vouchers() -> None:
    """Printed one-time vouchers: one short code is both user name and password."""


@vouchers.command("create")
@click.option("--count", type=click.IntRange(1, 10000), required=True, help="How many codes.")
@click.option("--minutes", type=click.IntRange(1, 60 * 24 * 366), required=True,
              help="Online time, counted from the first login.")
@click.option("--devices", type=click.IntRange(1, 20), default=1, show_default=True,
              help="How many devices may use one code.")
@click.option("--batch", default="", help="Batch name, to find and print them together.")
@click.option("--valid-days", type=click.IntRange(1, 3660), default=90, show_default=True,
              help="After this many days an unused code expires.")
@click.option("--json", "as_json", is_flag=True, help="Print the codes as JSON.")
@pass_runtime
def vouchers_create(runtime: Runtime, count: int, minutes: int, devices: int, batch: str,
                    valid_days: int, as_json: bool) -> None:
    """Create a batch of vouchers and print their codes.

    \b
    Examples:
      citynet vouchers create --count 100 --minutes 120 --batch 2026-12-library
      citynet vouchers create --count 5 --minutes 60 --devices 2 --json
    """
    from radius import vouchers as voucher_store

    with runtime.store.session() as session:
        created = voucher_store.create(session, count, minutes, devices, batch, valid_days)
        rows = [{"code": voucher_store.display(v.code), "minutes": v.minutes,
                 "devices": v.devices, "batch": v.batch,
                 "valid_until": v.valid_until.isoformat(timespec="seconds")}
                for v in created]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            click.echo(row["code"])
        click.echo(f"{count} vouchers, {minutes} min, {devices} device(s), "
                   f"batch {batch or '-'}, unused ones expire {rows[0]['valid_until']}", err=True)
