"""A live session's whole current authorisation, for a CoA-Request to a NAS that takes
every CoA as a new authorisation (:mod:`radius.vendors`): what its Access-Accept granted,
minus what is used up since, so a bandwidth change does not lift its time and traffic
limits (CoovaChilli: a 30-minute voucher became unlimited, its interim interval reset).

What is left is read from the store now, as a login now would: the voucher's end, the
person's day (time and traffic of their other sessions since the day this one began), the
NAS's policy profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from radius import usage, vouchers
from radius.enforcement import PERSON_METHODS
from radius.models import RadiusSession
from radius.policy import session_terms
from radius.profiles import Terms
from radius.vendors import NasProfile, nas_profile


@dataclass(frozen=True)
class Budget:
    """What a session's credential allows it, counted from the session's start (None: no
    limit of that kind beyond the profile's)."""

    seconds: int | None = None
    octets: int | None = None


def budget(session: Session, live: RadiusSession, terms: Terms, zone: ZoneInfo) -> Budget:
    """The session's budget from its credential: a voucher's end, or a person's day less
    what their other sessions of that day used."""
    if live.method == "voucher":
        found = vouchers.find(session, live.identity)
        ends = vouchers.ends_at(found) if found is not None else None
        if ends is None:
            return Budget()
        return Budget(seconds=int((ends - live.started_at).total_seconds()))
    if live.method not in PERSON_METHODS or not (terms.daily_minutes or terms.daily_megabytes):
        return Budget()
    day = usage.today(session, live.identity, usage.day_start(live.started_at, zone))
    others = usage.Usage(day.seconds - live.session_time,
                         day.octets - live.input_octets - live.output_octets)
    return Budget(terms.daily_seconds - others.seconds if terms.daily_minutes else None,
                  terms.daily_octets - others.octets if terms.daily_megabytes else None)


def authorisation(terms: Terms, allowed: Budget, profile: NasProfile, elapsed: int,
                  used_octets: int) -> dict[str, object]:
    """The session's limits as a CoA carries them (pure): counted from the session's start
    or from now, as the NAS counts them. Never 0, which a NAS reads as "no limit"."""
    seconds = terms.max_session_minutes * 60
    if allowed.seconds is not None:
        seconds = min(seconds, allowed.seconds)
    octets = allowed.octets
    if not profile.limits_count_from_start:
        seconds -= elapsed
        octets = None if octets is None else octets - used_octets
    return session_terms(terms, max(seconds, 1), None if octets is None else max(octets, 1))


def coa_attributes(session: Session, live: RadiusSession, vendor: str, terms: Terms,
                   zone: ZoneInfo, change: Mapping[str, object],
                   now: datetime) -> dict[str, object]:
    """What a CoA-Request making ``change`` to a live session carries: the change alone,
    or, for a NAS that re-authorises on every CoA, the session's whole current
    authorisation with the change applied."""
    profile = nas_profile(vendor)
    if not profile.coa_is_full_reauth:
        return dict(change)
    elapsed = max(int((now - live.started_at).total_seconds()), 0)
    whole = authorisation(terms, budget(session, live, terms, zone), profile, elapsed,
                          live.input_octets + live.output_octets)
    return {**whole, **change}
