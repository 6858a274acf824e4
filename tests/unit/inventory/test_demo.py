"""The demo district: the sizes the foundation issue asks for, reproducible, and valid."""

from collections import Counter

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
    assert {(t["metric"], t["scope"], t["target"], t["deadline"], t["owner"])
            for t in rows["targets"]} >= {
        ("fiber_coverage_eligible", "district", 90, "2015-12-31", "区科技创新局"),
        ("fiber_coverage_government", "district", 100, "2015-12-31", "区科技创新局"),
    }


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
