"""Login gates: a domain's say in a network login that another domain's RADIUS decides.

The RADIUS domain asks every registered gate (``Domain.gates``) about an Access-Request
before its own credentials: an 802.1X login FreeRADIUS authenticated (EAP) and a MAC
authentication bypass request (Service-Type Call-Check). A gate answers ``None`` for a
login that is not its own. An 802.1X login FreeRADIUS refused is told to every gate too
(``refused``), once recorded. The kernel only carries the question and the answer, so
neither domain imports the other (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from citynet.runtime import Runtime


@dataclass(frozen=True)
class GateRequest:
    """What a gate sees of a login (RADIUS attribute values, as the NAS sent them)."""

    user: str  # User-Name: the person (EAP) or the MAC (bypass)
    mac: str  # Calling-Station-Id in aa:bb:cc:dd:ee:ff form, "" if none
    nas: str  # the NAS's registered name (the switch or AC)
    vendor: str  # the NAS's vendor (inventory's NasVendor value)
    eap: bool  # FreeRADIUS authenticated it with EAP already
    bypass: bool  # Service-Type Call-Check: a MAC authentication bypass request
    local_time: time = time(12)  # now, in the district's time zone (time-of-day rules)
    port: str = ""  # NAS-Port-Id (a switch port)
    called_station: str = ""  # Called-Station-Id (AP MAC:SSID)
    # how many other devices the identity has online now (live sessions, not this MAC)
    online: Callable[[str], int] = field(default=lambda _identity: 0, repr=False)
    # EAP-TLS: the serial of the client certificate FreeRADIUS verified (hex as
    # FreeRADIUS writes it), "" for other logins
    certificate: str = ""


@dataclass(frozen=True)
class GateAnswer:
    """A gate's decision: the reply attributes of an accept, why not for a reject."""

    accept: bool
    attributes: Mapping[str, object]
    method: str  # how it was admitted, for the records (eap, mab)
    identity: str  # whom the login is for (the person; the MAC's profile)
    reason: str = ""


class LoginGate(Protocol):
    def admit(self, session: Session, request: GateRequest) -> GateAnswer | None:
        """The answer, in the caller's transaction; None: not this gate's login."""

    def refused(self, session: Session, request: GateRequest, reason: str) -> None:
        """An 802.1X login FreeRADIUS refused itself (``reason`` as recorded, e.g. a
        wrong password inside PEAP), in the transaction of its record: noted if it
        matters to this gate (guesses counted), else nothing."""


@dataclass(frozen=True)
class Ended:
    """A live session a domain was asked to end, and what its NAS answered."""

    nas: str
    session_id: str
    ok: bool
    answer: str
    seconds: float  # from the request leaving to the answer (or giving up)


# end every live session of an identity at once (RFC 5176 Disconnect to each NAS)
SessionEnder = Callable[["Runtime", str], list[Ended]]


@dataclass(frozen=True)
class LiveSession:
    """An open network session as another domain's staff pages show it."""

    key: str  # the owning domain's handle, for ``end_session``
    identity: str  # the person (EAP) or the MAC's profile (bypass)
    method: str  # eap, mab, ...
    mac: str
    nas: str  # the switch or AC
    port: str  # NAS-Port-Id, "" for WiFi
    station: str  # Called-Station-Id (AP MAC:SSID), "" on a wired port
    started_at: datetime


# the open sessions of the given login methods (of one identity unless ""), newest
# first, at most ``limit``
SessionLister = Callable[["Runtime", tuple[str, ...], str, int], list[LiveSession]]
# end one live session by its key (RFC 5176 Disconnect); None: no such open session
SessionKicker = Callable[["Runtime", str], "Ended | None"]
