"""The one CSRF guard of every citynet page, staff and guest alike: a random token in the
session, the same token in each POST form's hidden ``csrf`` field, compared in constant
time. Staff pages and guest pages keep their tokens under their own session keys, so a
guest login (which renews its token) never expires an open staff form, nor the reverse."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf"  # the hidden field every POST form carries
REFUSED = "the form expired or did not come from citynet: reload the page"


def fresh() -> str:
    """A new token (for a new session: nothing of the old one is kept)."""
    return secrets.token_urlsafe(24)


def token(key: str) -> str:
    """The session's token under ``key``, made on first use."""
    if key not in session:
        session[key] = fresh()
    return str(session[key])


def matches(given: str, expected: str) -> bool:
    """The form's token is the session's, compared in constant time; an empty one never."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def check(key: str) -> None:
    """Refuse (400) a POST whose form does not carry the session's token under ``key``."""
    if not matches(request.form.get(FIELD, ""), token(key)):
        abort(400, REFUSED)
