"""Benchmark: the fixed cost of a RADIUS round of one voucher login, in-process.

At 1,000 Access-Requests/s (``bench/auth.py``'s latency run) a round of the listener
holds one or two logins, so what a round costs whatever its size is the latency. This
runs such rounds without sockets or timers: a :class:`RecordWriter` with the real
:class:`Policy` on a store (SQLite in a temporary directory, WAL, ``synchronous=FULL``;
or ``--postgres URL`` of an empty database), one voucher, and rounds of ONE login of it
(PAP, the same device: after the first, a known device), each with its own request
identity (:mod:`radius.retries`), as ``bench/auth.py`` sends them.

``--part`` says how much of the round to run, each part including the ones before it:

- ``session``: the store's session taken, its connection begun, committed, closed;
- ``lock``: and the chain's lock (on SQLite, the write lock);
- ``claim``: and the request identity claimed and its decision remembered;
- ``decide``: and policy's decision;
- ``writer``: the record writer's whole round (and the login record, chained);
- ``listener``: the listener's own work too: a signed datagram checked, decoded, the
  round run from the event loop, the reply encoded (sent nowhere).

It prints the median CPU time (``time.process_time``, user and system: the commit's
fsync is in it as the kernel's work, not its wait) of a round over ``--rounds`` rounds,
for each of ``--repeat`` runs, and the rounds' wall time (p50, p99, max: the commit's
wait, and on SQLite the WAL checkpoint that every so many commits run). For
instruction counts, run it under ``valgrind --tool=callgrind`` twice with different
``--rounds`` and take the difference: start-up cancels out. ``--trace`` (SQLite) first
prints what one round sends to the database, statement by statement.

    .venv/bin/python bench/roundcost.py [--part writer] [--rounds 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citynet import config as config_module
from citynet.db import Store
from citynet.process import settle
from radius import codec, records, retries, vouchers
from radius.accounting import RecordWriter
from radius.decisions import Decision, Login, LoginAttempt, login_record
from radius.listener import RadiusServer
from radius.nas import NasEntry, NasRegistry
from radius.policy import Policy
from radius.wire import AUTH_PORT_CODES, Code

PARTS = ("session", "lock", "claim", "decide", "writer", "listener")
SECRET = b"bench-radius-secret"
NAS = "bench"
MAC = "AA-BB-CC-DD-EE-01"


def voucher(store: Store) -> str:
    with store.session() as session:
        return vouchers.create(session, 1, minutes=600, devices=1, batch="bench",
                               valid_days=1)[0].code


def partial_round(store: Store, policy: Policy, part: str, code: str) -> Callable[[int], None]:
    """A round that stops after ``part`` (session, lock, claim, decide), taking those
    steps as the record writer does; ``claim`` remembers a fixed decision."""
    attempt = LoginAttempt(user=code, password=code, calling_station=MAC)
    fixed = Decision(True, {"Session-Timeout": 3600}, method="voucher", identity=code)

    def round_(number: int) -> None:
        with store.session() as session:
            session.connection()
            if part == "session":
                return
            records.LEDGER.lock(session)
            if part == "lock":
                return
            key = retries.request_key(NAS, number % 256, number.to_bytes(16, "big"))
            claimed, _known = retries.claim(session, {key}, datetime.now(UTC))
            decision = fixed
            if part == "decide":
                decision = policy.decide_in(session, attempt, NAS)
                login_record(attempt, NAS, decision)
            retries.remember(session, claimed, {key: decision})

    return round_


def writer_round(writer: RecordWriter, code: str) -> Callable[[int], None]:
    attempt = LoginAttempt(user=code, password=code, calling_station=MAC)
    answers: list[object] = []

    def round_(number: int) -> None:
        key = retries.request_key(NAS, number % 256, number.to_bytes(16, "big"))
        writer.run([(Login(attempt, NAS, request_key=key), answers.append)])
        answers.clear()

    return round_


def listener_round(writer: RecordWriter, code: str, datagrams: int) -> Callable[[int], None]:
    """Rounds of one signed Access-Request each, through the listener's pipeline; the
    ``datagrams`` requests (a new Request Authenticator each, as a NAS sends them) are
    encoded beforehand: that is the NAS's work, not the listener's."""
    registry = NasRegistry([NasEntry(NAS, ipaddress.ip_network("127.0.0.1/32"), SECRET,
                                     "default", True, "coovachilli")])
    server = RadiusServer(registry, writer)
    sent: list[bytes] = []
    requests = [codec.encode_request(Code.ACCESS_REQUEST, SECRET, {
        "User-Name": code, "Calling-Station-Id": MAC}, password=code,
        identifier=number % 256) for number in range(datagrams)]

    def round_(number: int) -> None:
        server.receive(requests[number], ("127.0.0.1", 40000 + number % 1000),
                       AUTH_PORT_CODES, sent.append)
        # the round submit() scheduled on the loop, run now (the loop runs that
        # callback later, with nothing left in the round)
        server._do_round()
        if len(sent) != 1:
            raise SystemExit(f"round {number}: {len(sent)} replies")
        sent.clear()

    return round_


def traced_round(store: Store, round_: Callable[[int], None], number: int) -> list[str]:
    """What one round sends to SQLite, statement by statement (BEGIN and COMMIT too)."""
    traced: list[str] = []

    def trace(driver: Any, *_args: Any) -> None:
        driver.set_trace_callback(traced.append)

    def untrace(driver: Any, *_args: Any) -> None:
        driver.set_trace_callback(None)

    event.listen(store.engine, "checkout", trace)
    event.listen(store.engine, "checkin", untrace)
    try:
        round_(number)
    finally:
        event.remove(store.engine, "checkout", trace)
        event.remove(store.engine, "checkin", untrace)
    return traced


def run(round_: Callable[[int], None], rounds: int,
        offset: int) -> tuple[list[float], list[float]]:
    """The CPU time and the wall time of each round."""
    costs, walls = [], []
    for number in range(offset, offset + rounds):
        started, began = time.process_time(), time.perf_counter()
        round_(number)
        costs.append(time.process_time() - started)
        walls.append(time.perf_counter() - began)
    return costs, walls


async def main_async(args: argparse.Namespace, store: Store) -> None:
    code = voucher(store)
    policy = Policy(store, None, ZoneInfo("UTC"))
    writer = RecordWriter(store, decide=policy.decide_in, prepare=policy.prepare_in)
    if args.part in ("session", "lock", "claim", "decide"):
        round_ = partial_round(store, policy, args.part, code)
    elif args.part == "writer":
        round_ = writer_round(writer, code)
    else:
        round_ = listener_round(writer, code, max(args.datagrams,
                                                  args.rounds * args.repeat + 2))
    round_(0)  # the first login claims the device slot: not the common case
    settle()  # as `citynet radius serve` does once started: start-up out of the GC's sight
    offset = 1
    if args.trace and store.is_sqlite:
        traced = traced_round(store, round_, offset)
        offset += 1
        print(f"{len(traced)} statements to SQLite in a round:")
        for sql in traced:
            print("  " + sql[:110])
    for _ in range(args.repeat):
        costs, walls = run(round_, args.rounds, offset)
        offset += args.rounds
        wall = statistics.quantiles(walls, n=100)
        print(f"{args.part}: {args.rounds} rounds, CPU per round: median "
              f"{statistics.median(costs) * 1e6:7.1f} us, "
              f"mean {statistics.mean(costs) * 1e6:7.1f} us; wall p50 {wall[49] * 1e3:.2f} "
              f"ms, p99 {wall[98] * 1e3:.2f} ms, max {max(walls) * 1e3:.2f} ms")
    if args.part == "writer":
        with store.session() as session:
            _checked, problems = records.verify(session)
            if problems:
                raise SystemExit(f"chain broken: {problems[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, default="writer")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database")
    parser.add_argument("--datagrams", type=int, default=0,
                        help="listener: requests to encode beforehand (at least one a round)")
    parser.add_argument("--trace", action="store_true",
                        help="SQLite: print the statements of one round first")
    parser.add_argument("--no-autocheckpoint", action="store_true",
                        help="SQLite: no WAL checkpoint in a commit (to see what they cost)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = config_module.from_dict({"data_dir": tmp,
                                          "database": {"url": args.postgres or ""}})
        store = Store.from_config(config)
        store.upgrade()
        if args.no_autocheckpoint and store.is_sqlite:
            # the WAL's checkpoint left to nobody: what the rounds cost without the one
            # in every so many commits (the WAL grows for the run)
            event.listen(store.engine, "connect", lambda driver, _record: driver.execute(
                "PRAGMA wal_autocheckpoint=0"))
            store.engine.dispose()
        try:
            asyncio.run(main_async(args, store))
        finally:
            store.close()


if __name__ == "__main__":
    main()
