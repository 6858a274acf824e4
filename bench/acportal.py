"""Benchmark: complete Portal-protocol logins through the fake AC beside the UAM path, in
one run, against the same citynet.

Target (issue 19): Portal-protocol logins >= 0.8 x the UAM path's rate, p95 <= 100 ms at
50 concurrent users.

Set-up, each part its own process on loopback: `citynet serve` (waitress), `citynet radius
serve`, the hotspot simulator (the UAM NAS, at 127.0.0.1) and the fake AC
(`tests/fakes/ac.py`, at 127.0.0.2, a NAS of its own), and this client: 50 threads.
One Portal-protocol login, timed: POST the voucher form → the portal asks the AC for a
challenge, sends REQ_AUTH → the AC sends the Access-Request (CHAP with its challenge) and
the Accounting-Start → ACK_AUTH → AFF_ACK_AUTH → the success page. Each login comes from
an address of its own (127.1.x.y: the portal checks the redirect's wlanuserip against it,
and the AC keeps users by address). The UAM login is bench/portal.py's.

    .venv/bin/python bench/acportal.py [--logins 1000] [--clients 50] [--postgres URL]
        [--web-threads N] [--think SECONDS]

It prints each path's rate and p50/p95/p99 (milliseconds, from the POST of the voucher form
to the success page), the ratio of the rates and the load average before and after: on a
loaded machine the figures mean little.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import CITYNET, free_udp_port
from bench.portal import UAM, _listening, p95
from bench.portal import run as run_uam
from tests.support import free_port, http_answers

SECRET, PORTAL_KEY = "bench-radius-secret", "bench-portal-key"
AC_ADDRESS, AC_NAME = "127.0.0.2", "bench-ac"
TARGET_RATIO, TARGET_P95 = 0.8, 100.0


def user_address(index: int) -> str:
    return f"127.1.{index // 250}.{index % 250 + 1}"


class AcBrowser:
    """One phone behind the AC: its own source address, a cookie, keep-alive."""

    def __init__(self, portal: int, address: str) -> None:
        self.portal, self.address = portal, address
        self.connection = http.client.HTTPConnection("127.0.0.1", portal, timeout=30,
                                                     source_address=(address, 0))
        self.cookie = ""

    def get(self, target: str, method: str = "GET", body: str = "") -> tuple[int, str, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, target, body=body or None, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return response.status, response.getheader("Location") or "", text

    def follow(self, target: str, method: str = "GET", body: str = "") -> tuple[int, str]:
        status, location, text = self.get(target, method, body)
        while status in (301, 302, 303):
            parts = urlsplit(location)
            status, location, text = self.get(parts.path + (
                "?" + parts.query if parts.query else ""))
        return status, text


def ac_login(portal: int, index: int, code: str) -> float:
    address = user_address(index)
    browser = AcBrowser(portal, address)
    query = urlencode({"wlanuserip": address, "wlanacname": AC_NAME, "wlanacip": AC_ADDRESS,
                       "ssid": "bench", "usermac": f"02-01-00-00-{index // 256:02X}-"
                       f"{index % 256:02X}", "redirect-url": "http://example.com/"})
    _, page = browser.follow(f"/portal/?{query}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, "no login form: " + page[:300]
    started = time.perf_counter()
    status, done = browser.follow("/portal/voucher", "POST",
                                  f"csrf={csrf.group(1)}&code={code}&consent=1")
    elapsed = time.perf_counter() - started
    assert status == 200, done[:300]
    assert "已连接" in done, done[done.find("<main"):][:600]
    browser.connection.close()
    return elapsed


def run_ac(clients: int, codes: list[str], portal: int,
           think: float = 0.0) -> tuple[float, list[float]]:
    """As bench.portal.run: back to back, or with a pause of mean ``think`` s first."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(enumerate(codes))

    def client(number: int) -> None:
        pauses = random.Random(number)  # noqa: S311 (pacing, not secrets)
        while True:
            with lock:
                if not queue:
                    return
                index, code = queue.pop()
            if think:  # after taking the item: the run ends with the last login, no pause
                time.sleep(pauses.expovariate(1 / think))  # pacing, not a wait for state
            elapsed = ac_login(portal, index, code)
            with lock:
                latencies.append(elapsed * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(codes) / (time.perf_counter() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=1000, help="per path")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database")
    parser.add_argument("--think", type=float, default=0.0, metavar="SECONDS",
                        help="each user's mean pause before a login (exponential); 0: "
                        "back to back, the saturation rate. With a pause the clients are "
                        "people arriving, and p95 is their wait at that offered rate")
    parser.add_argument("--web-threads", type=int, help="web.threads of `citynet serve` "
                        "(default: citynet's); a Portal-protocol login holds one for its "
                        "whole exchange with the AC, a UAM login does not")
    args = parser.parse_args()
    # a SIGTERM (timeout, CI) runs the finally below: the four processes are stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        web_port, gateway_port, ac_port = free_port(), free_port(), free_udp_port()
        auth, acct = free_udp_port(), free_udp_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        env.update(CITYNET_DATA_DIR=tmp, CITYNET_WEB__PORT=str(web_port),
                   CITYNET_RADIUS__AUTH_PORT=str(auth), CITYNET_RADIUS__ACCT_PORT=str(acct),
                   CITYNET_LOGGING__LEVEL="WARNING")
        if args.postgres:
            env["CITYNET_DATABASE__URL"] = args.postgres
        if args.web_threads:
            env["CITYNET_WEB__THREADS"] = str(args.web_threads)
        cli = lambda *a: subprocess.run([CITYNET, *a], env=env, check=True,  # noqa: E731
                                        capture_output=True, text=True).stdout
        cli("db", "upgrade")
        cli("nas", "add", "bench-gw", "--ip", "127.0.0.1", "--secret", SECRET,
            "--uam-secret", UAM, "--vendor", "coovachilli")
        cli("nas", "add", AC_NAME, "--ip", AC_ADDRESS, "--secret", SECRET, "--vendor",
            "huawei", "--portal-protocol", "huawei-v2", "--portal-port", str(ac_port),
            "--portal-secret", PORTAL_KEY)
        codes = [v["code"] for v in json.loads(cli(
            "vouchers", "create", "--count", str(2 * args.logins), "--minutes", "60",
            "--json"))]
        listener = subprocess.Popen([CITYNET, "radius", "serve"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen([CITYNET, "serve"], env={
            **env, "CITYNET_RADIUS__ENABLED": "false", "CITYNET_PORTAL__PROTOCOL_PORT": "0"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "portal.simulator", "--portal",
             f"http://127.0.0.1:{web_port}/portal/", "--radius", f"127.0.0.1:{auth}:{acct}",
             "--secret", SECRET, "--nasid", "bench-gw", "--uam-secret", UAM, "--port",
             str(gateway_port)], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        ac = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.ac", "--address", AC_ADDRESS, "--port",
             str(ac_port), "--name", AC_NAME, "--radius", f"127.0.0.1:{auth}:{acct}"],
            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT), "FAKE_AC_PORTAL_KEY": PORTAL_KEY,
                           "FAKE_AC_RADIUS_SECRET": SECRET},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not (http_answers(f"http://127.0.0.1:{web_port}/healthz")
                       and _listening(gateway_port)):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("citynet serve or the simulator did not start")
                time.sleep(0.1)
            uam_rate, uam_ms = run_uam(args.clients, codes[:args.logins], "login", web_port,
                                       gateway_port, args.think)
            ac_rate, ac_ms = run_ac(args.clients, codes[args.logins:], web_port, args.think)
        finally:
            for process in (ac, gateway, server, listener):
                process.terminate()
                process.wait(timeout=30)
    print(f"store: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; "
          f"{args.clients} concurrent clients, "
          f"{f'a mean pause of {args.think} s first' if args.think else 'back to back'}, "
          f"{args.logins} logins per path, web threads "
          f"{args.web_threads or 'default'}; "
          f"load average before: {load_before}, after: {_load()}")
    for name, rate, times in (("UAM login", uam_rate, uam_ms),
                              ("Portal-protocol login", ac_rate, ac_ms)):
        print(f"{name + ':':<23}{rate:7,.1f} logins/s  {quantiles(times)}")
    print(f"ratio: {ac_rate / uam_rate:.2f} x the UAM path's rate (target >= {TARGET_RATIO}); "
          f"Portal-protocol p95 {p95(ac_ms):.1f} ms (target <= {TARGET_P95:.0f} ms at 50 "
          f"concurrent users)")


def quantiles(values: list[float]) -> str:
    """p50, p95 and p99 of ``values`` (milliseconds)."""
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return f"p50 {cuts[49]:7.1f} ms  p95 {cuts[94]:7.1f} ms  p99 {cuts[98]:7.1f} ms"


def _load() -> str:
    """The 1-minute load average (the numbers mean little on a loaded machine)."""
    return f"{os.getloadavg()[0]:.2f}"

if __name__ == "__main__":
    main()
