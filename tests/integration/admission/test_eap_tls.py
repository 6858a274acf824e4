"""EAP-TLS with citynet's CA through the real FreeRADIUS 3.2, Debian's eapol_test as the
supplicant: the issued .p12 is accepted; another person's certificate, another CA's and
a revoked one (after a new CRL lands in the trust directory) are rejected."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admission import authority, ca, eap
from citynet.crypto import SecretBox
from citynet.db import Store
from radius.freeradius import base_conf
from tests.lab.freeradius import SERVER_NAME as SERVER_NAME  # test_eapol_wired's
from tests.lab.freeradius import (
    config_dir,
    district_ca,
    eapol_test,
    radiusd,
    tls_network,
)
from tests.support import free_port, wait_until

SECRET = "eapol-test-secret"


@dataclass
class Setup:
    store: Store
    box: SecretBox
    port: int
    tls: Path
    trust: Path

    def issue(self, username: str, device: str = "laptop") -> tuple[Path, str, str]:
        with self.store.session() as session:
            issued = authority.issue(session, self.box, username, device, datetime.now(UTC))
            session.commit()
        path = self.tls / f"{username}-{issued.serial}.p12"
        path.write_bytes(issued.p12)
        return path, issued.password, issued.serial

    def publish_crl(self) -> None:
        with self.store.session() as session:
            number, pem = authority.publish_crl(session, self.box, datetime.now(UTC))
            ca_pair, _server = authority.authority_keys(session, self.box)
            session.commit()
        eap.publish(self.trust, ca_pair.cert_pem, number, pem)

    def authenticate(self, identity: str, p12: Path, password: str) -> bool:
        return eapol_test(tls_network(identity, self.tls / "ca.pem", p12, password),
                          self.port, SECRET, self.tls / f"eapol-{identity}")[0]


def radiusd_conf(directory: Path, eap_dir: Path, port: int) -> str:
    return f"""{base_conf(directory)}
client localhost {{
    ipaddr = 127.0.0.1
    secret = "{SECRET}"
    require_message_authenticator = yes
}}

modules {{
    always reject {{
        rcode = reject
    }}
$INCLUDE {eap_dir}/eap
}}

server default {{
    listen {{
        type = auth
        ipaddr = 127.0.0.1
        port = {port}
    }}
    authorize {{
        # ok: an EAP-Identity; updated: the conversation goes on (Auth-Type := eap)
        eap {{
            ok = return
            updated = return
        }}
        reject
    }}
    authenticate {{
        eap
    }}
}}
"""


@pytest.fixture
def setup(sqlite_store: Store, tmp_path: Path) -> Iterator[Setup]:
    box = SecretBox([SecretBox.new_key()])
    tls, conf = tmp_path / "tls", tmp_path / "freeradius"
    ca = district_ca(sqlite_store, box, "username,real_name,role\nt001,王芳,teacher\n"
                     "a042,张伟,staff\n", tls)
    config_dir(conf)
    port = free_port(socket.SOCK_DGRAM)
    (conf / "radiusd.conf").write_text(radiusd_conf(conf, ca.eap_dir, port))
    with radiusd(conf, port, SECRET):
        yield Setup(sqlite_store, box, port, tls, ca.trust_dir)


@pytest.mark.slow
def test_issued_certificate_is_accepted_until_revoked(setup: Setup) -> None:
    p12, password, serial = setup.issue("t001")
    assert setup.authenticate("t001", p12, password)
    # the certificate is t001's: another identity with it is refused (check_cert_cn)
    assert not setup.authenticate("a042", p12, password)
    # a certificate from another CA with the right name is refused
    stranger = ca.new_authority("elsewhere", datetime.now(UTC))
    pair, _serial = ca.client_certificate(stranger, "t001", "laptop", datetime.now(UTC))
    foreign = setup.tls / "foreign.p12"
    foreign.write_bytes(ca.pkcs12_bundle(pair, stranger, "t001", "pw-foreign-1"))
    assert not setup.authenticate("t001", foreign, "pw-foreign-1")

    with setup.store.session() as session:
        assert [c.serial for c in authority.revoke(session, serial, datetime.now(UTC))] == [
            serial]
        session.commit()
    revoked_at = time.monotonic()
    setup.publish_crl()
    # the issue's bound (FreeRADIUS rereads the whole trust directory only every 300 s)
    wait_until(lambda: not setup.authenticate("t001", p12, password),
               "the revocation to take effect", timeout=60)
    print(f"revocation effective after {time.monotonic() - revoked_at:.1f} s")
    # another certificate of the same person still works
    other, other_password, _ = setup.issue("t001", "phone")
    assert setup.authenticate("t001", other, other_password)


@pytest.mark.slow
def test_a_disabled_person_is_rejected_at_the_next_login(setup: Setup) -> None:
    laptop, laptop_password, _ = setup.issue("a042", "laptop")
    phone, phone_password, _ = setup.issue("a042", "phone")
    assert setup.authenticate("a042", laptop, laptop_password)
    with setup.store.session() as session:
        changed, revoked = authority.disable_person(session, "a042", "left", datetime.now(UTC))
        session.commit()
    assert changed and len(revoked) == 2
    setup.publish_crl()
    assert not setup.authenticate("a042", laptop, laptop_password)
    assert not setup.authenticate("a042", phone, phone_password)


@pytest.mark.slow
def test_expired_and_not_yet_valid_certificates_are_rejected(setup: Setup) -> None:
    with setup.store.session() as session:
        authority_pair, _server = authority.authority_keys(session, setup.box)
    now = datetime.now(UTC)
    for label, issued_at in (("expired", now - ca.CLIENT_LIFETIME - timedelta(days=1)),
                             ("future", now + timedelta(days=1))):
        pair, _serial = ca.client_certificate(authority_pair, "t001", label, issued_at)
        path = setup.tls / f"{label}.p12"
        path.write_bytes(ca.pkcs12_bundle(pair, authority_pair, label, "pw-" + label))
        assert not setup.authenticate("t001", path, "pw-" + label), label
    # within the ten minutes' backdating a supplicant's slow clock does not matter
    pair, _serial = ca.client_certificate(authority_pair, "t001", "skew",
                                          now + timedelta(minutes=5))
    path = setup.tls / "skew.p12"
    path.write_bytes(ca.pkcs12_bundle(pair, authority_pair, "skew", "pw-skew-1"))
    assert setup.authenticate("t001", path, "pw-skew-1")
