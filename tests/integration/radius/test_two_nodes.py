"""Two citynet nodes on one PostgreSQL database, as the two sites run them: the real
FreeRADIUS fails over between their rlm_rest APIs, and a session started through one
node is kicked from the other."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet.config import Config
from citynet.db import Store
from radius import records, vouchers
from radius.models import AccountingRecord
from radius.records import LoginRecord
from tests.conftest import make_config, upgraded
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET, add_nas, radclient
from tests.lab.freeradius import generated_config, radiusd, stop
from tests.support import CITYNET, free_port, http_answers, status_server, wait_until

pytestmark = pytest.mark.postgres

TOKEN = "two-node-token"
SIGNED = "Message-Authenticator = 0x00\n"
NODES = ("127.0.0.1", "127.0.0.2")  # the two sites' addresses, as radius.servers names them


@pytest.fixture
def config(pg_database: str, tmp_path: Path) -> Config:
    return make_config(tmp_path, database={"url": pg_database})


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    yield from upgraded(config)


def node_env(config: Config, address: str, api_port: int, **extra: str) -> dict[str, str]:
    """The environment of one node's `citynet serve` (or CLI): the shared database, its
    own web port, the API on its own address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env.update(CITYNET_DATA_DIR=str(config.data_path), CITYNET_DATABASE__URL=config.database.url,
               CITYNET_RADIUS__REST_TOKEN=TOKEN, CITYNET_RADIUS__REST_BIND=address,
               CITYNET_RADIUS__REST_PORT=str(api_port),
               CITYNET_RADIUS__REST_ALLOW="127.0.0.0/8",
               CITYNET_RADIUS__SERVERS=",".join(NODES), **extra)
    return env


def start_node(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    web_port = free_port(socket.SOCK_STREAM)
    node = subprocess.Popen([CITYNET, "serve"], env={**env, "CITYNET_WEB__PORT": str(web_port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: http_answers(f"http://127.0.0.1:{web_port}/healthz"), "citynet serve",
               node)
    return node, web_port


@dataclass
class Cluster:
    nodes: list[subprocess.Popen[bytes]]
    auth: str
    acct: str


@pytest.fixture
def cluster(config: Config, store: Store, tmp_path: Path) -> Iterator[Cluster]:
    """FreeRADIUS in front of two nodes; its config written by node 1's `freeradius config`
    with the default API list (its own API first, then the other radius.servers)."""
    add_nas(config, store)
    api_port = free_port(socket.SOCK_STREAM)
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    # as deploy/citynet/site1.toml and site2.toml: nodes 0 and 1, a chain block each
    envs = [node_env(config, address, api_port, CITYNET_RADIUS__ENABLED="false",
                     CITYNET_RADIUS__NODE=str(number))
            for number, address in enumerate(NODES)]
    conf = tmp_path / "freeradius"
    written = generated_config(conf, envs[0], auth, acct)
    assert f"API http://127.0.0.1:{api_port}, http://127.0.0.2:{api_port}" in written
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.extend(start_node(env)[0] for env in envs)
        with radiusd(conf, auth, SECRET):
            yield Cluster(nodes, f"127.0.0.1:{auth}", f"127.0.0.1:{acct}")
    finally:
        for node in nodes:
            stop(node)


def login(cluster: Cluster, code: str) -> str:
    return radclient(cluster.auth, "auth", f'User-Name = "{code}"\nUser-Password = "{code}"\n'
                     'Calling-Station-Id = "AA-BB-CC-DD-EE-42"\n' + SIGNED).stdout


def start(cluster: Cluster, session_id: str) -> str:
    return radclient(cluster.acct, "acct", f'User-Name = "u1"\nAcct-Status-Type = Start\n'
                     f'Acct-Session-Id = "{session_id}"\n').stdout


def test_freeradius_fails_over_to_the_second_node(cluster: Cluster, store: Store) -> None:
    with store.session() as session:
        codes = [v.code for v in vouchers.create(session, 3, 45, 1, "ha", valid_days=1)]
    assert "Received Access-Accept" in login(cluster, codes[0])
    assert "Received Accounting-Response" in start(cluster, "before-kill")
    stop(cluster.nodes[0], signal.SIGKILL)  # the first site's node dies without a word
    assert "Received Access-Accept" in login(cluster, codes[1])
    assert "Received Access-Reject" in login(cluster, codes[1] + "x")  # still decided
    assert "Received Accounting-Response" in start(cluster, "after-kill")
    with store.session() as session:
        results = [(r.chain, r.result) for r in session.scalars(
            select(LoginRecord).where(LoginRecord.event == "login").order_by(
                *records.BY_TIME))]
        sessions = session.scalars(select(AccountingRecord.session_id)).all()
        assert records.verify(session)[1] == []
    # each node on a chain of its own: node 0's first listener on 0, node 1's on 64
    assert results == [(0, "accept"), (64, "accept"), (64, "no valid login token")]
    assert sorted(sessions) == ["after-kill", "before-kill"]  # once each


def test_both_nodes_down_fails_closed(cluster: Cluster, store: Store) -> None:
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 45, 1, "ha", valid_days=1)
        code = voucher.code
    for node in cluster.nodes:
        stop(node, signal.SIGKILL)
    assert "Received Access-Reject" in login(cluster, code)


def kick(env: dict[str, str], session_id: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CITYNET, "sessions", "kick", session_id, "--port", str(port)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_session_started_through_one_node_is_kicked_from_the_other(
        config: Config, store: Store) -> None:
    add_nas(config, store)
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    first = node_env(config, NODES[0], free_port(socket.SOCK_STREAM),
                     CITYNET_RADIUS__AUTH_PORT=str(auth), CITYNET_RADIUS__ACCT_PORT=str(acct))
    node, _web = start_node(first)
    try:
        wait_until(lambda: status_server(auth, SECRET.encode()) is not None, "listener", node)
        answer = radclient(f"127.0.0.1:{acct}", "acct", (
            'User-Name = "13800138000"\nAcct-Status-Type = Start\n'
            'Acct-Session-Id = "sess-site1"\nCalling-Station-Id = "AA-BB-CC-DD-EE-FF"\n'))
        assert "Received Accounting-Response" in answer.stdout
        # node 2 as its config says: RADIUS on its own address, which the NAS names
        second = node_env(config, NODES[1], free_port(socket.SOCK_STREAM),
                          CITYNET_RADIUS__BIND=NODES[1])
        with FakeNas(SECRET.encode(), sessions={"sess-site1": {}},
                     clients=frozenset(NODES)) as nas:
            kicked = kick(second, "sess-site1", nas.port)
        assert kicked.returncode == 0, kicked.stderr
        assert "disconnected sess-site1 on test-gw: Disconnect-ACK" in kicked.stdout
        assert "sess-site1" not in nas.sessions
        assert nas.sources == [NODES[1]]  # from node 2's address, not the route's
        # a NAS that names site 1 only does not listen to site 2
        with FakeNas(SECRET.encode(), sessions={"sess-site1": {}},
                     clients=frozenset(NODES[:1])) as deaf:
            ignored = kick(second, "sess-site1", deaf.port)
        assert ignored.returncode == 1 and "no answer" in ignored.stdout + ignored.stderr
    finally:
        stop(node)
