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
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

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
        for url in order:
            for attempt in range(self.attempts):
                if attempt:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                outcome = self._post(url, body)
                if outcome is None:
                    self._first = self.urls.index(url)
                    self.delivered[url] += 1
                    return
                problems.append(f"{url}: {outcome}")
                if outcome.startswith("refused"):
                    break  # a 4xx will not change on retry; try the next gateway
        raise GatewayError("; ".join(problems[-len(self.urls) * self.attempts:]))

    def _post(self, url: str, body: bytes) -> str | None:
        """None when accepted, else what went wrong (for the log, no message text)."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # the URLs were checked to be http(s) when the gateway was made
        request = urllib.request.Request(url, data=body, headers=headers,  # noqa: S310
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            kind = "refused" if 400 <= exc.code < 500 else "failed"
            return f"{kind} with HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return f"failed: {getattr(exc, 'reason', exc)}"
        log.info("SMS accepted by %s: %s", url, _receipt(answer))
        return None


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
