"""Hash chains for append-only, tamper-evident tables (login records, the audit log).

Each row stores the hash of the row before it and its own hash over (previous hash,
canonical JSON of its content). Editing a row breaks its hash; deleting one breaks the
next row's link; deleting the newest rows is caught by the head kept in the meta table,
and a purge by retention records the new base. Pure: no database here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> Any:
    """Values as they hash: datetimes in UTC ISO form whatever the driver returned."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


# json.dumps with these options, made once: dumps builds an encoder per call otherwise,
# and every login record is hashed
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(previous: str, content: Mapping[str, Any]) -> str:
    payload = _CANONICAL_JSON.encode({
        key: canonical(value) if isinstance(value, datetime) else value
        for key, value in content.items()})
    return hashlib.sha256(f"{previous}\n{payload}".encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    seq: int
    prev_hash: str
    row_hash: str
    content: Mapping[str, Any]


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str
    chain: int = 0  # of a table of several chains (chain 0: a table's only one)

    def __str__(self) -> str:
        where = f"chain {self.chain}, row {self.seq}" if self.chain else f"row {self.seq}"
        return f"{where}: {self.reason}"


def verify(links: Iterable[Link], base: tuple[int, str], head: tuple[int, str]) -> list[Break]:
    """Walk the chain in seq order from ``base`` (seq, hash before the first row)."""
    problems = []
    expected_seq, expected_prev = base[0] + 1, base[1]
    last = base
    for link in links:
        if link.seq != expected_seq:
            problems.append(Break(link.seq, f"rows {expected_seq}..{link.seq - 1} are missing"))
        if link.prev_hash != expected_prev:
            problems.append(Break(link.seq, "does not link to the row before it "
                                  "(a row was deleted or replaced)"))
        if row_hash(link.prev_hash, link.content) != link.row_hash:
            problems.append(Break(link.seq, "content does not match its hash (edited)"))
        expected_seq, expected_prev = link.seq + 1, link.row_hash
        last = (link.seq, link.row_hash)
    if last != head:
        problems.append(Break(last[0], f"the chain ends at row {last[0]} but the recorded "
                                       f"head is row {head[0]} (newest rows deleted)"))
    return problems


def encode_point(point: tuple[int, str]) -> str:
    return f"{point[0]}:{point[1]}"


def decode_point(text: str | None) -> tuple[int, str]:
    if not text:
        return (0, GENESIS)
    seq, _, digest = text.partition(":")
    return (int(seq), digest)
