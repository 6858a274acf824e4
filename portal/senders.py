"""How SMS leave citynet. Sending never blocks a request: messages go through a queue to
a background thread.

Gateways: ``outbox`` (demo and tests: one JSON line a message in a file under the data
directory, mode 0600, which the demo portal can show) and ``http`` (a generic JSON
gateway, several for failover). The message text is the only place a clear code exists
outside the person's phone; it is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from citynet.jsonpost import Failure, post_json
from portal.phones import masked

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class Outbox:
    """Every message appended to a file, as a simulated SMS gateway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "phone": phone, "text": text}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def recent(self, count: int = 5) -> list[dict[str, str]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines[-count:]][::-1]


class Dispatcher:
    """A queue in front of a sender, drained by one daemon thread."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=10000)
        self._thread = threading.Thread(target=self._run, name="sms", daemon=True)
        self._thread.start()

    def submit(self, phone: str, text: str) -> bool:
        try:
            self._queue.put_nowait((phone, text))
        except queue.Full:
            log.error("SMS queue full: a code for %s was not sent", masked(phone))
            return False
        return True

    def drain(self) -> None:
        """Wait until queued messages are handed over (tests, shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            phone, text = self._queue.get()
            try:
                self.sender.send(phone, text)
            except Exception as exc:  # the person can press "resend"
                log.error("SMS to %s not sent: %s", masked(phone), type(exc).__name__)
            finally:
                self._queue.task_done()


class GatewayError(RuntimeError):
    """No gateway took the message."""


class HttpGateway:
    """A generic HTTP SMS gateway: JSON POST ``{"phone", "text"}`` with a bearer token.

    Each gateway gets ``attempts`` tries with exponential backoff for timeouts,
    connection errors and 5xx; a 4xx is not retried on that gateway (it refused this
    request) but the next one is tried. Failover follows the list, starting next time
    from the gateway that worked. 2xx means accepted for delivery; the gateway's message
    id and status, when its answer gives them, are logged — never the text.
    """

    def __init__(self, urls: list[str], token: str = "", timeout: float = 5.0,
                 attempts: int = 3, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not urls:
            raise ValueError("an HTTP SMS gateway needs at least one URL")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"SMS gateway URL {url!r} is not http(s)")
        self.urls, self.token, self.timeout = list(urls), token, timeout
        self.attempts, self.backoff, self.sleep = attempts, backoff, sleep
        self._first = 0
        self.delivered: Counter[str] = Counter()  # accepted, by gateway URL

    def send(self, phone: str, text: str) -> None:
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode()
        order = self.urls[self._first:] + self.urls[:self._first]
        problems = []
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for url in order:
            # a 4xx is not retried on this gateway; the next one is tried
            posted = post_json(url, body, headers=headers, timeout=self.timeout,
                               attempts=self.attempts, backoff=self.backoff,
                               sleep=self.sleep)
            problems += [f"{url}: {_problem(failure)}" for failure in posted.failures]
            if posted.answer is not None:
                log.info("SMS accepted by %s: %s", url, _receipt(posted.answer))
                self._first = self.urls.index(url)
                self.delivered[url] += 1
                return
        raise GatewayError("; ".join(problems[-len(self.urls) * self.attempts:]))


def _problem(failure: Failure) -> str:
    """What went wrong on one try, for the log (no message text)."""
    if failure.status is None:
        return f"failed: {failure.reason}"
    return f"{'refused' if failure.refused else 'failed'} with {failure.reason}"


def _receipt(answer: str) -> str:
    """The gateway's message id and status from its answer — never the rest, which may
    echo the text (and so the code)."""
    try:
        body = json.loads(answer)
    except ValueError:
        return "(no JSON receipt)"
    if not isinstance(body, dict):
        return "(no JSON receipt)"
    return " ".join(f"{key}={str(body[key])[:64]}" for key in ("id", "status") if key in body)
