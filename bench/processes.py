"""Benchmark: RADIUS throughput with one and with two listener processes on one node.

Target (issue 18): two listener processes (`citynet serve --role radius` with
radius.processes = 2, sharing the ports through SO_REUSEPORT) answer >= 1.6 x the
Access-Requests per second of one, on this 2-core machine — on PostgreSQL (a fresh
database on 127.0.0.1:5432) and on SQLite.

Same requests as bench/auth.py: PAP with a voucher code, signed with
Message-Authenticator; every one decided by real policy with its login record committed
before the answer. The load is closed-loop: FLOWS UDP sockets (a NAS each: the kernel
spreads them over the listeners by their 4-tuple), each keeping IN_FLIGHT requests
outstanding and sending the next as soon as one is answered, so each listener is kept busy
however the flows fall. Rate = Access-Accepts answered in the measured window / its
length, after a warm-up. The generator runs in this process, on the same two cores (its
CPU is not excluded): the figures are what one node does with its own load beside it.
Runs of 1 and 2 processes alternate (--rounds), on one store per backend. Each run also
says where the CPU went in the measured window — the listener processes, PostgreSQL's
backends, this generator, and how busy the two cores were in all — since a second listener
can only add what the cores have left.

    .venv/bin/python bench/processes.py [--seconds 10] [--rounds 2] [--only sqlite]
                                        [--in-flight 4]

With ``--nodes``: two nodes on one PostgreSQL store instead — two ``citynet serve --role
radius`` of one listener each, on ports of their own (two machines' NASes: the flows
split between them), alternating runs where both nodes append their login records to
chain 0 (``radius.node`` left 0 on both, as before nodes were numbered; ``--shared-code
DIR`` runs that side from another checkout, e.g. main's) and runs where they have a chain
each (``radius.node`` 0 and 1: chains 0 and 64). Both nodes share this machine's two
cores, so this measures the chain's lock between two writer processes, not two machines.

    .venv/bin/python bench/processes.py --nodes [--shared-code /path/to/main]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import os
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import free_udp_port, wait_for_status

CITYNET = str(Path(sys.executable).parent / "citynet")
SECRET = "bench-processes-secret"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FLOWS = 16
IN_FLIGHT = 4  # per flow: 64 in all, as radclient -p 64 in bench/auth.py
WARM_UP = 2.0  # seconds before the measured window
LOST_AFTER = 3.0  # seconds: an unanswered request is counted lost and replaced


def access_requests(code: str, count: int) -> list[bytes]:
    """``count`` distinct signed Access-Requests (PAP; Message-Authenticator first), the
    identifier cycling 0-255. Made here rather than with pyrad: ~5 us each, not ~60, so a
    pool for a whole run is ready in a second."""
    secret = SECRET.encode()
    password = code.encode().ljust(16 * ((len(code) + 15) // 16), b"\0")
    mac = b"AA-BB-CC-DD-EE-01"

    def attribute(kind: int, value: bytes) -> bytes:
        return bytes((kind, len(value) + 2)) + value

    packets = []
    for n in range(count):
        authenticator = os.urandom(16)
        hidden, previous = bytearray(), authenticator
        for start in range(0, len(password), 16):
            pad = hashlib.md5(secret + previous).digest()  # noqa: S324 (RFC 2865 5.2)
            block = bytes(a ^ b for a, b in zip(password[start:start + 16], pad, strict=True))
            hidden += block
            previous = block
        body = (attribute(80, bytes(16)) + attribute(1, code.encode())
                + attribute(2, bytes(hidden)) + attribute(31, mac))
        header = struct.pack("!BBH", 1, n % 256, 20 + len(body)) + authenticator
        signature = hmac.digest(secret, header + body, "md5")
        packets.append(header + attribute(80, signature) + body[18:])
    return packets


@dataclass
class Result:
    processes: int
    rate: float
    rejects: int
    lost: int
    cpu: dict[str, float]  # cores each part used in the window


def cpu_seconds(path: str) -> float:
    """User + system CPU seconds of the process whose /proc/PID/stat is ``path``."""
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[Path]:
    """The /proc/PID/stat of PostgreSQL's backends serving ``database``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f" {database} " in cmdline.read_text(errors="replace"):
                found.append(cmdline.with_name("stat"))
        except OSError:
            continue
    return found


def cpu_now(listeners: list[int], database: str = "") -> dict[str, float]:
    """CPU seconds used so far: by the listener processes, the PostgreSQL backends of
    ``database`` (they live as long as the listeners' pooled connections), this generator,
    and the machine's busy (non-idle) time over all cores."""
    postgres = _backends(database) if database else []
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return {"listeners": sum(cpu_seconds(f"/proc/{pid}/stat") for pid in listeners),
            "postgres": sum(cpu_seconds(str(path)) for path in postgres),
            "generator": sum(os.times()[:2]),
            "machine": (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")}


def load(port: int | list[int], pool: list[bytes], seconds: float,
         in_flight: int = IN_FLIGHT,
         listeners: list[int] | None = None,
         database: str = "") -> tuple[float, int, int, dict[str, float]]:
    """Closed-loop load on ``port`` (several: the flows split between them, flow f to the
    f-th modulo); (Access-Accepts per second in the window, rejects, lost, the CPU each
    part used in the window as cores: 1.0 = one core all the time)."""
    ports = port if isinstance(port, list) else [port]
    selector = selectors.DefaultSelector()
    socks = []
    per_flow = len(pool) // FLOWS
    cursor = [flow * per_flow for flow in range(FLOWS)]
    pending: dict[tuple[int, int], float] = {}  # (flow, identifier) -> sent at
    counts = {"accept": 0, "reject": 0, "lost": 0}

    def send(flow: int) -> None:
        index = cursor[flow]
        cursor[flow] = flow * per_flow + (index + 1 - flow * per_flow) % per_flow
        packet = pool[index]
        pending[(flow, packet[1])] = time.perf_counter()
        with contextlib.suppress(BlockingIOError):  # counted lost after LOST_AFTER
            socks[flow].sendto(packet, ("127.0.0.1", ports[flow % len(ports)]))

    for flow in range(FLOWS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
        selector.register(sock, selectors.EVENT_READ, flow)
    for flow in range(FLOWS):
        for _ in range(in_flight):
            send(flow)
    begin = time.perf_counter()
    window_start, window_end = begin + WARM_UP, begin + WARM_UP + seconds
    in_window = {"accept": 0, "reject": 0}
    next_sweep = begin + LOST_AFTER
    cpu_start: dict[str, float] | None = None
    while (now := time.perf_counter()) < window_end:
        if cpu_start is None and now >= window_start:
            cpu_start = cpu_now(listeners or [], database)
        for key, _events in selector.select(timeout=0.05):
            flow = key.data
            while True:
                try:
                    reply = socks[flow].recv(4096)
                except BlockingIOError:
                    break
                if pending.pop((flow, reply[1]), None) is None:
                    continue
                kind = "accept" if reply[0] == 2 else "reject"
                counts[kind] += 1
                if window_start <= time.perf_counter() < window_end:
                    in_window[kind] += 1
                send(flow)
        if now >= next_sweep:
            next_sweep = now + LOST_AFTER / 2
            for key_, sent in list(pending.items()):
                if now - sent > LOST_AFTER:
                    del pending[key_]
                    counts["lost"] += 1
                    send(key_[0])
    cpu_end = cpu_now(listeners or [], database)
    for sock in socks:
        selector.unregister(sock)
        sock.close()
    used = {part: (cpu_end[part] - (cpu_start or cpu_end)[part]) / seconds
            for part in cpu_end}
    return in_window["accept"] / seconds, in_window["reject"], counts["lost"], used


@contextmanager
def fresh_store(backend: str, tmp: Path) -> Iterator[dict[str, str]]:
    """The environment of a new, empty store on ``backend`` (PostgreSQL: dropped after)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env.update(CITYNET_DATA_DIR=str(tmp / backend), CITYNET_LOGGING__LEVEL="WARNING")
    name = f"citynet_bench_{uuid.uuid4().hex[:10]}"
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env["CITYNET_DATABASE__URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield env
    finally:
        if backend == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(env: dict[str, str]) -> str:
    def run(*args: str) -> str:
        return subprocess.run([CITYNET, *args], env=env, check=True, capture_output=True,
                              text=True).stdout

    run("db", "upgrade")
    run("nas", "add", "bench", "--ip", "127.0.0.1", "--secret", SECRET)
    return run("vouchers", "create", "--count", "1", "--minutes", "6000",
               "--devices", "1").strip()


@contextmanager
def serving(env: dict[str, str], processes: int, tmp: Path,
            secret: str = SECRET) -> Iterator[tuple[int, int, list[int]]]:
    """`citynet serve --role radius` with ``processes`` listeners on the store of ``env``
    (a NAS on 127.0.0.1 with ``secret``), on free fixed ports: (auth port, accounting
    port, the listeners' PIDs) once every listener answers; stopped after."""
    auth, acct = free_udp_port(), free_udp_port()
    env = {**env, "CITYNET_RADIUS__AUTH_PORT": str(auth),
           "CITYNET_RADIUS__ACCT_PORT": str(acct),
           "CITYNET_RADIUS__PROCESSES": str(processes), "CITYNET_LOGGING__LEVEL": "INFO"}
    log_path = tmp / f"serve-{processes}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([CITYNET, "serve", "--role", "radius"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # every listener up: the parent's line and theirs
        while log_path.read_bytes().count(b"Ctrl-C stops") < processes + (processes > 1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve with {processes} listeners did not start: "
                                 + log_path.read_text())
            time.sleep(0.1)  # polling for readiness
        wait_for_status(auth, secret=secret)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        yield auth, acct, [process.pid, *(int(pid) for pid in children.split())]
    finally:
        process.terminate()
        process.wait(timeout=60)


NODE_VARIANTS = ("shared", "own")  # both nodes on chain 0; a chain each


def node_envs(env: dict[str, str], variant: str, shared_code: str | None) -> list[dict[str, str]]:
    """The two nodes' environments: ``shared`` leaves radius.node unset (0 on both; from
    ``shared_code`` when given, which may predate the key), ``own`` gives 0 and 1."""
    if variant == "shared":
        code = {"PYTHONPATH": shared_code} if shared_code else {}
        return [{**env, **code} for _node in range(2)]
    return [{**env, "PYTHONPATH": str(ROOT), "CITYNET_RADIUS__NODE": str(node)}
            for node in range(2)]


def chain_rows(url: str) -> dict[int, int]:
    """Login records per chain in the store (which chains a variant wrote)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return dict(conn.execute(
            "SELECT chain, count(*) FROM login_record GROUP BY chain ORDER BY chain").fetchall())


def measure_nodes(env: dict[str, str], variant: str, pool: list[bytes], seconds: float,
                  tmp: Path, in_flight: int, shared_code: str | None) -> Result:
    with contextlib.ExitStack() as stack:
        nodes = [stack.enter_context(serving(node, 1, tmp))
                 for node in node_envs(env, variant, shared_code)]
        database = env["CITYNET_DATABASE__URL"].rsplit("/", 1)[-1]
        rate, rejects, lost, cpu = load([auth for auth, _acct, _pids in nodes], pool,
                                        seconds, in_flight,
                                        [pid for _a, _b, pids in nodes for pid in pids],
                                        database)
    return Result(2, rate, rejects, lost, cpu)


def main_nodes(args: argparse.Namespace) -> None:
    """Two nodes on one PostgreSQL store: on chain 0 both, or a chain each, alternating."""
    print(f"{os.cpu_count()} cores; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; two nodes of one listener; "
          f"shared chain from {args.shared_code or ROOT}, own chains from {ROOT}")
    rates: dict[str, list[float]] = {variant: [] for variant in NODE_VARIANTS}
    with tempfile.TemporaryDirectory() as tmp_name, fresh_store(
            "postgresql", Path(tmp_name)) as env:
        tmp = Path(tmp_name)
        code = seed(env)
        for _round in range(args.rounds):
            for variant in NODE_VARIANTS:
                before = chain_rows(env["CITYNET_DATABASE__URL"])
                pool = access_requests(code, args.pool)  # new requests: see main()
                result = measure_nodes(env, variant, pool, args.seconds, tmp,
                                       args.in_flight, args.shared_code)
                after = chain_rows(env["CITYNET_DATABASE__URL"])
                written = {chain: rows - before.get(chain, 0) for chain, rows in after.items()
                           if rows != before.get(chain, 0)}
                rates[variant].append(result.rate)
                print(f"{variant:<7} chains {written}  {result.rate:8,.0f} auths/s  rejects "
                      f"{result.rejects}  lost {result.lost}  (load average "
                      f"{os.getloadavg()[0]:.2f})", flush=True)
                print("        cores used: " + "  ".join(
                    f"{part} {used:.2f}" for part, used in result.cpu.items()), flush=True)
    shared, own = (statistics.median(rates[variant]) for variant in NODE_VARIANTS)
    pairs = [o / s for s, o in zip(rates["shared"], rates["own"], strict=True)]
    print(f"\nmedians over {args.rounds} pairs, {FLOWS} flows x {args.in_flight} in flight, "
          f"{args.seconds:g}-s windows: shared chain {shared:,.0f}/s, a chain each "
          f"{own:,.0f}/s: {own / shared:.2f} x (per pair "
          f"{', '.join(f'{ratio:.2f}' for ratio in pairs)})")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def measure(env: dict[str, str], processes: int, pool: list[bytes], seconds: float,
            tmp: Path, in_flight: int) -> Result:
    with serving(env, processes, tmp) as (auth, _acct, listeners):
        database = env.get("CITYNET_DATABASE__URL", "").rsplit("/", 1)[-1] if env.get(
            "CITYNET_DATABASE__URL") else ""
        rate, rejects, lost, cpu = load(auth, pool, seconds, in_flight, listeners, database)
    return Result(processes, rate, rejects, lost, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--rounds", type=int, default=2, help="1-then-2 pairs per backend")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT,
                        help=f"requests outstanding per flow ({FLOWS} flows)")
    parser.add_argument("--pool", type=int, default=200_000,
                        help="distinct requests made up front (reused across runs)")
    parser.add_argument("--nodes", action="store_true",
                        help="two nodes of one listener on one PostgreSQL store: a shared "
                        "login-record chain against a chain each")
    parser.add_argument("--shared-code", metavar="DIR",
                        help="--nodes: the checkout whose code runs the shared-chain side")
    args = parser.parse_args()
    if args.nodes:
        main_nodes(args)
        return
    backends = [args.only] if args.only else ["postgresql", "sqlite"]
    print(f"{os.cpu_count()} cores; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    summary = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for backend in backends:
            with fresh_store(backend, tmp) as env:
                code = seed(env)
                results = []
                for _round in range(args.rounds):
                    for processes in (1, 2):
                        # new requests for every run: a request the store already decided
                        # is a NAS's retry, answered from the stored decision (radius/
                        # retries.py) without deciding it again, so a reused pool would
                        # measure that shortcut, not logins
                        pool = access_requests(code, args.pool)
                        result = measure(env, processes, pool, args.seconds, tmp,
                                         args.in_flight)
                        results.append(result)
                        print(f"{backend:<10} {processes} listener process"
                              f"{'es' if processes > 1 else '  '}  {result.rate:8,.0f} "
                              f"auths/s  rejects {result.rejects}  lost {result.lost}  "
                              f"(load average {os.getloadavg()[0]:.2f})", flush=True)
                        print("           cores used: " + "  ".join(
                            f"{part} {used:.2f}" for part, used in result.cpu.items()),
                            flush=True)
            one = statistics.median(r.rate for r in results if r.processes == 1)
            two = statistics.median(r.rate for r in results if r.processes == 2)
            summary.append((backend, one, two))
    print(f"\nmedians over {args.rounds} rounds, {FLOWS} flows x {args.in_flight} in flight, "
          f"{args.seconds:g}-s windows:")
    for backend, one, two in summary:
        print(f"  {backend:<10} one {one:8,.0f}/s   two {two:8,.0f}/s   ratio "
              f"{two / one:.2f} x (target >= 1.6)")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
