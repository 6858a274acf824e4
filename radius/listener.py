"""The RADIUS listener: asyncio UDP on the auth and accounting ports.

Order of work for every datagram, cheapest and safest first: who sent it (unknown
source: dropped, nothing decoded), is it well-formed (:mod:`radius.wire`), is it a
retransmission (RFC 5080, :mod:`radius.duplicates`: the cached reply is sent again), decode
(:mod:`radius.codec`), is it signed (Message-Authenticator / Request Authenticator),
then policy. Every drop is counted by reason.

One thread does it all, in rounds: in one pass of the event loop, read every datagram
waiting on each port (up to ``ROUND`` a port) and take each through the pipeline; the
rlm_rest API (:mod:`radius.rlm_rest`) on the same loop adds its calls. Right after, the
round's store work — decide its logins, write their login records, store its accounting
— is done in one transaction (:meth:`radius.accounting.RecordWriter.run`, group commit),
and the answers go out once it committed. No task, future, queue or second thread per
request: on a GIL-bound process the hand-offs cost more than the policy itself. While a
round's transaction runs, new datagrams wait in the socket's (large) receive buffer.

Several listener processes of one host share a fixed port (SO_REUSEPORT; ``citynet serve
--role radius`` with ``radius.processes``, or the units ``citynet-radius@N``); a listener
alone binds without it, so no other program joins its port unseen (:func:`listen`). The
kernel picks the socket of each datagram by a hash of its 4-tuple (source address and
port, destination address and port), so every datagram of one NAS socket — its
retransmissions too — reaches the same process, whose duplicate cache (RFC 5080, per
process) answers them. That holds while the set of listeners stays the same: when one
dies or starts, the kernel spreads the flows anew, and a retransmission of a request in
flight may reach a process that never saw it. It is then handled anew: harmless for
accounting (a record is stored once by its key), a second decision and login record for
an Access-Request (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from citynet import metrics
from citynet.logs import Throttle, store_failed
from radius import codec, retries, wire
from radius.accounting import (
    Job,
    Outcome,
    RecordWriter,
    UnusableAccounting,
    event_from,
)
from radius.codec import Request
from radius.decisions import Decision, Login, attempt_of
from radius.duplicates import ReplyCache
from radius.nas import NasEntry, NasRegistry
from radius.policy import MESSAGES
from radius.vendors import in_vendor_terms
from radius.wire import Code, Malformed

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 8 * 1024 * 1024  # bytes asked of the kernel per listening socket
ROUND = 512  # datagrams read from one port before their store work is done

REASONS = frozenset(MESSAGES)  # a bounded label: reasons policy gives, else "other"
EVENTS = metrics.counter("citynet_radius_events", "what became of RADIUS datagrams and "
                         "rlm_rest calls (received, accepted, rejected, duplicates, "
                         "dropped: why, accounting stored, ...), as the listener counts them",
                         ["event"])
DECISIONS = metrics.counter("citynet_radius_decisions", "login decisions (UDP and rlm_rest) "
                            "by answer and reason (a reject's; accept: the login method)",
                            ["answer", "reason"])
ROUND_JOBS = metrics.histogram(
    "citynet_radius_round_jobs", "store jobs (logins to decide, accounting records) per "
    "round of the listener", (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048))
ROUND_SECONDS = metrics.histogram(
    "citynet_radius_round_seconds", "time of a round's store work (its transactions and "
    "answers), seconds", (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


class RadiusServer:
    def __init__(self, registry: NasRegistry, writer: RecordWriter) -> None:
        self.registry = registry
        self.writer = writer
        self.counters: Counter[str] = Counter()
        self.cache = ReplyCache()
        self._round: list[tuple[Job, Callable[[Outcome], None]]] = []
        self._round_due = False  # a round is scheduled on the loop
        self._throttle = Throttle()
        self._exported: Counter[str] = Counter()  # counters as EVENTS last got them
        # login decisions (answer, reason) not yet handed to DECISIONS
        self.decisions: Counter[tuple[str, str]] = Counter()
        # labelled metric children by (metric, label values): both sets are bounded
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}

    def _warn(self, nas: NasEntry, message: str) -> None:
        """Log a NAS problem, at most once a minute."""
        if self._throttle.due((nas.name, message)):
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
        self._authenticate(request, nas, key, send)

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

    def _authenticate(self, request: Request, nas: NasEntry, key: tuple[object, ...],
                      send: Callable[[bytes], None]) -> None:
        """Policy decides when the round's store work runs (:meth:`submit`); the answer
        leaves once the decision and its login record are durable (real-name rules)."""

        def decided(outcome: Outcome) -> None:
            reply = None
            if isinstance(outcome, Decision):
                try:
                    reply = codec.reply(request, Code.ACCESS_ACCEPT if outcome.accept
                                        else Code.ACCESS_REJECT,
                                        in_vendor_terms(nas.vendor, outcome.attributes))
                    self.counters["accepted" if outcome.accept else "rejected"] += 1
                except Exception as exc:  # a reply value the dictionary cannot encode
                    outcome = exc
            if reply is None:  # the store failed: no answer; the NAS retries or fails over
                self.counters["auth failed internally"] += 1
                store_failed(log, f"Access-Request from {nas.name} not answered", outcome)
            self.cache.finish(key, reply)
            if reply is not None:
                send(reply)

        datagram = request.datagram  # its identity survives the NAS's failover (retries)
        identity = retries.request_key(nas.name, datagram.identifier, datagram.authenticator)
        self.submit(Login(attempt_of(request), nas.name, nas.policy, request_key=identity),
                    decided)

    def submit(self, job: Job, done: Callable[[Outcome], None]) -> None:
        """Store work for this loop's next round, done once the callbacks ready now have
        run — with everything they submit: every datagram both ports read, every call of
        the rlm_rest API."""
        self._round.append((job, done))
        if not self._round_due:
            self._round_due = True
            asyncio.get_running_loop().call_soon(self._do_round)

    def _do_round(self) -> None:
        """The round's store work, one transaction (per ``max_batch``); each ``done`` runs
        once it committed, or failed — and answers."""
        jobs, self._round, self._round_due = self._round, [], False
        started = time.perf_counter()
        self.writer.run([(job, partial(self._counted, done)) if isinstance(job, Login) else
                         (job, done) for job, done in jobs])
        ROUND_SECONDS.observe(time.perf_counter() - started)
        ROUND_JOBS.observe(len(jobs))
        self.export_counts()

    def _counted(self, done: Callable[[Outcome], None], outcome: Outcome) -> None:
        """Count a login decision, then answer it."""
        if isinstance(outcome, Decision):
            self.decisions[("accept", outcome.method) if outcome.accept else (
                "reject", outcome.reason if outcome.reason in REASONS else "other")] += 1
        done(outcome)

    def export_counts(self) -> None:
        """Hand what ``counters`` and ``decisions`` gained since the last call to the
        metrics: once a round, not per datagram (a labelled prometheus_client increment
        took 6-17 us on this 2-core machine under load, a plain Counter's well under 1)."""
        for event, count in self.counters.items():
            if count > self._exported[event]:
                self._labelled(EVENTS, (event,)).inc(count - self._exported[event])
                self._exported[event] = count
        for labels, count in self.decisions.items():
            self._labelled(DECISIONS, labels).inc(count)
        self.decisions.clear()

    def _labelled(self, metric: Any, labels: tuple[str, ...]) -> Any:
        """The metric's child for these labels, found once: ``labels()`` itself costs
        more than the increment (its lock, its checks), and every round asks again."""
        child = self._children.get((metric, labels))
        if child is None:
            child = self._children[(metric, labels)] = metric.labels(*labels)
        return child

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

        def stored(outcome: Outcome) -> None:
            if isinstance(outcome, Exception):  # the store failed: silence, the NAS retries
                self.counters["accounting not stored"] += 1
                store_failed(log, f"accounting from {nas.name} not stored, no response sent",
                             outcome)
                self.cache.finish(key, None)
                return
            reply = codec.accounting_response(request, nas.secret)
            self.counters["accounting stored"] += 1
            self.cache.finish(key, reply)
            send(reply)

        self.submit(event, stored)


class Port:
    """One listening UDP port, read in rounds from the event loop."""

    def __init__(self, server: RadiusServer, sock: socket.socket,
                 allowed: frozenset[Code]) -> None:
        self.server, self.sock, self.allowed = server, sock, allowed
        self.number: int = sock.getsockname()[1]
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        """Take what waits (up to ``ROUND`` datagrams) through the pipeline; their store
        work joins the round :meth:`RadiusServer.submit` has scheduled."""
        for _ in range(ROUND):
            try:
                # more than RADIUS's 4,096 bytes, so an oversized datagram is seen whole
                # (and refused by wire.check) rather than cut down to a valid one
                data, source = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                self.server.counters["receive errors"] += 1
                log.debug("receive on port %d: %s", self.number, exc)
                continue
            try:
                self.server.receive(data, source, self.allowed, partial(self._send, source))
            except Exception:  # a bug on one datagram must not cost the others their round
                self.server.counters["dropped: internal error"] += 1
                log.exception("datagram from %s not handled", source[0])

    def _send(self, destination: tuple[str, int], reply: bytes) -> None:
        try:
            self.sock.sendto(reply, destination)
        except OSError as exc:  # a full send buffer: the NAS retries, the cache answers
            self.server.counters["reply not sent"] += 1
            log.debug("reply to %s not sent: %s", destination[0], exc)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


def _bound(bind: str, port: int, share: bool) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(
        bind, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Room for a burst (every NAS's Accounting-On after a power cut) and for what
        # arrives while a round's transaction commits: the kernel's default buffer drops
        # datagrams past a few hundred in flight (capped by net.core.rmem_max)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        # a round answers up to ROUND requests at once: room for them (a full send buffer
        # drops a reply, and only the NAS's retry, answered from the cache, recovers it)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RECEIVE_BUFFER)
        sock.setblocking(False)
        if port and share:  # a fixed port: shared by the listener processes of this host
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def listen(server: RadiusServer, bind: str, auth_port: int, acct_port: int,
           share: bool = False) -> list[Port]:
    """Open both ports on the running event loop (close them to stop). ``share``: with
    SO_REUSEPORT, for one of a node's several listener processes. Linux lets a socket
    with it join any of the same user's sockets on the port that have it too, silently:
    so only they set it, and a listener alone holds its ports to itself."""
    ports: list[Port] = []
    try:
        for number, codes in ((auth_port, wire.AUTH_PORT_CODES),
                              (acct_port, wire.ACCT_PORT_CODES)):
            ports.append(Port(server, _bound(bind, number, share), codes))
    except OSError:
        for port in ports:
            port.close()
        raise
    return ports


def probe(bind: str, port: int) -> None:
    """The OSError a listener meets on ``port`` if any socket holds it (a group sharing it
    too: a socket without SO_REUSEPORT may not join one), else nothing: the port is
    bound once, alone, and freed again — before a serve starts its listener processes."""
    _bound(bind, port, share=False).close()
