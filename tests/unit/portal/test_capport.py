"""Whom the RFC 8908 API is asked about: the client the URI names, else the address."""

from __future__ import annotations

import pytest

from portal.capport import Asker, asker, is_nas

NASES = ["203.0.113.5", "10.20.0.0/24"]
NAMED = {"nas": "gw-1", "ip": "10.1.0.12", "mac": "aa:bb:cc:dd:ee:01"}


@pytest.mark.parametrize("remote", ["203.0.113.5", "10.20.0.9", "10.1.0.12"])
def test_the_client_named_in_the_uri_is_honoured_from_a_nas_or_from_itself(
        remote: str) -> None:
    # CoovaChilli's %{n} %{i} %{m}, asked through the NAS's masquerading address, or by
    # the client itself when the NAS does not masquerade
    assert asker(NAMED, remote, NASES) == Asker(
        ip="10.1.0.12", mac="aa:bb:cc:dd:ee:01", nas="gw-1", named=True)


@pytest.mark.parametrize("args", [NAMED, {"mac": "aa:bb:cc:dd:ee:01"},
                                  {"mac": "aa:bb:cc:dd:ee:01", "nas": "gw-1"}])
def test_from_anywhere_else_the_uri_names_nobody(args: dict[str, str]) -> None:
    # else anyone who has seen a phone's MAC could ask whether its owner is online
    assert asker(args, "192.0.2.7", NASES) == Asker(ip="192.0.2.7")


def test_a_mac_without_an_ip_names_nobody_even_from_a_nas() -> None:
    assert asker({"mac": "aa:bb:cc:dd:ee:01"}, "203.0.113.5", NASES) == Asker(
        ip="203.0.113.5")


@pytest.mark.parametrize("args", [{}, {"nas": "gw-1"}, {"ip": "not-an-ip", "mac": "x"},
                                  {"ip": "%{i}", "mac": "%{m}"}])
def test_without_a_usable_client_in_the_uri_the_request_address_is_asked_about(
        args: dict[str, str]) -> None:
    assert asker(args, "10.1.0.12", NASES) == Asker(ip="10.1.0.12")


def test_a_mac_in_any_spelling_is_normalised() -> None:
    named = {"ip": "10.1.0.12", "mac": "AA-BB-CC-DD-EE-01"}
    assert asker(named, "203.0.113.5", NASES).mac == "aa:bb:cc:dd:ee:01"


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
