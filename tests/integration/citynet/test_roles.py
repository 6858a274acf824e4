"""`citynet serve --role ...` as real processes on loopback: listeners sharing the RADIUS
ports, a kill -9 of one under load (issue 18, fault 1), the web role under gunicorn and a
kill -9 of one of its workers, roles together, and bad config."""

from __future__ import annotations

import ast
import gc
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from citynet import staff
from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store, set_meta
from citynet.process import RESTART_DELAYS
from radius import codec, records, vouchers
from radius.models import AccountingRecord
from radius.records import LoginRecord
from radius.wire import Code
from tests.integration.radius.conftest import SECRET, add_nas
from tests.support import (
    CITYNET,
    Flows,
    children,
    csrf_in,
    free_port,
    http_answers,
    status_server,
    wait_until,
)

FLOWS = 16  # NAS sockets: the kernel spreads them over the listeners by their 4-tuple
BETWEEN = 40  # answers each flow gets between two changes of the listeners (~1-2 s)
READY = b"Ctrl-C stops"


class Serve:
    """`citynet serve --role ...` as its own process, its output in a log file."""

    def __init__(self, config: Config, tmp_path: Path, *roles: str, **settings: str) -> None:
        self.auth, self.acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        self.web = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env.update(CITYNET_DATA_DIR=str(config.data_path),
                        CITYNET_DATABASE__URL=config.database.url,
                        CITYNET_RADIUS__AUTH_PORT=str(self.auth),
                        CITYNET_RADIUS__ACCT_PORT=str(self.acct),
                        CITYNET_WEB__PORT=str(self.web))
        self.env.update({f"CITYNET_{key.upper()}": value for key, value in settings.items()})
        self.argv = [CITYNET, "serve", *[arg for role in roles for arg in ("--role", role)]]
        self.log = tmp_path / f"serve-{'-'.join(roles)}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_lines: int = 1) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.output().count(READY.decode()) >= ready_lines,
                       f"{self.argv[1:]} ready", self.process)
        except BaseException:  # never leave a serve (and its children) behind
            self.stop()
            raise
        return self.process

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def listener_counters(self) -> list[Counter[str]]:
        """Each listener's counters, from its last line once stopped."""
        return [Counter(ast.literal_eval(found)) for found in
                re.findall(r"RADIUS stopped: (\{.*\})", self.output())]


def accounting(session_id: str, identifier: int) -> bytes:
    return codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), {
        "Acct-Status-Type": "Start", "Acct-Session-Id": session_id,
        "User-Name": "13800138000"}, identifier=identifier, message_authenticator=False)


def stored_sessions(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.scalars(select(AccountingRecord.session_id)).all())


@pytest.mark.slow
def test_two_listeners_share_the_ports_and_a_retransmission_meets_its_cache(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    add_nas(backend_config, store)
    serve = Serve(backend_config, tmp_path, "radius", radius__processes="2")
    serve.start(ready_lines=3)  # the parent and both listeners
    try:
        assert len(children(serve.process.pid)) == 2  # type: ignore[union-attr]
        for flow in range(FLOWS):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.0.1", 0))
                sock.settimeout(5)
                request = accounting(f"shared-{flow}", flow)
                replies = []
                for _attempt in range(3):  # the original and two retransmissions
                    sock.sendto(request, ("127.0.0.1", serve.acct))
                    replies.append(sock.recvfrom(4096)[0])
                assert replies[0][0] == Code.ACCOUNTING_RESPONSE
                assert replies[1] == replies[2] == replies[0]  # byte for byte: the cache
    finally:
        serve.stop()  # SIGTERM to the parent alone, as systemd's KillMode=mixed sends it
    # the parent stops its listeners; none is taken for crashed and restarted meanwhile
    assert "restarting it" not in serve.output()
    first, second = serve.listener_counters()
    # both processes answered (16 flows all on one: a chance of 1 in 32,768)
    assert first["accounting stored"] > 0 and second["accounting stored"] > 0
    # every retransmission reached the process that saw its original
    assert first["accounting stored"] + second["accounting stored"] == FLOWS
    assert first["duplicates"] + second["duplicates"] == 2 * FLOWS
    assert stored_sessions(store) == sorted(f"shared-{n}" for n in range(FLOWS))
    # each session's start recorded once; on PostgreSQL each listener on a chain of its own
    with store.session() as session:
        assert records.verify(session) == (FLOWS, [])
        chains = set(session.scalars(select(LoginRecord.chain)))
    assert chains == ({0} if store.is_sqlite else {0, 1})


@pytest.mark.slow
def test_two_nodes_on_one_store_write_chains_of_their_own(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    """Two `citynet serve` as two nodes (radius.node 0 and 1) on one store: node 0's only
    listener appends to chain 0, node 1's listener 3 (a unit citynet-radius@3) to chain
    1 × 64 + 2; every chain verifies, by the API and by `citynet audit verify`."""
    add_nas(backend_config, store)
    with store.session() as session:  # as if a node on another machine had chain 66 once
        set_meta(session, f"{records.WRITER_META}.66", "another-host")
    nodes = []
    for node, extra in ((0, []), (1, ["--listener", "3"])):
        place = tmp_path / f"node{node}"
        place.mkdir()
        serve = Serve(backend_config, place, "radius", radius__node=str(node))
        serve.argv += extra
        nodes.append(serve)
    try:
        for number, serve in enumerate(nodes):
            serve.start()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                for flow in range(3):
                    sock.sendto(accounting(f"node{number}-{flow}", flow),
                                ("127.0.0.1", serve.acct))
                    assert sock.recvfrom(4096)[0][0] == Code.ACCOUNTING_RESPONSE
    finally:
        for serve in nodes:
            serve.stop()
    with store.session() as session:
        assert records.verify(session) == (6, [])
        chains = sorted(session.execute(select(LoginRecord.chain, func.count()).group_by(
            LoginRecord.chain)).all())
    assert chains == ([(0, 6)] if store.is_sqlite else [(0, 3), (66, 3)])
    # the node that starts on a chain another host wrote says so (PostgreSQL; both nodes
    # here are on one host, so node 0 hears nothing)
    warned = "login-record chain 66 was last written from host another-host"
    assert (warned in nodes[1].output()) is not store.is_sqlite
    assert "was last written from host" not in nodes[0].output()
    verified = CliRunner().invoke(cli, ["audit", "verify"], env=nodes[0].env)
    assert verified.exit_code == 0, verified.output
    assert "login records: 6 rows, chain intact" in verified.output


class SteadyNas(Flows):
    """FLOWS NAS sockets, each sending paced requests and retransmitting each until it is
    answered, until :meth:`stop` (between two requests) or the deadline: accounting
    records on most, Access-Requests (a voucher) on every fourth; when each answer came."""

    PACE = 0.02  # seconds between one flow's requests
    RETRY = 0.5  # seconds before a retransmission

    def __init__(self, serve: Serve, voucher: str, deadline: float) -> None:
        self.serve, self.voucher, self.deadline = serve, voucher, deadline
        self.acked: list[tuple[float, int, str]] = []  # (when, flow, what was answered)
        self.stopped: set[int] = set()  # flows that stopped when asked, all answered
        self._stopping = threading.Event()
        self._abandoning = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._flow, args=(n,)) for n in range(FLOWS)]

    def answered(self, prefix: str) -> list[str]:
        return sorted(what for _when, _flow, what in self.acked if what.startswith(prefix))

    def each_answered_since(self, since: float, times: int = 1) -> bool:
        """Whether every flow has had ``times`` answers after ``since``."""
        with self._lock:
            counts = Counter(flow for when, flow, _what in self.acked if when > since)
        return all(counts[flow] >= times for flow in range(FLOWS))

    def stop(self, *, abandon: bool = False) -> None:
        """Send no more requests, and join: each flow finishes the one it is on (waits for
        its answer) unless ``abandon`` (a failed test: the listeners may be gone)."""
        if abandon:
            self._abandoning.set()
        self._stopping.set()
        self.join()

    def _request(self, flow: int, n: int) -> tuple[str, bytes, int, Code]:
        if flow % 4 == 3:
            return (f"login-{flow}-{n}", codec.encode_request(
                Code.ACCESS_REQUEST, SECRET.encode(), {
                    "User-Name": self.voucher, "Calling-Station-Id": "02-00-00-00-00-01"},
                password=self.voucher, identifier=n % 256), self.serve.auth,
                Code.ACCESS_ACCEPT)
        session_id = f"fault1-{flow}-{n}"
        return session_id, accounting(session_id, n % 256), self.serve.acct, \
            Code.ACCOUNTING_RESPONSE

    def _flow(self, flow: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.RETRY)
            n = 0
            while not self._stopping.is_set():
                what, request, port, expected = self._request(flow, n)
                while time.monotonic() < self.deadline and not self._abandoning.is_set():
                    sock.sendto(request, ("127.0.0.1", port))
                    try:
                        reply = sock.recvfrom(4096)[0]
                    except (TimeoutError, ConnectionRefusedError):
                        continue
                    if reply[0] == expected and reply[1] == request[1]:
                        with self._lock:
                            self.acked.append((time.monotonic(), flow, what))
                        break
                else:
                    return  # out of time or abandoned, this request unanswered
                n += 1
                self._stopping.wait(self.PACE)  # pacing a steady load, not synchronisation
        with self._lock:
            self.stopped.add(flow)

    def recovery(self, killed_at: float) -> float:
        """Seconds from the kill until every flow had an answer again."""
        firsts = [min(when for when, f, _id in self.acked if f == flow and when > killed_at)
                  for flow in range(FLOWS)]
        return max(firsts) - killed_at


def listener(serve: int, number: int) -> int:
    """The process of ``serve``'s RADIUS listener ``number`` (``--listener N``)."""
    [found] = [pid for pid in children(serve) if f"--listener\0{number}\0".encode()
               in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kills", [1, pytest.param(5, marks=pytest.mark.soak)])
def test_kill_minus_nine_one_listener_under_load(backend_config: Config, store: Store,
                                                 tmp_path: Path, kills: int) -> None:
    """Fault 1: the other listener keeps answering, the killed one is started again and
    answers, no acknowledged accounting record is lost or stored twice, and every answered
    login has its login record. (`make soak`: five kills in a row.)

    The load runs until the test stops it, once every flow has been answered after the
    last kill; not for a number of requests: serve waits longer before each restart of the
    same listener (1 s, 5 s, 30 s), and a load of a fixed size can end before the last
    kill on a quiet machine."""
    add_nas(backend_config, store)
    with store.session() as session:
        voucher = vouchers.create(session, 1, 600, 1, "fault1", valid_days=1)[0].code
    serve = Serve(backend_config, tmp_path, "radius", radius__processes="2")
    process = serve.start(ready_lines=3)
    nas = SteadyNas(serve, voucher, deadline=time.monotonic() + 240 * kills)
    recoveries, acked_at_kill = [], 0
    try:
        nas.start()
        joined = time.monotonic()  # when the listeners last changed
        for kill in range(kills):
            # a steady load: every flow answered BETWEEN times since the last change
            wait_until(lambda since=joined: nas.each_answered_since(since, BETWEEN),
                       "every flow answered since the listeners changed", process)
            number = kill % 2 + 1  # in turn: each listener's restarts wait 1 s, 5 s, 30 s
            victim, survivor = listener(process.pid, number), listener(process.pid, 3 - number)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            acked_at_kill = len(nas.acked)
            # listening again (its start-up line), not only started: else the next kill
            # may take the one listener listening, and the ports have none for a while
            delay = RESTART_DELAYS[min(kill // 2, len(RESTART_DELAYS) - 1)]
            wait_until(lambda kill=kill, victim=victim: victim not in children(process.pid)
                       and serve.output().count(READY.decode()) == 3 + kill + 1,
                       "the killed listener listening again", process, timeout=delay + 60)
            joined = time.monotonic()
            recoveries.append(killed_at)
        wait_until(lambda: nas.each_answered_since(joined, BETWEEN),
                   "every flow answered since the last restart", process)
    except BaseException:
        nas.stop(abandon=True)  # not wait up to the deadline (20 min in the soak) to fail
        raise
    finally:
        nas.stop()  # before serve: a flow retransmits to a stopped listener until the deadline
        serve.stop()
    assert nas.stopped == set(range(FLOWS)), "flows ran out of time"
    assert all(nas.each_answered_since(killed_at) for killed_at in recoveries)
    recovery = max(nas.recovery(killed_at) for killed_at in recoveries)
    logins = nas.answered("login-")
    # every acknowledged accounting record, each exactly once
    assert stored_sessions(store) == nas.answered("fault1-")
    with store.session() as session:
        recorded = session.scalar(select(func.count()).select_from(LoginRecord).where(
            LoginRecord.event == "login", LoginRecord.result == "accept"))
        # a listener killed inside its round left its chain whole (on PostgreSQL, its own)
        assert records.verify(session)[1] == []
    print(f"\n{kills} listener kill(s), the last ({victim}) with {acked_at_kill} requests "
          f"answered; every flow answered again at most {recovery:.2f} s after a kill "
          f"(retransmission timeout {SteadyNas.RETRY} s); {survivor} kept answering; "
          f"{recorded} accepted-login records for {len(logins)} answered logins")
    # each accepted login recorded before its answer; a retransmission that met a listener
    # without its cache (the group changed) is decided and recorded again
    assert recorded is not None and recorded >= len(logins) > 0
    assert serve.output().count("exited with code -9; restarting") == kills
    # the last listener restarted took flows too (none of the 16 hashed to it: a chance of
    # 1 in 65,536), so a restarted listener is in the port's group and answers
    assert [counters["received"] > 0 for counters in serve.listener_counters()] == [True] * 2


class Browser:
    """A cookie-keeping HTTP client (every request a new connection: any worker)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=10) as reply:
            return reply.status, reply.read().decode()

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as reply:
            return reply.status, reply.geturl()


@pytest.mark.slow
@pytest.mark.postgres
def test_web_role_under_gunicorn_beside_radius_survives_a_killed_worker(
        pg_database: str, tmp_path: Path) -> None:
    """--role web --role radius, web.workers = 2: gunicorn's two workers serve the portal
    and a staff login (the session key is shared through the store), the listener runs in
    a child; a worker killed with -9 is replaced and requests go on succeeding."""
    from tests.conftest import make_config, upgraded

    config = make_config(tmp_path, database={"url": pg_database})
    store = next(stores := upgraded(config))
    add_nas(config, store)
    with store.session() as session:
        staff.add(session, "mgr", staff.Role.MANAGER, "a long test password 1")
    serve = Serve(config, tmp_path, "web", "radius", web__workers="2")
    process = serve.start(ready_lines=2)  # the web banner and the listener child's
    base = f"http://127.0.0.1:{serve.web}"
    try:
        wait_until(lambda: http_answers(base + "/healthz"), "gunicorn workers", process)
        assert status_server(serve.auth, SECRET.encode(), attempts=10) is not None
        # gunicorn's workers are forks of serve; the listener child has --parent
        workers = [pid for pid in children(process.pid)
                   if b"--parent" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
        browser = Browser(base)
        assert browser.get("/portal/")[0] == 200
        _status, page = browser.get("/login")
        _status, landed = browser.post("/login", {
            "name": "mgr", "password": "a long test password 1", "csrf": csrf_in(page)})
        assert "/login" not in landed
        for _ in range(10):  # new connections: both workers read the one session cookie
            assert browser.get("/dashboard/")[0] == 200
        os.kill(workers[0], signal.SIGKILL)
        for _ in range(20):  # served by the other worker meanwhile, then by both
            assert browser.get("/dashboard/")[0] == 200
            assert browser.get("/portal/")[0] == 200
        wait_until(lambda: len(set(children(process.pid)) - {workers[1]}) == 2,
                   "gunicorn to replace the killed worker", process)
        assert workers[0] not in children(process.pid)
        assert browser.get("/dashboard/")[0] == 200
    finally:
        serve.stop()
        stores.close()
    assert "citynet stopped" in serve.output()


@pytest.mark.slow
def test_radius_and_collect_roles_without_the_web(sqlite_config: Config,
                                                  sqlite_store: Store,
                                                  tmp_path: Path) -> None:
    add_nas(sqlite_config, sqlite_store)
    serve = Serve(sqlite_config, tmp_path, "radius", "collect")
    process = serve.start()
    try:
        assert status_server(serve.auth, SECRET.encode(), attempts=10) is not None
        [collector] = children(process.pid)  # the listener is a thread of serve itself
        assert b"collect" in Path(f"/proc/{collector}/cmdline").read_bytes()
        assert not http_answers(f"http://127.0.0.1:{serve.web}/healthz")
    finally:
        serve.stop()
    assert process.returncode == 0


@pytest.mark.parametrize(("args", "env", "says"), [
    (["--role", "radios"], {}, "Invalid value for --role: unknown role 'radios'"),
    (["--role", "radius"], {"CITYNET_RADIUS__ENABLED": "false"}, "config: radius.enabled:"),
    (["--role", "radius"], {"CITYNET_RADIUS__PROCESSES": "2",
                            "CITYNET_RADIUS__AUTH_PORT": "0"}, "config: radius.auth_port:"),
    (["--role", "radius"], {"CITYNET_RADIUS__NODE": "64"},
     "config: radius.node: Input should be less than or equal to 63"),
    (["--role", "radius", "--listener", "65"], {},
     "Invalid value for '--listener': 65 is not in the range 1<=x<=64"),
    (["--role", "radius", "--listener", "2"], {"CITYNET_RADIUS__PROCESSES": "2"},
     "Invalid value for --listener: is 2, but this serve starts its own listeners 1 to 2"),
])
def test_bad_roles_config_stops_start_up_naming_the_key(tmp_path: Path, args: list[str],
                                                         env: dict[str, str],
                                                         says: str) -> None:
    result = CliRunner().invoke(cli, ["serve", *args], env={
        "CITYNET_DATA_DIR": str(tmp_path / "var"), **env})
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output



@pytest.mark.parametrize("role", ["web", "radius", "rlm_rest"])
def test_a_port_in_use_stops_start_up_in_one_line_naming_the_keys(
        tmp_path: Path, sqlite_store: Store, role: str) -> None:
    """Another program on the port (an old serve, FreeRADIUS): one line that says which
    address and which keys, exit 1 — not a traceback."""
    kind = socket.SOCK_DGRAM if role == "radius" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        acct = free_port(socket.SOCK_DGRAM)
        env = {"CITYNET_DATA_DIR": str(tmp_path / "var"), "CITYNET_WEB__BIND": "127.0.0.1",
               "CITYNET_RADIUS__BIND": "127.0.0.1", "CITYNET_RADIUS__REST_BIND": "127.0.0.1"}
        env |= {"web": {"CITYNET_WEB__PORT": str(port)},
                "radius": {"CITYNET_RADIUS__AUTH_PORT": str(port),
                           "CITYNET_RADIUS__ACCT_PORT": str(acct)},
                "rlm_rest": {"CITYNET_RADIUS__ENABLED": "false",
                             "CITYNET_RADIUS__REST_TOKEN": "t" * 32,
                             "CITYNET_RADIUS__REST_PORT": str(port)}}[role]
        result = CliRunner().invoke(cli, ["serve", "--role", role.replace("rlm_rest", "radius")],
                                    env=env)
    with warnings.catch_warnings():  # waitress leaves the socket it could not bind open
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    says = {"web": f"Error: the web app cannot listen on 127.0.0.1 port {port} (web.bind, "
                   "web.port): ",
            "radius": f"Error: RADIUS cannot listen on 127.0.0.1 ports {port}/{acct} "
                      "(radius.bind, radius.auth_port, radius.acct_port): ",
            "rlm_rest": f"Error: the rlm_rest API cannot listen on 127.0.0.1 port {port} "
                        "(radius.rest_bind, radius.rest_port): "}[role]
    assert result.exit_code == 1, result.output
    assert says in result.output
    assert "Traceback" not in result.output

def refused(argv: list[str], env: dict[str, str], log: Path) -> str:
    """The output of a serve that must not start: it ends (bounded wait) before it says
    it is ready; if it does start, it is stopped and the test fails."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: process.poll() is not None or READY.decode() in log.read_text(),
                   f"{argv[1:]} ended or ready")
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
    assert READY.decode() not in log.read_text(), f"{argv[1:]} started:\n{log.read_text()}"
    assert process.returncode == 1
    return log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize(("held", "command", "processes"), [
    ("radius", ["serve", "--role", "radius"], "1"),  # its one listener binds alone
    ("radius", ["serve", "--role", "radius"], "2"),  # it checks before its children
    ("radius", ["radius", "serve"], "1"),
    ("rlm_rest", ["serve", "--role", "radius"], "1"),
    ("rlm_rest", ["serve", "--role", "radius"], "2"),
])
def test_a_second_serve_on_a_serves_shared_ports_refuses_to_start(
        sqlite_config: Config, sqlite_store: Store, tmp_path: Path, held: str,
        command: list[str], processes: str) -> None:
    """Two listener processes of one serve share their ports (SO_REUSEPORT); a second,
    unrelated serve on them joined that group silently and took half the NAS. Now it
    stops in one line naming the port and the keys, as for any port in use; the first
    serves on, its listeners still sharing."""
    rest = free_port()
    first = Serve(sqlite_config, tmp_path, "radius", radius__processes="2",
                  radius__bind="127.0.0.1", radius__rest_bind="127.0.0.1",
                  radius__rest_token="t" * 32, radius__rest_port=str(rest),
                  radius__enabled="true" if held == "radius" else "false")
    first.start(ready_lines=3)  # the parent and both listeners
    try:
        env = {**first.env, "CITYNET_RADIUS__PROCESSES": processes,
               "CITYNET_WEB__PORT": str(free_port())}
        output = refused([CITYNET, *command], env, tmp_path / "second.log")
        assert len(children(first.process.pid)) == 2  # type: ignore[union-attr]
        assert first.process.poll() is None  # type: ignore[union-attr]
    finally:
        first.stop()
    says = {"radius": f"Error: RADIUS cannot listen on 127.0.0.1 ports {first.auth}/"
                      f"{first.acct} (radius.bind, radius.auth_port, radius.acct_port): "
                      "Address already in use",
            "rlm_rest": f"Error: the rlm_rest API cannot listen on 127.0.0.1 port {rest} "
                        "(radius.rest_bind, radius.rest_port): Address already in use"}[held]
    assert says in output.splitlines(), output
    assert "Traceback" not in output
    assert "restarting it" not in first.output()


@pytest.mark.slow
def test_ac_notices_are_taken_by_one_of_two_listener_processes(
        sqlite_config: Config, sqlite_store: Store, tmp_path: Path) -> None:
    """The NTF_LOGOUT port is bound once per node — by listener 1 — not once per listener
    process (each would try; all but one would fail, and a notice must be handled once)."""
    from citynet.crypto import open_box
    from inventory.files import RawRow
    from inventory.importer import import_rows
    from inventory.kinds import KINDS
    from tests.fakes.ac import FakeAc

    box = open_box(sqlite_config, sqlite_store, create=True)
    ac = FakeAc(b"ac-portal-key-456", name="ac-roles")
    with sqlite_store.session() as session:
        assert import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": "ac-roles", "address": ac.address, "secret": SECRET, "vendor": "huawei",
            "portal_protocol": "huawei-v2", "portal_port": ac.port,
            "portal_secret": "ac-portal-key-456"})], box).ok
    notices = free_port(socket.SOCK_DGRAM)
    serve = Serve(sqlite_config, tmp_path, "radius", radius__processes="2",
                  portal__protocol_port=str(notices))
    serve.start(ready_lines=3)  # the parent and both listeners
    try:
        with ac:
            ac.portal = ("127.0.0.1", notices)
            assert ac.kick("10.30.0.9", "idle")  # acknowledged
    finally:
        serve.stop()
    said = serve.output()
    assert said.count(f"Portal-protocol notices on udp 127.0.0.1:{notices}") == 1, said
    assert "Portal-protocol notices: not yet" not in said
    assert "cannot listen" not in said
