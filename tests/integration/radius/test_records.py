"""Login records from real RADIUS traffic: written, searchable, tamper-evident, purgeable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, select, update

from citynet.db import Store, set_meta
from radius import records, vouchers
from radius.records import LoginRecord
from tests.integration.radius.conftest import Listener, radclient

SIGNED = "Message-Authenticator = 0x00\n"


def traffic(listener: Listener) -> str:
    """One good voucher login, one bad one, then the session's start and stop."""
    with listener.store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "t", valid_days=1)
        code = voucher.code
    for password in (code, "wrong"):
        radclient(listener.auth, "auth",
                  f'User-Name = "{code}"\nUser-Password = "{password}"\n'
                  'Calling-Station-Id = "AA-BB-CC-DD-EE-FF"\n'
                  'Called-Station-Id = "00-E0-FC-01-02-03:i-Shenzhen"\n' + SIGNED)
    for status in ("Start", "Stop"):
        result = radclient(listener.acct, "acct", (
            f'User-Name = "{code}"\nAcct-Status-Type = {status}\nAcct-Session-Id = "r-1"\n'
            'Calling-Station-Id = "AA-BB-CC-DD-EE-FF"\nFramed-IP-Address = 10.8.0.9\n'
            "H3C-NAT-IP-Address = 203.0.113.7\nH3C-NAT-Start-Port = 10240\n"
            "H3C-NAT-End-Port = 10495\nClass = 0x636974796e65743a766f7563686572\n"
            + ("Acct-Terminate-Cause = User-Request\n" if status == "Stop" else "")))
        assert "Accounting-Response" in result.stdout
    return code


def test_logins_and_logouts_are_recorded_in_order(listener: Listener) -> None:
    code = traffic(listener)
    with listener.store.session() as session:
        rows = session.scalars(select(LoginRecord).order_by(LoginRecord.seq)).all()
        assert [(r.event, r.result, r.method) for r in rows] == [
            ("login", "accept", "voucher"), ("login", "wrong password", "voucher"),
            ("session-start", "", "voucher"), ("logout", "User-Request", "voucher")]
        assert {r.identity for r in rows} == {code}
        start = rows[2]
        assert (start.private_ip, start.nat_ip, start.nat_ports) == (
            "10.8.0.9", "203.0.113.7", "10240-10495")
        assert rows[0].called_station == "00-E0-FC-01-02-03:i-Shenzhen"
        assert records.verify(session) == (4, [])
        assert len(records.search(session, ip="203.0.113.7")) == 2
        assert len(records.search(session, identity=code, since=datetime.now(UTC)
                                  - timedelta(minutes=5))) == 4
        assert records.search(session, mac="00:00:00:00:00:00") == []
        assert {r.mac for r in rows} == {"aa:bb:cc:dd:ee:ff"}  # one spelling in the records
        assert len(records.search(session, mac="AABB.CCDD.EEFF")) == 4  # any spelling finds it


def test_an_edited_or_deleted_record_is_detected(listener: Listener) -> None:
    traffic(listener)
    with listener.store.session() as session:
        session.execute(update(LoginRecord).where(LoginRecord.seq == 2)
                        .values(identity="13900000000"))
    with listener.store.session() as session:
        _count, problems = records.verify(session)
        assert [str(p) for p in problems] == ["row 2: content does not match its hash (edited)"]
        session.execute(delete(LoginRecord).where(LoginRecord.seq == 4))
    with listener.store.session() as session:
        _count, problems = records.verify(session)
        assert "recorded head is row 4 (newest rows deleted)" in str(problems[-1])


def test_purge_removes_only_the_old_prefix_and_the_chain_still_verifies(
        listener: Listener) -> None:
    traffic(listener)
    with listener.store.session() as session:
        session.execute(update(LoginRecord).where(LoginRecord.seq <= 2).values(
            at=datetime.now(UTC) - timedelta(days=200)))
        # re-chain the two back-dated rows as if they had been written then
        previous = records.chain.GENESIS
        for row in session.scalars(select(LoginRecord).order_by(LoginRecord.seq)):
            content = {name: getattr(row, name) for name in records.CONTENT}
            row.prev_hash, row.row_hash = previous, records.chain.row_hash(previous, content)
            previous = row.row_hash
        set_meta(session, records.LEDGER.keys(0)[0], records.chain.encode_point((4, previous)))
    with listener.store.session() as session:
        assert records.verify(session) == (4, [])
        assert records.purge(session, datetime.now(UTC) - timedelta(days=180)) == 2
    with listener.store.session() as session:
        assert records.verify(session) == (2, [])


@pytest.mark.postgres
def test_on_postgresql_a_rounds_login_records_go_in_as_one_statement(
        pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain's lock is held from the append to the commit: the round's rows go in
    as one statement, not as one per row (an executemany); and they chain as ever."""
    calls: list[str] = []

    def spy(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if "login_record" in str(query):
                calls.append(name)
            return method(cursor, query, *args, **kwargs)
        return recorded

    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, spy(name, getattr(psycopg.Cursor, name)))
    store = Store(pg_database)
    at = datetime(2026, 12, 7, 4, tzinfo=UTC)
    try:
        store.upgrade()
        calls.clear()
        with store.session() as session:
            records.append(session, [records.LoginEvent(
                at + timedelta(seconds=n), "login", "accept", f"user-{n}", "voucher", "gw",
                mac="aa:bb:cc:dd:ee:01") for n in range(40)])
        assert calls == ["execute"]
        with store.session() as session:
            assert records.verify(session) == (40, [])
    finally:
        store.close()

