"""What the one netmiko adapter (devices.driver) says when a connection cannot be opened:
refused, no answer, not SSH, login refused, host key changed — each its own error, and no
paramiko traceback in the log."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest

from devices.driver import (
    ConnectionRefused,
    DeviceError,
    HostKeyChanged,
    Login,
    LoginRefused,
    Session,
    Unreachable,
)
from devices.platforms import profile
from tests.fakes.vrp import FakeVrp
from tests.support import free_port

pytestmark = pytest.mark.slow


FAKE_PASSWORD = "admin"  # the fake device's default credential


def login(port: int, tmp_path: Path, password: str = FAKE_PASSWORD) -> Login:
    return Login("sw-9", "127.0.0.1", port, profile("huawei"), "admin", password,
                 timeout=1.0, known_hosts=str(tmp_path / "known_hosts"))


def failure(login: Login) -> DeviceError:
    with pytest.raises(DeviceError) as raised, Session(login):
        pass
    return raised.value


@pytest.fixture
def device() -> Iterator[FakeVrp]:
    with FakeVrp("huawei", hostname="SW9") as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_paramiko_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert [r for r in caplog.records if r.name.startswith("paramiko")] == []


def test_a_refused_connection_says_refused(tmp_path: Path) -> None:
    error = failure(login(free_port(), tmp_path))
    assert isinstance(error, ConnectionRefused)
    assert "connection refused by 127.0.0.1:" in str(error)


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def test_a_port_that_takes_the_connection_and_stays_silent_says_no_greeting(
        tmp_path: Path) -> None:
    with _listener() as silent:  # the kernel completes the handshake; nobody talks
        port = silent.getsockname()[1]
        error = failure(login(port, tmp_path))
    assert type(error) is Unreachable
    # paramiko's banner wait and its session wait race to time out: either says it
    assert (f"127.0.0.1:{port} took the connection but sent no SSH greeting within 1 s"
            in str(error) or f"no answer from 127.0.0.1:{port} within 1 s" in str(error))


def test_a_port_that_speaks_another_protocol_says_no_greeting(tmp_path: Path) -> None:
    with _listener() as web:
        def answer() -> None:
            peer, _ = web.accept()
            with peer:
                peer.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        threading.Thread(target=answer, daemon=True).start()
        error = failure(login(web.getsockname()[1], tmp_path))
    assert type(error) is Unreachable
    assert "took the connection but sent no SSH greeting" in str(error)


def test_a_wrong_password_says_login_refused(device: FakeVrp, tmp_path: Path) -> None:
    error = failure(login(device.port, tmp_path, password="wrong-password"))
    assert isinstance(error, LoginRefused)
    assert "login as 'admin' refused" in str(error)
    assert "wrong-password" not in str(error)


def test_a_device_is_trusted_on_first_contact_and_refused_when_its_key_changes(
        device: FakeVrp, tmp_path: Path) -> None:
    known = login(device.port, tmp_path)
    with Session(known) as session:
        assert "sysname" in session.running()
    assert f"[127.0.0.1]:{device.port} " in Path(known.known_hosts).read_text()
    with Session(known):  # the same key again
        pass
    other = paramiko.ECDSAKey.generate()
    Path(known.known_hosts).write_text(
        f"[127.0.0.1]:{device.port} {other.get_name()} {other.get_base64()}\n")
    error = failure(known)
    assert isinstance(error, HostKeyChanged)
    assert "host key" in str(error) and "nothing was sent" in str(error)
    assert device.sessions_opened == 2  # no shell, no login on the third connection


class KeyOnlyHost:
    """An SSH server with a host key of its own that refuses every login: all a first
    contact needs to record its key."""

    def __init__(self) -> None:
        self.key = paramiko.ECDSAKey.generate()
        self.listener = _listener()
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _ = self.listener.accept()
            except OSError:  # closed
                return
            transport = paramiko.Transport(peer)
            transport.add_server_key(self.key)
            self.transports.append(transport)
            try:
                transport.start_server(server=paramiko.ServerInterface())  # refuses logins
            except (paramiko.SSHException, EOFError, OSError):
                # the client left before this thread saw the key exchange end (a client
                # refusing a changed key leaves right after it), or close() ended it
                continue

    def close(self) -> None:
        """Stops serving; the serving thread is gone when this returns."""
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        self.listener.close()
        for transport in self.transports:
            transport.close()
        self._thread.join(timeout=10)


@pytest.fixture
def hosts() -> Iterator[list[KeyOnlyHost]]:
    started = [KeyOnlyHost() for _ in range(16)]
    yield started
    for host in started:
        host.close()


def test_devices_first_contacted_at_once_are_all_recorded(hosts: list[KeyOnlyHost],
                                                          tmp_path: Path) -> None:
    # a fleet run opens up to 20 sessions at once, each first contact adding its key
    logins = [replace(login(host.port, tmp_path), timeout=20.0) for host in hosts]
    together = threading.Barrier(len(logins))
    errors: list[DeviceError] = []

    def contact(each: Login) -> None:
        together.wait()
        errors.append(failure(each))

    threads = [threading.Thread(target=contact, args=(each,)) for each in logins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [type(e) for e in errors] == [LoginRefused] * len(hosts)  # key seen, then login
    known = paramiko.HostKeys(str(tmp_path / "known_hosts"))
    for host in hosts:
        assert known.lookup(f"[127.0.0.1]:{host.port}") == {host.key.get_name(): host.key}
    assert len(known) == len(hosts)
    host = hosts[0]
    host.key = paramiko.ECDSAKey.generate()  # the device's key changes
    assert isinstance(failure(logins[0]), HostKeyChanged)
