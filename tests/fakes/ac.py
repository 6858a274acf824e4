"""A Huawei/H3C/Ruijie access controller's portal side, modelled on the vendors' documents
(docs/portal.md lists them): it answers the Portal protocol (v1 and v2) on its portal
port, keeps per-user state, does RADIUS itself (CHAP with the challenge it issued, or PAP)
to a RADIUS server, sends accounting Start/Stop, sends NTF_LOGOUT when a user goes
idle or is kicked, and takes RFC 5176 Disconnect and CoA on ``coa_port`` (a Disconnect
ends the session and tells the portal, as a kick does). It builds the redirect URL with
each vendor's parameters.

It speaks the protocol with its own struct/hashlib code and RADIUS through pyrad, not
through citynet's codecs, so a bug there cannot hide itself. (Over 400 lines: one AC's
portal port, RADIUS client, HTTP interception and process entry point stay together,
like the device they stand for.)

Knobs: ``drop_requests`` (type → how many incoming datagrams of that type are lost),
``drop_answers`` (type → how many answers are lost after the request was acted on: a lost
ACK_AUTH), ``delay`` (seconds before each answer), ``sign_secret`` (sign answers with
another secret), ``answer_twice`` (each answer sent twice), ``ntf_tries``,
``challenge_when_online`` (an online user still gets a challenge; "already online" comes
in ACK_AUTH instead of ACK_CHALLENGE), ``idle_timeout`` (users without traffic — see
:meth:`FakeAc.touch` — logged out as idle, the portal told), ``interim_interval``
(Interim-Updates), and :meth:`FakeAc.strand` (a user online at the AC that the portal and
RADIUS never heard of).

:meth:`FakeAc.from_running_config` makes one from what citynet pushed to a fake Huawei or
H3C device (tests/fakes/acconfig.py): its address and Portal port, the shared key, where
its notices go, the portal URL and the redirect parameters by those names, the SSID, and
its RADIUS server and key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from pyrad import packet as pyrad_packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

from radius.codec import DICTIONARY_PATH
from tests.fakes.acconfig import RedirectParameter, portal_settings

HEAD = struct.Struct("!BBBBHH4sHBB")
REQ_CHALLENGE, ACK_CHALLENGE, REQ_AUTH, ACK_AUTH, REQ_LOGOUT, ACK_LOGOUT = range(1, 7)
AFF_ACK_AUTH, NTF_LOGOUT, REQ_INFO, ACK_INFO, ACK_NTF_LOGOUT = 7, 8, 9, 10, 14
USER_NAME, PASSWORD, CHALLENGE, CHAP_PASSWORD, TEXT_INFO = 1, 2, 3, 4, 5
ANSWERS_OF = {REQ_CHALLENGE: ACK_CHALLENGE, REQ_AUTH: ACK_AUTH, REQ_LOGOUT: ACK_LOGOUT,
              REQ_INFO: ACK_INFO}

# the redirect parameters each vendor's AC appends to the portal URL (docs/portal.md)
REDIRECT_PARAMETERS = {
    "huawei": {"user_ip": "wlanuserip", "ac_name": "wlanacname", "ac_ip": "wlanacip",
               "ssid": "ssid", "user_mac": "usermac", "url": "redirect-url"},
    "h3c": {"user_ip": "userip", "ac_name": "wlanacname", "ac_ip": "nasip", "ssid": "ssid",
            "user_mac": "usermac", "url": "userurl"},
    "ruijie": {"user_ip": "wlanuserip", "ac_name": "wlanacname", "ac_ip": "nasip",
               "ssid": "ssid", "user_mac": "mac", "url": "url"},
}


@dataclass
class Online:
    name: str
    serial: int
    req_id: int
    session_id: str
    affirmed: bool = False
    active_at: float = field(default_factory=time.monotonic)  # its last traffic


@dataclass
class FakeAc:
    secret: bytes
    version: int = 2
    name: str = "ac-test"
    vendor: str = "huawei"
    # RADIUS server (address, auth port, acct port, secret); None: check ``passwords``
    radius: tuple[str, int, int, bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)
    portal: tuple[str, int] | None = None  # where NTF_LOGOUT goes
    drop_requests: Counter[int] = field(default_factory=Counter)
    drop_answers: Counter[int] = field(default_factory=Counter)
    delay: float = 0.0
    sign_secret: bytes | None = None
    answer_twice: bool = False
    challenge_when_online: bool = False
    ntf_tries: int = 3
    ntf_timeout: float = 0.5
    online: dict[str, Online] = field(default_factory=dict)
    # user ip → (serial, request id, challenge) of the challenge it was given
    challenges: dict[str, tuple[int, int, bytes]] = field(default_factory=dict)
    received: Counter[int] = field(default_factory=Counter)
    bad_authenticator: int = 0
    radius_logins: int = 0  # Access-Requests sent
    accounting: list[tuple[str, str]] = field(default_factory=list)  # (status, user ip)
    logged_out: list[tuple[str, str]] = field(default_factory=list)  # (user ip, why)
    macs: dict[str, str] = field(default_factory=dict)  # user ip → MAC, as the AC learnt it
    address: str = "127.0.0.1"  # the AC's own address: Portal and RADIUS come from it
    port: int = 0  # its portal port (0: any free one)
    coa_port: int = 0  # its RFC 5176 port, for Disconnect and CoA (0: any free one)
    # a user online this long (s) without traffic (:meth:`touch`) is logged out as idle,
    # with an NTF_LOGOUT; None: never
    idle_timeout: float | None = None
    interim_interval: float | None = None  # Interim-Update for each online user; None: none
    coa_set: dict[str, dict[str, Any]] = field(default_factory=dict)  # user ip → last CoA's
    # the redirect as configured (from_running_config): the portal URL, which wins over
    # the one redirect_url is given, and the parameters by their configured names
    # (none: REDIRECT_PARAMETERS of the vendor)
    url: str = ""
    parameters: tuple[RedirectParameter, ...] = ()
    ssid: str = "citynet"

    @classmethod
    def from_running_config(cls, text: str, vendor: str, secrets: Mapping[str, str],
                            **knobs: Any) -> FakeAc:
        """The AC that a fake ``huawei`` or ``h3c`` device with running configuration
        ``text`` is, its keys opened with the device's store ``secrets`` (token → clear
        value); ``knobs``: other fields (``version``: the Portal version it speaks, 2
        unless given — a Huawei AC takes both). A setting missing raises ConfigError."""
        settings = portal_settings(text, vendor, secrets)
        host, auth, acct, key = settings.radius
        return cls(settings.secret.encode(), vendor=vendor, name=settings.name,
                   address=settings.address, port=settings.port,
                   radius=(host, auth, acct, key.encode()), portal=settings.portal,
                   url=settings.url, parameters=settings.parameters, ssid=settings.ssid,
                   **knobs)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.address, self.port))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._answered: dict[tuple[int, int, int, str], bytes] = {}
        self._req_ids = iter(range(1, 1 << 16))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.coa_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.coa_sock.bind((self.address, self.coa_port))
        self.coa_sock.settimeout(0.2)
        self.coa_port = int(self.coa_sock.getsockname()[1])
        self._coa_thread = threading.Thread(target=self._serve_coa, daemon=True)
        self._clock_thread = threading.Thread(target=self._keep_time, daemon=True)
        self._coa_answered: dict[tuple[int, bytes], bytes] = {}
        self._dictionary = Dictionary(str(DICTIONARY_PATH))
        self._acked: set[int] = set()
        self._working: set[tuple[int, int, int, str]] = set()  # requests being acted on
        self._notices: dict[int, bytes] = {}  # serial → authenticator of our NTF_LOGOUT
        self._answering: list[threading.Thread] = []  # joined before the socket closes
        # an answer's copies go out together: a later answer (from another answer thread)
        # never slips between them, so a duplicate (answer_twice) arrives while the client
        # still waits for that later answer, and is seen
        self._sending = threading.Lock()

    def __enter__(self) -> FakeAc:
        self._thread.start()
        self._coa_thread.start()
        self._clock_thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._coa_thread.join(timeout=10)
        self._clock_thread.join(timeout=10)
        for answering in self._answering:  # a late answer must not meet a closed socket
            answering.join(timeout=10)
        self.sock.close()
        self.coa_sock.close()

    # --- the HTTP side: where an unauthenticated browser is sent ---------------------

    def redirect_url(self, portal_url: str, user_ip: str, user_mac: str,
                     ssid: str | None = None, url: str = "http://example.com/") -> str:
        """Where the AC sends a browser: its configured URL (else ``portal_url``) with
        its parameters."""
        self.macs[user_ip] = user_mac
        values = {"user_ip": user_ip, "ac_name": self.name, "ac_ip": self.address,
                  "ssid": ssid or self.ssid, "user_mac": user_mac, "url": url}
        if self.parameters:
            query = [(p.name, values[p.role] if p.role else p.value) for p in self.parameters]
        else:
            names = REDIRECT_PARAMETERS[self.vendor]
            query = [(names[k], v) for k, v in values.items()]
        return (self.url or portal_url) + "?" + urlencode(query)

    def redirector(self, portal_url: str, user_mac: str) -> RedirectServer:
        """The AC's HTTP interception as a server of its own: any GET from a client not
        online is answered 302 to the portal with this vendor's parameters, the client's
        address as the user's; an online client gets a plain page. Start it with
        ``with``; its address is ``.url``."""
        return RedirectServer(self, portal_url, user_mac)

    # --- the wire -------------------------------------------------------------------

    def _signature(self, head: bytes, attrs: bytes, secret: bytes, request_auth: bytes) -> bytes:
        return hashlib.md5(head + request_auth + attrs + secret).digest()  # noqa: S324

    def _pack(self, kind: int, serial: int, req_id: int, user_ip: str, error: int,
              attrs: list[tuple[int, bytes]], request_auth: bytes = bytes(16),
              method: int = 0) -> bytes:
        head = HEAD.pack(self.version, kind, method, 0, serial, req_id,
                         ipaddress.IPv4Address(user_ip).packed, 0, error, len(attrs))
        body = b"".join(bytes((k, len(v) + 2)) + v for k, v in attrs)
        if self.version == 1:
            return head + body
        return head + self._signature(head, body, self.sign_secret or self.secret,
                                      request_auth) + body

    def _unpack(self, data: bytes) -> dict[str, Any] | None:
        size = 32 if self.version == 2 else 16
        if len(data) < size or data[0] != self.version:
            return None
        _, kind, method, _, serial, req_id, ip, _, error, count = HEAD.unpack_from(data)
        attrs: dict[int, bytes] = {}
        body, offset = data[size:], 0
        while offset + 2 <= len(body) and body[offset + 1] >= 2:
            attrs[body[offset]] = body[offset + 2:offset + body[offset + 1]]
            offset += body[offset + 1]
        if offset != len(body) or len(attrs) > count:
            return None
        auth = data[16:32] if self.version == 2 else bytes(16)
        # an ACK_NTF_LOGOUT is signed over our notice's authenticator, the rest over zeros
        signed_with = self._notices.get(serial, b"") if kind == ACK_NTF_LOGOUT else bytes(16)
        if self.version == 2 and (len(signed_with) != 16 or not hmac.compare_digest(
                auth, self._signature(data[:16], body, self.secret, signed_with))):
            self.bad_authenticator += 1
            return None
        return {"kind": kind, "method": method, "serial": serial, "req_id": req_id,
                "ip": str(ipaddress.IPv4Address(ip)), "error": error, "attrs": attrs,
                "auth": auth}

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(data) > 1 and self.drop_requests[data[1]] > 0:
                self.drop_requests[data[1]] -= 1
                continue
            request = self._unpack(data)
            if request is None:
                continue
            self.received[request["kind"]] += 1
            answering = threading.Thread(target=self._answer, args=(request, peer), daemon=True)
            self._answering = [t for t in self._answering if t.is_alive()] + [answering]
            answering.start()

    def _answer(self, request: dict[str, Any], peer: tuple[str, int]) -> None:
        kind = request["kind"]
        key = (kind, request["serial"], request["req_id"], request["ip"])
        with self._lock:
            reply = self._answered.get(key)  # a retransmission: the same answer again
            if reply is None and key in self._working:
                return  # a retransmission while RADIUS still decides: one answer comes
            self._working.add(key)
        if reply is None:
            try:
                reply = self._act(request)
            finally:
                # one step: a retransmission finds the request being acted on or its answer,
                # never neither (it would be acted on again: a second challenge, or login)
                with self._lock:
                    self._working.discard(key)
                    if reply is not None:
                        self._answered[key] = reply
            if reply is None:
                return
        if self.drop_answers[ANSWERS_OF.get(kind, 0)] > 0:
            self.drop_answers[ANSWERS_OF[kind]] -= 1
            return
        if self.delay:
            time.sleep(self.delay)
        with self._sending:
            for _ in range(2 if self.answer_twice else 1):
                self.sock.sendto(reply, peer)

    def _act(self, r: dict[str, Any]) -> bytes | None:
        kind, ip, serial = r["kind"], r["ip"], r["serial"]
        if kind == REQ_CHALLENGE:
            return self._challenge(r)
        if kind == REQ_AUTH:
            error, text = self._authenticate(r)
            attrs = [(TEXT_INFO, text.encode())] if text else []
            return self._pack(ACK_AUTH, serial, r["req_id"], ip, error, attrs, r["auth"],
                              r["method"])
        if kind == AFF_ACK_AUTH:
            with self._lock:
                user = self.online.get(ip)
                if user is not None and user.serial == serial:
                    user.affirmed = True
            return None
        if kind == REQ_LOGOUT:
            return self._pack(ACK_LOGOUT, serial, r["req_id"], ip, self._logout(r), [],
                              r["auth"], r["method"])
        if kind == REQ_INFO:
            return self._pack(ACK_INFO, serial, 0, ip, 0, [], r["auth"])
        if kind == ACK_NTF_LOGOUT:
            with self._lock:
                self._acked.add(serial)
        return None

    def _challenge(self, r: dict[str, Any]) -> bytes:
        ip, serial = r["ip"], r["serial"]
        with self._lock:
            if ip in self.online and not self.challenge_when_online:
                return self._pack(ACK_CHALLENGE, serial, 0, ip, 2, [], r["auth"])
            req_id, challenge = next(self._req_ids), os.urandom(16)
            self.challenges[ip] = (serial, req_id, challenge)
        return self._pack(ACK_CHALLENGE, serial, req_id, ip, 0, [(CHALLENGE, challenge)],
                          r["auth"])

    def _authenticate(self, r: dict[str, Any]) -> tuple[int, str]:
        ip, attrs = r["ip"], r["attrs"]
        name = attrs.get(USER_NAME, b"").decode()
        with self._lock:
            if ip in self.online:
                return 2, "already online"
            pending = self.challenges.pop(ip, None) if r["method"] == 0 else None
        if r["method"] == 0 and (pending is None or pending[:2] != (r["serial"], r["req_id"])):
            return 4, "no such challenge"
        ok = self._radius_login(name, r, pending[2] if pending else b"")
        if not ok:
            return 1, "rejected by RADIUS"
        session_id = f"{self.name}-{r['serial']:04x}-{os.urandom(3).hex()}"
        with self._lock:
            self.online[ip] = Online(name, r["serial"], r["req_id"], session_id)
        self._account("Start", ip)
        return 0, ""

    def _logout(self, r: dict[str, Any]) -> int:
        ip = r["ip"]
        with self._lock:
            if r["error"] == 1:  # the portal gave up on (serial, req id): undo what it began
                if self.challenges.get(ip, (None,))[0] == r["serial"]:
                    del self.challenges[ip]
                user = self.online.get(ip)
                if user is None or user.serial != r["serial"]:
                    return 0
            elif ip not in self.online:
                return 2
        self._end(ip, "portal timeout" if r["error"] == 1 else "portal logout")
        return 0

    def _end(self, ip: str, why: str) -> None:
        self._account("Stop", ip)
        with self._lock:
            self.online.pop(ip, None)
            self.logged_out.append((ip, why))

    # --- RADIUS, as the AC does it ------------------------------------------------------

    def _client(self) -> Client:
        assert self.radius is not None
        host, auth, acct, secret = self.radius
        client = Client(server=host, authport=auth, acctport=acct, secret=secret,
                        dict=self._dictionary)
        client.timeout, client.retries = 2, 2
        client.bind((self.address, 0))
        return client

    def _radius_login(self, name: str, r: dict[str, Any], challenge: bytes) -> bool:
        attrs = r["attrs"]
        if self.radius is None:
            password = self.passwords.get(name)
            if password is None:
                return False
            if r["method"] == 1:
                return attrs.get(PASSWORD) == password.encode()
            expected = hashlib.md5(bytes((r["req_id"] & 0xFF,)) + password.encode()  # noqa: S324
                                   + challenge).digest()
            return attrs.get(CHAP_PASSWORD) == expected
        client = self._client()
        request = client.CreateAuthPacket(code=pyrad_packet.AccessRequest, User_Name=name)
        request["NAS-Identifier"] = self.name
        request["NAS-IP-Address"] = self.address
        request["Framed-IP-Address"] = r["ip"]
        request["Calling-Station-Id"] = self.macs.get(r["ip"], "AA-BB-CC-00-00-01")
        if r["method"] == 1:
            request["User-Password"] = request.PwCrypt(attrs.get(PASSWORD, b"").decode())
        else:
            request["CHAP-Password"] = bytes((r["req_id"] & 0xFF,)) + attrs.get(
                CHAP_PASSWORD, b"")
            request["CHAP-Challenge"] = challenge
        request.add_message_authenticator()
        self.radius_logins += 1
        try:
            reply = client.SendPacket(request)
        except Timeout:
            return False
        finally:
            client._CloseSocket()
        return bool(reply.code == pyrad_packet.AccessAccept)

    def _account(self, status: str, ip: str) -> None:
        self.accounting.append((status, ip))
        user = self.online.get(ip)
        if self.radius is None or user is None:
            return
        client = self._client()
        request = client.CreateAcctPacket(User_Name=user.name)
        request["Acct-Status-Type"] = status
        request["Acct-Session-Id"] = user.session_id
        request["NAS-Identifier"] = self.name
        request["NAS-IP-Address"] = self.address
        request["Framed-IP-Address"] = ip
        request["Calling-Station-Id"] = self.macs.get(ip, "AA-BB-CC-00-00-01")
        try:
            with contextlib.suppress(Timeout):  # an AC keeps the user when accounting is lost
                client.SendPacket(request)
        finally:
            client._CloseSocket()

    # --- the AC's own decisions: idle timeout, an administrator's kick -------------------

    def strand(self, ip: str, name: str = "someone-else") -> None:
        """``ip`` online here without the portal or RADIUS having taken part (another
        portal's login, or one whose accounting never arrived)."""
        with self._lock:
            self.online[ip] = Online(name, 0, 0, f"{self.name}-stranded-{os.urandom(3).hex()}",
                                     affirmed=True)

    def touch(self, ip: str) -> None:
        """Traffic from ``ip``: it is not idle."""
        with self._lock:
            if ip in self.online:
                self.online[ip].active_at = time.monotonic()

    def _keep_time(self) -> None:
        """The AC's timers: idle users logged out (and the portal told), interim updates."""
        interim_due = time.monotonic() + (self.interim_interval or 0)
        while not self._stop.wait(0.05):
            now = time.monotonic()
            if self.idle_timeout is not None:
                with self._lock:
                    idle = [ip for ip, user in self.online.items()
                            if now - user.active_at >= self.idle_timeout]
                for ip in idle:
                    self.kick(ip, "idle")
            if self.interim_interval is not None and now >= interim_due:
                interim_due = now + self.interim_interval
                with self._lock:
                    online = list(self.online)
                for ip in online:
                    self._account("Interim-Update", ip)

    def kick(self, ip: str, why: str = "kicked") -> bool:
        """Take ``ip`` offline and tell the portal (NTF_LOGOUT, retransmitted until acked);
        whether the portal acknowledged."""
        self._end(ip, why)
        return self._notify(ip)

    def _notify(self, ip: str) -> bool:
        serial = 1 + int.from_bytes(os.urandom(2), "big") % 0xFFFE
        if self.portal is None:
            return False
        notice = self._pack(NTF_LOGOUT, serial, 0, ip, 0, [])
        self._notices[serial] = notice[16:32]
        for _ in range(self.ntf_tries):
            self.sock.sendto(notice, self.portal)
            deadline = time.monotonic() + self.ntf_timeout
            while time.monotonic() < deadline:
                with self._lock:
                    if serial in self._acked:
                        return True
                self._stop.wait(0.01)
        return False

    # --- RFC 5176: Disconnect and CoA from the RADIUS server ----------------------------

    def _serve_coa(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.coa_sock.recvfrom(4096)
            except OSError:
                continue
            key = (data[1], data[4:20]) if len(data) >= 20 else (0, b"")
            reply = self._coa_answered.get(key) or self._dynamic(data)
            if reply is not None:  # a retransmission gets the same answer
                self._coa_answered[key] = reply
                self.coa_sock.sendto(reply, peer)

    def _dynamic(self, data: bytes) -> bytes | None:
        """A Disconnect-Request ends the user's session found by Acct-Session-Id, else by
        Framed-IP-Address (an AC keys users by address), then tells the portal; a
        CoA-Request keeps what it sets. Silence for a wrong secret, as an AC does."""
        if self.radius is None:
            return None
        try:
            request = pyrad_packet.CoAPacket(packet=data, secret=self.radius[3],
                                             dict=self._dictionary)
        except pyrad_packet.PacketError:
            return None
        if not request.VerifyCoARequest() or (
                request.message_authenticator and not request.verify_message_authenticator()):
            return None
        session_id = request.get("Acct-Session-Id", [None])[0]
        framed = request.get("Framed-IP-Address", [None])[0]
        with self._lock:
            ip = next((ip for ip, user in self.online.items()
                       if user.session_id == session_id), None)
            if ip is None and session_id is None and framed in self.online:
                ip = str(framed)
        reply = request.CreateReply()
        disconnect = request.code == pyrad_packet.DisconnectRequest
        if ip is None:
            reply.code = pyrad_packet.DisconnectNAK if disconnect else pyrad_packet.CoANAK
            reply.AddAttribute("Error-Cause", "Session-Context-Not-Found")
        elif disconnect:
            self._end(ip, "radius disconnect")
            notice = threading.Thread(target=self._notify, args=(ip,), daemon=True)
            self._answering.append(notice)
            notice.start()
        else:
            # pyrad's keys() names the attributes; iterating the packet gives raw codes
            self.coa_set[ip] = {key: request[key][0] for key in request.keys()  # noqa: SIM118
                                if key not in ("Acct-Session-Id", "User-Name",
                                               "Framed-IP-Address", "Calling-Station-Id",
                                               "Event-Timestamp", "Message-Authenticator")}
        reply.add_message_authenticator()
        raw: bytes = reply.ReplyPacket()
        return raw


class RedirectServer:
    """What a browser behind the AC meets before login (FakeAc.redirector)."""

    def __init__(self, ac: FakeAc, portal_url: str, user_mac: str) -> None:
        fake = ac

        class Intercept(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                user_ip = self.client_address[0]
                if user_ip in fake.online:
                    body = b"online"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                original = f"http://{self.headers.get('Host', 'example.com')}{self.path}"
                self.send_response(302)
                self.send_header("Location", fake.redirect_url(portal_url, user_ip, user_mac,
                                                               url=original))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((ac.address, 0), Intercept)
        self.url = f"http://{ac.address}:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RedirectServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)
        self.server.server_close()


def main() -> None:
    """Run one fake AC in a process of its own (bench/acportal.py), until SIGTERM."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="a fake Huawei/H3C/Ruijie AC")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="ac-test")
    parser.add_argument("--vendor", default="huawei", choices=sorted(REDIRECT_PARAMETERS))
    parser.add_argument("--radius", required=True, help="host:auth-port:acct-port")
    args = parser.parse_args()
    host, auth, acct = args.radius.split(":")
    portal_key = os.environ["FAKE_AC_PORTAL_KEY"].encode()  # keys stay out of argv
    radius_secret = os.environ["FAKE_AC_RADIUS_SECRET"].encode()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeAc(portal_key, name=args.name, vendor=args.vendor, address=args.address,
                port=args.port, radius=(host, int(auth), int(acct), radius_secret)):
        stop.wait()


if __name__ == "__main__":
    main()
