"""SMS code and TOTP rules against a real store (time passed in, not waited for)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from portal import sms, totp

KEY = b"k" * 32
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LIMITS = sms.Limits(per_phone_day=3, per_ip_day=4, per_mac_day=10, per_prefix_day=5,
                    global_day=100)


def ask(phone: str = "13800138000", attempt: str = "a1", ip: str = "10.1.0.9",
        mac: str = "aa:bb:cc:dd:ee:01") -> sms.Request:
    return sms.Request(phone, attempt, ip, mac)


def test_a_code_is_sent_once_while_valid_and_resent_only_after_the_cooldown(
        sqlite_store: Store) -> None:
    with sqlite_store.session() as s:
        first = sms.issue(s, KEY, ask(), LIMITS, NOW)
        assert first.status == "sent" and len(first.code) == 6 and first.code.isdigit()
        # the mini-browser reloads the page: nothing new is sent
        assert sms.issue(s, KEY, ask(), LIMITS, NOW + timedelta(seconds=5)).status == (
            "still valid")
        early = sms.issue(s, KEY, ask(), LIMITS, NOW + timedelta(seconds=30), resend=True)
        assert (early.status, early.wait_seconds) == ("cooldown", 31)
        second = sms.issue(s, KEY, ask(), LIMITS, NOW + timedelta(seconds=61), resend=True)
        assert second.status == "sent"
        later = NOW + timedelta(seconds=62)
        if first.code != second.code:  # the resend replaced the old code
            assert sms.verify(s, KEY, ask(), first.code, later) == "wrong code"
        assert sms.verify(s, KEY, ask(), second.code, later) == "ok"
        assert sms.verify(s, KEY, ask(), second.code, later) == "no code"  # once only


def test_a_code_is_bound_to_its_attempt_and_expires(sqlite_store: Store) -> None:
    with sqlite_store.session() as s:
        code = sms.issue(s, KEY, ask(), LIMITS, NOW).code
        assert sms.verify(s, KEY, ask(attempt="other"), code, NOW) == "no code"
        assert sms.verify(s, KEY, ask(), code, NOW + timedelta(minutes=5, seconds=1)) == (
            "no code")


def test_five_wrong_tries_void_the_code(sqlite_store: Store) -> None:
    with sqlite_store.session() as s:
        code = sms.issue(s, KEY, ask(), LIMITS, NOW).code
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        verdicts = [sms.verify(s, KEY, ask(), wrong, NOW) for _ in range(5)]
        assert verdicts == ["wrong code"] * 4 + ["too many tries"]
        assert sms.verify(s, KEY, ask(), code, NOW) == "no code"  # even the right one


def test_codes_are_stored_as_hmacs_not_in_clear(sqlite_store: Store) -> None:
    from sqlalchemy import select

    with sqlite_store.session() as s:
        code = sms.issue(s, KEY, ask(), LIMITS, NOW).code
        stored = s.scalar(select(sms.SmsCode.code_hash))
        assert stored is not None and code not in stored and len(stored) == 64


@pytest.mark.parametrize(("requests", "budget"), [
    ([ask(attempt=f"a{i}") for i in range(4)], "number"),
    ([ask(phone=f"1390013900{i}", attempt=f"a{i}") for i in range(5)], "address"),
    ([ask(phone=f"1380013800{i}", attempt=f"a{i}", ip=f"10.1.0.{i}") for i in range(6)],
     "prefix"),
])
def test_daily_budgets_stop_sms_pumping(sqlite_store: Store, requests: list[sms.Request],
                                        budget: str) -> None:
    with sqlite_store.session() as s:
        results = [sms.issue(s, KEY, r, LIMITS, NOW) for r in requests]
    assert [r.status for r in results[:-1]] == ["sent"] * (len(requests) - 1)
    assert (results[-1].status, results[-1].budget) == ("over budget", budget)
    with sqlite_store.session() as s:  # a day later the budget is back
        assert sms.issue(s, KEY, requests[-1], LIMITS, NOW + timedelta(days=1, seconds=1)
                         ).status == "sent"


def test_totp_steps_tolerance_replay_and_lockout(sqlite_store: Store,
                                                 sqlite_config: Config) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    phone = "13800138000"
    with sqlite_store.session() as s:
        assert totp.verify(s, box, phone, "123456", NOW) == "not enrolled"
        assert not totp.confirm(s, box, phone, secret, "000000" if app.at(NOW) != "000000"
                                else "111111", NOW)
        assert totp.confirm(s, box, phone, secret, app.at(NOW), NOW)
        later = NOW + timedelta(minutes=2)
        assert totp.verify(s, box, phone, app.at(later - timedelta(seconds=30)), later) == "ok"
        # the same step again, or an older one: a replay
        assert totp.verify(s, box, phone, app.at(later - timedelta(seconds=30)), later) == (
            "wrong code")
        assert totp.verify(s, box, phone, app.at(later + timedelta(seconds=30)), later) == "ok"
        assert totp.verify(s, box, phone, app.at(later + timedelta(seconds=90)), later) == (
            "wrong code")  # two steps ahead: outside the ±1 window
        for _ in range(3):
            totp.verify(s, box, phone, "000000", later)
        assert totp.verify(s, box, phone, "000000", later) == "locked"
        good = app.at(later + timedelta(seconds=60))
        assert totp.verify(s, box, phone, good, later + timedelta(seconds=60)) == "locked"
        after = later + totp.LOCKOUT + timedelta(seconds=60)
        assert totp.verify(s, box, phone, app.at(after), after) == "ok"


def _in_parallel(count: int, work: Callable[[int], str]) -> list[str]:
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait(timeout=60)
            results.append(work(index))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_parallel_guesses_all_count(store: Store) -> None:
    with store.session() as s:
        code = sms.issue(s, KEY, ask(), LIMITS, NOW).code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def guess(_index: int) -> str:
        with store.session() as s:
            return sms.verify(s, KEY, ask(), wrong, NOW)

    verdicts = _in_parallel(10, guess)
    assert verdicts.count("wrong code") <= 4  # never more than five guesses in all
    with store.session() as s:
        assert sms.verify(s, KEY, ask(), code, NOW) == "no code"


def test_parallel_requests_stay_within_the_budget(store: Store) -> None:
    def request(index: int) -> str:
        with store.session() as s:
            return sms.issue(s, KEY, ask(attempt=f"p{index}", ip=f"10.2.0.{index}"), LIMITS,
                             NOW).status

    statuses = _in_parallel(8, request)
    assert statuses.count("sent") == LIMITS.per_phone_day
