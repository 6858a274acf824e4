"""citynet through HAProxy on Patroni's REST health checks (deploy/haproxy/haproxy.cfg):
kill -9 the primary under a steady NAS load; HAProxy marks it down and the promoted
replica up, citynet reconnects to the one address it knows, and nothing acknowledged is
lost."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from citynet.config import Config
from citynet.db import Store
from tests.conftest import make_config
from tests.integration.ha.load import (
    Nas,
    audit_verify,
    check_records,
    error_lines,
    no_login_twice,
    prepare,
    upgrade,
)
from tests.integration.radius.test_crash import Listener
from tests.lab.haproxy import Haproxy, lab_config
from tests.lab.patroni import PatroniLab
from tests.support import wait_until

LOGINS = 40
OUTAGE_BOUND = 60.0  # generous: the notes measured 2-4 s for a killed primary postgres
OUTAGE_LINES = 6  # one line per cause: refused, closed, shutting down, read-only...


@pytest.fixture
def cluster() -> Iterator[PatroniLab]:
    with PatroniLab() as lab:
        yield lab


def server_port(url: str) -> int | None:
    """The port of the PostgreSQL that answers at ``url`` as a writable primary."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
    except psycopg.OperationalError:
        return None
    return int(row[0]) if row and not row[1] else None


def test_the_example_config_is_what_the_lab_runs() -> None:
    example = ("global\n    daemon\n\ndefaults\n    mode tcp\n    log global\n\n"
               "listen pg\n    bind 10.0.0.10:5000\n    option httpchk GET /primary\n"
               "    server db1 10.0.1.11:5432 check port 8008\n"
               "    server db2 10.0.2.11:5432 check port 8008\n")
    config = lab_config(example, "127.0.0.1:7000", [("pg0", "127.0.0.1:7001", 7002),
                                                   ("pg1", "127.0.0.1:7003", 7004)])
    assert "daemon" not in config  # the lab's global section, in the foreground
    assert "    bind 127.0.0.1:7000\n    option httpchk GET /primary\n" in config
    assert config.endswith("    server pg0 127.0.0.1:7001 check port 7002\n"
                           "    server pg1 127.0.0.1:7003 check port 7004\n")


@pytest.mark.slow
def test_killing_the_primary_behind_haproxy_loses_nothing(
        cluster: PatroniLab, tmp_path: Path, open_store: Callable[[Config], Store]) -> None:
    cluster.create_database("citynet")
    with Haproxy(cluster, tmp_path) as haproxy:
        url = f"postgresql://postgres@127.0.0.1:{haproxy.port}/citynet?connect_timeout=2"
        old = cluster.wait_for_primary()
        wait_until(lambda: server_port(url) == old.port, "HAProxy on the primary",
                   haproxy.process, timeout=60)
        config = make_config(tmp_path, database={"url": url})
        upgrade(url, config)
        store = open_store(config)
        codes = prepare(config, store, LOGINS)
        listener = Listener(config, tmp_path)
        listener.start()
        nas = Nas(listener, codes, deadline=time.monotonic() + 240)
        try:
            nas.start()
            wait_until(lambda: nas.answered() >= 200, "load built up", listener.process,
                       timeout=120)
            os.kill(old.postmaster_pid(), signal.SIGKILL)
            killed_at = time.monotonic()
            new = cluster.wait_for_primary(other_than=old, timeout=OUTAGE_BOUND)
            promoted_after = time.monotonic() - killed_at
            wait_until(lambda: server_port(url) == new.port, "HAProxy on the new primary",
                       haproxy.process, timeout=OUTAGE_BOUND)
            switched_after = time.monotonic() - killed_at
            nas.join()
        finally:
            nas.abandon()
            listener.stop()
        print(f"\n{old.name} killed; {new.name} primary after {promoted_after:.1f} s, "
              f"behind HAProxy after {switched_after:.1f} s; longest time without an "
              f"answer {nas.longest_silence():.1f} s; {nas.answered_after(killed_at)} "
              "answers after the kill")
        twice = check_records(store, nas)  # through HAProxy: the only way to this store
        audit_verify(config)
    lines = error_lines(listener.log)
    for line in lines:
        print("  " + line)
    assert nas.answered_after(killed_at) > 0
    assert nas.longest_silence() < OUTAGE_BOUND
    assert len(lines) <= OUTAGE_LINES
    no_login_twice(twice)
