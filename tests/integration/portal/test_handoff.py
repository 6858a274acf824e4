"""The hand-off URL as NAS administrators write it, and what the portal tells a device's
OS about it (RFC 8908) when the NAS stands between them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from citynet.logs import Throttle
from portal.simulator import Device
from radius import profiles, vouchers
from radius.models import RadiusSession
from tests.integration.portal.conftest import NASID, Hotspot, Person
from tests.integration.portal.test_flow import open_session
from tests.support import wait_until

NAS_ADDRESS = "127.0.0.1"  # the test NAS as registered (conftest.add_hotspot_nas)


@pytest.mark.parametrize("portal_url", ["http://localhost/portal",
                                        "http://localhost/portal/"])
def test_the_handoff_url_works_with_and_without_its_trailing_slash(
        hotspot: Hotspot, portal_url: str) -> None:
    # CoovaChilli uses its uamserver verbatim and signs the URL as it built it: a
    # redirect to /portal/ would change the URL its md covers
    hotspot.gateway.portal_url = portal_url
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    person = hotspot.person()
    landing = person.arrive()
    assert landing.status_code == 200, landing.status_code
    assert "上网券" in landing.get_data(as_text=True)
    page = person.finish(person.post("/portal/voucher", code=voucher.code, consent="1"))
    assert "已连接" in page.get_data(as_text=True)


def api(person: Person, query: str = "", remote: str = NAS_ADDRESS) -> dict[str, object]:
    """The RFC 8908 API as the device's OS asks it, from ``remote``."""
    response = person.browser.get("/portal/api/captive" + query,
                                  environ_base={"REMOTE_ADDR": remote})
    assert response.mimetype == "application/captive+json"
    body: dict[str, object] = response.get_json()
    return body


def logged_in(hotspot: Hotspot, mac: str) -> tuple[Person, Device]:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    person = hotspot.person(mac)
    person.arrive()
    person.finish(person.post("/portal/voucher", code=voucher.code, consent="1"))
    device = next(d for d in hotspot.gateway.devices.values() if d.mac == mac)
    wait_until(lambda: open_session(hotspot, mac) is not None, what="session open")
    return person, device


def test_behind_a_nat_the_api_finds_the_client_the_uri_names(hotspot: Hotspot) -> None:
    person, device = logged_in(hotspot, "AA-BB-CC-DD-EE-61")
    # CoovaChilli's %{n} %{i} %{m}: the NAS's name, the client's IPv4, its MAC in lower
    # case with colons — asked from the NAS's address, where the NAS masquerades clients
    named = api(person, f"?nas={NASID}&ip={device.ip}&mac=aa:bb:cc:dd:ee:61")
    assert named["captive"] is False
    assert 0 < int(str(named["seconds-remaining"])) <= 30 * 60
    # every value named must match one open session
    assert api(person, f"?nas={NASID}&ip={device.ip}&mac=aa:bb:cc:dd:ee:62")["captive"]
    assert api(person, f"?nas=other-nas&ip={device.ip}&mac=aa:bb:cc:dd:ee:61")["captive"]
    assert api(person, "?ip=10.1.200.200")["captive"] is True  # a client not logged in
    # any MAC spelling
    assert api(person, f"?ip={device.ip}&mac=AABBCCDDEE61")["captive"] is False


@pytest.mark.parametrize("query", ["?mac=AABBCCDDEE65", "?nas={nas}&mac=aa:bb:cc:dd:ee:65",
                                   "?nas={nas}&ip={ip}&mac=aa:bb:cc:dd:ee:65"])
def test_from_elsewhere_the_uri_tells_nothing_about_the_client_it_names(
        hotspot: Hotspot, query: str) -> None:
    # anyone who has seen a phone's MAC (and guessed its address) must not learn whether
    # its owner is online, where, or their time left: only the NAS or the client may name
    person, device = logged_in(hotspot, "AA-BB-CC-DD-EE-65")
    body = api(person, query.format(nas=NASID, ip=device.ip), remote="192.0.2.7")
    assert body["captive"] is True and "seconds-remaining" not in body
    # from the NAS, a MAC without the client's IP names nobody either
    body = api(person, "?mac=aa:bb:cc:dd:ee:65")
    assert "seconds-remaining" not in body


def test_asked_from_the_nas_address_unnamed_a_client_is_never_told_captive(
        hotspot: Hotspot) -> None:
    person, _device = logged_in(hotspot, "AA-BB-CC-DD-EE-63")
    # a masquerading NAS whose API URI does not name its clients: the portal cannot
    # tell who asks, and a logged-in client must not be told it is captive
    body = api(person)
    assert body["captive"] is False and "seconds-remaining" not in body
    # asked from an address that is neither a NAS nor a client online: captive
    assert api(person, remote="10.9.9.9")["captive"] is True


def test_a_session_on_a_nas_with_long_interim_updates_is_not_told_captive(
        hotspot: Hotspot) -> None:
    # the NAS's profile asks for an Interim-Update every hour: 20 minutes of silence is
    # not a lost Stop, whatever the default profile's 5 minutes would say
    with hotspot.store.session() as session:
        profiles.save(session, profiles.Terms(interim_interval=3600))
    person, device = logged_in(hotspot, "AA-BB-CC-DD-EE-66")
    with hotspot.store.session() as session:
        session.execute(update(RadiusSession).where(
            RadiusSession.calling_station == "AA-BB-CC-DD-EE-66").values(
            updated_at=datetime.now(UTC) - timedelta(minutes=20)))
    body = api(person, f"?nas={NASID}&ip={device.ip}&mac=aa:bb:cc:dd:ee:66")
    assert body["captive"] is False and "seconds-remaining" in body
    # three hours of silence is a lost Stop even there
    with hotspot.store.session() as session:
        session.execute(update(RadiusSession).where(
            RadiusSession.calling_station == "AA-BB-CC-DD-EE-66").values(
            updated_at=datetime.now(UTC) - timedelta(hours=3)))
    assert api(person, f"?nas={NASID}&ip={device.ip}")["captive"] is True


def test_a_nas_asking_unnamed_is_warned_of_hourly_with_a_count(
        hotspot: Hotspot, caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    hotspot.portal.unnamed_askers = Throttle(every=3600, clock=lambda: now[0])
    person = hotspot.person()
    with caplog.at_level(logging.WARNING, logger="portal.arrival"):
        for _ in range(3):
            api(person)
        now[0] = 3601.0
        api(person)
    warned = [r.getMessage() for r in caplog.records if "without naming" in r.getMessage()]
    assert len(warned) == 2, warned
    assert "(1 request(s)" in warned[0] and "(3 request(s)" in warned[1]
