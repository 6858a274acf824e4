"""The pyrad adapter: the only module that imports pyrad.

Datagrams reach it only after :func:`radius.wire.check`; anything pyrad still raises on
hostile-but-well-formed input (undecodable UTF-8, a short IPv4 value) becomes
:class:`~radius.wire.Malformed` here, so no pyrad exception crosses this boundary.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary

from radius.wire import Code, Datagram, Malformed, check

DICTIONARY_PATH = files("radius") / "dictionaries" / "dictionary"


@cache
def dictionary() -> Dictionary:
    return Dictionary(str(DICTIONARY_PATH))


@dataclass
class Request:
    """A decoded request, with the secret of the NAS it came from."""

    datagram: Datagram
    packet: Any  # the pyrad packet; stays inside this module
    values: dict[str, Any]  # first value of each attribute, decoded once

    @property
    def code(self) -> Code:
        return self.datagram.code

    def get(self, name: str) -> Any:
        """The first value of an attribute, or None."""
        return self.values.get(name)


def decode(datagram: Datagram, secret: bytes) -> Request:
    cls = pyrad_packet.AcctPacket if datagram.code == Code.ACCOUNTING_REQUEST else (
        pyrad_packet.AuthPacket)
    try:
        packet = cls(packet=datagram.raw, secret=secret, dict=dictionary())
        # decode every value now, once: a bad one is caught here, not in policy code
        values = {}
        for key in packet.keys():  # noqa: SIM118  # pyrad: keys() gives names, iteration codes
            decoded = packet[key]
            if isinstance(key, str) and decoded:
                values[key] = decoded[0]
    except Exception as exc:  # boundary: pyrad raises many kinds on odd values
        raise Malformed(f"undecodable attribute ({type(exc).__name__})") from None
    return Request(datagram, packet, values)


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
    if not request.datagram.has_message_authenticator:
        return False
    return bool(request.packet.verify_message_authenticator(secret=secret))


def pap_password(request: Request) -> str | None:
    encrypted = request.packet.get(2)  # raw User-Password octets
    if not encrypted:
        return None
    try:
        password: str = request.packet.PwDecrypt(encrypted[0])
    except (UnicodeDecodeError, ValueError):
        return None
    return password


def chap_ok(chap_password: bytes | None, challenge: bytes, password: str) -> bool:
    """RFC 1994 CHAP: MD5(ident + secret + challenge). The challenge is CHAP-Challenge or
    the Request Authenticator (RFC 2865 section 5.3): see decisions.attempt_of."""
    if not chap_password or len(chap_password) != 17:
        return False
    expected = hashlib.md5(chap_password[:1] + password.encode() + challenge).digest()  # noqa: S324
    return hmac.compare_digest(expected, chap_password[1:])


def reply(request: Request, code: Code, attributes: dict[str, Any] | None = None) -> bytes:
    """Encode a reply. Replies to Access-Request and Status-Server carry a
    Message-Authenticator as their first attribute (Blast-RADIUS, CVE-2024-3596)."""
    packet = request.packet.CreateReply()
    packet.code = int(code)
    for name, value in (attributes or {}).items():
        for item in value if isinstance(value, list) else [value]:
            packet.AddAttribute(name, item)
    if request.code in (Code.ACCESS_REQUEST, Code.STATUS_SERVER):
        packet.add_message_authenticator()
    raw: bytes = packet.ReplyPacket()
    return raw


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
