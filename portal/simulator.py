"""A hotspot gateway SIMULATOR in the manner of CoovaChilli's UAM — for the demo and the
tests, not a NAS. It stands in for the gateway a phone is behind, on one machine:

- any page a not-yet-logged-in browser asks for → 302 to the portal with CoovaChilli's
  parameters (``res=notyet``, ``uamip``, ``uamport``, ``challenge``, ``mac``, ``ip``,
  ``nasid``, ``ssid``, ``sessionid``, ``userurl``, ``lang``) signed with ``md``;
- ``/logon?username&response&userurl`` → a real Access-Request (CHAP, as CoovaChilli:
  CHAP-Challenge = MD5(challenge + uamsecret)) to citynet's RADIUS listener; on Accept an
  Accounting-Start, then back to the portal with ``res=success`` (or ``res=failed`` and
  the Reply-Message);
- ``/logoff`` → Accounting-Stop, ``res=logoff``; ``/prelogin`` when online → ``res=already``.

Each browser is one simulated device, told apart by a cookie; a first visit may choose
its MAC with ``?sim-mac=AA-BB-CC-DD-EE-FF`` (tests), else it gets a random private one.
"""

from __future__ import annotations

import contextlib
import http.cookies
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from citynet.catalogs import gettext as _
from citynet.macs import normal_mac
from portal import uam
from radius import codec
from radius.wire import Code, Malformed

log = logging.getLogger(__name__)

COOKIE = "chilli-device"
ANSWERS = frozenset({Code.ACCESS_ACCEPT, Code.ACCESS_REJECT})


@dataclass
class Device:
    mac: str  # AA-BB-CC-DD-EE-FF, as CoovaChilli writes it
    ip: str
    challenge: str = field(default_factory=lambda: secrets.token_hex(16))
    session_id: str = ""
    username: str = ""
    online: bool = False
    started: float = 0.0
    klass: bytes = b""
    reply: dict[str, Any] = field(default_factory=dict)  # the last Access-Accept's attributes


class Simulator:
    """The gateway: an HTTP server on ``bind:port`` (0: any free port) and a RADIUS client."""

    def __init__(self, portal_url: str, radius_host: str, auth_port: int, acct_port: int,
                 secret: str, nasid: str, uam_secret: str, bind: str = "127.0.0.1",
                 port: int = 0, ssid: str = "i-Luohu", ap: str = "00-E0-FC-12-34-56") -> None:
        self.portal_url, self.nasid, self.uam_secret = portal_url, nasid, uam_secret
        self.radius = (radius_host, auth_port, acct_port)
        self.secret = secret.encode()
        self.ssid, self.ap = ssid, ap
        self.devices: dict[str, Device] = {}
        self._lock = threading.Lock()
        self._next_ip = 10
        self.server = ThreadingHTTPServer((bind, port), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="hotspot-sim",
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def address(self) -> str:
        return str(self.server.server_address[0])

    def describe(self) -> str:
        return _("hotspot simulator (CoovaChilli-style UAM gateway, NOT a real NAS) on "
                 "%(url)s", url=f"http://{self.address}:{self.port}/")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    # --- devices -----------------------------------------------------------------------

    def device(self, token: str | None, mac: str | None) -> tuple[str, Device]:
        with self._lock:
            if token and token in self.devices:
                return token, self.devices[token]
            token = secrets.token_urlsafe(12)
            normal = normal_mac(mac) if mac else ""
            if not normal:  # a phone's private address: locally administered, random
                octets = [0x02] + [secrets.randbelow(256) for _ in range(5)]
                normal = ":".join(f"{o:02x}" for o in octets)
            self._next_ip += 1
            found = Device(mac=normal.upper().replace(":", "-"),
                           ip=f"10.1.{self._next_ip // 250}.{self._next_ip % 250 + 2}")
            self.devices[token] = found
            return token, found

    def redirect_url(self, device: Device, res: str, userurl: str = "", reply: str = "",
                     lang: str = "") -> str:
        """The portal URL with CoovaChilli's parameters, in its order, signed with md."""
        params = [("res", res), ("uamip", self.address), ("uamport", str(self.port))]
        if res in ("notyet", "failed"):
            params.append(("challenge", device.challenge))
        params += [("called", self.ap), ("mac", device.mac), ("ip", device.ip)]
        if reply:
            params.append(("reply", reply))
        params += [("ssid", self.ssid), ("nasid", self.nasid)]
        if lang:
            params.append(("lang", lang))
        if device.session_id:
            params.append(("sessionid", device.session_id))
        if userurl:
            params.append(("userurl", userurl))
        separator = "&" if "?" in self.portal_url else "?"
        url = self.portal_url + separator + urlencode(params, quote_via=quote)
        return f"{url}&md={uam.signature(url, self.uam_secret)}" if self.uam_secret else url

    # --- RADIUS ------------------------------------------------------------------------

    def _ask(self, port: int, request: bytes, allowed: frozenset[Code]) -> dict[str, Any]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _attempt in range(3):
                sock.sendto(request, (self.radius[0], port))
                sock.settimeout(3.0)
                try:
                    data, _ = sock.recvfrom(4096)
                except TimeoutError:
                    continue
                answer = codec.reply_from_nas(request, data, self.secret, allowed)
                answer["code"] = Code(data[0])
                return answer
        raise TimeoutError("no answer from RADIUS")

    def logon(self, device: Device, username: str, response_hex: str) -> tuple[bool, str]:
        """CoovaChilli's /logon: CHAP to RADIUS, accounting Start on Accept."""
        try:
            chap = b"\0" + bytes.fromhex(response_hex)
        except ValueError:
            return False, "bad response"
        device.session_id = device.session_id or secrets.token_hex(8)
        attributes = {
            "User-Name": username, "CHAP-Password": chap,
            "CHAP-Challenge": uam.chap_challenge(device.challenge, self.uam_secret),
            "Calling-Station-Id": device.mac, "Called-Station-Id": f"{self.ap}:{self.ssid}",
            "NAS-Identifier": self.nasid, "Framed-IP-Address": device.ip,
            "Acct-Session-Id": device.session_id, "NAS-Port-Type": "Wireless-802.11"}
        request = codec.encode_request(Code.ACCESS_REQUEST, self.secret, attributes)
        try:
            answer = self._ask(self.radius[1], request, ANSWERS)
        except (TimeoutError, Malformed) as exc:
            return False, f"RADIUS: {exc}"
        device.challenge = secrets.token_hex(16)  # a challenge is good for one try
        if answer["code"] != Code.ACCESS_ACCEPT:
            return False, str(answer.get("Reply-Message", [""])[0])
        device.online, device.username, device.started = True, username, time.monotonic()
        device.klass = (answer.get("Class") or [b""])[0]
        device.reply = {k: v for k, v in answer.items() if k != "code"}
        self.account(device, "Start")
        return True, ""

    def account(self, device: Device, status: str, octets: int = 0) -> None:
        attributes: dict[str, Any] = {
            "Acct-Status-Type": status, "Acct-Session-Id": device.session_id,
            "User-Name": device.username, "Calling-Station-Id": device.mac,
            "Called-Station-Id": f"{self.ap}:{self.ssid}", "NAS-Identifier": self.nasid,
            "Framed-IP-Address": device.ip,
            "Acct-Session-Time": int(time.monotonic() - device.started) if device.started else 0,
            "Acct-Input-Octets": octets, "Acct-Output-Octets": octets * 4}
        if device.klass:
            attributes["Class"] = device.klass
        if status == "Stop":
            attributes["Acct-Terminate-Cause"] = "User-Request"
        request = codec.encode_request(Code.ACCOUNTING_REQUEST, self.secret, attributes,
                                       message_authenticator=False)
        self._ask(self.radius[2], request, frozenset({Code.ACCOUNTING_RESPONSE}))

    def logoff(self, device: Device) -> None:
        if device.online:
            self.account(device, "Stop")
        device.online, device.session_id, device.klass = False, "", b""


def _handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("simulator: " + format, *args)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            cookies = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
            token, device = sim.device(cookies[COOKIE].value if COOKIE in cookies else None,
                                       query.get("sim-mac"))
            lang = query.get("lang", "")
            if parts.path == "/logon":
                ok, reply = sim.logon(device, query.get("username", ""),
                                      query.get("response", ""))
                target = sim.redirect_url(device, "success" if ok else "failed",
                                          query.get("userurl", ""), reply=reply)
            elif parts.path == "/logoff":
                sim.logoff(device)
                target = sim.redirect_url(device, "logoff")
            elif parts.path == "/prelogin" and device.online:
                target = sim.redirect_url(device, "already")
            elif device.online:
                self._send(200, f"online as {device.username}: {parts.path}", token)
                return
            else:
                userurl = query.get("userurl") or f"http://example.com{parts.path}"
                target = sim.redirect_url(device, "notyet", userurl, lang=lang)
            self.send_response(302)
            self.send_header("Location", target)
            self._cookie(token)
            self.end_headers()

        def _send(self, status: int, text: str, token: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self._cookie(token)
            self.end_headers()
            self.wfile.write(body)

        def _cookie(self, token: str) -> None:
            self.send_header("Set-Cookie", f"{COOKIE}={token}; Path=/; HttpOnly")

    return Handler


class DemoHotspot:
    """The simulator as a service of `citynet demo`: started after the RADIUS listener,
    whose ports it needs."""

    def __init__(self, radius: Any, portal_url: str, nasid: str, secret: str,
                 uam_secret: str, port: int) -> None:
        self.radius, self.portal_url, self.port = radius, portal_url, port
        self.nasid, self.secret, self.uam_secret = nasid, secret, uam_secret
        self.simulator: Simulator | None = None

    def describe(self) -> str:
        return self.simulator.describe() if self.simulator else _("hotspot simulator "
                                                                   "(stopped)")

    def start(self) -> None:
        auth, acct = self.radius.ports
        self.simulator = Simulator(self.portal_url, self.radius.config.bind, auth, acct,
                                   self.secret, self.nasid, self.uam_secret, port=self.port)
        self.simulator.start()

    def stop(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()


def main() -> None:
    """Run the simulator on its own: ``python -m portal.simulator --help``."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="A CoovaChilli-style hotspot gateway "
                                     "simulator (for demos and benchmarks; not a NAS).")
    parser.add_argument("--portal", required=True, help="portal URL, e.g. "
                        "http://127.0.0.1:8080/portal/")
    parser.add_argument("--radius", default="127.0.0.1:1812:1813",
                        help="RADIUS host:auth_port:acct_port")
    parser.add_argument("--secret", required=True, help="the NAS's RADIUS shared secret")
    parser.add_argument("--nasid", required=True, help="NAS-Identifier (the NAS's name)")
    parser.add_argument("--uam-secret", required=True)
    parser.add_argument("--port", type=int, default=3990)
    args = parser.parse_args()
    host, auth, acct = args.radius.rsplit(":", 2)
    simulator = Simulator(args.portal, host, int(auth), int(acct), args.secret, args.nasid,
                          args.uam_secret, port=args.port)
    simulator.start()
    print(simulator.describe(), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    simulator.stop()


if __name__ == "__main__":
    main()
