"""A running RADIUS listener on free loopback ports, over a real store, for radclient."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from citynet.config import Config, RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius.service import RadiusService
from tests.conftest import make_config

SECRET = "radclient-secret"


@dataclass
class Listener:
    service: RadiusService
    store: Store

    @property
    def auth(self) -> str:
        return f"127.0.0.1:{self.service.ports[0]}"

    @property
    def acct(self) -> str:
        return f"127.0.0.1:{self.service.ports[1]}"

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.service.server.counters)


def add_nas(config: Config, store: Store, address: str = "127.0.0.1",
            policy: str = "default", vendor: str = "coovachilli",
            name: str = "test-gw") -> None:
    box = open_box(config, store, create=True)
    with store.session() as session:
        outcome = import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": name, "address": address, "secret": SECRET,
            "vendor": vendor, "policy": policy})], box)
        assert outcome.ok, outcome.problems


@pytest.fixture
def listener(backend_config: Config, store: Store) -> Iterator[Listener]:
    add_nas(backend_config, store)
    service = RadiusService(store, open_box(backend_config, store),
                            RadiusConfig(bind="127.0.0.1", auth_port=0, acct_port=0))
    service.start()
    try:
        yield Listener(service, store)
    finally:
        service.stop()


def radclient(server: str, command: str, text: str, *args: str,
              secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    """Debian's radclient (freeradius-utils); -x prints every packet."""
    return subprocess.run(["radclient", "-x", "-r", "2", "-t", "2", *args, server, command,
                           secret], input=text, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL text of each statement psycopg is given (sent as one, or as a batch)."""
    sent: list[str] = []

    def spy(method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(str(query))
            return method(cursor, query, *args, **kwargs)
        return recorded

    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "executemany"):
            patch.setattr(psycopg.Cursor, name, spy(getattr(psycopg.Cursor, name)))
        yield sent


@pytest.fixture
def stores(pg_database: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores (engines) on one new PostgreSQL database, as two listener processes."""
    config = make_config(tmp_path, database={"url": pg_database})
    first, second = Store.from_config(config), Store.from_config(config)
    first.upgrade()
    try:
        yield first, second
    finally:
        first.close()
        second.close()
