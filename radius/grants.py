"""What RADIUS granted a live session, and what is left of it — for the portal's status
page and the RFC 8908 API, which must tell a person what the NAS will enforce.

The Access-Accept's Session-Timeout is the profile's session length, capped by what the
credential allows (:func:`radius.policy.grant`): a voucher's time from its first use, a
person's day. The NAS counts it from the session's start, so what is left of it is read
again from the same sources, never from the profile alone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from radius import usage, vouchers
from radius.enforcement import PERSON_METHODS
from radius.models import RadiusSession
from radius.policy import Allowance, credential
from radius.profiles import Terms


def left(session: Session, live: RadiusSession, terms: Terms, zone: ZoneInfo,
         now: datetime) -> Allowance:
    """Seconds (and, for a person with a daily data limit, octets) left of this session's
    grant; ``octets`` None: RADIUS set no data cap."""
    elapsed = max(0, int((now - live.started_at).total_seconds()))
    seconds = terms.max_session_minutes * 60 - elapsed
    octets: int | None = None
    method, identity = _whose(live)
    if method == "voucher":
        time_up = vouchers.time_up(session, identity, now)
        if time_up is not None:
            seconds = min(seconds, int((time_up - now).total_seconds()))
    elif method in PERSON_METHODS and identity:
        day = usage.day_start(now, zone)
        # a session counts against the day it began in (radius.usage): one from before
        # midnight was granted on yesterday's allowance
        if (terms.daily_minutes or terms.daily_megabytes) and live.started_at >= day:
            used = usage.today(session, identity, day)
            if terms.daily_minutes:
                # this session by the time it has run, not by its last interim's count
                spent = used.seconds - live.session_time + elapsed
                seconds = min(seconds, terms.daily_seconds - spent)
            if terms.daily_megabytes:
                octets = max(0, terms.daily_octets - used.octets)
    return Allowance(seconds=max(0, seconds), octets=octets)


def _whose(live: RadiusSession) -> tuple[str, str]:
    """(method, identity): from our Class; for a NAS that does not echo it, a voucher is
    still known by its User-Name."""
    if live.method:
        return live.method, live.identity
    given = credential(live.username)
    return ("voucher", given.value) if given.kind == "voucher" else ("", live.identity)
