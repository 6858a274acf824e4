"""Admission policy through the real FreeRADIUS 3.2: the generated front config with the
eap module added (what `citynet freeradius config` will include), citynet's rlm_rest API
in process with admission's gate, Debian's eapol_test and radclient as NAS and
supplicant. The Access-Accept carries the role's VLAN and filter; a disabled person, a
second device over the limit and a login out of hours are rejected; MAC bypass gets the
profile's VLAN, an unknown MAC is rejected and reported."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from admission import authority, mab
from admission.gate import AdmissionGate
from admission.models import UnknownMac
from admission.settings import NacConfig
from citynet.config import Config
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from radius import records
from radius.freeradius import FrontConfig, write
from radius.models import RadiusSession
from radius.nas import NasRegistry
from radius.service import RadiusService
from radius.settings import RadiusConfig
from tests.integration.radius.conftest import SECRET, add_nas, radclient
from tests.lab.freeradius import district_ca, eapol_test, radiusd, tls_network
from tests.support import free_port

TOKEN = "rest-token-for-admission-tests"
ZONE = ZoneInfo("Asia/Shanghai")


def _closed_window() -> str:
    """An hours window that does not hold now (local time): two to three hours ahead."""
    now = datetime.now(ZONE)
    return f"{now + timedelta(hours=2):%H:00}-{now + timedelta(hours=3):%H:00}"


def nac_config() -> NacConfig:
    return NacConfig.model_validate({
        "roles": {
            "staff": {"vlan": "10", "filter_id": "staff-acl",
                      "acl": {"huawei": "permit ip any any"}},
            "teacher": {"vlan": "20", "devices": 1},
            "student": {"vlan": "30", "hours": _closed_window()},
        },
        "mab_profiles": {"printer": {"vlan": "50"}},
    })


@dataclass
class Front:
    store: Store
    box: SecretBox
    auth: int
    tls: Path
    service: RadiusService

    def issue(self, username: str, device: str = "laptop") -> tuple[Path, str]:
        with self.store.session() as session:
            issued = authority.issue(session, self.box, username, device, datetime.now(UTC))
            session.commit()
        path = self.tls / f"{username}-{issued.serial}.p12"
        path.write_bytes(issued.p12)
        return path, issued.password

    def eapol(self, identity: str, p12: Path, password: str,
              mac: str = "00:1b:a9:00:00:01") -> tuple[bool, str]:
        """(accepted, eapol_test's output: it prints the Access-Accept's attributes)."""
        return eapol_test(tls_network(identity, self.tls / "ca.pem", p12, password),
                          self.auth, SECRET, self.tls / f"eapol-{identity}", "-M", mac,
                          "-N", "87:s:GigabitEthernet0/0/7")  # NAS-Port-Id: the switch port


def accept_attributes(output: str) -> dict[int, list[bytes | int]]:
    """The attributes of the Access-Accept eapol_test received: number → values (the
    bytes where eapol_test prints them, else the value's length: it prints no value of
    an attribute it does not know, like Filter-Id)."""
    accept = output.rsplit("code=2 (Access-Accept)", 1)
    assert len(accept) == 2, "no Access-Accept in eapol_test's output"
    found: dict[int, list[bytes | int]] = {}
    lines = accept[1].split("\n\n")[0].splitlines()[1:]
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        head = re.fullmatch(r"\s+Attribute (\d+) \(.*\) length=(\d+)", line)
        if head is None:
            continue
        value = re.fullmatch(r"\s+Value: (?:'(.*)'|([0-9a-f]+))", following)
        shown: bytes | int = int(head[2]) - 2
        if value is not None:
            shown = value[1].encode() if value[1] is not None else bytes.fromhex(value[2])
        found.setdefault(int(head[1]), []).append(shown)
    return found


def with_eap(conf: Path, eap_dir: Path) -> None:
    """The generated front config with the eap module ahead of citynet in authorize
    (EAP rounds are FreeRADIUS's; the finished login reaches citynet in post-auth)."""
    radiusd = conf / "radiusd.conf"
    text = radiusd.read_text()
    for old, new in (
            ("modules {\n", f"modules {{\n$INCLUDE {eap_dir}/eap\n"),
            ("        $-INCLUDE ${confdir}/site-authorize\n",
             "        eap {\n            ok = return\n            updated = return\n"
             "        }\n        $-INCLUDE ${confdir}/site-authorize\n"),
            ("    authenticate {\n    }\n", "    authenticate {\n        eap\n    }\n")):
        assert old in text
        text = text.replace(old, new, 1)
    radiusd.write_text(text)


@pytest.fixture
def front(sqlite_config: Config, sqlite_store: Store, tmp_path: Path) -> Iterator[Front]:
    store = sqlite_store
    add_nas(sqlite_config, store, vendor="huawei", name="sw-1")
    box = open_box(sqlite_config, store)
    assert box is not None
    tls, conf = tmp_path / "tls", tmp_path / "freeradius"
    ca = district_ca(store, box, "username,real_name,role\nt001,王芳,teacher\n"
                     "a042,张伟,staff\ns100,李明,student\n", tls)
    with store.session() as session:
        entries = sorted(NasRegistry.load(session, box).entries, key=lambda e: e.name)
    service = RadiusService(store, box, RadiusConfig(
        auth_port=0, acct_port=0, rest_token=TOKEN, rest_port=0, enabled=False),
        udp=False, gates=[AdmissionGate(nac_config())])
    service.start()
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    base = service.api_url.removesuffix("/radius/rest")  # the generated uri adds it
    write(conf, FrontConfig((base,), TOKEN, "127.0.0.1", auth, acct), entries)
    with_eap(conf, ca.eap_dir)
    try:
        with radiusd(conf, auth, SECRET, tmp_path / "radiusd.log"):
            yield Front(store, box, auth, tls, service)
    finally:
        service.stop()


TUNNEL_TYPE, TUNNEL_MEDIUM, TUNNEL_GROUP, FILTER_ID, VSA, CLASS = 64, 65, 81, 11, 26, 25


@pytest.mark.slow
def test_an_eap_tls_login_lands_in_the_role_s_vlan(front: Front) -> None:
    p12, password = front.issue("a042")
    accepted, output = front.eapol("a042", p12, password)
    assert accepted
    got = accept_attributes(output)
    # RFC 2868 integers carry a tag byte (0) before the 24-bit value: VLAN 13, IEEE-802 6
    assert got[TUNNEL_TYPE] == [bytes.fromhex("0000000d")]
    assert got[TUNNEL_MEDIUM] == [bytes.fromhex("00000006")]
    assert got[TUNNEL_GROUP] == [b"10"]
    assert got[FILTER_ID] == [len("staff-acl")]  # eapol_test does not print its value
    # Huawei-Data-Filter (vendor 2011, attribute 82) for a huawei NAS, beside the MPPE keys
    assert (2011).to_bytes(4, "big") + bytes([82, 19]) + b"permit ip any any" in got[VSA]
    assert got[CLASS] == [b"citynet:eap:a042"]
    with front.store.session() as session:
        record = records.search(session, identity="a042")[-1]
    assert (record.result, record.method, record.nas, record.mac) == (
        "accept", "eap", "sw-1", "00:1b:a9:00:00:01")
    assert record.called_station == "port:GigabitEthernet0/0/7"


@pytest.mark.slow
def test_disabled_over_the_limit_and_out_of_hours_are_rejected(front: Front) -> None:
    teacher, teacher_password = front.issue("t001")
    accepted, output = front.eapol("t001", teacher, teacher_password)
    assert accepted and accept_attributes(output)[TUNNEL_GROUP] == [b"20"]
    # the teacher's first device is online (its accounting Start through FreeRADIUS)
    with front.store.session() as session:
        now = datetime.now(UTC)
        session.add(RadiusSession(nas="sw-1", session_id="s-1", username="t001",
                                  identity="t001", method="eap",
                                  calling_station="00-1b-a9-00-00-01", started_at=now,
                                  updated_at=now))
        session.commit()
    # a second device: over the teacher role's limit of one
    assert not front.eapol("t001", teacher, teacher_password, mac="00:1b:a9:00:00:02")[0]
    # the same device logging in again is not a second one
    assert front.eapol("t001", teacher, teacher_password)[0]
    student, student_password = front.issue("s100")
    assert not front.eapol("s100", student, student_password)[0]  # out of hours
    staff, staff_password = front.issue("a042")
    with front.store.session() as session:
        authority.disable_person(session, "a042", "left", datetime.now(UTC))
        session.commit()
    # no new CRL: FreeRADIUS still takes the certificate, citynet refuses the person
    assert not front.eapol("a042", staff, staff_password)[0]
    with front.store.session() as session:
        results = [(r.identity, r.result) for r in records.search(session)]
    assert ("t001", "too many devices online") in results
    assert ("s100", "outside allowed hours") in results
    assert ("a042", "person disabled") in results


def mab_request(front: Front, mac: str, port: str = "GigabitEthernet0/0/9") -> str:
    """A switch's MAB request: User-Name and password the MAC, Service-Type Call-Check."""
    bare = mac.replace(":", "").lower()
    return radclient(f"127.0.0.1:{front.auth}", "auth",
                     f'User-Name = "{bare}"\nUser-Password = "{bare}"\n'
                     'Service-Type = Call-Check\n'
                     f'Calling-Station-Id = "{mac.replace(":", "-").upper()}"\n'
                     f'NAS-Port-Id = "{port}"\nMessage-Authenticator = 0x00\n').stdout


@pytest.mark.slow
def test_mac_bypass_gets_the_profile_s_vlan_and_unknown_macs_are_reported(
        front: Front) -> None:
    with front.store.session() as session:
        mab.add(session, nac_config(), "00:1b:a9:12:34:56", "printer", datetime.now(UTC))
        session.commit()
    answer = mab_request(front, "00:1b:a9:12:34:56")
    assert "Access-Accept" in answer, answer
    assert 'Tunnel-Private-Group-Id:0 = "50"' in answer
    assert "Tunnel-Type:0 = VLAN" in answer and "Tunnel-Medium-Type:0 = IEEE-802" in answer
    for _ in range(2):
        refused = mab_request(front, "00:1b:a9:99:99:99")
        assert "Access-Reject" in refused, refused
    with front.store.session() as session:
        [seen] = session.scalars(select(UnknownMac)).all()
        assert (seen.mac, seen.nas, seen.port, seen.count) == (
            "00:1b:a9:99:99:99", "sw-1", "GigabitEthernet0/0/9", 2)
        found = records.search(session, mac="00:1b:a9:12:34:56")
    assert [(r.result, r.method, r.called_station) for r in found] == [
        ("accept", "mab", "port:GigabitEthernet0/0/9")]
