"""How SMS leave citynet. Sending never blocks a request: messages go through a queue to
a background thread.

Gateways: ``outbox`` (demo and tests: one JSON line a message in a file under the data
directory, mode 0600, which the demo portal can show). The message text is the only
place a clear code exists outside the person's phone; it is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
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
