"""The collectors that read citynet's own store: coverage KPIs and hotspot use."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from sqlalchemy import BigInteger, String, column, func, select, table

from citynet.db import UtcDateTime
from citynet.telemetry import Context, Point
from monitoring import kpis

# RADIUS tables, by name (monitoring does not import the RADIUS package)
_session = table("radius_session", column("called_station", String),
                 column("calling_station", String), column("stopped_at", UtcDateTime()),
                 column("updated_at", UtcDateTime()), column("input_octets", BigInteger),
                 column("output_octets", BigInteger))
_login = table("login_record", column("at", UtcDateTime()), column("event", String),
               column("result", String), column("called_station", String))

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


class HotspotUseCollector:
    """Online users, sessions, traffic and logins per hotspot, from RADIUS accounting
    and the login records; APs are placed by the MAC in Called-Station-Id."""

    name = "hotspot_use"
    interval = 60.0

    def collect(self, context: Context) -> list[Point]:
        since = context.now - timedelta(seconds=self.interval)
        with context.store.session() as session:
            places = kpis.ap_places(session)
            open_sessions = session.execute(
                select(_session.c.called_station, _session.c.calling_station,
                       _session.c.input_octets, _session.c.output_octets)
                .where(_session.c.stopped_at.is_(None),
                       _session.c.updated_at >= context.now - STALE)).all()
            logins = session.execute(
                select(_login.c.called_station, _login.c.result, func.count())
                .where(_login.c.event == "login", _login.c.at >= since,
                       _login.c.at < context.now)
                .group_by(_login.c.called_station, _login.c.result)).all()
        online: dict[str, set[str]] = defaultdict(set)
        sessions: Counter[str] = Counter()
        octets_in: Counter[str] = Counter()
        octets_out: Counter[str] = Counter()
        accepted: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        for called, client, inp, out in open_sessions:
            hotspot = places.get(kpis.ap_mac(called or ""), ("", "", ""))[2]
            online[hotspot].add(client)
            sessions[hotspot] += 1
            octets_in[hotspot] += inp or 0
            octets_out[hotspot] += out or 0
        for called, result, count in logins:
            hotspot = places.get(kpis.ap_mac(called or ""), ("", "", ""))[2]
            (accepted if result == "accept" else refused)[hotspot] += count
        communities = {hotspot: community for _street, community, hotspot in places.values()}
        points = []
        for hotspot in sorted(set(sessions) | set(accepted) | set(refused)):
            tried = accepted[hotspot] + refused[hotspot]
            fields: dict[str, float | int] = {
                "online": len(online[hotspot]), "sessions": sessions[hotspot],
                "input_octets": octets_in[hotspot], "output_octets": octets_out[hotspot],
                "logins": accepted[hotspot], "login_failures": refused[hotspot]}
            if tried:
                fields["login_success_rate"] = 100.0 * accepted[hotspot] / tried
            points.append(Point("hotspot_use",
                                {"hotspot": hotspot or "unknown",
                                 "community": communities.get(hotspot, "")},
                                fields, context.now))
        return points
