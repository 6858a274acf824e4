"""Helpers the integration tests share: the installed command, free ports, bounded
readiness waits, a Status-Server probe, staff logins and the role matrix."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from radius import codec
from radius.wire import Code

Call = TypeVar("Call")
CITYNET = shutil.which("citynet", path=str(Path(sys.executable).parent)) or "citynet"


class Flows:
    """A test NAS's sending threads (``threads``), which give up at ``deadline``
    (``time.monotonic``): started together, and joined without waiting past it."""

    deadline: float
    threads: list[threading.Thread]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=max(1.0, self.deadline - time.monotonic()))


def as_in_a_terminal(argv: list[str]) -> list[str]:
    """``argv`` run with SIGINT's default action, as a terminal's Ctrl-C finds it.

    A shell without job control starts a background job (``pytest ... &``) with SIGINT
    ignored, its children inherit that, and Python then installs no KeyboardInterrupt
    handler — a test that plays Ctrl-C would see its process ignore it. An exec shim
    rather than ``preexec_fn``, which is unsafe in a process with threads."""
    shim = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execv(sys.argv[1], sys.argv[1:])")
    return [sys.executable, "-c", shim, *argv]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port the OS says is free on 127.0.0.1 (TCP by default, SOCK_DGRAM for UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], what: str,
               process: subprocess.Popen[Any] | None = None, timeout: float = 60) -> None:
    """Poll ``ready`` until it holds; fail at once if the process (if any) dies, or at
    the deadline."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what} exited early with {process.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready within {timeout:g} s")
        time.sleep(0.1)  # polling interval for readiness, not synchronisation


def http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def status_server(port: int, secret: bytes, *, source: str = "127.0.0.1",
                  attempts: int = 1, wait: float = 0.5) -> bytes | None:
    """Send one signed Status-Server (re-sent up to ``attempts`` times); the reply or None."""
    request = codec.encode_request(Code.STATUS_SERVER, secret, {}, identifier=42)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(wait)
        for _attempt in range(attempts):
            sock.sendto(request, ("127.0.0.1", port))
            try:
                return sock.recvfrom(4096)[0]
            except TimeoutError:
                continue
    return None


def staff_login(app: Any, store: Any, role: str = "manager", name: str = "") -> Any:
    """A test client logged in through the real login form as a new staff member of
    ``role`` (the second factor enrolled with the app's box when the role needs it)."""

    import pyotp

    from citynet import staff

    name = name or f"test-{role}"
    password = "a long test password 1"
    with store.session() as session:
        staff.add(session, name, staff.Role(role), password)
    client = app.test_client()

    page = client.post("/login", data={"name": name, "password": password,
                                       "csrf": csrf_in(client.get("/login").get_data(True))})
    location = page.headers.get("Location", "")
    if "/login/enrol" in location:
        form = client.get(location).get_data(as_text=True)
        with store.session() as session:
            user = staff.get(session, name)
            secret = app.extensions["citynet.box"].open(user.totp_sealed)
        page = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(),
                                                 "csrf": csrf_in(form)})
    assert page.status_code == 302 and "/login" not in page.headers["Location"], page.status_code
    return client


def api_tokens(store: Any) -> dict[Any, str]:
    """A staff member of each role (``api-ROLE``) with an API token: the token by role."""
    from citynet import staff

    tokens = {}
    with store.session() as db:
        for role in staff.Role:
            staff.add(db, f"api-{role.value}", role, "a staff password long enough")
            tokens[role] = staff.issue_token(db, f"api-{role.value}", "tests")
    return tokens


def csrf_in(html: str) -> str:
    """The CSRF token a staff page's form carries."""
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def staff_csrf(client: Any, path: str = "/admin/") -> str:
    """The signed-in client's CSRF token (one per session), read from a staff page."""
    return csrf_in(client.get(path).get_data(as_text=True))


Allowed = Collection[int] | None  # the statuses a permitted call may get; None: any but 403


def role_matrix(role: Any, calls: Iterable[tuple[Call, str]], ask: Callable[[Call], int],
                allowed: Allowed | Callable[[Call], Allowed] = (200,)) -> None:
    """Make each call (with the permission it takes) as a staff member of ``role``:
    ``ask`` makes it and gives its status. Where the role has the permission, one of
    ``allowed`` (or ``allowed(call)``); where it has not, 403."""
    from citynet.access import PERMISSIONS

    for call, permission in calls:
        status = ask(call)
        if permission not in PERMISSIONS[role]:
            assert status == 403, (role, call, permission, status)
            continue
        expected = allowed(call) if callable(allowed) else allowed
        assert status != 403 if expected is None else status in expected, (
            role, call, permission, status)


def children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (a restarted child is its watcher thread's)."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in path.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return sorted(found)


def append_to_one_chain(session: Any, events: Sequence[Any], chain_no: int = 0) -> None:
    """Login records as a store of one chain (radius_0002 and before) wrote them: no
    chain column, the head under the one chain's meta key. ``chain_no``: left out, as
    the login-record writer of today passes it. On the driver, as the writer's own
    append (its statements are pipelined on PostgreSQL, where the ORM cannot run)."""
    from sqlalchemy import Column, MetaData, Table, bindparam, insert, select, update

    from citynet import chain
    from citynet.db import DriverStatement, MetaEntry, table
    from radius import records

    assert chain_no == 0, "a store of one chain has chain 0 only"
    old = Table("login_record", MetaData(), *(
        Column(column.name, column.type) for column in records.LoginRecord.__table__.c
        if column.name != "chain"))
    meta, head_key = table(MetaEntry), records.LEDGER.keys(0)[0]
    found = DriverStatement(select(meta.c.value).where(meta.c.key == head_key)).first(
        session, {})
    seq, previous = chain.decode_point(found[0] if found else None)
    add = DriverStatement(insert(old), ["seq", "prev_hash", "row_hash", *records.CONTENT])
    for event in events:
        seq += 1
        content = {name: getattr(event, name) for name in records.CONTENT}
        digest = chain.row_hash(previous, content)
        add.run(session, {"seq": seq, "prev_hash": previous, "row_hash": digest, **content})
        previous = digest
    point = {"key": head_key, "value": chain.encode_point((seq, previous))}
    if found is None:
        DriverStatement(insert(meta), ["key", "value"]).run(session, point)
    else:
        DriverStatement(update(meta).where(meta.c.key == bindparam("key")).values(
            value=bindparam("value"))).run(session, point)
