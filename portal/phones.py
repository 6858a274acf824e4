"""Mainland China mobile numbers: the real-name identity of an SMS login."""

from __future__ import annotations

import re

from citynet.typed import normalised

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def mainland_mobile(text: str) -> str | None:
    """The 11-digit number in a person's input, or None if it is not a mainland mobile.

    Accepts full-width digits (Chinese input methods), spaces and dashes, and a +86 /
    0086 / 86 prefix."""
    digits = normalised(text)
    digits = re.sub(r"[\s\-()]", "", digits)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def masked(phone: str) -> str:
    """138****8000: how a number appears on screens and in logs."""
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"
