"""Admission policy through the real FreeRADIUS 3.2: the front config `citynet freeradius
config` generates, eap module and inner tunnel included, citynet's rlm_rest API in
process with admission's gate and tunnel logins, Debian's eapol_test and radclient as
NAS and supplicant. The Access-Accept carries the role's VLAN and filter — for PEAP and
TTLS the inner person's, whatever the outer identity; a disabled person, a second device
over the limit and a login out of hours are rejected; MAC bypass gets the profile's VLAN,
an unknown MAC is rejected and reported."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from admission import authority, ca, eap, mab, passwords, people
from admission.choices import Role
from admission.gate import AdmissionGate
from admission.models import UnknownMac
from admission.settings import NacConfig
from citynet.cli import cli
from citynet.config import Config
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.tunnel import INNER_SERVER, TunnelAnswer, TunnelLogin
from radius import records
from radius.freeradius import FrontConfig, write
from radius.models import RadiusSession
from radius.nas import NasRegistry
from radius.service import RadiusService
from radius.settings import RadiusConfig
from tests.integration.radius.conftest import SECRET, add_nas, radclient
from tests.integration.radius.test_freeradius import stop
from tests.support import free_port, status_server, wait_until

TOKEN = "rest-token-for-admission-tests"
SERVER_NAME = "radius.district.example"
ZONE = ZoneInfo("Asia/Shanghai")
PASSWORDS = {"t001": "Correct-Horse-1", "a042": "Staff-Pass-2024"}
PEAP_ROLES = (Role.TEACHER, Role.STAFF)
ANONYMOUS = "anonymous@district"


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
        """An EAP-TLS login: (accepted, eapol_test's output — it prints the
        Access-Accept's attributes)."""
        return self._eapol(f"tls-{identity}", f"""    eap=TLS
    identity="{identity}"
    private_key="{p12}"
    private_key_passwd="{password}"
""", mac)

    def tunnelled(self, method: str, identity: str, password: str,
                  anonymous: str) -> tuple[bool, str]:
        """A PEAP-MSCHAPv2 or EAP-TTLS/PAP login whose outer identity is ``anonymous``."""
        phase2 = "auth=MSCHAPV2" if method == "PEAP" else "auth=PAP"
        return self._eapol(f"{method}-{identity[:40]}-{len(identity)}", f"""    eap={method}
    identity="{identity}"
    anonymous_identity="{anonymous}"
    password="{password}"
    phase2="{phase2}"
""", "00:1b:a9:00:00:01")

    def _eapol(self, name: str, method: str, mac: str) -> tuple[bool, str]:
        conf = self.tls / f"eapol-{name}.conf"
        conf.write_text(f"""network={{
    key_mgmt=WPA-EAP
{method}    ca_cert="{self.tls / 'ca.pem'}"
    domain_match="{SERVER_NAME}"
}}
""")
        done = subprocess.run(
            ["eapol_test", "-c", str(conf), "-a", "127.0.0.1", "-p", str(self.auth), "-s",
             SECRET, "-r", "0", "-t", "10", "-M", mac,
             "-N", "87:s:GigabitEthernet0/0/7"],  # NAS-Port-Id: the switch port
            capture_output=True, text=True, timeout=30, check=False)
        (self.tls / f"eapol-{name}.out").write_text(done.stdout)  # for a failure
        last = done.stdout.splitlines()[-1]
        assert ("SUCCESS" if done.returncode == 0 else "FAILURE") in last, done.stdout[-3000:]
        return done.returncode == 0, done.stdout


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


@pytest.fixture
def front(sqlite_config: Config, sqlite_store: Store, tmp_path: Path) -> Iterator[Front]:
    store, now = sqlite_store, datetime.now(UTC)
    add_nas(sqlite_config, store, vendor="huawei", name="sw-1")
    box = open_box(sqlite_config, store)
    assert box is not None
    rows, problems = people.read_csv("username,real_name,role\nt001,王芳,teacher\n"
                                     "a042,张伟,staff\ns100,李明,student\n", "hr.csv")
    assert problems == []
    tls, eap_dir, conf = tmp_path / "tls", tmp_path / "eap", tmp_path / "freeradius"
    tls.mkdir()
    with store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", SERVER_NAME, now)
        ca_pair, server = authority.authority_keys(session, box)
        number, crl = authority.publish_crl(session, box, now)
        files = eap.write_config(eap_dir, ca_pair.cert_pem, server.cert_pem,
                                 server.key_pem, number, crl, INNER_SERVER,
                                 by_citynet=True)
        entries = sorted(NasRegistry.load(session, box).entries, key=lambda e: e.name)
        for username, password in PASSWORDS.items():
            passwords.set_password(session, box, username, password, PEAP_ROLES)
        session.commit()
    (tls / "ca.pem").write_bytes(ca_pair.cert_pem)

    def inner_logins(login: TunnelLogin) -> TunnelAnswer:  # what `citynet serve` registers
        with store.session() as session:
            return passwords.tunnel_login(session, box, login, PEAP_ROLES)

    service = RadiusService(store, box, RadiusConfig(
        auth_port=0, acct_port=0, rest_token=TOKEN, rest_port=0, enabled=False),
        udp=False, gates=[AdmissionGate(nac_config())], tunnel_sources=[inner_logins])
    service.start()
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    base = service.api_url.removesuffix("/radius/rest")  # the generated uri adds it
    write(conf, FrontConfig((base,), TOKEN, "127.0.0.1", auth, acct,
                            eap_module=eap.eap_module(files, INNER_SERVER, by_citynet=True)),
          entries)
    log = (tmp_path / "radiusd.log").open("w")  # read it when a test fails
    radiusd = subprocess.Popen(["freeradius", "-fxx", "-d", str(conf)], stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: status_server(auth, SECRET.encode()) is not None, "freeradius",
                   radiusd)
        yield Front(store, box, auth, tls, service)
    finally:
        stop(radiusd)
        service.stop()
        log.close()


TUNNEL_TYPE, TUNNEL_MEDIUM, TUNNEL_GROUP, FILTER_ID, VSA, CLASS = 64, 65, 81, 11, 26, 25
USER_NAME = 1


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
    # one record per refusal: citynet's, not a second one from post-auth REJECT
    assert [r for r in results if r[0] == "s100"] == [("s100", "outside allowed hours")]
    assert ("a042", "person disabled") in results


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PEAP", "TTLS"])
def test_a_tunnelled_login_lands_in_the_inner_person_s_vlan(front: Front,
                                                             method: str) -> None:
    """The outer identity says nobody; the VLAN and the record are the inner person's
    (a042 staff: VLAN 10; t001 teacher: 20), and the NAS is told who it was."""
    for person, vlan in (("a042", b"10"), ("t001", b"20")):
        accepted, output = front.tunnelled(method, person, PASSWORDS[person], ANONYMOUS)
        assert accepted, person
        got = accept_attributes(output)
        assert got[TUNNEL_TYPE] == [bytes.fromhex("0000000d")]
        assert got[TUNNEL_MEDIUM] == [bytes.fromhex("00000006")]
        assert got[TUNNEL_GROUP] == [vlan], person
        assert got[USER_NAME] == [person.encode()]
        assert got[CLASS] == [f"citynet:eap:{person}".encode()]
    # a wrong inner password under the same anonymous name: no accept, no VLAN
    accepted, output = front.tunnelled(method, "t001", "Wrong-Horse-1", ANONYMOUS)
    assert not accepted and "Access-Accept" not in output
    with front.store.session() as session:
        found = [(r.identity, r.result) for r in records.search(session)]
    assert found[-3:-1] == [("a042", "accept"), ("t001", "accept")]
    # PEAP's from FreeRADIUS's mschap, TTLS's from citynet: the same words
    assert found[-1] == ("t001", "wrong password")
    assert not any(identity == ANONYMOUS for identity, _result in found)
    # the inner name typed in capitals, or with a realm, is the same person: their
    # VLAN, and the NAS and the record get the username as stored
    for typed in ("T001", "t001@district"):
        accepted, output = front.tunnelled(method, typed, PASSWORDS["t001"], ANONYMOUS)
        assert accepted, typed
        got = accept_attributes(output)
        assert got[TUNNEL_GROUP] == [b"20"] and got[USER_NAME] == [b"t001"], typed
        with front.store.session() as session:
            assert [(r.identity, r.result) for r in records.search(session)][-1] == (
                "t001", "accept")


@pytest.mark.slow
def test_a_revoked_certificate_is_refused_at_the_next_login(sqlite_config: Config,
                                                            front: Front) -> None:
    """`citynet nac cert revoke` and nothing else (no new CRL for FreeRADIUS): the
    post-auth call carries the certificate's serial, and citynet refuses it."""
    laptop, laptop_password = front.issue("a042", "laptop")
    phone, phone_password = front.issue("a042", "phone")
    assert front.eapol("a042", laptop, laptop_password)[0]
    with front.store.session() as session:
        [serial] = [c.serial for c in authority.certificates(session) if c.device == "laptop"]
    env = {"CITYNET_DATA_DIR": str(sqlite_config.data_path),
           "CITYNET_DATABASE__URL": sqlite_config.database.url}
    began = time.monotonic()
    result = CliRunner().invoke(cli, ["nac", "cert", "revoke", serial], env=env)
    assert result.exit_code == 0, result.output
    accepted, output = front.eapol("a042", laptop, laptop_password)
    refused_after = time.monotonic() - began
    assert not accepted and "Access-Accept" not in output
    assert front.eapol("a042", phone, phone_password)[0]  # the other device still works
    with front.store.session() as session:
        reasons = [(r.identity, r.result) for r in records.search(session, identity="a042")]
    assert reasons[-2:] == [("a042", "certificate revoked"), ("a042", "accept")]
    # measured, not asserted: the revoke command, then one whole EAP-TLS login refused
    print(f"revocation effective: the first login after `nac cert revoke` refused, "
          f"{refused_after:.2f} s after the command began")


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


@pytest.mark.slow
def test_an_eap_tls_login_is_the_certificate_holder_s_whatever_the_outer_name(
        front: Front) -> None:
    """Identity privacy: a device showing an anonymous identity logs in as the holder of
    its certificate (VLAN, record, and the User-Name the NAS accounts under); a device
    showing another person's name with it is refused, recorded under the holder."""
    p12, password = front.issue("a042")
    accepted, output = front.eapol(ANONYMOUS, p12, password)
    assert accepted
    got = accept_attributes(output)
    assert got[TUNNEL_GROUP] == [b"10"]
    assert got[USER_NAME] == [b"a042"]
    assert got[CLASS] == [b"citynet:eap:a042"]
    accepted, output = front.eapol("t001", p12, password)
    assert not accepted and "Access-Accept" not in output
    # the holder's own name as typed in capitals: usernames are one person whatever the
    # case (the import refuses two differing only in case)
    accepted, output = front.eapol("A042@district", p12, password)
    assert accepted
    assert accept_attributes(output)[USER_NAME] == [b"a042"]
    with front.store.session() as session:
        found = [(r.identity, r.result) for r in records.search(session)]
    assert found == [("a042", "accept"), ("a042", "identity does not match certificate"),
                     ("a042", "accept")]


@pytest.mark.slow
def test_a_certificate_refused_in_the_handshake_is_recorded(front: Front) -> None:
    """A refusal FreeRADIUS makes in the TLS handshake (here a certificate of another CA
    with a person's name) comes in the round that carries the client's certificate: its
    large EAP-Message must not keep the refusal out of the records."""
    stranger = ca.new_authority("elsewhere", datetime.now(UTC))
    pair, _serial = ca.client_certificate(stranger, "t001", "laptop", datetime.now(UTC))
    foreign = front.tls / "foreign.p12"
    foreign.write_bytes(ca.pkcs12_bundle(pair, stranger, "t001", "pw-foreign-1"))
    accepted, output = front.eapol("t001", foreign, "pw-foreign-1")
    assert not accepted and "Access-Accept" not in output
    # and one of the district's, expired (issued 400 days ago, for a year)
    with front.store.session() as session:
        authority_pair, _server = authority.authority_keys(session, front.box)
    old, _serial = ca.client_certificate(authority_pair, "t001", "old",
                                         datetime.now(UTC) - timedelta(days=400))
    expired = front.tls / "expired.p12"
    expired.write_bytes(ca.pkcs12_bundle(old, authority_pair, "t001", "pw-expired-1"))
    assert not front.eapol("t001", expired, "pw-expired-1")[0]
    with front.store.session() as session:
        found = [(r.identity, r.method, r.result)
                 for r in records.search(session, identity="t001")]
    # in citynet's words, not OpenSSL's (radius.refusals)
    assert found == [("t001", "fr:eap", "certificate not from the district CA"),
                     ("t001", "fr:eap", "certificate expired")]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PEAP", "TTLS"])
def test_an_unknown_inner_name_is_recorded_as_unknown(front: Front, method: str) -> None:
    accepted, _output = front.tunnelled(method, "nobody", "Some-Pass-123", ANONYMOUS)
    assert not accepted
    with front.store.session() as session:
        found = [(r.identity, r.result) for r in records.search(session, identity="nobody")]
    assert found == [("nobody", "unknown person")]


@pytest.mark.slow
def test_a_device_without_a_usable_eap_method_is_recorded_as_such(front: Front) -> None:
    """A device set up for a method FreeRADIUS does not offer (EAP-MD5), one that cannot
    run the one offered (EAP-TLS without its certificate: wpa_supplicant NAKs with no
    other) and one sending no identity are refused in FreeRADIUS's eap module: each record
    names the cause, not a bare "rejected by FreeRADIUS"."""
    assert not front._eapol("md5", '    eap=MD5\n    identity="t001"\n'
                            '    password="Some-Pass-123"\n', "00:1b:a9:00:00:05")[0]
    assert not front._eapol("no-cert", '    eap=TLS\n    identity="t001"\n',
                            "00:1b:a9:00:00:06")[0]
    assert not front._eapol("no-identity", '    eap=PEAP\n    identity=""\n'
                            '    password="Some-Pass-123"\n', "00:1b:a9:00:00:07")[0]
    with front.store.session() as session:
        found = [(r.mac, r.result) for r in records.search(session)]
    assert found == [
        ("00:1b:a9:00:00:05", "EAP method not offered (EAP-TLS, PEAP and TTLS are)"),
        ("00:1b:a9:00:00:06", "the device declined the EAP method (EAP NAK)"),
        ("00:1b:a9:00:00:07", "no EAP identity")]


@pytest.mark.slow
def test_an_inner_name_too_long_for_an_attribute_is_recorded(front: Front) -> None:
    """An inner identity longer than a RADIUS attribute holds (PEAP's comes from the EAP
    identity inside the tunnel: up to ~1 KB) is nobody's; citynet's API took none and
    rlm_rest 3.2.1 could not send one past its JSON buffer whole, so the refusal went
    unrecorded. It is refused in the inner tunnel and recorded under its length."""
    for name in ("a" * 254, "张" * 200):  # 254 bytes; 600 bytes of UTF-8
        accepted, _output = front.tunnelled("PEAP", name, "Some-Pass-123", ANONYMOUS)
        assert not accepted
    with front.store.session() as session:
        found = [(r.identity, r.result) for r in records.search(session)]
    assert found == [("(an identity of 254 bytes)", "unknown person"),
                     ("(an identity of 600 bytes)", "unknown person")]
