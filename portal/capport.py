"""RFC 8908 Captive Portal API: the API itself, whom the device's OS asks about, and how
they are found.

The OS fetches the URI its DHCP option 114 / RA (RFC 8910) named, without cookies. The
portal finds the client's open session by the address the request comes from — which is
the NAS's, not the client's, when the NAS masquerades its clients towards the portal. So
the URI may name the client itself, with the values a NAS fills in per client when it
hands the URI out (CoovaChilli's ``captiveportalapi_uri``: ``?nas=%{n}&ip=%{i}&mac=%{m}``).
Those values are the NAS's word, unsigned (no NAS signs them per client), so they are
honoured only when the request comes from a registered NAS's address (the NAT case) or
from the very address the URI names (the client itself): from anywhere else they would
tell anyone who has seen a device's MAC whether its owner is online, where, and their
time and data left. A MAC counts only together with the client's IP, and every value
named must match one open session.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from citynet.macs import normal_mac
from citynet.web import store
from portal import uam, visit
from radius import grants, usage
from radius.models import RadiusSession
from radius.profiles import LIMITS
from radius.sessions import mac_spellings

log = logging.getLogger(__name__)

CAPTIVE_JSON = "application/captive+json"


@dataclass(frozen=True)
class Asker:
    """The client the API is asked about."""

    ip: str = ""
    mac: str = ""  # normal form
    nas: str = ""
    named: bool = False  # by the URI (the NAS's word), not by the request's address


def asker(args: Mapping[str, str], remote_addr: str,
          nas_addresses: Iterable[str]) -> Asker:
    """The client named in the URI (``ip``, optionally ``mac`` and ``nas``) when a NAS or
    that client itself asks, else the one at the request's address. A value that is not
    an address is left out; a MAC without an IP names nobody (a MAC is easily seen by
    others; the NAS's URI template names both, docs/portal.md)."""
    own = _address(remote_addr)
    ip = _address(args.get("ip", ""))
    if ip and (ip == own or is_nas(own, nas_addresses)):
        return Asker(ip=ip, mac=normal_mac(args.get("mac", "")),
                     nas=args.get("nas", "")[:64], named=True)
    return Asker(ip=own)


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def is_nas(address: str, nas_addresses: Iterable[str]) -> bool:
    """The request comes from a registered NAS (an address or network of one): a NAS that
    masquerades its clients, so the address names none of them."""
    try:
        asking = ipaddress.ip_address(address)
    except ValueError:
        return False
    for registered in nas_addresses:
        try:
            if asking in ipaddress.ip_network(registered, strict=False):
                return True
        except ValueError:
            continue
    return False


def open_session(db: Session, who: Asker, now: datetime,
                 interim_of: Callable[[str], int]) -> RadiusSession | None:
    """The client's open session, newest first, still heard of as often as its NAS's
    profile (``interim_of`` the NAS's name) asks: one whose Stop was lost (not heard of
    for two of its interim intervals) must not free the next client given its address,
    and one on a NAS with long intervals is not lost between its updates."""
    if not who.ip and not who.mac:
        return None
    for found in db.scalars(_query(who, now)):
        if found.updated_at > now - usage.stale_after(interim_of(found.nas)):
            return found
    return None


def device_mac(handoff: uam.Handoff | None) -> str:
    """The device's MAC as its NAS vouches for it: only that may the portal act on
    without the device's cookie (its status, forgetting it, holding its guesses). A UAM
    hand-off's, signed; for a Portal-protocol AC, whose redirect anyone can fill in, the
    MAC of the session the AC itself accounted for this address (the browser's own,
    checked on arrival) at that AC — none before the AC logged the device in; none from
    a web-auth controller."""
    if handoff is None:
        return ""
    if handoff.ac:
        with store().session() as db:
            found = open_session(db, Asker(ip=handoff.ip, nas=handoff.nasid),
                                 datetime.now(UTC), visit.interim_of)
        return normal_mac(found.calling_station) if found is not None else ""
    return normal_mac(handoff.mac) if handoff.signed else ""


def _query(who: Asker, now: datetime) -> Select[RadiusSession]:
    # no profile may ask for updates further apart than LIMITS allows (indexed bound)
    longest = LIMITS["interim_interval"][1]
    query = select(RadiusSession).where(
        RadiusSession.stopped_at.is_(None),
        RadiusSession.updated_at > now - usage.stale_after(longest))
    if who.ip:
        query = query.where(RadiusSession.framed_ip == who.ip)
    if who.mac:
        query = query.where(func.lower(RadiusSession.calling_station).in_(
            mac_spellings(who.mac)))
    if who.nas:
        query = query.where(RadiusSession.nas == who.nas)
    return query.order_by(RadiusSession.updated_at.desc())


# --- the API --------------------------------------------------------------------------

@visit.blueprint.get("/api/captive")
def captive_api() -> Response:
    """For the device's OS (DHCP option 114 / RA, RFC 8910, points here): is this client
    still captive, and how much time and data are left, from live accounting. The
    client: the one the URI names (:func:`asker`), else the request's address."""
    who = asker(request.args, request.remote_addr or "", _nas_addresses())
    now = datetime.now(UTC)
    with store().session() as db:
        live = open_session(db, who, now, visit.interim_of)
        body: dict[str, Any] = {"captive": live is None and not _unknowable(who),
                                "user-portal-url": url_for(".login", _external=True)}
        if live is not None:
            body["can-extend-session"] = False
            body.update(_remaining(db, live, now))
    venue = visit.portal().config.portal.venue_info_url
    if venue:
        body["venue-info-url"] = venue
    return current_app.response_class(current_app.json.dumps(body), mimetype=CAPTIVE_JSON)


def _unknowable(who: Asker) -> bool:
    """Asked from a NAS's own address with no client named: a masquerading NAS whose URI
    does not name its clients. Any of them may be logged in, and a logged-in client must
    never be told it is captive; so it is told it is not (a captive one is still
    redirected by its NAS)."""
    if who.named:
        return False
    if not is_nas(who.ip, _nas_addresses()):
        return False
    asked = visit.portal().unnamed_askers.due(who.ip)
    if asked:
        log.warning("RFC 8908 API asked from NAS address %s without naming the client "
                    "(%d request(s) since the last warning): set the NAS's API URI to "
                    "name it (docs/portal.md)", who.ip, asked)
    return True


def _nas_addresses() -> list[str]:
    return [facts.address for facts in visit.portal().nases.get().values()]


def _remaining(db: Session, live: RadiusSession, now: datetime) -> dict[str, int]:
    """seconds-remaining / bytes-remaining: what is left of what RADIUS granted."""
    left = grants.left(db, live, visit.nas_terms(live.nas), visit.portal().zone, now)
    body = {"seconds-remaining": left.seconds or 0}
    if left.octets is not None:
        body["bytes-remaining"] = left.octets
    return body
