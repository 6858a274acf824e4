"""The FRR lab: real FRRouting routers behind OpenSSH, driven with plain netmiko (needs root).

These pin down what the devices package relies on: a session lands in that router's vtysh,
configuration sticks and reads back, routers share nothing, `write memory` saves to that
router's file only, refused commands answer ``% ...``, bad credentials are refused, and
``stop`` leaves no process, namespace or directory behind.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netmiko import ConfigInvalidException, ConnectHandler, NetmikoAuthenticationException

from tests.lab.frr import FrrLab, Router, alive
from tests.support import children, wait_until

pytestmark = pytest.mark.slow

ROUTE = "ip route 10.99.0.0/24 Null0"
PREFIX_LIST = "ip prefix-list CITYNET seq 5 permit 10.0.0.0/8"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[FrrLab]:
    lab = FrrLab(tmp_path / "lab")
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def routers(lab: FrrLab) -> list[Router]:
    return lab.start(2)


def connect(router: Router, **login: Any) -> Any:
    """A netmiko session as the devices package opens one (password login by default)."""
    login = login or {"password": router.password}
    return ConnectHandler(device_type="cisco_ios", host=router.host, port=router.port,
                          username=router.username, allow_agent=False, **login)


def running(router: Router) -> list[str]:
    with connect(router) as session:
        return str(session.send_command("show running-config")).splitlines()


def kernel_routes(namespace: str | None, prefix: str) -> str:
    netns = ["-n", namespace] if namespace else []
    return subprocess.run(["ip", *netns, "route", "show", prefix], capture_output=True,
                          text=True, check=True).stdout


def test_a_session_lands_in_its_own_routers_vtysh(routers: list[Router]) -> None:
    for index, router in enumerate(routers, start=1):
        with connect(router) as session:
            assert session.find_prompt() == f"{router.hostname}#"
            config = str(session.send_command("show running-config")).splitlines()
            interfaces = str(session.send_command("show interface brief"))
        assert f"hostname {router.hostname}" in config
        assert config[-1] == "end"
        assert f"10.255.0.{index}/32" in interfaces  # its own namespace's loopback


def test_configuration_reads_back_and_stays_on_its_router(routers: list[Router]) -> None:
    first, second = routers
    with connect(first) as session:
        output = session.send_config_set(
            [ROUTE, "interface lo", "description uplink of r1", "exit", PREFIX_LIST],
            error_pattern=r"% ")
        assert "(config-if)#" in output
        config = str(session.send_command("show running-config")).splitlines()
    assert ROUTE in config
    assert PREFIX_LIST in config
    interface = config.index("interface lo")
    assert config[interface:interface + 3] == ["interface lo", " description uplink of r1",
                                               "exit"]
    wait_until(lambda: "blackhole" in kernel_routes(first.namespace, "10.99.0.0/24"),
               "the static route in r1's kernel table", timeout=10)
    assert kernel_routes(second.namespace, "10.99.0.0/24") == ""
    assert kernel_routes(None, "10.99.0.0/24") == ""  # nothing reaches the machine's table
    other = running(second)
    assert ROUTE not in other
    assert PREFIX_LIST not in other
    assert "interface lo" not in other


def test_a_console_change_shows_in_the_next_session(routers: list[Router]) -> None:
    routers[1].vtysh("configure terminal", "ip route 10.98.0.0/24 Null0")
    assert "ip route 10.98.0.0/24 Null0" in running(routers[1])
    assert "ip route 10.98.0.0/24 Null0" not in running(routers[0])


def test_write_memory_saves_that_routers_config_file(routers: list[Router]) -> None:
    first, second = routers
    assert first.saved_config() == ""
    with connect(first) as session:
        session.send_config_set([ROUTE])
        assert "[OK]" in session.save_config()
        session.send_config_set([PREFIX_LIST])  # after the save: running only
    saved = first.saved_config().splitlines()
    assert ROUTE in saved
    assert PREFIX_LIST not in saved
    assert "hostname r1" in saved
    assert second.saved_config() == ""


def test_refused_commands_answer_with_a_percent_line(routers: list[Router]) -> None:
    with connect(routers[0]) as session:
        with pytest.raises(ConfigInvalidException, match="bogus"):
            session.send_config_set(["bogus command"], error_pattern=r"% ")
        output = session.send_config_set(["ip route 10.0.0.0/33 Null0",
                                           "no ip route 10.77.0.0/24 Null0"])
        config = str(session.send_command("show running-config"))
    assert "% Unknown command: ip route 10.0.0.0/33 Null0" in output
    assert "% Refusing to remove a non-existent route" in output
    assert "10.0.0.0/33" not in config


def test_the_lab_key_logs_in_and_wrong_credentials_are_refused(routers: list[Router],
                                                                tmp_path: Path) -> None:
    router = routers[0]
    with connect(router, use_keys=True, key_file=str(router.key_file), password="") as session:
        assert session.find_prompt() == f"{router.hostname}#"
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    with pytest.raises(NetmikoAuthenticationException):
        connect(router, use_keys=True, key_file=str(stranger), password="")
    with pytest.raises(NetmikoAuthenticationException):
        connect(router, password=router.password + "x")


def test_stop_leaves_no_process_namespace_or_directory(tmp_path: Path) -> None:
    lab = FrrLab(tmp_path / "lab")
    try:
        routers = lab.start(2)
        with connect(routers[0]) as session:
            session.find_prompt()
            pids = [pid for router in routers for pid in router.pids]
            assert all(alive(pid) for pid in pids)
            sessions = children(routers[0].pids[-1])  # sshd's child serving this session
            assert sessions
            lab.stop()
            session.remote_conn.close()  # the server end is gone: don't say goodbye
    finally:
        lab.stop()
    lab.stop()  # a second stop is harmless
    assert [pid for pid in pids + sessions if alive(pid)] == []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=True).stdout
    assert lab.tag not in namespaces
    assert not lab.root.exists()
    assert not any(router.vty_dir.exists() for router in routers)

