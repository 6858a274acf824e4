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
THINGS = ("%(count)s thing", "%(count)s things")  # a listing's counts: msgids


def test_a_table_aligns_chinese_and_latin_cells_by_terminal_columns() -> None:
    lines = table(("name", "count"), [("东门步行街", "7"), ("gw-1", "12345")], (False, True))
    assert lines == ["name        count",
                     "东门步行街      7",
                     "gw-1        12345"]
    assert len({width(line) for line in lines}) == 1


def test_counts_are_words_with_the_right_plural() -> None:
    one, many = "%(count)s voucher", "%(count)s vouchers"
    assert counted(1, one, many) == "1 voucher"
    assert counted(0, one, many) == "0 vouchers"
    assert counted(5312, one, many) == "5,312 vouchers"


def test_one_json_shape_and_the_summary_says_what_was_left_out() -> None:
    rows = [{"name": "a", "count": 1, "secret": "s"}, {"name": "b", "count": 2, "secret": None}]
    whole = Listing("things", *THINGS, COLUMNS, rows)
    assert json.loads(as_json(whole)) == {"things": rows, "count": 2, "matched": 2,
                                          "truncated": False}
    part = Listing("things", *THINGS, COLUMNS, rows[:1], matched=5312)
    assert json.loads(as_json(part))["truncated"] is True
    assert summary(part, "raise --limit") == "showing 1 of 5,312 things; raise --limit"
    assert summary(part) == "showing 1 of 5,312 things"
    assert summary(Listing("things", *THINGS, COLUMNS, rows[:1])) == "1 thing"


def test_csv_has_every_column_and_no_formula() -> None:
    out = io.StringIO()
    write_csv(Listing("things", *THINGS, COLUMNS, [{"name": "=1+2", "count": 3,
                                                    "secret": None}]), out)
    assert out.getvalue() == "name,count,secret\n'=1+2,3,\n"


def test_an_empty_cell_shows_as_a_dash_on_screen_and_empty_in_csv() -> None:
    from citynet.listings import table_lines

    empty = Listing("things", *THINGS, COLUMNS, [{"name": "", "count": 0, "secret": None}])
    assert table_lines(empty) == ["name  count", "-         0"]
    out = io.StringIO()
    write_csv(empty, out)
    assert out.getvalue() == "name,count,secret\n,0,\n"


def test_the_count_is_said_in_the_commands_language() -> None:
    from citynet import catalogs
    from citynet.domains import registered

    sessions = ("%(count)s session", "%(count)s sessions")  # radius's msgids
    part = Listing("sessions", *sessions, COLUMNS, [{"name": "a"}], matched=5312)
    with catalogs.speaking("zh-CN", registered()):
        assert summary(part, "加大 --limit") == "共 5,312 个上网会话，显示其中 1 条；加大 --limit"
    with catalogs.speaking("zh-Hant", registered()):
        assert summary(Listing("sessions", *sessions, COLUMNS, [{"name": "a"}])) == (
            "1 個上網連線")
    assert summary(part) == "showing 1 of 5,312 sessions"


def test_a_yes_or_no_is_a_word_of_the_commands_language_on_screen_only() -> None:
    from citynet import catalogs
    from citynet.domains import registered
    from citynet.listings import table_lines

    flags = Listing("things", *THINGS, (Column("name"), Column("on")),
                    [{"name": "a", "on": True}, {"name": "b", "on": False}])
    assert table_lines(flags) == ["name  on", "a     yes", "b     no"]
    with catalogs.speaking("zh-Hant", registered()):
        assert table_lines(flags) == ["name  on", "a     是", "b     否"]
        out = io.StringIO()
        write_csv(flags, out)
        assert out.getvalue() == "name,on\na,yes\nb,no\n"  # a spreadsheet's, as before
