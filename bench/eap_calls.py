"""Benchmark: CPU of citynet's two rlm_rest calls per PEAP-MSCHAPv2 login, in-process.

Per PEAP login FreeRADIUS calls citynet twice (bench/eap.py counts them): ``tunnel`` (the
inner MSCHAPv2 login: the person's NT hash) and ``post-auth`` with ``auth=eap`` (the
admission decision, VLAN by role, and the login record, durable before the answer).
This replays those two calls as FreeRADIUS 3.2.1's rlm_rest sends them (its JSON body and
headers, captured from a real PEAP login of bench/eap.py's set-up) against the RADIUS
service `citynet serve` runs — the same store set-up as bench/eap.py (SQLite) — and
reports the CPU the service's event-loop thread spends per call (user + system: a
commit's fsync included). Everything the calls cost in citynet runs on that thread. The
client is a separate process (keep-alive connections, as rlm_rest's pool holds them), so
its work is not counted.

``--profile FILE`` writes a cProfile of the service's thread over the measured calls
(then the CPU figures include the profiler's overhead: compare them only with each other).
Last, post-auth's round alone (``--rounds``): the record writer deciding, recording and
committing one login on this process's main thread, no HTTP — steadier than the calls.

    .venv/bin/python bench/eap_calls.py [--logins 2000] [--concurrency 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import free_udp_port
from bench.eap import PEAP_USER, TOKEN, citynet_env, prepare_citynet
from bench.rest import free_tcp_port
from radius.service import RadiusService

# what rlm_rest (FreeRADIUS 3.2.1) sent for one PEAP login of bench/eap.py (captured)
TUNNEL = {"User-Name": {"type": "string", "value": [PEAP_USER]},
          "State": {"type": "octets", "value": ["0x187ad05318bfca0a6308c427515de2d3"]},
          "EAP-Message": {"type": "octets", "value": [
              "0x02c5003f1a02c5003a310c8cb323d709d7a520d06c01f42639d600000000000000001b80"
              "42a4dc1ca0d8dd40f6210d4932f72e80c23d4a08b8410074303032"]},
          "FreeRADIUS-Proxied-To": {"type": "ipaddr", "value": ["127.0.0.1"]},
          "EAP-Type": {"type": "integer", "value": ["MSCHAPv2"]}}
POST_AUTH = {"User-Name": {"type": "string", "value": [PEAP_USER]},
             "NAS-IP-Address": {"type": "ipaddr", "value": ["127.0.0.1"]},
             "Service-Type": {"type": "integer", "value": ["Framed-User"]},
             "Framed-MTU": {"type": "integer", "value": [1400]},
             "State": {"type": "octets", "value": ["0x9d69115095ae08e2475b4f51906fb4de"]},
             "Calling-Station-Id": {"type": "string", "value": ["02-00-00-00-00-01"]},
             "NAS-Port-Type": {"type": "integer", "value": ["Wireless-802.11"]},
             "Connect-Info": {"type": "string", "value": ["CONNECT 11Mbps 802.11b"]},
             "EAP-Message": {"type": "octets", "value": [
                 "0x02c7002e19001703030023e4f5e4699cb25be5bd8996195a9ccb48eeee43714a5c4256"
                 "303fae33b913c310ce0345"]},
             "Message-Authenticator": {"type": "octets", "value": [
                 "0x1e36d2536720f8c03a938d0801c945ea"]},
             "EAP-Type": {"type": "integer", "value": ["PEAP"]}}
CALLS = {"tunnel": ("tunnel?nas=bench", "authorize", "citynet-inner-tunnel", TUNNEL, 200),
         "post-auth": ("post-auth?nas=bench&packet=Access-Accept&auth=eap", "post-auth",
                       "default", POST_AUTH, 200)}


def request_bytes(port: int, call: str) -> bytes:
    path, section, server, body, _status = CALLS[call]
    data = json.dumps(body, separators=(",", ":")).encode()
    return (f"POST /radius/rest/{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: FreeRADIUS 3.2.1\r\nAccept: */*\r\n"
            "Content-Type: application/json\r\n"
            f"X-FreeRADIUS-Section: {section}\r\nX-FreeRADIUS-Server: {server}\r\n"
            f"X-Citynet-Token: {TOKEN}\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def _client(port: int, calls: list[str], logins: int, concurrency: int) -> None:
    """``logins`` times each of ``calls`` in turn, on ``concurrency`` connections."""
    requests = {call: request_bytes(port, call) for call in calls}
    left = [logins]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            for call in calls:
                writer.write(requests[call])
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                if status != CALLS[call][4]:
                    raise SystemExit(f"{call}: HTTP {status}")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def client_main(argv: list[str]) -> None:
    port, logins, concurrency = int(argv[0]), int(argv[1]), int(argv[2])
    asyncio.run(_client(port, argv[3].split(","), logins, concurrency))


def thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None  # started
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def on_loop(service: Any, call: Callable[[], object]) -> None:
    """Run ``call`` on the service's event-loop thread, and wait for it."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    service._loop.call_soon_threadsafe(run)
    done.wait(timeout=30)


def alone(service: RadiusService, rounds: int, repeat: int) -> list[float]:
    """CPU (µs) of post-auth's round by itself, ``repeat`` times ``rounds`` rounds on this
    thread: the record writer's work for one login (steadier than the calls, which a
    busy machine's scheduling moves)."""
    from radius.decisions import Login
    from radius.rlm_rest import JsonAttributes, login_attempt

    attempt = login_attempt(JsonAttributes(POST_AUTH), "eap")
    jobs = [(Login(attempt, "bench"), lambda _outcome: None)]
    spent = []
    for _ in range(repeat):
        before = time.thread_time()
        for _ in range(rounds):
            service.writer.run(jobs)
        spent.append((time.thread_time() - before) / rounds * 1e6)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=2000, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="connections calling at once (rlm_rest's pool)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per call")
    parser.add_argument("--calls", default="tunnel;post-auth;tunnel,post-auth",
                        help="what to measure, ';' between measurements (default: each "
                             "call alone, then both as a login)")
    parser.add_argument("--rounds", type=int, default=1000,
                        help="then post-auth's round alone, this many times: decided, "
                             "recorded and committed on this thread, no HTTP (0: not)")
    parser.add_argument("--profile", help="write a cProfile of the service's thread here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        api_port = free_tcp_port()
        env = citynet_env(tmp, free_tcp_port(), api_port)
        prepare_citynet(tmp, env, free_udp_port())
        os.environ.update(env)
        from citynet.runtime import Runtime
        from radius.manifest import _services

        runtime = Runtime()
        [made] = _services(runtime, runtime.box())
        service = cast(RadiusService, made)
        # CPU time of the thread, not wall time: the commit's fsync wait and the idle poll
        # are no work
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        service.start()
        client = [sys.executable, __file__, "--client", str(service.api_port)]
        try:
            # warm up: the pool's connections, the first round's statements
            subprocess.run([*client, "200", str(args.concurrency), "tunnel,post-auth"],
                           check=True)
            if profile is not None:  # on the service's thread: a profiler sees its own
                on_loop(service, profile.enable)
            results: dict[str, list[float]] = {}
            for _ in range(args.repeat):
                for calls in args.calls.split(";"):
                    before = thread_cpu(service._thread)
                    subprocess.run([*client, str(args.logins), str(args.concurrency), calls],
                                   check=True)
                    used = thread_cpu(service._thread) - before
                    results.setdefault(calls, []).append(used / args.logins * 1e6)
            if profile is not None:
                on_loop(service, profile.disable)
                profile.dump_stats(args.profile)
            if args.rounds:
                results["post-auth's round"] = alone(service, args.rounds, args.repeat)
        finally:
            service.stop()
    print(f"{args.logins} logins per measurement, {args.concurrency} connections, "
          f"{args.repeat} measurements; CPU of the RADIUS service's thread per call "
          f"(median, all in µs)")
    for calls, spent in results.items():
        print(f"  {calls.replace(',', ' + '):<18} {statistics.median(spent):7.0f}   "
              f"({', '.join(f'{value:.0f}' for value in spent)})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client_main(sys.argv[2:])
    else:
        main()
