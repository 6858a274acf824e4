"""Field parsers: what is accepted, how it is normalised, and the reason given otherwise."""

from datetime import date

import pytest

from inventory import kinds
from inventory.choices import BuildingType
from inventory.kinds import FieldError


@pytest.mark.parametrize(("raw", "expected"), [
    ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
    ("aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
    ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),  # Cisco
    ("aabb-ccdd-eeff", "aa:bb:cc:dd:ee:ff"),  # Huawei / H3C
    ("aabbccddeeff", "aa:bb:cc:dd:ee:ff"),
])
def test_mac_formats(raw: str, expected: str) -> None:
    assert kinds.mac_address(raw) == expected


@pytest.mark.parametrize("raw", ["aa:bb:cc:dd:ee", "gg:bb:cc:dd:ee:ff", "", "aa:bb:cc:dd:ee:ff:00"])
def test_bad_macs(raw: str) -> None:
    with pytest.raises(FieldError, match=r"is not a MAC address"):
        kinds.mac_address(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("10.1.2.3", "10.1.2.3"),
    ("10.1.2.3/32", "10.1.2.3"),
    ("10.1.0.0/16", "10.1.0.0/16"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001:db8::/32", "2001:db8::/32"),
])
def test_ip_or_cidr(raw: str, expected: str) -> None:
    assert kinds.ip_or_cidr(raw) == expected


def test_cidr_with_host_bits_suggests_the_network() -> None:
    with pytest.raises(FieldError, match=r"host bits set; did you mean 10.1.2.0/24\?"):
        kinds.ip_or_cidr("10.1.2.3/24")


@pytest.mark.parametrize("raw", ["10.1.2.300", "gateway", "10.1.2.3/33", ""])
def test_bad_ips(raw: str) -> None:
    with pytest.raises(FieldError, match=r"is not an IP address or CIDR network"):
        kinds.ip_or_cidr(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("district", "district"),
    ("Street:笋岗", "street:笋岗"),
    ("community: 湖景社区", "community:湖景社区"),
    ("building_type:Government_Agency", "building_type:government_agency"),
])
def test_scopes(raw: str, expected: str) -> None:
    assert kinds.scope(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("city", "is not a scope"),
    ("street", "needs a name"),
    ("district:罗湖", "takes no name"),
    ("building_type:castle", "is not one of"),
])
def test_bad_scopes(raw: str, reason: str) -> None:
    with pytest.raises(FieldError, match=reason):
        kinds.scope(raw)


def test_choice_lists_the_allowed_values() -> None:
    parse = kinds.choice(BuildingType)
    assert parse(" Residential ") is BuildingType.RESIDENTIAL
    with pytest.raises(FieldError,
                       match=r"'castle' is not one of: government_agency \(政府机关\), "):
        parse("castle")


def test_dates_numbers_and_hosts() -> None:
    assert kinds.iso_date("2015-12-31") == date(2015, 12, 31)
    assert kinds.iso_date(date(2015, 1, 2)) == date(2015, 1, 2)  # YAML gives dates
    with pytest.raises(FieldError, match="is not a date"):
        kinds.iso_date("31/12/2015")
    with pytest.raises(FieldError, match=r"outside -90\.\.90"):
        kinds.number(-90, 90)("91")
    with pytest.raises(FieldError, match="is not a whole number"):
        kinds.integer(1, 65535)("22.5")
    assert kinds.host("sw-01.luohu.example") == "sw-01.luohu.example"
    with pytest.raises(FieldError, match="neither an IP address nor a host name"):
        kinds.host("bad host!")


def test_lists_from_csv_cells_and_yaml() -> None:
    parse = kinds.listed(kinds.ssid)
    assert parse("i-Shenzhen;Luohu-Free") == ["i-Shenzhen", "Luohu-Free"]
    assert parse(["i-Shenzhen"]) == ["i-Shenzhen"]
    with pytest.raises(FieldError, match="same item twice"):
        parse("a;a")
    with pytest.raises(FieldError, match=r"must be 1\.\.32 bytes"):
        parse("x" * 33)


def test_keys_refuse_the_list_separator_and_control_characters() -> None:
    with pytest.raises(FieldError, match="must not contain ';'"):
        kinds.text(64, key=True)("a;b")
    with pytest.raises(FieldError, match="control character"):
        kinds.text(64)("a\x00b")
    with pytest.raises(FieldError, match="longer than 4 characters"):
        kinds.text(4)("abcde")


@pytest.mark.parametrize("key", ["\n", "\r", "\t", "\x00", "\x1a"])
def test_a_secret_or_text_with_a_control_character_is_refused_unechoed(key: str) -> None:
    # a NAS secret is rendered into device configuration: a line break would run the
    # rest of it as a device command
    given = f"a-long-secret{key}ip route 0.0.0.0 0.0.0.0 10.6.6.6"
    with pytest.raises(FieldError, match="control character") as refused:
        kinds.secret(given)
    assert "a-long-secret" not in str(refused.value)
    with pytest.raises(FieldError, match="control character"):
        kinds.text(128)(given)
    assert kinds.secret("a-long-secret ip route") == "a-long-secret ip route"  # spaces: fine
