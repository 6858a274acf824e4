"""Tokens, remembered devices, policy profiles and their enforcement, end to end:
radclient → citynet's listener → store, and Disconnect/CoA to a stateful fake NAS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from citynet.cli import cli
from citynet.config import Config, RadiusConfig
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from inventory.choices import NasVendor
from inventory.models import NasClient
from radius import profiles, remembered, tokens, vouchers
from radius.decisions import class_of
from radius.models import RadiusSession
from radius.profiles import Terms
from radius.records import LoginRecord
from radius.service import RadiusService
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET, Listener, add_nas, radclient
from tests.support import wait_until

SIGNED = "Message-Authenticator = 0x00\n"
PHONE = "13800138000"
MAC_A, MAC_B = "AA-BB-CC-DD-EE-01", "AA-BB-CC-DD-EE-02"
METERED = Terms(name="metered", daily_minutes=30, daily_megabytes=100, simultaneous_use=1,
                bandwidth_up_kbps=2000, bandwidth_down_kbps=8000, language="en")


@dataclass
class Gateway:
    """citynet's listener with a NAS on the metered profile, and that NAS's CoA server."""

    listener: Listener
    nas: FakeNas
    box: SecretBox
    config: Config

    def token(self, phone: str = PHONE, mac: str = "") -> str:
        with self.listener.store.session() as session:
            return tokens.issue(session, self.box, phone, "sms", mac)

    def login(self, user: str, password: str, mac: str = MAC_A, chap: bool = False) -> str:
        field = "CHAP-Password" if chap else "User-Password"
        return radclient(self.listener.auth, "auth", f'User-Name = "{user}"\n'
                         f'{field} = "{password}"\nCalling-Station-Id = "{mac}"\n'
                         + SIGNED).stdout

    def account(self, status: str, session_id: str, mac: str = MAC_A, method: str = "sms",
                identity: str = PHONE, seconds: int = 0, octets: int = 0,
                ap: str = "00-E0-FC-00-00-01") -> None:
        user = identity if method != "mac" else mac
        result = radclient(self.listener.acct, "acct", (
            f'User-Name = "{user}"\nAcct-Status-Type = {status}\n'
            f'Acct-Session-Id = "{session_id}"\nCalling-Station-Id = "{mac}"\n'
            f'Called-Station-Id = "{ap}:i-Luohu"\nAcct-Session-Time = {seconds}\n'
            f"Acct-Input-Octets = {octets}\nClass = 0x{class_of(method, identity).hex()}\n"))
        assert "Accounting-Response" in result.stdout, result.stdout + result.stderr

    def cli(self, *args: str) -> tuple[int, str]:
        env = {"CITYNET_DATA_DIR": str(self.config.data_path),
               "CITYNET_DATABASE__URL": self.config.database.url}
        result = CliRunner().invoke(cli, list(args), env=env)
        return result.exit_code, result.output


@pytest.fixture
def gateway(backend_config: Config, store: Store) -> Iterator[Gateway]:
    add_nas(backend_config, store, policy="metered")
    with store.session() as session:
        profiles.save(session, METERED)
    box = open_box(backend_config, store)
    assert box is not None
    with FakeNas(SECRET.encode()) as nas:
        service = RadiusService(store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                         acct_port=0), coa_port=nas.port)
        service.start()
        try:
            yield Gateway(Listener(service, store), nas, box, backend_config)
        finally:
            service.stop()


def records(store: Store) -> list[tuple[str, str, str]]:
    with store.session() as session:
        return [(r.identity, r.method, r.result) for r in session.scalars(
            select(LoginRecord).where(LoginRecord.event == "login").order_by(LoginRecord.seq))]


def test_a_portal_token_logs_in_once_by_pap_or_chap(gateway: Gateway) -> None:
    first = gateway.token()
    accepted = gateway.login(PHONE, first)
    assert "Received Access-Accept" in accepted
    # the profile's terms: a day of 30 minutes, 100 MB, 2/8 Mbit/s
    assert "Session-Timeout = 1800" in accepted
    assert "WISPr-Bandwidth-Max-Up = 2000000" in accepted
    assert "WISPr-Bandwidth-Max-Down = 8000000" in accepted
    assert "ChilliSpot-Max-Total-Octets = 100000000" in accepted
    assert f"Class = 0x{class_of('sms', PHONE).hex()}" in accepted
    again = gateway.login(PHONE, first)
    assert 'Reply-Message = "no valid login token"' in again  # the profile says English
    assert "Received Access-Accept" in gateway.login(PHONE, gateway.token(), chap=True)
    assert "Received Access-Reject" in gateway.login(PHONE, "guessed-token")
    assert records(gateway.listener.store) == [
        (PHONE, "sms", "accept"), (PHONE, "token", "no valid login token"),
        (PHONE, "sms", "accept"), (PHONE, "token", "no valid login token")]


def test_a_token_bound_to_a_device_works_only_there(gateway: Gateway) -> None:
    bound = gateway.token(mac="aa:bb:cc:dd:ee:01")
    assert "Received Access-Reject" in gateway.login(PHONE, bound, mac=MAC_B)
    assert "Received Access-Accept" in gateway.login(PHONE, bound, mac=MAC_A)


def test_a_remembered_device_logs_in_by_mac_for_its_owner(gateway: Gateway) -> None:
    store = gateway.listener.store
    assert "device not remembered" in gateway.login(MAC_A, MAC_A)
    with store.session() as session:
        remembered.remember(session, "aa:bb:cc:dd:ee:01", PHONE, days=7)
    accepted = gateway.login(MAC_A, MAC_A)
    assert "Received Access-Accept" in accepted
    assert f"Class = 0x{class_of('mac', PHONE).hex()}" in accepted
    # a MAC login for one device sent from another is not that device
    assert "MAC login from another device" in gateway.login(MAC_A, MAC_A, mac=MAC_B)
    code, output = gateway.cli("radius", "forget", "aa-bb-cc-dd-ee-01")
    assert code == 0 and "1 remembrance(s) ended" in output
    assert "device not remembered" in gateway.login(MAC_A, MAC_A)
    # the records name the person, not the MAC
    assert records(store) == [
        ("aa:bb:cc:dd:ee:01", "mac", "device not remembered"), (PHONE, "mac", "accept"),
        ("aa:bb:cc:dd:ee:01", "mac", "MAC login from another device"),
        ("aa:bb:cc:dd:ee:01", "mac", "device not remembered")]


def test_simultaneous_use_and_the_daily_allowance(gateway: Gateway) -> None:
    assert "Received Access-Accept" in gateway.login(PHONE, gateway.token(), mac=MAC_A)
    gateway.account("Start", "s-1", mac=MAC_A)
    # one device at a time on this profile: a second one is refused, the same one is not
    assert "too many devices online" in gateway.login(PHONE, gateway.token(), mac=MAC_B)
    again = gateway.login(PHONE, gateway.token(), mac=MAC_A)
    assert "Received Access-Accept" in again
    gateway.account("Interim-Update", "s-1", seconds=600)
    later = gateway.login(PHONE, gateway.token(), mac=MAC_A)
    assert "Session-Timeout = 1200" in later  # 30 minutes a day, 10 used
    gateway.account("Stop", "s-1", seconds=1800)
    assert "daily time used up" in gateway.login(PHONE, gateway.token(), mac=MAC_B)


def test_quota_used_up_in_an_interim_disconnects_the_session(gateway: Gateway) -> None:
    gateway.nas.sessions.update({"s-1": {}, "s-other": {}})
    gateway.account("Start", "s-1")
    gateway.account("Interim-Update", "s-1", seconds=60, octets=50_000_000)
    gateway.account("Start", "s-other", identity="13900139000")
    enforcer = gateway.listener.service.enforcer
    wait_until(lambda: enforcer.counters["checked"] >= 3, what="limits checked")
    assert gateway.nas.sessions.keys() == {"s-1", "s-other"}  # under the limit: nothing
    gateway.account("Interim-Update", "s-1", seconds=120, octets=100_000_001)
    wait_until(lambda: "s-1" not in gateway.nas.sessions, what="Disconnect of s-1")
    wait_until(lambda: enforcer.counters["checked"] >= 4, what="the last check done")
    assert "s-other" in gateway.nas.sessions  # someone else's session is untouched
    assert enforcer.counters["disconnected"] == 1


def test_a_remembered_mac_at_two_access_points_is_disconnected_on_both(
        gateway: Gateway) -> None:
    with gateway.listener.store.session() as session:
        remembered.remember(session, "aa:bb:cc:dd:ee:01", PHONE, days=7)
    gateway.nas.sessions.update({"s-1": {}, "s-2": {}})
    enforcer = gateway.listener.service.enforcer
    ap1, ap2 = "00-E0-FC-00-00-01", "00-E0-FC-00-00-02"
    gateway.account("Start", "s-1", method="mac", ap=ap1)
    gateway.account("Interim-Update", "s-1", method="mac", ap=ap1, seconds=60, octets=1000)
    # the device roams: a new session at the second AP carries the traffic now
    gateway.account("Start", "s-2", method="mac", ap=ap2)
    gateway.account("Interim-Update", "s-2", method="mac", ap=ap2, seconds=60, octets=500)
    wait_until(lambda: enforcer.counters["checked"] >= 4, what="limits checked")
    assert gateway.nas.sessions.keys() == {"s-1", "s-2"}  # roaming: nothing wrong
    # ...but the first one's traffic grows again too: the MAC is in two places at once
    gateway.account("Interim-Update", "s-1", method="mac", ap=ap1, seconds=120, octets=9000)
    wait_until(lambda: not gateway.nas.sessions, what="both sessions disconnected")
    with gateway.listener.store.session() as session:
        assert remembered.owner(session, "aa:bb:cc:dd:ee:01", datetime.now(UTC)) is None


def test_bandwidth_of_a_live_session_changes_by_coa(gateway: Gateway) -> None:
    gateway.nas.sessions["s-1"] = {}
    gateway.account("Start", "s-1")
    code, output = gateway.cli("sessions", "bandwidth", "s-1", "--up", "1000", "--down",
                               "4000", "--port", str(gateway.nas.port))
    assert code == 0, output
    assert "CoA-ACK after 1 attempt(s)" in output
    # CoovaChilli resets what a CoA leaves out: the profile's limits ride along
    assert gateway.nas.sessions["s-1"] == {
        "WISPr-Bandwidth-Max-Up": 1_000_000, "WISPr-Bandwidth-Max-Down": 4_000_000,
        "Session-Timeout": 1800, "Idle-Timeout": 900, "Acct-Interim-Interval": 300,
        "ChilliSpot-Max-Total-Octets": 100_000_000}
    code, output = gateway.cli("sessions", "bandwidth", "nope", "--up", "1", "--down", "1")
    assert code == 1 and "0 open sessions have id 'nope'" in output


def test_a_bandwidth_coa_keeps_what_is_left_of_the_persons_day(gateway: Gateway) -> None:
    gateway.account("Start", "s-0", mac=MAC_B)
    gateway.account("Stop", "s-0", mac=MAC_B, seconds=600, octets=20_000_000)
    gateway.nas.sessions["s-1"] = {}
    gateway.account("Start", "s-1")
    gateway.account("Interim-Update", "s-1", seconds=300, octets=10_000_000)
    code, output = gateway.cli("sessions", "bandwidth", "s-1", "--up", "1000", "--down",
                               "4000", "--port", str(gateway.nas.port))
    assert code == 0, output
    # CoovaChilli counts both from the session's start: 30 min and 100 MB a day, less the
    # other session's 10 min and 20 MB (this one's own 5 min and 10 MB stay counted by it)
    sent = gateway.nas.sessions["s-1"]
    assert (sent["Session-Timeout"], sent["ChilliSpot-Max-Total-Octets"]) == (1200, 80_000_000)
    assert (sent["Idle-Timeout"], sent["Acct-Interim-Interval"]) == (900, 300)


def test_a_bandwidth_coa_keeps_a_vouchers_end(gateway: Gateway) -> None:
    from datetime import timedelta

    store = gateway.listener.store
    with store.session() as session:
        voucher = vouchers.create(session, 1, 30, 1, "", 1)[0]
        voucher.first_used_at = datetime.now(UTC) - timedelta(minutes=10)
        code, ends = voucher.code, vouchers.ends_at(voucher)
    gateway.nas.sessions["s-v"] = {}
    gateway.account("Start", "s-v", method="voucher", identity=code, seconds=300)
    with store.session() as session:
        started = session.scalar(select(RadiusSession.started_at)
                                 .where(RadiusSession.session_id == "s-v"))
    assert ends is not None and started is not None
    exit_code, output = gateway.cli("sessions", "bandwidth", "s-v", "--up", "1000", "--down",
                                    "4000", "--port", str(gateway.nas.port))
    assert exit_code == 0, output
    sent = gateway.nas.sessions["s-v"]
    # the voucher's end, counted from the session's start (30 min from first use, 10 min
    # ago; the session began 5 min ago): about 25 min, not the profile's 240 nor none
    assert sent["Session-Timeout"] == int((ends - started).total_seconds())
    assert 1400 < sent["Session-Timeout"] <= 1500
    assert "ChilliSpot-Max-Total-Octets" not in sent  # a voucher has no traffic cap
    assert (sent["Idle-Timeout"], sent["Acct-Interim-Interval"]) == (900, 300)


def test_a_nas_that_keeps_what_a_coa_leaves_out_gets_the_change_only(
        gateway: Gateway) -> None:
    with gateway.listener.store.session() as session:
        session.execute(update(NasClient).values(vendor=NasVendor.HUAWEI))
    gateway.nas.sessions["s-1"] = {}
    gateway.account("Start", "s-1")
    code, output = gateway.cli("sessions", "bandwidth", "s-1", "--up", "1000", "--down",
                               "4000", "--port", str(gateway.nas.port))
    assert code == 0, output
    assert gateway.nas.sessions["s-1"] == {"WISPr-Bandwidth-Max-Up": 1_000_000,
                                           "WISPr-Bandwidth-Max-Down": 4_000_000}


def test_profiles_from_the_cli(gateway: Gateway) -> None:
    code, output = gateway.cli("radius", "profile", "set", "library", "--daily-minutes",
                               "120", "--language", "zh-CN")
    assert code == 0, output
    assert "library: session ≤ 240 min" in output and "daily 120 min" in output
    code, output = gateway.cli("radius", "profile", "set", "library", "--idle-timeout", "5")
    assert code == 2 and "5 is not in the range 60<=x<=86400" in output
    code, output = gateway.cli("radius", "profile", "list", "--json")
    found = {p["name"]: p for p in json.loads(output)["profiles"]}
    assert sorted(found) == ["default", "library", "metered"]
    assert found["default"]["built_in"] is True
    assert (found["library"]["daily_minutes"], found["library"]["language"],
            found["library"]["built_in"]) == (120, "zh-CN", False)
    code, output = gateway.cli("radius", "profile", "list")
    rows = {line.split()[0]: line.split() for line in output.splitlines()[1:]}
    assert rows["library"][-2:] == ["zh-CN", "no"] and rows["default"][-1] == "yes"


def test_issuing_a_token_clears_the_identitys_expired_ones(sqlite_store: Store,
                                                           sqlite_config: Config) -> None:
    from datetime import timedelta

    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    t0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    with sqlite_store.session() as session:
        tokens.issue(session, box, PHONE, "sms", now=t0)
        tokens.issue(session, box, "13900139000", "sms", now=t0)
        tokens.issue(session, box, PHONE, "sms", now=t0 + timedelta(minutes=1))  # both live
    with sqlite_store.session() as session:
        tokens.issue(session, box, PHONE, "sms", now=t0 + timedelta(minutes=3))
    with sqlite_store.session() as session:
        left = session.execute(select(tokens.RadiusToken.identity,
                                      tokens.RadiusToken.created_at)).all()
    assert sorted(left) == [(PHONE, t0 + timedelta(minutes=3)),  # the two expired ones gone
                            ("13900139000", t0)]  # another person's: not this issue's business


def test_bandwidth_over_the_api_keeps_the_whole_authorisation(gateway: Gateway) -> None:
    """The staff API runs the CLI's use case: the same CoA, audited with the answer."""
    from citynet import staff
    from citynet.app import create_app
    from citynet.audit import AuditEntry
    from tests.conftest import make_config

    store, url = gateway.listener.store, gateway.config.database.url
    config = make_config(gateway.config.data_path.parent, radius={"coa_port": gateway.nas.port},
                         **({"database": {"url": url}} if url else {}))
    with store.session() as session:
        staff.add(session, "desk", staff.Role.OPERATOR, "correct horse battery staple")
        token = staff.issue_token(session, "desk", "script")
    api = create_app(store, config, box=gateway.box,
                     test_config={"TESTING": True}).test_client()
    gateway.nas.sessions["s-1"] = {}
    gateway.account("Start", "s-1")
    with store.session() as session:
        row = session.scalar(select(RadiusSession.id).where(RadiusSession.session_id == "s-1"))

    def change(session_id: object, **extra: object) -> tuple[int, dict[str, object]]:
        answer = api.post("/admin/sessions/bandwidth.json", headers={
            "Authorization": f"Bearer {token}", "Accept-Language": "en"}, json={
            "session": session_id, "up_kbps": 1000, "down_kbps": 4000, "reason": "abuse",
            **extra})
        return answer.status_code, answer.get_json()

    status, body = change(row)
    assert status == 200, body
    assert body["changed"] is True and body["answer"] == "CoA-ACK"
    assert gateway.nas.sessions["s-1"] == {
        "WISPr-Bandwidth-Max-Up": 1_000_000, "WISPr-Bandwidth-Max-Down": 4_000_000,
        "Session-Timeout": 1800, "Idle-Timeout": 900, "Acct-Interim-Interval": 300,
        "ChilliSpot-Max-Total-Octets": 100_000_000}
    del gateway.nas.sessions["s-1"]  # the NAS forgot it: a NAK, audited as failed
    status, body = change(row)
    assert status == 502 and body["error_cause"] == "Session-Context-Not-Found"
    assert change(row + 1000) == (404, {"errors": {"session": "No such session"}})
    assert change(row, colour="red") == (400, {"errors": {"colour": "no such field"}})
    assert change(row, up_kbps=0, reason=" ") == (400, {"errors": {
        "up_kbps": "a whole number from 1 to 10000000", "reason": "required"}})
    with store.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "sessions.bandwidth").order_by(AuditEntry.seq)))
        assert [(e.target, e.result, e.actor, e.reason) for e in entries] == [
            ("s-1@test-gw", "ok", "desk", "abuse"), ("s-1@test-gw", "failed", "desk", "abuse")]
        assert entries[0].detail["up_kbps"] == 1000 and SECRET not in str(entries[0].detail)
