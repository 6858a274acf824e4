"""Logins inside an EAP tunnel (PEAP, EAP-TTLS) that FreeRADIUS's inner-tunnel server
asks citynet about: the contract between the rlm_rest API (which serves the call) and the
domain that knows the people (registered as ``Domain.tunnel_logins``).

FreeRADIUS does the TLS tunnel and MSCHAPv2 itself; for PEAP-MSCHAPv2 the answer is the
person's NT hash (``credentials``), and FreeRADIUS's mschap module decides. For TTLS/PAP
the password arrives and the answer is the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Verdict(StrEnum):
    ACCEPT = "accept"  # the password was right (PAP)
    CREDENTIALS = "credentials"  # FreeRADIUS checks the login against ``control``
    REJECT = "reject"  # known here, and refused (``reason`` says why)
    NOTFOUND = "notfound"  # nobody here by that name


@dataclass(frozen=True)
class TunnelLogin:
    user: str  # the inner identity (the real one; the outer may be anonymous)
    password: str | None  # TTLS/PAP's; None for PEAP-MSCHAPv2
    eap_type: str  # the inner EAP method FreeRADIUS names ("MSCHAPv2"), "" for PAP
    nas: str
    calling_station: str = ""


@dataclass(frozen=True)
class TunnelAnswer:
    verdict: Verdict
    reason: str = ""  # for a reject: said to the user (Reply-Message) and logged
    control: Mapping[str, str] = field(default_factory=dict)  # e.g. NT-Password (secret)
    reply: Mapping[str, str | int] = field(default_factory=dict)

    def __repr__(self) -> str:  # control holds password equivalents: never print them
        return f"TunnelAnswer({self.verdict}, {self.reason!r}, control={sorted(self.control)})"


# a domain's source of tunnel logins: for PEAP (no password) called on the RADIUS
# service's event loop, as its rounds' store work is, so that answer is one quick read of
# the store; a password to verify (TTLS/PAP: a deliberately slow hash) is called on a thread
TunnelSource = Callable[[TunnelLogin], TunnelAnswer]


@dataclass(frozen=True)
class EapPart:
    """What a domain adds to the generated FreeRADIUS config for EAP: the ``eap`` module
    (text inside ``modules {}``) whose PEAP and TTLS use :data:`INNER_SERVER`; its files
    are already written under the config directory."""

    module: str
    files: tuple[Path, ...]


INNER_SERVER = "citynet-inner-tunnel"
