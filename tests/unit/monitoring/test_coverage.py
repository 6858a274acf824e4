"""Coverage KPIs, trends, forecasts and statuses: the pure parts of the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from inventory.choices import TargetMetric
from monitoring import charts, coverage, forecast
from monitoring.coverage import Fact, fiber_facts, fold, hotspot_facts, shortfall
from monitoring.forecast import Status, fit, monthly, status

FIBER = TargetMetric.FIBER_ELIGIBLE
GOV = TargetMetric.FIBER_GOVERNMENT
HOTSPOTS = TargetMetric.HOTSPOTS_PER_COMMUNITY


def test_fiber_facts_count_eligible_buildings_and_government_ones_twice() -> None:
    kpis = fold(fiber_facts([
        ("笋岗", "田心社区", "residential", "connected", 8),
        ("笋岗", "田心社区", "residential", "planned", 2),
        ("笋岗", "田心社区", "residential", "not_eligible", 5),  # not in any denominator
        ("笋岗", "田心社区", "government_agency", "connected", 3),
        ("笋岗", "田心社区", "government_agency", "unconnected", 1),
        ("东门", "湖贝社区", "community_workstation", "connected", 1),
    ]))
    assert kpis.value(FIBER, "district") == pytest.approx(100 * 12 / 15)
    assert kpis.value(FIBER, "street:笋岗") == pytest.approx(100 * 11 / 14)
    assert kpis.value(GOV, "district") == pytest.approx(100 * 4 / 5)
    assert kpis.value(GOV, "building_type:government_agency") == pytest.approx(75.0)
    assert kpis.value(GOV, "building_type:residential") is None  # no government buildings
    assert kpis.value(FIBER, "community:湖贝社区") == 100.0
    assert kpis.members["street:笋岗"] == {"田心社区"}


def test_shortfall_counts_whole_buildings_to_reach_the_target() -> None:
    kpis = fold(fiber_facts([("s", "c", "residential", "connected", 85),
                             ("s", "c", "residential", "unconnected", 15)]))
    assert shortfall(FIBER, "district", 90, kpis) == 5
    assert shortfall(FIBER, "district", 85, kpis) == 0
    assert shortfall(FIBER, "district", 85.5, kpis) == 1  # 85.5 buildings: one more
    assert shortfall(FIBER, "district", 100, kpis) == 15


def test_hotspots_per_community_is_an_average_but_short_community_by_community() -> None:
    kpis = fold(hotspot_facts([("s", "a", 6), ("s", "b", 2), ("t", "c", 4)]))
    assert kpis.value(HOTSPOTS, "district") == pytest.approx(4.0)
    per_community = {"a": 6.0, "b": 2.0, "c": 4.0}
    assert shortfall(HOTSPOTS, "district", 4, kpis, per_community) == 2  # b needs two
    assert shortfall(HOTSPOTS, "street:t", 4, kpis, per_community) == 0
    # the average meets 4, the district does not: b is short
    assert status(4.0, 4, date(2030, 1, 1), date(2026, 1, 1), None,
                  short=2) is Status.AT_RISK


def test_facts_placed_nowhere_count_for_the_district_only() -> None:
    kpis = fold([Fact(TargetMetric.LOGIN_SUCCESS, "", "", 3, 4),
                 Fact(TargetMetric.LOGIN_SUCCESS, "s", "c", 1, 1)])
    assert kpis.value(TargetMetric.LOGIN_SUCCESS, "district") == pytest.approx(80.0)
    assert kpis.scopes(TargetMetric.LOGIN_SUCCESS) == ["community:c", "district", "street:s"]
    assert coverage.Ratio().value(FIBER) is None


def _line(start: date, days: int, every: int, value0: float, per_day: float,
          noise: tuple[float, ...] = (0.0,)) -> list[tuple[date, float]]:
    return [(start + timedelta(days=d), value0 + per_day * d + noise[i % len(noise)])
            for i, d in enumerate(range(0, days, every))]


def test_a_straight_line_forecasts_exactly_with_no_band() -> None:
    history = _line(date(2025, 1, 1), 365, 30, 70.0, 0.02)
    result = fit(history, date(2026, 1, 1))
    assert result is not None
    assert result.value == pytest.approx(70.0 + 0.02 * 365)
    assert result.low == pytest.approx(result.value) == pytest.approx(result.high)
    assert result.slope_per_month == pytest.approx(0.02 * 30.44)


def test_noise_widens_the_band_and_the_band_grows_with_the_horizon() -> None:
    history = _line(date(2025, 1, 1), 365, 15, 60.0, 0.03, noise=(0.8, -0.5, 0.1, -0.9, 0.6))
    near = fit(history, date(2026, 2, 1))
    far = fit(history, date(2028, 1, 1))
    assert near is not None and far is not None
    assert near.low < near.value < near.high
    assert far.high - far.low > near.high - near.low


def test_forecast_is_clamped_to_percent_and_needs_three_points() -> None:
    steep = _line(date(2025, 1, 1), 365, 30, 90.0, 0.05)
    clamped = fit(steep, date(2027, 1, 1))
    assert clamped is not None and clamped.value == 100.0
    assert fit(steep[:2], date(2027, 1, 1)) is None
    assert fit([(date(2025, 1, 1), 1.0)] * 3, date(2027, 1, 1)) is None  # one day only
    assert fit([], date(2027, 1, 1)) is None


def test_old_history_outside_the_window_is_not_fitted() -> None:
    old = _line(date(2015, 1, 1), 365, 30, 10.0, 0.0)
    recent = _line(date(2025, 1, 1), 365, 30, 50.0, 0.0)
    result = fit(old + recent, date(2026, 6, 1))
    assert result is not None and result.value == pytest.approx(50.0)
    assert result.points == len(recent)


@pytest.mark.parametrize(("current", "today", "value", "expected"), [
    (90.0, date(2025, 6, 1), None, Status.MET),
    (95.0, date(2027, 6, 1), None, Status.MET),  # met stays met after the deadline
    (80.0, date(2027, 6, 1), 99.0, Status.MISSED),
    (80.0, date(2025, 6, 1), 90.0, Status.ON_TRACK),  # the trend reaches it exactly
    (80.0, date(2025, 6, 1), 89.9, Status.AT_RISK),
    (80.0, date(2025, 6, 1), None, Status.AT_RISK),  # no trend yet: not on track
    (None, date(2025, 6, 1), None, Status.AT_RISK),
])
def test_status(current: float | None, today: date, value: float | None,
                expected: Status) -> None:
    predicted = None if value is None else forecast.Forecast(value, value, value, 0.0, 5)
    assert status(current, 90.0, date(2026, 12, 31), today, predicted) is expected


def test_monthly_history_from_dated_events() -> None:
    events = [(date(2025, 1, 15), 2), (date(2025, 3, 1), 3), (date(2025, 3, 31), 1)]
    points = monthly(events, base=4, denominator=20, start=date(2025, 1, 1),
                     end=date(2025, 4, 10))
    assert points == [(date(2025, 1, 31), 30.0), (date(2025, 2, 28), 30.0),
                      (date(2025, 3, 31), 50.0), (date(2025, 4, 10), 50.0)]
    assert monthly(events, 0, 0, date(2025, 1, 1), date(2025, 2, 1)) == []
    december = monthly([], 1, 2, date(2024, 12, 1), date(2025, 1, 5))
    assert [d for d, _ in december] == [date(2024, 12, 31), date(2025, 1, 5)]


def test_chart_labels_keep_apart_and_a_narrow_band_still_shows() -> None:
    """The target's words at the left of its line (below it at the top of the chart), the
    deadline's under the axis; an 80% band 0.2 points wide still gets its capped bar."""
    import re

    history = [(date(2025, 1, 1), 80.0), (date(2026, 1, 1), 90.0)]
    svg = charts.trend(charts.TrendChart(history, 100.0, date(2027, 12, 31),
                                         forecast.Forecast(99.9, 99.8, 100.0, 0.8, 12)))
    texts = {m[3]: (float(m[0]), float(m[1]), m[2]) for m in re.findall(
        r'<text x="([\d.]+)" y="([\d.]+)"([^>]*)>([^<]*)</text>', svg)}
    target_x, target_y, target_attrs = texts["target 100%"]
    deadline_x, deadline_y, deadline_attrs = texts["deadline 2027-12-31"]
    axis = charts.HEIGHT - charts.PAD_BOTTOM
    assert target_x < charts.WIDTH / 4 and 'dominant-baseline="hanging"' in target_attrs
    assert target_y > charts.PAD_TOP  # under the line drawn along the top
    assert deadline_y > axis + 20 and 'text-anchor="end"' in deadline_attrs
    assert deadline_x > charts.WIDTH / 2
    assert 'class="band"' in svg and "polygon" in svg
    above = charts.trend(charts.TrendChart(history, 50.0, date(2027, 12, 31), None))
    assert 'dominant-baseline="auto"' in above and 'class="band"' not in above


def test_charts_escape_every_text_and_draw_target_and_forecast() -> None:
    history = _line(date(2025, 1, 1), 365, 30, 70.0, 0.02)
    svg = charts.trend(charts.TrendChart(history, 90.0, date(2026, 12, 31),
                                         fit(history, date(2026, 12, 31)), "%",
                                         '<script>"x"</script>'))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "polygon" in svg and "2026-12-31" in svg and "target 90%" in svg
    assert charts.trend(charts.TrendChart([], 90.0, date(2026, 1, 1), None)) == ""
    place = charts.Place('a"b', 22.5, 114.1, "met", "<b>", "/x?a=1&b=2")
    drawn = charts.district_map([place], "map")
    assert "&lt;b&gt;" in drawn and "a=1&amp;b=2" in drawn
