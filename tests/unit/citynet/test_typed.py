"""The one reading of typed digits and codes (full-width from Chinese input methods)."""

from __future__ import annotations

import pytest

from citynet.typed import normalised


@pytest.mark.parametrize(("typed", "drop", "read"), [
    ("１２３４５６", "", "123456"),          # full-width digits
    ("　１２３　", "", "123"),               # full-width spaces around
    ("123 456\t", " ", "123456"),           # separators inside, whitespace around
    ("１２３　４５６", " ", "123456"),       # a full-width space is a space once read
    ("abcd-efgh－jk", " -", "abcdefghjk"),  # a full-width dash is a dash
    ("1 2", "", "1 2"),                      # nothing dropped unless asked
    ("²", "", "2"),                          # NFKC: superscript two reads as 2
])
def test_typed_text_reads_as_meant(typed: str, drop: str, read: str) -> None:
    assert normalised(typed, drop) == read
