"""Benchmark: Access-Request throughput and latency, citynet vs FreeRADIUS 3.2 (`files`).

Target (RADIUS issue, item 1): citynet's listener with real policy (voucher lookup,
Message-Authenticator verified, login record written durably before the answer) at
>= 50 % of FreeRADIUS's rate with the `files` module on the same machine; p99 latency at
1,000 requests/s <= 5 ms.

Both servers run as their own processes on loopback and get the same requests: one
voucher code as User-Name and User-Password (PAP), signed with Message-Authenticator.
Throughput: Debian's radclient with 64 requests in flight. Latency: a paced sender in
this process (its own thread for receiving) at a fixed rate, one request every 1/rate s.
Needs Debian's freeradius and freeradius-utils.

    .venv/bin/python bench/auth.py [--requests 5000] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from radius import codec
from radius.freeradius import base_conf
from radius.wire import Code

SECRET = "bench-radius-secret"
CITYNET = str(Path(sys.executable).parent / "citynet")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_status(port: int, timeout: float = 60, secret: str = SECRET) -> None:
    request = codec.encode_request(Code.STATUS_SERVER, secret.encode(), {}, identifier=1)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        while time.monotonic() < deadline:
            sock.sendto(request, ("127.0.0.1", port))
            try:
                sock.recvfrom(4096)
                return
            except OSError:
                continue
    raise SystemExit(f"no server answered Status-Server on port {port}")


def start_citynet(tmp: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    port = free_udp_port()
    env.update(CITYNET_DATA_DIR=str(tmp / "citynet"), CITYNET_RADIUS__AUTH_PORT=str(port),
               CITYNET_RADIUS__ACCT_PORT=str(free_udp_port()), CITYNET_LOGGING__LEVEL="WARNING")
    run = lambda *args: subprocess.run([CITYNET, *args], env=env, check=True,  # noqa: E731
                                       capture_output=True, text=True).stdout
    run("db", "upgrade")
    run("nas", "add", "bench", "--ip", "127.0.0.1", "--secret", SECRET)
    code = run("vouchers", "create", "--count", "1", "--minutes", "600", "--devices", "1")
    process = subprocess.Popen([CITYNET, "radius", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_status(port)
    return process, port, code.strip()


# The baseline: files + pap, on the same global settings citynet generates.
FREERADIUS_SITE = """
modules {{
    files {{
        filename = {dir}/users
    }}
    pap {{
        normalise = yes
    }}
}}
client bench {{
    ipaddr = 127.0.0.1
    secret = {secret}
    require_message_authenticator = yes
}}
server default {{
    listen {{
        type = auth
        ipaddr = 127.0.0.1
        port = {port}
    }}
    authorize {{
        files
        pap
    }}
    authenticate {{
        pap
    }}
}}
"""


def start_freeradius(tmp: Path, code: str) -> tuple[subprocess.Popen[bytes], int]:
    conf = tmp / "freeradius"
    for sub in ("log", "run", "radacct", "mods-config"):
        (conf / sub).mkdir(parents=True, exist_ok=True)
    port = free_udp_port()
    (conf / "radiusd.conf").write_text(base_conf(conf) + FREERADIUS_SITE.format(
        dir=conf, port=port, secret=SECRET))
    (conf / "dictionary").write_text("$INCLUDE /usr/share/freeradius/dictionary\n")
    (conf / "users").write_text(f'"{code}" Cleartext-Password := "{code}"\n'
                                "\tSession-Timeout = 3600\n")
    binary = shutil.which("freeradius") or "/usr/sbin/freeradius"
    process = subprocess.Popen([binary, "-f", "-d", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_status(port)
    return process, port


IN_FLIGHT = 64


def throughput(port: int, code: str, requests: int, tmp: Path) -> tuple[float, str]:
    """Access-Requests answered a second, radclient keeping IN_FLIGHT outstanding.

    The request file holds IN_FLIGHT requests, each sent ``requests / IN_FLIGHT`` times
    (``-c``; radclient gives every sending a new authenticator): radclient's cost per
    request grows with its file's length — a 5,000-line file capped it at ~16,000/s, a
    20,000-line one at ~6,800/s, both below what FreeRADIUS answers — while with 64 lines
    it sends ~80,000/s to a bare responder (bench/floor.py) on this machine."""
    path = tmp / "requests.txt"
    path.write_text("".join(
        f'User-Name = "{code}"\nUser-Password = "{code}"\n'
        'Calling-Station-Id = "AA-BB-CC-DD-EE-01"\nMessage-Authenticator = 0x00\n\n'
        for _ in range(IN_FLIGHT)))
    count = max(1, requests // IN_FLIGHT)
    started = time.perf_counter()
    result = subprocess.run(["radclient", "-q", "-s", "-p", str(IN_FLIGHT), "-r", "3", "-t",
                             "5", "-c", str(count), "-f", str(path), f"127.0.0.1:{port}",
                             "auth", SECRET], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    summary = " ".join(line.strip() for line in result.stdout.splitlines()
                       if "Accepted" in line or "Lost" in line)
    return count * IN_FLIGHT / elapsed, summary


def latency(port: int, code: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Send at a fixed rate; returns latencies in ms of the answered ones, and the lost."""
    count = int(rate * seconds)
    packets = [codec.encode_request(Code.ACCESS_REQUEST, SECRET.encode(), {
        "User-Name": code, "Calling-Station-Id": "AA-BB-CC-DD-EE-01"}, password=code,
        identifier=i % 256) for i in range(count)]
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count // 256 + 1)]
    sent_at: dict[tuple[int, int], float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def receive(sock_index: int) -> None:
        sock = sockets[sock_index]
        sock.settimeout(0.2)
        while not done.is_set():
            try:
                reply = sock.recv(4096)
            except OSError:
                continue
            start = sent_at.pop((sock_index, reply[1]), None)
            if start is not None:
                latencies.append((time.perf_counter() - start) * 1000)

    receivers = [threading.Thread(target=receive, args=(i,), daemon=True)
                 for i in range(len(sockets))]
    for thread in receivers:
        thread.start()
    interval = 1.0 / rate
    begin = time.perf_counter()
    for i, packet in enumerate(packets):
        target = begin + i * interval
        while (now := time.perf_counter()) < target:
            time.sleep(min(target - now, 0.0005))
        sent_at[(i // 256, packet[1])] = time.perf_counter()
        sockets[i // 256].sendto(packet, ("127.0.0.1", port))
    deadline = time.monotonic() + 5
    while sent_at and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    for sock in sockets:
        sock.close()
    return latencies, count - len(latencies)


def describe(name: str, values: list[float], lost: int) -> str:
    if not values:
        return f"{name:<11} no answers ({lost} lost)"
    q = statistics.quantiles(values, n=100)
    return (f"{name:<11} p50 {q[49]:6.2f} ms  p99 {q[98]:7.2f} ms  max {max(values):7.2f} ms"
            f"  answered {len(values)}, lost {lost}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        citynet, c_port, code = start_citynet(tmp)
        freeradius, f_port = start_freeradius(tmp, code)
        try:
            f_rate, f_summary = throughput(f_port, code, args.requests, tmp)
            c_rate, c_summary = throughput(c_port, code, args.requests, tmp)
            f_lat = latency(f_port, code, args.rate, args.seconds)
            c_lat = latency(c_port, code, args.rate, args.seconds)
        finally:
            for process in (citynet, freeradius):
                process.terminate()
                process.wait(timeout=30)
    print(f"requests:    {args.requests} Access-Requests (PAP, Message-Authenticator), "
          "64 in flight (radclient)")
    print(f"FreeRADIUS:  {f_rate:8,.0f} auths/s   ({f_summary})")
    print(f"citynet:     {c_rate:8,.0f} auths/s   ({c_summary})")
    print(f"ratio:       {c_rate / f_rate:.3f} x FreeRADIUS (target >= 0.5)")
    print(f"latency at {args.rate:,.0f} requests/s for {args.seconds:g} s (target p99 <= 5 ms):")
    print("  " + describe("FreeRADIUS", *f_lat))
    print("  " + describe("citynet", *c_lat))


if __name__ == "__main__":
    main()
