"""The RADIUS listener: asyncio UDP on the auth and accounting ports.

Order of work for every datagram, cheapest and safest first: who sent it (unknown
source: dropped, nothing decoded), is it well-formed (:mod:`radius.wire`), is it a
retransmission (RFC 5080: the cached reply is sent again, byte for byte), decode
(:mod:`radius.codec`), is it signed (Message-Authenticator / Request Authenticator),
then policy. Every drop is counted by reason.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import cast

from radius import codec, wire
from radius.accounting import RecordWriter, UnusableAccounting, event_from
from radius.codec import Request
from radius.decisions import Decision, LoginAttempt, attempt_of, login_record
from radius.nas import NasEntry, NasRegistry
from radius.wire import Code, Malformed

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = 30.0  # seconds a reply is kept for retransmissions (RFC 5080 2.2.2)
IN_FLIGHT = b""
RECEIVE_BUFFER = 8 * 1024 * 1024  # bytes asked of the kernel per listening socket


Policy = Callable[[LoginAttempt, NasEntry], Decision]


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


class RadiusServer:
    def __init__(self, registry: NasRegistry, writer: RecordWriter,
                 policy: Policy) -> None:
        self.registry = registry
        self.writer = writer
        self.policy = policy
        self.counters: Counter[str] = Counter()
        self.cache = ReplyCache()
        self._tasks: set[asyncio.Task[None]] = set()
        self._accounting_pending = 0  # records handed to the writer, not yet answered
        self._accounting_idle = asyncio.Event()
        self._warned: dict[tuple[str, str], float] = {}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="radius-auth")

    def _warn(self, nas: NasEntry, message: str) -> None:
        """Log a NAS problem at most once a minute: a flood must not flood the log."""
        now = time.monotonic()
        if now - self._warned.get((nas.name, message), -3600.0) >= 60:
            self._warned[(nas.name, message)] = now
            log.warning("%s: %s (counted; logged at most once a minute)", nas.name, message)

    # --- the pipeline --------------------------------------------------------------

    def receive(self, data: bytes, source: tuple[str, int], allowed: frozenset[Code],
                send: Callable[[bytes], None]) -> None:
        self.counters["received"] += 1
        nas = self.registry.lookup(source[0])
        if nas is None:
            self.counters["dropped: unknown NAS"] += 1
            return
        try:
            datagram = wire.check(data, allowed)
        except Malformed as exc:
            self.counters["dropped: malformed"] += 1
            log.debug("malformed datagram from %s (%s): %s", nas.name, source[0], exc)
            return
        key = (source, datagram.identifier, datagram.authenticator)
        cached = self.cache.get(key)
        if cached is not None:
            self.counters["duplicates"] += 1
            if cached:  # still in flight: the answer will go out once, when it is ready
                send(cached)
            return
        try:
            request = codec.decode(datagram, nas.secret)
        except Malformed:
            self.counters["dropped: malformed"] += 1
            return
        if not self._signed(request, nas):
            return
        self.cache.start(key)
        if request.code == Code.STATUS_SERVER:
            reply = self._status(request, allowed)
            self.cache.finish(key, reply)
            send(reply)
            return
        if request.code == Code.ACCOUNTING_REQUEST:
            self._account(request, nas, key, send)
            return
        task = asyncio.get_running_loop().create_task(
            self._authenticate(request, nas, key, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _signed(self, request: Request, nas: NasEntry) -> bool:
        signed = request.datagram.has_message_authenticator
        if request.code != Code.ACCOUNTING_REQUEST and not signed:
            # Blast-RADIUS (CVE-2024-3596): unsigned Access-Requests are not answered,
            # unless this NAS is set to "off" (legacy gear) — and Status-Server never is
            if nas.require_message_authenticator or request.code == Code.STATUS_SERVER:
                self.counters["dropped: no Message-Authenticator"] += 1
                self._warn(nas, "requests without Message-Authenticator dropped")
                return False
            self.counters["unsigned (NAS set to off)"] += 1
            self._warn(nas, "answering an unsigned Access-Request: Message-Authenticator is "
                            "off for this NAS (Blast-RADIUS risk)")
            return True
        if not codec.signature_valid(request, nas.secret):
            self.counters["dropped: bad signature"] += 1
            self._warn(nas, "requests with a bad signature dropped (wrong shared secret?)")
            return False
        return True

    def _status(self, request: Request, allowed: frozenset[Code]) -> bytes:
        self.counters["status-server"] += 1
        code = Code.ACCESS_ACCEPT if Code.ACCESS_REQUEST in allowed else Code.ACCOUNTING_RESPONSE
        return codec.reply(request, code)

    async def _authenticate(self, request: Request, nas: NasEntry, key: tuple[object, ...],
                            send: Callable[[bytes], None]) -> None:
        reply = None
        try:
            # policy reads the store: off the event loop, so one slow query stalls no one
            attempt = attempt_of(request)  # once: PAP decryption is not free
            decision = await asyncio.get_running_loop().run_in_executor(
                self._pool, self.policy, attempt, nas)
            # the login record is durable before the answer leaves (real-name rules)
            await self.writer.write(login_record(attempt, nas.name, decision))
            self.counters["accepted" if decision.accept else "rejected"] += 1
            reply = codec.reply(request, Code.ACCESS_ACCEPT if decision.accept
                                else Code.ACCESS_REJECT, dict(decision.attributes))
        except Exception as exc:  # the store failed: no answer; the NAS retries or fails over
            self.counters["auth failed internally"] += 1
            log.error("Access-Request from %s not answered: %s", nas.name, exc)
        finally:
            self.cache.finish(key, reply)
        if reply is not None:
            send(reply)

    def _account(self, request: Request, nas: NasEntry, key: tuple[object, ...],
                 send: Callable[[bytes], None]) -> None:
        """Store the record; the Accounting-Response goes out once it is durable. A
        callback, not a task: this runs for every accounting record."""
        try:
            event = event_from(request, nas.name, datetime.now(UTC))
        except UnusableAccounting as exc:
            self.counters["dropped: unusable accounting"] += 1
            self._warn(nas, f"accounting not recorded: {exc}")
            self.cache.finish(key, None)
            return

        def stored(outcome: bool | Exception) -> None:
            self._accounting_pending -= 1
            if self._accounting_pending == 0:
                self._accounting_idle.set()
            if isinstance(outcome, Exception):  # the store failed: silence, the NAS retries
                self.counters["accounting not stored"] += 1
                log.error("accounting from %s not stored (%s); no response sent", nas.name,
                          outcome)
                self.cache.finish(key, None)
                return
            reply = codec.accounting_response(request, nas.secret)
            self.counters["accounting stored"] += 1
            self.cache.finish(key, reply)
            send(reply)

        self._accounting_pending += 1
        self._accounting_idle.clear()
        self.writer.submit(event, stored)

    async def drain(self) -> None:
        """Wait for requests still being answered (on shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._accounting_pending:
            await self._accounting_idle.wait()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, server: RadiusServer, allowed: frozenset[Code]) -> None:
        self.server, self.allowed = server, allowed
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = cast(asyncio.DatagramTransport, self.transport)
        self.server.receive(data, addr, self.allowed, lambda reply: transport.sendto(reply, addr))


async def listen(server: RadiusServer, bind: str, auth_port: int,
                 acct_port: int) -> list[asyncio.DatagramTransport]:
    """Open both ports; returns the transports (close them to stop)."""
    loop = asyncio.get_running_loop()
    transports = []
    for port, codes in ((auth_port, wire.AUTH_PORT_CODES), (acct_port, wire.ACCT_PORT_CODES)):
        transport, _protocol = await loop.create_datagram_endpoint(
            partial(_Endpoint, server, codes), local_addr=(bind, port))
        # Room for a burst (every NAS's Accounting-On after a power cut): the kernel's
        # default buffer drops datagrams past a few hundred in flight (capped by rmem_max)
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                      RECEIVE_BUFFER)
        transports.append(transport)
    return transports
