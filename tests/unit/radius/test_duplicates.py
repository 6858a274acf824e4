"""The RFC 5080 duplicate cache: replies kept for the window, in-flight requests marked,
nothing kept for a request that was not answered."""

from __future__ import annotations

from typing import Any

from radius.duplicates import ReplyCache


def test_reply_cache_expires_and_forgets_unanswered() -> None:
    now = [0.0]
    cache = ReplyCache(window=30, clock=lambda: now[0])
    key: tuple[Any, ...] = ("a", 1)
    cache.start(key)
    assert cache.get(key) == b""  # in flight
    cache.finish(key, b"reply")
    now[0] = 29.0
    assert cache.get(key) == b"reply"
    now[0] = 61.0
    assert cache.get(key) is None
    cache.start(key)
    cache.finish(key, None)  # nothing was sent: a retry must be handled anew
    assert cache.get(key) is None
