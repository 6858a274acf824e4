"""A MAC address as NASes send it, in one spelling: every domain that keys anything by
a device's MAC (login records, sessions, the password hold) reads it through here, so
two of them never disagree on which device it was."""

from __future__ import annotations

import re
from functools import lru_cache

_DIGITS = re.compile(r"[0-9a-f]{12}")


def normal_mac(raw: object) -> str:
    """A MAC in any NAS's spelling as aa:bb:cc:dd:ee:ff; '' when it is not one."""
    return _normal_mac(str(raw or ""))


@lru_cache(maxsize=8192)  # the same devices log in again and again, several calls a login
def _normal_mac(text: str) -> str:
    digits = re.sub(r"[^0-9a-f]", "", text.lower())
    if not _DIGITS.fullmatch(digits):
        return ""
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
