"""A phone behind a Huawei/H3C/Ruijie AC, end to end: the AC's redirect, the portal's
login page, the Portal protocol to the fake AC, the AC's RADIUS (CHAP with its own
challenge) to citynet's real listener, accounting, status, logout and the AC's
NTF_LOGOUT — on SQLite and PostgreSQL. A Huawei or H3C AC may also be the one citynet
configured: its guest WiFi intent pushed to a fake device, the fake AC built from what
the device then runs (``hotspot`` param ``"huawei+pushed"``)."""

from __future__ import annotations

import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from citynet.app import create_app
from citynet.config import Config, RadiusConfig
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.macs import normal_mac
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal import device_cookie, totp
from portal.acportal import PacketType
from portal.acservice import AcNoticeService
from radius import remembered, vouchers
from radius.models import RadiusSession
from radius.service import RadiusService
from tests.fakes.ac import FakeAc
from tests.fakes.acconfig import COMWARE_PORTAL_PORT
from tests.fakes.vrp import FakeVrp

NAS_SECRET = "ac-radius-secret-123"
PORTAL_KEY = "ac-portal-key-456"
AC_NAME = "ac-luohu"
USER_IP = "10.30.0.17"  # the phone's address, as the AC and the portal see it
MAC = "AA-BB-CC-DD-EE-07"
PUSHED_PORTAL_URL = "http://portal.test/portal/"  # the intent's portal_url for pushed ACs
DEVICE_PASSWORD = "Lab-Device-Password-3b9e"


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    waited = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        waited.wait(0.05)
    return check()


def register(store: Store, box: SecretBox, address: str, port: int, vendor: str,
             protocol: str = "huawei-v2", portal_key: str = PORTAL_KEY) -> None:
    """The AC's NAS entry (the registry's use case), made or changed."""
    with store.session() as session:
        outcome = import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": AC_NAME, "address": address, "secret": NAS_SECRET,
            "vendor": vendor, "portal_protocol": protocol, "portal_port": port,
            **({"portal_secret": portal_key} if protocol == "huawei-v2" else {})})], box)
        assert outcome.ok, outcome.problems


def lone_address() -> str:
    """A loopback address of the test's own (Linux routes all of 127/8 to lo): a fake AC
    there may take its vendor's fixed Portal port without meeting another test's."""
    return "127." + ".".join(str(secrets.randbelow(250) + 2) for _ in range(3))


def free_udp_port(address: str, low: int, high: int) -> int:
    """A UDP port the OS gives out on ``address``, within [low, high] (the AC's range)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
            port = int(probe.getsockname()[1])
        if low <= port <= high:
            return port
    raise AssertionError(f"no free UDP port in {low}..{high} on {address}")


def registered_ac(store: Store, box: SecretBox, vendor: str) -> tuple[str, int]:
    """A Portal AC's NAS entry at an address of its own: (address, Portal port)."""
    address = lone_address()
    # Huawei: a listening port of the NAS entry's choosing (VRP takes 1024..55535);
    # Comware has no command for it, the entry names its fixed port
    port = COMWARE_PORTAL_PORT if vendor == "h3c" else free_udp_port(address, 1024, 55535)
    register(store, box, address, port, vendor)
    return address, port


def pushed_ac(store: Store, box: SecretBox, config: Config, vendor: str, address: str,
              radius_ports: tuple[int, int]) -> FakeAc:
    """The AC as citynet configures one: its guest WiFi intent pushed through `citynet
    devices push` to a fake device of the vendor at the registered ``address``, and the
    fake AC built from that device's running config — where it listens, its key, the
    redirect, its RADIUS are all what was pushed."""
    device = FakeVrp(vendor, hostname=AC_NAME, address=address,
                     credentials=("netops", DEVICE_PASSWORD))
    with device:
        with store.session() as session:
            outcome = import_rows(session, [
                RawRow("test", 2, KINDS["credentials"], {
                    "name": "lab", "username": "netops", "password": DEVICE_PASSWORD}),
                RawRow("test", 3, KINDS["devices"], {
                    "hostname": AC_NAME, "host": address, "port": device.port,
                    "platform": "huawei" if vendor == "huawei" else "hp_comware",
                    "role": "wifi_controller", "credential": "lab"})], box)
            assert outcome.ok, outcome.problems
        config.data_path.mkdir(parents=True, exist_ok=True)
        (config.data_path / "intent.yaml").write_text(yaml.safe_dump({"defaults": {
            "portal_url": PUSHED_PORTAL_URL, "ssid": "i-Luohu"}}))
        env = {"CITYNET_DATA_DIR": str(config.data_path),
               "CITYNET_DATABASE__URL": config.database.url,
               # where the AC must send RADIUS: this test's listener, not 1812/1813
               "CITYNET_RADIUS__AUTH_PORT": str(radius_ports[0]),
               "CITYNET_RADIUS__ACCT_PORT": str(radius_ports[1])}
        from citynet.cli import cli

        pushed = CliRunner().invoke(cli, ["devices", "push", AC_NAME, "--template",
                                          "guest_wifi", "--reason", "issue 19", "--json"],
                                    env=env)
        assert pushed.exit_code == 0, pushed.output
        return FakeAc.from_running_config(device.running_config(), vendor, device.vault)


@dataclass
class AcHotspot:
    store: Store
    box: SecretBox
    config: Config
    radius: RadiusService
    ac: FakeAc
    app: Any

    def voucher(self) -> str:
        with self.store.session() as session:
            [made] = vouchers.create(session, 1, 60, 1, "test", valid_days=1)
            return made.code

    def open_sessions(self) -> list[RadiusSession]:
        with self.store.session() as session:
            return list(session.scalars(select(RadiusSession).where(
                RadiusSession.nas == AC_NAME, RadiusSession.stopped_at.is_(None))))


class Phone:
    def __init__(self, hotspot: AcHotspot) -> None:
        self.hotspot, self.browser = hotspot, hotspot.app.test_client()
        self.browser.environ_base["REMOTE_ADDR"] = USER_IP
        self.page = ""

    def get(self, url: str) -> Any:
        parts = urlsplit(url)
        response = self.browser.get(parts.path + ("?" + parts.query if parts.query else ""))
        while response.status_code in (301, 302, 303) and response.location.startswith("/"):
            response = self.browser.get(response.location)
        self.page = response.get_data(as_text=True)
        return response

    def arrive(self) -> Any:
        return self.get(self.hotspot.ac.redirect_url("http://localhost/portal/", USER_IP, MAC))

    def post(self, path: str, **form: str) -> Any:
        found = re.search(r'name="csrf" value="([^"]+)"', self.page)
        assert found, "no CSRF token on the page"
        response = self.browser.post(path, data={"csrf": found.group(1), **form})
        self.page = response.get_data(as_text=True)
        return response


@contextmanager
def listening_for_notices(hotspot: AcHotspot) -> Iterator[AcNoticeService]:
    """The portal's NTF_LOGOUT listener, running, and the fake AC told where it is."""
    notices = AcNoticeService(hotspot.store, hotspot.box, hotspot.config, port=0)
    notices.start()
    try:
        assert notices.bound is not None
        hotspot.ac.portal = ("127.0.0.1", notices.bound)
        yield notices
    finally:
        notices.stop()


@pytest.fixture
def hotspot(request: pytest.FixtureRequest, backend_config: Config,
            store: Store) -> Iterator[AcHotspot]:
    """A Huawei AC on Portal 2.0, or the vendor (and protocol: "h3c/cmcc-v1") a test names
    (indirect parametrisation); "+pushed" after it (Huawei or H3C, Portal 2.0): the AC
    citynet configured (:func:`pushed_ac`)."""
    box = open_box(backend_config, store, create=True)
    assert box is not None
    spec, _, how = getattr(request, "param", "huawei").partition("+")
    vendor, _, protocol = spec.partition("/")
    # registered before RADIUS starts: it reads the NAS entries then
    fake: FakeAc | None = None
    address = ""
    if how == "pushed":
        address = registered_ac(store, box, vendor)[0]
    else:
        fake = FakeAc(PORTAL_KEY.encode(), name=AC_NAME, vendor=vendor,
                      version=2 if protocol in ("", "huawei-v2") else 1)
        register(store, box, fake.address, fake.port, vendor, protocol or "huawei-v2")
    radius = RadiusService(store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                    acct_port=0))
    radius.start()
    try:
        if fake is None:
            fake = pushed_ac(store, box, backend_config, vendor, address, radius.ports)
        else:
            fake.radius = ("127.0.0.1", radius.ports[0], radius.ports[1],
                           NAS_SECRET.encode())
        config = backend_config.model_copy(update={"portal": backend_config.portal.model_copy(
            update={"protocol_timeout": 0.5, "protocol_tries": 3})})
        with fake:
            app = create_app(store, config, box=box, test_config={"TESTING": True})
            yield AcHotspot(store, box, config, radius, fake, app)
    finally:
        radius.stop()


@pytest.mark.parametrize("hotspot", ["huawei", "h3c", "ruijie", "huawei/huawei-v1",
                                     "h3c/cmcc-v1", "huawei+pushed", "h3c+pushed"],
                         indirect=True)
def test_voucher_login_status_and_logout(hotspot: AcHotspot) -> None:
    code, phone = hotspot.voucher(), Phone(hotspot)
    assert phone.arrive().status_code == 200 and 'action="/portal/voucher"' in phone.page
    done = phone.post("/portal/voucher", code=code, consent="1")
    assert done.status_code == 303 and done.location.endswith("/portal/success")
    online = hotspot.ac.online[USER_IP]
    assert online.name == code and hotspot.ac.radius_logins == 1
    assert eventually(lambda: online.affirmed)
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)  # accounting Start stored
    [live] = hotspot.open_sessions()
    assert (live.framed_ip, live.calling_station) == (USER_IP, MAC)
    api = phone.browser.get("/portal/api/captive").get_json()  # RFC 8908, by its address
    assert api["captive"] is False and api["seconds-remaining"] > 0
    # the success page says so for a voucher login too (no phone in the session)
    assert phone.get("/portal/success").status_code == 200 and "已连接" in phone.page
    assert phone.get("/portal/status").status_code == 200 and "/portal/logout" in phone.page
    out = phone.post("/portal/logout")
    assert out.status_code == 303 and out.location.endswith("/portal/logged-out")
    assert USER_IP not in hotspot.ac.online
    assert eventually(lambda: not hotspot.open_sessions())  # the AC's accounting Stop
    assert phone.browser.get("/portal/api/captive").get_json()["captive"] is True


def test_a_wrong_voucher_is_refused_by_radius_through_the_ac(hotspot: AcHotspot) -> None:
    phone = Phone(hotspot)
    phone.arrive()
    refused = phone.post("/portal/voucher", code=vouchers.new_code(), consent="1")
    assert refused.status_code == 400
    assert "The login was refused" in phone.page or "登录被拒绝" in phone.page
    assert not hotspot.ac.online


def test_a_lost_ack_auth_still_logs_in_once(hotspot: AcHotspot) -> None:
    hotspot.ac.drop_answers[PacketType.ACK_AUTH] = 1
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 303
    assert hotspot.ac.received[PacketType.REQ_AUTH] >= 2  # more if RADIUS was slow
    assert hotspot.ac.radius_logins == 1
    assert hotspot.ac.accounting == [("Start", USER_IP)]


def test_an_ac_that_never_answers_leaves_no_half_login(hotspot: AcHotspot) -> None:
    hotspot.ac.drop_answers[PacketType.ACK_AUTH] = 3
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 503
    assert not hotspot.ac.online  # the timeout logout undid it at the AC
    assert eventually(lambda: not hotspot.open_sessions())


def test_a_wrong_portal_key_logs_nobody_in(hotspot: AcHotspot) -> None:
    hotspot.ac.secret = b"not-the-key-registered"
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 503
    assert not hotspot.ac.online and hotspot.ac.bad_authenticator >= 3


@pytest.mark.parametrize("hotspot", ["huawei+pushed", "h3c+pushed"], indirect=True)
def test_the_ac_citynet_configured_takes_its_settings_from_the_push(
        hotspot: AcHotspot) -> None:
    """The redirect is the pushed URL with the pushed parameter names, and a login goes
    through: the AC reached citynet's RADIUS with the pushed key (accepted), its
    accounting Start is stored, the portal affirmed. Then the NAS entry's Portal key
    changes and nothing is pushed: the AC's key is not the portal's, every answer fails
    its authenticator, and nobody is logged in."""
    ac = hotspot.ac
    landing = ac.redirect_url("http://localhost/portal/", USER_IP, MAC)
    assert landing.startswith(PUSHED_PORTAL_URL + "?"), landing
    names = {"huawei": ["wlanacip", "wlanacname", "ssid", "wlanuserip", "usermac",
                        "redirect-url"],
             "h3c": ["userip", "usermac", "nasip", "wlanacname"]}[ac.vendor]
    assert [pair.split("=")[0] for pair in urlsplit(landing).query.split("&")] == names
    assert "ssid=i-Luohu" in landing or ac.vendor == "h3c"  # the intent's SSID
    phone = Phone(hotspot)
    assert phone.arrive().status_code == 200 and 'action="/portal/voucher"' in phone.page
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 303
    online = ac.online[USER_IP]
    assert ac.radius_logins == 1 and eventually(lambda: online.affirmed)
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)  # accounting Start stored
    phone.get("/portal/status")
    phone.post("/portal/logout")
    assert eventually(lambda: not hotspot.open_sessions())
    register(hotspot.store, hotspot.box, ac.address, ac.port, ac.vendor,
             portal_key="changed-after-the-push")
    hotspot.app.extensions["citynet.portal"].acs.invalidate()  # not its 30 s re-read
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 503
    assert USER_IP not in ac.online and ac.bad_authenticator >= 3
    assert ac.radius_logins == 1  # no second RADIUS login


def test_ntf_logout_from_the_ac_ends_the_session(hotspot: AcHotspot) -> None:
    with listening_for_notices(hotspot):
        phone = Phone(hotspot)
        phone.arrive()
        phone.post("/portal/voucher", code=hotspot.voucher(), consent="1")
        assert eventually(lambda: len(hotspot.open_sessions()) == 1)
        hotspot.ac.radius = None  # its accounting Stop is lost: the notice alone ends it
        assert hotspot.ac.kick(USER_IP, "idle")
        assert not hotspot.open_sessions()


def test_the_acs_interim_updates_and_idle_logout_reach_citynet(hotspot: AcHotspot) -> None:
    """The AC's own timers: its Interim-Updates keep the session's usage current; a user
    without traffic is logged out as idle, and the AC's NTF_LOGOUT and Stop close it."""
    with listening_for_notices(hotspot):
        hotspot.ac.interim_interval = 0.2
        phone = Phone(hotspot)
        phone.arrive()
        phone.post("/portal/voucher", code=hotspot.voucher(), consent="1")
        assert eventually(lambda: len(hotspot.open_sessions()) == 1)
        assert eventually(lambda: ("Interim-Update", USER_IP) in hotspot.ac.accounting)
        hotspot.ac.idle_timeout = 0.3  # from now on: no traffic, so it goes idle
        assert eventually(lambda: (USER_IP, "idle") in hotspot.ac.logged_out)
        assert eventually(lambda: not hotspot.open_sessions())
        assert USER_IP not in hotspot.ac.online


def test_a_redirect_naming_another_address_is_refused(hotspot: AcHotspot) -> None:
    phone = Phone(hotspot)
    refused = phone.get(hotspot.ac.redirect_url("http://localhost/portal/", "10.9.9.9", MAC))
    assert refused.status_code == 400


def test_sms_login_then_one_tap_for_the_remembered_device(hotspot: AcHotspot) -> None:
    phone = Phone(hotspot)
    phone.arrive()
    phone.get("/portal/sms")
    sent = phone.post("/portal/sms", phone="13800138000", consent="1")
    assert sent.status_code == 302
    phone.get(sent.location)
    portal = hotspot.app.extensions["citynet.portal"]
    portal.sender.drain()
    [latest, *_] = portal.outbox.recent(10)
    code = re.search(r"\b(\d{6})\b", latest["text"])
    assert code is not None
    done = phone.post("/portal/sms/code", code=code.group(1), remember="1")
    assert done.status_code == 303 and done.location.endswith("/portal/success")
    assert hotspot.ac.online[USER_IP].name == "13800138000"  # the phone, with a token
    phone.get("/portal/status")
    phone.post("/portal/logout")
    assert USER_IP not in hotspot.ac.online
    # the same device again: one tap, through the AC, with a fresh one-time token
    phone.arrive()
    assert 'action="/portal/device"' in phone.page
    again = phone.post("/portal/device")
    assert again.status_code == 303 and again.location.endswith("/portal/success")
    assert hotspot.ac.online[USER_IP].name == "13800138000"
    assert hotspot.ac.radius_logins == 2


def sms_login(phone: Phone, number: str = "13800138000", **form: str) -> Any:
    phone.get("/portal/sms")
    sent = phone.post("/portal/sms", phone=number, consent="1")
    phone.get(sent.location)
    portal = phone.hotspot.app.extensions["citynet.portal"]
    portal.sender.drain()
    [latest, *_] = portal.outbox.recent(10)
    code = re.search(r"\b(\d{6})\b", latest["text"])
    assert code is not None
    return phone.post("/portal/sms/code", code=code.group(1), **form)


def remembered_for(hotspot: AcHotspot, mac: str) -> str | None:
    with hotspot.store.session() as session:
        return remembered.owner(session, normal_mac(mac), datetime.now(UTC))


def test_a_usermac_typed_into_the_redirect_reaches_nobodys_device(
        hotspot: AcHotspot) -> None:
    """An AC's redirect is not signed: a phone that arrives with another device's MAC in
    ``usermac`` (its own address, so the arrival lets it in) sees nothing of that
    device's session and cannot forget its remembrance — only what the AC itself
    accounted for this address counts."""
    victim = Phone(hotspot)
    victim.arrive()
    assert sms_login(victim, remember="1").status_code == 303
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)
    assert remembered_for(hotspot, MAC) == "13800138000"
    victim.get("/portal/status")  # its own: the session the AC accounted, the remembrance
    assert "/portal/forget" in victim.page and "<dl>" in victim.page
    attacker = Phone(hotspot)
    attacker.browser.environ_base["REMOTE_ADDR"] = "10.30.0.99"
    # the AC knows the attacker's own MAC; the redirect it is shown is edited
    url = hotspot.ac.redirect_url("http://localhost/portal/", "10.30.0.99", "AA-BB-CC-DD-EE-99")
    assert attacker.get(url.replace("AA-BB-CC-DD-EE-99", MAC)).status_code == 200
    attacker.get("/portal/status")
    assert "/portal/forget" not in attacker.page and "<dl>" not in attacker.page  # no session
    attacker.post("/portal/forget")
    assert remembered_for(hotspot, MAC) == "13800138000"
    # nor can it log in as the remembered device without the cookie, or with it: the
    # AC's Access-Request carries its real MAC, which the one-time token is not bound to
    assert 'action="/portal/device"' not in attacker.get(url.replace(
        "AA-BB-CC-DD-EE-99", MAC)).get_data(as_text=True)
    stolen = victim.browser.get_cookie(device_cookie.NAME, path="/portal")
    assert stolen is not None
    attacker.browser.set_cookie(device_cookie.NAME, stolen.value, path="/portal")
    attacker.get(url.replace("AA-BB-CC-DD-EE-99", MAC))
    assert 'action="/portal/device"' in attacker.page  # the cookie fits the typed MAC
    assert attacker.post("/portal/device").status_code == 400  # the AC's RADIUS refused
    assert "10.30.0.99" not in hotspot.ac.online
    # online on its own MAC, then "remember" with the victim's typed in: the AC answers
    # "already online" without RADIUS, and its accounting names the attacker's own MAC
    attacker.get(url)
    assert attacker.post("/portal/voucher", code=hotspot.voucher(),
                         consent="1").status_code == 303
    assert eventually(lambda: len(hotspot.open_sessions()) == 2)
    attacker.get(url.replace("AA-BB-CC-DD-EE-99", MAC))
    assert sms_login(attacker, "13900139000", remember="1").status_code == 303
    assert remembered_for(hotspot, MAC) == "13800138000"  # still the owner's
    victim.get("/portal/status")  # the owner can: its own device, as the AC accounted it
    victim.post("/portal/forget")
    assert remembered_for(hotspot, MAC) is None


def test_an_app_login_completes_through_the_ac(hotspot: AcHotspot) -> None:
    secret, now = pyotp.random_base32(), datetime.now(UTC)
    with hotspot.store.session() as session:
        assert totp.confirm(session, hotspot.box, "13800138000", secret,
                            pyotp.TOTP(secret).at(now.timestamp() - 30), now)
    phone = Phone(hotspot)
    phone.arrive()
    phone.get("/portal/app")
    done = phone.post("/portal/app", phone="13800138000", consent="1",
                      code=pyotp.TOTP(secret).at(now.timestamp()))
    assert done.status_code == 303 and done.location.endswith("/portal/success")
    assert hotspot.ac.online[USER_IP].name == "13800138000"  # the phone, with a token
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)


def test_a_device_is_remembered_only_once_the_ac_logged_it_in(hotspot: AcHotspot) -> None:
    hotspot.ac.drop_answers[PacketType.ACK_AUTH] = 3  # the AC never answers the login
    phone = Phone(hotspot)
    phone.arrive()
    assert sms_login(phone, remember="1").status_code == 503
    assert remembered_for(hotspot, MAC) is None
    assert phone.browser.get_cookie(device_cookie.NAME, path="/portal") is None


def test_sessions_kick_and_bandwidth_reach_the_ac_as_it_expects(hotspot: AcHotspot) -> None:
    """`citynet sessions bandwidth` and `kick` on a session behind a Huawei AC: a CoA
    with Huawei's own rate attributes, then a Disconnect the AC acts on — it ends the
    session, sends its accounting Stop and tells the portal (NTF_LOGOUT)."""
    from click.testing import CliRunner

    from citynet.cli import cli

    with listening_for_notices(hotspot):
        phone = Phone(hotspot)
        phone.arrive()
        assert phone.post("/portal/voucher", code=hotspot.voucher(),
                          consent="1").status_code == 303
        assert eventually(lambda: len(hotspot.open_sessions()) == 1)
        [live] = hotspot.open_sessions()
        env = {"CITYNET_DATA_DIR": str(hotspot.config.data_path),
               "CITYNET_DATABASE__URL": hotspot.config.database.url}
        port = str(hotspot.ac.coa_port)
        slower = CliRunner().invoke(cli, ["sessions", "bandwidth", live.session_id, "--up",
                                          "1000", "--down", "4000", "--port", port], env=env)
        assert slower.exit_code == 0, slower.output
        assert hotspot.ac.coa_set[USER_IP].get("Huawei-Output-Average-Rate") == 4_000_000, (
            hotspot.ac.coa_set)
        kicked = CliRunner().invoke(cli, ["sessions", "kick", live.session_id, "--port",
                                          port], env=env)
        assert kicked.exit_code == 0 and "Disconnect-ACK" in kicked.output, kicked.output
        assert USER_IP not in hotspot.ac.online
        assert hotspot.ac.logged_out[-1] == (USER_IP, "radius disconnect")
        assert eventually(lambda: not hotspot.open_sessions())
        again = CliRunner().invoke(cli, ["sessions", "kick", live.session_id, "--port", port],
                                   env=env)
        assert again.exit_code == 1  # closed here: nothing to kick


def test_answers_signed_with_another_key_are_dropped_and_on_metrics(
        hotspot: AcHotspot) -> None:
    from tests.integration.portal.test_metrics import moved, scrape

    hotspot.ac.sign_secret = b"not-the-key-registered"
    before = scrape(hotspot.app)
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 503
    dropped = moved(before, scrape(hotspot.app), "citynet_portal_protocol_drops_total",
                    side="client", reason="wrong_authenticator")
    assert dropped >= 3  # each ACK_CHALLENGE sent, and the timeout logout's answers


def test_already_online_with_a_session_citynet_has_is_success(hotspot: AcHotspot) -> None:
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 303
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)  # accounting Start stored
    phone.arrive()  # the same phone, a new hand-off: the AC answers "already online"
    again = phone.post("/portal/voucher", code=hotspot.voucher(), consent="1")
    assert again.status_code == 303 and again.location.endswith("/portal/success")
    assert hotspot.ac.radius_logins == 1 and not hotspot.ac.logged_out  # left as it was


@pytest.mark.parametrize("at", ["challenge", "auth"])
def test_already_online_at_the_ac_only_is_logged_out_and_in_again(
        hotspot: AcHotspot, at: str) -> None:
    from tests.integration.portal.test_metrics import moved, scrape

    hotspot.ac.challenge_when_online = at == "auth"  # which answer says "already online"
    hotspot.ac.strand(USER_IP)  # online at the AC; citynet has no session of it
    before = scrape(hotspot.app)
    phone, code = Phone(hotspot), hotspot.voucher()
    phone.arrive()
    done = phone.post("/portal/voucher", code=code, consent="1")
    assert done.status_code == 303 and done.location.endswith("/portal/success")
    assert hotspot.ac.logged_out == [(USER_IP, "portal logout")]
    assert hotspot.ac.online[USER_IP].name == code  # the login citynet's RADIUS decided
    assert hotspot.ac.radius_logins == 1
    assert eventually(lambda: len(hotspot.open_sessions()) == 1)
    assert moved(before, scrape(hotspot.app), "citynet_portal_ac_relogins_total",
                 outcome="logged_in") == 1


def test_already_online_at_the_ac_only_and_its_logout_unanswered(hotspot: AcHotspot) -> None:
    hotspot.ac.strand(USER_IP)
    hotspot.ac.drop_answers[PacketType.ACK_LOGOUT] = 3
    phone = Phone(hotspot)
    phone.arrive()
    assert phone.post("/portal/voucher", code=hotspot.voucher(), consent="1").status_code == 503
    assert hotspot.ac.radius_logins == 0  # no second login over the one the AC kept
