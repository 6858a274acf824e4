"""CSV meant to be opened in a spreadsheet, safe to open.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (tab and carriage
return too: some read past them) as a formula, so a RADIUS User-Name ``=HYPERLINK(…)``
exported raw becomes a link, or a command, on an auditor's screen. Such a cell is written
with a single quote in front (OWASP's advice), which the spreadsheet shows as text. The
quote changes the value, so files meant to be read back by a program (the inventory's
export, which `inventory import` takes back unchanged) are data, not spreadsheets, and do
not go through here.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Protocol

from citynet.catalogs import gettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


# a plain number written as text ("-4.20", a shortfall) is read as that number, nothing more
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet cell that cannot run: text starting like a formula gets a
    leading single quote; numbers, and text that is only a number, stay as they are."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


class SpreadsheetWriter:
    """``csv.writer``, every text cell made safe first."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class SpreadsheetDictWriter:
    """``csv.DictWriter`` over ``columns``, every text cell made safe first (the header is
    the program's own column names and goes as it is)."""

    def __init__(self, out: _Writable, columns: Sequence[str], **options: Any) -> None:
        self._writer = csv.DictWriter(out, columns, **options)

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, object]) -> None:
        self._writer.writerow({name: safe_cell(value) for name, value in row.items()})


WHOLE_FILE = 0  # a problem's line when it is the file's, not one line's


@dataclass(frozen=True)
class Problem:
    """What an import refuses, as ``file:line: field: reason`` (the inventory's and the
    people's CSV alike); a problem of the whole file (field ``file``) names no line.
    ``reason`` may be a gettext msgid with ``%(name)s`` blanks filled from ``values``:
    :attr:`text` is it in English, a page shows it in its reader's language."""

    source: str
    line: int  # WHOLE_FILE for the file as a whole
    field: str
    reason: str
    values: Mapping[str, object] = dataclass_field(default_factory=dict, hash=False)

    @property
    def text(self) -> str:
        """The reason in English (its msgid, the blanks filled)."""
        return self.reason % self.values if self.values else self.reason

    def __str__(self) -> str:
        return self._line(self.text)

    def said(self) -> str:
        """The line with its reason in the command's language (a page's, in a request):
        what the CLI prints; ``str()`` stays English for logs and the API."""
        return self._line(gettext(self.reason, **self.values))

    def _line(self, reason: str) -> str:
        if self.line == WHOLE_FILE and self.field == "file":
            return f"{self.source}: {reason}"
        return f"{self.source}:{self.line}: {self.field}: {reason}"
