"""Logging set-up, called once by entry points (never at import time)."""

import logging
import sys


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    # alembic narrates every migration context at INFO; its warnings still show
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
