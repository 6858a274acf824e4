"""MD4 (RFC 1320), only for the NT hash that MSCHAPv2 needs: OpenSSL 3 no longer offers
MD4 by default, so ``hashlib.new("md4")`` fails on current systems. MD4 is broken as a
hash; here it is a fixed part of a protocol, never a protection of its own."""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
# the message word each step reads, and its left rotation, per round (RFC 1320 §3.4)
_ORDER = (tuple(range(16)),
          (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
          (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15))
_SHIFTS = ((3, 7, 11, 19), (3, 5, 9, 13), (3, 9, 11, 15))
_CONSTANTS = (0, 0x5A827999, 0x6ED9EBA1)


def _rotl(value: int, shift: int) -> int:
    value &= _MASK
    return ((value << shift) | (value >> (32 - shift))) & _MASK


def _mix(round_: int, x: int, y: int, z: int) -> int:
    if round_ == 0:
        return (x & y) | (~x & z)
    if round_ == 1:
        return (x & y) | (x & z) | (y & z)
    return x ^ y ^ z


def md4(data: bytes) -> bytes:
    """The 16-byte MD4 digest of ``data``."""
    length = len(data) * 8
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", length)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for offset in range(0, len(padded), 64):
        words = struct.unpack("<16I", padded[offset:offset + 64])
        a, b, c, d = state
        for round_ in range(3):
            for step, index in enumerate(_ORDER[round_]):
                shift = _SHIFTS[round_][step % 4]
                a = _rotl(a + _mix(round_, b, c, d) + words[index] + _CONSTANTS[round_], shift)
                a, b, c, d = d, a, b, c
        state = [(s + v) & _MASK for s, v in zip(state, (a, b, c, d), strict=True)]
    return struct.pack("<4I", *state)


def nt_hash(password: str) -> bytes:
    """The NT hash MSCHAPv2 works from: MD4 of the password in UTF-16LE (RFC 2759 §8.3).
    Whoever has it can log in as the person (it is password-equivalent)."""
    return md4(password.encode("utf-16-le"))
