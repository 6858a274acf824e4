"""Benchmark: RADIUS latency and memory of `citynet serve` under steady load, with the
collectors on their intervals beside it.

Target (defects issue, item 9): on the embedded default (SQLite, one `citynet serve`) at a
steady 300 Access-Requests/s + 300 Accounting-Requests/s, nothing the collectors do may
push the Access-Request p99 of any 15-s window above 20 ms, and memory levels off.

Two runs, one after the other on the same seeded demo district and the same load:
- baseline: every collector's interval set to an hour (they run once, at start-up);
- collectors: their own intervals (hotspot use, reachability and alerts every minute,
  device state every 5 minutes, coverage hourly).
Each prints the Access-Request p50/p99/max of every 15-s window (a lost request counted as
2 s in the p99), the Accounting-Request p99, the lost requests, and the RSS of every
citynet process at each window's end.

    .venv/bin/python bench/steady.py [--minutes 3] [--rate 300] [--only collectors]
        [--fsync-probe]

``--fsync-probe`` writes 4 KiB and fdatasyncs it beside the database every 20 ms and
prints each window's fsync p99 and max: whether a slow RADIUS window is the disk's.

`make soak` runs it for 30 minutes (the RSS curve the issue asks for).
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import free_udp_port, wait_for_status
from radius import codec
from radius.wire import Code

CITYNET = str(Path(sys.executable).parent / "citynet")
SECRET = "demo-radius-secret"  # the demo NAS's, at 127.0.0.1
WINDOW = 15.0
SOCKETS = 8
LOST_MS = 2000.0  # a request never answered, in the p99
HOUR = 3600
COLLECTORS = ("coverage", "hotspot_use", "reachability", "device_state", "alerts")


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    auth_port: int
    acct_port: int
    codes: list[str]

    def pids(self) -> list[int]:
        """The serve process and its children (a collector process, if any)."""
        found = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            found += [int(pid) for pid in children.read_text().split()]
        return found


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_seconds() -> float:
    """CPU time the hypervisor gave to others, all cores, so far (/proc/stat's steal):
    on a virtual machine a quiet guest can still be short of CPU."""
    with open("/proc/stat") as stat:
        return int(stat.readline().split()[8]) / os.sysconf("SC_CLK_TCK")


def start(tmp: Path, busy: tuple[str, ...]) -> Server:
    """A seeded `citynet serve`; the collectors not named ``busy`` wait an hour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    auth, acct = free_udp_port(), free_udp_port()
    config = tmp / "citynet.toml"
    intervals = ", ".join(f"{name} = {HOUR}" for name in COLLECTORS if name not in busy)
    config.write_text(
        f'data_dir = "{tmp / "var"}"\n[web]\nport = {free_tcp_port()}\n'
        f"[radius]\nauth_port = {auth}\nacct_port = {acct}\n"
        f"[monitoring]\nintervals = {{{intervals}}}\n"
        '[logging]\nlevel = "WARNING"\n')
    env["CITYNET_CONFIG"] = str(config)

    def run(*args: str) -> str:
        return subprocess.run([CITYNET, *args], env=env, check=True, capture_output=True,
                              text=True).stdout

    run("demo", "--seed-only")
    codes = run("vouchers", "create", "--count", "50", "--minutes", "600",
                "--devices", "5").split()
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([CITYNET, "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_for_status(auth, secret=SECRET)
    except BaseException:  # never leave a serve (and its collectors) running behind
        stop(process)
        raise
    return Server(process, auth, acct, codes)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Window:
    auth_ms: list[float] = field(default_factory=list)
    acct_ms: list[float] = field(default_factory=list)
    lost: int = 0
    rss: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # each process's CPU seconds so far
    steal: float = 0.0  # the machine's steal seconds so far
    fsync_ms: list[float] = field(default_factory=list)  # the probe's, if it ran


def probe_fsync(directory: Path, windows: list[Window], begin: float,
                done: threading.Event) -> None:
    """Every 20 ms, 4 KiB written and fdatasync'd in ``directory`` (the database's file
    system), its latency kept in the window it began in."""
    block = os.urandom(4096)
    fd = os.open(directory / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        offset = 0
        while not done.wait(0.02):
            at = time.perf_counter()
            os.pwrite(fd, block, offset)
            os.fdatasync(fd)
            windows[min(int((at - begin) // WINDOW), len(windows) - 1)].fsync_ms.append(
                (time.perf_counter() - at) * 1000)
            offset = (offset + 4096) % (1 << 20)  # a 1 MiB file, rewritten in turn
    finally:
        os.close(fd)


def load(server: Server, rate: float, seconds: float,
         probe: Path | None = None) -> list[Window]:
    """Paced Access- and Accounting-Requests (``rate`` of each per second); answers timed
    per 15-s window by when the request was sent; the disk's fsync latency beside them,
    in ``probe`` (a directory), if given."""
    windows = [Window() for _ in range(int(seconds // WINDOW) + 1)]
    # 8 source sockets: 2,048 ids a port, so an answer up to ~3 s late is still matched
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(SOCKETS)]
    selector = selectors.DefaultSelector()
    for index, sock in enumerate(socks):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
    pending: dict[tuple[int, int, int], tuple[float, str]] = {}  # (socket, port, id)
    done = threading.Event()
    begin = time.perf_counter()

    def receive() -> None:
        while not done.is_set():
            for key, _events in selector.select(timeout=0.2):
                try:
                    reply, (_host, port) = socks[key.data].recvfrom(4096)
                except OSError:
                    continue
                sent = pending.pop((key.data, port, reply[1]), None)
                if sent is None:
                    continue
                at, kind = sent
                window = windows[min(int((at - begin) // WINDOW), len(windows) - 1)]
                (window.auth_ms if kind == "auth" else window.acct_ms).append(
                    (time.perf_counter() - at) * 1000)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    prober = threading.Thread(target=probe_fsync, args=(probe, windows, begin, done),
                              daemon=True) if probe is not None else None
    if prober is not None:
        prober.start()
    interval = 1.0 / (2 * rate)
    sessions = 2000
    for i in range(int(2 * rate * seconds)):
        target = begin + i * interval
        while (now := time.perf_counter()) < target:
            time.sleep(min(target - now, 0.0005))
        ident = (i // 2) % 256
        mac = f"02-00-00-{(i // 2) % sessions // 256:02X}-{(i // 2) % 256:02X}-01"
        if i % 2 == 0:
            code = server.codes[(i // 2) % len(server.codes)]
            packet = codec.encode_request(Code.ACCESS_REQUEST, SECRET.encode(), {
                "User-Name": code, "Calling-Station-Id": mac}, password=code,
                identifier=ident)
            port, kind = server.auth_port, "auth"
        else:
            session = (i // 2) % sessions
            status = "Start" if i < 2 * sessions else "Interim-Update"
            packet = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), {
                "User-Name": server.codes[session % len(server.codes)],
                "Acct-Status-Type": status, "Acct-Session-Id": f"steady-{session}",
                "Acct-Session-Time": i // 600, "Acct-Input-Octets": i * 100,
                "Acct-Output-Octets": i * 300, "Calling-Station-Id": mac,
                "Called-Station-Id": "AC-00-00-00-00-01:citynet"}, identifier=ident)
            port, kind = server.acct_port, "acct"
        key = ((i // 512) % SOCKETS, port, ident)
        unanswered = pending.pop(key, None)  # pop: the receiver thread pops too
        if unanswered is not None:  # the request 2,048 before on this id: counted lost
            windows[min(int((unanswered[0] - begin) // WINDOW), len(windows) - 1)].lost += 1
        pending[key] = (time.perf_counter(), kind)
        socks[key[0]].sendto(packet, ("127.0.0.1", port))
        if i % int(2 * rate * WINDOW) == int(2 * rate * WINDOW) - 1:
            window = windows[min(int((now - begin) // WINDOW), len(windows) - 1)]
            window.rss = [rss_mib(pid) for pid in server.pids()]
            window.cpu = [cpu_seconds(pid) for pid in server.pids()]
            window.steal = steal_seconds()
    deadline = time.monotonic() + 3
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    receiver.join()
    if prober is not None:
        prober.join()
    for at, _kind in pending.values():
        windows[min(int((at - begin) // WINDOW), len(windows) - 1)].lost += 1
    for sock in socks:
        sock.close()
    return [w for w in windows if w.auth_ms or w.lost]


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


def with_lost(window: Window) -> list[float]:
    """The window's Access-Request latencies, a lost one counted as LOST_MS (a NAS has
    retried by then): a stall must not hide by its requests not being answered."""
    return window.auth_ms + [LOST_MS] * window.lost


def report(label: str, windows: list[Window]) -> float:
    """Prints each window; returns the worst window's Access-Request p99 (lost ones
    counted as LOST_MS)."""
    print(f"\n{label}")
    print(" window   auth p50   auth p99   auth max   acct p99   lost   RSS MiB per process"
          "   CPU % per process   steal %   fsync p99/max ms")
    worst = 0.0
    before: list[float] = []
    stolen = 0.0
    for n, w in enumerate(windows):
        p99 = quantile(with_lost(w), 99)
        worst = max(worst, p99)
        rss = " ".join(f"{r:.1f}" for r in w.rss)
        # CPU each process used in the window, as % of one core (serve first)
        cpu = " ".join(f"{100 * (now - then) / WINDOW:.0f}"
                       for now, then in zip(w.cpu, before or [0.0] * len(w.cpu), strict=False))
        before = w.cpu or before
        steal = (f"{100 * (w.steal - stolen) / WINDOW / (os.cpu_count() or 1):.1f}"
                 if w.steal and stolen else "")
        stolen = w.steal or stolen
        print(f" {n * WINDOW:5.0f} s {quantile(w.auth_ms, 50):8.2f} {p99:10.2f} "
              f"{max(w.auth_ms, default=0):10.2f} {quantile(w.acct_ms, 99):10.2f} "
              f"{w.lost:6d}   {rss:20s}   {cpu:17s}   {steal:7s}"
              + (f"   {quantile(w.fsync_ms, 99):.2f}/{max(w.fsync_ms):.2f}"
                 if w.fsync_ms else ""))
    every = [ms for w in windows for ms in with_lost(w)]
    print(f" whole run: auth p99 {quantile(every, 99):.2f} ms, worst 15-s window p99 "
          f"{worst:.2f} ms, lost {sum(w.lost for w in windows)}")
    return worst


def run(label: str, busy: tuple[str, ...], minutes: float, rate: float,
        fsync_probe: bool = False) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        server = start(Path(tmp), busy)
        try:
            windows = load(server, rate, minutes * 60,
                           Path(tmp) / "var" if fsync_probe else None)
        finally:
            stop(server.process)
        return report(label, windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=300.0,
                        help="Access-Requests per second, and as many Accounting-Requests")
    parser.add_argument("--only", choices=("baseline", "collectors"))
    parser.add_argument("--fsync-probe", action="store_true",
                        help="time a 4 KiB write + fdatasync beside the database every 20 ms")
    parser.add_argument("--busy", default=",".join(COLLECTORS),
                        help="the collectors on their own intervals in the collectors run "
                        "(the rest wait an hour): to find which one a slow window is "
                        f"owed to [default: {','.join(COLLECTORS)}]")
    args = parser.parse_args()
    busy = tuple(name for name in args.busy.split(",") if name)
    if unknown := set(busy) - set(COLLECTORS):
        parser.error(f"--busy: no collector {', '.join(sorted(unknown))}")
    results = {}
    if args.only != "collectors":
        results["baseline"] = run("baseline: collectors' intervals an hour", (),
                                  args.minutes, args.rate, args.fsync_probe)
    if args.only != "baseline":
        results["collectors"] = run(f"collectors on their own intervals: {', '.join(busy)}",
                                    busy, args.minutes, args.rate, args.fsync_probe)
    if len(results) == 2:
        ratio = results["collectors"] / results["baseline"]
        print(f"\nworst window p99: collectors {results['collectors']:.2f} ms, baseline "
              f"{results['baseline']:.2f} ms, ratio {ratio:.2f} x (target: collectors <= 20 ms)")


if __name__ == "__main__":
    main()
