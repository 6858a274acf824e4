"""What a person has used: today's online time and traffic, and devices online now.

Read from the live session table, which accounting keeps current. A day is the
district's calendar day (``radius.timezone``); a session is counted in the day it
started, whole — one that runs over midnight counts against the day it began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from citynet.db import DriverStatement
from citynet.macs import normal_mac
from radius.models import RadiusSession


@dataclass(frozen=True)
class Usage:
    seconds: int = 0
    octets: int = 0


def day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The instant the district's current day began."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def today(session: Session, identity: str, since: datetime) -> Usage:
    seconds, octets = session.execute(
        select(func.coalesce(func.sum(RadiusSession.session_time), 0),
               func.coalesce(func.sum(RadiusSession.input_octets
                                      + RadiusSession.output_octets), 0))
        .where(RadiusSession.identity == identity, RadiusSession.started_at >= since)).one()
    return Usage(int(seconds), int(octets))


def stale_after(interim_interval: int) -> timedelta:
    """A session not heard of for two interim intervals and a minute has ended unseen
    (its Stop was lost): it no longer counts as online."""
    return timedelta(seconds=2 * interim_interval + 60)


# read for every 802.1X login and every login on a device limit: built once
_ONLINE = DriverStatement(select(RadiusSession.calling_station).where(
    RadiusSession.identity == bindparam("identity"), RadiusSession.stopped_at.is_(None),
    RadiusSession.updated_at > bindparam("since", type_=RadiusSession.updated_at.type)))


def online_devices(session: Session, identity: str, now: datetime, interim_interval: int,
                   besides: str = "") -> set[str]:
    """The MACs the identity has online now, other than ``besides``."""
    rows = _ONLINE.all(session, {"identity": identity,
                                 "since": now - stale_after(interim_interval)})
    return {mac for mac in (normal_mac(row) or row for (row,) in rows) if mac != besides}
