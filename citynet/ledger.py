"""Append-only, hash-chained tables in the store (the login records, the audit log).

A ledger table has ``seq``, ``prev_hash``, ``row_hash`` and its content columns; its head
(and, after a purge by retention, its base) is kept in the meta table. The hashing and
the walk are :mod:`citynet.chain` (pure); this module is their I/O.

A table with a ``chain`` column holds several chains, numbered from 0, each with its own
seq, head, base and lock: writers on different chains never wait for each other (the
login records: one chain per RADIUS listener process, docs/radius.md). Chain 0 keeps the
meta keys of a table of one chain, so a store that had one verifies unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
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
        self.name = name
        self.chained = "chain" in table(model).c  # several chains in one table
        # statements on the driver's cursor, built once: every RADIUS round appends
        meta = table(MetaEntry)
        self._head = DriverStatement(select(meta.c.value).where(
            meta.c.key == bindparam("key")).with_for_update())
        columns = ["chain"] * self.chained + ["seq", "prev_hash", "row_hash", *self.content]
        self._insert_rows = DriverStatement(insert(table(model)), columns)
        self._pg_insert_rows = ColumnStatement.insert(table(model), columns) if by_columns else None
        self._insert_head = DriverStatement(insert(meta), ["key", "value"])
        self._update_head = DriverStatement(update(meta).where(
            meta.c.key == bindparam("key")).values(value=bindparam("value")))

    def keys(self, chain_no: int) -> tuple[str, str]:
        """The meta keys of chain ``chain_no``'s head and base (chain 0: those of a table
        of one chain, as before there were several)."""
        prefix = f"chain.{self.name}." + (f"{chain_no}." if chain_no else "")
        return prefix + "head", prefix + "base"

    def append(self, session: Session, contents: Sequence[Mapping[str, Any]],
               chain_no: int = 0) -> int:
        """Chain and insert rows after chain ``chain_no``'s head (the caller's
        transaction); returns the last seq."""
        if chain_no and not self.chained:
            raise ValueError(f"{self.name} is one chain: there is no chain {chain_no}")
        head_key = self.keys(chain_no)[0]
        self.lock(session, chain_no)
        found = self._head.first(session, {"key": head_key})
        head = found[0] if found else None
        seq, previous = chain.decode_point(head)
        if not contents:
            return seq
        on_chain = {"chain": chain_no} if self.chained else {}
        rows = []
        for content in contents:
            seq += 1
            digest = chain.row_hash(previous, content)
            rows.append({**on_chain, "seq": seq, "prev_hash": previous, "row_hash": digest,
                         **content})
            previous = digest
        if self._pg_insert_rows is not None and (
                connection_of(session).dialect.name == "postgresql"):
            # one statement, not one per row: the chain's lock is held until the commit
            self._pg_insert_rows.run(session, {name: [row[name] for row in rows]
                                               for name in self._pg_insert_rows.names})
        else:
            self._insert_rows.many(session, rows)
        point = {"key": head_key, "value": chain.encode_point((seq, previous))}
        # one execute, not executemany: psycopg's executemany is a pipeline of its own,
        # which inside the caller's (citynet.db.pipelined) waits for what went before
        if head is None:
            self._insert_head.run(session, point)
        else:
            self._update_head.run(session, point)
        return seq

    def lock(self, session: Session, chain_no: int = 0) -> None:
        """Take chain ``chain_no``'s lock for the caller's transaction (again is
        harmless). Two writers must never extend one chain at once: a store-wide lock per
        chain (the head row may not exist yet, and SQLite has no row locks — there, it is
        the write lock, the same for every chain)."""
        exclusive(session, f"ledger.{self.keys(chain_no)[0]}")

    def chains(self, session: Session) -> list[int]:
        """Every chain there is: those with a head or base in the meta table, and those
        with rows — a chain whose head was deleted is still walked (and found wanting)."""
        prefix = f"chain.{self.name}."
        found = {0}
        for key in session.scalars(select(MetaEntry.key).where(
                MetaEntry.key.startswith(prefix, autoescape=True))):
            number, _, kind = key[len(prefix):].rpartition(".")
            if kind in ("head", "base") and (number == "" or number.isdigit()):
                found.add(int(number or 0))
        if self.chained:
            column = self.model.chain  # type: ignore[attr-defined]
            found.update(session.scalars(select(column).distinct()))
        return sorted(found)

    def links(self, session: Session, chain_no: int = 0) -> Iterator[chain.Link]:
        seq = self.model.seq  # type: ignore[attr-defined]
        query = select(self.model).order_by(seq).execution_options(yield_per=2000)
        if self.chained:
            query = query.where(self.model.chain == chain_no)  # type: ignore[attr-defined]
        row: Any
        for row in session.execute(query).scalars():
            yield chain.Link(row.seq, row.prev_hash, row.row_hash,
                             {name: getattr(row, name) for name in self.content})

    def verify(self, session: Session) -> tuple[int, list[chain.Break]]:
        """Every chain's walk: (rows checked, problems)."""
        checked, problems = 0, []
        for chain_no in self.chains(session):
            rows, found = self.verify_chain(session, chain_no)
            checked += rows
            problems += found
        return checked, problems

    def verify_chain(self, session: Session, chain_no: int) -> tuple[int, list[chain.Break]]:
        """(rows of chain ``chain_no`` checked, its problems)."""
        head_key, base_key = self.keys(chain_no)
        base = chain.decode_point(get_meta(session, base_key))
        head = chain.decode_point(get_meta(session, head_key))
        checked: list[int] = []

        def counted() -> Iterator[chain.Link]:
            for link in self.links(session, chain_no):
                checked.append(link.seq)
                yield link

        problems = chain.verify(counted(), base, head)
        return len(checked), [replace(problem, chain=chain_no) for problem in problems]

    def base_seq(self, session: Session, chain_no: int = 0) -> int:
        """The seq chain ``chain_no`` starts after (0: nothing purged yet)."""
        return chain.decode_point(get_meta(session, self.keys(chain_no)[1]))[0]

    def rebase(self, session: Session, seq: int, row_hash: str, chain_no: int = 0) -> None:
        """After chain ``chain_no``'s rows up to ``seq`` were purged: it now starts after
        it."""
        set_meta(session, self.keys(chain_no)[1], chain.encode_point((seq, row_hash)))
