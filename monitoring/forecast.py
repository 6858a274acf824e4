"""Trend, forecast to a deadline, and a target's status. Pure.

The forecast is an ordinary least-squares line through the recent history (the last
``WINDOW_DAYS``), extended to the deadline, with an 80% prediction band from the
residuals (Student's t). A line is what the data supports: a district's coverage grows by
work orders, not exponentially, and a manager can check a straight line by eye.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

WINDOW_DAYS = 730
MIN_POINTS = 3

# two-sided 80% Student's t quantiles (0.90) by degrees of freedom; 1.2816 beyond 30
_T90 = {1: 3.078, 2: 1.886, 3: 1.638, 4: 1.533, 5: 1.476, 6: 1.440, 7: 1.415, 8: 1.397,
        9: 1.383, 10: 1.372, 12: 1.356, 15: 1.341, 20: 1.325, 25: 1.316, 30: 1.310}


class Status(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"


@dataclass(frozen=True)
class Forecast:
    value: float  # expected value at the deadline
    low: float  # 80% band
    high: float
    slope_per_month: float  # trend, units a month (30.44 days)
    points: int  # history points the line was fitted on


def _t90(df: int) -> float:
    if df > 30:
        return 1.2816
    known = max(k for k in _T90 if k <= df)
    return _T90[known]


def fit(history: Sequence[tuple[date, float]], deadline: date, *,
        bounds: tuple[float, float] | None = (0.0, 100.0)) -> Forecast | None:
    """The trend of ``history`` (day, value) extended to ``deadline``; None with fewer
    than :data:`MIN_POINTS` points in the window, or all on one day."""
    if not history:
        return None
    last = max(day for day, _ in history)
    recent = [(d, v) for d, v in history if (last - d).days <= WINDOW_DAYS]
    if len(recent) < MIN_POINTS:
        return None
    xs = [float(d.toordinal()) for d, _ in recent]
    ys = [v for _, v in recent]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    x0 = float(deadline.toordinal())
    value = intercept + slope * x0
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    spread = math.sqrt(residual / (n - 2)) if n > 2 else 0.0
    half = _t90(max(1, n - 2)) * spread * math.sqrt(1 + 1 / n + (x0 - mean_x) ** 2 / sxx)
    low, high = value - half, value + half
    if bounds is not None:
        lo, hi = bounds
        value, low, high = (min(hi, max(lo, v)) for v in (value, low, high))
    return Forecast(value, low, high, slope * 30.44, n)


def status(current: float | None, target: float, deadline: date, today: date,
           forecast: Forecast | None, *, short: int = 0) -> Status:
    """met: the target holds today (and nothing is short anywhere in the scope: a
    per-community target is not met by an average); missed: the deadline passed without
    it; on track: the trend reaches it by the deadline; at risk: it does not, or there is
    no trend yet to say so."""
    if current is not None and current >= target and short == 0:
        return Status.MET
    if today > deadline:
        return Status.MISSED
    if forecast is not None and forecast.value >= target:
        return Status.ON_TRACK
    return Status.AT_RISK


def monthly(events: Sequence[tuple[date, int]], base: int, denominator: int,
            start: date, end: date) -> list[tuple[date, float]]:
    """Reconstructed history: the percentage at each month end from ``start`` to ``end``
    given ``base`` units done before ``start`` and dated ``events`` (day, units) after.
    For fiber: connections by their connection date, over today's eligible buildings."""
    if denominator <= 0:
        return []
    ordered = sorted(events)
    points = []
    done, index = base, 0
    for month_end in _month_ends(start, end):
        while index < len(ordered) and ordered[index][0] <= month_end:
            done += ordered[index][1]
            index += 1
        points.append((month_end, 100.0 * done / denominator))
    return points


def _month_ends(start: date, end: date) -> list[date]:
    ends = []
    year, month = start.year, start.month
    while True:
        following = date(year + month // 12, month % 12 + 1, 1)
        month_end = date.fromordinal(following.toordinal() - 1)
        if month_end >= end:
            ends.append(end)
            return ends
        ends.append(month_end)
        year, month = following.year, following.month
