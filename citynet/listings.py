"""How a command shows a list, the same way for every kind: an aligned table for people
(CJK characters take two terminal columns), one JSON shape for scripts, CSV for
spreadsheets (through citynet.spreadsheets), and a count that says so when fewer rows are
shown than matched.

The count is in the command's language: a listing names its count of one row and of
several as two msgids (``N_("%(count)s session")``, ``N_("%(count)s sessions")``) of its
domain's catalogs.

The JSON shape: ``{KIND: [row, …], "count": rows shown, "matched": rows that matched,
"truncated": matched > count}`` — KIND is the listing's plural noun (``"sessions"``),
each row an object keyed by the column keys (the CSV's header; the table may leave some
out); times are ISO 8601, a value not set is null, lists are lists.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, TextIO

import click

from citynet.catalogs import gettext as _
from citynet.spreadsheets import SpreadsheetWriter

GAP = 2  # spaces between table columns
FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class Column:
    key: str  # JSON key and CSV header
    title: str = ""  # table header (default: the key)
    right: bool = False  # numbers align right
    text: Callable[[Any], str] | None = None  # the table's text of a value, if not plain
    table: bool = True  # False: in JSON and CSV only (a detail a screen has no room for)

    @property
    def header(self) -> str:
        return self.title or self.key


@dataclass
class Listing:
    kind: str  # plural noun: the JSON key
    one: str  # the count of one row, a msgid with a %(count)s blank: "%(count)s session"
    many: str  # the count of several (or none): "%(count)s sessions"
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    matched: int | None = None  # how many matched, when the rows are a part of them

    @property
    def truncated(self) -> bool:
        return self.matched is not None and self.matched > len(self.rows)


# --- text ---------------------------------------------------------------------------

def width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide and full-width characters two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    """``text`` filled with spaces to ``columns`` terminal columns."""
    gap = " " * max(0, columns - width(text))
    return gap + text if right else text + gap


def counted(number: int, one: str, many: str) -> str:
    """'1 voucher', '5,312 vouchers': the msgid ``one`` or ``many`` (each with a
    ``%(count)s`` blank) in the command's language. Two msgids, not gettext's plural
    forms: every catalog language today has at most these two (Chinese one)."""
    return _(one if number == 1 else many, count=f"{number:,}")


def plain(value: Any) -> Any:
    """A value as JSON has it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


def cell_text(value: Any, nothing: str = "-") -> str:
    """A value as text (``nothing`` for no value: a table's '-', a CSV's ''), lists
    joined; a yes or no in English, as a CSV's readers (scripts, spreadsheets) take it."""
    value = plain(value)
    if value is None or value == "" or value == []:
        return nothing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table_cell(value: Any) -> str:
    """A value as a table cell for people: '-' for no value, a yes or no in the
    command's language."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return cell_text(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]],
          right: Sequence[bool] = ()) -> list[str]:
    """Lines of an aligned table, each column as wide as its widest cell."""
    body = [list(row) for row in rows]
    widths = [max([width(h), *(width(row[i]) for row in body)]) for i, h in enumerate(headers)]
    aligned = list(right) + [False] * (len(headers) - len(right))

    def line(cells: Sequence[str]) -> str:
        return (" " * GAP).join(pad(c, w, r) for c, w, r in
                                zip(cells, widths, aligned, strict=True)).rstrip()

    return [line(headers), *(line(row) for row in body)]


# --- a listing in each format -------------------------------------------------------

def table_lines(listing: Listing) -> list[str]:
    columns = [c for c in listing.columns if c.table]
    return table([c.header for c in columns],
                 ([(c.text or table_cell)(row.get(c.key)) for c in columns]
                  for row in listing.rows),
                 [c.right for c in columns])


def as_json(listing: Listing) -> str:
    return json.dumps({listing.kind: [{c.key: plain(row.get(c.key)) for c in listing.columns}
                                      for row in listing.rows],
                       "count": len(listing.rows),
                       "matched": len(listing.rows) if listing.matched is None
                       else listing.matched,
                       "truncated": listing.truncated}, ensure_ascii=False, indent=2)


def write_csv(listing: Listing, out: TextIO) -> None:
    writer = SpreadsheetWriter(out, lineterminator="\n")
    writer.writerow([c.key for c in listing.columns])
    for row in listing.rows:
        writer.writerow([cell_text(row.get(c.key), "") for c in listing.columns])


def summary(listing: Listing, more: str = "") -> str:
    """'3 sessions', or 'showing 200 of 5,312 sessions; MORE' when rows were left out
    (``more``: a hint in the command's language)."""
    if listing.matched is None or not listing.truncated:
        return counted(len(listing.rows), listing.one, listing.many)
    values = {"shown": f"{len(listing.rows):,}",
              "matched": counted(listing.matched, listing.one, listing.many)}
    if more:
        return _("showing %(shown)s of %(matched)s; %(more)s", more=more, **values)
    return _("showing %(shown)s of %(matched)s", **values)


# --- click --------------------------------------------------------------------------

def format_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--json and --csv, as the ``fmt`` argument ("table" when neither is given)."""
    command = click.option("--csv", "fmt", flag_value="csv",
                           help="CSV for a spreadsheet.")(command)
    return click.option("--json", "fmt", flag_value="json",
                        help="JSON for scripts (docs/operations.md: listings).")(command)


def emit(listing: Listing, fmt: str | None, *, more: str = "", empty: str = "") -> None:
    """Print the listing in ``fmt``; the count (and what was left out) goes to stderr, so
    stdout is only the listing. ``empty``: a hint for people when there are no rows."""
    if fmt == "json":
        click.echo(as_json(listing))
    elif fmt == "csv":
        write_csv(listing, sys.stdout)
    elif listing.rows:
        for line in table_lines(listing):
            click.echo(line)
    elif empty:
        click.echo(empty, err=True)
        return
    if fmt != "json" or listing.truncated:
        click.echo(summary(listing, more), err=True)
