"""The pyrad adapter: the only module that imports pyrad.

Datagrams reach it only after :func:`radius.wire.check`; anything pyrad still raises on
hostile-but-well-formed input (undecodable UTF-8, a short IPv4 value) becomes
:class:`~radius.wire.Malformed` here, so no pyrad exception crosses this boundary.

What the listener receives and answers — every request — goes through pyrad's dictionary
and value codecs (``pyrad.tools``) but not its ``Packet`` class: wire.check has already
walked the attributes, and a Packet per request (built, copied for the reply, encoded
attribute by attribute through name lookups) cost more than the rest of the packet work
together. The framing, Message-Authenticator (RFC 3579 3.2), User-Password (RFC 2865
5.2) and Response Authenticator are a few lines of hashing here. Requests citynet sends
(CoA, Disconnect, tests) and the NAS's answers to them still use pyrad's Packet.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from pyrad import packet as pyrad_packet
from pyrad import tools as pyrad_tools
from pyrad.dictionary import Attribute, Dictionary

from radius.wire import (
    MESSAGE_AUTHENTICATOR,
    USER_PASSWORD,
    VENDOR_SPECIFIC,
    Code,
    Datagram,
    Malformed,
    check,
)

DICTIONARY_PATH = files("radius") / "dictionaries" / "dictionary"


@cache
def dictionary() -> Dictionary:
    return Dictionary(str(DICTIONARY_PATH))


@cache
def _by_number() -> dict[tuple[int, int], Attribute]:
    """The dictionary's attributes by (vendor id or 0, attribute number)."""
    found: dict[tuple[int, int], Attribute] = {}
    for attribute in dictionary().attributes.values():
        if attribute.is_sub_attribute or attribute.type == "tlv":
            continue  # none in our dictionaries; wire.check refuses TLV layouts anyway
        vendor = dictionary().vendors.GetForward(attribute.vendor) if attribute.vendor else 0
        found[(vendor, attribute.code)] = attribute
    return found


def _attributes(raw: bytes) -> list[tuple[int, int, bytes]]:
    """(vendor or 0, number, value) of every attribute and vendor sub-attribute, in order.
    Only for datagrams wire.check passed: it has checked every length walked here."""
    found = []
    offset, end = 20, len(raw)
    while offset < end:
        number, length = raw[offset], raw[offset + 1]
        value = raw[offset + 2: offset + length]
        if number == VENDOR_SPECIFIC:
            vendor = int.from_bytes(value[:4], "big")
            inner = 4
            while inner < len(value):
                sub_number, sub_length = value[inner], value[inner + 1]
                found.append((vendor, sub_number, value[inner + 2: inner + sub_length]))
                inner += sub_length
        else:
            found.append((0, number, value))
        offset += length
    return found


def _decoded(attribute: Attribute, value: bytes) -> Any:
    if attribute.values.HasBackward(value):  # a named value (Acct-Status-Type = Start)
        return attribute.values.GetBackward(value)
    decoded = pyrad_tools.DecodeAttr(attribute.type, value)
    if isinstance(decoded, str) and "\0" in decoded:
        decoded = without_nul(decoded)
    return decoded


def without_nul(text: str) -> str:
    """A string attribute without NUL, which PostgreSQL refuses in text (the record lost,
    the NAS retrying; SQLite gets the same, so both stores keep the same value). NULs at
    the end (some NASes end their strings C-style) go, so that a Disconnect naming the
    session still matches once the NAS compares without them; one inside becomes U+FFFD."""
    return text.rstrip("\0").replace("\0", "\ufffd")


@dataclass
class Request:
    """A decoded request, with the secret of the NAS it came from."""

    datagram: Datagram
    secret: bytes
    values: dict[str, Any]  # first value of each attribute, decoded once
    raw: dict[int, bytes]  # first raw value of each top-level attribute, by number

    @property
    def code(self) -> Code:
        return self.datagram.code

    def get(self, name: str) -> Any:
        """The first value of an attribute, or None."""
        return self.values.get(name)


def decode(datagram: Datagram, secret: bytes) -> Request:
    """Every attribute the dictionary knows, decoded now, once: a bad value is caught
    here, not in policy code. The first value of each is kept; unknown ones are skipped."""
    table = _by_number()
    values: dict[str, Any] = {}
    raw: dict[int, bytes] = {}
    try:
        for vendor, number, value in _attributes(datagram.raw):
            if not vendor:
                raw.setdefault(number, value)
            attribute = table.get((vendor, number))
            if attribute is None:
                continue
            decoded = _decoded(attribute, value)
            values.setdefault(attribute.name, decoded)
    except Exception as exc:  # boundary: pyrad raises many kinds on odd values
        raise Malformed(f"undecodable attribute ({type(exc).__name__})") from None
    return Request(datagram, secret, values, raw)


def _message_authenticator(raw: bytes, authenticator: bytes, secret: bytes) -> bytes:
    """HMAC-MD5 over the packet with ``authenticator`` in the header's place and every
    Message-Authenticator value zeroed (RFC 3579 section 3.2)."""
    zeroed = bytearray(raw)
    zeroed[4:20] = authenticator
    offset = 20
    while offset < len(zeroed):
        number, length = zeroed[offset], zeroed[offset + 1]
        if number == MESSAGE_AUTHENTICATOR:
            zeroed[offset + 2: offset + length] = bytes(length - 2)
        offset += length
    return hmac.digest(secret, bytes(zeroed), "md5")


def accounting_response(request: Request, secret: bytes) -> bytes:
    """An Accounting-Response with no attributes (RFC 2866 section 3): built directly,
    it is sent once per accounting record."""
    head = bytes((Code.ACCOUNTING_RESPONSE, request.datagram.identifier, 0, 20))
    authenticator = hashlib.md5(  # noqa: S324  # RFC 2866's Response Authenticator
        head + request.datagram.authenticator + secret).digest()
    return head + authenticator


def signature_valid(request: Request, secret: bytes) -> bool:
    """Message-Authenticator (Access-Request, Status-Server) or Request Authenticator
    (Accounting-Request), compared in constant time."""
    raw = request.datagram.raw
    if request.code == Code.ACCOUNTING_REQUEST:
        expected = hashlib.md5(raw[:4] + bytes(16) + raw[20:] + secret).digest()  # noqa: S324
        return hmac.compare_digest(expected, request.datagram.authenticator)
    given = request.raw.get(MESSAGE_AUTHENTICATOR)
    if given is None:
        return False
    return hmac.compare_digest(given, _message_authenticator(
        raw, request.datagram.authenticator, secret))


def pap_password(request: Request) -> str | None:
    """The User-Password in clear (RFC 2865 section 5.2), or None. wire.check has made
    sure it is 16..128 octets in steps of 16."""
    hidden = request.raw.get(USER_PASSWORD)
    if not hidden:
        return None
    clear = bytearray()
    previous = request.datagram.authenticator
    for start in range(0, len(hidden), 16):
        block = hidden[start:start + 16]
        pad = hashlib.md5(request.secret + previous).digest()  # noqa: S324  # RFC 2865
        clear += bytes(a ^ b for a, b in zip(block, pad, strict=True))
        previous = block
    # a wrong secret gives bytes that are not UTF-8: ignored, so the password is wrong
    return bytes(clear).rstrip(b"\x00").decode("utf-8", errors="ignore")


def chap_ok(chap_password: bytes | None, challenge: bytes, password: str) -> bool:
    """RFC 1994 CHAP: MD5(ident + secret + challenge). The challenge is CHAP-Challenge or
    the Request Authenticator (RFC 2865 section 5.3): see decisions.attempt_of."""
    if not chap_password or len(chap_password) != 17:
        return False
    expected = hashlib.md5(chap_password[:1] + password.encode() + challenge).digest()  # noqa: S324
    return hmac.compare_digest(expected, chap_password[1:])


@lru_cache(maxsize=4096, typed=True)  # a profile's limits recur in every Access-Accept
def _encoded(name: str, value: Any) -> bytes:
    """One attribute, Vendor-Specific wrapped if it is a vendor's (RFC 2865 5.26)."""
    attribute = dictionary().attributes[name]
    if attribute.encrypt or attribute.has_tag:  # none in our dictionaries; never in clear
        raise ValueError(f"{name} needs encryption or a tag: not supported in replies")
    data: bytes = (attribute.values.GetForward(value) if attribute.values.HasForward(value)
                   else pyrad_tools.EncodeAttr(attribute.type, value))
    if not attribute.vendor:
        if len(data) > 253:
            raise ValueError(f"{name} is longer than 253 octets")
        return struct.pack("!BB", attribute.code, len(data) + 2) + data
    if len(data) > 247:
        raise ValueError(f"{name} is longer than 247 octets")
    vendor = dictionary().vendors.GetForward(attribute.vendor)
    return struct.pack("!BBIBB", VENDOR_SPECIFIC, len(data) + 8, vendor, attribute.code,
                       len(data) + 2) + data


def reply(request: Request, code: Code, attributes: dict[str, Any] | None = None) -> bytes:
    """Encode a reply. Replies to Access-Request and Status-Server carry a
    Message-Authenticator as their first attribute (Blast-RADIUS, CVE-2024-3596)."""
    body = b"".join(_encoded(name, item) for name, value in (attributes or {}).items()
                    for item in (value if isinstance(value, list) else [value]))
    signed = request.code in (Code.ACCESS_REQUEST, Code.STATUS_SERVER)
    if signed:
        body = struct.pack("!BB", MESSAGE_AUTHENTICATOR, 18) + bytes(16) + body
    if len(body) > 4096 - 20:
        raise ValueError("reply longer than 4,096 octets")
    header = struct.pack("!BBH", code, request.datagram.identifier, 20 + len(body))
    request_authenticator = request.datagram.authenticator
    if signed:  # over the reply with the Request Authenticator in the header's place
        body = body[:2] + hmac.digest(
            request.secret, header + request_authenticator + body, "md5") + body[18:]
    response_authenticator = hashlib.md5(  # noqa: S324  # RFC 2865 section 3
        header + request_authenticator + body + request.secret).digest()
    return header + response_authenticator + body


def encode_request(code: Code, secret: bytes, attributes: dict[str, Any], *,
                   identifier: int | None = None, message_authenticator: bool = True,
                   password: str | None = None) -> bytes:
    """Encode a request as a NAS (or citynet's CoA client) sends it."""
    kwargs: dict[str, Any] = {"secret": secret, "dict": dictionary()}
    if identifier is not None:
        kwargs["id"] = identifier
    if code == Code.ACCOUNTING_REQUEST:
        packet = pyrad_packet.AcctPacket(**kwargs)
    elif code in (Code.COA_REQUEST, Code.DISCONNECT_REQUEST):
        packet = pyrad_packet.CoAPacket(code=int(code), **kwargs)
    else:
        packet = pyrad_packet.AuthPacket(code=int(code), **kwargs)
    for name, value in attributes.items():
        for item in value if isinstance(value, list) else [value]:
            packet.AddAttribute(name, item)
    if password is not None:
        packet["User-Password"] = packet.PwCrypt(password)
    if message_authenticator:
        packet.add_message_authenticator()
    raw: bytes = packet.RequestPacket()
    return raw


def reply_from_nas(request_raw: bytes, reply_raw: bytes, secret: bytes,
                   allowed: frozenset[Code]) -> dict[str, Any]:
    """Check and decode a NAS's answer to our CoA/Disconnect request (RFC 5176 3.3).

    Returns the attributes; raises Malformed if it is not an answer to this request."""
    datagram = check(reply_raw, allowed)
    if datagram.identifier != request_raw[1]:
        raise Malformed("answer to another request (Identifier differs)")
    request_authenticator = request_raw[4:20]
    raw = datagram.raw
    expected = hashlib.md5(raw[:4] + request_authenticator + raw[20:] + secret).digest()  # noqa: S324
    if not hmac.compare_digest(expected, datagram.authenticator):
        raise Malformed("Response Authenticator does not match (wrong secret?)")
    try:
        packet = pyrad_packet.CoAPacket(packet=raw, secret=secret, dict=dictionary())
        if datagram.has_message_authenticator and not packet.verify_message_authenticator(
                secret=secret, original_authenticator=request_authenticator,
                original_code=request_raw[0]):
            raise Malformed("Message-Authenticator does not match")
        names = packet.keys()  # pyrad's keys() gives names; iterating gives codes
        return {key: packet[key] for key in names if isinstance(key, str)}
    except Malformed:
        raise
    except Exception as exc:  # boundary: pyrad raises many kinds on odd values
        raise Malformed(f"undecodable answer ({type(exc).__name__})") from None
