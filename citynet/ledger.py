"""Append-only, hash-chained tables in the store (the login records, the audit log).

A ledger table has ``seq``, ``prev_hash``, ``row_hash`` and its content columns; its head
(and, after a purge by retention, its base) is kept in the meta table. The hashing and
the walk are :mod:`citynet.chain` (pure); this module is their I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from citynet import chain
from citynet.db import (
    Base,
    ColumnStatement,
    DriverStatement,
    MetaEntry,
    connection_of,
    exclusive,
    get_meta,
    set_meta,
    table,
)


class Ledger:
    def __init__(self, model: type[Base], name: str, content: Sequence[str],
                 by_columns: bool = False) -> None:
        """``by_columns``: on PostgreSQL, a batch's rows go in as one statement of whole
        columns (:class:`ColumnStatement`: every column's type has an array type) — for a
        ledger appended to on a hot path, inside the chain's lock."""
        self.model = model
        self.content = tuple(content)
        self.head_key, self.base_key = f"chain.{name}.head", f"chain.{name}.base"
        # statements on the driver's cursor, built once: every RADIUS round appends
        meta = table(MetaEntry)
        self._head = DriverStatement(select(meta.c.value).where(
            meta.c.key == bindparam("key")).with_for_update())
        columns = ["seq", "prev_hash", "row_hash", *self.content]
        self._insert_rows = DriverStatement(insert(table(model)), columns)
        self._pg_insert_rows = ColumnStatement.insert(table(model), columns) if by_columns else None
        self._insert_head = DriverStatement(insert(meta), ["key", "value"])
        self._update_head = DriverStatement(update(meta).where(
            meta.c.key == bindparam("key")).values(value=bindparam("value")))

    def append(self, session: Session, contents: Sequence[Mapping[str, Any]]) -> int:
        """Chain and insert rows after the current head (the caller's transaction);
        returns the last seq."""
        self.lock(session)
        found = self._head.first(session, {"key": self.head_key})
        head = found[0] if found else None
        seq, previous = chain.decode_point(head)
        if not contents:
            return seq
        rows = []
        for content in contents:
            seq += 1
            digest = chain.row_hash(previous, content)
            rows.append({"seq": seq, "prev_hash": previous, "row_hash": digest, **content})
            previous = digest
        if self._pg_insert_rows is not None and (
                connection_of(session).dialect.name == "postgresql"):
            # one statement, not one per row: the chain's lock is held until the commit
            self._pg_insert_rows.run(session, {name: [row[name] for row in rows]
                                               for name in self._pg_insert_rows.names})
        else:
            self._insert_rows.many(session, rows)
        point = {"key": self.head_key, "value": chain.encode_point((seq, previous))}
        if head is None:
            self._insert_head.many(session, [point])
        else:
            self._update_head.many(session, [point])
        return seq

    def lock(self, session: Session) -> None:
        """Take the chain's lock for the caller's transaction (again is harmless). Two
        writers must never extend the chain at once: a store-wide lock (the head row may
        not exist yet, and SQLite has no row locks — there, it is the write lock)."""
        exclusive(session, f"ledger.{self.head_key}")

    def links(self, session: Session) -> Iterator[chain.Link]:
        seq = self.model.seq  # type: ignore[attr-defined]
        rows = session.execute(select(self.model).order_by(seq)
                               .execution_options(yield_per=2000)).scalars()
        row: Any
        for row in rows:
            yield chain.Link(row.seq, row.prev_hash, row.row_hash,
                             {name: getattr(row, name) for name in self.content})

    def verify(self, session: Session) -> tuple[int, list[chain.Break]]:
        """(rows checked, problems)."""
        base = chain.decode_point(get_meta(session, self.base_key))
        head = chain.decode_point(get_meta(session, self.head_key))
        checked: list[int] = []

        def counted() -> Iterator[chain.Link]:
            for link in self.links(session):
                checked.append(link.seq)
                yield link

        problems = chain.verify(counted(), base, head)
        return len(checked), problems

    def rebase(self, session: Session, seq: int, row_hash: str) -> None:
        """After the rows up to ``seq`` were purged: the chain now starts after it."""
        set_meta(session, self.base_key, chain.encode_point((seq, row_hash)))
