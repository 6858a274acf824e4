"""Voucher logins through the real listener (radclient), and racing redemptions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from citynet.db import Store
from radius import vouchers
from radius.vouchers import Voucher
from tests.integration.radius.conftest import Listener, radclient

SIGNED = "Message-Authenticator = 0x00\n"


def make(store: Store, minutes: int = 60, devices: int = 1) -> str:
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, minutes, devices, "test", valid_days=30)
        return voucher.code


def login(listener: Listener, user: str, password: str, mac: str = "AA-BB-CC-DD-EE-01",
          chap: bool = False) -> str:
    field = "CHAP-Password" if chap else "User-Password"
    result = radclient(listener.auth, "auth", f'User-Name = "{user}"\n{field} = "{password}"\n'
                       f'Calling-Station-Id = "{mac}"\n' + SIGNED)
    return result.stdout


def test_pap_and_chap_logins_get_the_remaining_time(listener: Listener) -> None:
    code = make(listener.store, minutes=60)
    shown = vouchers.display(code)
    pap = login(listener, shown, shown)
    assert "Received Access-Accept" in pap
    timeout = int(pap.split("Session-Timeout = ")[1].split()[0])
    assert 3500 < timeout <= 3600
    assert "Acct-Interim-Interval = 300" in pap
    chap = login(listener, code, code, chap=True)  # CoovaChilli's UAM uses CHAP
    assert "Received Access-Accept" in chap


def test_refusals_say_why(listener: Listener) -> None:
    code = make(listener.store)
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert 'Reply-Message = "unknown voucher / 上网券无效"' in login(listener, typo, typo)
    assert 'Reply-Message = "wrong password / 密码错误"' in login(listener, code, "123456")
    assert "Access-Accept" in login(listener, code, code, mac="AA-BB-CC-DD-EE-01")
    assert "Access-Accept" in login(listener, code, code, mac="aa:bb:cc:dd:ee:01")  # same phone
    assert "already in use on its allowed devices" in login(listener, code, code,
                                                            mac="AA-BB-CC-DD-EE-02")


def test_used_up_expired_and_revoked(listener: Listener) -> None:
    used, expired, revoked = (make(listener.store, minutes=30) for _ in range(3))
    now = datetime.now(UTC)
    with listener.store.session() as session:
        session.execute(update(Voucher).where(Voucher.code == used)
                        .values(first_used_at=now - timedelta(minutes=31)))
        session.execute(update(Voucher).where(Voucher.code == expired)
                        .values(valid_until=now - timedelta(seconds=1)))
        session.execute(update(Voucher).where(Voucher.code == revoked).values(revoked_at=now))
    assert "voucher used up / 上网券已用完" in login(listener, used, used)
    assert "voucher used up" in login(listener, expired, expired)
    assert "voucher revoked / 上网券已作废" in login(listener, revoked, revoked)


def test_fifty_devices_racing_for_a_one_device_voucher(listener: Listener) -> None:
    """The issue's rule: 50 concurrent redemptions of a one-device voucher, exactly one wins."""
    store = listener.store
    code = make(store, devices=1)
    barrier = threading.Barrier(50)
    results: list[bool] = []
    lock = threading.Lock()

    def redeem(n: int) -> None:
        last_error: Exception | None = None
        barrier.wait(timeout=30)
        for _attempt in range(20):  # SQLite answers a lost write race with "locked": retry
            try:
                with store.session() as session:
                    outcome = vouchers.redeem(session, code, f"02:00:00:00:00:{n:02x}",
                                              datetime.now(UTC), store.is_sqlite)
                break
            except OperationalError as exc:  # SQLite: "database is locked"
                last_error = exc
        else:
            raise AssertionError(f"redemption never got through: {last_error}")
        with lock:
            results.append(outcome.ok)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 50
    assert results.count(True) == 1
    with store.session() as session:
        voucher = session.scalars(select(Voucher).where(Voucher.code == code)).one()
        assert voucher.devices_used == 1
