"""CSV for spreadsheets: a cell that would run as a formula is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from citynet.spreadsheets import SpreadsheetDictWriter, SpreadsheetWriter, safe_cell


@pytest.mark.parametrize(("value", "written"), [
    ("=1+2", "'=1+2"),
    ("+1+2", "'+1+2"),
    ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-4.20", "-4.20"),  # a number written as text is only a number
    ("+5", "+5"),
    ("1e-3", "1e-3"),
    ("13800138000", "13800138000"),
    ("10240-10495", "10240-10495"),
    ("a=b", "a=b"),
    ("", ""),
    (-5, -5),
    (None, None),
])
def test_a_cell_that_would_run_is_written_as_text(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_the_writers_make_every_cell_safe_and_leave_the_header() -> None:
    out = io.StringIO()
    writer = SpreadsheetDictWriter(out, ["who", "n"], lineterminator="\n")
    writer.writeheader()
    writer.writerow({"who": "=HYPERLINK(\"http://x\")", "n": 3})
    plain = SpreadsheetWriter(out, lineterminator="\n")
    plain.writerows([["@x", "-1"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["who", "n"], ["'=HYPERLINK(\"http://x\")", "3"], ["'@x", "-1"]]


def test_a_problem_reason_is_a_msgid_with_its_values() -> None:
    """The reason stays a msgid (a page shows it in its reader's language); ``str()`` and
    ``text`` say it in English, blanks filled; a reason without values is as written."""
    from citynet.spreadsheets import WHOLE_FILE, Problem

    problem = Problem("in.csv", 4, "type", "%(raw)r is not one of: %(allowed)s",
                      {"raw": "castle", "allowed": "a, b"})
    assert problem.text == "'castle' is not one of: a, b"
    assert str(problem) == "in.csv:4: type: 'castle' is not one of: a, b"
    assert str(Problem("in.csv", WHOLE_FILE, "file", "80% done")) == "in.csv: 80% done"
