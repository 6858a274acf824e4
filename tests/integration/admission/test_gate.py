"""Admission's gate inside RADIUS's policy, over a real store: who claims which login."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from admission import authority, mab, people
from admission.gate import AdmissionGate
from admission.models import UnknownMac
from admission.settings import NacConfig
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.gates import GateRequest
from radius.decisions import LoginAttempt
from radius.policy import Policy

ZONE = ZoneInfo("Asia/Shanghai")
ROLES: dict[str, object] = {"roles": {"staff": {"vlan": "10"}},
                            "mab_profiles": {"printer": {"vlan": "50"}}}


def decide(store: Store, config: dict[str, object], attempt: LoginAttempt,
           nas: str = "sw-1") -> tuple[bool, str, str, dict[str, object]]:
    policy = Policy(store, None, ZONE, gates=[AdmissionGate(NacConfig.model_validate(config))])
    with store.session() as session:
        decision = policy.decide_in(session, attempt, nas)
        session.commit()
    return decision.accept, decision.method, decision.reason, decision.attributes


def eap(user: str) -> LoginAttempt:
    return LoginAttempt(user, calling_station="00-1b-a9-00-00-01", authenticated="eap",
                        nas_port_id="Gi0/0/1")


def bypass(mac: str) -> LoginAttempt:
    bare = mac.replace(":", "")
    return LoginAttempt(bare, password=bare, calling_station=mac, service_type="Call-Check",
                        nas_port_id="Gi0/0/2")


def test_eap_logins_are_admission_s_once_a_role_has_a_policy(sqlite_store: Store) -> None:
    rows, _ = people.read_csv("username,real_name,role\na042,张伟,staff\n", "hr.csv")
    with sqlite_store.session() as session:
        people.apply(session, rows)
        session.commit()
    accept, method, _reason, attributes = decide(sqlite_store, ROLES, eap("a042"))
    assert accept and method == "eap" and attributes["Tunnel-Private-Group-Id"] == "10"
    assert decide(sqlite_store, ROLES, eap("nobody"))[:3] == (False, "eap", "unknown person")
    # no role configured: the site's own EAP users, recorded as FreeRADIUS decided them
    assert decide(sqlite_store, {}, eap("nobody")) == (True, "fr:eap", "", {})


def test_an_eap_tls_login_with_a_revoked_certificate_is_rejected(sqlite_store: Store) -> None:
    rows, _ = people.read_csv("username,real_name,role\na042,张伟,staff\n", "hr.csv")
    box, now = SecretBox([SecretBox.new_key()]), datetime.now(UTC)
    with sqlite_store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", "radius.example", now)
        laptop = authority.issue(session, box, "a042", "laptop", now).serial
        phone = authority.issue(session, box, "a042", "phone", now).serial
        session.commit()

    def with_certificate(serial: str) -> LoginAttempt:
        return replace(eap("a042"), client_certificate=serial)

    assert decide(sqlite_store, ROLES, with_certificate(laptop))[0]
    with sqlite_store.session() as session:
        authority.revoke(session, laptop, now)
        session.commit()
    # no CRL published: the gate alone refuses it, in FreeRADIUS's form of the serial too
    # (upper case, the DER integer's leading zero byte)
    for written in (laptop, "00" + laptop.upper()):
        assert decide(sqlite_store, ROLES, with_certificate(written))[:3] == (
            False, "eap", "certificate revoked")
    assert decide(sqlite_store, ROLES, with_certificate(phone))[0]  # the other device
    assert decide(sqlite_store, ROLES, eap("a042"))[0]  # PEAP/TTLS: no certificate


def a042_s_laptop(store: Store) -> str:
    """Two staff, a042 and b7, and the serial of a certificate issued to a042."""
    rows, _ = people.read_csv("username,real_name,role\na042,张伟,staff\nb7,李娜,staff\n",
                              "hr.csv")
    box, now = SecretBox([SecretBox.new_key()]), datetime.now(UTC)
    with store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", "radius.example", now)
        serial = authority.issue(session, box, "a042", "laptop", now).serial
        session.commit()
    return serial


def test_an_eap_tls_login_is_its_certificate_s_holder_s(sqlite_store: Store) -> None:
    """Identity privacy: an anonymous outer identity is the holder's login (and the
    Access-Accept names them for the NAS's accounting); another person's name, or a
    certificate citynet never issued, is refused."""
    laptop = a042_s_laptop(sqlite_store)

    def login(identity: str, serial: str = laptop) -> tuple[bool, str, dict[str, object]]:
        attempt = replace(eap(identity), client_certificate=serial)
        policy = Policy(sqlite_store, None, ZONE,
                        gates=[AdmissionGate(NacConfig.model_validate(ROLES))])
        with sqlite_store.session() as session:
            decision = policy.decide_in(session, attempt, "sw-1")
            session.commit()
        assert decision.method == "eap"
        return decision.accept, decision.reason, {**decision.attributes,
                                                  "identity": decision.identity}

    accept, _, attributes = login("anonymous@district")
    assert accept and attributes["Tunnel-Private-Group-Id"] == "10"
    assert attributes["User-Name"] == attributes["identity"] == "a042"
    assert attributes["Class"] == b"citynet:eap:a042"
    accept, _, attributes = login("a042")  # the holder's own name: nothing to rename
    assert accept and "User-Name" not in attributes
    assert login("b7")[:2] == (False, "identity does not match certificate")
    assert login("b7")[2]["identity"] == "a042"  # recorded under the key's holder
    assert login("a042", "7f" * 16)[:2] == (False, "certificate not issued here")
    assert login("a042", "not hex")[:2] == (False, "certificate not issued here")
    with sqlite_store.session() as session:
        authority.revoke(session, laptop, datetime.now(UTC))
        session.commit()
    assert login("anonymous@district")[:2] == (False, "certificate revoked")


def test_an_eap_tls_certificate_is_checked_where_no_role_has_a_policy(
        sqlite_store: Store) -> None:
    """No roles: the site's own EAP (no VLAN from citynet), but FreeRADIUS behind citynet
    checks neither the certificate's name nor a CRL: whose it is and whether it still
    counts are citynet's to say all the same."""
    laptop = a042_s_laptop(sqlite_store)

    def login(identity: str, serial: str = laptop) -> tuple[bool, str, str, object]:
        accept, method, reason, attributes = decide(
            sqlite_store, {}, replace(eap(identity), client_certificate=serial))
        return accept, method, reason, attributes.get("User-Name")

    assert login("anonymous@district") == (True, "eap", "", "a042")
    assert login("a042") == (True, "eap", "", None)
    assert login("b7")[:3] == (False, "eap", "identity does not match certificate")
    assert login("a042", "7f" * 16)[:3] == (False, "eap", "certificate not issued here")
    with sqlite_store.session() as session:
        authority.revoke(session, laptop, datetime.now(UTC))
        session.commit()
    assert login("a042")[:3] == (False, "eap", "certificate revoked")
    # PEAP and TTLS (no certificate) stay the site's own
    assert decide(sqlite_store, {}, eap("b7")) == (True, "fr:eap", "", {})


def test_devices_online_are_counted_only_under_a_roles_limit(sqlite_store: Store) -> None:
    rows, _ = people.read_csv("username,real_name,role\na042,张伟,staff\nt001,王芳,teacher\n",
                              "hr.csv")
    with sqlite_store.session() as session:
        people.apply(session, rows)
        session.commit()
    gate = AdmissionGate(NacConfig.model_validate(
        {"roles": {"staff": {"vlan": "10"}, "teacher": {"vlan": "20", "devices": 2}}}))
    counted: list[str] = []

    def login(user: str, online: int) -> tuple[bool, str]:
        def count(identity: str) -> int:
            counted.append(identity)
            return online

        request = GateRequest(user=user, mac="00:1b:a9:00:00:01", nas="sw-1",
                              vendor="cisco", eap=True, bypass=False, online=count)
        with sqlite_store.session() as session:
            answer = gate.admit(session, request)
        assert answer is not None
        return answer.accept, answer.reason

    # no limit for staff: the live sessions are not read at all
    assert login("a042", 5) == (True, "")
    assert counted == []
    # teachers: two at once, counted at every login
    assert login("t001", 1) == (True, "")
    assert login("t001", 2) == (False, "too many devices online")
    assert counted == ["t001", "t001"]


def test_an_unlisted_mac_is_noted_and_left_to_radius(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        mab.add(session, NacConfig.model_validate(ROLES), "00:1b:a9:00:00:05", "printer",
                datetime.now(UTC))
        session.commit()
    accept, method, _, attributes = decide(sqlite_store, ROLES, bypass("00:1b:a9:00:00:05"))
    assert accept and method == "mab" and attributes["Tunnel-Private-Group-Id"] == "50"
    # unlisted: RADIUS's own MAC login (a remembered phone) decides, and knows none
    assert decide(sqlite_store, ROLES, bypass("00:1b:a9:00:00:06"))[:3] == (
        False, "mac", "device not remembered")
    # a site with a remediation VLAN takes it there
    site: dict[str, object] = {**ROLES, "site_remediation_vlan": {"sw-1": "999"}}
    accept, method, reason, attributes = decide(sqlite_store, site,
                                                bypass("00:1b:a9:00:00:06"))
    assert (accept, method, reason) == (True, "mab", "remediation: MAC not on the bypass list")
    assert attributes["Tunnel-Private-Group-Id"] == "999"
    with sqlite_store.session() as session:
        [seen] = session.scalars(select(UnknownMac)).all()
        assert (seen.mac, seen.port, seen.count) == ("00:1b:a9:00:00:06", "Gi0/0/2", 2)
