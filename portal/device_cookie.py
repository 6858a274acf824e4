"""The remembered device's cookie: what one tap on the portal rests on.

A MAC is not a secret (anyone on the WiFi can see and clone it), so a remembered MAC
alone must not let a browser log in as its owner on the portal. At the login that
remembers a device, the portal sets a cookie signed with the web key that names that
remembrance and the MAC; one tap is offered and accepted only where the browser
presents it for the MAC the NAS reports. The NAS's own MAC authentication is not the
portal's and stays MAC-only (:mod:`radius.remembered`).
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

NAME = "citynet-device"
_SALT = "portal remembered device"


def _signer(key: bytes) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=_SALT)


def value(key: bytes, mac: str, device_id: int) -> str:
    """The cookie for remembrance ``device_id`` of ``mac`` (normal form)."""
    return _signer(key).dumps([mac, device_id])


def remembrance(key: bytes, cookie: str, mac: str) -> int | None:
    """The remembrance a cookie names for ``mac``; None if it is absent, forged, or
    names another device."""
    if not cookie or not mac:
        return None
    try:
        found = _signer(key).loads(cookie)
    except BadSignature:
        return None
    if (not isinstance(found, list) or len(found) != 2 or found[0] != mac
            or not isinstance(found[1], int) or isinstance(found[1], bool)):
        return None
    return found[1]
