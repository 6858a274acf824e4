"""Disabling a person, the one use case behind ``citynet nac people disable`` and the
staff page's Disable: their status and certificates (``authority.disable_person``), then
every live session of theirs Disconnected through the kernel's ``end_sessions`` hook
(the domain that runs RADIUS holds them; admission does not import it), each NAS's answer
audited. The CLI and the web only render the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from admission import authority
from admission.authority import Who
from citynet import audit
from citynet.domains import registered
from citynet.gates import Ended
from citynet.runtime import Runtime


@dataclass(frozen=True)
class Disabled:
    changed: bool  # False: they were disabled already
    revoked: list[str]  # the serials of the certificates revoked now
    ended: list[Ended]  # each live session's Disconnect, answered or not


def disable(runtime: Runtime, username: str, reason: str, now: datetime,
            who: Who = authority.CLI) -> Disabled:
    """Disable a person (committed before any NAS is asked, so a NAS that never answers
    leaves them disabled all the same), then end their live sessions; raises
    ``AdmissionError`` for a person unknown."""
    with runtime.store.session() as session:
        changed, revoked = authority.disable_person(session, username, reason, now, who)
        serials = [cert.serial for cert in revoked]
    return Disabled(changed, serials, end_all_of(runtime, username, who))


def disabled_by_import(session: Session, usernames: Sequence[str], reason: str,
                       now: datetime) -> list[str]:
    """In an import's transaction, for the people it disabled: what :func:`disable` does
    besides the status (set by the import) — audited, every certificate revoked (their
    serials). End their sessions with :func:`end_all_of` once it has committed."""
    return [cert.serial for username in usernames
            for cert in authority.disabled_elsewhere(session, username, reason, now)]


def end_all_of(runtime: Runtime, username: str, who: Who) -> list[Ended]:
    """Disconnect every live session of a person now; each NAS's answer audited."""
    ended = [one for domain in registered() if domain.end_sessions is not None
             for one in domain.end_sessions(runtime, username)]
    with runtime.store.session() as session:
        for one in ended:
            audit.record(session, audit.Action(
                "admission.session.disconnect", f"{username}@{one.nas}",
                "ok" if one.ok else "failed",
                detail={"session": one.session_id, "answer": one.answer},
                actor=who.actor, source=who.source))
    return ended
