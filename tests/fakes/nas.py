"""A NAS's RFC 5176 dynamic-authorization server, modelled on CoovaChilli's `coaport`.

It knows its sessions (by Acct-Session-Id), checks the Request Authenticator, the
Message-Authenticator and the Event-Timestamp window, answers Disconnect-Request and
CoA-Request with ACK or NAK + Error-Cause, and treats a retransmission (same Identifier
and authenticator) as the same request. Knob: ``drop_first`` silently drops that many
datagrams, as a lossy link would. Like CoovaChilli (``config_radius_session`` with
``reconfig`` 0), a CoA-Request replaces a session's limits with the ones it carries: one
left out is gone (``sessions[id]`` holds what the last CoA set). Uses pyrad directly,
not citynet's codec, so a bug in the codec cannot hide itself.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary

from radius.codec import DICTIONARY_PATH

EVENT_WINDOW = 300  # seconds, RFC 5176 section 3.5
LIMITS = ("Session-Timeout", "Idle-Timeout", "Acct-Interim-Interval", "WISPr-Bandwidth-Max-Up",
          "WISPr-Bandwidth-Max-Down", "ChilliSpot-Max-Total-Octets",
          "ChilliSpot-Max-Total-Gigawords")  # what CoovaChilli resets on a CoA without them


@dataclass
class FakeNas:
    secret: bytes
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    drop_first: int = 0
    received: list[tuple[int, bytes]] = field(default_factory=list)  # (identifier, authenticator)
    # like CoovaChilli without coanoipcheck: requests only from these addresses (its
    # radiusserver1/2) are looked at, others get silence; None: from anywhere
    clients: frozenset[str] | None = None
    sources: list[str] = field(default_factory=list)  # where each datagram came from
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each datagram

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.dictionary = Dictionary(str(DICTIONARY_PATH))
        self._stop = threading.Event()
        self._answered: dict[tuple[int, bytes], bytes] = {}
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeNas:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.arrived.append(time.monotonic())
            self.received.append((data[1], data[4:20]))
            self.sources.append(peer[0])
            if self.clients is not None and peer[0] not in self.clients:
                continue
            if self.drop_first > 0:
                self.drop_first -= 1
                continue
            reply = self._answered.get((data[1], data[4:20])) or self._answer(data)
            if reply is not None:
                self._answered[(data[1], data[4:20])] = reply
                self.sock.sendto(reply, peer)

    def _answer(self, data: bytes) -> bytes | None:
        request = pyrad_packet.CoAPacket(packet=data, secret=self.secret, dict=self.dictionary)
        if not request.VerifyCoARequest():
            return None  # wrong secret: silence, as a NAS does
        if not request.message_authenticator or not request.verify_message_authenticator():
            return None
        reply = request.CreateReply()
        stamp = request.get("Event-Timestamp", [None])[0]
        nak = pyrad_packet.DisconnectNAK if request.code == pyrad_packet.DisconnectRequest \
            else pyrad_packet.CoANAK
        if stamp is None or abs(time.time() - _epoch(stamp)) > EVENT_WINDOW:
            reply.code, cause = nak, "Invalid-Request"
        else:
            session_id = request.get("Acct-Session-Id", [None])[0]
            if session_id not in self.sessions:
                reply.code, cause = nak, "Session-Context-Not-Found"
            elif request.code == pyrad_packet.DisconnectRequest:
                del self.sessions[session_id]
                cause = ""
            else:
                self.sessions[session_id] = {name: request[name][0] for name in LIMITS
                                             if name in request}
                cause = ""
        if cause:
            reply.AddAttribute("Error-Cause", cause)
        reply.add_message_authenticator()
        raw: bytes = reply.ReplyPacket()
        return raw


def _epoch(stamp: Any) -> float:
    return stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)
