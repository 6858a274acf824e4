"""The district CA: certificates OpenSSL accepts, .p12 only with its password, CRLs that
revoke, names that cannot go into a certificate refused."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from admission import ca

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def authority() -> ca.KeyPair:
    return ca.new_authority("示范区 政务外网", NOW)


def openssl_verify(tmp_path: Path, authority: ca.KeyPair, leaf: ca.KeyPair,
                   purpose: str, crl: bytes | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ca.pem").write_bytes(authority.cert_pem)
    (tmp_path / "leaf.pem").write_bytes(leaf.cert_pem)
    args = ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-purpose", purpose,
            "-attime", str(int((NOW + timedelta(hours=1)).timestamp()))]
    if crl is not None:
        (tmp_path / "crl.pem").write_bytes(crl)
        args += ["-crl_check", "-CRLfile", str(tmp_path / "crl.pem")]
    return subprocess.run([*args, str(tmp_path / "leaf.pem")], capture_output=True,
                          text=True, timeout=30, check=False)


def test_the_ca_signs_certificates_and_crls_only(authority: ca.KeyPair) -> None:
    cert = authority.cert
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == \
        "示范区 政务外网"


def test_server_and_client_certificates_verify_with_openssl(
        authority: ca.KeyPair, tmp_path: Path) -> None:
    server = ca.server_certificate(authority, "radius.district.example", NOW)
    done = openssl_verify(tmp_path, authority, server, "sslserver")
    assert done.returncode == 0, done.stderr
    client, serial = ca.client_certificate(authority, "t001", "laptop", NOW)
    assert client.cert.serial_number == serial
    done = openssl_verify(tmp_path, authority, client, "sslclient")
    assert done.returncode == 0, done.stderr
    # a client certificate is no server certificate
    assert openssl_verify(tmp_path, authority, client, "sslserver").returncode != 0


def test_a_certificate_from_another_ca_does_not_verify(authority: ca.KeyPair,
                                                       tmp_path: Path) -> None:
    other = ca.new_authority("another district", NOW)
    client, _serial = ca.client_certificate(other, "t001", "laptop", NOW)
    assert openssl_verify(tmp_path, authority, client, "sslclient").returncode != 0


def test_client_certificate_names_person_and_device(authority: ca.KeyPair) -> None:
    pair, _serial = ca.client_certificate(authority, "t001", "王芳的笔记本", NOW)
    cert = pair.cert
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "t001"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value \
        == "王芳的笔记本"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    # valid a little before now (clock skew) and for a year, never past the CA
    assert cert.not_valid_before_utc == NOW - ca.BACKDATE
    assert cert.not_valid_after_utc == NOW + ca.CLIENT_LIFETIME


@pytest.mark.parametrize(("device", "reason"), [
    ("", "device: empty"),
    ("a" * 65, "device: longer than 64 characters"),
    ("lap\x00top", "device: has control or unassigned characters"),
    ("lap\u202etop", "device: has control or unassigned characters"),
])
def test_odd_names_are_refused(authority: ca.KeyPair, device: str, reason: str) -> None:
    with pytest.raises(ca.CertificateNameError, match=reason):
        ca.client_certificate(authority, "t001", device, NOW)


@pytest.mark.parametrize("host", ["bad name!", "radius_1.example.org", "雷达.example.org",
                                  "-radius.example.org", "radius..example.org",
                                  "radius.example.org.", "a" * 64 + ".org"])
def test_a_server_name_no_supplicant_can_match_is_refused(authority: ca.KeyPair,
                                                           host: str) -> None:
    """Supplicants check the server certificate's DNS name (wpa_supplicant's
    domain_match): a name that cannot be one would leave every device refusing the server,
    and `ca init` runs once."""
    with pytest.raises(ca.CertificateNameError, match="server name"):
        ca.server_certificate(authority, host, NOW)


@pytest.mark.parametrize("host", ["radius", "radius.district.example", "RADIUS-1.example.org",
                                  "xn--fiq228c.example.org"])
def test_a_host_name_is_the_certificate_s_dns_name(authority: ca.KeyPair, host: str) -> None:
    cert = ca.server_certificate(authority, host, NOW).cert
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [host]


def test_p12_opens_only_with_its_one_time_password(authority: ca.KeyPair) -> None:
    pair, _serial = ca.client_certificate(authority, "t001", "laptop", NOW)
    password = ca.one_time_password()
    assert len(password) == 16 and password != ca.one_time_password()
    blob = ca.pkcs12_bundle(pair, authority, "t001 laptop", password)
    key, cert, extra = pkcs12.load_key_and_certificates(blob, password.encode())
    assert cert == pair.cert and extra == [authority.cert] and key is not None
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_key_and_certificates(blob, b"wrong-password")


def test_a_revoked_certificate_fails_openssl_crl_check(authority: ca.KeyPair,
                                                       tmp_path: Path) -> None:
    kept, _ = ca.client_certificate(authority, "t001", "laptop", NOW)
    gone, gone_serial = ca.client_certificate(authority, "t002", "phone", NOW)
    crl = ca.revocation_list(authority, [(gone_serial, NOW)], 2, NOW)
    parsed = x509.load_pem_x509_crl(crl)
    assert parsed.is_signature_valid(authority.cert.public_key())
    assert parsed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert parsed.next_update_utc == NOW + ca.CRL_LIFETIME
    assert openssl_verify(tmp_path, authority, kept, "sslclient", crl).returncode == 0
    refused = openssl_verify(tmp_path, authority, gone, "sslclient", crl)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


def test_each_crl_is_dated_after_the_previous_one() -> None:
    first = ca.next_crl_time(NOW, None)
    assert first == NOW - timedelta(minutes=1)
    assert ca.next_crl_time(NOW, first) == first + timedelta(seconds=1)
    assert ca.next_crl_time(NOW + timedelta(hours=1), first) == \
        NOW + timedelta(minutes=59)
