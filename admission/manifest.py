"""Network admission's manifest: what it gives citynet (citynet/domains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from admission.settings import NacConfig
from citynet.domains import ConfigSection, Domain


def _commands() -> Sequence[click.Command]:
    from admission.cli import admission

    return (admission,)


DOMAIN = Domain(
    name="admission",
    commands=_commands,
    tables=("admission.models",),
    migrations=Path(__file__).with_name("migrations"),
    config_sections=(ConfigSection("nac", NacConfig, 80),),
)
