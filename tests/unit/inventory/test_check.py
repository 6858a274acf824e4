"""Checking an import: per-row parsing, duplicates, uniqueness and references."""

from typing import Any

from citynet.crypto import EXPORT_PREFIX, SecretBox
from inventory.files import RawRow
from inventory.importer import Known, check
from inventory.kinds import KINDS

LONG = "a-long-nas-secret-17"  # at least the 16 characters a NAS secret needs


def raw(kind: str, line: int, **data: Any) -> RawRow:
    return RawRow("in.yaml", line, KINDS[kind], data)


def problems(rows: list[RawRow], known: Known | None = None,
             box: SecretBox | None = None) -> list[str]:
    return [str(p) for p in check(rows, known or Known(), box)[1]]


def building(line: int, **extra: Any) -> RawRow:
    data = {"code": "B1", "name": "1号楼", "type": "residential", "community": "湖景社区",
            "fiber_status": "connected", "fiber_connected_on": "2014-03-01", **extra}
    return raw("buildings", line, **data)


STREET_AND_COMMUNITY = [raw("streets", 1, name="笋岗"),
                        raw("communities", 2, name="湖景社区", street="笋岗")]


def test_a_consistent_import_has_no_problems() -> None:
    rows, found = check([*STREET_AND_COMMUNITY, building(3)], Known())
    assert found == []
    assert [row.key for row in rows] == ["笋岗", "湖景社区", "B1"]
    assert rows[2].values["lat"] is None and rows[2].values["address"] == ""


def test_bad_enum_missing_field_and_bad_number() -> None:
    row = raw("buildings", 7, code="B1", type="castle", community="湖景社区",
              fiber_status="connected", fiber_connected_on="2014-01-01", lat="north", lon="1")
    assert problems([*STREET_AND_COMMUNITY, row]) == [
        "in.yaml:7: lat: 'north' is not a number",
        "in.yaml:7: name: required",
        "in.yaml:7: type: 'castle' is not one of: government_agency (政府机关), "
        "public_institution (事业单位), community_workstation (社区工作站), "
        "commercial (商业楼宇), residential (住宅)",
    ]


def test_duplicate_keys_name_the_first_occurrence() -> None:
    assert problems([*STREET_AND_COMMUNITY, building(3), building(9)]) == [
        "in.yaml:9: code: duplicate key 'B1' (first at in.yaml:3)"]


def test_unknown_foreign_keys() -> None:
    assert problems([building(3, community="无此社区")]) == [
        "in.yaml:3: community: no communities named '无此社区' in the store or this import"]


def test_references_to_the_store_are_satisfied() -> None:
    known = Known(keys={"communities": {"湖景社区"}})
    assert problems([building(3)], known) == []


def test_fiber_dates_must_fit_the_status() -> None:
    row = raw("buildings", 3, code="B1", name="x", type="residential", community="湖景社区",
              fiber_status="connected")
    planned = raw("buildings", 4, code="B2", name="x", type="residential", community="湖景社区",
                  fiber_status="planned", fiber_connected_on="2014-01-01")
    assert problems([*STREET_AND_COMMUNITY, row, planned]) == [
        "in.yaml:3: fiber_connected_on: required when fiber_status is connected",
        "in.yaml:4: fiber_connected_on: given but fiber_status is planned",
        "in.yaml:4: fiber_planned_on: required when fiber_status is planned",
    ]


def test_nas_address_is_unique_in_the_import_and_the_store() -> None:
    first = raw("nas", 1, name="gw1", address="10.0.0.1", secret=LONG)
    second = raw("nas", 2, name="gw2", address="10.0.0.1/32", secret=LONG)
    assert problems([first, second]) == [
        "in.yaml:2: address: '10.0.0.1' is also used by 'gw1' at in.yaml:1"]
    known = Known(keys={"nas": {"old"}}, unique={("nas", "address"): {"10.0.0.1": "old"}})
    assert problems([first], known) == [
        "in.yaml:1: address: '10.0.0.1' is already used by nas 'old'"]
    # the holder moves to another address in the same import: allowed
    moved = raw("nas", 3, name="old", address="10.0.0.9", secret=LONG)
    assert problems([first, moved], known) == []


def test_nas_networks_may_not_overlap_in_the_import_or_the_store() -> None:
    known = Known(keys={"nas": {"ap-1", "ap-4"}}, unique={("nas", "address"): {
        "10.20.0.1": "ap-1", "10.20.0.4": "ap-4"}})
    wide = raw("nas", 1, name="gw", address="10.20.0.0/24", secret=LONG)
    assert problems([wide], known) == [
        "in.yaml:1: address: '10.20.0.0/24' overlaps 10.20.0.1/32 of nas 'ap-1'",
        "in.yaml:1: address: '10.20.0.0/24' overlaps 10.20.0.4/32 of nas 'ap-4'"]
    inside = raw("nas", 2, name="ap-9", address="10.20.0.9", secret=LONG)
    assert problems([wide, inside]) == [
        "in.yaml:1: address: '10.20.0.0/24' overlaps 10.20.0.9/32 of nas 'ap-9'",
        "in.yaml:2: address: '10.20.0.9' overlaps 10.20.0.0/24 of nas 'gw'"]
    # both holders move out of the network in the same import: allowed
    moved = [raw("nas", 3, name="ap-1", address="10.30.0.1", secret=LONG),
             raw("nas", 4, name="ap-4", address="10.30.0.4", secret=LONG)]
    assert problems([wide, *moved], known) == []
    assert problems([raw("nas", 5, name="v6", address="::/0", secret=LONG)], known) == []


def test_target_scope_references_and_percentages() -> None:
    row = raw("targets", 5, metric="fiber_coverage_eligible", scope="street:无此街道",
              target=120, deadline="2015-12-31", owner="区科技创新局")
    assert problems([row]) == [
        "in.yaml:5: target: a percentage metric takes a target from 0 to 100"]
    row.data["target"] = 90
    assert problems([row]) == [
        "in.yaml:5: scope: no streets named '无此街道' in the store or this import"]


def test_sealed_secrets_must_open_with_this_installations_key() -> None:
    ours, theirs = SecretBox([SecretBox.new_key()]), SecretBox([SecretBox.new_key()])
    row = raw("nas", 1, name="gw", address="10.0.0.1",
              secret=EXPORT_PREFIX + theirs.seal("s"))
    assert problems([row], box=ours) == [
        "in.yaml:1: secret: is sealed with another installation's key; give the secret in "
        "clear instead"]
    row.data["secret"] = EXPORT_PREFIX + ours.seal("s")
    assert problems([row], box=ours) == []
    assert problems([row], box=None) == [
        "in.yaml:1: secret: is sealed, but no secrets key is configured"]


def test_a_short_nas_secret_is_refused_unless_the_row_allows_it() -> None:
    row = raw("nas", 1, name="gw", address="10.0.0.1", secret="x" * 15)
    [refused] = problems([row])
    assert refused.startswith("in.yaml:1: secret: shorter than 16 characters")
    assert "allow_short_secret" in refused and "x" * 15 not in refused
    for allowed in ("yes", "true", "1", "是", True):
        row.data["allow_short_secret"] = allowed
        assert problems([row]) == []
    row.data["allow_short_secret"] = "no"
    assert len(problems([row])) == 1
    row.data["allow_short_secret"] = "maybe"
    assert problems([row]) == ["in.yaml:1: allow_short_secret: 'maybe' is not yes or no "
                               "(true/false, 1/0)"]
    # an export's sealed secret was checked when it was set: it round-trips as it is
    ours = SecretBox([SecretBox.new_key()])
    sealed = raw("nas", 1, name="gw", address="10.0.0.1",
                 secret=EXPORT_PREFIX + ours.seal("short"))
    assert problems([sealed], box=ours) == []
