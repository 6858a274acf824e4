"""Structural checks of a raw RADIUS datagram, done before any decoder sees it.

pyrad decodes before anything is authenticated, and its decoders have had
pre-authentication denial-of-service bugs (older releases loop forever on a zero-length
vendor sub-attribute). So every datagram from the network is checked here first and
pyrad only ever sees structurally valid packets. Pure: bytes in, a :class:`Datagram` or
:class:`Malformed` out, in time linear in the input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

MIN_LENGTH = 20
MAX_LENGTH = 4096
MAX_ATTRIBUTES = 200
VENDOR_SPECIFIC = 26
MESSAGE_AUTHENTICATOR = 80
USER_PASSWORD = 2
CHAP_PASSWORD = 3


class Code(IntEnum):
    ACCESS_REQUEST = 1
    ACCESS_ACCEPT = 2
    ACCESS_REJECT = 3
    ACCOUNTING_REQUEST = 4
    ACCOUNTING_RESPONSE = 5
    ACCESS_CHALLENGE = 11
    STATUS_SERVER = 12
    DISCONNECT_REQUEST = 40
    DISCONNECT_ACK = 41
    DISCONNECT_NAK = 42
    COA_REQUEST = 43
    COA_ACK = 44
    COA_NAK = 45


AUTH_PORT_CODES = frozenset({Code.ACCESS_REQUEST, Code.STATUS_SERVER})
ACCT_PORT_CODES = frozenset({Code.ACCOUNTING_REQUEST, Code.STATUS_SERVER})

# Attributes whose length the RFCs fix; a wrong one is malformed, not merely odd.
FIXED_LENGTHS = {MESSAGE_AUTHENTICATOR: 18, CHAP_PASSWORD: 19}


class Malformed(ValueError):
    """The datagram is not well-formed RADIUS; the message is a short reason for counters."""


@dataclass(frozen=True)
class Datagram:
    code: Code
    identifier: int
    authenticator: bytes
    raw: bytes  # exactly Length bytes (trailing padding removed, RFC 2865 section 3)
    attribute_types: tuple[int, ...]

    @property
    def has_message_authenticator(self) -> bool:
        return MESSAGE_AUTHENTICATOR in self.attribute_types


def check(data: bytes, allowed_codes: frozenset[Code]) -> Datagram:
    """Check the header, every attribute and every vendor sub-attribute."""
    if len(data) < MIN_LENGTH:
        raise Malformed("shorter than a RADIUS header")
    code_value, identifier, length = struct.unpack_from("!BBH", data)
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise Malformed("length field outside 20..4096")
    if length > len(data):
        raise Malformed("length field beyond the datagram")
    try:
        code = Code(code_value)
    except ValueError:
        raise Malformed("unknown code") from None
    if code not in allowed_codes:
        raise Malformed("code not served on this port")
    raw = data[:length]
    types = []
    offset = MIN_LENGTH
    while offset < length:
        if offset + 2 > length:
            raise Malformed("attribute header cut short")
        attr_type, attr_length = raw[offset], raw[offset + 1]
        if attr_length < 2 or offset + attr_length > length:
            raise Malformed("attribute length outside the packet")
        if FIXED_LENGTHS.get(attr_type, attr_length) != attr_length:
            raise Malformed(f"attribute {attr_type} has the wrong length")
        if attr_type == USER_PASSWORD and (attr_length - 2 < 16 or (attr_length - 2) % 16
                                           or attr_length - 2 > 128):
            raise Malformed("User-Password length is not 16..128 in steps of 16")
        if attr_type == VENDOR_SPECIFIC:
            _check_vendor(raw[offset + 2: offset + attr_length])
        types.append(attr_type)
        if len(types) > MAX_ATTRIBUTES:
            raise Malformed("more than 200 attributes")
        offset += attr_length
    return Datagram(code, identifier, raw[4:20], raw, tuple(types))


def _check_vendor(value: bytes) -> None:
    """Vendor-Specific: 4-byte vendor id, then RFC 2865 style sub-attributes filling it.

    Vendors with other layouts (2-byte types, TLV) are refused: none of the NAS families
    citynet serves uses them, and refusing is what keeps the decoder safe.
    """
    if len(value) < 6:
        raise Malformed("Vendor-Specific shorter than vendor id + sub-attribute")
    offset = 4
    while offset < len(value):
        if offset + 2 > len(value):
            raise Malformed("vendor sub-attribute header cut short")
        sub_length = value[offset + 1]
        if sub_length < 2 or offset + sub_length > len(value):
            raise Malformed("vendor sub-attribute length outside its attribute")
        offset += sub_length
