"""The CA over the store: keys sealed, certificates only for active people, revocation by
serial or person, numbered CRLs, every issue and revoke audited without secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select

from admission import authority, people
from admission.models import Authority
from citynet import audit
from citynet.crypto import SecretBox, reseal_all
from citynet.db import Store
from citynet.errors import SecretsError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def key() -> bytes:
    return SecretBox.new_key()


@pytest.fixture
def box(key: bytes) -> SecretBox:
    return SecretBox([key])


@pytest.fixture
def ready(store: Store, box: SecretBox) -> Store:
    rows, problems = people.read_csv("username,real_name,role,status\n"
                                     "t1,王芳,teacher,active\ns9,李雷,student,disabled\n",
                                     "hr.csv")
    assert problems == []
    with store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", "radius.example.org", NOW)
        session.commit()
    return store


def test_keys_are_sealed_and_open_only_with_this_installation(ready: Store,
                                                              box: SecretBox) -> None:
    with ready.session() as session:
        row = session.scalars(select(Authority)).one()
        assert "PRIVATE KEY" not in row.ca_key_sealed + row.server_key_sealed
        ca_pair, server = authority.authority_keys(session, box)
        assert server.cert.issuer == ca_pair.cert.subject
        with pytest.raises(SecretsError, match="the CA key does not open"):
            authority.authority_keys(session, SecretBox([SecretBox.new_key()]))
        with pytest.raises(authority.AdmissionError, match="exists already"):
            authority.init(session, box, "示范区", "radius.example.org", NOW)


def test_issue_for_active_people_only_and_audit_without_password(ready: Store,
                                                                 box: SecretBox) -> None:
    with ready.session() as session:
        issued = authority.issue(session, box, "t1", "laptop", NOW)
        with pytest.raises(authority.AdmissionError, match="'s9' is disabled"):
            authority.issue(session, box, "s9", "phone", NOW)
        with pytest.raises(authority.AdmissionError, match="no person 'nobody'"):
            authority.issue(session, box, "nobody", "phone", NOW)
        session.commit()
    _key, cert, _ = pkcs12.load_key_and_certificates(issued.p12, issued.password.encode())
    assert cert is not None and format(cert.serial_number, "x") == issued.serial
    with ready.session() as session:
        entries = audit.recent(session, "admission.")
        assert (entries[0].action, entries[0].target, entries[0].detail) == (
            "admission.cert.issue", "t1/laptop", {"serial": issued.serial})
        assert all(issued.password not in str(e.detail) for e in entries)


def test_revoke_by_serial_or_person_and_crl_lists_it(ready: Store, box: SecretBox) -> None:
    with ready.session() as session:
        one = authority.issue(session, box, "t1", "laptop", NOW)
        two = authority.issue(session, box, "t1", "phone", NOW)
        number, empty = authority.publish_crl(session, box, NOW)
        assert number == 1
        assert list(x509.load_pem_x509_crl(empty)) == []
        assert [c.serial for c in authority.revoke(session, one.serial.upper(), NOW)] == [
            one.serial]
        assert authority.revoke(session, one.serial, NOW) == []  # already
        assert [c.serial for c in authority.revoke(session, "t1", NOW)] == [two.serial]
        with pytest.raises(authority.AdmissionError, match="no certificate with serial"):
            authority.revoke(session, "nobody", NOW)
        number, pem = authority.publish_crl(session, box, NOW)
        session.commit()
    crl = x509.load_pem_x509_crl(pem)
    assert number == 2
    assert sorted(format(r.serial_number, "x") for r in crl) == sorted([one.serial,
                                                                       two.serial])
    assert crl.last_update_utc == NOW - timedelta(minutes=1) + timedelta(seconds=1)


def test_rotating_the_secrets_key_reseals_the_ca_keys(ready: Store, key: bytes) -> None:
    new_key = SecretBox.new_key()
    with ready.session() as session:
        assert reseal_all(session, SecretBox([new_key, key])) >= 2
        session.commit()
    with ready.session() as session:
        ca_pair, server = authority.authority_keys(session, SecretBox([new_key]))
        assert ca_pair.cert.subject == server.cert.issuer
        with pytest.raises(SecretsError):
            authority.authority_keys(session, SecretBox([key]))


def test_renewal_issues_a_successor_and_lists_what_expires(ready: Store,
                                                           box: SecretBox) -> None:
    with ready.session() as session:
        old = authority.issue(session, box, "t1", "laptop", NOW)
        later = NOW + timedelta(days=340)
        assert [c.serial for c in authority.expiring(session, later, timedelta(days=30))] == [
            old.serial]
        assert authority.expiring(session, NOW, timedelta(days=30)) == []
        new = authority.renew(session, box, old.serial, later)
        assert (new.username, new.device) == ("t1", "laptop") and new.serial != old.serial
        assert new.not_after == later + timedelta(days=365)
        assert [c.serial for c in authority.expiring(session, later, timedelta(days=30))] == [
            old.serial]  # the old one runs out on its own
        authority.revoke(session, old.serial, later)
        with pytest.raises(authority.AdmissionError, match="is revoked"):
            authority.renew(session, box, old.serial, later)
        session.commit()
    with ready.session() as session:
        assert audit.recent(session, "admission.cert.renew")[0].detail == {
            "old": old.serial, "new": new.serial}
