"""Time left, as RADIUS granted it: the status page and the RFC 8908 API tell what the
NAS will enforce (its Session-Timeout, counted from the session's start), for every
login method — not the profile's session length."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from radius import profiles, vouchers
from radius.models import RadiusSession
from tests.integration.portal.conftest import Hotspot, Person
from tests.integration.portal.test_flow import PHONE, open_session, sms_login
from tests.support import wait_until


def granted(hotspot: Hotspot, mac: str) -> int:
    """The Session-Timeout of the Access-Accept the gateway got for this device."""
    device = next(d for d in hotspot.gateway.devices.values() if d.mac == mac)
    wait_until(lambda: open_session(hotspot, mac) is not None, what="session open")
    [timeout] = device.reply["Session-Timeout"]
    return int(timeout)


def told(hotspot: Hotspot, person: Person) -> tuple[int, int]:
    """(minutes on the status page, seconds-remaining of the RFC 8908 API)."""
    page = person.portal("/portal/status").get_data(as_text=True)
    minutes = re.search(r"Time left</dt><dd>(\d+) ", page)
    assert minutes, page
    device = next(d for d in hotspot.gateway.devices.values() if d.mac == person.mac)
    api = person.browser.get("/portal/api/captive", environ_base={"REMOTE_ADDR": device.ip})
    return int(minutes.group(1)), int(api.get_json()["seconds-remaining"])


def voucher_login(hotspot: Hotspot, person: Person, code: str) -> None:
    person.arrive(lang="en")
    person.finish(person.post("/portal/voucher", code=code, consent="1"))


def test_a_30_minute_voucher_is_told_its_30_minutes(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    person = hotspot.person("AA-BB-CC-DD-EE-51")
    voucher_login(hotspot, person, voucher.code)
    timeout = granted(hotspot, person.mac)
    assert timeout <= 30 * 60  # RADIUS granted the voucher's time, not the profile's 4 h
    minutes, seconds = told(hotspot, person)
    assert seconds <= timeout and minutes <= timeout // 60


def test_a_voucher_first_used_earlier_is_told_what_is_left_of_it(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 2, "t", valid_days=1)
        session.execute(update(vouchers.Voucher).where(vouchers.Voucher.id == voucher.id)
                        .values(first_used_at=datetime.now(UTC) - timedelta(minutes=20)))
    person = hotspot.person("AA-BB-CC-DD-EE-52")
    voucher_login(hotspot, person, voucher.code)
    timeout = granted(hotspot, person.mac)
    assert timeout <= 10 * 60
    minutes, seconds = told(hotspot, person)
    assert seconds <= timeout and minutes <= timeout // 60


def test_a_person_near_the_end_of_the_day_is_told_what_is_left_of_it(
        hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        profiles.save(session, profiles.Terms(daily_minutes=60))
        now = datetime.now(UTC)  # 50 minutes already used today, on another device
        session.add(RadiusSession(nas="test-hotspot", session_id="earlier", username=PHONE,
                                  identity=PHONE, method="sms", calling_station="x",
                                  framed_ip="10.1.9.9", started_at=now, updated_at=now,
                                  stopped_at=now, session_time=50 * 60))
    person = hotspot.person("AA-BB-CC-DD-EE-53")
    person.arrive(lang="en")
    sms_login(hotspot, person)
    timeout = granted(hotspot, person.mac)
    assert timeout <= 10 * 60
    minutes, seconds = told(hotspot, person)
    assert seconds <= timeout and minutes <= timeout // 60


def test_on_a_busy_hotspot_the_status_page_still_finds_the_device(
        hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    person = hotspot.person("AA-BB-CC-DD-EE-54")
    voucher_login(hotspot, person, voucher.code)
    granted(hotspot, person.mac)
    with hotspot.store.session() as session:  # 60 devices heard of since, at one NAS
        now = datetime.now(UTC) + timedelta(seconds=1)
        session.add_all(RadiusSession(
            nas="test-hotspot", session_id=f"busy-{n}", username="x", identity="x",
            method="voucher", calling_station=f"AA-BB-CC-DD-01-{n:02X}",
            framed_ip=f"10.1.8.{n}", started_at=now, updated_at=now) for n in range(60))
    minutes, _seconds = told(hotspot, person)
    assert 0 < minutes <= 30
