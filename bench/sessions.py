"""Benchmark: listener memory with 100,000 active sessions.

Target (RADIUS issue, item 4): the RSS of `citynet radius serve` with 100,000 active
sessions <= 300 MB. The listener runs as its own process (SQLite store); radclient opens
the sessions with Accounting-Start and then sends one Interim-Update for each, so every
session is live and the listener's duplicate cache is at its fullest (30 s of replies).
Printed: RSS idle after start-up (the baseline), RSS after the load, and the peak (VmHWM).

    .venv/bin/python bench/sessions.py [--sessions 100000] [--parallel 1024]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from bench.auth import CITYNET, SECRET, free_udp_port, wait_for_status
from citynet.db import Store
from radius.models import RadiusSession

TARGET_MB = 300


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found


def send(path: Path, port: int, parallel: int) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(["radclient", "-q", "-s", "-p", str(parallel), "-r", "5", "-t", "5",
                             "-f", str(path), f"127.0.0.1:{port}", "acct", SECRET],
                            capture_output=True, text=True, check=False)
    summary = " ".join(line.strip() for line in result.stdout.splitlines() if "Lost" in line)
    return time.perf_counter() - started, summary or result.stderr.strip()[-200:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--parallel", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        auth, acct = free_udp_port(), free_udp_port()
        env.update(CITYNET_DATA_DIR=str(tmp / "citynet"), CITYNET_RADIUS__AUTH_PORT=str(auth),
                   CITYNET_RADIUS__ACCT_PORT=str(acct), CITYNET_LOGGING__LEVEL="WARNING")
        run = lambda *a: subprocess.run([CITYNET, *a], env=env, check=True,  # noqa: E731
                                        capture_output=True)
        run("db", "upgrade")
        run("nas", "add", "bench", "--ip", "127.0.0.1", "--secret", SECRET)
        for status in ("Start", "Interim-Update"):
            with (tmp / f"{status}.txt").open("w") as fh:
                for i in range(args.sessions):
                    fh.write(f'User-Name = "1{i:010d}"\nAcct-Status-Type = {status}\n'
                             f'Acct-Session-Id = "s-{i}"\nCalling-Station-Id = '
                             f'"02-00-{i >> 24 & 255:02X}-{i >> 16 & 255:02X}-'
                             f'{i >> 8 & 255:02X}-{i & 255:02X}"\n'
                             f"Framed-IP-Address = 10.{i >> 16 & 255}.{i >> 8 & 255}."
                             f"{i & 255}\nAcct-Session-Time = "
                             f"{0 if status == 'Start' else 300}\n\n")
        process = subprocess.Popen([CITYNET, "radius", "serve"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_status(auth)
            idle = memory(process.pid)
            timings = [send(tmp / f"{status}.txt", acct, args.parallel)
                       for status in ("Start", "Interim-Update")]
            loaded = memory(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
        store = Store(f"sqlite:///{tmp}/citynet/citynet.sqlite3")
        with store.session() as session:
            active = session.scalar(select(func.count()).select_from(RadiusSession).where(
                RadiusSession.stopped_at.is_(None))) or 0
        store.close()
    print(f"sessions:      {active:,} active in the store ({args.sessions:,} opened, "
          f"{args.parallel} in flight)")
    for name, (seconds, summary) in zip(("Starts", "Interims"), timings, strict=True):
        print(f"{name + ':':<14} {args.sessions / seconds:,.0f}/s ({summary})")
    print(f"RSS idle:      {idle['VmRSS']:.0f} MB (baseline: the listener with no sessions)")
    print(f"RSS loaded:    {loaded['VmRSS']:.0f} MB, peak {loaded['VmHWM']:.0f} MB "
          f"({loaded['VmHWM'] / idle['VmRSS']:.1f} x idle; target <= {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
