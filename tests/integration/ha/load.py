"""The steady NAS load the HA fault tests run under, and the checks after each fault.

A :class:`Nas` has paced accounting senders (Start records) and paced login senders
(voucher PAP logins, one voucher and one phone MAC each), every request retransmitted
unchanged until answered, the way a NAS does — a set number of records each, or (with
``per_sender=None``) new ones until :meth:`Nas.finish`, for a test whose checks need
answers after a fault of unknown length. What was answered, and when, is kept:
afterwards every acknowledged accounting record must be stored exactly once, every
Access-Accept must have exactly one login record, and ``citynet audit verify`` must pass.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from citynet.config import Config
from citynet.db import Store
from radius import codec, vouchers
from radius.models import AccountingRecord
from radius.records import LoginRecord
from radius.wire import Code
from tests.integration.radius.conftest import SECRET, add_nas
from tests.integration.radius.test_crash import Listener
from tests.support import CITYNET, Flows


@dataclass
class Answers:
    accounting: list[tuple[float, str]] = field(default_factory=list)  # (when, session id)
    accepts: list[tuple[float, str]] = field(default_factory=list)  # (when, phone MAC)
    rejects: list[tuple[float, str]] = field(default_factory=list)

    def all_times(self) -> list[float]:
        return sorted(when for when, _key in [*self.accounting, *self.accepts, *self.rejects])


class Nas(Flows):
    """Paced senders to one listener's ports (127.0.0.1); :meth:`join` waits for them."""

    def __init__(self, listener: Listener, vouchers_: list[str], deadline: float, *,
                 accounting_senders: int = 4, per_sender: int | None = 150,
                 pace: float = 0.02) -> None:
        """``per_sender``: records each accounting sender sends; None: until :meth:`finish`."""
        self.listener, self.deadline, self.pace = listener, deadline, pace
        self.per_sender = per_sender
        self.answers = Answers()
        self._lock = threading.Lock()
        self._stop = threading.Event()  # only to pace, and to give up at the deadline
        self._enough = threading.Event()  # finish: no new record after the one in flight
        self._begun = [0] * accounting_senders  # records each sender has begun to send
        self.threads = [threading.Thread(target=self._account, args=(i,))
                        for i in range(accounting_senders)]
        self.threads.append(threading.Thread(target=self._log_in, args=(vouchers_,)))
        self.expected_logins = len(vouchers_)

    @property
    def expected_accounting(self) -> int:
        """The records that must have been answered: all of a set number, or, for a load
        sent until :meth:`finish`, every record a sender began."""
        if self.per_sender is None:
            return sum(self._begun)
        return len(self._begun) * self.per_sender

    def finish(self) -> None:
        """Senders without a set number of records begin no new one; each one's record in
        flight is still sent until answered (as a NAS does), so :meth:`join` returns soon
        after."""
        self._enough.set()

    def abandon(self) -> None:
        self._stop.set()
        self.join()

    def answered(self) -> int:
        return len(self.answers.all_times())

    def answered_after(self, moment: float) -> int:
        return sum(1 for when in self.answers.all_times() if when > moment)

    def longest_silence(self) -> float:
        """The longest time between two answers, any sender: the outage as a NAS saw it."""
        times = self.answers.all_times()
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def _account(self, sender: int) -> None:
        numbers = itertools.count() if self.per_sender is None else range(self.per_sender)
        for n in numbers:
            if self.per_sender is None and self._enough.is_set():
                return
            self._begun[sender] = n + 1
            session_id = f"ha-{sender}-{n}"
            data = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), {
                "Acct-Status-Type": "Start", "Acct-Session-Id": session_id,
                "User-Name": "13800138000"}, identifier=n % 256, message_authenticator=False)
            reply = self._until_answered(data, self.listener.acct)
            if reply is None:
                return
            with self._lock:
                self.answers.accounting.append((time.monotonic(), session_id))
            if self._stop.wait(self.pace):
                return

    def _log_in(self, codes: list[str]) -> None:
        for n, code in enumerate(codes):
            mac = f"02-00-00-00-{n // 256:02X}-{n % 256:02X}"
            data = codec.encode_request(Code.ACCESS_REQUEST, SECRET.encode(), {
                "User-Name": code, "Calling-Station-Id": mac}, identifier=n % 256,
                password=code)
            reply = self._until_answered(data, self.listener.auth)
            if reply is None:
                return
            kind = (self.answers.accepts if reply[0] == Code.ACCESS_ACCEPT
                    else self.answers.rejects)
            with self._lock:
                kind.append((time.monotonic(), mac))
            if self._stop.wait(self.pace * 5):
                return

    def _until_answered(self, data: bytes, port: int) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            while time.monotonic() < self.deadline and not self._stop.is_set():
                sock.sendto(data, ("127.0.0.1", port))
                try:
                    reply, _ = sock.recvfrom(4096)
                except (TimeoutError, ConnectionRefusedError):
                    continue  # a retransmission, as a NAS does
                if reply[1] == data[1]:
                    return reply
        return None


def prepare(config: Config, store: Store, logins: int) -> list[str]:
    """The NAS and ``logins`` one-device vouchers; their codes."""
    add_nas(config, store)
    with store.session() as session:
        made = vouchers.create(session, logins, 60, 1, "ha", valid_days=1)
        return [voucher.code for voucher in made]


def upgrade(url: str, config: Config) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    subprocess.run([CITYNET, "db", "upgrade"], check=True, timeout=120, env={
        **env, "CITYNET_DATA_DIR": str(config.data_path), "CITYNET_DATABASE__URL": url})


def check_records(store: Store, nas: Nas) -> dict[str, int]:
    """Every answer the NAS got is in the store exactly once; the senders finished. The
    logins recorded more than once are returned for :func:`no_login_twice`, which a test
    calls last."""
    with store.session() as session:
        stored = dict(session.execute(select(AccountingRecord.session_id, func.count())
                                      .group_by(AccountingRecord.session_id)).all())
        accepted = dict(session.execute(
            select(LoginRecord.mac, func.count()).where(LoginRecord.event == "login",
                                                        LoginRecord.result == "accept")
            .group_by(LoginRecord.mac)).all())
    acked = sorted(session_id for _when, session_id in nas.answers.accounting)
    assert len(acked) == nas.expected_accounting, "accounting senders ran out of time"
    assert len(nas.answers.accepts) + len(nas.answers.rejects) == nas.expected_logins, \
        "login sender ran out of time"
    when = {session_id: at for at, session_id in nas.answers.accounting}
    lost = sorted(set(acked) - set(stored), key=when.__getitem__)
    assert not lost, f"{len(lost)} answered but not stored: " + ", ".join(
        f"{session_id} (answered at {when[session_id]:.1f})" for session_id in lost[:20])
    assert sorted(stored) == acked, f"stored, never answered: {set(stored) - set(acked)}"
    assert set(stored.values()) == {1}  # each exactly once
    macs = {_normal(mac) for _when, mac in nas.answers.accepts}
    assert macs <= {_normal(mac) for mac in accepted}, "an Access-Accept without its record"
    assert not nas.answers.rejects, "a voucher login was refused"
    return {mac: count for mac, count in accepted.items() if count != 1}


def no_login_twice(twice: dict[str, int]) -> None:
    """Each login recorded once: a NAS's retry of a login already decided (its answer lost
    with a node or a link) is answered from the stored decision (radius/retries.py)."""
    assert not twice, f"logins recorded more than once: {twice}"


def audit_verify(config: Config) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    done = subprocess.run([CITYNET, "audit", "verify"], capture_output=True, text=True,
                          timeout=120, env={**env, "CITYNET_DATA_DIR": str(config.data_path),
                                            "CITYNET_DATABASE__URL": config.database.url})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def error_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]


def _normal(mac: str) -> str:
    return mac.replace(":", "").replace("-", "").lower()
