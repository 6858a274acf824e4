"""Benchmark: durable accounting Interim-Updates per second through the citynet listener.

Target (RADIUS issue, item 3): >= 5,000 durable records/s, nothing lost. radclient
(freeradius-utils) is the load generator; the listener runs in this process on loopback
with SQLite (WAL, synchronous=FULL) or, with --postgres URL, PostgreSQL. "Durable" means
each Accounting-Response left only after the record's transaction committed.

    .venv/bin/python bench/accounting.py [--records 20000] [--parallel 256] [--postgres URL]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citynet import config as config_module
from citynet.config import RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius.models import AccountingRecord
from radius.service import RadiusService

SECRET = "bench-radius-secret"
TARGET = 5000.0


def requests_file(path: Path, records: int, sessions: int) -> None:
    with path.open("w") as fh:
        for i in range(records):
            session = i % sessions
            fh.write(f'User-Name = "138{session:08d}"\nAcct-Status-Type = Interim-Update\n'
                     f'Acct-Session-Id = "bench-{session}"\nAcct-Session-Time = {60 + i}\n'
                     f"Acct-Input-Octets = {i * 1000}\nAcct-Output-Octets = {i * 3000}\n"
                     'Calling-Station-Id = "AA-BB-CC-00-00-01"\n\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--parallel", type=int, default=256)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = {"data_dir": tmp, "database": {"url": args.postgres or ""}}
        config = config_module.from_dict(data)
        store = Store.from_config(config)
        store.upgrade()
        box = open_box(config, store, create=True)
        with store.session() as session:
            assert import_rows(session, [RawRow("bench", 1, KINDS["nas"], {
                "name": "bench", "address": "127.0.0.1", "secret": SECRET})], box).ok
        service = RadiusService(store, box, RadiusConfig(auth_port=0, acct_port=0))
        service.start()
        path = Path(tmp) / "requests.txt"
        requests_file(path, args.records, args.sessions)
        started = time.perf_counter()
        result = subprocess.run(
            ["radclient", "-q", "-s", "-p", str(args.parallel), "-r", "5", "-t", "5",
             "-f", str(path), f"127.0.0.1:{service.ports[1]}", "acct", SECRET],
            capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        service.stop()
        with store.session() as session:
            stored = session.scalar(select(func.count()).select_from(AccountingRecord)) or 0
        store.close()

    lost = [line.strip() for line in result.stdout.splitlines() if "Lost" in line]
    rate = args.records / elapsed
    backend = "postgresql" if args.postgres else "sqlite (WAL, synchronous=FULL)"
    print(f"store:            {backend}")
    print(f"records sent:     {args.records} Interim-Updates over {args.sessions} sessions, "
          f"{args.parallel} in flight (radclient)")
    print(f"records stored:   {stored} ({args.records - stored} missing)")
    print(f"radclient:        {' '.join(lost) or result.stderr.strip()[-200:]}")
    print(f"batches:          {service.writer.batches} "
          f"(mean {service.writer.stored / max(service.writer.batches, 1):.1f} records/commit)")
    print(f"elapsed:          {elapsed:.2f} s")
    print(f"durable rate:     {rate:,.0f} records/s")
    print(f"ratio to target:  {rate / TARGET:.2f} x (target {TARGET:,.0f}/s)")


if __name__ == "__main__":
    main()
