"""Whose failures a sign-in counts under (citynet.holds.source_of)."""

from __future__ import annotations

import pytest

from citynet.holds import source_of


@pytest.mark.parametrize(("address", "source"), [
    ("10.20.0.7", "10.20.0.7"),
    ("::ffff:10.20.0.7", "10.20.0.7"),  # IPv4 through a dual-stack socket: one address
    ("2001:db8:1:2::17", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64"),  # any address of the same /64
    ("fe80::1%eth0", "fe80::/64"),
    ("", ""),
    ("not an address", ""),
])
def test_a_host_counts_as_one_whatever_address_it_takes(address: str, source: str) -> None:
    assert source_of(address) == source
