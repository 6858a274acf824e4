"""The managers' dashboard: targets with status and forecasts, a map-like view of the
communities, trends, drill-down street → community → buildings and hotspots, CSV export
and a printable report. Server-rendered HTML with inline SVG: no script, no CDN.

Access: staff with ``dashboard.read`` (managers, engineers, auditors, admins); the export
and the printable report need ``reports.export`` (managers, auditors, admins).

Over 400 lines on purpose: the dashboard's pages, its CSV export and its printable
report read the same queries and are one page family.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    render_template,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citynet import languages, spreadsheets
from citynet.access import require
from citynet.config import Config
from citynet.db import get_meta
from citynet.web import store
from inventory.choices import LABELS, BuildingType, FiberStatus, TargetMetric
from inventory.demo import DEMO_MARK
from inventory.models import AccessPoint, Building, Community, Hotspot, Street
from inventory.queries import english_names
from monitoring import charts, kpis, labels
from monitoring.alerts import local_time, zone
from monitoring.coverage import DISTRICT, Kpis
from monitoring.models import ProbeState
from monitoring.targets import TargetStatus, deadline_for, evaluate

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard",
                      template_folder="templates")

ELIGIBLE, GOVERNMENT = TargetMetric.FIBER_ELIGIBLE, TargetMetric.FIBER_GOVERNMENT
OFFERED = tuple(languages.LOCALES)  # every language with a catalog
NEAR = 5.0  # percentage points under the target still shown as "near" on the map
WORST = 5  # communities named on the overview as furthest behind


@blueprint.before_request
def _language() -> None:
    languages.switch("dashboard_lang", OFFERED)
    g.lang = languages.of_request("dashboard_lang", OFFERED)


@blueprint.app_template_filter("pct")
def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}%"


@blueprint.context_processor
def _helpers() -> dict[str, Any]:
    lang = getattr(g, "lang", "zh-CN")
    english: Mapping[str, str] = getattr(g, "english", {})
    return {"t": lambda key: labels.translate(key, lang), "lang": lang,
            "languages": [(code, languages.NAMES[code]) for code in OFFERED],
            "metric_label": lambda m: labels.metric_label(m, lang),
            "scope_label": lambda s: labels.scope_label(s, lang, english),
            "shortfall_text": lambda s: s.shortfall_text(lang, english),
            "type_label": _type_label(lang), "bar": lambda v, t: _svg(charts.bar(v, t)),
            "colours": charts.STATUS_COLOURS, "metric_eligible": ELIGIBLE,
            "metric_government": GOVERNMENT,
            "metric_hotspots": TargetMetric.HOTSPOTS_PER_COMMUNITY,
            "metric_availability": TargetMetric.AP_AVAILABILITY,
            "metric_login": TargetMetric.LOGIN_SUCCESS,
            "metric_public": TargetMetric.PUBLIC_AREA_WIFI}


def _svg(markup: str) -> Markup:
    return Markup(markup)  # noqa: S704 - the charts module escapes every text it draws


def _type_label(lang: str) -> Callable[[str], str]:
    """Building types and fiber statuses by their labels."""
    members: dict[str, StrEnum] = {**{m.value: m for m in BuildingType},
                                   **{m.value: m for m in FiberStatus}}

    def label(value: str) -> str:
        return labels.say(LABELS[members[value]], lang)
    return label


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    zone: ZoneInfo  # the district's: every time and day the dashboard shows is in it
    kpis: Kpis
    targets: list[TargetStatus]
    demo: str | None
    english: dict[str, str]  # places' English names by scope

    @property
    def district_target(self) -> float:
        """The district's fiber target: what the map and the areas tables measure against
        (the plan's 90 when no district target is imported)."""
        return next((s.target for s in self.targets
                     if s.metric is ELIGIBLE and s.scope == DISTRICT), 90.0)

    @property
    def headline(self) -> dict[TargetMetric, TargetStatus]:
        """The district's target for each metric: what the headline tiles show."""
        return {s.metric: s for s in self.targets if s.scope == DISTRICT}

    @property
    def generated(self) -> str:
        return local_time(self.now, self.zone)


def _snapshot(db: Session) -> Snapshot:
    now = datetime.now(UTC)
    where = zone(cast(Config, current_app.extensions["citynet.config"]))
    computed = kpis.compute(db, now)
    snapshot = Snapshot(now, where, computed,
                        evaluate(db, now, now.astimezone(where).date(), computed=computed),
                        get_meta(db, DEMO_MARK), english_names(db))
    g.english = snapshot.english  # the templates' place names
    return snapshot


def _chart(status: TargetStatus, lang: str) -> Markup:
    unit = "%" if status.percent else ""
    return _svg(charts.trend(charts.TrendChart(
        status.history, status.target, status.deadline, status.forecast, unit,
        f"{labels.metric_label(status.metric, lang)} · "
        f"{labels.scope_label(status.scope, lang, g.english)}",
        (labels.translate("target", lang), labels.translate("deadline", lang),
         labels.translate("forecast", lang)))))


def _map(db: Session, snapshot: Snapshot, lang: str) -> Markup:
    target = snapshot.district_target
    places = []
    rows = db.execute(select(Community.name, Street.name, func.avg(Building.lat),
                             func.avg(Building.lon))
                      .join(Street, Community.street_id == Street.id)
                      .join(Building, Building.community_id == Community.id)
                      .where(Building.lat.is_not(None), Building.lon.is_not(None))
                      .group_by(Community.name, Street.name))
    for community, street, lat, lon in rows:
        value = snapshot.kpis.value(ELIGIBLE, f"community:{community}")
        state = ("none" if value is None else "met" if value >= target
                 else "at_risk" if value >= target - NEAR else "missed")
        name = labels.scope_label(f"community:{community}", lang, snapshot.english)
        places.append(charts.Place(
            name, float(lat), float(lon), state,
            f"{name} · {labels.scope_label(f'street:{street}', lang, snapshot.english)} · "
            f"{_pct(value)}", url_for("dashboard.community", name=community)))
    return _svg(charts.district_map(places, labels.translate("map", lang)))


@dataclass(frozen=True)
class AreaRow:
    name: str
    scope: str
    fiber: float | None
    government: float | None
    hotspots: int
    communities: int
    availability: float | None
    public_area: float | None
    shortfall: int  # eligible buildings to connect to reach the district target
    late: int = 0  # buildings whose fiber is planned after their target's deadline


def _areas(snapshot: Snapshot, scopes: list[str], target: float,
           late: Mapping[str, int] | None = None) -> list[AreaRow]:
    k = snapshot.kpis
    rows = []
    for scope in scopes:
        hotspots = k.get(TargetMetric.HOTSPOTS_PER_COMMUNITY, scope)
        eligible = k.get(ELIGIBLE, scope)
        short = max(0, int(target / 100 * eligible.denominator - eligible.numerator + 0.999_999))
        rows.append(AreaRow(scope.partition(":")[2], scope, k.value(ELIGIBLE, scope),
                            k.value(GOVERNMENT, scope), int(hotspots.numerator),
                            int(hotspots.denominator),
                            k.value(TargetMetric.AP_AVAILABILITY, scope),
                            k.value(TargetMetric.PUBLIC_AREA_WIFI, scope), short,
                            (late or {}).get(scope, 0)))
    return rows


def by_shortfall(rows: Iterable[AreaRow]) -> list[AreaRow]:
    """Furthest behind first: the most buildings short, then the lowest coverage."""
    return sorted(rows, key=lambda a: (-a.shortfall, -1.0 if a.fiber is None else a.fiber,
                                       a.name))


def _late(db: Session, targets: list[TargetStatus]) -> Counter[str]:
    """Buildings planned after the deadline of a fiber target they count for, by
    district, street and community scope."""
    late: Counter[str] = Counter()
    rows = db.execute(select(Street.name, Community.name, Building.type,
                             Building.fiber_planned_on)
                      .join(Community, Building.community_id == Community.id)
                      .join(Street, Community.street_id == Street.id)
                      .where(Building.fiber_status == FiberStatus.PLANNED,
                             Building.fiber_planned_on.is_not(None)))
    for street, community, building_type, planned_on in rows:
        deadline = deadline_for(targets, street, community, building_type)
        if deadline is not None and planned_on is not None and planned_on > deadline:
            late.update((DISTRICT, f"street:{street}", f"community:{community}"))
    return late


def _scopes_in(db: Session, kind: str, street: str | None = None) -> list[str]:
    if kind == "street":
        return [f"street:{n}" for n in db.scalars(select(Street.name).order_by(Street.name))]
    query = select(Community.name).join(Street).order_by(Community.name)
    if street is not None:
        query = query.where(Street.name == street)
    return [f"community:{n}" for n in db.scalars(query)]


@blueprint.get("/")
@require("dashboard.read")
def overview() -> str:
    lang = g.lang
    with store().session() as db:
        snapshot = _snapshot(db)
        target = snapshot.district_target
        late = _late(db, snapshot.targets)
        worst = [a for a in by_shortfall(_areas(snapshot, _scopes_in(db, "community"),
                                                target, late)) if a.shortfall][:WORST]
        return render_template(
            "dashboard/overview.html", snapshot=snapshot, targets=snapshot.targets,
            charts={s.id: _chart(s, lang) for s in snapshot.targets},
            district_map=_map(db, snapshot, lang), headline=snapshot.headline,
            streets=by_shortfall(_areas(snapshot, _scopes_in(db, "street"), target, late)),
            worst=worst, k=snapshot.kpis, district=DISTRICT, demo=snapshot.demo,
            district_target=target)


@blueprint.get("/targets/<int:target_id>")
@require("dashboard.read")
def target(target_id: int) -> str:
    with store().session() as db:
        snapshot = _snapshot(db)
        found = next((s for s in snapshot.targets if s.id == target_id), None)
        if found is None:
            abort(404)
        return render_template("dashboard/target.html", status=found,
                               chart=_chart(found, g.lang), demo=snapshot.demo)


@blueprint.get("/streets/<name>")
@require("dashboard.read")
def street(name: str) -> str:
    with store().session() as db:
        if db.scalar(select(Street.id).where(Street.name == name)) is None:
            abort(404)
        snapshot = _snapshot(db)
        target = snapshot.district_target
        late = _late(db, snapshot.targets)
        return render_template(
            "dashboard/street.html", street=name,
            row=_areas(snapshot, [f"street:{name}"], target, late)[0],
            communities=by_shortfall(_areas(snapshot, _scopes_in(db, "community", name),
                                            target, late)),
            targets=[s for s in snapshot.targets if s.scope == f"street:{name}"],
            demo=snapshot.demo, district_target=target)


@blueprint.get("/communities/<name>")
@require("dashboard.read")
def community(name: str) -> str:
    with store().session() as db:
        found = db.scalar(select(Community).where(Community.name == name))
        if found is None:
            abort(404)
        snapshot = _snapshot(db)
        target = snapshot.district_target
        buildings = db.scalars(
            select(Building).where(Building.community_id == found.id,
                                   Building.fiber_status.in_([FiberStatus.PLANNED,
                                                              FiberStatus.UNCONNECTED]))
            .order_by(Building.fiber_planned_on.is_(None), Building.fiber_planned_on,
                      Building.code)).all()
        street_name = found.street.name
        return render_template(
            "dashboard/community.html", community=name, street=street_name,
            row=_areas(snapshot, [f"community:{name}"], target, _late(db, snapshot.targets))[0],
            buildings=[(b, deadline_for(snapshot.targets, street_name, name, b.type))
                       for b in buildings],
            hotspots=_hotspots(db, found.id),
            demo=snapshot.demo, district_target=target)


@dataclass(frozen=True)
class HotspotRow:
    name: str
    location: str
    aps: int
    aps_up: int
    aps_probed: int
    survey_covered: int
    survey_points: int


def _hotspots(db: Session, community_id: int) -> list[HotspotRow]:
    hotspots = db.scalars(select(Hotspot).where(Hotspot.community_id == community_id)
                          .order_by(Hotspot.name)).all()
    macs: dict[int, list[str]] = {}
    for hotspot_id, mac in db.execute(
            select(AccessPoint.hotspot_id, AccessPoint.mac)
            .where(AccessPoint.hotspot_id.in_([h.id for h in hotspots]))):
        macs.setdefault(hotspot_id, []).append(mac)
    states = {t[3:]: up for t, up in db.execute(
        select(ProbeState.target, ProbeState.up).where(ProbeState.target.in_(
            [f"ap:{m}" for ms in macs.values() for m in ms])))}
    survey = {name: (int(covered or 0), int(total)) for name, covered, total in db.execute(
        kpis.latest_surveys([h.name for h in hotspots]))}
    rows = []
    for h in hotspots:
        ap_macs = macs.get(h.id, [])
        probed = [m for m in ap_macs if m in states]
        covered, points = survey.get(h.name, (0, 0))
        rows.append(HotspotRow(h.name, h.location, len(ap_macs),
                               sum(1 for m in probed if states[m]), len(probed),
                               covered, points))
    return rows


@blueprint.get("/targets.json")
@require("dashboard.read")
def targets_json() -> dict[str, Any]:
    """Every target with its status and forecast (the API: OpenAPI at /api/openapi.json)."""
    with store().session() as db:
        snapshot = _snapshot(db)
    return {"generated_at": snapshot.now.isoformat(), "targets": [{
        "id": s.id, "metric": s.metric.value, "scope": s.scope, "target": s.target,
        "deadline": s.deadline.isoformat(), "owner": s.owner, "owner_en": s.owner_en,
        "current": s.current,
        "status": s.status.value, "shortfall": s.shortfall,
        "shortfall_text": s.shortfall_text("en", snapshot.english), "plan": s.plan,
        "deadline_shortfall": s.deadline_shortfall,
        "planned_late": None if s.planned is None else s.planned.late,
        "forecast": None if s.forecast is None else {
            "value": s.forecast.value, "low": s.forecast.low, "high": s.forecast.high,
            "slope_per_month": s.forecast.slope_per_month}}
        for s in snapshot.targets]}


@blueprint.get("/export.csv")
@require("reports.export")
def export() -> Response:
    """Every KPI of every scope, and every target with its status, as one CSV."""
    with store().session() as db:
        snapshot = _snapshot(db)
    out = io.StringIO()
    writer = spreadsheets.SpreadsheetWriter(out)
    writer.writerows(export_rows(snapshot, g.lang))
    stamp = snapshot.now.astimezone(snapshot.zone).strftime("%Y%m%d-%H%M")
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # BOM: Excel reads UTF-8
                    headers={"Content-Disposition":
                             f'attachment; filename="citynet-coverage-{stamp}.csv"'})


# the export's columns: what a person reads, in the page's language, then the codes a
# script keys on (the same in every language)
EXPORT_COLUMNS = ("kind", "metric", "scope", "value", "numerator", "denominator", "target",
                  "deadline", "status", "forecast", "forecast_low", "forecast_high",
                  "shortfall", "owner", "metric_code", "scope_code", "status_code")


def export_rows(snapshot: Snapshot, lang: str) -> list[list[str]]:
    """The dashboard's CSV as rows: a header, every target, then every KPI."""
    t = labels.translate
    rows = [[t(f"csv_{column}", lang) for column in EXPORT_COLUMNS]]
    for s in snapshot.targets:
        f = s.forecast
        band = ["", "", ""] if f is None else [_num(f.value), _num(f.low), _num(f.high)]
        rows.append([t("csv_target_row", lang), labels.metric_label(s.metric, lang),
                     labels.scope_label(s.scope, lang, snapshot.english), _num(s.current),
                     "", "", f"{s.target:g}", s.deadline.isoformat(), t(s.status.value, lang),
                     *band, str(s.shortfall), s.owner_in(lang),
                     s.metric.value, s.scope, s.status.value])
    for (metric, scope), ratio in sorted(snapshot.kpis.ratios.items()):
        rows.append([t("csv_kpi_row", lang), labels.metric_label(metric, lang),
                     labels.scope_label(scope, lang, snapshot.english),
                     _num(ratio.value(metric)), f"{ratio.numerator:g}",
                     f"{ratio.denominator:g}", "", "", "", "", "", "", "", "",
                     metric.value, scope, ""])
    return rows


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@blueprint.get("/report")
@require("reports.export")
def report() -> str:
    """One printable page for a leadership meeting: targets, forecasts, charts, streets."""
    lang = g.lang
    with store().session() as db:
        snapshot = _snapshot(db)
        target = snapshot.district_target
        return render_template(
            "dashboard/report.html", snapshot=snapshot, targets=snapshot.targets,
            charts={s.id: _chart(s, lang) for s in snapshot.targets},
            headline=snapshot.headline, k=snapshot.kpis, district=DISTRICT,
            streets=by_shortfall(_areas(snapshot, _scopes_in(db, "street"), target,
                                        _late(db, snapshot.targets))),
            demo=snapshot.demo, district_target=target)
