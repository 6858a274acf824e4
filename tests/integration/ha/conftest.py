"""What the HA fault tests share: their stores, closed however the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from citynet.config import Config
from citynet.db import Store


@pytest.fixture
def open_store() -> Iterator[Callable[[Config], Store]]:
    """Opens the test's stores (``open_store(config)``); each is closed after the test,
    passed or failed. A store a failed test leaves open keeps pooled psycopg connections
    until the garbage collector finds them, in whatever test runs then: a ResourceWarning
    there, which fails that unrelated test (``filterwarnings = error``)."""
    opened: list[Store] = []

    def open_(config: Config) -> Store:
        store = Store.from_config(config)
        opened.append(store)
        return store

    try:
        yield open_
    finally:
        for store in opened:
            store.close()
