"""Live admission sessions for the staff pages, through the kernel's hooks
(``Domain.live_sessions``, ``end_session``, ``end_sessions``: citynet.gates): the domain
that runs RADIUS holds them, and admission does not import it."""

from __future__ import annotations

from citynet.domains import registered
from citynet.gates import LiveSession
from citynet.web import runtime

METHODS = ("eap", "mab")  # the logins admission decides
SESSIONS_SHOWN = 500


def live_sessions(identity: str = "", limit: int = SESSIONS_SHOWN,
                  methods: tuple[str, ...] = METHODS) -> list[LiveSession]:
    """Open admission sessions (of one identity unless ""), newest first, from each
    domain that holds them."""
    found = [one for domain in registered() if domain.live_sessions is not None
             for one in domain.live_sessions(runtime(), methods, identity, limit)]
    return sorted(found, key=lambda s: s.started_at, reverse=True)[:limit]


def live_of(username: str) -> list[LiveSession]:
    """A person's open 802.1X sessions."""
    return live_sessions(username, methods=("eap",))
