"""The portal server's side of the Portal protocol, over UDP: logins and logouts sent to an
AC's portal port, and the listener for the AC's NTF_LOGOUT notices.

One serial number per flow (challenge, auth and affirm share it, as the CMCC document asks;
each flow's is the next in sequence, so an AC never takes a new flow for an old one's
retransmission: :class:`Serials`), one ephemeral socket per flow, so an answer can only
reach the flow that asked and a late duplicate dies with the closed socket. Every
datagram goes through :mod:`portal.acportal`'s checks; what is not used is counted by
:class:`DropReason` and logged once a minute per reason.

Loss: a request is sent ``tries`` times, ``timeout`` seconds apart (the ACs' own defaults
are of this order). A REQ_AUTH is retransmitted byte for byte, so the AC sees the same
serial and request id and answers it again rather than logging the user in twice. If the
AC never answers a REQ_CHALLENGE or REQ_AUTH, the portal sends REQ_LOGOUT with ErrCode 1
(timeout) for that serial and request id, so the AC drops whatever it half did, and the
portal reports no login: neither side keeps a half login. (Its ACK_LOGOUT is optional:
waited for once, not required.)
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from citynet import metrics
from citynet.logs import Throttle
from portal import acportal as ac
from portal.acportal import (
    MAX_DATAGRAM,
    Attribute,
    AuthError,
    AuthMethod,
    DropReason,
    LogoutRequest,
    Packet,
    PacketType,
    Refused,
    Version,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcEndpoint:
    """An AC as the portal server talks to it (built from the NAS registry)."""

    name: str
    address: str
    port: int
    version: Version
    secret: bytes
    method: AuthMethod = AuthMethod.CHAP

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"AcEndpoint({self.name!r}, {self.address}:{self.port}, v{int(self.version)})"


@dataclass(frozen=True)
class Timing:
    timeout: float = 2.0  # seconds to wait for each answer
    tries: int = 3  # sends of one request, the first included


class LoginOutcome(StrEnum):
    LOGGED_IN = "logged_in"
    ALREADY_ONLINE = "already_online"
    REJECTED = "rejected"  # the AC (its RADIUS) said no
    BUSY = "busy"  # another login of this address is under way at the AC
    FAILED = "failed"
    NO_ANSWER = "no_answer"  # the AC did not answer; it was told to drop the attempt


class LogoutOutcome(StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_ONLINE = "not_online"
    REJECTED = "rejected"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class AcAnswer:
    outcome: StrEnum
    text: str = ""  # the AC's TextInfo, if it gave one


# ErrCode of ACK_CHALLENGE and ACK_AUTH (the same numbers); any other is a failure
LOGIN_ANSWERS: dict[int, LoginOutcome] = {
    AuthError.OK: LoginOutcome.LOGGED_IN, AuthError.REJECTED: LoginOutcome.REJECTED,
    AuthError.ALREADY_ONLINE: LoginOutcome.ALREADY_ONLINE, AuthError.BUSY: LoginOutcome.BUSY}
LOGOUT_ANSWERS: dict[int, LogoutOutcome] = {
    ac.LogoutError.OK: LogoutOutcome.LOGGED_OUT, ac.LogoutError.REJECTED: LogoutOutcome.REJECTED,
    ac.LogoutError.FAILED: LogoutOutcome.NOT_ONLINE}


DROPPED = metrics.counter(
    "citynet_portal_protocol_drops", "Portal-protocol datagrams not used, by side (client: "
    "the ACs' answers to the portal's logins and logouts; listener: the ACs' NTF_LOGOUT "
    "notices) and reason", ["side", "reason"])


class Drops:
    """Datagrams not used, counted by reason (here and on /metrics, by ``side``); a log
    line per reason a minute at most."""

    def __init__(self, side: str = "client", throttle: Throttle | None = None) -> None:
        self.counts: Counter[DropReason] = Counter()
        self._throttle = throttle or Throttle()
        self._lock = threading.Lock()
        # every reason shown from the start, at 0: a rate alert needs the series to exist
        self._metric = {reason: DROPPED.labels(side, reason.value) for reason in DropReason}

    def count(self, reason: DropReason, source: str, detail: str = "") -> None:
        self._metric[reason].inc()
        with self._lock:
            self.counts[reason] += 1
            seen = self._throttle.due(reason)
        if seen:
            log.warning("Portal protocol: dropped a datagram from %s: %s %s (%d× since the "
                        "last line; one line a minute per reason)", source, reason.value,
                        detail, seen)


class Serials:
    """The serial numbers of the portal's flows (a login, a logout, a query): each the one
    after the last, 1 to 0xFFFF and round again, from a random start; thread-safe.

    An AC that knows a retransmission by its serial (the fake AC does, and the portal's
    own notice listener knows a repeated NTF_LOGOUT so) sends its earlier answer again to a
    request with a serial it answered a moment ago for that address. Drawn at random for
    each flow, two flows for one address (a refused login and the person's next try) shared
    a serial once in 65,535: the AC gave the second the first one's challenge and then its
    ACK_AUTH, signed over the first one's REQ_AUTH, dropped as wrong_authenticator, and the
    login failed as unanswered. In sequence a serial comes round again only after 65,535
    flows of this process."""

    def __init__(self, start: int | None = None) -> None:
        self._next = 1 + secrets.randbelow(0xFFFF) if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            serial = self._next
            self._next = serial % 0xFFFF + 1  # 0xFFFF is followed by 1: 0 is never used
        return serial


class AcClient:
    """Logins and logouts at ACs; thread-safe (each flow has its own socket)."""

    def __init__(self, drops: Drops, timing: Timing = Timing(),
                 serials: Callable[[], int] | None = None) -> None:
        self.drops, self.timing = drops, timing
        self._serials = serials or Serials()

    # --- flows ----------------------------------------------------------------------

    def login(self, endpoint: AcEndpoint, user_ip: str, user_name: str, password: str,
              *, user_mac: bytes | None = None) -> AcAnswer:
        """Log ``user_ip`` in at the AC with these credentials (the AC asks RADIUS)."""
        serial, name, secret = self._serials(), user_name.encode(), password.encode()
        with _flow_socket(endpoint) as sock:
            if endpoint.method == AuthMethod.PAP:
                request = ac.request_auth_pap(endpoint.version, serial, user_ip, name, secret,
                                              bas_ip=_bas_ip(endpoint), user_mac=user_mac)
                return self._authenticate(sock, endpoint, request)
            ask = ac.request_challenge(endpoint.version, serial, user_ip,
                                       bas_ip=_bas_ip(endpoint), user_mac=user_mac)
            given = self._exchange(sock, endpoint, ask, PacketType.ACK_CHALLENGE)
            if given is None:
                self._withdraw(sock, endpoint, ask)
                return AcAnswer(LoginOutcome.NO_ANSWER)
            challenge = given.get(Attribute.CHALLENGE)
            if given.error != AuthError.OK or challenge is None:
                return AcAnswer(LOGIN_ANSWERS.get(given.error, LoginOutcome.FAILED)
                                if challenge or given.error else LoginOutcome.FAILED,
                                given.text_info)
            request = ac.request_auth_chap(endpoint.version, serial, user_ip, given.req_id,
                                           name, secret, challenge, bas_ip=_bas_ip(endpoint),
                                           user_mac=user_mac)
            return self._authenticate(sock, endpoint, request)

    def logout(self, endpoint: AcEndpoint, user_ip: str) -> AcAnswer:
        """Ask the AC to log ``user_ip`` out."""
        request = ac.request_logout(endpoint.version, self._serials(), user_ip,
                                    method=endpoint.method, bas_ip=_bas_ip(endpoint))
        with _flow_socket(endpoint) as sock:
            answer = self._exchange(sock, endpoint, request, PacketType.ACK_LOGOUT)
        if answer is None:
            return AcAnswer(LogoutOutcome.NO_ANSWER)
        return AcAnswer(LOGOUT_ANSWERS.get(answer.error, LogoutOutcome.REJECTED),
                        answer.text_info)

    def info(self, endpoint: AcEndpoint) -> Packet | None:
        """The AC's ACK_INFO (what it supports), or None when it does not answer."""
        with _flow_socket(endpoint) as sock:
            return self._exchange(sock, endpoint, ac.request_info(endpoint.version,
                                                                  self._serials()),
                                  PacketType.ACK_INFO)

    def _authenticate(self, sock: socket.socket, endpoint: AcEndpoint,
                      request: Packet) -> AcAnswer:
        answer = self._exchange(sock, endpoint, request, PacketType.ACK_AUTH)
        if answer is None:
            self._withdraw(sock, endpoint, request)
            return AcAnswer(LoginOutcome.NO_ANSWER)
        if answer.error == AuthError.OK:
            # no answer comes to an affirmation; a lost one costs nothing at the ACs we
            # know of (the user is online from ACK_AUTH on)
            sock.sendto(ac.encode(ac.affirm_auth(answer), endpoint.secret),
                        (endpoint.address, endpoint.port))
        return AcAnswer(LOGIN_ANSWERS.get(answer.error, LoginOutcome.FAILED), answer.text_info)

    def _withdraw(self, sock: socket.socket, endpoint: AcEndpoint, unanswered: Packet) -> None:
        """Tell the AC that ``unanswered`` timed out (REQ_LOGOUT, ErrCode 1, its serial and
        request id), so it drops whatever that request started. No vendor document says
        the AC answers this notice (docs/portal.md, "Documents followed"): an ACK_LOGOUT
        is waited for once, and without one the notice is sent again ``tries`` - 1 times
        unawaited — an AC that did not answer the request is not waited for again."""
        notice = ac.request_logout(endpoint.version, unanswered.serial, unanswered.user_ip,
                                   req_id=unanswered.req_id, method=unanswered.method,
                                   reason=LogoutRequest.TIMEOUT, bas_ip=_bas_ip(endpoint))
        if self._exchange(sock, endpoint, notice, PacketType.ACK_LOGOUT, tries=1) is None:
            wire = ac.encode(notice, endpoint.secret)
            for _ in range(self.timing.tries - 1):
                sock.sendto(wire, (endpoint.address, endpoint.port))
            log.info("Portal protocol: %s answered neither a %s for %s nor (optional) the "
                     "timeout logout that withdraws it", endpoint.name,
                     unanswered.type.name, unanswered.user_ip)

    # --- one request, its answer ------------------------------------------------------

    def _exchange(self, sock: socket.socket, endpoint: AcEndpoint, request: Packet,
                  expect: PacketType, tries: int | None = None) -> Packet | None:
        """Send ``request`` up to ``tries`` times (``Timing.tries`` unless given); its
        checked answer, or None."""
        wire = ac.encode(request, endpoint.secret)
        signed = wire[ac.V1_HEADER_LEN:ac.V2_HEADER_LEN] if (
            endpoint.version == Version.V2) else ac.ZERO_AUTHENTICATOR
        for _ in range(self.timing.tries if tries is None else tries):
            sock.sendto(wire, (endpoint.address, endpoint.port))
            deadline = time.monotonic() + self.timing.timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, source = sock.recvfrom(MAX_DATAGRAM + 1)
                except TimeoutError:
                    break
                answer = self._answer_to(data, source[0], endpoint, request, signed, expect)
                if answer is not None:
                    return answer
        return None

    def _answer_to(self, data: bytes, source: str, endpoint: AcEndpoint, request: Packet,
                   signed: bytes, expect: PacketType) -> Packet | None:
        """``data`` if it is the checked answer to ``request``; else counted and None."""
        try:
            if source != endpoint.address:
                raise Refused(DropReason.UNKNOWN_AC, "an answer from another address")
            _, kind, serial = ac.peek(data)
            if serial != request.serial:
                raise Refused(DropReason.UNKNOWN_REQUEST, f"serial {serial}")
            if kind != expect:
                # e.g. a second ACK_CHALLENGE to a retransmitted REQ_CHALLENGE
                raise Refused(DropReason.UNEXPECTED_TYPE, f"{kind.name} for {expect.name}")
            answer = ac.decode(data, endpoint.secret, version=endpoint.version,
                               request_authenticator=signed)
            if request.req_id and answer.req_id != request.req_id:
                raise Refused(DropReason.UNKNOWN_REQUEST, f"request id {answer.req_id}")
            if answer.user_ip != request.user_ip and kind != PacketType.ACK_INFO:
                raise Refused(DropReason.UNKNOWN_REQUEST, "an answer about another user")
        except Refused as refused:
            self.drops.count(refused.reason, f"{endpoint.name} ({source})", refused.detail)
            return None
        return answer


def _bas_ip(endpoint: AcEndpoint) -> str | None:
    """Huawei v2 ACs expect their own address in BAS-IP; v1 has no such attribute."""
    return endpoint.address if endpoint.version == Version.V2 else None


def _flow_socket(endpoint: AcEndpoint) -> socket.socket:
    family = socket.AF_INET6 if ":" in endpoint.address else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


# --- NTF_LOGOUT from the ACs ------------------------------------------------------------

RETRANSMIT_WINDOW = 30.0  # the same notice again within this: the AC missed our ack
REPLAY_WINDOW = 600.0  # ... later, but within this: a replay, dropped


class NoticeListener:
    """Takes the ACs' NTF_LOGOUT on ``portal.protocol_port``: checks it, ends the session
    (``on_logout``), acknowledges it. A notice repeated because our ack was lost is
    acknowledged again without a second logout; one replayed later is dropped."""

    def __init__(self, endpoints: Callable[[str], AcEndpoint | None],
                 on_logout: Callable[[AcEndpoint, str], None], drops: Drops,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoints, self.on_logout, self.drops, self.clock = (
            endpoints, on_logout, drops, clock)
        self._seen: dict[tuple[str, int, str], tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def handle(self, data: bytes, source: str) -> bytes | None:
        """The ack to send back for datagram ``data`` from ``source``, or None (dropped)."""
        endpoint = self.endpoints(source)
        try:
            if endpoint is None:
                raise Refused(DropReason.UNKNOWN_AC, "not in the NAS registry as a portal AC")
            _, kind, _ = ac.peek(data)
            if kind != PacketType.NTF_LOGOUT:
                raise Refused(DropReason.UNEXPECTED_TYPE, kind.name)
            notice = ac.decode(data, endpoint.secret, version=endpoint.version)
            return self._take(endpoint, notice)
        except Refused as refused:
            self.drops.count(refused.reason, endpoint.name if endpoint else source,
                             refused.detail)
            return None

    def _take(self, endpoint: AcEndpoint, notice: Packet) -> bytes:
        now, key = self.clock(), (endpoint.name, notice.serial, notice.user_ip)
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < REPLAY_WINDOW}
            earlier = self._seen.get(key)
        if earlier is not None:
            if now - earlier[0] < RETRANSMIT_WINDOW:
                return earlier[1]
            raise Refused(DropReason.REPLAYED_SERIAL, f"serial {notice.serial}")
        # ended first: if that fails no ack goes out, and the AC sends the notice again
        self.on_logout(endpoint, notice.user_ip)
        ack = ac.encode(ac.ack_ntf_logout(notice), endpoint.secret, notice.authenticator)
        with self._lock:
            self._seen[key] = (now, ack)
        return ack

    # --- the socket ---------------------------------------------------------------------

    def start(self, bind: str, port: int) -> int:
        """Listen on ``bind``:``port`` in a thread; the port bound (0: any free one)."""
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self._sock = sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((bind, port))
        sock.settimeout(0.5)
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                        name="portal-notices")
        self._thread.start()
        return int(sock.getsockname()[1])

    def _serve(self, sock: socket.socket) -> None:
        while self._sock is not None:
            try:
                data, source = sock.recvfrom(MAX_DATAGRAM + 1)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                ack = self.handle(data, source[0])
            except Exception:  # a bug must not stop the listener; the next datagram is served
                log.exception("Portal protocol: a notice from %s was not handled", source[0])
                continue
            if ack is not None:
                sock.sendto(ack, source)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if self._thread is not None:
            self._thread.join(timeout=5)
        if sock is not None:
            sock.close()
