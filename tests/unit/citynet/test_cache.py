"""Reloading: a value re-read from the store at most every ttl seconds."""

from __future__ import annotations

import logging

import pytest

from citynet.cache import Reloading


def test_rereads_after_the_ttl_or_when_invalidated() -> None:
    now, reads = [0.0], []

    def load() -> int:
        reads.append(now[0])
        return len(reads)

    value = Reloading(load, "numbers", ttl=10, clock=lambda: now[0])
    assert value.get() == 1
    now[0] = 9.9
    assert value.get() == 1
    now[0] = 10.0
    assert value.get() == 2
    value.invalidate()
    assert value.get() == 3 and reads == [0.0, 10.0, 10.0]


def test_a_failed_reread_keeps_the_value_held_and_a_first_one_raises() -> None:
    now, answers = [0.0], [RuntimeError("store down"), 7, RuntimeError("down again")]

    def load() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    value = Reloading(load, "numbers", ttl=1, clock=lambda: now[0])
    with pytest.raises(RuntimeError, match="store down"):
        value.get()
    assert value.get() == 7  # nothing was held: the next use tries again at once
    now[0] = 5.0
    assert value.get() == 7


def test_a_fallback_stands_in_until_the_first_read_succeeds() -> None:
    def load() -> dict[str, int]:
        raise RuntimeError("store down")

    assert Reloading(load, "profiles", fallback={}).get() == {}


def test_a_store_outage_is_one_line_a_minute_with_the_others(
        caplog: pytest.LogCaptureFixture) -> None:
    """Re-read every ttl during an outage: the failure joins the process's one line per
    cause a minute (citynet.logs), not a line per re-read (docs/operations.md)."""
    now = [0.0]

    def load() -> int:
        if now[0]:
            raise ConnectionError("store down: the cache's own outage")
        return 7

    value = Reloading(load, "numbers", ttl=30, clock=lambda: now[0])
    value.get()
    with caplog.at_level(logging.ERROR, logger="citynet.cache"):
        for minute in range(1, 5):  # four re-reads, 30 s apart, inside the log's minute
            now[0] = 30.0 * minute
            assert value.get() == 7
    lines = [r.getMessage() for r in caplog.records if "the cache's own" in r.getMessage()]
    assert len(lines) == 1 and "numbers not re-read" in lines[0]
