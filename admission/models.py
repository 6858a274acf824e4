"""Admission tables: people, the district CA and the certificates it issued.

People are keyed by ``username`` (the HR or school number the CSV carries); real names
repeat, so they are data, not keys. The CA's private keys are sealed (``info=SEALED``), so
``citynet secrets rotate`` re-seals them with everything else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admission.choices import PersonStatus, Role
from citynet.crypto import SEALED
from citynet.db import Base, UtcDateTime


def _enum(kind: type[StrEnum], name: str) -> Any:
    return Enum(kind, name=name, native_enum=False, create_constraint=True, length=16,
                values_callable=lambda members: [m.value for m in members])


class Person(Base):
    """Someone who may be admitted to the network under their real name."""

    __tablename__ = "admission_person"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    real_name: Mapped[str] = mapped_column(String(128))
    department: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "admission_role"))
    status: Mapped[PersonStatus] = mapped_column(_enum(PersonStatus, "admission_status"))
    # the network password (`citynet nac people password`): argon2id for EAP-TTLS/PAP;
    # the NT hash (hex) for PEAP-MSCHAPv2, sealed, and only if the role may use PEAP
    password_hash: Mapped[str | None] = mapped_column(String(256))
    nt_hash_sealed: Mapped[str | None] = mapped_column(Text, info=SEALED)
    # the enrolment page's lockout (admission.enrolment): wrong passwords in a row, and
    # until when the page refuses the person (the staff login's growing delay)
    enrol_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    enrol_locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    certificates: Mapped[list[Certificate]] = relationship(back_populates="person")


class PasswordFailures(Base):
    """Wrong network passwords (PEAP, TTLS) of one person since ``since``, from one device
    (``device``: its MAC, "" when the NAS sent none) or from all of them together
    (``device`` :data:`admission.holds.ANY_DEVICE`): admission.holds."""

    __tablename__ = "admission_password_failures"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(17), primary_key=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer)


class Authority(Base):
    """The district CA and the FreeRADIUS server certificate it signed (one row)."""

    __tablename__ = "admission_authority"
    id: Mapped[int] = mapped_column(primary_key=True)
    ca_cert_pem: Mapped[str] = mapped_column(Text)
    ca_key_sealed: Mapped[str] = mapped_column(Text, info=SEALED)
    server_cert_pem: Mapped[str] = mapped_column(Text)
    server_key_sealed: Mapped[str] = mapped_column(Text, info=SEALED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # the number of the last CRL issued (RFC 5280 cRLNumber grows with every CRL)
    crl_number: Mapped[int] = mapped_column(Integer, default=0)
    # when the last CRL says it was issued: each new one must say later (OpenSSL keeps
    # the newer of two CRLs from one issuer only when their thisUpdate differs)
    crl_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Certificate(Base):
    """A client certificate issued to a person for one device."""

    __tablename__ = "admission_certificate"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # lower-case hex
    person_id: Mapped[int] = mapped_column(
        ForeignKey("admission_person.id", ondelete="RESTRICT"), index=True)
    person: Mapped[Person] = relationship(back_populates="certificates")
    device: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MabEntry(Base):
    """A device without a supplicant admitted by its MAC (MAC authentication bypass)."""

    __tablename__ = "admission_mab"
    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), unique=True)  # aa:bb:cc:dd:ee:ff
    profile: Mapped[str] = mapped_column(String(32))  # a [nac.mab_profiles] name
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnknownMac(Base):
    """A MAC that asked for bypass and is on no list: one row per MAC, switch and port."""

    __tablename__ = "admission_unknown_mac"
    __table_args__ = (UniqueConstraint("mac", "nas", "port"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(17))
    nas: Mapped[str] = mapped_column(String(64))
    port: Mapped[str] = mapped_column(String(64))  # NAS-Port-Id, "" if none
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    count: Mapped[int] = mapped_column(Integer, default=1)
