"""What policy sees of a login and what it answers — the same whether the request came
over UDP to our listener or from FreeRADIUS through the rlm_rest API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from citynet.macs import normal_mac
from radius import codec
from radius.records import LoginEvent, place


@dataclass(frozen=True)
class LoginAttempt:
    user: str
    password: str | None = None  # PAP, in clear
    chap: tuple[bytes, bytes] | None = None  # (CHAP-Password, challenge)
    calling_station: str = ""
    called_station: str = ""
    framed_ip: str = ""
    service_type: str = ""  # Call-Check: a MAC authentication bypass request
    nas_port_id: str = ""  # the switch port (802.1X and MAB on wired ports)
    # how FreeRADIUS authenticated it before asking us ("eap"; "" when it is ours to do)
    authenticated: str = ""
    # EAP-TLS: the client certificate's serial as FreeRADIUS gives it
    # (TLS-Client-Cert-Serial, hex), "" for any other login
    client_certificate: str = ""


@dataclass(frozen=True)
class Decision:
    """What policy answers an Access-Request, and what the login record says of it."""

    accept: bool
    attributes: dict[str, object]
    method: str = ""  # voucher, sms, totp, mac
    reason: str = ""  # why not, in English (the Reply-Message may add Chinese)
    identity: str = ""  # whom the login is for, once known (a MAC login: the owner)


@dataclass(frozen=True)
class Login:
    """An Access-Request for the record writer: decided and recorded in one transaction."""

    attempt: LoginAttempt
    nas: str
    profile: str = "default"
    # time.monotonic() after which nobody waits for the answer (FreeRADIUS gave up):
    # then it is neither decided nor recorded, so no token is spent for nobody
    deadline: float | None = None
    # the NAS's request identity (radius.retries): a retry of a request already decided,
    # here or on another node, is answered as decided; "" when the request has none
    request_key: str = ""


@dataclass(frozen=True)
class ForeignLogin:
    """A login FreeRADIUS decided without citynet (a site's own rules ahead of it, citynet
    failing): for the record writer to record only."""

    attempt: LoginAttempt
    nas: str
    decision: Decision
    deadline: float | None = None  # as a Login's


CLASS_PREFIX = b"citynet:"


def class_of(method: str, identity: str) -> bytes:
    """The Class of our Access-Accept, echoed by the NAS in accounting: how and for whom
    the session was allowed (a MAC-auth session's User-Name is only the MAC)."""
    return (CLASS_PREFIX + f"{method}:{identity}".encode())[:253]


def class_parts(klass: object) -> tuple[str, str]:
    """(method, identity) from a Class of ours; ('', '') for anyone else's."""
    if not isinstance(klass, bytes) or not klass.startswith(CLASS_PREFIX):
        return "", ""
    method, _, identity = klass[len(CLASS_PREFIX):].decode(errors="replace").partition(":")
    # a Class comes back from the NAS: held to what the session's identity column keeps
    return method[:16], codec.without_nul(identity)[:253]


def attempt_of(request: codec.Request) -> LoginAttempt:
    chap = request.get("CHAP-Password")
    challenge = request.get("CHAP-Challenge") or request.datagram.authenticator
    return LoginAttempt(
        user=str(request.get("User-Name") or ""),
        password=codec.pap_password(request) if chap is None else None,
        chap=(chap, challenge) if chap is not None else None,
        calling_station=str(request.get("Calling-Station-Id") or ""),
        called_station=str(request.get("Called-Station-Id") or ""),
        framed_ip=str(request.get("Framed-IP-Address") or ""))


# an 802.1X login FreeRADIUS refused (rlm_rest post-auth REJECT, auth=eap): recorded at
# its port like the admissions citynet decides, so a search by port finds the refusals
REFUSED_ADMISSIONS = frozenset({"fr:eap"})


def where(attempt: LoginAttempt, method: str = "") -> str:
    """The login record's place: for an admission (802.1X, MAC bypass) the switch port
    or the AP and SSID (:func:`radius.records.place`), else Called-Station-Id."""
    if attempt.authenticated or attempt.service_type == "Call-Check" \
            or method in REFUSED_ADMISSIONS:
        return place(attempt.called_station, attempt.nas_port_id)
    return attempt.called_station


def login_record(attempt: LoginAttempt, nas: str, decision: Decision) -> LoginEvent:
    return LoginEvent(
        at=datetime.now(UTC), event="login",
        # an accept that says why is a refusal landed in a remediation VLAN
        result=(f"accept ({decision.reason})" if decision.reason else "accept")
        if decision.accept else decision.reason or "reject",
        identity=decision.identity or attempt.user, method=decision.method, nas=nas,
        mac=normal_mac(attempt.calling_station), called_station=where(attempt, decision.method),
        private_ip=attempt.framed_ip)
