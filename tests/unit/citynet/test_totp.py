"""The one TOTP step check, shared by staff and portal logins."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest

from citynet import totp
from citynet.totp import matching_step

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_totp_step_window_and_full_width_digits() -> None:
    secret = pyotp.random_base32()
    app = pyotp.TOTP(secret)
    step = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = app.at((step + offset) * 30)
        assert matching_step(secret, code, NOW) == step + offset
    assert matching_step(secret, app.at((step - 2) * 30), NOW) is None
    assert matching_step(secret, app.at((step + 2) * 30), NOW) is None
    full_width = app.at(NOW).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert matching_step(secret, full_width, NOW) == step
    assert matching_step(secret, " " + app.at(NOW)[:3] + " " + app.at(NOW)[3:], NOW) == step
    assert matching_step(secret, app.at(NOW), NOW, after=step) is None  # a replay
    assert matching_step(secret, app.at(NOW), NOW, after=step - 1) == step
    assert matching_step(secret, "12345", NOW) is None
    assert matching_step(secret, "abcdef", NOW) is None


@pytest.mark.parametrize("offset", [-1, 0, 1, 5])
def test_every_step_is_compared_in_constant_time(offset: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A code of the first step checked (or of none) costs the same three constant-time
    comparisons as one of the last: no early exit, no ``==`` on the code."""
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).at(NOW.timestamp() + offset * 30)
    compared: list[tuple[str, str]] = []

    def recording(expected: str, given: str) -> bool:
        compared.append((expected, given))
        return expected == given

    monkeypatch.setattr(totp, "compare_digest", recording)
    matching_step(secret, code, NOW)
    assert len(compared) == len(totp.DRIFT)
    assert all(given == code for _expected, given in compared)
