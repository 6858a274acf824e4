"""Benchmark: bytes per login and per accounting record on PostgreSQL, for the capacity
model in docs/operations.md ("Capacity: a whole city").

A fresh database on the machine's PostgreSQL (127.0.0.1:5432, dropped afterwards), the
schema upgraded, one NAS and SESSIONS one-device vouchers. citynet's RADIUS listener runs
in this process (the real path: policy, login records, the accounting writer); Debian's
radclient is the NAS and sends, for every session, a voucher login (PAP, signed), an
Accounting Start, INTERIMS Interim-Updates and a Stop. Before and after, for every table
that grew: its rows, ``pg_total_relation_size`` (heap, indexes, TOAST: what the disk
holds, dead row versions included) and the mean ``pg_column_size`` of a row (the tuple's
data alone), so each figure is known per row and per session.

    .venv/bin/python bench/rowsizes.py [--sessions 2000] [--interims 6]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citynet import config as config_module
from citynet.config import RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius import vouchers
from radius.service import RadiusService

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-radius-secret"


def sizes(url: str) -> dict[str, tuple[int, int, float]]:
    """Each table's (rows, bytes on disk with indexes and TOAST, mean tuple bytes)."""
    found: dict[str, tuple[int, int, float]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            row = conn.execute(
                f'SELECT count(*), pg_total_relation_size(%s), '  # noqa: S608 (catalogue names)
                f'coalesce(avg(pg_column_size(t.*)), 0) FROM "{table}" t',
                (f'"{table}"',)).fetchone()
            assert row is not None
            found[table] = (int(row[0]), int(row[1]), float(row[2]))
    return found


def send(port: int, kind: str, path: Path, parallel: int) -> str:
    done = subprocess.run(["radclient", "-q", "-s", "-p", str(parallel), "-r", "5", "-t", "5",
                           "-f", str(path), f"127.0.0.1:{port}", kind, SECRET],
                          capture_output=True, text=True, check=False)
    return " ".join(line.strip() for line in done.stdout.splitlines() if "Lost" in line
                    or "Failed" in line) or done.stderr.strip()[-200:]


def requests(tmp: Path, codes: list[str], interims: int) -> dict[str, Path]:
    """The NAS's requests, by phase: logins, Starts, Interim-Updates, Stops."""
    phases: dict[str, list[str]] = {"auth": [], "start": [], "interim": [], "stop": []}
    for n, code in enumerate(codes):
        mac = f"02-00-00-{n // 65536:02X}-{n // 256 % 256:02X}-{n % 256:02X}"
        common = (f'User-Name = "{code}"\nCalling-Station-Id = "{mac}"\n'
                  f'Called-Station-Id = "C4-AD-34-00-00-01:Luohu-Free"\n'
                  f'Acct-Session-Id = "bench-{n:08d}"\n'
                  f"Framed-IP-Address = 10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}\n")
        phases["auth"].append(f'User-Name = "{code}"\nUser-Password = "{code}"\n'
                              f'Calling-Station-Id = "{mac}"\n'
                              f'Called-Station-Id = "C4-AD-34-00-00-01:Luohu-Free"\n'
                              "Message-Authenticator = 0x00\n")
        phases["start"].append(common + "Acct-Status-Type = Start\n")
        for i in range(1, interims + 1):
            phases["interim"].append(
                common + f"Acct-Status-Type = Interim-Update\nAcct-Session-Time = {600 * i}\n"
                f"Acct-Input-Octets = {i * 2_000_000}\nAcct-Output-Octets = {i * 9_000_000}\n")
        phases["stop"].append(
            common + f"Acct-Status-Type = Stop\nAcct-Session-Time = {600 * interims + 60}\n"
            "Acct-Terminate-Cause = User-Request\n")
    paths = {}
    for phase, items in phases.items():
        paths[phase] = tmp / f"{phase}.txt"
        paths[phase].write_text("\n".join(items))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--interims", type=int, default=6,
                        help="Interim-Updates per session (an hour at 10-minute updates)")
    parser.add_argument("--parallel", type=int, default=64)
    args = parser.parse_args()

    name = f"citynet_rowsizes_{uuid.uuid4().hex[:10]}"
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = config_module.from_dict({"data_dir": tmp, "database": {"url": url}})
            store = Store.from_config(config)
            store.upgrade()
            box = open_box(config, store, create=True)
            with store.session() as session:
                assert import_rows(session, [RawRow("bench", 1, KINDS["nas"], {
                    "name": "bench", "address": "127.0.0.1", "secret": SECRET})], box).ok
                codes = [v.code for v in vouchers.create(session, args.sessions, 600, 1,
                                                         "rowsizes", valid_days=1)]
            paths = requests(Path(tmp), codes, args.interims)
            service = RadiusService(store, box, RadiusConfig(auth_port=0, acct_port=0))
            service.start()
            before = sizes(url)
            started = time.perf_counter()
            try:
                outcome = {phase: send(service.ports[0 if phase == "auth" else 1],
                                       "auth" if phase == "auth" else "acct", path,
                                       args.parallel)
                           for phase, path in paths.items()}
            finally:
                service.stop()
            elapsed = time.perf_counter() - started
            after = sizes(url)
            store.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"store:     PostgreSQL on 127.0.0.1:5432, fresh database, {args.sessions} sessions "
          f"(a voucher login, Start, {args.interims} Interim-Updates, Stop each), "
          f"{elapsed:.1f} s")
    for phase, said in outcome.items():
        print(f"radclient {phase}: {said or 'all answered'}")
    print(f"{'table':<22} {'rows':>8} {'bytes on disk':>14} {'disk/row':>9} "
          f"{'tuple/row':>9} {'disk/session':>12}")
    for table in sorted(after):
        rows0, disk0, _ = before.get(table, (0, 0, 0.0))
        rows, disk, tuple_bytes = after[table]
        if rows == rows0 and disk == disk0:
            continue
        grown = rows - rows0
        per_row = f"{(disk - disk0) / grown:,.0f}" if grown > 0 else "-"
        print(f"{table:<22} {grown:>+8} {disk - disk0:>+14,} {per_row:>9} "
              f"{tuple_bytes:>9.0f} {(disk - disk0) / args.sessions:>12,.0f}")


if __name__ == "__main__":
    main()
