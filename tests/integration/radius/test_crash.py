"""kill -9 the listener under accounting load: every acknowledged record survives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet.config import Config
from citynet.db import Store
from radius import codec
from radius.models import AccountingRecord
from radius.wire import Code
from tests.integration.radius.conftest import SECRET, add_nas
from tests.support import CITYNET, free_port, wait_until

SENDERS = 8
PER_SENDER = 60


class Listener:
    """`citynet radius serve` as its own process, on fixed ports (as a NAS knows them)."""

    def __init__(self, config: Config, tmp_path: Path) -> None:
        self.auth, self.acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env.update(CITYNET_DATA_DIR=str(config.data_path),
                        CITYNET_DATABASE__URL=config.database.url,
                        CITYNET_RADIUS__AUTH_PORT=str(self.auth),
                        CITYNET_RADIUS__ACCT_PORT=str(self.acct))
        self.log = tmp_path / "listener.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # the log is appended to across restarts: wait for one more "ready" line than before
        started = (self.log.read_bytes().count(b"Ctrl-C stops") if self.log.exists() else 0) + 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([CITYNET, "radius", "serve"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.log.read_bytes().count(b"Ctrl-C stops") >= started,
                   "citynet radius serve", self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def send_until_acknowledged(port: int, sender: int, acked: list[str],
                            deadline: float) -> None:
    """Like a NAS: each record is retransmitted until it is acknowledged."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        for n in range(PER_SENDER):
            session_id = f"crash-{sender}-{n}"
            data = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), {
                "Acct-Status-Type": "Start", "Acct-Session-Id": session_id,
                "User-Name": "13800138000"}, message_authenticator=False)
            while time.monotonic() < deadline:
                sock.sendto(data, ("127.0.0.1", port))
                try:
                    reply, _ = sock.recvfrom(4096)
                except (TimeoutError, ConnectionRefusedError):
                    continue
                if reply[0] == Code.ACCOUNTING_RESPONSE and reply[1] == data[1]:
                    acked.append(session_id)
                    break


@pytest.mark.slow
def test_kill_minus_nine_under_load_loses_no_acknowledged_record(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    add_nas(backend_config, store)
    listener = Listener(backend_config, tmp_path)
    listener.start()
    acked: list[str] = []
    deadline = time.monotonic() + 240
    senders = [threading.Thread(target=send_until_acknowledged,
                                args=(listener.acct, i, acked, deadline))
               for i in range(SENDERS)]
    try:
        for thread in senders:
            thread.start()
        wait_until(lambda: len(acked) >= SENDERS * PER_SENDER // 3,  # load built up
                   what="a third of the records acknowledged", process=listener.process,
                   timeout=max(1, deadline - time.monotonic()))
        acked_before_kill = len(acked)
        listener.kill()
        listener.start()  # same ports: the senders' retransmissions reach the new process
        for thread in senders:
            thread.join(timeout=max(1, deadline - time.monotonic()))
    finally:
        listener.stop()
    assert acked_before_kill > 0
    assert len(acked) == SENDERS * PER_SENDER, "senders ran out of time"
    with store.session() as session:
        stored = session.scalars(select(AccountingRecord.session_id)).all()
    assert sorted(stored) == sorted(acked)  # every acknowledged record, each exactly once
