"""What RADIUS granted a live session: for the portal's status page and the RFC 8908 API
(what is left of it) and for a CoA to a NAS that re-authorises on every CoA (all of it).

The Access-Accept's Session-Timeout is the profile's session length, capped by what the
credential allows (:func:`radius.policy.grant`): a voucher's time from its first use, a
person's day. Both are read again from the same sources, counted from the session's
start, never from the profile alone.
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


def budget(session: Session, live: RadiusSession, terms: Terms, zone: ZoneInfo) -> Allowance:
    """What the session's credential allows it, counted from the session's start (None:
    no limit of that kind beyond the profile's): a voucher's end, or a person's day less
    what their other sessions of that day used."""
    method, identity = _whose(live)
    if method == "voucher":
        time_up = vouchers.time_up(session, identity, live.started_at)
        if time_up is None:
            return Allowance()
        return Allowance(seconds=int((time_up - live.started_at).total_seconds()))
    if method not in PERSON_METHODS or not identity or not (
            terms.daily_minutes or terms.daily_megabytes):
        return Allowance()
    # a session counts against the day it began in (radius.usage)
    day = usage.today(session, identity, usage.day_start(live.started_at, zone))
    other_seconds = day.seconds - live.session_time
    other_octets = day.octets - live.input_octets - live.output_octets
    return Allowance(terms.daily_seconds - other_seconds if terms.daily_minutes else None,
                     terms.daily_octets - other_octets if terms.daily_megabytes else None)


def granted(terms: Terms, allowed: Allowance) -> Allowance:
    """The session's whole grant (pure): the profile's session length within the budget."""
    seconds = terms.max_session_minutes * 60
    if allowed.seconds is not None:
        seconds = min(seconds, allowed.seconds)
    return Allowance(seconds, allowed.octets)


def left(session: Session, live: RadiusSession, terms: Terms, zone: ZoneInfo,
         now: datetime) -> Allowance:
    """Seconds (and, where RADIUS capped data, octets) left of this session's grant;
    ``octets`` None: RADIUS set no data cap."""
    whole = granted(terms, budget(session, live, terms, zone))
    elapsed = max(0, int((now - live.started_at).total_seconds()))
    octets = None if whole.octets is None else max(
        0, whole.octets - live.input_octets - live.output_octets)
    return Allowance(seconds=max(0, (whole.seconds or 0) - elapsed), octets=octets)


def _whose(live: RadiusSession) -> tuple[str, str]:
    """(method, identity): from our Class; for a NAS that does not echo it, a voucher is
    still known by its User-Name."""
    if live.method:
        return live.method, live.identity
    given = credential(live.username)
    return ("voucher", given.value) if given.kind == "voucher" else ("", live.identity)
