"""The listener's codec path (pyrad's dictionary and value codecs, our framing) agrees
with pyrad's own Packet on everything it decodes, signs and answers."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrad import packet as pyrad_packet

from radius import codec, wire
from radius.wire import AUTH_PORT_CODES, Code, Malformed
from tests.unit.radius.test_wire import ATTRIBUTE, HEADER, SECRET, packet

ALL = AUTH_PORT_CODES | {Code.ACCOUNTING_REQUEST}


def by_pyrad(datagram: wire.Datagram) -> dict[str, Any]:
    """What a pyrad Packet decodes: the first value of every attribute it can name."""
    cls = (pyrad_packet.AcctPacket if datagram.code == Code.ACCOUNTING_REQUEST
           else pyrad_packet.AuthPacket)
    decoded = cls(packet=datagram.raw, secret=SECRET, dict=codec.dictionary())
    return {key: decoded[key][0] for key in decoded.keys()  # noqa: SIM118  # names
            if isinstance(key, str) and decoded[key]}


@settings(max_examples=2000, deadline=None)
@given(HEADER, st.lists(ATTRIBUTE, max_size=12))
def test_decoding_agrees_with_pyrads_packet(header: tuple[int, int],
                                            attrs: list[bytes]) -> None:
    data = packet(header[0], b"".join(attrs), header[1])
    try:
        datagram = wire.check(data, ALL)
    except Malformed:
        return
    try:
        expected = by_pyrad(datagram)
    except Exception:  # pyrad refuses a value: so must we
        with pytest.raises(Malformed):
            codec.decode(datagram, SECRET)
        return
    # one difference, on purpose: no NUL in a string (PostgreSQL refuses NUL)
    assert codec.decode(datagram, SECRET).values == {
        name: codec.without_nul(value) if isinstance(value, str) else value
        for name, value in expected.items()}


def test_a_nul_in_a_string_attribute_goes_at_the_end_and_is_marked_inside() -> None:
    raw = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET, {
        "Acct-Status-Type": "Start", "Acct-Session-Id": "s1\0", "User-Name": "a\0b\0\0",
        "NAS-Port": 0}, message_authenticator=False)
    request = codec.decode(wire.check(raw, ALL), SECRET)
    assert (request.get("Acct-Session-Id"), request.get("User-Name")) == ("s1", "a\ufffdb")
    assert request.get("NAS-Port") == 0


REQUEST_ATTRIBUTES = {
    "User-Name": "13800138000", "Calling-Station-Id": "AA-BB-CC-DD-EE-01",
    "Called-Station-Id": "00-11-22-33-44-55:CityWiFi", "NAS-IP-Address": "192.0.2.1",
    "NAS-Port": 7, "Framed-IP-Address": "10.1.2.3", "WISPr-Location-Name": "库",
}


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=100).filter(lambda t: "\x00" not in t
                                                and len(t.encode()) <= 128))
def test_pap_password_and_message_authenticator_match_pyrad(password: str) -> None:
    raw = codec.encode_request(Code.ACCESS_REQUEST, SECRET, REQUEST_ATTRIBUTES,
                               identifier=3, password=password)
    request = codec.decode(wire.check(raw, ALL), SECRET)
    assert codec.signature_valid(request, SECRET)
    assert codec.pap_password(request) == password
    assert request.values == by_pyrad(request.datagram)
    assert not codec.signature_valid(codec.decode(wire.check(raw, ALL), b"other"), b"other")
    tampered = bytearray(raw)
    tampered[-1] ^= 1  # the last octet of WISPr-Location-Name: the signature breaks
    assert not codec.signature_valid(codec.decode(wire.check(bytes(tampered), ALL), SECRET),
                                     SECRET)


@pytest.mark.parametrize("code", [Code.ACCESS_ACCEPT, Code.ACCESS_REJECT])
def test_replies_verify_and_decode_with_pyrad(code: Code) -> None:
    raw = codec.encode_request(Code.ACCESS_REQUEST, SECRET, REQUEST_ATTRIBUTES,
                               identifier=200, password="pw")
    request = codec.decode(wire.check(raw, ALL), SECRET)
    attributes = {"Session-Timeout": 3600, "Idle-Timeout": 900, "Class": b"citynet:x",
                  "WISPr-Bandwidth-Max-Down": 4_000_000, "ChilliSpot-Max-Total-Octets": 7,
                  "Reply-Message": ["上网券无效", "second line"]}
    reply = codec.reply(request, code, attributes)
    assert reply[0] == code and reply[1] == 200
    assert reply[20] == wire.MESSAGE_AUTHENTICATOR  # first (Blast-RADIUS)
    # the Response Authenticator checked as a NAS does, the Message-Authenticator by pyrad
    decoded = codec.reply_from_nas(raw, reply, SECRET, frozenset({code}))
    assert decoded["Session-Timeout"] == [3600] and decoded["Class"] == [b"citynet:x"]
    assert decoded["WISPr-Bandwidth-Max-Down"] == [4_000_000]
    assert decoded["ChilliSpot-Max-Total-Octets"] == [7]
    assert decoded["Reply-Message"] == ["上网券无效", "second line"]
    assert codec.reply(request, code, attributes) == reply  # deterministic: cacheable


def test_status_server_and_accounting_replies() -> None:
    status = codec.encode_request(Code.STATUS_SERVER, SECRET, {}, identifier=9)
    request = codec.decode(wire.check(status, ALL), SECRET)
    reply = codec.reply(request, Code.ACCESS_ACCEPT)
    assert set(codec.reply_from_nas(status, reply, SECRET, frozenset({Code.ACCESS_ACCEPT}))
               ) == {"Message-Authenticator"}
    body = b"\x28\x06\x00\x00\x00\x01"  # Acct-Status-Type = Start
    head = packet(4, body, 5)
    signed = head[:4] + hashlib.md5(head[:4] + bytes(16) + body + SECRET).digest() + body  # noqa: S324
    accounting = codec.decode(wire.check(signed, ALL), SECRET)
    assert accounting.get("Acct-Status-Type") == "Start"
    assert codec.signature_valid(accounting, SECRET)


def test_a_value_too_long_for_an_attribute_is_refused() -> None:
    raw = codec.encode_request(Code.ACCESS_REQUEST, SECRET, {"User-Name": "u"}, password="p")
    request = codec.decode(wire.check(raw, ALL), SECRET)
    with pytest.raises(ValueError, match="253"):
        codec.reply(request, Code.ACCESS_ACCEPT, {"Reply-Message": "x" * 254})
    with pytest.raises(ValueError, match="longer than 247"):
        codec.reply(request, Code.ACCESS_ACCEPT, {"WISPr-Location-Name": "x" * 248})
