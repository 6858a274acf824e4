"""Dynamic authorization (RFC 5176): Disconnect-Request and CoA-Request to a NAS.

Each request carries Event-Timestamp (replay protection) and Message-Authenticator; a
retry resends the same bytes — same Identifier, same timestamp — so the NAS can tell a
retransmission from a new request. A NAK's Error-Cause comes back by name.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from dataclasses import dataclass
from typing import Any

from citynet.catalogs import N_, Message
from citynet.config import RadiusConfig
from radius import codec
from radius.wire import Code, Malformed

PORT = 3799
ANSWERS = {Code.DISCONNECT_REQUEST: frozenset({Code.DISCONNECT_ACK, Code.DISCONNECT_NAK}),
           Code.COA_REQUEST: frozenset({Code.COA_ACK, Code.COA_NAK})}


NO_ANSWER = N_("no answer")
_AFTER = N_("%(answer)s after %(attempts)s attempt(s)")
_CAUSE_AFTER = N_("%(answer)s (%(cause)s) after %(attempts)s attempt(s)")


@dataclass(frozen=True)
class CoaResult:
    """A NAS's answer. ``str()`` is English (a record's, a log's); :meth:`said` the
    reader's language, the protocol's names (Disconnect-ACK, an Error-Cause) as they are."""

    ok: bool
    answer: str  # Disconnect-ACK, CoA-NAK, ..., or NO_ANSWER
    error_cause: str = ""
    attempts: int = 0

    def __str__(self) -> str:
        return str.__str__(self.message())

    def said(self) -> str:
        return self.message().said()

    def message(self) -> Message:
        """The answer as a :class:`~citynet.catalogs.Message` (English, said where shown):
        what a session gate hands on to the domain that asked (``nac people disable``)."""
        answer = Message(NO_ANSWER) if self.answer == NO_ANSWER else self.answer
        if self.error_cause:
            return Message(_CAUSE_AFTER, answer=answer, cause=self.error_cause,
                           attempts=self.attempts)
        return Message(_AFTER, answer=answer, attempts=self.attempts)


def source_for(config: RadiusConfig) -> str:
    """The address a request leaves from: this node's RADIUS address when it is one of
    ``radius.servers`` — a NAS takes dynamic-authorization requests only from the
    servers it names (CoovaChilli: radiusserver1/2), and a node with several addresses
    would otherwise send from whichever the route picks; else "" (the route decides)."""
    return config.bind if config.bind in config.servers else ""


def send(host: str, secret: bytes, code: Code, session: dict[str, Any],
         extra: dict[str, Any] | None = None, port: int = PORT, timeout: float = 2.0,
         attempts: int = 3, source: str = "") -> CoaResult:
    """Send one request, retrying on silence; identifies the session by what we know.
    ``source``: the address to send from (:func:`source_for`), "" for the route's."""
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
        if _reaches(source, host):
            sock.bind((source, 0))
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
    return CoaResult(False, NO_ANSWER, attempts=attempts)


def _reaches(source: str, host: str) -> bool:
    """Whether sending from ``source`` can reach ``host``: same family, and a loopback
    source for a loopback NAS only (a CLI with radius.bind left at 127.0.0.1 still
    reaches a NAS on the network, from the route's address)."""
    try:
        left, right = ipaddress.ip_address(source), ipaddress.ip_address(host)
    except ValueError:
        return False
    return left.version == right.version and left.is_loopback == right.is_loopback


def session_identity(username: str, session_id: str, mac: str, ip: str) -> dict[str, Any]:
    """The attributes a NAS matches a session on (RFC 5176 section 3)."""
    return {"User-Name": username, "Acct-Session-Id": session_id,
            "Calling-Station-Id": mac, "Framed-IP-Address": ip}

