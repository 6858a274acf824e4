"""Reading people from an HR/school CSV: typed rows, or every problem and no rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from admission.choices import PersonStatus, Role
from admission.people import read_csv, read_file

HEADER = "username,real_name,department,phone,role,status\n"


def problems_of(text: str) -> list[str]:
    rows, problems = read_csv(text, "people.csv")
    assert rows == [] or not problems
    return [str(p) for p in problems]


def test_good_rows_are_typed_and_phone_normalised() -> None:
    rows, problems = read_csv(HEADER + "t001,王芳,第一中学,+86 138-0000-0001,teacher,\n"
                              "s042,李雷,初二(3)班,,student,disabled\n", "people.csv")
    assert problems == []
    assert [(r.line, r.username, r.real_name, r.phone, r.role, r.status) for r in rows] == [
        (2, "t001", "王芳", "+8613800000001", Role.TEACHER, PersonStatus.ACTIVE),
        (3, "s042", "李雷", "", Role.STUDENT, PersonStatus.DISABLED)]


def test_chinese_headers_and_words_are_understood() -> None:
    rows, problems = read_csv("工号,姓名,部门,角色,状态\nA7,张伟,办公室,职工,离职\n", "hr.csv")
    assert problems == []
    assert (rows[0].username, rows[0].role, rows[0].status) == (
        "A7", Role.STAFF, PersonStatus.DISABLED)


def test_every_bad_row_is_reported_as_file_line_field_reason() -> None:
    text = HEADER + ("ok1,甲,,,staff,\n"
                     "bad user,乙,,,staff,\n"
                     "ok2,=HYPERLINK(\"x\"),,,staff,\n"
                     "ok3,丙,,12ab,janitor,gone\n"
                     "ok1,丁,,,student,\n"
                     "ok4,,,,staff\n")
    assert problems_of(text) == [
        "people.csv:3: username: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit",
        "people.csv:4: real_name: starts like a spreadsheet formula",
        "people.csv:5: phone: digits, spaces and dashes, optionally starting with +",
        "people.csv:5: role: one of staff, teacher, student",
        "people.csv:5: status: one of active, disabled",
        "people.csv:6: username: duplicate 'ok1' (first at people.csv:2)",
        "people.csv:7: row: has 5 cells, header has 6",
    ]


def test_duplicates_differ_only_in_case_are_duplicates() -> None:
    assert problems_of(HEADER + "T1,甲,,,staff,\nt1,乙,,,staff,\n") == [
        "people.csv:3: username: duplicate 't1' (first at people.csv:2)"]


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["people.csv:1: header: the file is empty"]),
    ("username,name,role\n", ["people.csv:1: name: unknown column; people have: username, "
                              "real_name, department, phone, role, status",
                              "people.csv:1: real_name: required column is missing"]),
    ("username,real_name,role,role\n", ["people.csv:1: role: column appears twice"]),
    (HEADER + "a,\x00b,,,staff,\n", ["people.csv:2: row: has a NUL character"]),
    (HEADER + "a,b\u202e,,,staff,\n", ["people.csv:2: real_name: has control characters"]),
    (HEADER + "a," + "长" * 129 + ",,,staff,\n",
     ["people.csv:2: real_name: longer than 128 characters"]),
    (HEADER + "a" * 65 + ",b,,,staff,\n",
     ["people.csv:2: username: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or "
      "digit"]),
])
def test_odd_files_get_a_clear_answer(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


def test_a_gbk_file_is_refused_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes("工号,姓名,角色\nA1,张伟,职工\n".encode("gb18030"))
    rows, problems = read_file(path)
    assert rows == []
    assert len(problems) == 1
    assert str(problems[0]).startswith(f"{path}: not UTF-8")


def test_a_bom_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes("\ufeffusername,real_name,role\nA1,张伟,staff\n".encode())
    rows, problems = read_file(path)
    assert problems == []
    assert rows[0].username == "A1"


def test_a_nul_hides_no_other_problem() -> None:
    """Every NUL's line is named, and the rest of the file is still checked: one import
    run lists everything to fix."""
    assert problems_of(HEADER + "a,\x00b,,,staff,\n"
                                "c,d,,,janitor,\n"
                                "e\x00,f\x00,,,staff,\n") == [
        "people.csv:2: row: has a NUL character",
        "people.csv:3: role: one of staff, teacher, student",
        "people.csv:4: row: has a NUL character"]
