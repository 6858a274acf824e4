"""The Portal-protocol codec: known answers, round trips, and every broken datagram refused
with a reason (never another exception, never a hang)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import acportal as ac
from portal.acportal import Attribute, DropReason, Packet, PacketType, Refused, Version

SECRET = b"1234567890123456"
USER = "172.75.100.253"
CHALLENGE = bytes.fromhex("bb0bcd57415d3db7b7cd5b393fc129e3")


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Interoperability vectors: datagrams another, independent Huawei Portal 2.0 implementation
# (xinli xpws, docs/portal.md) produced for secret 1234567890123456 and user 172.75.100.253.
REQ_CHALLENGE_V2 = hexbytes("02 01 00 00 00 04 00 00 ac 4b 64 fd 00 00 00 00 "
                            "e8 0d a1 b2 79 f3 b5 f2 e8 cb c2 dd 32 4f 56 dd")
ACK_CHALLENGE_V2 = hexbytes("02 02 00 00 00 04 00 02 ac 4b 64 fd 00 00 00 01 "
                            "4e 1f f4 eb 21 57 50 bc 1d 4a a4 e4 8b 25 76 11 "
                            "03 12 bb 0b cd 57 41 5d 3d b7 b7 cd 5b 39 3f c1 29 e3")
REQ_AUTH_V2 = hexbytes("02 03 00 00 00 04 00 02 ac 4b 64 fd 00 00 00 02 "
                       "30 7b ba a5 26 5d f5 28 e7 33 94 97 2c 15 1b 69 "
                       "04 12 73 cc 87 6a 01 ca 9a b3 98 d7 fc c8 58 36 b5 8b "
                       "01 0e 77 65 62 40 64 65 66 61 75 6c 74 30")


def test_request_challenge_matches_the_known_datagram() -> None:
    packet = ac.request_challenge(Version.V2, 4, USER)
    assert ac.encode(packet, SECRET) == REQ_CHALLENGE_V2


def test_ack_challenge_is_checked_against_the_request_authenticator() -> None:
    request_auth = REQ_CHALLENGE_V2[16:32]
    got = ac.decode(ACK_CHALLENGE_V2, SECRET, request_authenticator=request_auth)
    assert (got.type, got.serial, got.req_id, got.user_ip) == (
        PacketType.ACK_CHALLENGE, 4, 2, USER)
    assert got.get(Attribute.CHALLENGE) == CHALLENGE
    with pytest.raises(Refused) as refused:  # signed for another request
        ac.decode(ACK_CHALLENGE_V2, SECRET)
    assert refused.value.reason == DropReason.WRONG_AUTHENTICATOR


def test_chap_auth_matches_the_known_datagram() -> None:
    assert ac.chap_password(2, b"123456", CHALLENGE) == REQ_AUTH_V2[34:50]
    auth = ac.request_auth_chap(Version.V2, 4, USER, 2, b"web@default0", b"123456", CHALLENGE)
    # that implementation sends the CHAP password first; the order is free
    swapped = Packet(auth.version, auth.type, auth.serial, auth.user_ip, auth.method,
                     auth.req_id, attributes=tuple(reversed(auth.attributes)))
    assert ac.encode(swapped, SECRET) == REQ_AUTH_V2
    assert ac.decode(REQ_AUTH_V2, SECRET) == swapped


def test_chap_password_is_md5_of_id_password_challenge() -> None:
    assert ac.chap_password(0x1234, b"pw", b"c" * 16) == hashlib.md5(  # noqa: S324
        b"\x34pw" + b"c" * 16).digest()


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("packet", [
    ac.request_challenge(Version.V2, 7, "10.0.0.9", bas_ip="10.0.0.1", user_mac=b"\1" * 6),
    ac.request_auth_pap(Version.V2, 8, "10.0.0.9", "用户".encode(), b"secret"),
    ac.request_logout(Version.V2, 9, "10.0.0.9", req_id=3,
                      reason=ac.LogoutRequest.TIMEOUT),
    ac.request_info(Version.V2, 10),
    Packet(Version.V2, PacketType.NTF_LOGOUT, 11, "10.0.0.9"),
], ids=lambda p: p.type.name)
def test_round_trip(version: Version, packet: Packet) -> None:
    packet = Packet(version, packet.type, packet.serial, packet.user_ip, packet.method,
                    packet.req_id, packet.error, packet.attributes)
    assert ac.decode(ac.encode(packet, SECRET), SECRET, version=version) == packet


def test_response_round_trip_and_wrong_secret() -> None:
    request = ac.encode(ac.request_logout(Version.V2, 5, "10.0.0.9"), SECRET)
    answer = Packet(Version.V2, PacketType.ACK_LOGOUT, 5, "10.0.0.9")
    wire = ac.encode(answer, SECRET, request[16:32])
    assert ac.decode(wire, SECRET, request_authenticator=request[16:32]) == answer
    with pytest.raises(Refused) as refused:
        ac.decode(wire, b"another secret!!", request_authenticator=request[16:32])
    assert refused.value.reason == DropReason.WRONG_AUTHENTICATOR


def test_v1_is_refused_where_v2_is_expected() -> None:
    wire = ac.encode(ac.request_challenge(Version.V1, 1, USER))
    with pytest.raises(Refused) as refused:
        ac.decode(wire, SECRET, version=Version.V2)
    assert refused.value.reason == DropReason.BAD_VERSION


def _ntf(attributes: bytes, count: int) -> bytes:
    header = ac.HEADER.pack(2, PacketType.NTF_LOGOUT, 0, 0, 1, 0, bytes(4), 0, 0, count)
    return header + ac.authenticator(header, attributes, SECRET) + attributes


@pytest.mark.parametrize(("wire", "reason"), [
    (b"", DropReason.MALFORMED),
    (b"\x02\x08" + bytes(14), DropReason.MALFORMED),  # v2 header cut short
    (b"\x03\x08" + bytes(30), DropReason.BAD_VERSION),
    (b"\x02\x63" + bytes(30), DropReason.UNEXPECTED_TYPE),
    (bytes(5000), DropReason.MALFORMED),
    (_ntf(b"\x01\x05abc", 2), DropReason.LYING_ATTRIBUTE_COUNT),
    (_ntf(b"\x01\x05abc\x01\x03a", 1), DropReason.LYING_ATTRIBUTE_COUNT),
    (_ntf(b"\x01\x09abc", 1), DropReason.OVERSIZED_ATTRIBUTE),  # runs past the end
    (_ntf(b"\x03\x14" + bytes(18), 1), DropReason.OVERSIZED_ATTRIBUTE),  # an 18-octet challenge
    (_ntf(b"\x0a\x05abc", 1), DropReason.MALFORMED),  # a 3-octet BAS-IP
    (_ntf(b"\x01\x01", 1), DropReason.MALFORMED),  # length below its own header
    (_ntf(b"\x01", 1), DropReason.MALFORMED),
], ids=lambda v: v.value if isinstance(v, DropReason) else None)
def test_broken_datagrams_are_refused_with_their_reason(wire: bytes,
                                                        reason: DropReason) -> None:
    with pytest.raises(Refused) as refused:
        ac.decode(wire, SECRET)
    assert refused.value.reason == reason


VALID = [ac.encode(p, SECRET) for p in (
    ac.request_challenge(Version.V2, 1, USER, bas_ip="10.0.0.1", user_mac=b"\2" * 6),
    ac.request_auth_chap(Version.V2, 2, USER, 3, b"u", b"p", CHALLENGE),
    Packet(Version.V2, PacketType.NTF_LOGOUT, 3, USER),
)] + [ac.encode(ac.request_auth_pap(Version.V1, 4, USER, b"u", b"p"))]


def _decodes_or_refuses(wire: bytes) -> None:
    try:
        ac.decode(wire, SECRET)
    except Refused as refused:
        reason = refused.reason
        assert reason in DropReason


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=600))
def test_random_datagrams_never_crash(wire: bytes) -> None:
    _decodes_or_refuses(wire)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)),
                                        max_size=4),
       st.integers(-20, 20))
def test_near_valid_datagrams_are_refused_or_decoded(base: bytes,
                                                     flips: list[tuple[int, int]],
                                                     cut: int) -> None:
    wire = bytearray(base)
    for offset, value in flips:
        if offset < len(wire):
            wire[offset] = value
    wire = wire[:cut] if cut < 0 else wire + bytes(cut)
    _decodes_or_refuses(bytes(wire))
    if bytes(wire) != base and wire[0] == 2:  # a changed signed datagram is never accepted
        with pytest.raises(Refused):
            ac.decode(bytes(wire), SECRET)
