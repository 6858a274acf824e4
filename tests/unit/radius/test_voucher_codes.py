"""Voucher codes: the check symbol catches typos before any lookup."""

import pytest

from radius import vouchers
from radius.vouchers import ALPHABET


def test_codes_are_well_formed_and_distinct() -> None:
    codes = {vouchers.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:200]:
        assert len(code) == 10 and set(code) <= set(ALPHABET)
        assert vouchers.normalise(code) == code


def test_every_single_symbol_error_and_every_swap_is_caught() -> None:
    code = "7KQ3MZP2W" + vouchers.check_symbol("7KQ3MZP2W")
    for i in range(len(code)):
        for symbol in ALPHABET:
            if symbol != code[i]:
                assert vouchers.normalise(code[:i] + symbol + code[i + 1:]) is None
    for i in range(len(code)):
        for j in range(i + 1, len(code)):
            if code[i] != code[j]:  # any two symbols swapped, adjacent or not
                swapped = list(code)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert vouchers.normalise("".join(swapped)) is None


@pytest.mark.parametrize("typed", ["{d}", "{l}", "{f}", " {d} "])
def test_people_can_type_it_their_way(typed: str) -> None:
    code = vouchers.new_code()
    shown = vouchers.display(code)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c != "-" else "－" for c in shown)
    text = typed.format(d=shown, l=shown.lower(), f=fullwidth)
    assert vouchers.normalise(text) == code


@pytest.mark.parametrize("typed", ["", "ABC", "O0OO-0OOO-00", "ABCD-EFGH-JKL"])
def test_not_codes(typed: str) -> None:
    assert vouchers.normalise(typed) is None
