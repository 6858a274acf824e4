"""Admission's config section ``[nac]``: what each role gets on the network, the MAC
bypass profiles, where a failed login lands (docs/admission.md, "Policy"), and which
roles may use PEAP-MSCHAPv2, and how many wrong passwords hold a guesser.

Roles and profiles are config, not a table: they are few, change with the network's
design (VLAN numbers, ACL names on the switches), and belong beside it under review;
people and MAC entries, which change daily, are tables.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from admission.choices import Role
from admission.holds import Limits
from citynet.config import Section, comma_list

VENDORS = ("huawei", "h3c", "cisco")  # those whose own ACL attribute we send
_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def _vlan(value: str) -> str:
    """A VLAN as switches take it in Tunnel-Private-Group-Id: 1..4094 or a VLAN name."""
    if value.isdigit():
        if not 1 <= int(value) <= 4094:
            raise ValueError(f"VLAN {value} is outside 1..4094")
    elif not _NAME.fullmatch(value):
        raise ValueError(f"VLAN {value!r} is neither a number nor a name of "
                         "A-Z a-z 0-9 _ . - (≤ 32)")
    return value


class RolePolicy(Section):
    vlan: str = Field(description="the VLAN (1..4094, or a VLAN name) the NAS puts them in")
    filter_id: str = Field(default="", max_length=64,
                           description="Filter-Id: the ACL the NAS applies (any vendor)")
    acl: dict[str, str] = Field(
        default={},
        description="vendor ACL attributes by NAS vendor: cisco → Cisco-AVPair "
        "(e.g. ip:inacl#10=deny ip any 10.0.0.0 0.255.255.255), huawei → "
        "Huawei-Data-Filter; h3c switches read Filter-Id")
    hours: str = Field(default="", description="when they may log in, local time, e.g. "
                       "07:00-19:00 (empty: always); a window may cross midnight")
    devices: int = Field(default=0, ge=0, le=100,
                         description="devices online at once per person (0: no limit)")

    @field_validator("vlan")
    @classmethod
    def _check_vlan(cls, value: str) -> str:
        return _vlan(value)

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        if value and not _WINDOW.fullmatch(value):
            raise ValueError(f"hours {value!r} is not HH:MM-HH:MM")
        return value

    @field_validator("acl")
    @classmethod
    def _check_acl(cls, value: dict[str, str]) -> dict[str, str]:
        for vendor, text in value.items():
            if vendor not in VENDORS or vendor == "h3c":
                raise ValueError(f"acl for {vendor!r}: only cisco and huawei have an ACL "
                                 "attribute of their own (h3c reads Filter-Id)")
            if not 0 < len(text.encode()) <= 247:
                raise ValueError(f"acl for {vendor}: 1..247 bytes")
        return value


class MabProfile(Section):
    vlan: str = Field(description="the VLAN its devices are put in")
    filter_id: str = Field(default="", max_length=64, description="Filter-Id (optional)")

    @field_validator("vlan")
    @classmethod
    def _check_vlan(cls, value: str) -> str:
        return _vlan(value)


class NacConfig(Section):
    enabled: bool = Field(
        default=False, description="put the EAP configuration into `citynet freeradius "
        "config` even before any person is imported")
    peap_roles: list[Role] = Field(
        default=[],
        description="roles that may use PEAP-MSCHAPv2 (opt-in: it needs each person's NT "
        "hash, which is as good as the password; docs/admission.md)")
    roles: dict[str, RolePolicy] = Field(
        default={}, description="policy per role (staff, teacher, student); a "
        "role without one is refused")
    mab_profiles: dict[str, MabProfile] = Field(
        default={}, description="MAC bypass profiles (printer, camera, …)")
    remediation_vlan: str = Field(
        default="", description="where a refused 802.1X or MAB login lands instead of "
        "being rejected (empty: rejected)")
    site_remediation_vlan: dict[str, str] = Field(
        default={}, description="per NAS name, wins over remediation_vlan "
        "(an empty value: reject at that site)")
    enrol_source_failures: int = Field(
        default=50, ge=0, description="failed sign-ins on the enrolment page from one "
        "address, over any names, after which that address is held for the rest of 15 "
        "minutes (0: no hold; a school's NAT is one address for all its pupils)")

    password_failures: int = Field(
        default=10, ge=0, description="wrong PEAP/TTLS passwords of one person from one "
        "device (Calling-Station-Id) after which that device's password logins of that "
        "person are refused for the rest of 15 minutes (0: no such hold; "
        "docs/admission.md, \"The password hold\")")
    password_person_failures: int = Field(
        default=30, ge=0, description="wrong PEAP/TTLS passwords of one person from all "
        "devices together after which all of that person's password logins are refused "
        "for the rest of 15 minutes: a guesser making up MACs (0: no such hold)")

    @field_validator("peap_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("remediation_vlan")
    @classmethod
    def _check_remediation(cls, value: str) -> str:
        return _vlan(value) if value else value

    @field_validator("site_remediation_vlan")
    @classmethod
    def _check_sites(cls, value: dict[str, str]) -> dict[str, str]:
        for vlan in value.values():
            if vlan:
                _vlan(vlan)
        return value

    @field_validator("mab_profiles")
    @classmethod
    def _check_profiles(cls, value: dict[str, MabProfile]) -> dict[str, MabProfile]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"profile name {name!r}: A-Z a-z 0-9 _ . - (≤ 32)")
        return value

    def remediation_at(self, nas: str) -> str:
        """The VLAN a refused login lands in at this NAS; "" to reject."""
        return self.site_remediation_vlan.get(nas, self.remediation_vlan)

    @property
    def password_limits(self) -> Limits:
        return Limits(self.password_failures, self.password_person_failures)
