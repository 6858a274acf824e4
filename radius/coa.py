"""Dynamic authorization (RFC 5176): Disconnect-Request and CoA-Request to a NAS.

Each request carries Event-Timestamp (replay protection) and Message-Authenticator; a
retry resends the same bytes — same Identifier, same timestamp — so the NAS can tell a
retransmission from a new request. A NAK's Error-Cause comes back by name.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass
from typing import Any

from radius import codec
from radius.wire import Code, Malformed

PORT = 3799
ANSWERS = {Code.DISCONNECT_REQUEST: frozenset({Code.DISCONNECT_ACK, Code.DISCONNECT_NAK}),
           Code.COA_REQUEST: frozenset({Code.COA_ACK, Code.COA_NAK})}


@dataclass(frozen=True)
class CoaResult:
    ok: bool
    answer: str  # Disconnect-ACK, CoA-NAK, ..., or "no answer"
    error_cause: str = ""
    attempts: int = 0

    def __str__(self) -> str:
        cause = f" ({self.error_cause})" if self.error_cause else ""
        return f"{self.answer}{cause} after {self.attempts} attempt(s)"


def send(host: str, secret: bytes, code: Code, session: dict[str, Any],
         extra: dict[str, Any] | None = None, port: int = PORT, timeout: float = 2.0,
         attempts: int = 3) -> CoaResult:
    """Send one request, retrying on silence; identifies the session by what we know."""
    attributes = {key: value for key, value in session.items() if value}
    attributes.update(extra or {})
    attributes["Event-Timestamp"] = int(time.time())
    request = codec.encode_request(code, secret, attributes,
                                   identifier=random.randrange(256))  # noqa: S311
    names = {Code.DISCONNECT_ACK: "Disconnect-ACK", Code.DISCONNECT_NAK: "Disconnect-NAK",
             Code.COA_ACK: "CoA-ACK", Code.COA_NAK: "CoA-NAK"}
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for attempt in range(1, attempts + 1):
            sock.sendto(request, (host, port))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, _ = sock.recvfrom(4096)
                except (TimeoutError, ConnectionRefusedError):
                    break
                try:
                    answer = codec.reply_from_nas(request, data, secret, ANSWERS[code])
                except Malformed:
                    continue  # not an answer to this request: keep listening
                answer_code = Code(data[0])
                cause = answer.get("Error-Cause", [""])[0]
                return CoaResult(answer_code in (Code.DISCONNECT_ACK, Code.COA_ACK),
                                 names[answer_code], str(cause), attempt)
    return CoaResult(False, "no answer", attempts=attempts)


def session_identity(username: str, session_id: str, mac: str, ip: str) -> dict[str, Any]:
    """The attributes a NAS matches a session on (RFC 5176 section 3)."""
    return {"User-Name": username, "Acct-Session-Id": session_id,
            "Calling-Station-Id": mac, "Framed-IP-Address": ip}

