"""RFC 5080 duplicate detection: a retransmitted request gets the reply already sent,
byte for byte, without being decided again (section 2.2.2)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DUPLICATE_WINDOW = 30.0  # seconds a reply is kept for retransmissions (RFC 5080 2.2.2)
IN_FLIGHT = b""  # the request is being decided: a retransmission gets nothing yet


class ReplyCache:
    """Replies by (source, Identifier, Request Authenticator), for 30 seconds."""

    def __init__(self, window: float = DUPLICATE_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window, self.clock = window, clock
        self._entries: OrderedDict[tuple[object, ...], tuple[float, bytes]] = OrderedDict()

    def _prune(self) -> None:
        horizon = self.clock() - self.window
        while self._entries:
            key, (stamp, _reply) = next(iter(self._entries.items()))
            if stamp >= horizon:
                return
            del self._entries[key]

    def get(self, key: tuple[object, ...]) -> bytes | None:
        self._prune()
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def start(self, key: tuple[object, ...]) -> None:
        self._entries[key] = (self.clock(), IN_FLIGHT)

    def finish(self, key: tuple[object, ...], reply: bytes | None) -> None:
        if reply is None:
            self._entries.pop(key, None)  # nothing sent: a retry must be processed anew
        else:
            self._entries[key] = (self.clock(), reply)
            self._entries.move_to_end(key)

    def __len__(self) -> int:
        return len(self._entries)
