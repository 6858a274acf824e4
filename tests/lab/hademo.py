"""``make ha-demo``: the two-site cluster of docs/operations.md on one machine, to try by
hand — ``python -m tests.lab.hademo`` (root: it makes network namespaces).

It builds the lab the fault tests use: site A and site B as network namespaces joined by
a WAN link with a 20 ms round trip (:mod:`tests.lab.sites`, :mod:`tests.lab.wan`), a
Patroni PostgreSQL node and an etcd member in each, the witness etcd on the host side
(:mod:`tests.lab.patroni`), then seeds the demo district into the cluster once and runs
one ``citynet serve`` (every role: RADIUS, web, collectors) in each site, on that site's
address, both on the libpq multi-host URL. The host side is the NAS: a NAS client
covering the lab's /24 is registered, so ``radclient`` from this machine reaches either
node. It prints ``ready``, then what to open and what to break; SIGINT (Ctrl-C) or
SIGTERM tears everything down — the citynet nodes, Patroni, PostgreSQL, etcd, the WAN
process, the namespaces and links, the temporary directory — and the last line is
``stopped``.

SIGINT and SIGTERM are blocked from the start and taken with ``sigwait``; the processes
started here inherit the blocked mask, so a Ctrl-C in the terminal reaches this process
alone and the teardown stops the others in order, by PID. A signal during start-up is
taken once start-up has finished or failed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from radius import codec
from radius.wire import Code
from tests.lab.frr import _descendants, _kill, _tail, alive
from tests.lab.patroni import PatroniLab
from tests.lab.sites import Site, SiteNetwork

RTT_MS = 20.0
AUTH_PORT, ACCT_PORT, WEB_PORT = 1812, 1813, 8080
NAS_NAME = "nas-sim"
START_TIMEOUT = 240.0  # citynet's start on a busy machine, after the cluster's own
STOP_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[2]


class CitynetNode:
    """One ``citynet serve`` (every role) inside a site's namespace, on its address."""

    def __init__(self, site: Site, base: Path, env: dict[str, str]) -> None:
        self.site = site
        self.dir = base / f"citynet-{site.name}"
        self.dir.mkdir()
        self.log = self.dir / "serve.log"
        self.env = {**env, "CITYNET_DATA_DIR": str(self.dir),
                    "CITYNET_RADIUS__BIND": site.address,
                    "CITYNET_WEB__BIND": site.address,
                    # every process of the node counts into one place: any /metrics shows
                    # the node, the collectors' leader state included (docs/operations.md)
                    "PROMETHEUS_MULTIPROC_DIR": str(self.dir / "metrics")}
        (self.dir / "metrics").mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.site.run(), sys.executable, "-m", "citynet", "serve"],
                env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_take_sigterm)

    def answers(self, secret: str) -> bool:
        return status_server(self.site.address, secret)

    def stop(self) -> None:
        """SIGTERM (citynet stops its roles), then SIGKILL to what is left, by PID."""
        if self.process is None:
            return
        family = [self.process.pid, *_descendants([self.process.pid])]
        for pid in family:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        for pid in [*family, *_descendants(family)]:
            _kill(pid)
        self.process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for the kernel to reap, not synchronisation


def status_server(address: str, secret: str, wait: float = 1.0) -> bool:
    """One signed Status-Server to ``address``'s auth port: answered with Access-Accept."""
    request = codec.encode_request(Code.STATUS_SERVER, secret.encode(), {}, identifier=7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait)
        try:
            sock.sendto(request, (address, AUTH_PORT))
            reply = sock.recvfrom(4096)[0]
        except OSError:
            return False
    return reply[0] == Code.ACCESS_ACCEPT


def wait_for(ready: object, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready within {timeout:g} s")
        time.sleep(0.2)  # readiness polling


class Demo:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="citynet-hademo-"))
        self.secret = secrets.token_urlsafe(18)
        self.network: SiteNetwork | None = None
        self.cluster: PatroniLab | None = None
        self.nodes: list[CitynetNode] = []
        self.url = ""
        self.env: dict[str, str] = {}

    def citynet(self, *argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "citynet", *argv], env=self.env,
                              cwd=self.dir, capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"citynet {' '.join(argv[:2])}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def start(self) -> None:
        say(f"two sites, {RTT_MS:g} ms WAN between them: namespaces and links")
        self.network = SiteNetwork(rtt_ms=RTT_MS).start()
        say("etcd (3 members) and Patroni PostgreSQL (2 nodes, synchronous): up to a "
            "few minutes")
        self.cluster = PatroniLab(sites=self.network).start()
        self.cluster.create_database("citynet")
        self.url = self.cluster.url("citynet", connect_timeout="2",
                                    tcp_user_timeout="5000")
        net = self.network
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env = {
            **env, "PYTHONPATH": os.pathsep.join(filter(None, [
                str(ROOT), env.get("PYTHONPATH", "")])),
            "CITYNET_DATA_DIR": str(self.dir / "seed"),
            "CITYNET_DATABASE__URL": self.url,
            "CITYNET_SECRETS__KEY": Fernet.generate_key().decode(),
            "CITYNET_RADIUS__SERVERS": f"{net.a.address},{net.b.address}",
            "CITYNET_RADIUS__AUTH_PORT": str(AUTH_PORT),
            "CITYNET_RADIUS__ACCT_PORT": str(ACCT_PORT),
            "CITYNET_WEB__PORT": str(WEB_PORT),
            "CITYNET_METRICS__ALLOW": f"127.0.0.1/32,{net.subnet}"}
        (self.dir / "seed").mkdir()
        say("the demo district, seeded once into the cluster")
        seeded = self.citynet("demo", "--seed-only")
        self.admin = next((line for line in seeded.splitlines() if "admin" in line), "")
        self.citynet("nas", "add", NAS_NAME, "--ip", net.subnet, "--secret", self.secret)
        for number, site in enumerate(net.sites):
            # a node number each, as deploy/citynet/site1.toml and site2.toml: every
            # listener of the cluster on a login-record chain of its own
            node = CitynetNode(site, self.dir, {**self.env,
                                                "CITYNET_RADIUS__NODE": str(number)})
            self.nodes.append(node)
            node.start()
        say("one citynet node per site (RADIUS, web, collectors)")
        for node in self.nodes:
            wait_for(lambda node=node: node.answers(self.secret) or _died(node),
                     f"citynet at site {node.site.name}", START_TIMEOUT)
            if _died(node):
                raise RuntimeError(f"citynet at site {node.site.name} exited: "
                                   f"{_tail(node.log)}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        if self.cluster is not None:
            self.cluster.stop()
        if self.network is not None:
            self.network.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def guide(self) -> str:
        assert self.network is not None and self.cluster is not None
        net, lab = self.network, self.cluster
        a, b = self.nodes
        primary = lab.primary()
        pg = "\n".join(
            f"    {n.name} at site {n.site.name if n.site else '-'}: {n.address}, "
            f"Patroni API http://{n.api}/  "
            f"{'PRIMARY' if n is primary else 'replica'}" for n in lab.nodes)
        etcd = ", ".join(f"{m.name} {m.client_url}" for m in lab.etcd)
        etcd_pids = ", ".join(f"{name} PID {pid}" for name, pid in lab.etcd_pids.items())
        cli = (f"PYTHONPATH={ROOT} CITYNET_DATABASE__URL='{self.url}' CITYNET_SECRETS__KEY="
               f"'{self.env['CITYNET_SECRETS__KEY']}' CITYNET_DATA_DIR={self.dir}/seed "
               f"{sys.executable} -m citynet")
        probe = "echo Message-Authenticator=0x00 | radclient"
        return f"""
The two-site cluster (lab directory {self.dir}):
{_node_line("A", a, net.a.namespace)}
{_node_line("B", b, net.b.namespace)}
  PostgreSQL under Patroni:
{pg}
  etcd: {etcd}
  WAN between the sites: {RTT_MS:g} ms round trip (user-space link, tests/lab/wan.py)
  NAS simulator: this machine, NAS '{NAS_NAME}' for {net.subnet}, secret {self.secret}
  {self.admin}

Things to try (in another shell, as root):
  who answers RADIUS:
    {probe} -x {a.site.address}:{AUTH_PORT} status '{self.secret}'
    {probe} -x {b.site.address}:{AUTH_PORT} status '{self.secret}'
  the store, from either site's view:
    {cli} db current
  who is leader of the singleton work (collectors, alerts): one node's log says
  "leader of singleton"; its metrics show citynet_leader 1:
    curl -s http://{a.site.address}:{WEB_PORT}/metrics | grep ^citynet_leader
    curl -s http://{b.site.address}:{WEB_PORT}/metrics | grep ^citynet_leader
    grep -h 'leader of' {a.log} {b.log}
  kill the primary's PostgreSQL; Patroni promotes the other node in seconds, and
  `db current`, the web and RADIUS carry on:
    kill -9 {primary.postmaster_pid() if primary else '$(head -1 DATA_DIR/postmaster.pid)'}
    watch -n1 'curl -s http://{lab.nodes[0].api}/patroni | head -c 120; echo;
               curl -s http://{lab.nodes[1].api}/patroni | head -c 120'
  kill a citynet node; the other still answers RADIUS (a NAS fails over to it), and
  takes the lead within seconds if the dead one was leader:
    kill -9 {a.pid}   # node A's serve; its role processes leave with it
  stop one etcd member (quorum holds):
    kill -STOP <one of: {etcd_pids}>   # kill -CONT it again; two stopped: no quorum,
                                       # PostgreSQL read-only, citynet fails closed
  lengthen the WAN (synchronous commits wait for the far site): not at run time here;
    see bench/ha_sites.py
  logs: {a.log}, {b.log}, {lab.dir}/*.log

Ctrl-C tears it all down (namespaces, processes, this directory).
"""


def _node_line(name: str, node: CitynetNode, namespace: str) -> str:
    where = node.site.address
    return (f"  citynet node {name} (namespace {namespace}), PID {node.pid}: "
            f"RADIUS {where}:{AUTH_PORT}/{ACCT_PORT}, web http://{where}:{WEB_PORT}/, "
            f"metrics http://{where}:{WEB_PORT}/metrics")


def _take_sigterm() -> None:
    """In a citynet node before its exec: SIGTERM stops it (this process blocks it)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _died(node: CitynetNode) -> bool:
    return node.process is not None and node.process.poll() is not None


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    if os.geteuid() != 0:
        say("make ha-demo needs root (network namespaces, PostgreSQL as the postgres "
            "account)")
        return 2
    wanted = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)  # inherited by every child
    demo = Demo()
    try:
        demo.start()
        say(demo.guide())
        started = [*(n.pid for n in demo.nodes), *(demo.cluster.pids if demo.cluster else [])]
        pids = " ".join(str(pid) for pid in [*started, *_descendants(started)])
        namespaces = " ".join(site.namespace for site in demo.network.sites) \
            if demo.network else ""
        say(f"pids {pids}")
        say(f"namespaces {namespaces}")
        say(f"directory {demo.dir}")
        say(f"directory {demo.cluster.dir if demo.cluster else demo.dir}")
        say("ready")
        caught = signal.sigwait(wanted)
        say(f"{signal.Signals(caught).name}: tearing down")
        return 0
    except BaseException as failure:  # any failure: still tear down
        say(f"ha-demo did not come up: {failure}")
        if demo.cluster is not None:
            say(demo.cluster.log_tail())
        for node in demo.nodes:
            say(f"--- citynet at site {node.site.name}\n{_tail(node.log)}")
        return 1
    finally:
        demo.stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
