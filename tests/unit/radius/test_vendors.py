"""Vendor rate attributes beside WISPr's, as the NAS vendor table says."""

from __future__ import annotations

import pytest

from radius.vendors import in_vendor_terms

WISPR = {"Session-Timeout": 60, "WISPr-Bandwidth-Max-Up": 2_000_000,
         "WISPr-Bandwidth-Max-Down": 8_000_000}


@pytest.mark.parametrize(("vendor", "up", "down"), [
    ("huawei", "Huawei-Input-Average-Rate", "Huawei-Output-Average-Rate"),
    ("h3c", "H3C-Input-Average-Rate", "H3C-Output-Average-Rate"),
])
def test_huawei_and_h3c_get_their_own_rates(vendor: str, up: str, down: str) -> None:
    assert in_vendor_terms(vendor, WISPR) == {**WISPR, up: 2_000_000, down: 8_000_000}


@pytest.mark.parametrize("vendor", ["coovachilli", "cisco", "other", "not-a-vendor"])
def test_the_others_keep_wispr_alone(vendor: str) -> None:
    assert in_vendor_terms(vendor, WISPR) == WISPR


def test_no_rate_no_vendor_rate() -> None:
    assert in_vendor_terms("huawei", {"Session-Timeout": 60}) == {"Session-Timeout": 60}
