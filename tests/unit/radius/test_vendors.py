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


@pytest.mark.parametrize(("vendor", "own"), [("huawei", "Huawei-Remanent-Volume"),
                                             ("h3c", "H3C-Remanent-Volume")])
def test_huawei_and_h3c_get_the_data_left_in_their_own_kib(vendor: str, own: str) -> None:
    cap = {"ChilliSpot-Max-Total-Octets": 500 * 1024 * 1024 + 1023}
    assert in_vendor_terms(vendor, cap) == {**cap, own: 500 * 1024}  # rounded down
    six_gib = {"ChilliSpot-Max-Total-Octets": 2 << 30, "ChilliSpot-Max-Total-Gigawords": 1}
    assert in_vendor_terms(vendor, six_gib)[own] == 6 << 20  # the gigawords counted
    huge = {"ChilliSpot-Max-Total-Octets": 0, "ChilliSpot-Max-Total-Gigawords": 2000}
    assert in_vendor_terms(vendor, huge)[own] == 0xFFFFFFFE  # never "no limit"
    assert in_vendor_terms(vendor, {"ChilliSpot-Max-Total-Octets": 1000})[own] == 0


def test_no_octet_cap_no_data_left() -> None:
    assert "Huawei-Remanent-Volume" not in in_vendor_terms("huawei", WISPR)
    assert in_vendor_terms("coovachilli", {"ChilliSpot-Max-Total-Octets": 4096}) == {
        "ChilliSpot-Max-Total-Octets": 4096}
