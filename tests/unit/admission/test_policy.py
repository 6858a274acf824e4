"""Admission's pure rules: role policy to reply attributes, hours, device limits, MAC
bypass, remediation; and the [nac] section's checks."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from admission import policy
from admission.mab import BadMac, checked
from admission.policy import PersonView
from admission.settings import NacConfig

CONFIG = NacConfig.model_validate({
    "roles": {
        "staff": {"vlan": "10", "filter_id": "staff-acl", "devices": 2,
                  "acl": {"cisco": "ip:inacl#10=permit ip any any",
                          "huawei": "permit ip any any"}},
        "student": {"vlan": "30", "hours": "07:00-22:00"},
        "teacher": {"vlan": "20", "hours": "22:00-06:00"},
    },
    "mab_profiles": {"printer": {"vlan": "50"}, "camera": {"vlan": "cams"}},
    "site_remediation_vlan": {"school-sw": "999"},
})
STAFF = PersonView("a042", "staff", active=True)
NOON = time(12)


def test_a_role_s_vlan_filter_and_vendor_acl() -> None:
    answer = policy.admit_person(STAFF, "a042", CONFIG, "cisco", "sw", NOON, online=0)
    assert answer.accept and answer.identity == "a042" and answer.method == "eap"
    assert answer.attributes == {
        "Tunnel-Type": "VLAN", "Tunnel-Medium-Type": "IEEE-802",
        "Tunnel-Private-Group-Id": "10", "Filter-Id": "staff-acl",
        "Cisco-AVPair": "ip:inacl#10=permit ip any any"}
    huawei = policy.admit_person(STAFF, "a042", CONFIG, "huawei", "sw", NOON, 0)
    assert huawei.attributes["Huawei-Data-Filter"] == "permit ip any any"
    assert "Cisco-AVPair" not in huawei.attributes
    h3c = policy.admit_person(STAFF, "a042", CONFIG, "h3c", "sw", NOON, 0)
    assert h3c.attributes["Filter-Id"] == "staff-acl"
    assert not {"Cisco-AVPair", "Huawei-Data-Filter"} & set(h3c.attributes)


def test_a_revoked_certificate_is_a_reject_even_where_refusals_get_a_vlan() -> None:
    """The remediation VLAN is for logins out of policy, not for a dead credential."""
    for nas in ("sw", "school-sw"):  # school-sw lands refusals in VLAN 999
        answer = policy.admit_person(STAFF, "a042", CONFIG, "huawei", nas, NOON, 0,
                                     revoked_certificate=True)
        assert not answer.accept and answer.reason == "certificate revoked"
        assert answer.attributes == {"Reply-Message": "certificate revoked / 证书已吊销"}
    # a disabled person's certificates are revoked with them: the reason is the person
    gone = PersonView("a042", "staff", active=False)
    answer = policy.admit_person(gone, "a042", CONFIG, "huawei", "school-sw", NOON, 0,
                                 revoked_certificate=True)
    assert not answer.accept and answer.reason == "person disabled"
    # and a login out of policy there still gets the remediation VLAN
    late = policy.admit_person(STAFF, "a042", CONFIG, "huawei", "school-sw", NOON, 2)
    assert late.accept and late.reason == "remediation: too many devices online"


@pytest.mark.parametrize(("identity", "agrees"), [
    ("t001", True), ("t001@district.gov.cn", True),  # the holder, bare or with a realm
    ("T001", True), ("T001@district.gov.cn", True),  # in any case, as usernames are
    ("anonymous@district.gov.cn", True), ("Anonymous", True), ("@district.gov.cn", True),
    ("", True),  # identity privacy: the certificate says who
    ("a042", False), ("a042@district.gov.cn", False), ("t0012", False),  # someone else
    ("anonymous-t001", False), ("t001@x@district", False),
])
def test_an_eap_tls_identity_agrees_with_the_holder_or_is_anonymous(identity: str,
                                                                     agrees: bool) -> None:
    assert policy.names_holder(identity, "t001") is agrees


@pytest.mark.parametrize(("person", "online", "at", "reason"), [
    (None, 0, NOON, "unknown person"),
    (PersonView("a042", "staff", active=False), 0, NOON, "person disabled"),
    (PersonView("x", "nobody", active=True), 0, NOON, "no policy for role"),
    (STAFF, 2, NOON, "too many devices online"),
    (PersonView("s1", "student", True), 0, time(22, 0), "outside allowed hours"),
    (PersonView("s1", "student", True), 0, time(6, 59), "outside allowed hours"),
    (PersonView("t1", "teacher", True), 0, time(12), "outside allowed hours"),
])
def test_refusals_are_rejects_with_a_reason(person: PersonView | None, online: int,
                                            at: time, reason: str) -> None:
    answer = policy.admit_person(person, "who", CONFIG, "huawei", "sw", at, online)
    assert not answer.accept and answer.reason == reason
    assert reason in str(answer.attributes["Reply-Message"])


def test_hours_are_inclusive_at_the_start_and_may_cross_midnight() -> None:
    assert policy.within("07:00-22:00", time(7, 0))
    assert policy.within("07:00-22:00", time(21, 59))
    assert policy.within("22:00-06:00", time(23, 30)) and policy.within("22:00-06:00",
                                                                         time(5, 59))
    assert not policy.within("22:00-06:00", time(6, 0))
    assert policy.within("", time(3))
    assert policy.within("00:00-24:00", time(23, 59))


def test_one_device_under_the_limit_is_admitted() -> None:
    assert policy.admit_person(STAFF, "a042", CONFIG, "cisco", "sw", NOON, online=1).accept


def test_a_site_with_a_remediation_vlan_admits_refusals_there() -> None:
    answer = policy.admit_person(PersonView("a042", "staff", active=False), "a042", CONFIG,
                                 "huawei", "school-sw", NOON, 0)
    assert answer.accept and answer.attributes["Tunnel-Private-Group-Id"] == "999"
    assert answer.reason == "remediation: person disabled"
    unknown = policy.admit_device("00:1b:a9:00:00:01", None, CONFIG, "huawei", "school-sw")
    assert unknown.accept and unknown.attributes["Tunnel-Private-Group-Id"] == "999"
    # another site has none: a reject
    assert not policy.admit_device("00:1b:a9:00:00:01", None, CONFIG, "huawei",
                                   "other-sw").accept


def test_a_listed_mac_gets_its_profile_s_vlan() -> None:
    answer = policy.admit_device("00:1b:a9:00:00:01", "camera", CONFIG, "h3c", "sw")
    assert answer.accept and answer.method == "mab"
    assert answer.attributes["Tunnel-Private-Group-Id"] == "cams"
    gone = policy.admit_device("00:1b:a9:00:00:01", "fax", CONFIG, "h3c", "sw")
    assert not gone.accept and gone.reason == "MAC profile not configured"


@pytest.mark.parametrize(("given", "why"), [
    ("02:00:00:00:00:01", "locally administered"),
    ("DA-A1-19-00-00-01", "locally administered"),  # a phone's private address
    ("01:00:5e:00:00:01", "multicast"),
    ("00:1b:a9:00:00", "not a MAC"),
    ("00:00:00:00:00:00", "no device"),
    ("00:1b:a9:00:00:0g", "not a MAC"),
])
def test_bad_macs_are_refused_with_the_reason(given: str, why: str) -> None:
    with pytest.raises(BadMac, match=why):
        checked(given)


def test_mac_spellings_are_one_mac() -> None:
    assert {checked(s) for s in ("00:1B:A9:12:34:56", "00-1b-a9-12-34-56", "001b.a912.3456",
                                 "001ba9123456")} == {"00:1b:a9:12:34:56"}


@pytest.mark.parametrize("section", [
    {"roles": {"staff": {"vlan": "4095"}}},
    {"roles": {"staff": {"vlan": "10 ; drop"}}},
    {"roles": {"staff": {"vlan": "10", "hours": "7-22"}}},
    {"roles": {"staff": {"vlan": "10", "hours": "25:00-26:00"}}},
    {"roles": {"staff": {"vlan": "10", "acl": {"h3c": "3001"}}}},
    {"roles": {"staff": {"vlan": "10", "acl": {"juniper": "x"}}}},
    {"mab_profiles": {"bad name": {"vlan": "5"}}},
    {"remediation_vlan": "0"},
])
def test_a_bad_nac_section_is_refused(section: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NacConfig.model_validate(section)
