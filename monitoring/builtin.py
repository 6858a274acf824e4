"""The collectors that read citynet's own store: coverage KPIs and hotspot use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from citynet.telemetry import Context, Point
from monitoring import kpis

# hotspot use reads RADIUS's sessions and login records: the one import of radius that
# monitoring may make (the import-linter contracts in pyproject.toml say so)
from radius.models import RadiusSession as _Session
from radius.records import LoginRecord as _Login

STALE = timedelta(hours=2)  # an open session silent this long is not counted as online


class CoverageCollector:
    """Every KPI of every scope: kept as today's sample (for trends) and sent as points."""

    name = "coverage"
    interval = 3600.0

    def collect(self, context: Context) -> list[Point]:
        with context.store.session() as session:
            computed = kpis.compute(session, context.now)
            kpis.record(session, computed, context.now.date(), context.now)
        return kpis.points(computed, context.now)


@dataclass
class _Tally:
    clients: set[str] = field(default_factory=set)
    sessions: int = 0
    octets_in: int = 0
    octets_out: int = 0
    accepted: int = 0
    refused: int = 0

    def add_session(self, client: str, octets_in: int, octets_out: int) -> None:
        self.clients.add(client)
        self.sessions += 1
        self.octets_in += octets_in
        self.octets_out += octets_out

    def add_logins(self, accepted: bool, count: int) -> None:
        if accepted:
            self.accepted += count
        else:
            self.refused += count

    def fields(self) -> dict[str, float | int]:
        fields: dict[str, float | int] = {
            "online": len(self.clients), "sessions": self.sessions,
            "input_octets": self.octets_in, "output_octets": self.octets_out,
            "logins": self.accepted, "login_failures": self.refused}
        if self.accepted + self.refused:
            fields["login_success_rate"] = 100.0 * self.accepted / (
                self.accepted + self.refused)
        return fields


class HotspotUseCollector:
    """Online users, sessions, traffic and logins per hotspot (``hotspot_use``) and per AP
    (``ap_use``), from RADIUS accounting and the login records; APs are placed by the MAC
    in Called-Station-Id."""

    name = "hotspot_use"
    interval = 60.0

    def collect(self, context: Context) -> list[Point]:
        since = context.now - timedelta(seconds=self.interval)
        with context.store.session() as session:
            places = kpis.ap_places(session)
            open_sessions = session.execute(
                select(_Session.called_station, _Session.calling_station,
                       _Session.input_octets, _Session.output_octets)
                .where(_Session.stopped_at.is_(None),
                       _Session.updated_at >= context.now - STALE)).all()
            logins = session.execute(
                select(_Login.called_station, _Login.result, func.count())
                .where(_Login.event == "login", _Login.at >= since,
                       _Login.at < context.now)
                .group_by(_Login.called_station, _Login.result)).all()
        # one tally per hotspot and one per AP: "ap_use" shows which AP of a hotspot
        # carries the people (or refuses them)
        tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        for called, client, inp, out in open_sessions:
            mac = kpis.ap_mac(called or "")
            hotspot = places.get(mac, ("", "", ""))[2]
            for key in (("hotspot", hotspot), ("ap", mac)):
                tallies[key].add_session(client, inp or 0, out or 0)
        for called, result, count in logins:
            mac = kpis.ap_mac(called or "")
            hotspot = places.get(mac, ("", "", ""))[2]
            for key in (("hotspot", hotspot), ("ap", mac)):
                tallies[key].add_logins(result == "accept", count)
        communities = {hotspot: community for _street, community, hotspot in places.values()}
        points = []
        for (kind, name), tally in sorted(tallies.items()):
            if kind == "hotspot":
                tags = {"hotspot": name or "unknown", "community": communities.get(name, "")}
                points.append(Point("hotspot_use", tags, tally.fields(), context.now))
            elif name:  # an AP the MAC of Called-Station-Id names
                hotspot = places.get(name, ("", "", ""))[2]
                tags = {"ap": name, "hotspot": hotspot or "unknown",
                        "community": communities.get(hotspot, "")}
                points.append(Point("ap_use", tags, tally.fields(), context.now))
        return points
