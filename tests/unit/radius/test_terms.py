"""The pure parts of policy terms and their enforcement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from radius import usage, vouchers
from radius.decisions import class_of, class_parts
from radius.enforcement import access_point, clones, over_limit
from radius.policy import grant, message, reject
from radius.profiles import DEFAULT, ProfileBook, Terms, check
from radius.remembered import randomised


def test_a_grant_never_outlasts_the_credential_or_the_day() -> None:
    terms = Terms(max_session_minutes=60, idle_timeout=600, interim_interval=120,
                  bandwidth_up_kbps=512, bandwidth_down_kbps=4096)
    decision = grant(terms, "sms", "13800138000", seconds_left=1234)
    assert decision.accept and decision.identity == "13800138000"
    assert decision.attributes == {
        "Session-Timeout": 1234, "Idle-Timeout": 600, "Acct-Interim-Interval": 120,
        "Class": b"citynet:sms:13800138000",
        "WISPr-Bandwidth-Max-Up": 512_000, "WISPr-Bandwidth-Max-Down": 4_096_000}
    assert grant(terms, "voucher", "X").attributes["Session-Timeout"] == 3600


def test_a_data_allowance_over_4_gb_is_sent_with_gigawords() -> None:
    small = grant(DEFAULT, "sms", "p", octets_left=100_000_000).attributes
    assert small["ChilliSpot-Max-Total-Octets"] == 100_000_000
    assert "ChilliSpot-Max-Total-Gigawords" not in small
    big = grant(DEFAULT, "sms", "p", octets_left=5 * 2**32 + 7).attributes
    assert (big["ChilliSpot-Max-Total-Gigawords"], big["ChilliSpot-Max-Total-Octets"]) == (5, 7)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "daily time used up"), ("zh-CN", "今日上网时长已用完"),
    ("both", "daily time used up / 今日上网时长已用完")])
def test_reply_messages_in_the_profiles_language(language: str, expected: str) -> None:
    assert message("daily time used up", language) == expected
    assert reject("daily time used up", language=language).attributes == {
        "Reply-Message": expected}


def test_an_untranslated_reason_stays_english() -> None:
    assert message("something new", "zh-CN") == "something new"


def test_class_round_trip_and_foreign_classes() -> None:
    assert class_parts(class_of("mac", "13800138000")) == ("mac", "13800138000")
    assert class_parts(b"citynet:voucher") == ("voucher", "")  # before identities were added
    # it comes back from the NAS: no NUL, no more than the session's identity column keeps
    assert class_parts(b"citynet:sms:138\x00" + b"9" * 300) == ("sms", "138\ufffd" + "9" * 249)
    assert class_parts(b"another-server") == ("", "")
    assert class_parts(None) == ("", "")
    assert len(class_of("sms", "x" * 400)) == 253


def test_profile_checks() -> None:
    assert check(DEFAULT) == []
    problems = check(Terms(name="", idle_timeout=5, language="fr"))
    assert problems == ["idle_timeout must be between 60 and 86400",
                        "language must be one of zh-CN, en, both",
                        "name must be 1 to 64 characters"]


def test_the_profile_book_rereads_after_its_ttl_and_falls_back_to_defaults() -> None:
    loads: list[int] = []
    now = [0.0]
    stored = {"a": Terms(name="a", daily_minutes=10)}

    def load() -> dict[str, Terms]:
        loads.append(1)
        return dict(stored)

    book = ProfileBook(load, ttl=30, clock=lambda: now[0])
    assert book.get("a").daily_minutes == 10
    stored["a"] = replace(stored["a"], daily_minutes=20)
    now[0] = 29.0
    assert book.get("a").daily_minutes == 10 and len(loads) == 1
    now[0] = 30.0
    assert book.get("a").daily_minutes == 20 and len(loads) == 2
    assert book.get("typo") is DEFAULT


def test_the_profile_book_keeps_its_terms_when_the_store_fails() -> None:
    now = [0.0]
    answers: list[Any] = [{"a": Terms(name="a", simultaneous_use=5)}, RuntimeError("down")]

    def load() -> dict[str, Terms]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    book = ProfileBook(load, ttl=1, clock=lambda: now[0])
    assert book.get("a").simultaneous_use == 5
    now[0] = 5.0
    assert book.get("a").simultaneous_use == 5


def test_the_districts_day_starts_at_local_midnight() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    # 17:30 UTC is 01:30 the next day in Shanghai
    start = usage.day_start(datetime(2026, 11, 26, 17, 30, tzinfo=UTC), shanghai)
    assert start.astimezone(UTC) == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


def test_over_limit() -> None:
    terms = Terms(daily_minutes=30, daily_megabytes=100)
    assert over_limit(terms, usage.Usage(seconds=1799, octets=99_999_999)) == ""
    assert over_limit(terms, usage.Usage(seconds=1800)) == "daily time used up"
    assert over_limit(terms, usage.Usage(octets=100_000_000)) == "daily data used up"
    assert over_limit(DEFAULT, usage.Usage(seconds=10**9, octets=10**15)) == ""


def test_access_points_from_called_station_ids() -> None:
    assert access_point("00-E0-FC-00-00-01:i-Luohu") == "00:e0:fc:00:00:01"
    assert access_point("00:e0:fc:00:00:01:i-Luohu") == "00:e0:fc:00:00:01"
    assert access_point("ap-7:i-Luohu") == "ap-7"
    assert access_point("ap-7") == "ap-7"


T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _session(nas: str, called: str, started: int = 0, active: int | None = None,
             method: str = "mac", mac: str = "AA-BB-CC-DD-EE-01") -> Any:
    """A live session that started at T0+started minutes, last carried traffic at
    T0+active minutes (None: never)."""
    return SimpleNamespace(
        nas=nas, called_station=called, calling_station=mac, method=method,
        started_at=T0 + timedelta(minutes=started),
        active_at=None if active is None else T0 + timedelta(minutes=active))


HERE, THERE = "00-E0-FC-00-00-01:ssid", "00-E0-FC-00-00-02:ssid"


def test_a_device_roaming_between_access_points_is_not_a_clone() -> None:
    # the old AP keeps the session open (idle timeout) but its traffic stopped
    assert clones([_session("gw", HERE, 0, 9), _session("gw", THERE, 10, 15)]) == {}
    assert clones([_session("gw", HERE, 0, 9), _session("gw", HERE, 10, 15)]) == {}


def test_traffic_at_two_access_points_at_once_is_a_clone() -> None:
    pair = [_session("gw", HERE, 0, 12), _session("gw", THERE, 10, 11)]
    assert clones(pair) == {"aa:bb:cc:dd:ee:01": pair}
    assert clones([_session("gw-1", HERE, 0, 12), _session("gw-2", HERE, 10, 11)]) != {}
    # only remembered-device sessions: a phone-number login on two devices is not one
    assert clones([_session("gw", HERE, 0, 12),
                   _session("gw", THERE, 10, 11, method="sms")]) == {}
    # a new session with no traffic yet proves nothing
    assert clones([_session("gw", HERE, 0, 12), _session("gw", THERE, 10)]) == {}


def test_randomised_macs_are_locally_administered() -> None:
    assert randomised("da:a1:19:00:00:01")
    assert not randomised("00:e0:fc:00:00:01")


@pytest.mark.parametrize(("text", "shaped"), [
    ("ABCD-EFGH-JK", True), ("abcdefghjk", True), ("nobody", False),
    ("13800138000", False), ("1234567890", False), ("ＡＢＣＤＥＦＧＨＪＫ", True)])
def test_voucher_shaped_input(text: str, shaped: bool) -> None:
    assert vouchers.looks_like(text) is shaped
