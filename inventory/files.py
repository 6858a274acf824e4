"""Reading and writing inventory files: CSV (one kind a file) and YAML (kinds as keys).

Reading keeps the line each row starts on, so every problem can be reported as
``file:line: field: reason``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from citynet.catalogs import N_
from citynet.spreadsheets import WHOLE_FILE, Problem
from inventory.kinds import KINDS, LIST_SEPARATOR, Kind, kind_named

SUFFIXES = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}


def _file_problem(source: str, reason: str, **values: object) -> Reading:
    return Reading([], [Problem(source, WHOLE_FILE, "file", reason, values)])


@dataclass
class RawRow:
    source: str
    line: int
    kind: Kind
    data: dict[str, Any]


@dataclass
class Reading:
    rows: list[RawRow]
    problems: list[Problem]


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a directory stands for its CSV and YAML files, in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES))
        else:
            files.append(path)
    return files


def read(path: Path, kind_name: str | None = None) -> Reading:
    source = str(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        return _file_problem(source, N_("not a .csv, .yaml or .yml file"))
    kind = kind_named(kind_name or path.stem) if fmt == "csv" else None
    if fmt == "csv" and kind is None:  # said before any line is read: no line is at fault
        return _file_problem(source, N_("cannot tell the kind from %(name)r; name the file "
                                        "after one of: %(kinds)s (or give --kind)"),
                             name=kind_name or path.stem, kinds=", ".join(KINDS))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return _file_problem(source, N_("cannot read: %(error)s"), error=exc.strerror)
    try:
        content = raw.decode("utf-8-sig")  # Excel writes a BOM in "CSV UTF-8"
    except UnicodeDecodeError as exc:
        reason, values = _not_utf8(raw, exc)
        return _file_problem(source, reason, **values)
    if kind is not None:
        return read_csv(content, source, kind)
    return read_yaml(content, source)


def _not_utf8(raw: bytes, error: UnicodeDecodeError) -> tuple[str, dict[str, object]]:
    """Why the file cannot be read, once for the whole file (a GBK file is GBK throughout,
    not wrong on one line). Named GBK only when it reads as Chinese: GB 18030 decodes
    most Latin-1/CP1252 files too (an accented letter and the next one make a hanzi)."""
    if _reads_as_chinese(raw):
        return (N_("GBK (GB 18030) text, not UTF-8: save it as UTF-8 (in Excel: 'CSV UTF-8'; "
                   "or iconv -f GB18030 -t UTF-8) and import it again"), {})
    line = raw[: error.start].count(b"\n") + 1
    return (N_("not UTF-8 (it may be GBK or another legacy encoding; the first byte that is "
               "not UTF-8 is on line %(line)s): save it as UTF-8 (in Excel: 'CSV UTF-8') and "
               "import it again"), {"line": line})


_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _reads_as_chinese(raw: bytes) -> bool:
    """Decodes as GB 18030 into hanzi that are mostly GB 2312's (the common ones, which
    Chinese text is made of; a Latin-1 file decodes into rare ones of the GBK extension)."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    hanzi = _HANZI.findall(text)
    return bool(hanzi) and sum(_in_gb2312(c) for c in hanzi) >= 0.8 * len(hanzi)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def read_csv(content: str, source: str, kind: Kind) -> Reading:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return Reading([], [Problem(source, 1, "header", N_("the file is empty"))])
    problems = [
        Problem(source, 1, name or "(blank)", N_("unknown column; %(kind)s has: %(columns)s"),
                {"kind": kind.name, "columns": ", ".join(kind.accepted)})
        for name in header if name not in kind.accepted
    ]
    problems += [Problem(source, 1, name, N_("column appears twice"))
                 for name in sorted({n for n in header if header.count(n) > 1})]
    problems += [Problem(source, 1, f.name, N_("required column is missing"))
                 for f in kind.fields if f.required and f.name not in header]
    if problems:
        return Reading([], problems)
    rows = []
    line = reader.line_num + 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                if len(record) != len(header):
                    problems.append(Problem(source, line, "row",
                                            N_("has %(cells)s cells, header has %(header)s"),
                                            {"cells": len(record), "header": len(header)}))
                else:
                    data = {name: cell for name, cell in zip(header, record, strict=True)
                            if cell.strip() != ""}
                    rows.append(RawRow(source, line, kind, data))
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(source, line, "row", N_("not valid CSV: %(error)s"),
                                {"error": str(exc)}))
    return Reading(rows, problems)


# libyaml's parser when the wheel has it (it does on PyPI's builds); 10x faster on big files
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Records the line each mapping starts on (as ``__line__``)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=True)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def read_yaml(content: str, source: str) -> Reading:
    try:
        document = yaml.load(content, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc)
        return Reading([], [Problem(source, line, "yaml", N_("not valid YAML: %(error)s"),
                                    {"error": str(reason)})])
    if document is None:
        return Reading([], [])
    if not isinstance(document, dict):
        return Reading([], [Problem(source, 1, "yaml",
                                    N_("expected a mapping of kind: [rows]"))])
    rows: list[RawRow] = []
    problems: list[Problem] = []
    top_line = document.pop("__line__", 1)
    for name, items in document.items():
        kind = kind_named(str(name))
        if kind is None:
            problems.append(Problem(source, top_line, str(name),
                                    N_("cannot tell the kind from %(name)r; name the file "
                                       "after one of: %(kinds)s"),
                                    {"name": str(name), "kinds": ", ".join(KINDS)}))
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(Problem(source, top_line, kind.name,
                                    N_("expected a list of rows")))
            continue
        for item in items:
            if not isinstance(item, dict):
                problems.append(Problem(source, top_line, kind.name,
                                        N_("a row must be a mapping")))
                continue
            line = item.pop("__line__")
            unknown = [key for key in item if key not in kind.accepted]
            for key in unknown:
                problems.append(Problem(source, line, str(key),
                                        N_("unknown field; %(kind)s has: %(columns)s"),
                                        {"kind": kind.name,
                                         "columns": ", ".join(kind.accepted)}))
            data = {k: v for k, v in item.items() if k not in unknown and v not in (None, "")}
            rows.append(RawRow(source, line, kind, data))
    return Reading(rows, problems)


# --- writing ------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """A model value as YAML/JSON wants it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def cell(value: Any) -> str:
    """A value as a CSV cell (lists joined with ';')."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def write_csv(kind: Kind, rows: list[dict[str, Any]]) -> str:
    """The rows as `inventory import` reads them back. Data, not a spreadsheet report:
    cells go as they are, a leading '=' too (citynet.spreadsheets would change them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(kind.columns)
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in kind.columns])
    return out.getvalue()


def write_yaml(rows_by_kind: dict[str, list[dict[str, Any]]]) -> str:
    document = {
        kind: [{k: plain(v) for k, v in row.items() if v is not None} for row in rows]
        for kind, rows in rows_by_kind.items()
    }
    return yaml.dump(document, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False,
                     width=120)
