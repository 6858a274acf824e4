"""A live session's whole authorisation for a CoA, and the NAS profiles that decide it."""

from __future__ import annotations

import pytest

from inventory.choices import NasVendor
from radius.policy import Allowance
from radius.profiles import Terms
from radius.reauth import authorisation
from radius.vendors import NasProfile, nas_profile

TERMS = Terms(max_session_minutes=60, idle_timeout=600, interim_interval=120,
              bandwidth_down_kbps=4096)
FROM_START = NasProfile(coa_is_full_reauth=True, limits_count_from_start=True)
FROM_NOW = NasProfile(coa_is_full_reauth=True, limits_count_from_start=False)


@pytest.mark.parametrize(("profile", "timeout", "octets"), [
    (FROM_START, 1800, 50_000_000),  # what was granted: the NAS subtracts what is used
    (FROM_NOW, 1800 - 700, 50_000_000 - 30_000_000),  # granted minus used
])
def test_the_limits_counted_as_the_nas_counts_them(profile: NasProfile, timeout: int,
                                                   octets: int) -> None:
    sent = authorisation(TERMS, Allowance(1800, 50_000_000), profile, elapsed=700,
                         used_octets=30_000_000)
    assert sent == {"Session-Timeout": timeout, "Idle-Timeout": 600,
                    "Acct-Interim-Interval": 120, "WISPr-Bandwidth-Max-Down": 4_096_000,
                    "ChilliSpot-Max-Total-Octets": octets}


def test_the_profiles_longest_session_bounds_a_larger_budget() -> None:
    assert authorisation(TERMS, Allowance(), FROM_START, 10, 0)["Session-Timeout"] == 3600
    assert authorisation(TERMS, Allowance(), FROM_NOW, 10, 0)["Session-Timeout"] == 3590
    assert authorisation(TERMS, Allowance(seconds=99_999), FROM_NOW, 10, 0)[
        "Session-Timeout"] == 3590


def test_a_used_up_budget_is_never_sent_as_zero_which_means_no_limit() -> None:
    sent = authorisation(TERMS, Allowance(600, 1000), FROM_NOW, elapsed=900, used_octets=5000)
    assert (sent["Session-Timeout"], sent["ChilliSpot-Max-Total-Octets"]) == (1, 1)


def test_a_cap_over_four_gigabytes_goes_in_gigawords() -> None:
    sent = authorisation(TERMS, Allowance(octets=5 * 2**32 + 7), FROM_START, 0, 0)
    assert (sent["ChilliSpot-Max-Total-Gigawords"], sent["ChilliSpot-Max-Total-Octets"]) == (5, 7)


@pytest.mark.parametrize("vendor", [v.value for v in NasVendor])
def test_only_coovachilli_is_sent_the_whole_authorisation(vendor: str) -> None:
    profile = nas_profile(vendor)
    assert profile.coa_is_full_reauth == (vendor == "coovachilli")
    if profile.coa_is_full_reauth:
        assert profile.limits_count_from_start  # chilli.c session_interval: from start_time


def test_an_unknown_vendor_gets_rfc_5176_behaviour() -> None:
    assert nas_profile("acme") == NasProfile()
