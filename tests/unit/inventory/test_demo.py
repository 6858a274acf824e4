"""The demo district: the sizes the foundation issue asks for, reproducible, and valid."""

from collections import Counter
from datetime import date

from inventory import demo
from inventory.importer import Known, check


def test_demo_district_sizes() -> None:
    rows = demo.generate()
    assert [s["name"] for s in rows["streets"]] == [
        "桂园", "黄贝", "东门", "翠竹", "东晓", "南湖", "笋岗", "东湖", "莲塘", "清水河"]
    assert len(rows["communities"]) == 83
    assert len(rows["buildings"]) >= 2000
    assert len(rows["hotspots"]) >= 300
    assert len(rows["devices"]) >= 50
    assert [n["name"] for n in rows["nas"]] == [demo.DEMO_NAS]
    _month, deadline = demo.timeline()
    assert {(t["metric"], t["scope"], t["target"], t["deadline"], t["owner"])
            for t in rows["targets"]} >= {
        ("fiber_coverage_eligible", "district", 90, deadline.isoformat(), "区科技创新局"),
        ("fiber_coverage_government", "district", 100, deadline.isoformat(), "区科技创新局"),
    }


def test_demo_dates_are_laid_out_around_the_month_it_is_seeded_in() -> None:
    rows = demo.generate(date(2026, 11, 26))
    connected = [b["fiber_connected_on"] for b in rows["buildings"] if "fiber_connected_on" in b]
    planned = [b["fiber_planned_on"] for b in rows["buildings"] if "fiber_planned_on" in b]
    assert max(connected) < "2026-11-01" <= min(planned) and max(planned) <= "2028-05-01"
    assert sum(c >= "2024-11-01" for c in connected) > len(connected) / 10  # a live trend
    assert {t["deadline"] for t in rows["targets"]} == {"2027-12-31"}
    assert demo.generate(date(2026, 11, 2)) == rows  # re-seeding within the month


def test_demo_has_a_realistic_fiber_mix() -> None:
    statuses = Counter(b["fiber_status"] for b in demo.generate()["buildings"])
    total = sum(statuses.values())
    assert set(statuses) == {"connected", "planned", "unconnected", "not_eligible"}
    eligible = total - statuses["not_eligible"]
    assert 0.75 < statuses["connected"] / eligible < 0.92  # short of the 90% target: at risk


def test_demo_is_reproducible_and_passes_the_importers_checks() -> None:
    assert demo.generate() == demo.generate()
    rows, problems = check(demo.raw_rows(), Known())
    assert problems == []
    assert len(rows) == sum(len(v) for v in demo.generate().values())


def test_demo_devices_never_point_off_this_machine() -> None:
    assert all(d["host"].startswith("127.") for d in demo.generate()["devices"])
