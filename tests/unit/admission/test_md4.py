"""MD4 against RFC 1320's test suite, and the NT hash against RFC 2759's example."""

from __future__ import annotations

import pytest

from admission.md4 import md4, nt_hash

RFC1320 = [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "043f8582f241db351ce627e153e7f0e4"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
]


@pytest.mark.parametrize(("message", "digest"), RFC1320)
def test_rfc1320_suite(message: bytes, digest: str) -> None:
    assert md4(message).hex() == digest


@pytest.mark.parametrize("size", [55, 56, 63, 64, 65, 119, 120])
def test_lengths_around_the_padding_boundary_differ(size: int) -> None:
    # one block or two: a wrong padding length would make neighbours collide or crash
    assert md4(b"x" * size) != md4(b"x" * (size + 1))
    assert len(md4(b"x" * size)) == 16


def test_nt_hash_of_rfc2759_example() -> None:
    # RFC 2759 §9.2: password "clientPass"
    assert nt_hash("clientPass").hex() == "44ebba8d5312b8d611474411f56989ae"


def test_nt_hash_takes_unicode() -> None:
    assert nt_hash("密码") == md4("密码".encode("utf-16-le"))
