"""Charts as inline SVG, drawn on the server: they work offline, print, need no script and
no CDN. Pure: data in, markup out (every text escaped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from monitoring.forecast import Forecast

WIDTH, HEIGHT = 640, 280
# room for the axis text at the phone size too (the page's CSS enlarges it on a narrow
# screen, where the chart is drawn at half its width): years and the deadline below
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 60, 16, 14, 52
STATUS_COLOURS = {"met": "#2f8f4e", "on_track": "#3b7dd8", "at_risk": "#d08a16",
                  "missed": "#c9463d", "none": "#9aa5b1"}


@dataclass(frozen=True)
class TrendChart:
    history: Sequence[tuple[date, float]]
    target: float
    deadline: date
    forecast: Forecast | None
    unit: str = "%"
    title: str = ""
    labels: tuple[str, str, str] = ("target", "deadline", "forecast")


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = (hi - lo) / (count - 1) if hi > lo else 1.0
    return [lo + i * step for i in range(count)]


def trend(chart: TrendChart) -> str:
    """History line, the target as a horizontal line, the deadline as a vertical one, and
    the forecast from the last point to the deadline with its 80% band."""
    if not chart.history:
        return ""
    first = chart.history[0][0]
    end = max(chart.deadline, chart.history[-1][0])
    values = [v for _, v in chart.history] + [chart.target]
    if chart.forecast is not None:
        values += [chart.forecast.low, chart.forecast.high]
    lo, hi = min(values), max(values)
    margin = max(1.0, (hi - lo) * 0.1)
    lo, hi = max(0.0, lo - margin), hi + margin
    if chart.unit == "%":
        hi = min(hi, 100.0) if max(values) <= 100.0 else hi
    span_days = max(1, (end - first).days)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(day: date) -> float:
        return PAD_LEFT + plot_w * (day - first).days / span_days

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (1 - (value - lo) / (hi - lo or 1.0))

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
             f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(chart.title)}</title>"]
    digits = 0 if hi - lo >= 10 else 1
    for tick in _ticks(lo, hi):
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#e3e8ee"/>'
                     f'<text x="{PAD_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#5b6775">{tick:.{digits}f}{escape(chart.unit)}</text>')
    axis = HEIGHT - PAD_BOTTOM
    for year in range(first.year + 1, end.year + 1):
        jan = date(year, 1, 1)
        parts.append(f'<text x="{x(jan):.1f}" y="{axis + 24}" text-anchor="middle" '
                     f'font-size="11" fill="#5b6775">{year}</text>'
                     f'<line x1="{x(jan):.1f}" x2="{x(jan):.1f}" y1="{axis}" '
                     f'y2="{axis + 4}" stroke="#5b6775"/>')
    target_label, deadline_label, forecast_label = (escape(t) for t in chart.labels)
    # the target's words at its line's left end, above it (below when the line is at the
    # top); the deadline's under the axis: neither can cover the other nor the forecast
    target_y = y(chart.target)
    above = target_y - PAD_TOP > 24
    parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{target_y:.1f}" '
                 f'y2="{target_y:.1f}" stroke="#c9463d" stroke-dasharray="6 4"/>'
                 f'<text x="{PAD_LEFT + 6}" y="{target_y - 5 if above else target_y + 5:.1f}" '
                 f'dominant-baseline="{"auto" if above else "hanging"}" font-size="11" '
                 f'fill="#c9463d">{target_label} {chart.target:g}{escape(chart.unit)}</text>')
    deadline_x = x(chart.deadline)
    anchor = "end" if deadline_x - PAD_LEFT > WIDTH / 2 else "start"
    label_x = deadline_x - 4 if anchor == "end" else deadline_x + 4
    parts.append(f'<line x1="{deadline_x:.1f}" x2="{deadline_x:.1f}" '
                 f'y1="{PAD_TOP}" y2="{axis + 30}" stroke="#5b6775" '
                 f'stroke-dasharray="2 3"/><text x="{label_x:.1f}" '
                 f'y="{HEIGHT - 4}" text-anchor="{anchor}" font-size="11" fill="#5b6775">'
                 f'{deadline_label} {chart.deadline.isoformat()}</text>')
    last_day, last_value = chart.history[-1]
    if chart.forecast is not None and chart.deadline > last_day:
        f = chart.forecast
        parts.append(f'<polygon points="{x(last_day):.1f},{y(last_value):.1f} '
                     f'{x(chart.deadline):.1f},{y(f.high):.1f} '
                     f'{x(chart.deadline):.1f},{y(f.low):.1f}" fill="#3b7dd8" '
                     f'fill-opacity="0.22"/>'
                     # the band's ends as a bar with caps: seen even when it is narrow
                     f'<path d="M{x(chart.deadline) - 7:.1f} {y(f.high):.1f}h14'
                     f'M{x(chart.deadline):.1f} {y(f.high):.1f}V{y(f.low):.1f}'
                     f'M{x(chart.deadline) - 7:.1f} {y(f.low):.1f}h14" class="band" '
                     f'stroke="#3b7dd8" stroke-width="2" fill="none"/>'
                     f'<line x1="{x(last_day):.1f}" y1="{y(last_value):.1f}" '
                     f'x2="{x(chart.deadline):.1f}" y2="{y(f.value):.1f}" stroke="#3b7dd8" '
                     f'stroke-dasharray="5 3" stroke-width="2"/>'
                     f'<circle cx="{x(chart.deadline):.1f}" cy="{y(f.value):.1f}" r="4" '
                     f'fill="#3b7dd8"><title>{forecast_label} {f.value:.1f}{escape(chart.unit)}'
                     f" ({f.low:.1f}–{f.high:.1f})</title></circle>")
    path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in chart.history)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#0b4f8a" stroke-width="2"/>')
    parts.append(f'<circle cx="{x(last_day):.1f}" cy="{y(last_value):.1f}" r="3.5" '
                 f'fill="#0b4f8a"><title>{last_day.isoformat()} {last_value:.1f}'
                 f"{escape(chart.unit)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    status: str  # a key of STATUS_COLOURS
    label: str  # what the tooltip says
    href: str


def district_map(places: Sequence[Place], title: str, width: int = 640,
                 height: int = 420) -> str:
    """Communities as dots at their buildings' mean position, coloured by status: a
    map-like view with no geodata beyond the inventory's coordinates."""
    if not places:
        return ""
    lats = [p.lat for p in places]
    lons = [p.lon for p in places]
    lat_lo, lat_hi = min(lats), max(lats)
    lon_lo, lon_hi = min(lons), max(lons)
    pad = 18

    def xy(place: Place) -> tuple[float, float]:
        fx = (place.lon - lon_lo) / ((lon_hi - lon_lo) or 1.0)
        fy = (place.lat - lat_lo) / ((lat_hi - lat_lo) or 1.0)
        return pad + fx * (width - 2 * pad), height - pad - fy * (height - 2 * pad)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" class="map" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>'
             f'<rect width="{width}" height="{height}" fill="#eef2f6" rx="6"/>']
    for place in places:
        cx, cy = xy(place)
        colour = STATUS_COLOURS.get(place.status, STATUS_COLOURS["none"])
        parts.append(f'<a href="{escape(place.href)}"><circle cx="{cx:.1f}" cy="{cy:.1f}" '
                     f'r="9" fill="{colour}" fill-opacity="0.85" stroke="#fff">'
                     f"<title>{escape(place.label)}</title></circle></a>")
    parts.append("</svg>")
    return "".join(parts)


def bar(value: float | None, target: float, scale: float = 100.0) -> str:
    """A small horizontal bar with the target marked, for tables."""
    if value is None:
        return ""
    width = max(0.0, min(1.0, value / scale)) * 100
    mark = max(0.0, min(1.0, target / scale)) * 100
    colour = STATUS_COLOURS["met"] if value >= target else STATUS_COLOURS["at_risk"]
    return (f'<svg viewBox="0 0 100 10" class="bar" preserveAspectRatio="none" '
            f'xmlns="http://www.w3.org/2000/svg"><rect width="100" height="10" '
            f'fill="#e3e8ee"/><rect width="{width:.1f}" height="10" fill="{colour}"/>'
            f'<line x1="{mark:.1f}" x2="{mark:.1f}" y1="0" y2="10" stroke="#1d2733" '
            f'stroke-width="1"/></svg>')
