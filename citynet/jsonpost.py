"""The one JSON POST with retries citynet sends to other people's services (SMS gateways,
alert webhooks): a timeout per try, exponential backoff between tries, retried for
connection errors, timeouts and 5xx; a 4xx is not retried (the receiver refused this body,
and the same body will not do better). What went wrong is returned, never raised: each
caller decides what a failure means (fail over to the next gateway, mark a notice)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ANSWER_CHARS = 2000  # of a 2xx answer: enough for a receipt, never a whole page


@dataclass(frozen=True)
class Failure:
    """One try that did not get a 2xx."""

    reason: str  # "HTTP 503", or why no answer came
    status: int | None = None  # the HTTP status, when one came back

    @property
    def refused(self) -> bool:
        """The receiver refused this body (4xx): trying again will not help."""
        return self.status is not None and 400 <= self.status < 500


@dataclass(frozen=True)
class Posted:
    """The outcome of every try: the 2xx answer's text, or None; the failed tries."""

    answer: str | None = None
    failures: tuple[Failure, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.answer is not None


def post_json(url: str, body: bytes, *, timeout: float, attempts: int, backoff: float,
              headers: Mapping[str, str] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> Posted:
    """POST ``body`` (JSON) to ``url`` up to ``attempts`` times."""
    if urlsplit(url).scheme not in ("http", "https"):
        return Posted(failures=(Failure("not an http(s) URL"),))
    failures: list[Failure] = []
    for attempt in range(attempts):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))  # backoff, then doubled for each retry
        outcome = _try(url, body, timeout, headers or {})
        if isinstance(outcome, str):
            return Posted(outcome, tuple(failures))
        failures.append(outcome)
        if outcome.refused:
            break
    return Posted(failures=tuple(failures))


def _try(url: str, body: bytes, timeout: float, headers: Mapping[str, str]) -> str | Failure:
    """One POST: the 2xx answer's text, or what went wrong."""
    # the scheme was checked by the caller: no file:// or other urllib schemes
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return str(response.read(ANSWER_CHARS).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return Failure(f"HTTP {exc.code}", exc.code)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return Failure(str(getattr(exc, "reason", exc)))
