"""Use cases of the district CA over the store: set it up, issue and revoke client
certificates, publish CRLs. Keys are sealed with the installation's secret box; every
issue and revoke goes to the audit log (serials and names, never a key or password).
The caller owns the transaction and the clock (``now``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from admission import ca, people
from admission.choices import PersonStatus
from admission.models import Authority, Certificate, Person
from citynet import audit
from citynet.catalogs import N_, Message
from citynet.crypto import SecretBox
from citynet.db import DriverStatement
from citynet.errors import CitynetError, SecretsError

SERIAL = re.compile(r"[0-9a-f]{1,40}")
HEX = re.compile(r"[0-9a-f]+")


class AdmissionError(CitynetError):
    """A CA request that cannot be done as asked."""


@dataclass(frozen=True)
class Issued:
    serial: str
    username: str
    device: str
    not_after: datetime
    p12: bytes
    password: str  # shown once, stored nowhere


def serial_text(serial: int) -> str:
    return format(serial, "x")


def _serial_asked(text: str) -> str | None:
    """A serial as given (``0x``, upper case, colons, leading zeros as OpenSSL and
    FreeRADIUS print it) as the store keeps it; None if it is none."""
    wanted = text.strip().lower().removeprefix("0x").replace(":", "")
    if not HEX.fullmatch(wanted):
        return None
    kept = serial_text(int(wanted, 16))
    return kept if SERIAL.fullmatch(kept) else None


def _current(session: Session) -> Authority:
    found: Authority | None = session.scalar(select(Authority))
    if found is None:
        raise AdmissionError(N_("no certificate authority yet: run `citynet nac ca init`"))
    return found


def _open(box: SecretBox, token: str, what: Message) -> bytes:
    try:
        return box.open(token).encode()
    except SecretsError:
        raise SecretsError(N_("the %(what)s does not open with this installation's secrets "
                              "key (sealed by another installation, or the key file was "
                              "replaced)"), what=what) from None


def authority_keys(session: Session, box: SecretBox) -> tuple[ca.KeyPair, ca.KeyPair]:
    """The CA and the FreeRADIUS server certificate, with their keys opened."""
    row = _current(session)
    return (ca.KeyPair(row.ca_cert_pem.encode(),
                       _open(box, row.ca_key_sealed, Message(N_("CA key")))),
            ca.KeyPair(row.server_cert_pem.encode(),
                       _open(box, row.server_key_sealed, Message(N_("server key")))))


def init(session: Session, box: SecretBox, district: str, server_name: str,
         now: datetime) -> Authority:
    """Make the district CA and FreeRADIUS's certificate; refused if there is a CA."""
    if session.scalar(select(Authority)) is not None:
        raise AdmissionError(N_("the certificate authority exists already; a second one "
                                "would orphan every certificate it issued"))
    authority = ca.new_authority(district, now)
    server = ca.server_certificate(authority, server_name, now)
    row = Authority(ca_cert_pem=authority.cert_pem.decode(),
                    ca_key_sealed=box.seal(authority.key_pem.decode()),
                    server_cert_pem=server.cert_pem.decode(),
                    server_key_sealed=box.seal(server.key_pem.decode()),
                    created_at=now, crl_number=0)
    session.add(row)
    session.flush()
    audit.record(session, audit.Action(
        "admission.ca.init", server_name, "ok",
        detail={"ca_serial": serial_text(authority.cert.serial_number),
                "server_serial": serial_text(server.cert.serial_number)}))
    return row


@dataclass(frozen=True)
class Who:
    """Who asks, for the audit log: a staff member and their address on the web."""

    actor: str = ""
    source: str = "cli"


CLI = Who()


class DeviceLimitError(AdmissionError):
    """The person holds certificates for as many devices as their role allows."""


def live_devices(person: Person, now: datetime) -> set[str]:
    """The device labels the person holds a valid (unrevoked, unexpired) certificate for."""
    return {cert.device for cert in person.certificates
            if cert.revoked_at is None and cert.not_after > now}


def issue(session: Session, box: SecretBox, username: str, device: str,
          now: datetime, who: Who = CLI, device_limit: int = 0) -> Issued:
    """A client certificate for an active person's device, as .p12 with a new password.
    With ``device_limit`` (the role's ``devices``, 0: none) a new device beyond it is
    refused; another certificate for a device they hold one for is not a new device."""
    person = people.find(session, username)
    if person is None:
        raise AdmissionError(N_("no person %(name)s: import them first"),
                             name=repr(username))
    if person.status is not PersonStatus.ACTIVE:
        raise AdmissionError(N_("%(name)s is disabled: no certificate is issued"),
                             name=repr(username))
    held = live_devices(person, now)
    if device_limit and ca.checked_name(device, "device") not in held \
            and len(held) >= device_limit:
        raise DeviceLimitError(N_("%(name)s holds certificates for %(held)s devices, the "
                                  "most their role allows (%(limit)s): revoke one first"),
                               name=repr(username), held=len(held), limit=device_limit)
    authority, _server = authority_keys(session, box)
    pair, serial = ca.client_certificate(authority, person.username, device, now)
    password = ca.one_time_password()
    bundle = ca.pkcs12_bundle(pair, authority, f"{person.username} {device}", password)
    cert = pair.cert
    row = Certificate(serial=serial_text(serial), person=person,
                      device=ca.checked_name(device, "device"),
                      not_before=cert.not_valid_before_utc,
                      not_after=cert.not_valid_after_utc)
    session.add(row)
    session.flush()
    audit.record(session, audit.Action("admission.cert.issue", f"{username}/{row.device}",
                                       "ok", detail={"serial": row.serial},
                                       actor=who.actor, source=who.source))
    return Issued(row.serial, person.username, row.device, row.not_after, bundle, password)


def revoke(session: Session, which: str, now: datetime, who: Who = CLI,
           reason: str = "") -> list[Certificate]:
    """Revoke one certificate by serial, or every live one of a person by username; the
    newly revoked ones (none if all were revoked already)."""
    wanted = _serial_asked(which)
    found: list[Certificate] = []
    if wanted is not None:
        found = list(session.scalars(select(Certificate).where(Certificate.serial == wanted)))
    if not found:
        person = people.find(session, which.strip())
        if person is None:
            raise AdmissionError(N_("no certificate with serial %(which)s and no person of "
                                    "that name"), which=repr(which))
        found = list(person.certificates)
    newly = [cert for cert in found if cert.revoked_at is None]
    for cert in newly:
        cert.revoked_at = now
        audit.record(session, audit.Action(
            "admission.cert.revoke", f"{cert.person.username}/{cert.device}", "ok",
            reason=reason, detail={"serial": cert.serial}, actor=who.actor,
            source=who.source))
    session.flush()
    return newly


@dataclass(frozen=True)
class Holder:
    """Whose a client certificate is, and whether it still counts."""

    username: str
    revoked: bool


def holder(session: Session, serial: str) -> Holder | None:
    """The holder of certificate ``serial`` (hex, as FreeRADIUS's TLS-Client-Cert-Serial
    writes it: maybe with a leading 00 byte); None when it is not one citynet issued."""
    try:
        number = int(serial, 16)
    except ValueError:
        return None
    row = _HOLDER.first(session, {"serial": serial_text(number)})
    return None if row is None else Holder(row[0], row[1] is not None)


# read at every EAP-TLS login: built once, run on the driver (~10 µs, not ~120 µs)
_HOLDER = DriverStatement(
    select(Person.username, Certificate.revoked_at)
    .join(Person, Person.id == Certificate.person_id)
    .where(Certificate.serial == bindparam("serial")))


def certificates(session: Session) -> list[Certificate]:
    return list(session.scalars(select(Certificate).order_by(Certificate.id)))


def publish_crl(session: Session, box: SecretBox, now: datetime) -> tuple[int, bytes]:
    """The next CRL (its number and PEM): every revoked certificate not yet expired."""
    row = _current(session)
    authority, _server = authority_keys(session, box)
    revoked = [(int(cert.serial, 16), cert.revoked_at) for cert in session.scalars(
        select(Certificate).where(Certificate.revoked_at.is_not(None),
                                  Certificate.not_after > now).order_by(Certificate.id))
        if cert.revoked_at is not None]
    this_update = ca.next_crl_time(now, row.crl_issued_at)
    row.crl_number += 1
    row.crl_issued_at = this_update
    pem = ca.revocation_list(authority, revoked, row.crl_number, this_update)
    session.flush()
    return row.crl_number, pem


def disable_person(session: Session, username: str, reason: str,
                   now: datetime, who: Who = CLI) -> tuple[bool, list[Certificate]]:
    """Disable a person and revoke every live certificate of theirs: with EAP-TLS the
    CRL is what rejects their next login. (Changed or not, newly revoked.)"""
    changed = _status_changed(session, username, people.disable(session, username),
                              "admission.person.disable", reason, who)
    return changed, revoke(session, username, now, who, reason)


def disabled_elsewhere(session: Session, username: str, reason: str, now: datetime,
                       who: Who = CLI) -> list[Certificate]:
    """For a person something else has just disabled (an import's row): audited as
    :func:`disable_person` audits it, and every live certificate revoked (newly revoked)."""
    _status_changed(session, username, True, "admission.person.disable", reason, who)
    return revoke(session, username, now, who, reason)


def enabled_elsewhere(session: Session, username: str, reason: str, who: Who = CLI) -> None:
    """For a person something else has just made active again (an import's row): audited
    as :func:`enable_person` audits it."""
    _status_changed(session, username, True, "admission.person.enable", reason, who)


def enable_person(session: Session, username: str, reason: str, who: Who = CLI) -> bool:
    """Enable a disabled person again (True), or say they were active (False); their
    revoked certificates stay revoked."""
    return _status_changed(session, username, people.enable(session, username),
                           "admission.person.enable", reason, who)


def _status_changed(session: Session, username: str, changed: bool | None, action: str,
                    reason: str, who: Who) -> bool:
    """A status change's outcome: refused for a person unknown, audited if it changed."""
    if changed is None:
        raise AdmissionError(N_("no person %(name)s"), name=repr(username))
    if changed:
        audit.record(session, audit.Action(action, username, "ok", reason=reason,
                                           actor=who.actor, source=who.source))
    return changed


def renew(session: Session, box: SecretBox, serial: str, now: datetime) -> Issued:
    """A new certificate for the same person and device; the old one stays valid until
    it expires, so the device can switch over (revoke it then if wanted)."""
    wanted = _serial_asked(serial)
    old = None if wanted is None else session.scalar(
        select(Certificate).where(Certificate.serial == wanted))
    if old is None:
        raise AdmissionError(N_("no certificate with serial %(serial)s"),
                             serial=repr(serial))
    if old.revoked_at is not None:
        raise AdmissionError(N_("%(serial)s is revoked: issue a new certificate instead"),
                             serial=old.serial)
    issued = issue(session, box, old.person.username, old.device, now)
    audit.record(session, audit.Action("admission.cert.renew",
                                       f"{old.person.username}/{old.device}", "ok",
                                       detail={"old": old.serial, "new": issued.serial}))
    return issued


def expiring(session: Session, now: datetime, within: timedelta) -> list[Certificate]:
    """Live certificates that expire before ``now + within`` (renew them)."""
    return list(session.scalars(
        select(Certificate).where(Certificate.revoked_at.is_(None),
                                  Certificate.not_after > now,
                                  Certificate.not_after <= now + within)
        .order_by(Certificate.not_after)))
