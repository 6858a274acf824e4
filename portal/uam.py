"""CoovaChilli's UAM hand-off, as pure functions.

The NAS redirects an unauthenticated browser to the portal with its parameters and
``md``: the upper-case hex MD5 of the redirect URL up to ``&md=`` followed by the NAS's
UAM secret. After the portal has checked the person, it sends the browser back to
``http://uamip:uamport/logon`` with the user name and a CHAP response; the NAS then asks
RADIUS with CHAP-Password and, as CHAP-Challenge, MD5(challenge + UAM secret).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

RESULTS = ("notyet", "success", "failed", "already", "logoff", "wispr")
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")


class BadHandoff(ValueError):
    """A redirect the portal must not act on (unsigned, tampered, malformed)."""


@dataclass(frozen=True)
class Handoff:
    """What the NAS told the portal about this browser, after ``md`` checked out."""

    res: str
    uamip: str
    uamport: int
    challenge: str  # 32 hex digits
    nasid: str
    mac: str = ""
    ip: str = ""
    called: str = ""
    ssid: str = ""
    sessionid: str = ""
    userurl: str = ""
    lang: str = ""
    reply: str = ""  # the NAS's Reply-Message after a failed logon
    # a controller with its own web-auth (portal.formauth) instead of UAM:
    login_url: str = ""
    form_username: str = "username"
    form_password: str = "password"  # noqa: S105 - a form field's name
    # a Portal-protocol AC (portal.achandoff): its NAS name; the portal logs in through it
    ac: str = ""

    def as_dict(self) -> dict[str, str | int]:
        return dict(self.__dict__)

    @property
    def signed(self) -> bool:
        """The NAS vouched for its address and MAC: a UAM hand-off is read only after its
        md checked. Neither a web-auth controller's redirect nor a Portal-protocol AC's is
        signed: anyone can type a usermac (an AC's MAC is known only from what the AC
        itself reports, :func:`portal.capport.device_mac`)."""
        return not self.login_url and not self.ac

    @property
    def address_vouched(self) -> bool:
        """Its user address is the browser's own: signed (UAM), or an AC's redirect whose
        address the arrival checked against the request's (portal.arrival)."""
        return self.signed or bool(self.ac)

    @property
    def can_log_in(self) -> bool:
        """A login can be handed back: UAM with a challenge, or a form to post."""
        return bool(self.challenge) or bool(self.login_url) or bool(self.ac)


def signature(url_before_md: str, uam_secret: str) -> str:
    return hashlib.md5((url_before_md + uam_secret).encode()).hexdigest().upper()  # noqa: S324


def split_signed(url: str) -> tuple[str, str]:
    """(the URL up to ``&md=``, md); md is the last parameter, 32 hex digits."""
    head, sep, md = url.rpartition("&md=")
    if not sep or not _HEX32.fullmatch(md):
        raise BadHandoff("no valid md parameter: the hotspot did not sign the redirect")
    return head, md


def parse(url: str, uam_secret: str) -> Handoff:
    """Check ``md`` and read the hand-off; BadHandoff says why not."""
    head, md = split_signed(url)
    if not uam_secret:
        raise BadHandoff("this hotspot has no UAM secret registered: its redirect cannot be "
                         "checked")
    if not hmac.compare_digest(signature(head, uam_secret), md.upper()):
        raise BadHandoff("md does not match: the redirect was altered or the UAM secret "
                         "differs")
    values = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return from_values(values)


def from_values(values: dict[str, str]) -> Handoff:
    res = values.get("res", "")
    if res not in RESULTS:
        raise BadHandoff(f"unknown res {res[:20]!r}")
    try:
        uamip = str(ipaddress.ip_address(values.get("uamip", "")))
        uamport = int(values.get("uamport", ""))
    except ValueError:
        raise BadHandoff("uamip/uamport missing or not an address and port") from None
    if not 0 < uamport < 65536:
        raise BadHandoff("uamport out of range")
    challenge = values.get("challenge", "")
    if challenge and not _HEX32.fullmatch(challenge):
        raise BadHandoff("challenge is not 32 hex digits")
    return Handoff(
        res=res, uamip=uamip, uamport=uamport, challenge=challenge.lower(),
        nasid=values.get("nasid", "")[:64], mac=values.get("mac", "")[:17],
        ip=values.get("ip", "")[:45], called=values.get("called", "")[:64],
        ssid=values.get("ssid", "")[:64], sessionid=values.get("sessionid", "")[:64],
        userurl=values.get("userurl", "")[:2000], lang=values.get("lang", "")[:8],
        reply=values.get("reply", "")[:253])


def chap_challenge(challenge_hex: str, uam_secret: str) -> bytes:
    """The CHAP-Challenge the NAS sends RADIUS for this UAM challenge."""
    challenge = bytes.fromhex(challenge_hex)
    if uam_secret:
        challenge = hashlib.md5(challenge + uam_secret.encode()).digest()  # noqa: S324
    return challenge


def chap_response(challenge_hex: str, password: str, uam_secret: str) -> str:
    """RFC 1994 with identifier 0, over the NAS's CHAP-Challenge, in hex: what the
    portal hands back to the NAS as ``response``."""
    challenge = chap_challenge(challenge_hex, uam_secret)
    return hashlib.md5(b"\0" + password.encode() + challenge).hexdigest()  # noqa: S324


def logon_url(handoff: Handoff, username: str, response: str, userurl: str = "") -> str:
    query = urlencode({"username": username, "response": response, "userurl": userurl})
    return f"http://{_host(handoff.uamip)}:{handoff.uamport}/logon?{query}"


def logoff_url(handoff: Handoff) -> str:
    return f"http://{_host(handoff.uamip)}:{handoff.uamport}/logoff"


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def safe_link(url: str) -> str:
    """The original URL as a link only if it is plainly http(s) to a host ('' if not):
    no javascript:, data:, protocol-relative or credential-bearing URLs."""
    if not url or any(ord(c) < 0x21 for c in url):
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    return url
