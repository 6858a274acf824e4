"""Benchmark: FreeRADIUS → rlm_rest → citynet, voucher logins per second.

Target (RADIUS issue, item 2): >= 1,000 auths/s with zero timeouts, and the ratio against
citynet's own listener (item 1) measured in the same run.

`citynet serve` with its UDP listener off runs the rlm_rest API (aiohttp on the RADIUS
service's event loop, calls decided in the listener's rounds) on SQLite, or PostgreSQL with
--postgres; FreeRADIUS 3.2
runs the config `citynet freeradius config` generates; radclient
sends the same signed PAP requests to FreeRADIUS and, for the ratio, to
`citynet radius serve`. Needs Debian's freeradius, freeradius-rest, freeradius-utils.

    .venv/bin/python bench/rest.py [--requests 3000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import SECRET, free_udp_port, throughput, wait_for_status

CITYNET = str(Path(sys.executable).parent / "citynet")
TOKEN = "bench-rest-token"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database (the "
                        "production store at scale); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        web_port, api_port = free_tcp_port(), free_tcp_port()
        auth, acct = free_udp_port(), free_udp_port()
        listener_auth = free_udp_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        env.update(CITYNET_DATA_DIR=str(tmp / "citynet"), CITYNET_WEB__PORT=str(web_port),
                   CITYNET_RADIUS__REST_TOKEN=TOKEN, CITYNET_RADIUS__REST_PORT=str(api_port),
                   CITYNET_RADIUS__AUTH_PORT=str(listener_auth),
                   CITYNET_RADIUS__ACCT_PORT=str(free_udp_port()),
                   CITYNET_LOGGING__LEVEL="WARNING")
        if args.postgres:
            env["CITYNET_DATABASE__URL"] = args.postgres

        def run(*argv: str) -> str:
            return subprocess.run([CITYNET, *argv], env=env, check=True, capture_output=True,
                                  text=True).stdout

        run("db", "upgrade")
        run("nas", "add", "bench", "--ip", "127.0.0.1", "--secret", SECRET)
        code = run("vouchers", "create", "--count", "1", "--minutes", "600").strip()
        run("freeradius", "config", "--out", str(tmp / "fr"), "--auth-port", str(auth),
            "--acct-port", str(acct))
        web = subprocess.Popen([CITYNET, "serve"], env={**env, "CITYNET_RADIUS__ENABLED":
                                                        "false"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        radiusd = subprocess.Popen(["freeradius", "-f", "-d", str(tmp / "fr")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("citynet serve did not start") from None
                    time.sleep(0.2)
            wait_for_status(auth)
            rest_rate, rest_summary = throughput(auth, code, args.requests, tmp)
        finally:
            radiusd.terminate()
            web.terminate()
            radiusd.wait(timeout=30)
            web.wait(timeout=30)
        listener = subprocess.Popen([CITYNET, "radius", "serve"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_status(listener_auth)
            own_rate, own_summary = throughput(listener_auth, code, args.requests, tmp)
        finally:
            listener.terminate()
            listener.wait(timeout=30)
    print(f"requests:          {args.requests} voucher logins (PAP, signed), 64 in flight, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"FreeRADIUS→REST:   {rest_rate:8,.0f} auths/s  ({rest_summary})")
    print(f"citynet listener:  {own_rate:8,.0f} auths/s  ({own_summary})")
    print(f"ratio REST/own:    {rest_rate / own_rate:.2f} x; target >= 1,000/s: "
          f"{rest_rate / 1000:.2f} x")


if __name__ == "__main__":
    main()
