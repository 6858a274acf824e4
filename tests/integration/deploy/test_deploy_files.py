"""deploy/ checked offline by the tools that will read it: systemd-analyze, nginx -t,
patroni --validate-config (on copies whose addresses are loopback: its validator
connects to every address it is given), and citynet's own config loader."""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from citynet.config import load, store_url
from tests.lab.patroni import DCS

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
CITYNET = Path(sys.executable).parent / "citynet"
UNITS = ("citynet-radius@.service", "citynet-web.service", "citynet-collect.service",
         "citynet.target")


def needs(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{tool} is missing: run scripts/test-deps.sh")
    return path


def test_the_units_verify_and_run_the_three_roles(tmp_path: Path) -> None:
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        # the real binary here, so verify can check it exists and is executable
        text = text.replace("/opt/citynet/venv/bin/citynet", str(CITYNET))
        (tmp_path / name.replace("@.", "@1.")).write_text(text)
    verified = subprocess.run([needs("systemd-analyze"), "verify", "--man=no",
                               *sorted(str(p) for p in tmp_path.iterdir())],
                              capture_output=True, text=True, timeout=60, check=False)
    ours = [line for line in verified.stderr.splitlines() if str(tmp_path) in line
            or "citynet" in line]
    assert verified.returncode == 0 and not ours, verified.stderr
    roles = {re.search(r"--role (\w+)", (DEPLOY / "systemd" / n).read_text()).group(1)
             for n in UNITS[:3]}
    assert roles == {"radius", "web", "collect"}


def test_a_stop_signals_the_serve_and_it_stops_its_children() -> None:
    """A serve with child processes (gunicorn's workers, listener children, a collector)
    stops them itself on SIGTERM; systemd's default would signal every process of the
    unit at once, and the serve would take its children's exits for crashes."""
    for name in UNITS[:3]:
        unit = (DEPLOY / "systemd" / name).read_text()
        assert re.search(r"^KillMode=mixed$", unit, re.MULTILINE), name


def test_nginx_accepts_the_tls_front(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=citynet.example.cn", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    proxy = tmp_path / "citynet-proxy.conf"
    shutil.copy(DEPLOY / "nginx" / "citynet-proxy.conf", proxy)
    site = (DEPLOY / "nginx" / "citynet-web.conf").read_text().replace(
        "/etc/ssl/citynet/fullchain.pem", str(cert)).replace(
        "/etc/ssl/citynet/privkey.pem", str(key)).replace(
        "/etc/nginx/citynet-proxy.conf", str(proxy))
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n    access_log off;\n"
                    f"    include {tmp_path}/site.conf;\n}}\n")
    tested = subprocess.run([needs("nginx"), "-t", "-q", "-p", str(tmp_path), "-c", str(main)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert tested.returncode == 0, tested.stderr


@pytest.fixture
def etcd_standins() -> Iterator[list[str]]:
    """Three listening sockets where the copies' etcd members are: the validator
    requires each to be reachable."""
    sockets = []
    for _ in range(3):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
    try:
        yield [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("node", ["db1", "db2"])
def test_patroni_validates_each_node(node: str, tmp_path: Path,
                                     etcd_standins: list[str]) -> None:
    config = yaml.safe_load((DEPLOY / "patroni" / f"{node}.yml").read_text())
    # the failover settings the lab measured (DESIGN.md field notes)
    assert {key: config["bootstrap"]["dcs"][key] for key in DCS} == DCS
    assert len(config["etcd3"]["hosts"]) == 3
    for section in ("restapi", "postgresql"):
        port = _free_port()
        config[section]["listen"] = f"127.0.0.1:{port}"
        config[section]["connect_address"] = f"127.0.0.2:{port}"  # not 127.0.0.1: refused
    config["etcd3"]["hosts"] = etcd_standins
    config["postgresql"]["data_dir"] = str(tmp_path / "data")
    config["postgresql"]["pgpass"] = str(tmp_path / "pgpass")
    copy = tmp_path / "patroni.yml"
    copy.write_text(yaml.safe_dump(config))
    validated = subprocess.run([needs("patroni"), "--validate-config", str(copy)],
                               capture_output=True, text=True, timeout=60, check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def _initdb_hba(options: list[object]) -> list[str]:
    """The pg_hba lines initdb writes, ahead of Patroni's bootstrap.pg_hba (appended)."""
    flags = {key: value for option in options if isinstance(option, dict)
             for key, value in option.items()}
    local, host = flags.get("auth-local", "trust"), flags.get("auth-host", "trust")
    return [f"{kind} {database} all {where}{method}" for database in ("all", "replication")
            for kind, where, method in (("local", "", local), ("host", "127.0.0.1/32 ", host),
                                        ("host", "::1/128 ", host))]


def _method(hba: list[str], kind: str, database: str, user: str, address: str = "") -> str:
    """The method of the first line that takes this connection (PostgreSQL reads no
    further); "no line" if none does. Enough of pg_hba for the lines in deploy/."""
    for line in hba:
        fields = line.split()
        if fields[0] != kind and not (kind == "hostssl" and fields[0] == "host"):
            continue
        if fields[1] not in ("all", database) or fields[2] not in ("all", user):
            continue
        if kind == "local":
            return fields[3]
        if ipaddress.ip_address(address) in ipaddress.ip_network(fields[3]):
            return fields[4]
    return "no line"


@pytest.mark.parametrize("node", ["db1", "db2"])
def test_patronis_own_connections_are_let_in(node: str) -> None:
    """Patroni's connection to its own PostgreSQL (bootstrap stops without it: "no
    pg_hba.conf entry for host 10.1.0.11, user postgres"), and pg_rewind's from the other
    node when the old primary rejoins; initdb's lines come first and trust no one."""
    config = yaml.safe_load((DEPLOY / "patroni" / f"{node}.yml").read_text())
    hba = _initdb_hba(config["bootstrap"]["initdb"]) + config["bootstrap"]["pg_hba"]
    postgresql = config["postgresql"]
    assert postgresql.get("use_unix_socket") is True
    assert _method(hba, "local", "postgres", postgresql["authentication"]["superuser"][
        "username"]) == "peer"
    nodes = [yaml.safe_load((DEPLOY / "patroni" / f"{n}.yml").read_text())["postgresql"][
        "connect_address"].rpartition(":")[0] for n in ("db1", "db2")]
    credentials = postgresql["authentication"]
    for address in nodes:
        assert _method(hba, "hostssl", "replication", credentials["replication"]["username"],
                       address) == "scram-sha-256"
        assert _method(hba, "hostssl", "postgres", credentials["rewind"]["username"],
                       address) == "scram-sha-256"
    for citynet in ("10.1.0.10", "10.2.0.10"):
        assert _method(hba, "hostssl", "citynet", "citynet", citynet) == "scram-sha-256"


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#"))
    return {key: value.strip('"') for key, value in pairs}


def test_the_three_etcd_members_agree_on_one_cluster() -> None:
    members = [_env_file(DEPLOY / "etcd" / f"etcd-{where}.env")
               for where in ("site1", "site2", "witness")]
    [cluster] = {m["ETCD_INITIAL_CLUSTER"] for m in members}
    peers = dict(entry.split("=", 1) for entry in cluster.split(","))
    assert sorted(peers) == sorted(m["ETCD_NAME"] for m in members) == ["etcd1", "etcd2",
                                                                       "etcd3"]
    for member in members:
        assert peers[member["ETCD_NAME"]] == member["ETCD_INITIAL_ADVERTISE_PEER_URLS"]
        # Debian 12's etcd 3.4 leaves it off; the partition runs without it went over
        # the test's bound (docs/operations.md)
        assert member.get("ETCD_PRE_VOTE") == "true", member["ETCD_NAME"]
    patroni = yaml.safe_load((DEPLOY / "patroni" / "db1.yml").read_text())
    assert sorted(patroni["etcd3"]["hosts"]) == sorted(
        m["ETCD_ADVERTISE_CLIENT_URLS"].removeprefix("http://") for m in members)


@pytest.mark.parametrize("site", ["site1", "site2"])
def test_the_citynet_configs_load(site: str) -> None:
    environ = _env_file(DEPLOY / "citynet" / "citynet.env.example")
    config = load(DEPLOY / "citynet" / f"{site}.toml", environ=environ)
    assert config.radius.servers == ["10.1.0.10", "10.2.0.10"]
    assert config.radius.rest_bind in config.radius.servers
    assert config.web.proxies == 1  # nginx in front (deploy/nginx)
    # a link cut mid-transaction fails the round in 5 s, not TCP's ~15 min
    # (docs/operations.md, "the sites")
    assert store_url(config.database.url).query["tcp_user_timeout"] == "5000"
    hosts = re.search(r"@([^/]+)/", config.database.url).group(1)
    patroni = [yaml.safe_load((DEPLOY / "patroni" / f"{n}.yml").read_text())
               for n in ("db1", "db2")]
    assert hosts.split(",") == [p["postgresql"]["connect_address"] for p in patroni]


def test_every_listener_of_the_cluster_has_a_login_record_chain_of_its_own() -> None:
    """The two nodes have different radius.node, and each templated unit names its
    listener: citynet-radius@N of node K appends to chain K × 64 + N − 1 (docs/radius.md)."""
    environ = _env_file(DEPLOY / "citynet" / "citynet.env.example")
    nodes = [load(DEPLOY / "citynet" / f"{site}.toml", environ=environ).radius.node
             for site in ("site1", "site2")]
    assert nodes == [0, 1]
    unit = (DEPLOY / "systemd" / "citynet-radius@.service").read_text()
    [command] = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    assert command.endswith(" serve --role radius --listener %i")
