"""A burst of wrong voucher codes: held at the portal (429, in the page's language, with
the time to wait) by device, client address and hotspot, and capped in the records."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from citynet.db import Store
from portal import uam
from radius import guesses, records, vouchers
from radius.records import LoginEvent, LoginRecord
from tests.integration.portal.conftest import UAM_SECRET, Hotspot, Person

MAC = "AA-BB-CC-DD-EE-71"


def wrong_code() -> str:
    return vouchers.display(vouchers.new_code())  # well-formed, never issued


def wrong_codes_recorded(store: Store, mac: str = "aa:bb:cc:dd:ee:71") -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(LoginRecord).where(
            LoginRecord.mac == mac, LoginRecord.result == "unknown voucher")) or 0)


def try_code(person: Person, code: str) -> object:
    return person.post("/portal/voucher", code=code, consent="1")


@pytest.mark.parametrize(("lang", "words"), [("en", "Too many wrong voucher codes from "
                                                    "this device: try again in 10 min"),
                                             ("zh-CN", "此设备输入错误的上网券次数过多")])
def test_a_device_is_held_after_its_wrong_codes_with_a_429(
        hotspot: Hotspot, lang: str, words: str) -> None:
    person = hotspot.person(MAC)
    person.arrive(lang=lang)
    for _ in range(guesses.LIMITS["mac"]):
        failed = person.finish(try_code(person, wrong_code()))  # RADIUS: unknown voucher
        assert failed.status_code == 200
    assert wrong_codes_recorded(hotspot.store) == guesses.LIMITS["mac"]
    held = try_code(person, wrong_code())
    assert held.status_code == 429
    assert words in held.get_data(as_text=True)
    assert 0 < int(held.headers["Retry-After"]) <= 600
    # held at the portal: nothing went to the NAS, nothing more was recorded — a right
    # code too waits
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    assert try_code(person, voucher.code).status_code == 429
    assert wrong_codes_recorded(hotspot.store) == guesses.LIMITS["mac"]


def logon(hotspot: Hotspot, person: Person, code: str) -> tuple[bool, str]:
    """A voucher code posted straight to the NAS's logon, not through the portal."""
    device = next(d for d in hotspot.gateway.devices.values() if d.mac == person.mac)
    normal = vouchers.normalise(code)
    assert normal is not None
    return hotspot.gateway.logon(
        device, normal, uam.chap_response(device.challenge, normal, UAM_SECRET))


def test_a_burst_sent_to_radius_directly_is_held_and_recorded_up_to_its_cap(
        hotspot: Hotspot) -> None:
    """25 wrong codes from one device straight to the NAS (not through the portal)."""
    person = hotspot.person(MAC)
    person.arrive()
    replies = [logon(hotspot, person, wrong_code()) for _ in range(25)]
    assert not any(ok for ok, _reply in replies)  # every one answered, none let in
    limit = guesses.LIMITS["mac"]
    assert all("unknown voucher" in reply for _ok, reply in replies[:limit])
    # then RADIUS holds the device as the portal does: it guesses no further
    assert all(guesses.HELD in reply for _ok, reply in replies[limit:])
    with hotspot.store.session() as session:  # a right code waits too
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    ok, reply = logon(hotspot, person, voucher.code)
    assert not ok and guesses.HELD in reply
    assert wrong_codes_recorded(hotspot.store) == limit
    with hotspot.store.session() as session:  # nor do the held ones flood the records
        assert session.scalar(select(func.count()).select_from(LoginRecord).where(
            LoginRecord.result == guesses.HELD)) == 0


def event(at: datetime, mac: str = "", ip: str = "", nas: str = "gw") -> LoginEvent:
    return LoginEvent(at=at, event="login", result="unknown voucher", identity="X",
                      method="voucher", nas=nas, mac=mac, private_ip=ip)


@pytest.mark.parametrize(("by", "made"), [
    ("mac", lambda i, at: event(at, mac="aa:bb:cc:dd:ee:72", ip=f"10.1.0.{i}")),
    ("ip", lambda i, at: event(at, mac=f"02:00:00:00:00:{i:02x}", ip="10.1.0.9")),
    ("nas", lambda i, at: event(at, mac=f"02:00:00:00:01:{i:02x}", ip=f"10.2.{i}.1")),
])
def test_each_count_holds_on_its_own_until_its_oldest_leaves_the_window(
        store: Store, by: str, made: object) -> None:
    now = datetime.now(UTC)
    first = now - timedelta(minutes=8)  # the oldest counted: 2 minutes left in the window
    with store.session() as session:
        records.append(session, [made(i, first + timedelta(seconds=i))  # type: ignore[operator]
                                 for i in range(guesses.LIMITS[by])])
    probe = {"mac": ("aa:bb:cc:dd:ee:72", "10.9.9.9", "other"),
             "ip": ("02:00:00:00:09:09", "10.1.0.9", "other"),
             "nas": ("02:00:00:00:09:09", "10.9.9.9", "gw")}[by]
    with store.session() as session:
        held = guesses.held(session, probe[2], probe[0], probe[1], now)
        assert held is not None and held.by == by
        assert 110 <= held.retry_after <= 121
        # an hour later the window is empty
        assert guesses.held(session, probe[2], probe[0], probe[1],
                            now + timedelta(hours=1)) is None
        # another device, address and NAS are not held by them
        assert guesses.held(session, "other", "02:00:00:00:09:09", "10.9.9.9", now) is None


def test_codes_used_up_or_revoked_are_not_guesses(store: Store) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        records.append(session, [LoginEvent(at=now, event="login", result=reason,
                                            identity="X", method="voucher", nas="gw",
                                            mac="aa:bb:cc:dd:ee:73")
                                 for reason in ["voucher used up", "voucher revoked"] * 5])
        assert guesses.held(session, "gw", "aa:bb:cc:dd:ee:73", "", now) is None
        # and the writer's own batch counts before it reaches the store
        pending: guesses.Keys = Counter({("mac", "aa:bb:cc:dd:ee:73"): 5})
        assert guesses.held(session, "gw", "aa:bb:cc:dd:ee:73", "", now, pending) is not None


def test_one_count_is_not_held_by_the_others_nor_by_records_without_a_value(
        store: Store) -> None:
    """The three counts come from one query: a record counts only for the device, address
    or NAS it names, and a login without an address is not counted against the wrong
    codes of every other one without an address."""
    now = datetime.now(UTC)
    with store.session() as session:
        records.append(session, [LoginEvent(at=now - timedelta(seconds=i), event="login",
                                            result="unknown voucher", identity="X",
                                            method="voucher", nas=f"gw{i}",
                                            mac=f"02:00:00:00:02:{i:02x}", private_ip="")
                                 for i in range(guesses.LIMITS["ip"])])
        # no address given: not held by the records that have none either
        assert guesses.held(session, "other", "aa:bb:cc:dd:ee:74", "", now) is None
        # a device with one wrong code is not held by the NAS's or address's counts
        assert guesses.held(session, "gw0", "02:00:00:00:02:00", "10.9.9.8", now) is None
        # a device at its count is held by its own, oldest first to leave the window
        pending: guesses.Keys = Counter({("mac", "02:00:00:00:02:03"): 4})
        held = guesses.held(session, "other", "02:00:00:00:02:03", "", now, pending)
        assert held is not None and held.by == "mac"
        assert 596 <= held.retry_after <= 600
