"""The district certificate authority, as pure functions over keys and certificates.

Nothing here touches the store, the clock or the disk: callers pass ``now`` and get PEM
or PKCS#12 bytes back. Keys are ECDSA P-256 (fast handshakes; every current supplicant
and FreeRADIUS's OpenSSL take them). ``admission.authority`` keeps the results, sealed.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from citynet.catalogs import N_, Message
from citynet.errors import CitynetError

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=825)  # what browsers and Apple devices accept at most
CLIENT_LIFETIME = timedelta(days=365)
# certificates start a little in the past: a supplicant whose clock is a few minutes
# behind would otherwise see a certificate that is "not yet valid"
BACKDATE = timedelta(minutes=10)
# a CRL that has passed its nextUpdate fails every EAP-TLS login (FreeRADIUS/OpenSSL), so
# it is reissued well before: `citynet nac crl` daily is enough
CRL_LIFETIME = timedelta(days=7)
# RFC 5280 upper bound for a common name, and for labels kept beside it
NAME_LIMIT = 64
UNAMBIGUOUS_LETTERS = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/l/I


class CertificateNameError(CitynetError):
    """A name that cannot go into a certificate."""


# the names checked_name checks, as its messages say them
NAME_KINDS = {"device": N_("device"), "username": N_("username"), "district": N_("district"),
              "server name": N_("server name")}


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CitynetError("the key is not an EC key this CA made")
        return key


# what supplicants match the server certificate against (wpa_supplicant's domain_match,
# Windows' and Android's "domain"): a DNS name, RFC 1123 labels, no trailing dot
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def checked_name(value: str, what: str) -> str:
    """A name fit for a certificate: NFC, 1..64 characters, no control characters."""
    value = unicodedata.normalize("NFC", value.strip())
    said = Message(NAME_KINDS.get(what, what))
    if not value:
        raise CertificateNameError(N_("%(what)s: empty"), what=said)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
        raise CertificateNameError(N_("%(what)s: has control or unassigned characters"),
                                   what=said)
    if len(value) > NAME_LIMIT:
        raise CertificateNameError(N_("%(what)s: longer than %(limit)s characters"),
                                   what=said, limit=NAME_LIMIT)
    return value


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_authority(district: str, now: datetime) -> KeyPair:
    """A self-signed CA for the district that signs certificates and CRLs, nothing else."""
    key = _new_key()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, checked_name(district, "district")),
        x509.NameAttribute(NameOID.COMMON_NAME, "citynet network admission CA")])
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _leaf(ca: KeyPair, subject: x509.Name, now: datetime, lifetime: timedelta,
          usage: x509.ObjectIdentifier,
          alt_names: list[x509.GeneralName]) -> tuple[KeyPair, int]:
    key = _new_key()
    ca_cert, serial = ca.cert, x509.random_serial_number()
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(serial).not_valid_before(now - BACKDATE)
               .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)), serial


def server_certificate(ca: KeyPair, host: str, now: datetime) -> KeyPair:
    """FreeRADIUS's certificate: supplicants check its name (``host``, a DNS name: CN and
    subjectAltName) and this CA."""
    host = checked_name(host, "server name")
    if not HOST_NAME.fullmatch(host):
        raise CertificateNameError(
            N_("%(what)s: not a host name (letters, digits and - in labels between dots; "
               "an internationalised name in its xn-- form)"),
            what=Message(NAME_KINDS["server name"]))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    pair, _serial = _leaf(ca, subject, now, SERVER_LIFETIME, ExtendedKeyUsageOID.SERVER_AUTH,
                          [x509.DNSName(host)])
    return pair


def client_certificate(ca: KeyPair, username: str, device: str,
                       now: datetime) -> tuple[KeyPair, int]:
    """A person's certificate for one device: CN is the username (FreeRADIUS matches it
    to the EAP identity), OU the device label. Returns the pair and its serial."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, checked_name(username, "username")),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, checked_name(device, "device"))])
    return _leaf(ca, subject, now, CLIENT_LIFETIME, ExtendedKeyUsageOID.CLIENT_AUTH, [])


def one_time_password() -> str:
    """A password for one .p12 download: 16 characters that read unambiguously (~90 bits)."""
    return "".join(secrets.choice(UNAMBIGUOUS_LETTERS) for _ in range(16))


def pkcs12_bundle(pair: KeyPair, ca: KeyPair, label: str, password: str) -> bytes:
    """The key, certificate and CA certificate as .p12, encrypted with ``password``
    (PBES2/AES-256 + PBKDF2, what current Windows, macOS, Android and OpenSSL read)."""
    cert, key = pair.cert, pair.key
    return pkcs12.serialize_key_and_certificates(
        label.encode(), key, cert, [ca.cert],
        serialization.BestAvailableEncryption(password.encode()))


def revocation_list(ca: KeyPair, revoked: list[tuple[int, datetime]], number: int,
                    this_update: datetime) -> bytes:
    """A CRL (PEM) listing ``revoked`` (serial, when), numbered ``number``."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(this_update).next_update(this_update + CRL_LIFETIME)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    for serial, at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
            .build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def next_crl_time(now: datetime, previous: datetime | None) -> datetime:
    """thisUpdate of the next CRL: a minute in the past (clock skew), and always after
    the previous one's, so OpenSSL holding both takes the new one."""
    candidate = (now - timedelta(minutes=1)).replace(microsecond=0)
    if previous is not None and candidate <= previous:
        return previous + timedelta(seconds=1)
    return candidate
