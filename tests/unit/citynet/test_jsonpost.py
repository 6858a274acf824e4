"""The one JSON POST with backoff (SMS gateways, alert webhooks), over a scripted urlopen."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from citynet.jsonpost import Failure, post_json

URL = "http://gateway.test/send"


def scripted(monkeypatch: pytest.MonkeyPatch, *answers: int | str) -> list[Any]:
    """urlopen answering each try in turn: an HTTP status, or "down" (no connection)."""
    sent: list[Any] = []
    left: Iterator[int | str] = iter(answers)

    def urlopen(request: urllib.request.Request, timeout: float) -> io.BytesIO:
        sent.append(request)
        answer = next(left)
        if answer == "down":
            raise urllib.error.URLError("connection refused")
        assert isinstance(answer, int)
        if answer >= 300:
            raise urllib.error.HTTPError(URL, answer, "no", {}, None)  # type: ignore[arg-type]
        return io.BytesIO(b'{"id": "m1"}')

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return sent


def test_retries_5xx_and_no_answer_with_doubling_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = scripted(monkeypatch, 503, "down", 200)
    pauses: list[float] = []
    posted = post_json(URL, b"{}", timeout=1, attempts=3, backoff=0.5, sleep=pauses.append,
                       headers={"Authorization": "Bearer t"})
    assert posted.ok and posted.answer == '{"id": "m1"}'
    assert posted.failures == (Failure("HTTP 503", 503), Failure("connection refused"))
    assert pauses == [0.5, 1.0]
    assert len(sent) == 3
    assert sent[0].get_header("Content-type") == "application/json; charset=utf-8"
    assert sent[0].get_header("Authorization") == "Bearer t" and sent[0].data == b"{}"


def test_a_4xx_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = scripted(monkeypatch, 400, 200)
    posted = post_json(URL, b"{}", timeout=1, attempts=3, backoff=0.5, sleep=lambda _s: None)
    assert not posted.ok and posted.failures == (Failure("HTTP 400", 400),)
    assert posted.failures[0].refused and len(sent) == 1


def test_gives_up_after_the_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, 500, 502, 503, 200)
    posted = post_json(URL, b"{}", timeout=1, attempts=3, backoff=0.5, sleep=lambda _s: None)
    assert not posted.ok and [f.status for f in posted.failures] == [500, 502, 503]
    assert not any(f.refused for f in posted.failures)


def test_only_http_urls_are_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = scripted(monkeypatch, 200)
    posted = post_json("file:///etc/passwd", b"{}", timeout=1, attempts=3, backoff=0.5)
    assert posted.failures == (Failure("not an http(s) URL"),) and sent == []
