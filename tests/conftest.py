"""Shared fixtures: configs in temporary data dirs, and stores on SQLite and PostgreSQL.

PostgreSQL is the machine's own server on 127.0.0.1:5432; each test that needs it gets
a throwaway database, dropped afterwards. If the server is down the test fails (it is
never skipped): `make test` starts it when it is not running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from citynet import config as config_module
from citynet import logs
from citynet.config import Config
from citynet.db import Store
from citynet.leader import Leadership

PG_ADMIN = os.environ.get("CITYNET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def english_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI speaks the environment's language (citynet.catalogs): the tests read its
    default, English, whatever the locale of the machine running them."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def store_failures_of_this_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own store-failure log throttle: counts another test held back are not
    told in this one's log (citynet.logs.store_works, on any commit a minute later)."""
    monkeypatch.setattr(logs, "STORE_FAILURES", logs.Throttle())


def make_config(tmp_path: Path, **sections: Any) -> Config:
    data: dict[str, Any] = {"data_dir": str(tmp_path / "var"), **sections}
    return config_module.from_dict(data)


def _admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}); `make deps` starts it")


@contextmanager
def pg_databases() -> Iterator[Callable[[], str]]:
    """Makes new, empty PostgreSQL databases (URLs); all are dropped on leaving."""
    names: list[str] = []

    def create() -> str:
        name = f"citynet_test_{uuid.uuid4().hex[:12]}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield create
    finally:
        with _admin() as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_pg_database() -> Iterator[Callable[[], str]]:
    """Makes new, empty PostgreSQL databases (URLs); all are dropped after the test."""
    with pg_databases() as create:
        yield create


@pytest.fixture
def pg_database(new_pg_database: Callable[[], str]) -> str:
    """URL of a new, empty PostgreSQL database; dropped after the test."""
    return new_pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    """A config whose store is SQLite in tmp_path, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        return make_config(tmp_path)
    url = request.getfixturevalue("pg_database")
    return make_config(tmp_path, database={"url": url})


def upgraded(config: Config) -> Iterator[Store]:
    store = Store.from_config(config)
    store.upgrade()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(backend_config: Config) -> Iterator[Store]:
    """An upgraded, empty store on each backend."""
    yield from upgraded(backend_config)


@pytest.fixture
def leader(store: Store) -> Iterator[Leadership]:
    """The store's elected leader for singleton work (SQLite: every process leads)."""
    leadership = Leadership(store, holder="node-a")
    assert leadership.lead_once().leader
    yield leadership
    leadership.stop()


@pytest.fixture
def second_store_url(backend_config: Config, tmp_path: Path,
                     request: pytest.FixtureRequest) -> str:
    """Where a second, empty store on the same backend as ``store`` lives ("" = SQLite)."""
    if not backend_config.database.url:
        return ""
    maker: Callable[[], str] = request.getfixturevalue("new_pg_database")
    return maker()


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def sqlite_store(sqlite_config: Config) -> Iterator[Store]:
    yield from upgraded(sqlite_config)
