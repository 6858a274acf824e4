"""Raw datagram checks before decoding: malformed input is refused, never decoded."""

import hashlib
import signal
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radius import codec, wire
from radius.decisions import attempt_of
from radius.wire import AUTH_PORT_CODES, Code, Malformed

SECRET = b"testing123"


def packet(code: int, attrs: bytes, identifier: int = 7, length: int | None = None) -> bytes:
    total = 20 + len(attrs) if length is None else length
    return struct.pack("!BBH", code, identifier, total) + bytes(16) + attrs


def attr(kind: int, value: bytes) -> bytes:
    return bytes([kind, len(value) + 2]) + value


def vsa(vendor: int, sub: bytes) -> bytes:
    return attr(26, struct.pack("!L", vendor) + sub)


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x01\x00\x00", "shorter than a RADIUS header"),
    (packet(1, b"", length=19), "length field outside 20..4096"),
    (packet(1, b"", length=5000), "length field outside 20..4096"),
    (packet(1, b"", length=40), "length field beyond the datagram"),
    (packet(99, b""), "unknown code"),
    (packet(4, b""), "code not served on this port"),
    (packet(1, b"\x01"), "attribute header cut short"),
    (packet(1, b"\x01\x01"), "attribute length outside the packet"),
    (packet(1, b"\x01\x00abc"), "attribute length outside the packet"),
    (packet(1, b"\x01\x09abc"), "attribute length outside the packet"),
    (packet(1, attr(80, bytes(15))), "attribute 80 has the wrong length"),
    (packet(1, attr(3, bytes(10))), "attribute 3 has the wrong length"),
    (packet(1, attr(2, bytes(17))), "User-Password length is not 16..128"),
    (packet(1, attr(26, b"\x00\x00")), "Vendor-Specific shorter than vendor id"),
    # a vendor sub-attribute of length 0 (older pyrad releases loop forever on it)
    (packet(1, vsa(14122, b"\x07\x00\x00\x00")), "vendor sub-attribute length outside"),
    (packet(1, vsa(14122, b"\x07\x08\x00\x00")), "vendor sub-attribute length outside"),
    (packet(1, vsa(14122, b"\x07\x06\x00\x00\x00\x01\x01")), "vendor sub-attribute header cut"),
    (packet(1, attr(1, b"a") * 201), "more than 200 attributes"),
])
def test_malformed_datagrams(data: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        wire.check(data, AUTH_PORT_CODES)


def test_padding_after_length_is_ignored() -> None:
    data = packet(1, attr(1, b"alice")) + b"\x00" * 30
    datagram = wire.check(data, AUTH_PORT_CODES)
    assert len(datagram.raw) == 27
    assert datagram.attribute_types == (1,)


def test_a_well_formed_request_passes() -> None:
    raw = codec.encode_request(Code.ACCESS_REQUEST, SECRET, {
        "User-Name": "13800138000", "Calling-Station-Id": "AA-BB-CC-DD-EE-FF",
        "WISPr-Location-Name": "东门步行街"}, password="123456")
    datagram = wire.check(raw, AUTH_PORT_CODES)
    assert datagram.code is Code.ACCESS_REQUEST
    assert datagram.has_message_authenticator
    assert datagram.attribute_types[0] == wire.MESSAGE_AUTHENTICATOR


@contextmanager
def never_hangs(seconds: int = 10) -> Iterator[None]:
    """A liveness bound, not a speed check: one example taking 10 s means a loop."""

    def hung(_signum: int, _frame: FrameType | None) -> None:
        raise AssertionError(f"still decoding after {seconds} s: the decoder hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    """Arbitrary input: a Datagram and a decoded Request, or Malformed — nothing else."""
    with never_hangs():
        decode_or_refuse(data)


def decode_or_refuse(data: bytes) -> None:
    try:
        datagram = wire.check(data, AUTH_PORT_CODES | {Code.ACCOUNTING_REQUEST})
        codec.decode(datagram, SECRET)
    except Malformed:
        pass


HEADER = st.tuples(st.sampled_from([1, 4, 12]), st.integers(0, 255))
ATTRIBUTE = st.one_of(
    st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(lambda t: attr(*t)),
    st.tuples(st.sampled_from([14122, 14559, 2011, 25506, 9]), st.integers(0, 255),
              st.binary(max_size=20)).map(
        lambda t: vsa(t[0], bytes([t[1], len(t[2]) + 2]) + t[2])),
    st.binary(min_size=1, max_size=8),  # garbage between attributes
)


@settings(max_examples=3000, deadline=None)
@given(HEADER, st.lists(ATTRIBUTE, max_size=12))
def test_structured_fuzz_decodes_or_is_refused(header: tuple[int, int],
                                               attrs: list[bytes]) -> None:
    """Near-valid packets (real headers, real vendor ids) reach pyrad's decoder far more
    often than random bytes do; it must still only decode or refuse."""
    code, identifier = header
    body = b"".join(attrs)
    data = packet(code, body, identifier)
    if code == 4:  # give accounting a valid authenticator so it is decoded for real
        digest = hashlib.md5(data[:4] + bytes(16) + body + SECRET).digest()  # noqa: S324
        data = data[:4] + digest + body
    with never_hangs():
        try:
            datagram = wire.check(data, AUTH_PORT_CODES | {Code.ACCOUNTING_REQUEST})
            request = codec.decode(datagram, SECRET)
            codec.signature_valid(request, SECRET)
            attempt = attempt_of(request)  # PAP decryption and CHAP extraction
            if attempt.chap is not None:
                codec.chap_ok(*attempt.chap, "x")
        except Malformed:
            pass
