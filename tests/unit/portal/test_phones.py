"""Mainland mobile numbers as people type them."""

from __future__ import annotations

import pytest

from citynet.typed import normalised
from portal.phones import mainland_mobile, masked


@pytest.mark.parametrize(("text", "phone"), [
    ("13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("+86 138-0013-8000", "13800138000"),
    ("008613800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("１３８００１３８０００", "13800138000"),  # full-width, from a Chinese input method
    ("12800138000", None),  # no such mobile range
    ("1380013800", None),
    ("+852 9123 4567", None),  # Hong Kong: not a mainland number
    ("+1 415 555 0100", None),
    ("", None),
])
def test_mainland_mobile(text: str, phone: str | None) -> None:
    assert mainland_mobile(text) == phone


def test_masked_and_digits() -> None:
    assert masked("13800138000") == "138****8000"
    assert normalised(" １２３ ４５６ ", " ") == "123456"
