"""Line protocol, rollup means and the collector runner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from citynet.telemetry import Context, Point, line
from monitoring.collectors import run_collectors
from monitoring.rollups import merge

AT = datetime(2026, 11, 26, 8, 30, 0, 123456, tzinfo=UTC)


def test_line_protocol_escapes_and_types() -> None:
    point = Point("hotspot use", {"hotspot": "东门 广场,1", "empty": "", "k=v": "a=b"},
                  {"online": 12, "rate": 97.5, "up": True, "note": 'say "hi"\n'}, AT)
    assert line(point) == (
        'hotspot\\ use,hotspot=东门\\ 广场\\,1,k\\=v=a\\=b '
        'online=12i,rate=97.5,up=true,note="say \\"hi\\"\\n" 1795681800123456000')


def test_a_newline_in_a_tag_cannot_split_the_line() -> None:
    assert line(Point("m", {"t": "a\nb"}, {"v": 1}, AT)).startswith("m,t=a\\ b v=1i ")


def test_points_refuse_what_influxdb_would_refuse() -> None:
    with pytest.raises(ValueError, match="no fields"):
        Point("m", {}, {}, AT)
    with pytest.raises(ValueError, match="naive"):
        Point("m", {}, {"v": 1}, datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="NaN"):
        line(Point("m", {}, {"v": float("nan")}, AT))


def test_rollup_means_fold_samples_and_skip_text() -> None:
    first = merge({}, 0, Point("m", {}, {"v": 10, "s": "x", "b": True}, AT))
    assert first == {"v": 10.0}
    second = merge(first, 1, Point("m", {}, {"v": 20, "w": 4.0}, AT))
    assert second == {"v": 15.0, "w": 4.0}
    assert merge(second, 2, Point("m", {}, {"v": 30}, AT))["v"] == pytest.approx(20.0)


class _Broken:
    name, interval = "broken", 1.0

    def collect(self, context: Context) -> list[Point]:
        raise RuntimeError("device table unreadable")


class _Fine:
    name, interval = "fine", 1.0

    def collect(self, context: Context) -> list[Point]:
        return [Point("m", {"a": "1"}, {"v": 1}, context.now)]


class _Sink:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.got = name, fail, []  # type: ignore[var-annotated]

    def write(self, points: object) -> None:
        if self.fail:
            raise OSError("disk full")
        self.got.append(points)

    def close(self) -> None:
        pass


def test_one_failing_collector_or_sink_stops_nothing_else() -> None:
    good, bad = _Sink("good"), _Sink("bad", fail=True)
    context = Context(None, None, AT)  # type: ignore[arg-type]
    runs = run_collectors([_Broken(), _Fine()], context, [bad, good])
    assert [(r.collector, r.ok, r.points) for r in runs] == [("broken", False, 0),
                                                             ("fine", True, 1)]
    assert "device table unreadable" in runs[0].error
    assert len(good.got) == 1 and good.got[0][0].time == AT
