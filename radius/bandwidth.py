"""Changing a live session's bandwidth: a CoA-Request (RFC 5176) with
WISPr-Bandwidth-Max-Up/-Down, carrying the session's whole current authorisation to a NAS
that takes every CoA as a new one (:mod:`radius.reauth`). The use case behind
``citynet sessions bandwidth`` and the staff API; they render its :class:`Changed`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.macs import normal_mac
from radius import coa, reauth
from radius import sessions as live_sessions
from radius.models import RadiusSession
from radius.profiles import ProfileBook
from radius.settings import RadiusConfig
from radius.wire import Code

MAX_KBPS = 10_000_000  # the policy profiles' highest limit (radius.profiles)
NO_SESSION = "no_session"  # a refusal: no session of that id
ENDED = "ended"  # a refusal: the session has ended


@dataclass(frozen=True)
class Changed:
    """What happened: ``refused`` (``NO_SESSION``, ``ENDED`` or a
    :class:`~radius.sessions.NotAddressable` kind) and nothing sent, or the NAS's
    ``result``. ``who``/``mac``/``session_id``/``nas`` name the session for the caller's
    message and audit entry (a voucher code shortened)."""

    refused: str = ""
    result: coa.CoaResult | None = None
    session_id: str = ""
    nas: str = ""
    who: str = ""
    mac: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def limits(up_kbps: int, down_kbps: int) -> dict[str, object]:
    """The change a CoA makes, in bit/s."""
    return {"WISPr-Bandwidth-Max-Up": up_kbps * 1000,
            "WISPr-Bandwidth-Max-Down": down_kbps * 1000}


def change(store: Store, box: SecretBox | None, config: RadiusConfig, row_id: int,
           up_kbps: int, down_kbps: int, now: datetime, port: int | None = None) -> Changed:
    """Send the session of row ``row_id`` its new limits and wait for the NAS (up to
    3 × 2 s, outside any transaction); refused before anything is sent when the session
    is gone, ended or its NAS cannot be addressed."""
    with store.session() as db:
        live = db.get(RadiusSession, row_id)
        if live is None:
            return Changed(NO_SESSION)
        named = Changed(session_id=live.session_id, nas=live.nas,
                        who=live_sessions.shown(live.identity or live.username, live.method),
                        mac=normal_mac(live.calling_station) or live.calling_station)
        if live.stopped_at is not None:
            return replace(named, refused=ENDED)
        try:
            target = live_sessions.target(db, box, live)
        except live_sessions.NotAddressable as problem:
            return replace(named, refused=problem.kind)
        terms = ProfileBook.of(store).get(target.policy)
        attributes = reauth.coa_attributes(db, live, target.vendor, terms,
                                           ZoneInfo(config.timezone),
                                           limits(up_kbps, down_kbps), now)
    result = coa.send(target.host, target.secret, Code.COA_REQUEST, target.identity,
                      port=port or config.coa_port, extra=attributes,
                      source=coa.source_for(config))
    return replace(named, result=result)
