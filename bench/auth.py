"""Benchmark: Access-Request throughput and latency, citynet vs FreeRADIUS 3.2 (`files`).

Target (RADIUS issue, item 1; issue 18 raised it to 0.8): citynet's listener with real
policy (voucher lookup, Message-Authenticator verified, login record written durably
before the answer) at >= 50 % of FreeRADIUS's rate with the `files` module on the same
machine; p99 latency at 1,000 requests/s <= 5 ms. `files` records nothing, so with
--postgres (citynet on a new PostgreSQL database) a second baseline runs beside it:
FreeRADIUS with `files` and rlm_sql's post-auth query (Debian's queries.conf), each login
recorded in PostgreSQL before the answer, as FreeRADIUS deployments keep their logins.
(Not on SQLite: FreeRADIUS's SQLite driver commits each row in a rollback journal, ~160
logins/s on this machine — no baseline a deployment would run.)

Both servers run as their own processes on loopback and get the same requests: one
voucher code as User-Name and User-Password (PAP), signed with Message-Authenticator.
Throughput: Debian's radclient with 64 requests in flight. Latency: a paced sender in
this process (its own thread for receiving) at a fixed rate, one request every 1/rate s.
Needs Debian's freeradius, freeradius-utils and (--postgres) freeradius-postgresql.

    .venv/bin/python bench/auth.py [--requests 5000] [--rate 1000] [--seconds 10]
                                   [--postgres]
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
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

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


def start_citynet(tmp: Path, database: str = "") -> tuple[subprocess.Popen[bytes], int, str]:
    """``citynet radius serve`` on SQLite in ``tmp`` (or on the empty PostgreSQL
    ``database``), one voucher made: the process, its auth port, the voucher's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    port = free_udp_port()
    env.update(CITYNET_DATA_DIR=str(tmp / "citynet"), CITYNET_RADIUS__AUTH_PORT=str(port),
               CITYNET_RADIUS__ACCT_PORT=str(free_udp_port()), CITYNET_LOGGING__LEVEL="WARNING")
    if database:
        env["CITYNET_DATABASE__URL"] = database
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


# The like-for-like baseline: the same, and each Access-Accept or -Reject recorded by
# rlm_sql's post-auth query (Debian's queries.conf: a radpostauth row) before the answer
# — the way a FreeRADIUS deployment keeps a record of its logins — in PostgreSQL. Its
# pool holds up to 32 connections (FreeRADIUS's threads), so PostgreSQL groups their
# commits.
FREERADIUS_SQL = """
    expr {{
    }}
    sql {{
        driver = "rlm_sql_postgresql"
        dialect = "postgresql"
        server = "{host}"
        port = {port}
        login = "{user}"
        password = ""
        sql_user_name = "%{{User-Name}}"
        radius_db = "{database}"
        acct_table1 = "radacct"
        acct_table2 = "radacct"
        postauth_table = "radpostauth"
        authcheck_table = "radcheck"
        groupcheck_table = "radgroupcheck"
        authreply_table = "radreply"
        groupreply_table = "radgroupreply"
        usergroup_table = "radusergroup"
        client_table = "nas"
        read_groups = no
        read_clients = no
        group_attribute = "SQL-Group"
        pool {{
            start = 4
            min = 4
            max = 32
            spare = 8
            uses = 0
            retry_delay = 1
            lifetime = 0
            idle_timeout = 0
        }}
        $INCLUDE /etc/freeradius/3.0/mods-config/sql/main/postgresql/queries.conf
    }}
"""


def start_freeradius(tmp: Path, code: str,
                     record: str = "") -> tuple[subprocess.Popen[bytes], int]:
    """FreeRADIUS `files` + `pap`; with ``record`` (the URL of an empty PostgreSQL
    database), each answer also written there by rlm_sql's post-auth query before it is
    sent."""
    conf = tmp / ("freeradius-sql" if record else "freeradius")
    for sub in ("log", "run", "radacct", "mods-config"):
        (conf / sub).mkdir(parents=True, exist_ok=True)
    port = free_udp_port()
    site = FREERADIUS_SITE.format(dir=conf, port=port, secret=SECRET)
    if record:
        url = urlsplit(record)
        with psycopg.connect(record, autocommit=True) as connection:
            connection.execute(Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql/"
                                    "schema.sql").read_text())
        site = site.replace("modules {\n", "modules {\n" + FREERADIUS_SQL.format(
            host=url.hostname, port=url.port or 5432, user=url.username,
            database=url.path.lstrip("/")), 1).replace(
            "    authenticate {\n        pap\n    }\n",
            "    authenticate {\n        pap\n    }\n    post-auth {\n        sql\n"
            "        Post-Auth-Type REJECT {\n            sql\n        }\n    }\n", 1)
    (conf / "radiusd.conf").write_text(base_conf(conf) + site)
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


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def empty_databases(count: int) -> Iterator[list[str]]:
    """URLs of ``count`` new, empty PostgreSQL databases on 127.0.0.1:5432, dropped after."""
    names = [f"citynet_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [PG_ADMIN.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--postgres", action="store_true", help="citynet and the recording "
                        "FreeRADIUS on new databases of 127.0.0.1:5432 (default: SQLite)")
    args = parser.parse_args()
    store = "PostgreSQL" if args.postgres else "SQLite"
    with (tempfile.TemporaryDirectory() as tmp_name,
          empty_databases(2 if args.postgres else 0) as urls, ExitStack() as stack):
        tmp = Path(tmp_name)
        citynet, c_port, code = start_citynet(tmp, urls[0] if urls else "")
        stack.callback(_stop, citynet)
        freeradius, f_port = start_freeradius(tmp, code)
        stack.callback(_stop, freeradius)
        servers = {"FreeRADIUS": f_port, "citynet": c_port}
        if urls:
            recording, servers["recording"] = start_freeradius(tmp, code, urls[1])
            stack.callback(_stop, recording)
        rates = {name: throughput(port, code, args.requests, tmp)
                 for name, port in servers.items()}
        latencies = {name: latency(port, code, args.rate, args.seconds)
                     for name, port in servers.items()}
    f_rate, c_rate = rates["FreeRADIUS"][0], rates["citynet"][0]
    print(f"requests:    {args.requests} Access-Requests (PAP, Message-Authenticator), "
          "64 in flight (radclient)")
    print(f"FreeRADIUS:  {f_rate:8,.0f} auths/s   ({rates['FreeRADIUS'][1]})  `files`, "
          "records nothing")
    if "recording" in rates:
        print(f"recording:   {rates['recording'][0]:8,.0f} auths/s   ({rates['recording'][1]})"
              "  `files` + rlm_sql post-auth into PostgreSQL: each login recorded")
    print(f"citynet:     {c_rate:8,.0f} auths/s   ({rates['citynet'][1]})  on {store}")
    print(f"ratio:       {c_rate / f_rate:.3f} x FreeRADIUS `files` (issue 18's target >= 0.8)"
          + (f"; {c_rate / rates['recording'][0]:.3f} x FreeRADIUS recording each login"
             if "recording" in rates else ""))
    print(f"latency at {args.rate:,.0f} requests/s for {args.seconds:g} s (target p99 <= 5 ms):")
    for name in servers:
        print("  " + describe(name, *latencies[name]))


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


if __name__ == "__main__":
    main()
