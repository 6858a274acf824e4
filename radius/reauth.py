"""A live session's whole current authorisation, for a CoA-Request to a NAS that takes
every CoA as a new authorisation (:mod:`radius.vendors`): what its Access-Accept granted,
minus what is used up since, so a bandwidth change does not lift its time and traffic
limits (CoovaChilli: a 30-minute voucher became unlimited, its interim interval reset).

What the session was granted is read from the store now (:mod:`radius.grants`), as a
login now would: the voucher's end, the person's day, the NAS's policy profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from radius.grants import budget, granted
from radius.models import RadiusSession
from radius.policy import Allowance, session_terms
from radius.profiles import Terms
from radius.vendors import NasProfile, in_vendor_terms, nas_profile


def authorisation(terms: Terms, allowed: Allowance, profile: NasProfile, elapsed: int,
                  used_octets: int) -> dict[str, object]:
    """The session's limits as a CoA carries them (pure): counted from the session's start
    or from now, as the NAS counts them. Never 0, which a NAS reads as "no limit"."""
    whole = granted(terms, allowed)
    seconds, octets = whole.seconds or 0, whole.octets
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
        return in_vendor_terms(vendor, dict(change))
    elapsed = max(int((now - live.started_at).total_seconds()), 0)
    whole = authorisation(terms, budget(session, live, terms, zone), profile, elapsed,
                          live.input_octets + live.output_octets)
    return in_vendor_terms(vendor, {**whole, **change})
