"""SecretBox: seal, open, rotate; wrong keys are errors, never plaintext."""

import pytest

from citynet.crypto import SecretBox
from citynet.errors import SecretsError


def test_seal_open_round_trip_and_no_plaintext() -> None:
    box = SecretBox([SecretBox.new_key()])
    token = box.seal("radius-shared-secret")
    assert "radius-shared-secret" not in token
    assert box.open(token) == "radius-shared-secret"
    assert box.seal("x") != box.seal("x")  # fresh IV each time


def test_wrong_key_is_a_clear_error() -> None:
    token = SecretBox([SecretBox.new_key()]).seal("s")
    with pytest.raises(SecretsError, match="does not open with the configured key"):
        SecretBox([SecretBox.new_key()]).open(token)


def test_invalid_key_is_a_clear_error() -> None:
    with pytest.raises(SecretsError, match="not a valid Fernet key"):
        SecretBox([b"too-short"])


def test_reseal_moves_a_value_to_the_newest_key() -> None:
    old, new = SecretBox.new_key(), SecretBox.new_key()
    token = SecretBox([old]).seal("device-password")
    moved = SecretBox([new, old]).reseal(token)
    assert SecretBox([new]).open(moved) == "device-password"
    with pytest.raises(SecretsError):
        SecretBox([old]).open(moved)
