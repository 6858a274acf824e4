"""Benchmark: complete voucher logins per second through the captive portal.

Target (portal issue): >= 300 complete voucher logins/s on the production web server on
2 cores, p95 <= 100 ms at 50 concurrent clients, with the ratio against the same server
serving a page that touches no store (the framework ceiling), measured in the same run.

Set-up, each part its own process on loopback: `citynet serve` (waitress, the production
web server), `citynet radius serve` (the listener), the hotspot simulator (`python -m
portal.simulator`), and this client: 50 threads. SQLite, or PostgreSQL with --postgres.
One login: the browser arrives through the gateway (hand-off, untimed), then, timed:
POST the voucher form → the portal answers with the gateway's /logon → the gateway
sends the Access-Request (CHAP) and, on Accept, the Accounting-Start → back to the
portal with res=success, answered with the success page. Each request's own p50/p95 is
printed too. Baseline: the same 50 clients GET /portal/terms (a rendered page,
no store access) from the same server. CPU per login of each process (issue 18's target:
web + RADIUS <= 3 ms) is the process's user + system time over the timed logins divided
by their number; the client's and the simulator's are shown apart (they are the load).
The web process's CPU per static page is shown too, and a second baseline run first: a
bare Flask app (one constant page; no template, session, catalog or store) on waitress as
`citynet serve` runs it, in a process of its own — the floor under any portal written
with Flask (a design-card package) on this server: a login's three portal pages cannot
cost less than three of its requests.

    .venv/bin/python bench/portal.py [--logins 2000] [--clients 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import CITYNET, free_udp_port
from citynet.config import WebConfig
from tests.support import free_port, http_answers

SECRET, UAM = "bench-radius-secret", "bench-uam-secret"
TARGET_RATE, TARGET_P95 = 300.0, 100.0


# each request's time by where it went ("portal /portal/voucher", "gateway /logon"):
# which leg of a login waits (lists take appends from every client thread)
LEGS: dict[str, list[float]] = defaultdict(list)


class Browser:
    """A cookie jar and keep-alive connections to the portal and the gateway."""

    def __init__(self, portal: int, gateway: int, mac: str) -> None:
        self.ports = {"portal": portal, "gateway": gateway}
        self.names = {portal: "portal", gateway: "gateway"}
        self.connections: dict[int, http.client.HTTPConnection] = {}
        self.cookies: dict[int, str] = {}
        self.mac = mac

    def get(self, url: str, method: str = "GET", body: str = "") -> tuple[int, str, str]:
        parts = urlsplit(url)
        port = parts.port or 80
        connection = self.connections.get(port)
        if connection is None:
            connection = self.connections[port] = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30)
        headers = {"Cookie": self.cookies[port]} if port in self.cookies else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        target = parts.path + ("?" + parts.query if parts.query else "")
        started = time.perf_counter()
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        LEGS[f"{self.names[port]} {method} {parts.path}"].append(
            (time.perf_counter() - started) * 1000)
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookies[port] = cookie.split(";")[0]
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            del self.connections[port]
        return response.status, response.getheader("Location") or "", text

    def follow(self, url: str, method: str = "GET", body: str = "") -> str:
        status, location, text = self.get(url, method, body)
        while status in (301, 302, 303):
            if location.startswith("/"):
                location = f"http://127.0.0.1:{self.ports['portal']}{location}"
            status, location, text = self.get(location)
        return text


def login(browser: Browser, code: str, gateway: int) -> float:
    page = browser.follow(f"http://127.0.0.1:{gateway}/news?sim-mac={browser.mac}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, "no login form"
    started = time.perf_counter()
    done = browser.follow(f"http://127.0.0.1:{browser.ports['portal']}/portal/voucher",
                          "POST", f"csrf={csrf.group(1)}&code={code}&consent=1")
    elapsed = time.perf_counter() - started
    assert "已连接" in done, done[:300]
    return elapsed


def run(clients: int, work: list[str], task: str, portal: int,
        gateway: int, think: float = 0.0) -> tuple[float, list[float]]:
    """Each client takes the next item until none is left; with ``think`` > 0 it first
    pauses a random time of that mean (exponential), as a person does between logins —
    the load is then what ``clients`` people offer, not the server's saturation. A task
    other than "login" is a GET of one page, each on a new connection as a login's are:
    "static" the portal's terms, "bare" the bare Flask app's."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(work)

    def client(index: int) -> None:
        mac = f"02-00-00-00-{index // 256:02X}-{index % 256:02X}"
        pauses = random.Random(index)  # noqa: S311 (pacing, not secrets)
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            if think:  # after taking the item: the run ends with the last login, no pause
                time.sleep(pauses.expovariate(1 / think))  # pacing, not a wait for state
            browser = Browser(portal, gateway, mac)
            if task == "login":
                elapsed = login(browser, item, gateway)
            else:
                started = time.perf_counter()
                path = "/portal/terms" if task == "static" else "/bare"
                status, _, _ = browser.get(f"http://127.0.0.1:{portal}{path}")
                elapsed = time.perf_counter() - started
                assert status == 200
            with lock:
                latencies.append(elapsed * 1000)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(work) / (time.perf_counter() - started), latencies


def serve_bare(port: int, threads: int) -> None:
    """The floor under any Flask portal: a Flask app whose one view returns a constant
    page as long as the terms page, on waitress as ``citynet serve`` runs it (same
    threads, same queue-depth logger) — no template, session, catalog or store."""
    from flask import Flask
    from waitress.server import create_server

    from citynet.server import QueueDepth

    app = Flask("bare")
    body = "<!doctype html><html><body>" + "x" * 3000 + "</body></html>"
    app.add_url_rule("/bare", "bare", lambda: body)
    server = create_server(app, host="127.0.0.1", port=port, threads=threads)
    server.task_dispatcher.queue_logger = QueueDepth(  # type: ignore[assignment]
        logging.getLogger("waitress.queue"))
    server.run()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94] if len(values) > 1 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database (production "
                        "store); default SQLite")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, WebConfig().threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        web_port, gateway_port = free_port(), free_port()
        auth, acct = free_udp_port(), free_udp_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        env.update(CITYNET_DATA_DIR=tmp, CITYNET_WEB__PORT=str(web_port),
                   CITYNET_RADIUS__AUTH_PORT=str(auth), CITYNET_RADIUS__ACCT_PORT=str(acct),
                   CITYNET_LOGGING__LEVEL="WARNING")
        if args.postgres:
            env["CITYNET_DATABASE__URL"] = args.postgres
        cli = lambda *a: subprocess.run([CITYNET, *a], env=env, check=True,  # noqa: E731
                                        capture_output=True, text=True).stdout
        cli("db", "upgrade")
        cli("nas", "add", "bench-gw", "--ip", "127.0.0.1", "--secret", SECRET,
            "--uam-secret", UAM, "--vendor", "coovachilli")
        codes = [v["code"] for v in json.loads(cli(
            "vouchers", "create", "--count", str(args.logins), "--minutes", "60", "--json"))]
        # the production layout: web and RADIUS in processes of their own (one GIL each)
        listener = subprocess.Popen([CITYNET, "radius", "serve"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen([CITYNET, "serve"], env={**env,
                                  "CITYNET_RADIUS__ENABLED": "false"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "portal.simulator", "--portal",
             f"http://127.0.0.1:{web_port}/portal/", "--radius", f"127.0.0.1:{auth}:{acct}",
             "--secret", SECRET, "--nasid", "bench-gw", "--uam-secret", UAM, "--port",
             str(gateway_port)], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not (http_answers(f"http://127.0.0.1:{web_port}/healthz")
                       and _listening(gateway_port) and _listening(bare_port)):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("citynet serve or the simulator did not start")
                time.sleep(0.1)
            pages = args.logins * 2
            bare_before = cpu_seconds(bare.pid)
            bare_rate, bare_ms = run(args.clients, ["x"] * pages, "bare", bare_port,
                                     gateway_port)
            bare_cpu_ms = 1000 * (cpu_seconds(bare.pid) - bare_before) / pages
            bare.terminate()  # off the cores before the portal's runs
            bare.wait(timeout=30)
            web_before = cpu_seconds(server.pid)
            static_rate, static_ms = run(args.clients, ["x"] * pages, "static",
                                         web_port, gateway_port)
            static_cpu_ms = 1000 * (cpu_seconds(server.pid) - web_before) / pages
            LEGS.clear()
            parts = {"web (citynet serve)": server.pid, "RADIUS (citynet radius serve)":
                     listener.pid, "gateway simulator": gateway.pid, "client (this)": os.getpid()}
            before = {part: cpu_seconds(pid) for part, pid in parts.items()}
            rate, login_ms = run(args.clients, codes, "login", web_port, gateway_port)
            cpu_ms = {part: 1000 * (cpu_seconds(pid) - before[part]) / len(codes)
                      for part, pid in parts.items()}
        finally:
            for process in (bare, gateway, server, listener):
                process.terminate()
                process.wait(timeout=30)
    print(f"store:         {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; "
          f"clients: {args.clients} concurrent, each with keep-alive connections")
    print(f"bare Flask:    {bare_rate:8,.0f} pages/s   p95 {p95(bare_ms):6.1f} ms "
          f"(a constant page, no template, session or store); CPU {bare_cpu_ms:.2f} ms a "
          f"page, three {3 * bare_cpu_ms:.2f} ms")
    print(f"static page:   {static_rate:8,.0f} pages/s   p95 {p95(static_ms):6.1f} ms "
          "(GET /portal/terms: the framework ceiling)")
    print(f"               web CPU {static_cpu_ms:.2f} ms a page: a login's three portal "
          f"pages at that cost {3 * static_cpu_ms:.2f} ms")
    print(f"voucher login: {rate:8,.0f} logins/s  p95 {p95(login_ms):6.1f} ms "
          f"(POST → /logon → Access-Request → Accept → Accounting-Start → success page)")
    print(f"ratio:         {rate / static_rate:.3f} x the static page; "
          f"{rate / TARGET_RATE:.2f} x the {TARGET_RATE:.0f}/s target "
          f"(p95 target {TARGET_P95:.0f} ms)")
    own = cpu_ms["web (citynet serve)"] + cpu_ms["RADIUS (citynet radius serve)"]
    print("CPU per login: " + ", ".join(f"{part} {ms:.2f} ms" for part, ms in cpu_ms.items())
          + f"; citynet's own (web + RADIUS) {own:.2f} ms (target <= 3 ms)")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("each request of the logins (the gateway's /logon holds the RADIUS exchanges):")
    for leg, times in LEGS.items():
        print(f"  {leg:<34} p50 {statistics.median(times):6.1f} ms  p95 {p95(times):6.1f} ms"
              f"  ({len(times)})")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _listening(port: int) -> bool:
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main()
