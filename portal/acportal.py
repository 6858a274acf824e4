"""The Portal protocol that Huawei, H3C and Ruijie access controllers speak with an
external portal server over UDP: CMCC WLAN Portal v1 (no integrity check) and Huawei
Portal 2.0 (a 16-byte MD5 authenticator keyed with the per-AC shared secret).

Pure: bytes in, :class:`Packet` or :class:`Refused` out, and back; no sockets, no clock.
Every datagram is length- and structure-checked before any field is used, so a broken or
hostile datagram is refused with a :class:`DropReason`, never an exception of another kind.
Which documents this follows, and where readings differ, is in docs/portal.md.

Header (16 bytes; v2 adds the authenticator, 32 bytes)::

    ver type method rsv | serial(2) | req_id(2) | user_ip(4) | user_port(2) | err | attr_num
    [authenticator(16), v2 only] then attr_num TLVs: type(1) length(1, header included) value
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

HEADER = struct.Struct("!BBBBHH4sHBB")
V1_HEADER_LEN = HEADER.size  # 16
AUTHENTICATOR_LEN = 16
V2_HEADER_LEN = V1_HEADER_LEN + AUTHENTICATOR_LEN  # 32
MAX_DATAGRAM = 4096  # header + 255 attributes would need ~64 KiB; no AC sends more than a few
MAX_ATTRIBUTE_VALUE = 253  # one length octet, header included
ZERO_AUTHENTICATOR = bytes(AUTHENTICATOR_LEN)


class Version(IntEnum):
    V1 = 1  # CMCC WLAN Portal v1 / Huawei Portal 1.0: no authenticator
    V2 = 2  # Huawei Portal 2.0: MD5 authenticator with the shared secret


class PacketType(IntEnum):
    REQ_CHALLENGE = 0x01  # portal → AC
    ACK_CHALLENGE = 0x02  # AC → portal
    REQ_AUTH = 0x03
    ACK_AUTH = 0x04
    REQ_LOGOUT = 0x05  # portal → AC; err 1: "my earlier request timed out, undo it"
    ACK_LOGOUT = 0x06
    AFF_ACK_AUTH = 0x07  # portal → AC: "I got your ACK_AUTH"; no answer
    NTF_LOGOUT = 0x08  # AC → portal: the user is gone (idle, kicked, RADIUS disconnect)
    REQ_INFO = 0x09
    ACK_INFO = 0x0A
    ACK_NTF_LOGOUT = 0x0E  # portal → AC: NTF_LOGOUT taken


class AuthMethod(IntEnum):
    CHAP = 0x00
    PAP = 0x01


class Attribute(IntEnum):
    USER_NAME = 0x01
    PASSWORD = 0x02  # PAP, in clear (v1) — one more reason to prefer CHAP
    CHALLENGE = 0x03
    CHAP_PASSWORD = 0x04
    TEXT_INFO = 0x05  # why the AC refused, in its words
    UPLINK_FLUX = 0x06
    DOWNLINK_FLUX = 0x07
    PORT = 0x08
    IP_CONFIG = 0x09
    BAS_IP = 0x0A  # the AC's own address (Huawei v2)
    SESSION_ID = 0x0B  # the user's MAC (Huawei v2)
    DELAY_TIME = 0x0C


# (smallest, largest) value length of the attributes whose size the documents fix
ATTRIBUTE_SIZES: dict[int, tuple[int, int]] = {
    Attribute.USER_NAME: (1, MAX_ATTRIBUTE_VALUE),
    Attribute.PASSWORD: (1, MAX_ATTRIBUTE_VALUE),
    Attribute.CHALLENGE: (16, 16),
    Attribute.CHAP_PASSWORD: (16, 16),
    Attribute.BAS_IP: (4, 4),
    Attribute.SESSION_ID: (1, 32),
    Attribute.UPLINK_FLUX: (1, 8),
    Attribute.DOWNLINK_FLUX: (1, 8),
    Attribute.DELAY_TIME: (1, 4),
}

# Types whose authenticator covers the request's authenticator (like a RADIUS response);
# the others (requests and the AC's unsolicited NTF_LOGOUT) cover sixteen zero octets.
RESPONSES = frozenset({PacketType.ACK_CHALLENGE, PacketType.ACK_AUTH, PacketType.ACK_LOGOUT,
                       PacketType.ACK_INFO, PacketType.ACK_NTF_LOGOUT})
FROM_AC = frozenset({PacketType.ACK_CHALLENGE, PacketType.ACK_AUTH, PacketType.ACK_LOGOUT,
                     PacketType.ACK_INFO, PacketType.NTF_LOGOUT})


class ChallengeError(IntEnum):
    OK = 0
    REJECTED = 1
    ALREADY_ONLINE = 2  # "link already established"
    BUSY = 3  # another authentication of this user is in progress
    FAILED = 4


class AuthError(IntEnum):
    OK = 0
    REJECTED = 1
    ALREADY_ONLINE = 2
    BUSY = 3
    FAILED = 4


class LogoutRequest(IntEnum):
    """ErrCode of a REQ_LOGOUT."""

    LOGOUT = 0
    TIMEOUT = 1  # an earlier REQ_CHALLENGE/REQ_AUTH went unanswered: drop what it started


class LogoutError(IntEnum):
    OK = 0
    REJECTED = 1
    FAILED = 2  # e.g. the user was not online


class DropReason(StrEnum):
    """Why a datagram was not used; the names are the counter labels."""

    MALFORMED = "malformed"
    BAD_VERSION = "bad_version"
    UNEXPECTED_TYPE = "unexpected_type"
    WRONG_AUTHENTICATOR = "wrong_authenticator"
    UNKNOWN_AC = "unknown_ac"
    UNKNOWN_REQUEST = "unknown_request"  # no exchange waits for this serial / request id
    REPLAYED_SERIAL = "replayed_serial"
    LYING_ATTRIBUTE_COUNT = "lying_attribute_count"
    OVERSIZED_ATTRIBUTE = "oversized_attribute"


class Refused(ValueError):
    """A datagram that is not used, and why (``reason``; ``detail`` is for a log line and
    never carries a secret or a password)."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Packet:
    version: Version
    type: PacketType
    serial: int
    user_ip: str
    method: AuthMethod = AuthMethod.CHAP
    req_id: int = 0
    error: int = 0
    attributes: tuple[tuple[int, bytes], ...] = ()
    user_port: int = 0
    rsv: int = 0
    authenticator: bytes = field(default=ZERO_AUTHENTICATOR, compare=False)

    def get(self, kind: int) -> bytes | None:
        """The first value of attribute ``kind``."""
        return next((value for key, value in self.attributes if key == kind), None)

    @property
    def text_info(self) -> str:
        raw = self.get(Attribute.TEXT_INFO)
        return raw.decode("utf-8", "replace") if raw else ""


# --- encoding -----------------------------------------------------------------------

def _attributes(packet: Packet) -> bytes:
    out = bytearray()
    for kind, value in packet.attributes:
        if not 0 < kind < 256 or len(value) > MAX_ATTRIBUTE_VALUE:
            raise ValueError(f"attribute {kind}: a type of 1–255 and at most "
                             f"{MAX_ATTRIBUTE_VALUE} octets")
        out += bytes((kind, len(value) + 2)) + value
    return bytes(out)


def _header(packet: Packet) -> bytes:
    return HEADER.pack(packet.version, packet.type, packet.method, packet.rsv, packet.serial,
                       packet.req_id, ipaddress.IPv4Address(packet.user_ip).packed,
                       packet.user_port, packet.error, len(packet.attributes))


def authenticator(header: bytes, attributes: bytes, secret: bytes,
                  request_authenticator: bytes = ZERO_AUTHENTICATOR) -> bytes:
    """Huawei Portal 2.0: MD5 over the 16-byte header, the request's authenticator (zeros
    for a request or an NTF_LOGOUT), the attributes and the shared secret."""
    # the protocol fixes MD5 (Huawei Portal 2.0); not our choice
    return hashlib.md5(  # noqa: S324
        header + request_authenticator + attributes + secret).digest()


def encode(packet: Packet, secret: bytes = b"",
           request_authenticator: bytes = ZERO_AUTHENTICATOR) -> bytes:
    """The datagram for ``packet``; v2 signs it (a response with the authenticator of the
    request it answers)."""
    header, attributes = _header(packet), _attributes(packet)
    if packet.version == Version.V1:
        return header + attributes
    signed_with = request_authenticator if packet.type in RESPONSES else ZERO_AUTHENTICATOR
    return header + authenticator(header, attributes, secret, signed_with) + attributes


# --- decoding -----------------------------------------------------------------------

def _parse_attributes(body: bytes, count: int) -> tuple[tuple[int, bytes], ...]:
    found: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(body):
        if len(found) == count:
            raise Refused(DropReason.LYING_ATTRIBUTE_COUNT,
                          f"{count} announced, more bytes follow")
        if len(body) - offset < 2:
            raise Refused(DropReason.MALFORMED, "a truncated attribute header")
        kind, length = body[offset], body[offset + 1]
        if length < 2:
            raise Refused(DropReason.MALFORMED, f"attribute {kind} has length {length}")
        if offset + length > len(body):
            raise Refused(DropReason.OVERSIZED_ATTRIBUTE,
                          f"attribute {kind} runs past the datagram")
        value = body[offset + 2:offset + length]
        smallest, largest = ATTRIBUTE_SIZES.get(kind, (0, MAX_ATTRIBUTE_VALUE))
        if len(value) > largest:
            raise Refused(DropReason.OVERSIZED_ATTRIBUTE,
                          f"attribute {kind}: {len(value)} octets, at most {largest}")
        if len(value) < smallest:
            raise Refused(DropReason.MALFORMED,
                          f"attribute {kind}: {len(value)} octets, at least {smallest}")
        found.append((kind, value))
        offset += length
    if len(found) != count:
        raise Refused(DropReason.LYING_ATTRIBUTE_COUNT, f"{count} announced, {len(found)} sent")
    return tuple(found)


def peek(data: bytes) -> tuple[Version, PacketType, int]:
    """Version, type and serial number of a datagram, checked only so far (to find the
    exchange it belongs to before the authenticator can be checked)."""
    if not V1_HEADER_LEN <= len(data) <= MAX_DATAGRAM:
        raise Refused(DropReason.MALFORMED, f"{len(data)} octets")
    try:
        version = Version(data[0])
    except ValueError:
        raise Refused(DropReason.BAD_VERSION, f"version {data[0]}") from None
    try:
        kind = PacketType(data[1])
    except ValueError:
        raise Refused(DropReason.UNEXPECTED_TYPE, f"type {data[1]}") from None
    return version, kind, int.from_bytes(data[4:6], "big")


def decode(data: bytes, secret: bytes = b"", *, version: Version | None = None,
           request_authenticator: bytes = ZERO_AUTHENTICATOR) -> Packet:
    """The packet in ``data``, checked whole: header, attribute list, and (v2) the
    authenticator in constant time. ``version`` given: a datagram of the other version is
    refused (an AC registered as v2 must not be reachable unsigned)."""
    got_version, kind, _ = peek(data)
    if version is not None and got_version != version:
        raise Refused(DropReason.BAD_VERSION, f"version {got_version}, expected {version}")
    header_len = V2_HEADER_LEN if got_version == Version.V2 else V1_HEADER_LEN
    if len(data) < header_len:
        raise Refused(DropReason.MALFORMED, f"{len(data)} octets, header needs {header_len}")
    (_, _, method, rsv, serial, req_id, user_ip, user_port, error,
     count) = HEADER.unpack_from(data)
    try:
        auth_method = AuthMethod(method)
    except ValueError:
        raise Refused(DropReason.MALFORMED, f"method {method}") from None
    attributes = _parse_attributes(data[header_len:], count)
    signature = data[V1_HEADER_LEN:header_len]
    if got_version == Version.V2:
        signed_with = request_authenticator if kind in RESPONSES else ZERO_AUTHENTICATOR
        expected = authenticator(data[:V1_HEADER_LEN], data[header_len:], secret, signed_with)
        if not hmac.compare_digest(expected, signature):
            raise Refused(DropReason.WRONG_AUTHENTICATOR, f"{kind.name} serial {serial}")
    return Packet(got_version, kind, serial, str(ipaddress.IPv4Address(user_ip)), auth_method,
                  req_id, error, attributes, user_port, rsv,
                  signature or ZERO_AUTHENTICATOR)


# --- CHAP and the messages the portal server sends ----------------------------------

def chap_password(req_id: int, password: bytes, challenge: bytes) -> bytes:
    """The CHAP response (RFC 1994): MD5 over the CHAP identifier (the low octet of the
    request id the AC gave), the password and the AC's challenge."""
    return hashlib.md5(bytes((req_id & 0xFF,)) + password + challenge).digest()  # noqa: S324


def _ac_attributes(bas_ip: str | None, user_mac: bytes | None) -> tuple[tuple[int, bytes], ...]:
    """The v2 attributes naming the AC and the user's MAC, when known."""
    extra: list[tuple[int, bytes]] = []
    if bas_ip:
        extra.append((Attribute.BAS_IP, ipaddress.IPv4Address(bas_ip).packed))
    if user_mac:
        extra.append((Attribute.SESSION_ID, user_mac))
    return tuple(extra)


def request_challenge(version: Version, serial: int, user_ip: str, *,
                      bas_ip: str | None = None, user_mac: bytes | None = None) -> Packet:
    return Packet(version, PacketType.REQ_CHALLENGE, serial, user_ip,
                  attributes=_ac_attributes(bas_ip, user_mac))


def request_auth_chap(version: Version, serial: int, user_ip: str, req_id: int,
                      user_name: bytes, password: bytes, challenge: bytes, *,
                      bas_ip: str | None = None, user_mac: bytes | None = None) -> Packet:
    return Packet(version, PacketType.REQ_AUTH, serial, user_ip, AuthMethod.CHAP, req_id,
                  attributes=((Attribute.USER_NAME, user_name),
                              (Attribute.CHAP_PASSWORD,
                               chap_password(req_id, password, challenge)),
                              *_ac_attributes(bas_ip, user_mac)))


def request_auth_pap(version: Version, serial: int, user_ip: str, user_name: bytes,
                     password: bytes, *, bas_ip: str | None = None,
                     user_mac: bytes | None = None) -> Packet:
    return Packet(version, PacketType.REQ_AUTH, serial, user_ip, AuthMethod.PAP, 0,
                  attributes=((Attribute.USER_NAME, user_name), (Attribute.PASSWORD, password),
                              *_ac_attributes(bas_ip, user_mac)))


def affirm_auth(answered: Packet) -> Packet:
    """AFF_ACK_AUTH for a successful ACK_AUTH (same serial and request id)."""
    return Packet(answered.version, PacketType.AFF_ACK_AUTH, answered.serial, answered.user_ip,
                  answered.method, answered.req_id)


def request_logout(version: Version, serial: int, user_ip: str, *, req_id: int = 0,
                   method: AuthMethod = AuthMethod.CHAP,
                   reason: LogoutRequest = LogoutRequest.LOGOUT,
                   bas_ip: str | None = None) -> Packet:
    """A logout, or (``reason`` TIMEOUT, with the serial and request id of the exchange
    that went unanswered) the notice that lets the AC drop a half-done login."""
    return Packet(version, PacketType.REQ_LOGOUT, serial, user_ip, method, req_id, reason,
                  attributes=_ac_attributes(bas_ip, None))


def ack_ntf_logout(notice: Packet) -> Packet:
    return Packet(notice.version, PacketType.ACK_NTF_LOGOUT, notice.serial, notice.user_ip,
                  notice.method, notice.req_id)


NO_USER = "0.0.0.0"  # noqa: S104  # a REQ_INFO names no user


def request_info(version: Version, serial: int, user_ip: str = NO_USER) -> Packet:
    return Packet(version, PacketType.REQ_INFO, serial, user_ip)
