"""A PostgreSQL HA cluster for the failover tests: three etcd members and two PostgreSQL
nodes run by Patroni, with synchronous replication — the production store's shape.

Everything listens on 127.0.0.1 on ports from the OS and lives in one directory of its
own under /tmp — or, with ``sites=`` (a :class:`tests.lab.sites.SiteNetwork`), node 1
and etcd 1 in site A's network namespace, node 2 and etcd 2 in site B's, the third etcd
(the witness) on the host side, all on the sites' addresses, with the WAN's delay
between the sites; the machine's PostgreSQL (5432) and the system's etcd/Patroni services
are never touched. PostgreSQL refuses to run as root, so Patroni (and the PostgreSQL it
starts, initdb included) runs as the ``postgres`` account, and the lab directory is
theirs. Failover settings are the field notes' (DESIGN.md): ``primary_start_timeout`` 0
(a crashed primary is not restarted in place first), ``ttl`` 20 (Patroni 4's floor),
``loop_wait`` 2,
``retry_timeout`` 8 (3 demoted the primary when an etcd election under load outlasted
it). :meth:`PatroniLab.stop` kills every process it started, and their
descendants, by PID — also after a failed start — and removes the directory.

Patroni reads YAML; its configs are written as JSON, which is YAML too.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest

from tests.lab.frr import _descendants, _kill, _tail, alive
from tests.lab.sites import Site, SiteNetwork
from tests.support import free_port, wait_until

BIN_DIR = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"  # PostgreSQL will not run as root
SUPERUSER = "postgres"
START_TIMEOUT = 120.0  # initdb, a base backup and a synchronous standby on a busy machine
LOOPBACK = "127.0.0.1"
TOOLS = ("etcd",)
# Patroni from its own virtualenv (scripts/test-deps.sh): Debian 12's 3.0.2 lets an old
# primary coming back from a partition overwrite the new primary's leader key (its etcd3
# lease renewal puts the key unconditionally, on a stale view; fixed upstream in 3.0.3,
# patroni PR #2689) — it then promotes itself and the new primary's commits are rewound
# away. docs/operations.md, "the sites partitioned".
PATRONI_VENV = Path("/opt/citynet-patroni/bin")
PATRONI_AT_LEAST = (3, 0, 3)
# the failover settings the field notes measured (DESIGN.md, Patroni); ttl 20: Patroni 4
# raises anything lower to 20 with a warning, so the lab says what runs
DCS = {"ttl": 20, "loop_wait": 2, "retry_timeout": 8, "primary_start_timeout": 0,
       "maximum_lag_on_failover": 1024 * 1024, "synchronous_mode": True}


@dataclass(frozen=True)
class Etcd:
    name: str
    client_port: int
    peer_port: int
    host: str = LOOPBACK
    site: Site | None = None  # None: the host side

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"


@dataclass(frozen=True)
class Node:
    """One PostgreSQL node and the Patroni that runs it."""

    name: str
    port: int  # PostgreSQL
    api_port: int  # Patroni's REST API
    data_dir: Path
    host: str = LOOPBACK
    site: Site | None = None  # None: the host side

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.host}:{self.api_port}"

    def answers(self, check: str) -> bool:
        """Patroni's REST health check (``primary``, ``sync``, ``health``...) says 200."""
        try:
            with urllib.request.urlopen(f"http://{self.api}/{check}",
                                        timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.HTTPError, OSError):
            return False

    def postmaster_pid(self) -> int:
        """The PID of this node's running PostgreSQL (its postmaster.pid's first line)."""
        return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


class PatroniLab:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    def __init__(self, nodes: int = 2, members: int = 3,
                 sites: SiteNetwork | None = None) -> None:
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing or not BIN_DIR.is_dir():
            pytest.fail(f"{', '.join(missing) or BIN_DIR} not installed: `make deps` "
                        "(scripts/test-deps.sh) installs patroni, etcd-server and PostgreSQL")
        self.patroni = patroni_command()
        self.scope = f"citynet-lab-{uuid.uuid4().hex[:8]}"
        self.dir = Path(tempfile.mkdtemp(prefix="citynet-patroni-"))
        self.sites = sites
        # with sites: node i and etcd i at site i, the etcd members beyond on the host side
        places: list[tuple[str, Site | None]] = (
            [(site.address, site) for site in sites.sites] + [(sites.witness, None)] * 8
            if sites else [(LOOPBACK, None)] * 16)
        self.etcd = [Etcd(f"etcd{i}", free_port(), free_port(), *places[i])
                     for i in range(members)]
        self.nodes = [Node(f"pg{i}", free_port(), free_port(), self.dir / f"pg{i}",
                           *places[i]) for i in range(nodes)]
        self.trusted = sites.subnet if sites else f"{LOOPBACK}/32"
        self.pids: list[int] = []
        self.etcd_pids: dict[str, int] = {}  # the running member's PID, by name
        self._processes: list[subprocess.Popen[bytes]] = []

    # --- what tests use ----------------------------------------------------------------

    def url(self, database: str, **options: str) -> str:
        """The libpq multi-host URL of ``database`` on this cluster (read-write: the
        primary, wherever it is)."""
        hosts = ",".join(node.address for node in self.nodes)
        query = "&".join(f"{key}={value}" for key, value in
                         {"target_session_attrs": "read-write", **options}.items())
        return f"postgresql://{SUPERUSER}@{hosts}/{database}?{query}"

    def primary(self) -> Node | None:
        found = [node for node in self.nodes if node.answers("primary")]
        return found[0] if len(found) == 1 else None

    def wait_for_primary(self, other_than: Node | None = None,
                         timeout: float = START_TIMEOUT) -> Node:
        """The primary, once exactly one node is it (and it is not ``other_than``)."""
        def ready() -> bool:
            primary = self.primary()
            return primary is not None and primary != other_than

        wait_until(ready, f"a Patroni primary (not {other_than and other_than.name})",
                   timeout=timeout)
        primary = self.primary()
        assert primary is not None
        return primary

    def wait_for_sync_standby(self, timeout: float = START_TIMEOUT) -> Node:
        wait_until(lambda: any(node.answers("sync") for node in self.nodes),
                   "a synchronous standby", timeout=timeout)
        return next(node for node in self.nodes if node.answers("sync"))

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres", connect_timeout="5"),
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop_etcd(self, member: Etcd) -> None:
        """kill -9 one etcd member (its data directory stays, for :meth:`start_etcd`)."""
        pid = self.etcd_pids.pop(member.name)
        _kill(pid)
        process = next(p for p in self._processes if p.pid == pid)
        process.wait(timeout=30)

    def start_etcd(self, member: Etcd) -> None:
        """Start a stopped member again: it rejoins with its data directory."""
        self._spawn_etcd(member)
        wait_until(lambda: _etcd_healthy(member), f"{member.name} healthy again",
                   timeout=START_TIMEOUT)

    def etcd_healthy(self, member: Etcd) -> bool:
        return _etcd_healthy(member)

    def log_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{_tail(log)}" for log in sorted(self.dir.glob("*.log")))

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> PatroniLab:
        try:
            account = pwd.getpwnam(OS_USER)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            for member in self.etcd:
                self._spawn_etcd(member)
            wait_until(lambda: all(_etcd_healthy(member) for member in self.etcd),
                       "etcd quorum", timeout=START_TIMEOUT)
            for node in self.nodes:
                self._spawn_patroni(node, account)
            self.wait_for_primary()
            wait_until(lambda: all(node.answers("health") for node in self.nodes),
                       "both PostgreSQL nodes running", timeout=START_TIMEOUT)
            self.wait_for_sync_standby()
        except BaseException:
            print(self.log_tail())  # why it did not come up
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill everything started here (Patroni, its PostgreSQL, etcd) by PID."""
        postmasters = []
        for node in self.nodes:
            try:
                postmasters.append(node.postmaster_pid())
            except (OSError, ValueError):  # never started, or already gone
                continue
        # postmasters of ours only: their data directory is under the lab's own
        postmasters = [pid for pid in postmasters if _runs_in(pid, self.dir)]
        doomed = [*self.pids, *postmasters]
        for pid in [*doomed, *_descendants(doomed)]:
            _kill(pid)
        for process in self._processes:
            process.wait(timeout=30)
        for pid in postmasters:
            wait_until(lambda pid=pid: not alive(pid), f"postgres {pid} gone", timeout=30)
        keep = os.environ.get("CITYNET_LAB_LOGS")
        if keep:  # the evidence of a run, kept past it: Patroni's, etcd's, PostgreSQL's logs
            target = Path(keep) / self.dir.name
            target.mkdir(parents=True, exist_ok=True)
            for log in [*self.dir.glob("*.log"), *self.dir.glob("pg*/log/*")]:
                shutil.copy(log, target / f"{log.parent.name}-{log.name}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PatroniLab:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    # --- the pieces ----------------------------------------------------------------------

    def _spawn(self, argv: list[str], log_name: str, **kwargs: object) -> int:
        # not the test's environment: Patroni is the system's Python, not citynet's venv
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "HOME": str(self.dir)}
        with (self.dir / log_name).open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       stdin=subprocess.DEVNULL, cwd=self.dir,
                                       **kwargs)  # type: ignore[call-overload]
        self._processes.append(process)
        self.pids.append(process.pid)
        return process.pid

    def _spawn_etcd(self, member: Etcd) -> None:
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.etcd)
        self.etcd_pids[member.name] = self._spawn([
            *_inside(member.site), "etcd", "--name", member.name,
            "--data-dir", str(self.dir / member.name),
            "--listen-client-urls", member.client_url,
            "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", cluster,
            "--initial-cluster-token", self.scope,
            "--initial-cluster-state", "new",
            # a member cut off and back must not force an election on its return (etcd 3.4
            # leaves pre-vote off): the new primary's Patroni would lose etcd meanwhile
            f"--pre-vote={os.environ.get('CITYNET_LAB_ETCD_PRE_VOTE', 'true')}"],
            f"{member.name}.log")

    def _spawn_patroni(self, node: Node, account: pwd.struct_passwd) -> None:
        config = self.dir / f"{node.name}.yml"
        config.write_text(json.dumps(self._patroni_config(node), indent=1))
        os.chown(config, account.pw_uid, account.pw_gid)
        if node.site is None:
            self._spawn([self.patroni, str(config)], f"{node.name}.log", user=account.pw_uid,
                        group=account.pw_gid, extra_groups=[])
        else:  # entering a namespace needs root: drop to the account after it
            self._spawn([*node.site.run(), "setpriv", f"--reuid={account.pw_uid}",
                         f"--regid={account.pw_gid}", "--clear-groups", self.patroni,
                         str(config)], f"{node.name}.log")

    def _wan_parameters(self) -> dict[str, str]:
        """Across sites: a replication link that goes silent is given up after 10 s, not
        PostgreSQL's default 60 s — until then every synchronous commit waits for it."""
        return {"wal_sender_timeout": "10s", "wal_receiver_timeout": "10s"} if self.sites else {}

    def _patroni_config(self, node: Node) -> dict[str, object]:
        trust = [f"host {database} {user} {self.trusted} trust"
                 for database, user in (("replication", "replicator"), ("all", "all"))]
        return {
            "scope": self.scope,
            "namespace": "/citynet-lab/",
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": node.api, "connect_address": node.api},
            "etcd3": {"hosts": [f"{member.host}:{member.client_port}"
                                for member in self.etcd]},
            "bootstrap": {
                "dcs": {**DCS, "postgresql": {"use_pg_rewind": True, "parameters": {
                    "wal_log_hints": "on", "max_connections": 100}}},
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
                "pg_hba": ["local all all trust", *trust],
            },
            "postgresql": {
                "listen": node.address,
                "connect_address": node.address,
                "data_dir": str(node.data_dir),
                "bin_dir": str(BIN_DIR),
                "pgpass": str(self.dir / f"{node.name}.pgpass"),
                "authentication": {
                    "superuser": {"username": SUPERUSER, "password": "lab"},
                    "replication": {"username": "replicator", "password": "lab"},
                    "rewind": {"username": SUPERUSER, "password": "lab"}},
                "parameters": {"unix_socket_directories": str(self.dir),
                               "shared_buffers": "32MB", **self._wan_parameters()},
            },
        }


def patroni_command() -> str:
    """The Patroni to run: one with the leader-key fix (:data:`PATRONI_AT_LEAST`)."""
    found = shutil.which("patroni", path=str(PATRONI_VENV)) or shutil.which("patroni")
    version = ""
    if found:
        done = subprocess.run([found, "--version"], capture_output=True, text=True,
                              check=False, timeout=60)
        version = done.stdout.split()[-1] if done.stdout.split() else ""
    parts = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    if not found or parts < PATRONI_AT_LEAST:
        pytest.fail(f"Patroni {'.'.join(map(str, PATRONI_AT_LEAST))} or later needed, found "
                    f"{found or 'none'} {version}: `make deps` (scripts/test-deps.sh) "
                    f"installs it in {PATRONI_VENV.parent}")
    return found


def _inside(site: Site | None) -> list[str]:
    return site.run() if site else []


def _etcd_healthy(member: Etcd) -> bool:
    try:
        with urllib.request.urlopen(f"{member.client_url}/health", timeout=2) as answer:
            return bool(json.loads(answer.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _runs_in(pid: int, directory: Path) -> bool:
    """Process ``pid`` was started with ``directory`` in its command line (-D DATADIR)."""
    try:
        return str(directory) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
            errors="replace")
    except OSError:
        return False
