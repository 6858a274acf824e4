"""The one check of an authenticator-app code (TOTP, RFC 6238 with pyotp), for staff
logins and WiFi guests' logins alike: 30-second steps, ±1 step of clock drift, a step
once used never accepted again (the caller keeps the last one)."""

from __future__ import annotations

from datetime import datetime
from hmac import compare_digest

import pyotp

from citynet.typed import normalised

STEP = 30  # seconds
DRIFT = (-1, 0, 1)  # steps either side of now a phone's clock may be off


def matching_step(secret: str, code: str, now: datetime,
                  after: int | None = None) -> int | None:
    """The time step (now ±1) whose code this is, if later than ``after``. Every step is
    compared, in constant time and with no early exit, so how long the check takes says
    nothing about which step (if any) matched."""
    code = normalised(code, " ")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now.timestamp()) // STEP
    found = None
    for step in (current + drift for drift in DRIFT):
        if compare_digest(totp.at(step * STEP), code) and (after is None or step > after):
            found = step
    return found
