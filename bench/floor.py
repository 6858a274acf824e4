"""Benchmark: how near FreeRADIUS `files` can a Python RADIUS listener get on this host?

Issue 18 asks the listener with real policy and durable records for >= 0.8 x FreeRADIUS
`files`. This measures the floor under that target: a bare responder in Python that
does only what any correct listener must — read the datagram, check its length, verify
its Message-Authenticator (HMAC-MD5), recover the PAP password (MD5), compare it, sign an
Access-Accept (Message-Authenticator and Response Authenticator) and send it — with no
policy, no state and no record. It runs as one process and as two sharing the port
(SO_REUSEPORT), side by side with FreeRADIUS and with citynet's listener, under the same
load (Debian's radclient, 64 in flight), in alternating rounds.

If the bare responder is itself below 0.8 x, no Python listener can meet the target here
by making its own work cheaper: the interpreter's cost per datagram is the limit.

A third bare responder keeps a durable record, the least "durable records" can mean: it
reads every datagram waiting (up to 512, as citynet's rounds do), answers each as above,
and writes one row per answer (time, source, User-Name, answer; no index but the key)
into SQLite in WAL mode with ``synchronous=FULL``, one transaction per batch, before it
sends the batch's answers — no policy, no request identity, no chain. Its distance from
the bare responder is what durability alone costs a Python listener here.

    .venv/bin/python bench/floor.py [--requests 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.auth import SECRET, free_udp_port, start_citynet, start_freeradius, throughput
from bench.auth import wait_for_status as _wait_for_status

USER_NAME, MESSAGE_AUTHENTICATOR, USER_PASSWORD, SESSION_TIMEOUT = 1, 80, 2, 27
ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT, STATUS_SERVER = 1, 2, 3, 12


def respond(datagram: bytes, secret: bytes, password: bytes) -> bytes | None:
    """The least a correct listener does for one Access-Request: the answer, or None."""
    if len(datagram) < 20 or int.from_bytes(datagram[2:4], "big") != len(datagram):
        return None
    code, identifier, authenticator = datagram[0], datagram[1], datagram[4:20]
    if code not in (ACCESS_REQUEST, STATUS_SERVER):
        return None
    given_mac = hidden = b""
    at, mac_at = 20, -1
    while at + 2 <= len(datagram):
        kind, size = datagram[at], datagram[at + 1]
        if size < 2 or at + size > len(datagram):
            return None
        if kind == MESSAGE_AUTHENTICATOR and size == 18:
            given_mac, mac_at = datagram[at + 2:at + 18], at + 2
        elif kind == USER_PASSWORD:
            hidden = datagram[at + 2:at + size]
        at += size
    if mac_at < 0:
        return None
    zeroed = datagram[:mac_at] + bytes(16) + datagram[mac_at + 16:]
    if not hmac.compare_digest(hmac.new(secret, zeroed, hashlib.md5).digest(), given_mac):
        return None
    answer = ACCESS_ACCEPT
    if code == ACCESS_REQUEST:
        clear, previous = bytearray(), authenticator
        for block in range(0, len(hidden), 16):
            pad = hashlib.md5(secret + previous).digest()  # noqa: S324  # RFC 2865 5.2
            chunk = hidden[block:block + 16]
            clear += bytes(a ^ b for a, b in zip(chunk, pad, strict=False))
            previous = chunk
        if not hmac.compare_digest(bytes(clear).rstrip(b"\0"), password):
            answer = ACCESS_REJECT
    attributes = bytes((SESSION_TIMEOUT, 6)) + (3600).to_bytes(4, "big") \
        if answer == ACCESS_ACCEPT else b""
    length = 20 + len(attributes) + 18
    head = bytes((answer, identifier)) + length.to_bytes(2, "big")
    unsigned = head + authenticator + attributes + bytes((MESSAGE_AUTHENTICATOR, 18))
    mac = hmac.new(secret, unsigned + bytes(16), hashlib.md5).digest()
    body = attributes + bytes((MESSAGE_AUTHENTICATOR, 18)) + mac
    signed = hashlib.md5(head + authenticator + body + secret).digest()  # noqa: S324  # RFC 2865
    return head + signed + body


def serve_bare(port: int, password: str) -> None:
    """One bare responder process (run with ``--serve PORT PASSWORD``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    secret, wanted = SECRET.encode(), password.encode()
    while True:
        datagram, peer = sock.recvfrom(4096)
        answer = respond(datagram, secret, wanted)
        if answer is not None:
            sock.sendto(answer, peer)


def serve_durable(port: int, password: str, path: str) -> None:
    """One bare responder that records each answer durably before sending it (run with
    ``--serve PORT PASSWORD --durable FILE``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    store = sqlite3.connect(path, isolation_level=None)
    store.execute("PRAGMA journal_mode=WAL")
    store.execute("PRAGMA synchronous=FULL")
    store.execute("CREATE TABLE IF NOT EXISTS answered (id INTEGER PRIMARY KEY, at REAL, "
                  "source TEXT, username BLOB, answer INTEGER)")
    secret, wanted = SECRET.encode(), password.encode()
    while True:
        sock.setblocking(True)
        batch = [sock.recvfrom(4096)]
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while len(batch) < 512:
                batch.append(sock.recvfrom(4096))
        answers = [(respond(datagram, secret, wanted), datagram, peer)
                   for datagram, peer in batch]
        now = time.time()
        store.execute("BEGIN")
        store.executemany("INSERT INTO answered (at, source, username, answer) "
                          "VALUES (?, ?, ?, ?)",
                          [(now, peer[0], user_name(datagram), answer[0])
                           for answer, datagram, peer in answers if answer is not None])
        store.execute("COMMIT")
        for answer, _, peer in answers:
            if answer is not None:
                sock.sendto(answer, peer)


def user_name(datagram: bytes) -> bytes:
    """The User-Name attribute's value (the datagram was checked by ``respond``)."""
    at = 20
    while at + 2 <= len(datagram):
        if datagram[at] == USER_NAME:
            return datagram[at + 2:at + datagram[at + 1]]
        at += datagram[at + 1]
    return b""


def start_bare(stack: ExitStack, processes: int, password: str,
               durable: str | None = None) -> int:
    """``processes`` bare responders sharing a free port (with ``durable``: one, writing
    its records to that file), stopped when ``stack`` ends."""
    port = free_udp_port()
    extra = ["--durable", durable] if durable else []
    for _ in range(processes):
        stack.enter_context(stopping(subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), password, *extra])))
    _wait_for_status(port)
    return port


@contextmanager
def stopping(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "PASSWORD"), help=argparse.SUPPRESS)
    parser.add_argument("--durable", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve and args.durable:
        serve_durable(int(args.serve[0]), args.serve[1], args.durable)
        return
    if args.serve:
        serve_bare(int(args.serve[0]), args.serve[1])
        return
    rates: dict[str, list[float]] = {"FreeRADIUS": [], "bare Python, 1 process": [],
                                     "bare Python, 2 processes": [],
                                     "bare Python + durable record": [],
                                     "citynet listener": []}
    # every server started is stopped, also when a later one fails to start
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        citynet, c_port, code = start_citynet(tmp)
        stack.enter_context(stopping(citynet))
        freeradius, f_port = start_freeradius(tmp, code)
        stack.enter_context(stopping(freeradius))
        ports = {"FreeRADIUS": f_port, "bare Python, 1 process": start_bare(stack, 1, code),
                 "bare Python, 2 processes": start_bare(stack, 2, code),
                 "bare Python + durable record": start_bare(stack, 1, code,
                                                            str(tmp / "answered.db")),
                 "citynet listener": c_port}
        for round_no in range(args.rounds):
            for name, port in ports.items():
                rate, summary = throughput(port, code, args.requests, tmp)
                if summary.split()[-3:] != ["Lost", ":", "0"]:
                    print(f"  round {round_no + 1}: {name} answered {summary!r}")
                rates[name].append(rate)
            print(f"round {round_no + 1}: " + ", ".join(
                f"{name} {values[-1]:,.0f}/s" for name, values in rates.items()),
                f"(load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"requests: {args.requests} Access-Requests a run (PAP, Message-Authenticator), "
          "64 in flight (radclient), rounds alternate the servers")
    for name, values in rates.items():
        ratios = [value / base for value, base in zip(values, rates["FreeRADIUS"], strict=True)]
        print(f"{name:<26} {min(values):8,.0f}–{max(values):8,.0f} auths/s   "
              f"{min(ratios):.2f}–{max(ratios):.2f} x FreeRADIUS")


if __name__ == "__main__":
    main()
