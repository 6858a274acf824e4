"""Whom the RFC 8908 API is asked about: the client the URI names, else the address."""

from __future__ import annotations

import pytest

from portal.capport import Asker, asker, is_nas


def test_the_client_named_in_the_uri_wins_over_the_request_address() -> None:
    # CoovaChilli's %{n} %{i} %{m}, asked through the NAS's masquerading address
    named = asker({"nas": "gw-1", "ip": "10.1.0.12", "mac": "aa:bb:cc:dd:ee:01"},
                  "203.0.113.5")
    assert named == Asker(ip="10.1.0.12", mac="aa:bb:cc:dd:ee:01", nas="gw-1", named=True)


@pytest.mark.parametrize("args", [{}, {"nas": "gw-1"}, {"ip": "not-an-ip", "mac": "x"},
                                  {"ip": "%{i}", "mac": "%{m}"}])
def test_without_a_usable_client_in_the_uri_the_request_address_is_asked_about(
        args: dict[str, str]) -> None:
    assert asker(args, "10.1.0.12") == Asker(ip="10.1.0.12")


def test_a_mac_in_any_spelling_is_normalised() -> None:
    assert asker({"mac": "AA-BB-CC-DD-EE-01"}, "").mac == "aa:bb:cc:dd:ee:01"


@pytest.mark.parametrize(("address", "registered", "expected"), [
    ("10.20.0.1", ["10.20.0.1"], True),
    ("10.20.0.4", ["10.9.0.1", "10.20.0.0/24"], True),
    ("10.20.1.4", ["10.20.0.0/24"], False),
    ("10.20.0.1", ["", "garbage"], False),
    ("", ["10.20.0.1"], False),
])
def test_a_request_from_a_registered_nas(address: str, registered: list[str],
                                         expected: bool) -> None:
    assert is_nas(address, registered) is expected
