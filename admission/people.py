"""People: an atomic import from an HR or school CSV, listing, disabling.

``read_csv`` and ``check`` are pure (text in, typed rows or problems out); ``apply``
upserts by username inside the caller's transaction. Any problem in any row means nothing
is written: the caller rolls back, so a dry run is the same import rolled back.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from admission.choices import PersonStatus, Role
from admission.models import Person
from citynet.catalogs import N_, Message, gettext
from citynet.db import DriverStatement
from citynet.spreadsheets import FORMULA_STARTS, WHOLE_FILE, Problem

# the columns a file may leave out
OPTIONAL = ("department", "phone", "status")


@dataclass(frozen=True)
class PersonRow:
    source: str
    line: int
    username: str
    real_name: str
    department: str
    phone: str
    role: Role
    status: PersonStatus
    # the optional fields the file sets for this person: a column it does not have (or a
    # blank status) leaves a known person's value as it is (a file of only the required
    # columns must not re-enable someone disabled, nor blank their phone)
    given: frozenset[str] = frozenset(OPTIONAL)


COLUMNS = ("username", "real_name", "department", "phone", "role", "status")
REQUIRED = ("username", "real_name", "role")
# the headers HR and school systems export in Chinese
ALIASES = {"工号": "username", "学号": "username", "账号": "username", "姓名": "real_name",
           "部门": "department", "单位": "department", "班级": "department",
           "电话": "phone", "手机": "phone", "手机号": "phone", "角色": "role",
           "身份": "role", "状态": "status"}
ROLE_WORDS = {"职工": Role.STAFF, "员工": Role.STAFF, "教师": Role.TEACHER,
              "老师": Role.TEACHER, "学生": Role.STUDENT}
STATUS_WORDS = {"在职": PersonStatus.ACTIVE, "在读": PersonStatus.ACTIVE,
                "启用": PersonStatus.ACTIVE, "停用": PersonStatus.DISABLED,
                "离职": PersonStatus.DISABLED, "毕业": PersonStatus.DISABLED}

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
PHONE = re.compile(r"\+?[0-9][0-9 -]{3,30}")
LIMITS = {"real_name": 128, "department": 128}


class FieldError(ValueError):
    """Why one cell cannot be taken (a Message: said where it is shown)."""

    def __init__(self, reason: Message) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(name: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = unicodedata.normalize("NFC", value.strip())
        if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
            raise FieldError(Message(N_("has control characters")))
        if value.startswith(FORMULA_STARTS):
            raise FieldError(Message(N_("starts like a spreadsheet formula")))
        if len(value) > LIMITS[name]:
            raise FieldError(Message(N_("longer than %(limit)s characters"), limit=LIMITS[name]))
        return value
    return parse


def _username(value: str) -> str:
    value = value.strip()
    if not USERNAME.fullmatch(value):
        raise FieldError(Message(N_("1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or "
                                    "digit")))
    return value


def _phone(value: str) -> str:
    value = value.strip()
    if not PHONE.fullmatch(value):
        raise FieldError(Message(N_("digits, spaces and dashes, optionally starting with +")))
    return value.replace(" ", "").replace("-", "")


def _choice(words: Mapping[str, Role] | Mapping[str, PersonStatus],
            kind: type[Role] | type[PersonStatus]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip()
        if value in words:
            return words[value]
        try:
            return kind(value.lower())
        except ValueError:
            raise FieldError(Message(N_("one of %(choices)s"),
                                     choices=", ".join(m.value for m in kind))) from None
    return parse


PARSERS: dict[str, Callable[[str], str]] = {
    "username": _username, "real_name": _text("real_name"),
    "department": _text("department"), "phone": _phone,
    "role": _choice(ROLE_WORDS, Role), "status": _choice(STATUS_WORDS, PersonStatus)}


def read_file(path: Path) -> tuple[list[PersonRow], list[Problem]]:
    """The rows of a people CSV, or every problem in it."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(source, WHOLE_FILE, "file", N_("cannot read: %(error)s"),
                            {"error": exc.strerror})]
    try:
        content = raw.decode("utf-8-sig")  # Excel writes a BOM in "CSV UTF-8"
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [Problem(source, WHOLE_FILE, "file",
                            N_("not UTF-8 (first bad byte on line %(line)s; GBK?): save it "
                               "as UTF-8 (in Excel: 'CSV UTF-8') and import it again"),
                            {"line": line})]
    return read_csv(content, source)


def read_csv(content: str, source: str) -> tuple[list[PersonRow], list[Problem]]:
    """Parse and check CSV text: typed rows, or every problem (then no rows). A NUL is
    named on each line that has one, and the rest is checked without them, so that one
    run lists everything to fix."""
    if "\x00" not in content:
        return _read_csv(content, source)
    nuls = [Problem(source, number, "row", N_("has a NUL character"))
            for number, text in enumerate(content.split("\n"), 1) if "\x00" in text]
    _rows, problems = _read_csv(content.replace("\x00", ""), source)
    return [], sorted([*nuls, *problems], key=lambda p: (p.source, p.line, p.field))


def _read_csv(content: str, source: str) -> tuple[list[PersonRow], list[Problem]]:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [ALIASES.get(name.strip(), name.strip()) for name in next(reader)]
    except StopIteration:
        return [], [Problem(source, 1, "header", N_("the file is empty"))]
    except csv.Error as exc:
        return [], [Problem(source, 1, "header", N_("not CSV: %(error)s"), {"error": str(exc)})]
    problems = [Problem(source, 1, name or "(blank)",
                        N_("unknown column; people have: %(columns)s"),
                        {"columns": ", ".join(COLUMNS)})
                for name in header if name not in COLUMNS]
    problems += [Problem(source, 1, name, N_("column appears twice"))
                 for name in sorted({n for n in header if header.count(n) > 1})]
    problems += [Problem(source, 1, name, N_("required column is missing"))
                 for name in REQUIRED if name not in header]
    if problems:
        return [], problems
    rows: list[PersonRow] = []
    line = reader.line_num + 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                if len(record) != len(header):
                    problems.append(Problem(source, line, "row",
                                            N_("has %(cells)s cells, header has %(columns)s"),
                                            {"cells": len(record), "columns": len(header)}))
                else:
                    row, row_problems = _parse(source, line, dict(zip(header, record,
                                                                      strict=True)))
                    problems += row_problems
                    if row is not None:
                        rows.append(row)
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(source, line, "row", N_("not CSV: %(error)s"),
                                {"error": str(exc)}))
    problems += _duplicates(rows)
    problems.sort(key=lambda p: (p.source, p.line, p.field))
    return ([] if problems else rows), problems


def _parse(source: str, line: int,
           cells: Mapping[str, str]) -> tuple[PersonRow | None, list[Problem]]:
    values = {"department": "", "phone": "", "status": PersonStatus.ACTIVE.value}
    problems = []
    for name in COLUMNS:
        cell = cells.get(name, "")
        if not cell.strip():
            if name in REQUIRED:
                problems.append(Problem(source, line, name, N_("required")))
            continue
        try:
            values[name] = PARSERS[name](cell)
        except FieldError as exc:
            problems.append(Problem(source, line, name, exc.reason.msgid, exc.reason.values))
    if problems:
        return None, problems
    given = frozenset(name for name in OPTIONAL
                      if name in cells and (name != "status" or cells[name].strip()))
    return PersonRow(source, line, values["username"], values["real_name"],
                     values["department"], values["phone"], Role(values["role"]),
                     PersonStatus(values["status"]), given), []


def _duplicates(rows: Iterable[PersonRow]) -> list[Problem]:
    first: dict[str, PersonRow] = {}
    problems = []
    for row in rows:
        earlier = first.setdefault(row.username.lower(), row)
        if earlier is not row:
            problems.append(Problem(row.source, row.line, "username",
                                    N_("duplicate %(username)s (first at %(place)s)"),
                                    {"username": repr(row.username),
                                     "place": f"{earlier.source}:{earlier.line}"}))
    return problems


# --- the store side -----------------------------------------------------------------

SUMMARY = N_("%(new)s new, %(updated)s updated, %(unchanged)s unchanged")


@dataclass
class ImportOutcome:
    created: Counter[str] = field(default_factory=Counter)
    # the people the file disabled (active before): the caller does what a disable does
    disabled: list[str] = field(default_factory=list)
    # the people the file made active again (disabled before): the caller audits it
    enabled: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {key: self.created[key] for key in ("new", "updated", "unchanged")}

    @property
    def summary(self) -> str:
        """The counts in English (a record's or a script's)."""
        return SUMMARY % self.counts

    def said(self) -> str:
        """The counts in the reader's language (the command's)."""
        return gettext(SUMMARY, **self.counts)


def apply(session: Session, rows: Iterable[PersonRow]) -> ImportOutcome:
    """Upsert every row by username (people not in the file stay as they are)."""
    outcome = ImportOutcome()
    existing = {p.username.lower(): p for p in session.scalars(select(Person))}
    for row in rows:
        person = existing.get(row.username.lower())
        values = {"real_name": row.real_name, "department": row.department,
                  "phone": row.phone, "role": row.role, "status": row.status}
        if person is None:
            session.add(Person(username=row.username, **values))
            outcome.created["new"] += 1
            continue
        values = {name: value for name, value in values.items()
                  if name not in OPTIONAL or name in row.given}
        if all(getattr(person, k) == v for k, v in values.items()):
            outcome.created["unchanged"] += 1
        else:
            if person.status is PersonStatus.ACTIVE and values.get("status") is \
                    PersonStatus.DISABLED:
                outcome.disabled.append(person.username)
            if person.status is PersonStatus.DISABLED and values.get("status") is \
                    PersonStatus.ACTIVE:
                outcome.enabled.append(person.username)
            for name, value in values.items():
                setattr(person, name, value)
            outcome.created["updated"] += 1
    session.flush()
    return outcome


def find(session: Session, username: str) -> Person | None:
    return session.scalar(select(Person).where(Person.username == username))


@dataclass(frozen=True)
class AtLogin:
    """What an 802.1X login reads of a person (no ORM object: read-only, per login)."""

    username: str
    role: Role
    status: PersonStatus
    password_hash: str | None
    nt_hash_sealed: str | None

    def __repr__(self) -> str:  # the hashes are password equivalents: never print them
        return f"AtLogin({self.username!r}, {self.role}, {self.status})"


# every 802.1X login reads the person (PEAP twice: the NT hash, then the gate): a statement
# built once, not an ORM query built, keyed and loaded each time
_AT_LOGIN = DriverStatement(select(
    Person.username, Person.role, Person.status, Person.password_hash, Person.nt_hash_sealed
).where(Person.username == bindparam("username")))


def at_login(session: Session | Connection, username: str) -> AtLogin | None:
    """The person a login names, as the login needs them; None if nobody. Usernames are
    one person whatever their case (the import refuses two that differ only in it), and a
    login may name them with a realm (``t001@district``, an NAI as supplicants are often
    set up): a name that is nobody's as typed is looked for in the other spellings of
    :func:`_spellings` — indexed reads, made only on a miss (no scan an unknown name
    could make every login pay for; a stored mixed-case name must be typed as stored)."""
    for name in _spellings(username):
        found = _AT_LOGIN.first(session, {"username": name})
        if found is not None:
            return AtLogin(*found)
    return None


def _spellings(username: str) -> Iterator[str]:
    """As typed, in lower and in upper case; then the same without the realm (after the
    last ``@``: a username may hold an ``@`` itself, so the whole name comes first)."""
    seen: set[str] = set()
    local = username.rpartition("@")[0]
    for base in (username, local):
        for name in (base, base.lower(), base.upper()):
            if name and name not in seen:
                seen.add(name)
                yield name


def everyone(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.username)))


def disable(session: Session, username: str) -> bool | None:
    """Disable a person: True if changed, False if already disabled, None if unknown."""
    return _set_status(session, username, PersonStatus.DISABLED)


def enable(session: Session, username: str) -> bool | None:
    """Enable a person again: True if changed, False if already active, None if unknown.
    Their revoked certificates stay revoked: issue new ones."""
    return _set_status(session, username, PersonStatus.ACTIVE)


def _set_status(session: Session, username: str, status: PersonStatus) -> bool | None:
    person = find(session, username)
    if person is None:
        return None
    if person.status is status:
        return False
    person.status = status
    session.flush()
    return True
