"""Listings: aligned tables however wide the characters, one JSON shape, counts in words."""

from __future__ import annotations

import io
import json

from citynet.listings import (
    Column,
    Listing,
    as_json,
    counted,
    summary,
    table,
    width,
    write_csv,
)

COLUMNS = (Column("name"), Column("count", right=True), Column("secret", table=False))


def test_a_table_aligns_chinese_and_latin_cells_by_terminal_columns() -> None:
    lines = table(("name", "count"), [("东门步行街", "7"), ("gw-1", "12345")], (False, True))
    assert lines == ["name        count",
                     "东门步行街      7",
                     "gw-1        12345"]
    assert len({width(line) for line in lines}) == 1


def test_counts_are_words_with_the_right_plural() -> None:
    assert counted(1, "voucher") == "1 voucher"
    assert counted(0, "voucher") == "0 vouchers"
    assert counted(5312, "batch", "batches") == "5,312 batches"


def test_one_json_shape_and_the_summary_says_what_was_left_out() -> None:
    rows = [{"name": "a", "count": 1, "secret": "s"}, {"name": "b", "count": 2, "secret": None}]
    whole = Listing("things", "thing", COLUMNS, rows)
    assert json.loads(as_json(whole)) == {"things": rows, "count": 2, "matched": 2,
                                          "truncated": False}
    part = Listing("things", "thing", COLUMNS, rows[:1], matched=5312)
    assert json.loads(as_json(part))["truncated"] is True
    assert summary(part, "raise --limit") == "showing 1 of 5,312 things; raise --limit"
    assert summary(Listing("nas", "NAS client", COLUMNS, rows[:1], many="NAS clients")) == (
        "1 NAS client")


def test_csv_has_every_column_and_no_formula() -> None:
    out = io.StringIO()
    write_csv(Listing("things", "thing", COLUMNS, [{"name": "=1+2", "count": 3,
                                                    "secret": None}]), out)
    assert out.getvalue() == "name,count,secret\n'=1+2,3,\n"


def test_an_empty_cell_shows_as_a_dash_on_screen_and_empty_in_csv() -> None:
    from citynet.listings import table_lines

    empty = Listing("things", "thing", COLUMNS, [{"name": "", "count": 0, "secret": None}])
    assert table_lines(empty) == ["name  count", "-         0"]
    out = io.StringIO()
    write_csv(empty, out)
    assert out.getvalue() == "name,count,secret\n,0,\n"
