"""Reading inventory files: every problem carries file:line: field: reason."""

from pathlib import Path

import pytest

from inventory import files
from inventory.kinds import KINDS


def problems(reading: files.Reading) -> list[str]:
    return [str(p) for p in reading.problems]


def test_csv_rows_keep_their_line_numbers_across_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text('name,name_en\n桂园,Guiyuan\n"黄贝","Huang\nbei"\n\n东门,Dongmen\n')
    reading = files.read(path)
    assert reading.problems == []
    assert [(row.line, row.data["name"]) for row in reading.rows] == [
        (2, "桂园"), (3, "黄贝"), (6, "东门")]


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"
    path.write_text("code,name,kind,name\nB1,x,y,z\n")
    assert problems(files.read(path)) == [
        f"{path}:1: kind: unknown column; buildings has: code, name, address, type, community, "
        "fiber_status, fiber_planned_on, fiber_connected_on, lat, lon",
        f"{path}:1: name: column appears twice",
        f"{path}:1: type: required column is missing",
        f"{path}:1: community: required column is missing",
        f"{path}:1: fiber_status: required column is missing",
    ]


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text("name,name_en\n桂园,Guiyuan,extra\n")
    assert problems(files.read(path)) == [f"{path}:2: row: has 3 cells, header has 2"]


def test_csv_kind_from_file_name_or_option(tmp_path: Path) -> None:
    path = tmp_path / "export-2015.csv"
    path.write_text("name\n桂园\n")
    [unknown] = problems(files.read(path))
    assert unknown.startswith(f"{path}: cannot tell the kind from 'export-2015'; name the "
                              "file after one of: streets")  # the file's problem: no line
    assert unknown.endswith(" (or give --kind)")
    other = tmp_path / "notes.txt"
    other.write_text("name\n")
    assert problems(files.read(other)) == [f"{other}: not a .csv, .yaml or .yml file"]
    assert files.read(path, "streets").rows[0].kind is KINDS["streets"]
    alias = tmp_path / "nas_clients.csv"
    alias.write_text("name,address,secret\n")
    assert files.read(alias).problems == []


def test_excel_bom_is_accepted_and_gbk_is_explained(tmp_path: Path) -> None:
    bom = tmp_path / "streets.csv"
    bom.write_bytes("\ufeffname\n桂园\n".encode())
    assert files.read(bom).rows[0].data == {"name": "桂园"}
    gbk = tmp_path / "communities.csv"
    gbk.write_bytes(b"name,street\n" + "湖景社区,笋岗\n黄贝岭,黄贝\n".encode("gbk"))
    assert problems(files.read(gbk)) == [  # once, for the whole file, naming the encoding
        f"{gbk}: GBK (GB 18030) text, not UTF-8: save it as UTF-8 (in Excel: 'CSV UTF-8'; "
        "or iconv -f GB18030 -t UTF-8) and import it again"]
    broken = tmp_path / "streets.csv"
    broken.write_bytes(b"name\nok\n\xff\xfe\n")
    assert problems(files.read(broken)) == [
        f"{broken}: not UTF-8 (it may be GBK or another legacy encoding; the first byte "
        "that is not UTF-8 is on line 3): save it as UTF-8 (in Excel: 'CSV UTF-8') and "
        "import it again"]


def test_a_latin1_file_is_not_called_gbk(tmp_path: Path) -> None:
    # GB 18030 decodes it too ("ü" and the next letter make a rare hanzi)
    latin = tmp_path / "streets.csv"
    latin.write_bytes("name,name_en\nMüller,Zürich\nKöln,Düsseldorf\n".encode("cp1252"))
    [said] = problems(files.read(latin))
    assert "GBK (GB 18030) text" not in said
    assert "not UTF-8 (it may be GBK or another legacy encoding; the first byte that is " \
           "not UTF-8 is on line 2)" in said


def test_yaml_rows_know_their_lines_and_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "streets:\n"
        "  - name: 桂园\n"
        "    name_en: Guiyuan\n"
        "  - name: 黄贝\n"
        "    colour: red\n"
        "castles:\n"
        "  - name: x\n"
    )
    reading = files.read(path)
    assert [(row.line, row.data) for row in reading.rows] == [
        (2, {"name": "桂园", "name_en": "Guiyuan"}), (4, {"name": "黄贝"})]
    assert problems(reading) == [
        f"{path}:4: colour: unknown field; streets has: name, name_en",
        f"{path}:1: castles: cannot tell the kind from 'castles'; name the file after one of: "
        + ", ".join(KINDS),
    ]


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("streets:\n  - name: [unclosed\n")
    [problem] = problems(files.read(path))
    assert problem.startswith(f"{path}:3: yaml: not valid YAML")


def test_csv_round_trip_of_lists_and_numbers() -> None:
    kind = KINDS["hotspots"]
    text = files.write_csv(kind, [{"name": "h", "community": "c", "location": "",
                                   "lat": 22.5, "lon": 114.0, "ssids": ["a", "b"]}])
    assert text == "name,community,location,lat,lon,ssids\nh,c,,22.5,114,a;b\n"


def test_choices_take_the_chinese_labels_the_docs_show() -> None:
    from inventory.choices import BuildingType, FiberStatus
    from inventory.kinds import choice

    assert choice(BuildingType)("政府机关") is BuildingType.GOVERNMENT_AGENCY
    assert choice(BuildingType)(" 社区工作站 ") is BuildingType.COMMUNITY_WORKSTATION
    assert choice(BuildingType)("Residential") is BuildingType.RESIDENTIAL
    assert choice(FiberStatus)("已通光纤") is FiberStatus.CONNECTED


def test_choices_take_their_label_in_every_catalogs_language() -> None:
    """The labels come from the catalogs: Traditional (Hong Kong) and English ones too."""
    from inventory.choices import BuildingType, FiberStatus
    from inventory.kinds import FieldError, choice

    assert choice(BuildingType)("政府機關") is BuildingType.GOVERNMENT_AGENCY
    assert choice(BuildingType)("public institution") is BuildingType.PUBLIC_INSTITUTION
    assert choice(FiberStatus)("已接駁光纖") is FiberStatus.CONNECTED
    assert choice(FiberStatus)("Fiber planned") is FiberStatus.PLANNED
    with pytest.raises(FieldError) as refused:
        choice(FiberStatus)("光纤")
    assert (refused.value.msgid, refused.value.values["raw"]) == (
        "%(raw)r is not one of: %(allowed)s", "光纤")


def test_a_csv_with_chinese_choice_labels_reads_as_the_codes(tmp_path: Path) -> None:
    from inventory.importer import parse_row

    path = tmp_path / "buildings.csv"
    path.write_text("code,name,type,community,fiber_status,fiber_connected_on\n"
                    "B1,区政府,政府机关,湖景社区,已通光纤,2015-01-01\n")
    reading = files.read(path)
    assert reading.problems == []
    values, problems_found = parse_row(reading.rows[0], None)
    assert problems_found == []
    assert (values["type"].value, values["fiber_status"].value) == ("government_agency",
                                                                    "connected")
