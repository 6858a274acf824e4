"""A value read from the store and re-read at most every ``ttl`` seconds, shared by
threads: for what every request needs and that changes rarely (profiles, NAS facts)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from citynet.logs import store_failed

log = logging.getLogger(__name__)
T = TypeVar("T")


class Reloading(Generic[T]):
    """If a re-read fails, the value held is kept and the failure logged with the
    process's other store failures, one line per cause a minute: the store may be back
    by the next one. With nothing held yet, ``fallback`` is used if given, else
    the failure propagates."""

    def __init__(self, load: Callable[[], T], what: str, ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 fallback: T | None = None) -> None:
        self._load, self.what, self.ttl, self.clock = load, what, ttl, clock
        self._fallback = fallback
        self._value: T | None = None
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            now = self.clock()
            if self._loaded_at is None or now - self._loaded_at >= self.ttl:
                try:
                    self._value = self._load()
                except Exception as exc:
                    if self._value is None and self._fallback is None:
                        raise
                    store_failed(log, f"{self.what} not re-read", exc)
                    if self._value is None:
                        self._value = self._fallback
                self._loaded_at = now
            assert self._value is not None  # noqa: S101 - loaded or fallen back above
            return self._value

    def invalidate(self) -> None:
        """Re-read on the next use (the data just changed)."""
        with self._lock:
            self._loaded_at = None
