"""Coverage KPIs, targets and the managers' dashboard on the demo district, on SQLite and
PostgreSQL: figures checked against counts made here from the generator's rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from citynet.telemetry import Context
from inventory import demo
from inventory.choices import GOVERNMENT_TYPES, TargetMetric
from inventory.importer import import_rows
from inventory.models import Building, Community, CoverageTarget
from monitoring import kpis
from monitoring.builtin import CoverageCollector
from monitoring.collectors import run_collectors
from monitoring.forecast import Status
from monitoring.models import KpiSample, ProbeState, SurveyPoint, TelemetryRollup
from monitoring.rollups import RollupSink
from monitoring.targets import evaluate, evaluate_targets
from tests.conftest import upgraded
from tests.support import staff_login

NOW = datetime.now(UTC)
ROWS = demo.generate()


@pytest.fixture
def district(backend_config: Config) -> Iterator[Store]:
    for store in upgraded(backend_config):
        box = open_box(backend_config, store, create=True)
        with store.session() as session:
            assert import_rows(session, demo.raw_rows(), box).ok
            set_meta(session, demo.DEMO_MARK, "Luohu demo district")
        yield store


@pytest.fixture
def client(district: Store) -> FlaskClient:
    return staff_login(create_app(district, test_config={"TESTING": True}), district)


def _expected(street: str | None = None, government: bool = False) -> tuple[int, int]:
    communities = {c["name"] for c in ROWS["communities"] if street in (None, c["street"])}
    chosen = [b for b in ROWS["buildings"] if b["community"] in communities
              and b["fiber_status"] != "not_eligible"
              and (not government or b["type"] in GOVERNMENT_TYPES)]
    return sum(b["fiber_status"] == "connected" for b in chosen), len(chosen)


def test_kpis_match_the_district_counted_building_by_building(district: Store) -> None:
    with district.session() as session:
        computed = kpis.compute(session, NOW)
    for street in (None, "笋岗", "东门"):
        scope = "district" if street is None else f"street:{street}"
        connected, eligible = _expected(street)
        ratio = computed.get(TargetMetric.FIBER_ELIGIBLE, scope)
        assert (ratio.numerator, ratio.denominator) == (connected, eligible)
        connected, eligible = _expected(street, government=True)
        ratio = computed.get(TargetMetric.FIBER_GOVERNMENT, scope)
        assert (ratio.numerator, ratio.denominator) == (connected, eligible)
    hotspots = computed.get(TargetMetric.HOTSPOTS_PER_COMMUNITY, "district")
    assert (hotspots.numerator, hotspots.denominator) == (len(ROWS["hotspots"]), 83)
    # no probes, surveys or logins yet: those KPIs have nothing to say
    assert computed.value(TargetMetric.AP_AVAILABILITY, "district") is None


def test_targets_have_status_forecast_and_shortfall(district: Store) -> None:
    with district.session() as session:
        statuses = evaluate(session, NOW)
    by_key = {(s.metric, s.scope): s for s in statuses}
    assert len(statuses) == len(ROWS["targets"])
    fiber = by_key[(TargetMetric.FIBER_ELIGIBLE, "district")]
    connected, eligible = _expected()
    assert fiber.current == pytest.approx(100 * connected / eligible)
    assert fiber.history[-1] == (NOW.date(), pytest.approx(fiber.current))
    assert fiber.history[0][1] < fiber.current  # the demo's district has been connecting
    assert fiber.forecast is not None and fiber.forecast.slope_per_month > 0
    assert fiber.shortfall == -(-90 * eligible // 100) - connected
    assert fiber.status in (Status.ON_TRACK, Status.AT_RISK)
    assert fiber.plan is not None and fiber.plan > fiber.current
    # past the deadline, an unmet target is missed
    with district.session() as session:
        late = evaluate_targets(session, date(2099, 1, 1))
    assert {s.status for s in late} <= {Status.MET, Status.MISSED}
    assert Status.MISSED in {s.status for s in late}


def test_coverage_collector_keeps_one_sample_a_day_and_rollups(district: Store,
                                                               backend_config: Config) -> None:
    sink = RollupSink(district)
    # two runs a minute apart in one hour (from NOW itself, the second run fell into the
    # next hour's rollup when the module was imported in an hour's last minute)
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    for moment in (hour, hour + timedelta(minutes=1)):  # twice the same day: one sample
        runs = run_collectors([CoverageCollector()], Context(district, backend_config, moment),
                              [sink])
        assert runs[0].ok and runs[0].points > 100
    with district.session() as session:
        samples = session.scalar(select(func.count()).select_from(KpiSample)
                                 .where(KpiSample.day == hour.date()))
        assert samples == runs[0].points
        rollup = session.scalar(select(TelemetryRollup).where(
            TelemetryRollup.measurement == "coverage",
            TelemetryRollup.series == "metric=fiber_coverage_eligible,scope=district,"
                                      "scope_kind=district"))
        assert rollup is not None and rollup.samples == 2
        connected, eligible = _expected()
        assert rollup.fields["value"] == pytest.approx(100 * connected / eligible)


def test_overview_shows_targets_map_and_streets(client: FlaskClient) -> None:
    page = client.get("/dashboard/?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Demo data" in html
    assert html.count('<tr data-status="') == len(ROWS["targets"])
    assert "more buildings to connect in the district" in html
    assert html.count("<circle") >= 83  # every community on the map
    zh = client.get("/dashboard/?lang=zh-CN").get_data(as_text=True)
    assert "建设目标" in zh and "栋楼宇待接入光纤" in zh
    hant = client.get("/dashboard/?lang=zh-Hant").get_data(as_text=True)
    assert "建設目標" in hant and "幢樓宇待接駁光纖" in hant and "建设" not in hant
    assert '<html lang="zh-Hant">' in hant
    assert 'hreflang="zh-CN"' in hant and 'hreflang="en"' in hant  # the other two
    assert 'hreflang="zh-Hant"' not in hant


def test_english_pages_use_the_inventorys_english_names(client: FlaskClient,
                                                        district: Store) -> None:
    """Streets, communities and owners by their English names on English pages, the
    Chinese name where none is set; times in the district's zone."""
    html = client.get("/dashboard/?lang=en").get_data(as_text=True)
    for street in ROWS["streets"]:
        assert f'{street["name_en"]} street</a>' in html
        assert f'>{street["name"]}</a>' not in html and f"{street['name']} street" not in html
    assert demo.OWNER[1] in html and demo.OWNER[0] not in html
    assert ">Hujing Community</a>" in client.get("/dashboard/streets/笋岗").get_data(as_text=True)
    with district.session() as session:  # a community without an English name
        session.execute(update(Community).where(Community.name == "湖景社区")
                        .values(name_en=""))
    street = client.get("/dashboard/streets/笋岗").get_data(as_text=True)
    assert "<h1>Sungang street</h1>" in street
    assert ">湖景社区</a>" in street and ">Tianxin Community</a>" in street
    zh = client.get("/dashboard/streets/笋岗?lang=zh-CN").get_data(as_text=True)
    assert "<h1>笋岗街道</h1>" in zh and ">田心社区</a>" in zh and "Tianxin" not in zh
    report = client.get("/dashboard/report?lang=en").get_data(as_text=True)
    generated = re.search(r"Generated: (\d{4}-\d\d-\d\d \d\d:\d\d) (\+08:00)", report)
    assert generated is not None and "UTC" not in report
    local = datetime.strptime(generated.group(1), "%Y-%m-%d %H:%M").replace(
        tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(datetime.now(UTC) - local) < timedelta(minutes=5)


def test_drill_down_street_community_target_and_404s(client: FlaskClient,
                                                     district: Store) -> None:
    street = client.get("/dashboard/streets/笋岗?lang=en").get_data(as_text=True)
    assert "Hujing Community" in street
    community = client.get("/dashboard/communities/湖景社区?lang=en")
    assert community.status_code == 200
    waiting = [b for b in ROWS["buildings"] if b["community"] == "湖景社区"
               and b["fiber_status"] in ("planned", "unconnected")]
    body = community.get_data(as_text=True)
    assert all(b["code"] in body for b in waiting)
    with district.session() as session:  # an AP that answers probes shows up
        mac = next(a["mac"] for a in ROWS["access_points"]
                   if a["hotspot"].startswith("湖景"))
        session.add(ProbeState(target=f"ap:{mac}", up=True, since=NOW, checked_at=NOW))
        hotspot = next(a["hotspot"] for a in ROWS["access_points"] if a["mac"] == mac)
        for survey, point, covered, at in (("old", "P1", False, NOW - timedelta(days=30)),
                                           ("old", "P2", False, NOW - timedelta(days=30)),
                                           ("new", "P1", True, NOW)):
            session.add(SurveyPoint(survey=survey, point=point, hotspot=hotspot,
                                    covered=covered, measured_at=at))
    page = client.get("/dashboard/communities/湖景社区").get_data(as_text=True)
    assert "1 / 1" in page  # the AP up of those probed; the latest survey's points only
    assert page.count(">1 / 1</td>") == 2
    assert client.get("/dashboard/targets/1").status_code == 200
    assert client.get("/dashboard/targets/9999").status_code == 404
    assert client.get("/dashboard/streets/无此街道").status_code == 404
    assert client.get("/dashboard/communities/无此社区").status_code == 404


def _csv(client: FlaskClient, lang: str) -> list[list[str]]:
    export = client.get(f"/dashboard/export.csv?lang={lang}")
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))


def test_export_csv_speaks_the_pages_language_with_codes_beside(client: FlaskClient) -> None:
    en = _csv(client, "en")
    header = en[0]
    assert header[:4] == ["Kind", "Metric", "Scope", "Value"]
    assert header[-3:] == ["metric code", "scope code", "status code"]
    rows = [dict(zip(header, row, strict=True)) for row in en[1:]]
    targets = [r for r in rows if r["Kind"] == "Target"]
    assert len(targets) == len(ROWS["targets"])
    workstations = next(r for r in targets
                        if r["scope code"] == "building_type:community_workstation")
    assert workstations["Metric"] == "Fiber, government buildings"
    assert workstations["Scope"] == "community workstations"
    assert workstations["metric code"] == "fiber_coverage_government"
    assert workstations["Status"] in ("Met", "On track", "At risk", "Missed")
    assert workstations["status code"] in ("met", "on_track", "at_risk", "missed")
    assert workstations["Owner"] == demo.OWNER[1]
    district = next(r for r in rows if r["Kind"] == "KPI" and r["scope code"] == "district"
                    and r["metric code"] == "fiber_coverage_eligible")
    connected, eligible = _expected()
    assert (float(district["Numerator"]), float(district["Denominator"])) == (connected,
                                                                            eligible)
    assert district["Scope"] == "the district"
    assert any(r["Scope"] == "Sungang street" for r in rows)
    zh = _csv(client, "zh-CN")
    assert zh[0][:3] == ["类别", "指标", "范围"] and zh[0][-1] == "状态代码"
    by_code = {(r[-3], r[-2]): r for r in zh[1:] if r[0] == "目标"}
    row = by_code[("fiber_coverage_government", "building_type:community_workstation")]
    assert row[1:3] == ["政务楼宇光纤覆盖率", "社区工作站"] and row[13] == demo.OWNER[0]
    assert len(zh) == len(en)


def test_printable_report(client: FlaskClient) -> None:
    report = client.get("/dashboard/report?lang=en").get_data(as_text=True)
    assert "@media print" in report and report.count("<svg") >= len(ROWS["targets"])


def test_hotspot_use_and_login_success_from_radius_records(district: Store,
                                                           backend_config: Config) -> None:
    """Accounting and login records written the way the RADIUS package writes them are
    placed at their hotspot by the AP MAC in Called-Station-Id, in any NAS spelling."""
    from monitoring.builtin import HotspotUseCollector
    from radius import records
    from radius.models import RadiusSession

    ap = ROWS["access_points"][0]
    hotspot = next(h for h in ROWS["hotspots"] if h["name"] == ap["hotspot"])
    called = ap["mac"].upper().replace(":", "-") + ":i-Shenzhen"  # Huawei/Chilli spelling
    at = NOW - timedelta(seconds=20)
    with district.session() as session:
        records.append(session, [
            records.LoginEvent(at, "login", result, f"1380013800{i}", "token", "gw",
                               called_station=station)
            for i, (result, station) in enumerate([
                ("accept", called), ("accept", called), ("accept", called),
                ("bad-password", called), ("accept", "no-mac-here")])])
        for i, client_mac in enumerate(["aa:00:00:00:00:01", "aa:00:00:00:00:01",
                                        "aa:00:00:00:00:02"]):
            session.add(RadiusSession(nas="gw", session_id=f"s{i}", username="u",
                                      calling_station=client_mac, called_station=called,
                                      started_at=at, updated_at=at, input_octets=1000,
                                      output_octets=5000))
    points = HotspotUseCollector().collect(Context(district, backend_config, NOW))
    by_hotspot = {p.tags["hotspot"]: p for p in points if p.measurement == "hotspot_use"}
    [per_ap] = [p for p in points if p.measurement == "ap_use"]
    assert per_ap.tags == {"ap": ap["mac"], "hotspot": hotspot["name"],
                           "community": hotspot["community"]}
    assert per_ap.fields["sessions"] == 3 and per_ap.fields["logins"] == 3
    use = by_hotspot[hotspot["name"]]
    assert use.tags["community"] == hotspot["community"]
    assert dict(use.fields) == {"online": 2, "sessions": 3, "input_octets": 3000,
                                "output_octets": 15000, "logins": 3, "login_failures": 1,
                                "login_success_rate": 75.0}
    assert by_hotspot["unknown"].fields["logins"] == 1  # an AP the inventory doesn't know
    with district.session() as session:
        computed = kpis.compute(session, NOW)
    assert computed.value(TargetMetric.LOGIN_SUCCESS, "district") == pytest.approx(80.0)
    assert computed.value(TargetMetric.LOGIN_SUCCESS,
                          f"community:{hotspot['community']}") == pytest.approx(75.0)


def test_grafana_dashboard_asks_for_what_the_collectors_write(district: Store,
                                                              backend_config: Config) -> None:
    """Every (measurement, field) the shipped Grafana dashboard queries is one a collector
    really writes (collectors run here; reachability from one probe result)."""
    import json
    import re
    from pathlib import Path

    from monitoring.builtin import HotspotUseCollector
    from monitoring.probes import ProbeResult, Target
    from monitoring.reachability import Probed, point
    from monitoring.service import AlertsCollector
    from radius import records

    with district.session() as session:
        records.append(session, [records.LoginEvent(NOW - timedelta(seconds=5), "login",
                                                    "accept", "13800138000", "token", "gw")])
    context = Context(district, backend_config, NOW)
    written = [*CoverageCollector().collect(context), *HotspotUseCollector().collect(context),
               *AlertsCollector().collect(context),
               point(Probed(Target("ap:x", "10.0.0.1"), "ap", {}),
                     ProbeResult("ap:x", "10.0.0.1", True, "icmp", 1.5, 0.0), NOW)]
    pairs = {(p.measurement, name) for p in written for name in p.fields}
    dashboard = json.loads((Path(__file__).parents[3] / "docs/grafana/citynet-district.json")
                           .read_text())
    queried = [re.findall(r'r\._measurement == "(\w+)" and r\._field == "(\w+)"',
                          target["query"])
               for panel in dashboard["panels"] for target in panel["targets"]]
    assert all(len(found) == 1 for found in queried)  # every panel asks for one series
    asked = {tuple(found[0]) for found in queried}
    assert asked <= pairs, asked - pairs


def test_a_managers_ten_second_answer(client: FlaskClient) -> None:
    """Each headline KPI beside its target; the streets furthest behind first; the worst
    communities named."""
    html = client.get("/dashboard/?lang=en").get_data(as_text=True)
    deadline = ROWS["targets"][0]["deadline"]
    tiles = dict(re.findall(r'<div class="tile" data-metric="(\w+)">(.*?)</div>', html, re.S))
    assert f"Target 90% · {deadline}" in tiles["fiber_coverage_eligible"]
    assert f"Target 100% · {deadline}" in tiles["fiber_coverage_government"]
    assert f"Target 4 · {deadline}" in tiles["hotspots_per_community"]
    assert "no target set" in tiles["ap_availability"]
    streets_table = html.split("<h2>Streets</h2>", 1)[1]
    shown = re.findall(r'<a href="/dashboard/streets/[^"]+">([^<]+) street</a>', streets_table)
    short = {s["name_en"]: _short(s["name"]) for s in ROWS["streets"]}
    assert len(shown) == len(short)
    assert [short[name] for name in shown] == sorted(short.values(), reverse=True)
    worst = html.split('<ol class="worst">', 1)[1].split("</ol>", 1)[0]
    named = re.findall(r'<a href="/dashboard/communities/[^"]+">([^<]+)</a>', worst)
    by_shortfall = sorted((_short(None, c["name"]) for c in ROWS["communities"]),
                          reverse=True)
    english = {c["name_en"]: c["name"] for c in ROWS["communities"]}
    assert len(named) == 5
    assert [_short(None, english[n]) for n in named] == by_shortfall[:5]


def _short(street: str | None, community: str | None = None) -> int:
    """Eligible buildings a street or community lacks to reach the district's 90%."""
    buildings = [b for b in ROWS["buildings"] if b["fiber_status"] != "not_eligible"
                 and (community is None or b["community"] == community)
                 and (street is None or any(c["name"] == b["community"]
                                            and c["street"] == street
                                            for c in ROWS["communities"]))]
    connected = sum(b["fiber_status"] == "connected" for b in buildings)
    return max(0, -(-90 * len(buildings) // 100) - connected)


def test_work_planned_after_the_deadline_is_flagged_and_stays_short(
        client: FlaskClient, district: Store) -> None:
    deadline = date.fromisoformat(ROWS["targets"][0]["deadline"])
    waiting = [b for b in ROWS["buildings"] if b["community"] == "湖景社区"
               and b["fiber_status"] == "planned"]
    late = waiting[0]["code"]
    scope = "community:湖景社区"
    with district.session() as session:  # every eligible building of the community
        session.add(CoverageTarget(metric=TargetMetric.FIBER_ELIGIBLE, scope=scope,
                                   target=100, deadline=deadline, owner="湖景社区工作站"))
    with district.session() as session:
        before = {(s.metric, s.scope): s for s in evaluate(session, NOW)}
        session.execute(update(Building).where(Building.code == late)
                        .values(fiber_planned_on=deadline + timedelta(days=30)))
    with district.session() as session:
        after = {(s.metric, s.scope): s for s in evaluate(session, NOW)}
    was, now = before[(TargetMetric.FIBER_ELIGIBLE, scope)], after[(TargetMetric.FIBER_ELIGIBLE,
                                                                   scope)]
    assert was.planned is not None and now.planned is not None
    assert (was.planned.on_time, was.planned.late) == (len(waiting), 0)
    assert (now.planned.on_time, now.planned.late) == (len(waiting) - 1, 1)
    # the shortfall at the deadline counts the late building as still missing
    unconnected = sum(b["community"] == "湖景社区" and b["fiber_status"] == "unconnected"
                      for b in ROWS["buildings"])
    assert now.shortfall == was.shortfall == unconnected + len(waiting)
    assert (was.deadline_shortfall, now.deadline_shortfall) == (unconnected, unconnected + 1)
    page = client.get("/dashboard/communities/湖景社区?lang=en").get_data(as_text=True)
    flagged = re.findall(r'<tr data-late="([\d-]+)"><td>[^<]*<small>([^<]+)</small>', page)
    assert (deadline.isoformat(), late) in flagged
    assert f"after the deadline {deadline.isoformat()}" in page
    street = client.get("/dashboard/streets/笋岗?lang=en").get_data(as_text=True)
    assert "planned after the deadline</small>" in street
    overview = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Still short at the deadline if work goes to plan" in overview
