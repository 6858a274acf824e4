"""People's network passwords, for the EAP methods that need one inside a TLS tunnel.

EAP-TTLS/PAP: the password reaches citynet, which checks it against an argon2id hash
(OWASP's minimum parameters: it is checked at every Wi-Fi login).
PEAP-MSCHAPv2: FreeRADIUS checks the challenge response itself and needs the NT hash
(MD4 of the UTF-16LE password), which is as good as the password to anyone holding it:
it is kept sealed (the secret box, re-sealed by ``citynet secrets rotate``) and only for
people whose role is in ``nac.peap_roles``; docs/admission.md says what else it risks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from admission import holds, people
from admission.authority import AdmissionError
from admission.choices import PersonStatus, Role
from admission.holds import Limits
from admission.md4 import nt_hash
from citynet import audit
from citynet.catalogs import N_, Message
from citynet.crypto import SecretBox
from citynet.macs import normal_mac
from citynet.staff import hash_frequent_password, verify_password
from citynet.tunnel import TunnelAnswer, TunnelLogin, Verdict

MIN_PASSWORD = 8
MAX_PASSWORD = 128  # MSCHAPv2 takes at most 256 bytes of UTF-16 (RFC 2759)
MSCHAPV2 = "MSCHAPv2"  # FreeRADIUS's name for the inner EAP type (EAP-Type)
NO_HOLD = Limits(0, 0)


@dataclass(frozen=True)
class PasswordSet:
    username: str
    peap: bool  # the NT hash was stored too


def password_problem(password: str) -> Message | None:
    if len(password) < MIN_PASSWORD:
        return Message(N_("at least %(count)s characters"), count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return Message(N_("at most %(count)s characters (MSCHAPv2's limit)"),
                       count=MAX_PASSWORD)
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return Message(N_("no control characters"))
    return None


def set_password(session: Session, box: SecretBox, username: str, password: str,
                 peap_roles: Collection[Role]) -> PasswordSet:
    """Store the argon2id hash, and the sealed NT hash if the person's role may use PEAP
    (else any NT hash stored before is dropped)."""
    problem = password_problem(password)
    if problem is not None:
        raise AdmissionError(N_("password refused: %(problem)s"), problem=problem)
    person = people.find(session, username)
    if person is None:
        raise AdmissionError(N_("no person %(name)s"), name=repr(username))
    person.password_hash = hash_frequent_password(password)
    peap = person.role in peap_roles
    person.nt_hash_sealed = box.seal(nt_hash(password).hex()) if peap else None
    session.flush()
    audit.record(session, audit.Action("admission.person.password", username, "ok",
                                       detail={"peap": peap}))
    return PasswordSet(person.username, peap)


def tunnel_login(session: Session | Connection, box: SecretBox | None, login: TunnelLogin,
                 peap_roles: Collection[Role], limits: Limits = NO_HOLD,
                 now: datetime | None = None) -> TunnelAnswer:
    """The answer to FreeRADIUS's inner tunnel: TTLS/PAP decided here; PEAP-MSCHAPv2
    gets the NT hash as ``control:NT-Password`` for FreeRADIUS's mschap to check —
    neither while the person's password logins from this device are held
    (:mod:`admission.holds`)."""
    person = people.at_login(session, login.user)
    if person is None:
        return TunnelAnswer(Verdict.NOTFOUND)
    if person.status is not PersonStatus.ACTIVE:
        return TunnelAnswer(Verdict.REJECT, "person disabled")
    until = holds.held(session, person.username, normal_mac(login.calling_station), limits,
                       now or datetime.now(UTC))
    if until is not None:  # no password checked, no NT hash handed out: no guess counts
        return TunnelAnswer(Verdict.REJECT, holds.held_reason(until))
    if login.password is not None:
        if person.password_hash is None or not verify_password(person.password_hash,
                                                               login.password):
            return TunnelAnswer(Verdict.REJECT, "wrong password")
        return TunnelAnswer(Verdict.ACCEPT)
    if login.eap_type != MSCHAPV2:
        return TunnelAnswer(Verdict.REJECT, f"inner method {login.eap_type or 'none'} "
                            "not offered")
    if person.role not in peap_roles:
        return TunnelAnswer(Verdict.REJECT, f"PEAP is not allowed for role {person.role}")
    if person.nt_hash_sealed is None or box is None:
        return TunnelAnswer(Verdict.REJECT, "no PEAP password set")
    return TunnelAnswer(Verdict.CREDENTIALS,
                        control={"NT-Password": "0x" + box.open(person.nt_hash_sealed)})
