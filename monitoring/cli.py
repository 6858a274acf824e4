"""``citynet collect``, ``citynet targets``, ``citynet survey``, ``citynet alerts``: the
monitoring side of the CLI."""

from __future__ import annotations

import click

from citynet.runtime import Runtime

pass_runtime = click.make_pass_decorator(Runtime)


@click.group()
def survey() -> None:
    """WiFi site surveys: import a survey walk's capture, list results."""


@click.group()
def alerts() -> None:
    """Alert rules and their notifications (webhook, e-mail)."""
