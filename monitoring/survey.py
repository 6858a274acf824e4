"""WiFi site surveys: a walk's beacons turned into measured coverage per survey point and
hotspot. The measuring is pure (beacons in, rows out); reading the capture is
``monitoring.pcap``'s, storing and querying rows is at the end of this module.

Why points, hotspots, signal and coverage are measured so: docs/monitoring.md, "Site
surveys".

Over 400 lines on purpose, by a little: measuring a walk and storing its rows are one
import; the storing (at the end) leaves when it grows.
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from citynet.catalogs import N_, gettext
from citynet.errors import CitynetError
from monitoring.models import SurveyPoint
from monitoring.pcap import Beacon, CaptureCounts

DEFAULT_GAP_SECONDS = 5.0
MAX_NAME = 128  # SurveyPoint.survey
_HINTS_KEPT = 20  # foreign BSSIDs broadcasting an inventory SSID, listed for the user


class SurveyError(CitynetError):
    """A survey that cannot be measured as asked (bad points plan, nothing heard)."""


@dataclass(frozen=True)
class PlanProblem:
    """A line of a points plan refused, as ``file:line: reason``: the place as it is, the
    reason a msgid and its values (``str()`` English, :meth:`said` the reader's)."""

    source: str
    line: int
    reason: str
    values: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason % self.values}"

    def said(self) -> str:
        return f"{self.source}:{self.line}: {gettext(self.reason, **self.values)}"


class PlanRefused(SurveyError):
    """A points plan with problems, every one listed (one a line)."""

    def __init__(self, problems: Sequence[PlanProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = list(problems)

    def said(self) -> str:
        return "\n".join(problem.said() for problem in self.problems)


class BadTime(ValueError):
    """A plan's time refused: a msgid and its values."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason % values)
        self.reason, self.values = reason, values


# --- points plan ----------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedPoint:
    """A survey point of a plan: the walker stood there from ``start`` until ``end``."""

    name: str
    start: datetime
    end: datetime


def parse_time(text: str) -> datetime:
    """A plan's time: epoch seconds, or ISO 8601 with a UTC offset (a time without one is
    refused: whose clock it was is exactly what gets frames assigned to the wrong point)."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(N_("%(time)r is neither ISO 8601 nor epoch seconds"),
                      time=text) from None
    if moment.tzinfo is None:
        # the text twice, quoted and as written: one name with both %r and %s would
        # make the msgid's placeholders disagree for gettext's format check
        raise BadTime(N_("%(quoted)s has no UTC offset (write e.g. %(time)s+08:00 or "
                         "%(time)sZ)"), quoted=repr(text), time=text)
    return moment.astimezone(UTC)


def parse_points(text: str, source: str) -> list[PlannedPoint]:
    """The points of a plan CSV (columns point,start,end), sorted by start; every problem
    is reported at once as SOURCE:LINE: reason."""
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames or ()]
    missing = {"point", "start", "end"} - set(reader.fieldnames)
    if missing:
        raise SurveyError(N_("%(source)s: needs the columns point,start,end (missing: "
                             "%(missing)s)"), source=source, missing=", ".join(sorted(missing)))
    points: list[PlannedPoint] = []
    lines: dict[str, int] = {}
    problems: list[PlanProblem] = []
    for row in reader:
        line = reader.line_num
        name = (row["point"] or "").strip()
        try:
            start, end = parse_time(row["start"] or ""), parse_time(row["end"] or "")
        except BadTime as exc:
            problems.append(PlanProblem(source, line, exc.reason, exc.values))
            continue
        if not name or len(name) > 64:
            problems.append(PlanProblem(source, line,
                                        N_("a point needs a name of 1 to 64 characters")))
        elif name in lines:
            problems.append(PlanProblem(source, line, N_("point %(name)r is also on line "
                                                         "%(other)s"),
                                        {"name": name, "other": lines[name]}))
        elif end <= start:
            problems.append(PlanProblem(source, line, N_("%(name)s: end is not after start"),
                                        {"name": name}))
        else:
            lines[name] = line
            points.append(PlannedPoint(name, start, end))
    points.sort(key=lambda p: p.start)
    for before, after in pairwise(points):
        if after.start < before.end:
            problems.append(PlanProblem(
                source, lines[after.name], N_("%(name)s overlaps %(other)s (line %(line)s)"),
                {"name": after.name, "other": before.name, "line": lines[before.name]}))
    if problems:
        raise PlanRefused(problems)
    if not points:
        raise SurveyError(N_("%(source)s: no points"), source=source)
    return points


def read_points(path: Path) -> list[PlannedPoint]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SurveyError(N_("%(path)s: cannot read (%(reason)s)"), path=path,
                          reason=exc) from None
    return parse_points(text, str(path))


# --- which hotspot a BSSID belongs to -------------------------------------------------

class Unmatched(Enum):
    FOREIGN = "foreign"
    AMBIGUOUS = "ambiguous"


class HotspotIndex:
    """BSSID → hotspot, from the inventory's (AP MAC, hotspot) pairs."""

    def __init__(self, access_points: Iterable[tuple[str, str]],
                 ssids: Iterable[str] = ()) -> None:
        self._exact: dict[str, str] = {}
        by_prefix: dict[str, set[str]] = defaultdict(set)
        for mac, hotspot in access_points:
            mac = mac.lower()
            self._exact[mac] = hotspot
            by_prefix[mac[:14]].add(hotspot)  # "aa:bb:cc:dd:ee"
        self._derived = {prefix: next(iter(found)) if len(found) == 1 else Unmatched.AMBIGUOUS
                         for prefix, found in by_prefix.items()}
        self.ssids = frozenset(s for s in ssids if s)

    def hotspot_of(self, bssid: str) -> str | Unmatched:
        bssid = bssid.lower()
        exact = self._exact.get(bssid)
        if exact is not None:
            return exact
        return self._derived.get(bssid[:14], Unmatched.FOREIGN)


# --- measuring ------------------------------------------------------------------------

@dataclass(frozen=True)
class PointReading:
    """One survey point's result for one hotspot (what a ``SurveyPoint`` row holds)."""

    point: str
    hotspot: str
    best_dbm: float | None  # None: nothing of the hotspot heard here
    bssid: str  # the BSSID that gave best_dbm; "" when none
    covered: bool
    measured_at: datetime  # first beacon heard at the point (its window start if none)


@dataclass
class Tally:
    """What happened to the beacons of a survey."""

    beacons: int = 0
    used: int = 0
    foreign: int = 0
    ambiguous: int = 0
    other_hotspots: int = 0  # inventory hotspots that are not targets of this survey
    ignored: int = 0  # outside every planned point


@dataclass
class Measurement:
    points: list[str]
    targets: list[str]
    rows: list[PointReading]
    tally: Tally
    span: tuple[datetime, datetime] | None  # first and last beacon time; None: no beacons
    # foreign BSSIDs that broadcast an SSID of the inventory: an AP missing from it?
    unknown_with_our_ssid: dict[str, str] = field(default_factory=dict)


def median_dbm(histogram: Mapping[int, int]) -> float:
    """The median of readings kept as value → count (the mean of the middle two when even)."""
    total = sum(histogram.values())
    if total <= 0:
        raise ValueError("no readings")
    lower, upper = (total - 1) // 2, total // 2
    seen, low = 0, None
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > lower:
            low = value
        if seen > upper:
            return (low + value) / 2 if low is not None else float(value)
    raise AssertionError("unreachable: the counts add up to total")


class _Points:
    """Assigns beacon times to survey points: by gaps, or by a plan's windows."""

    def __init__(self, gap: float, plan: Sequence[PlannedPoint] | None) -> None:
        self.gap = gap
        self.plan = list(plan) if plan is not None else None
        self.first_heard: dict[str, datetime] = {}
        if self.plan is not None:
            self._starts = [p.start for p in self.plan]
        self._latest: datetime | None = None
        self._current = ""

    def of(self, moment: datetime) -> str | None:
        if self.plan is not None:
            at = bisect_right(self._starts, moment) - 1
            if at < 0 or moment >= self.plan[at].end:
                return None
            name = self.plan[at].name
        else:
            if self._latest is None or (moment - self._latest).total_seconds() >= self.gap:
                self._current = f"P{len(self.first_heard) + 1}"
            # capture order, gaps from the latest time so far: a frame merged slightly
            # out of order stays in its point instead of opening a new one
            self._latest = moment if self._latest is None else max(self._latest, moment)
            name = self._current
        self.first_heard.setdefault(name, moment)
        return name

    def all(self) -> list[tuple[str, datetime]]:
        """Every point in order, with when it was measured."""
        if self.plan is None:
            return list(self.first_heard.items())
        return [(p.name, self.first_heard.get(p.name, p.start)) for p in self.plan]


def measure(beacons: Iterable[Beacon], index: HotspotIndex, *, threshold: float,
            gap: float = DEFAULT_GAP_SECONDS, plan: Sequence[PlannedPoint] | None = None,
            targets: Iterable[str] | None = None) -> Measurement:
    """The survey's rows: one per point and target hotspot (see the module's decisions)."""
    if not math.isfinite(gap) or gap <= 0:
        raise ValueError("gap must be a positive number of seconds")
    chosen = frozenset(targets) if targets is not None else None
    points = _Points(gap, plan)
    tally = Tally()
    hints: dict[str, str] = {}
    first: datetime | None = None
    last: datetime | None = None
    # point → hotspot → BSSID → dBm histogram
    heard: dict[str, dict[str, dict[str, Counter[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(Counter)))
    for beacon in beacons:
        tally.beacons += 1
        first = beacon.time if first is None else min(first, beacon.time)
        last = beacon.time if last is None else max(last, beacon.time)
        point = points.of(beacon.time)
        if point is None:
            tally.ignored += 1
            continue
        hotspot = index.hotspot_of(beacon.bssid)
        if hotspot is Unmatched.FOREIGN:
            tally.foreign += 1
            if (beacon.ssid in index.ssids and len(hints) < _HINTS_KEPT
                    and beacon.bssid not in hints):
                hints[beacon.bssid] = beacon.ssid
        elif hotspot is Unmatched.AMBIGUOUS:
            tally.ambiguous += 1
        elif chosen is not None and hotspot not in chosen:
            tally.other_hotspots += 1
        else:
            tally.used += 1
            heard[point][hotspot][beacon.bssid][beacon.dbm] += 1
    names = sorted(chosen if chosen is not None else
                   {h for by_hotspot in heard.values() for h in by_hotspot})
    rows = [_reading(point, hotspot, moment, heard[point][hotspot] if point in heard else {},
                     threshold)
            for point, moment in points.all() for hotspot in names]
    span = (first, last) if first is not None and last is not None else None
    return Measurement(points=[p for p, _ in points.all()], targets=names, rows=rows,
                       tally=tally, span=span, unknown_with_our_ssid=hints)


def check_measured(result: Measurement, counts: CaptureCounts, capture: str,
                   plan_source: str | None) -> None:
    """Refuse a survey that measured nothing, saying what most likely went wrong."""
    tally = result.tally
    if result.span is None:
        raise SurveyError(N_("%(capture)s: no beacons with a dBm signal among %(frames)s "
                             "frames (%(not_beacons)s not beacons, %(no_signal)s without a "
                             "radiotap dBm signal, %(bad_fcs)s with a bad checksum)"),
                          capture=capture, frames=counts.frames,
                          not_beacons=counts.not_beacons, no_signal=counts.no_signal,
                          bad_fcs=counts.bad_fcs)
    if plan_source is not None and tally.ignored == tally.beacons:
        first, last = (moment.isoformat(timespec="seconds") for moment in result.span)
        raise SurveyError(N_("no beacon falls in a point of %(plan)s: the capture runs "
                             "from %(first)s to %(last)s; check the times' UTC offset"),
                          plan=plan_source, first=first, last=last)
    if not result.targets:
        raise SurveyError(N_("%(capture)s: no beacon of an inventory access point was "
                             "heard (%(foreign)s foreign, %(ambiguous)s of ambiguous BSSIDs); "
                             "check the access points' MACs (citynet inventory show "
                             "access_points)"), capture=capture, foreign=tally.foreign,
                          ambiguous=tally.ambiguous)


def _reading(point: str, hotspot: str, moment: datetime,
             by_bssid: Mapping[str, Mapping[int, int]], threshold: float) -> PointReading:
    if not by_bssid:
        return PointReading(point, hotspot, None, "", False, moment)
    # sorted first so that equal medians pick the same BSSID on every import
    best, bssid = max(((median_dbm(by_bssid[b]), b) for b in sorted(by_bssid)),
                      key=lambda found: found[0])
    return PointReading(point, hotspot, best, bssid, best >= threshold, moment)


# --- coverage -------------------------------------------------------------------------

class _Covering(Protocol):
    @property
    def hotspot(self) -> str: ...

    @property
    def covered(self) -> bool: ...


@dataclass(frozen=True)
class Coverage:
    covered: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.covered / self.total if self.total else None


def coverage(rows: Iterable[_Covering]) -> dict[str, Coverage]:
    """Public-area coverage per hotspot: covered survey points of all its points."""
    covered: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        total[row.hotspot] += 1
        covered[row.hotspot] += int(row.covered)
    return {h: Coverage(covered[h], total[h]) for h in sorted(total)}


# --- store ----------------------------------------------------------------------------

def load_index(session: Session) -> HotspotIndex:
    """The inventory's access points and SSIDs, as a BSSID → hotspot index."""
    from inventory.models import AccessPoint, Hotspot

    pairs = session.execute(select(AccessPoint.mac, Hotspot.name)
                            .join(Hotspot, AccessPoint.hotspot_id == Hotspot.id)).all()
    ssids = [s for listed in session.scalars(select(Hotspot.ssids)) for s in listed or ()]
    return HotspotIndex([(mac, name) for mac, name in pairs], ssids)


def unknown_hotspots(session: Session, names: Iterable[str]) -> list[str]:
    """The names that are no hotspot of the inventory."""
    from inventory.models import Hotspot

    wanted = list(names)
    known = set(session.scalars(select(Hotspot.name).where(Hotspot.name.in_(wanted))))
    return [n for n in wanted if n not in known]


def save(session: Session, survey: str, rows: Iterable[PointReading]) -> int:
    """Store a survey's rows in place of any earlier import of the same name."""
    session.execute(delete(SurveyPoint).where(SurveyPoint.survey == survey))
    stored = [SurveyPoint(survey=survey, point=r.point, hotspot=r.hotspot,
                          best_dbm=r.best_dbm, bssid=r.bssid, covered=r.covered,
                          measured_at=r.measured_at) for r in rows]
    session.add_all(stored)
    session.flush()
    return len(stored)


@dataclass(frozen=True)
class SurveyCoverage:
    """One hotspot's result in one stored survey."""

    survey: str
    started: datetime  # the survey's first measurement
    latest: datetime  # this hotspot's latest measurement in it
    hotspot: str
    covered: int
    total: int


def survey_coverage(session: Session) -> list[SurveyCoverage]:
    """Every stored survey's coverage per hotspot, newest survey first."""
    query = (select(SurveyPoint.survey, SurveyPoint.hotspot,
                    func.min(SurveyPoint.measured_at), func.max(SurveyPoint.measured_at),
                    func.sum(case((SurveyPoint.covered, 1), else_=0)), func.count())
             .group_by(SurveyPoint.survey, SurveyPoint.hotspot))
    found = session.execute(query).all()
    started: dict[str, datetime] = {}
    for survey, _hotspot, first, _last, _covered, _total in found:
        started[survey] = min(first, started.get(survey, first))
    results = [SurveyCoverage(survey, started[survey], last, hotspot, int(covered), total)
               for survey, hotspot, _first, last, covered, total in found]
    results.sort(key=lambda r: (-r.started.timestamp(), r.survey, r.hotspot))
    return results


def coverage_by_hotspot(session: Session) -> dict[str, tuple[int, int]]:
    """Per hotspot, (covered points, points) of its latest survey — the one with its most
    recent measurement (ties: the survey name sorting last)."""
    latest: dict[str, SurveyCoverage] = {}
    for result in survey_coverage(session):
        seen = latest.get(result.hotspot)
        if seen is None or (result.latest, result.survey) > (seen.latest, seen.survey):
            latest[result.hotspot] = result
    return {h: (r.covered, r.total) for h, r in sorted(latest.items())}
