"""The store: SQLAlchemy engine and sessions, schema version checks, the meta table.

SQLite (WAL) under the data directory is the embedded default; PostgreSQL by URL is the
production store. Domain packages declare their tables on :class:`Base`.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from citynet import metrics, migrate
from citynet.catalogs import gettext as _
from citynet.config import POSTGRES_PORT, Config, host_and_port, shown_url, store_url
from citynet.errors import StoreError
from citynet.logs import store_works

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, aware on the way out on every backend. PostgreSQL keeps the zone;
    SQLite keeps none, so values are written as UTC and read back marked as UTC — the
    one place that knows, instead of every reader patching naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, for executemany writes on hot paths."""
    return cast(Table, model.__table__)


def upsert_insert(into: Table, dialect: str) -> sqlite.Insert | postgresql.Insert:
    """An INSERT into ``into`` in ``dialect``'s own flavour ("sqlite" or "postgresql"),
    the one that has ``on_conflict_do_nothing``/``on_conflict_do_update`` (Core's has not)."""
    if dialect == "sqlite":
        return sqlite.insert(into)
    if dialect == "postgresql":
        return postgresql.insert(into)
    raise ValueError(f"no upsert for the {dialect!r} dialect")


Convert = Callable[[Any], Any] | None
_REQUIRED = object()  # a bind parameter the caller must give
# (SQL in the driver's parameter style, binds as (name, conversion, own value), conversions
# of the result columns)
_Prepared = tuple[str, list[tuple[str, Convert, Any]], list[Convert]]


class DriverStatement:
    """A Core statement run on the DB-API cursor of the session's connection: compiled
    once per dialect, with the column types' own bind and result conversions, but none of
    SQLAlchemy's per-execution work (cache keys, execution context, result objects) —
    which costs several times the query itself. Only for the statements run for every
    RADIUS request or portal login; everything else goes through SQLAlchemy as usual."""

    def __init__(self, statement: Any, keys: Sequence[str] = ()) -> None:
        self.statement = statement
        self.keys = list(keys)  # an INSERT's columns (the keys of its rows)
        self._prepared: dict[tuple[str, str], _Prepared] = {}
        self._last: tuple[Dialect, _Prepared] | None = None  # the dialect asked for last

    def _run(self, session: Session | Connection, rows: Sequence[Mapping[str, Any]],
             work: Callable[[Any, str, list[Any]], Any]) -> tuple[Any, list[Convert]]:
        """``work(cursor, sql, parameters of each row)`` (:func:`_on_driver`), and the
        result columns' conversions."""
        connection = connection_of(session)
        dialect = connection.dialect
        sql, binds, results = self._for(dialect)
        parameters = [self._parameters(binds, row, dialect.positional) for row in rows]
        return _on_driver(connection, sql, lambda cursor: work(cursor, sql, parameters)), results

    def _for(self, dialect: Dialect) -> _Prepared:
        last = self._last
        if last is not None and last[0] is dialect:  # the one store a process mostly has
            return last[1]
        key = (dialect.name, dialect.driver)  # drivers differ in parameter style
        found = self._prepared.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.keys or None)
            names = list(compiled.positiontup or compiled.binds)
            # (name, conversion, the statement's own value: a literal such as key = '')
            binds = [(name, bind.type.dialect_impl(dialect).bind_processor(dialect),
                      _REQUIRED if bind.required else bind.effective_value)
                     for name, bind in ((name, compiled.binds[name]) for name in names)]
            # a SELECT's columns, or what an INSERT/UPDATE ... RETURNING gives back
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in getattr(self.statement, "exported_columns", ())]
            found = self._prepared[key] = (str(compiled), binds, results)
        self._last = (dialect, found)
        return found

    @staticmethod
    def _parameters(binds: list[tuple[str, Convert, Any]], values: Mapping[str, Any],
                    positional: bool) -> Any:
        converted = []
        for name, convert, own in binds:  # for every row of every RADIUS round: lean
            value = values.get(name, own)
            if value is _REQUIRED:
                raise KeyError(f"no value for {name}")
            converted.append(value if convert is None else convert(value))
        if positional:
            return tuple(converted)
        return {name: value
                for (name, _convert, _own), value in zip(binds, converted, strict=True)}

    def first(self, session: Session | Connection,
              values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (converted by the columns' types), or None."""
        connection = connection_of(session)
        dialect = connection.dialect
        sql, binds, results = self._for(dialect)
        parameters = self._parameters(binds, values, dialect.positional)
        # one row, no batch: run straight on a cursor (a PEAP login reads three)
        row = _on_driver(connection, sql,
                         lambda cursor: cursor.execute(sql, parameters).fetchone())
        return None if row is None else _converted(results, row)

    def run(self, session: Session | Connection, values: Mapping[str, Any]) -> None:
        """The statement once, its result (if any) not read: inside :func:`pipelined`,
        sent without waiting for the server."""
        self._run(session, [values], lambda cursor, sql, parameters: (
            cursor.execute(sql, parameters[0])))

    def first_of_each(self, session: Session | Connection,
                      rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...] | None]:
        """The statement once for each mapping of values, on one cursor: the first row
        each run gives (converted), or None. A read by a unique key, for a batch of
        keys: one text whatever their number, where an expanding IN is a new text, and
        a new compilation in SQLAlchemy, for each number of keys."""
        if not rows:
            return []
        found, results = self._run(session, rows, lambda cursor, sql, parameters: [
            cursor.execute(sql, values).fetchone() for values in parameters])
        return [None if row is None else _converted(results, row) for row in found]

    def all(self, session: Session | Connection,
            values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row (converted by the columns' types)."""
        rows, results = self._run(session, [values], lambda cursor, sql, parameters: (
            cursor.execute(sql, parameters[0]).fetchall()))
        return [_converted(results, row) for row in rows]

    def each(self, session: Session | Connection,
             rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """The statement once for each row of parameters, on one cursor: how many rows
        each run wrote — of an INSERT … ON CONFLICT DO NOTHING, 1 where it inserted the
        row and 0 where one with its key was there. For SQLite, whose driver's
        executemany tells only the total and gives no RETURNING rows (a RETURNING
        executemany through SQLAlchemy costs a new multi-row VALUES a batch)."""
        if not rows:
            return []

        def work(cursor: Any, sql: str, parameters: list[Any]) -> list[int]:
            counts = []
            for values in parameters:
                cursor.execute(sql, values)
                counts.append(cursor.rowcount)
            return counts

        counts, _results = self._run(session, rows, work)
        return cast(list[int], counts)

    def many(self, session: Session | Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """executemany: one row of parameters per mapping; how many rows it wrote (an
        INSERT ... ON CONFLICT DO NOTHING counts only the rows it inserted)."""
        if not rows:
            return 0

        def work(cursor: Any, sql: str, parameters: list[Any]) -> int:
            cursor.executemany(sql, parameters)
            return int(cursor.rowcount)

        written, _results = self._run(session, rows, work)
        return int(written)


def _converted(results: list[Convert], row: Sequence[Any]) -> tuple[Any, ...]:
    """A driver's row, each value converted by its column's type."""
    return tuple([convert(value) if convert else value  # a list first: quicker than a generator
                  for convert, value in zip(results, row, strict=True)])


class ColumnStatement:
    """PostgreSQL: a batch's write as one statement whose parameters are whole columns, an
    array each (``INSERT … SELECT * FROM unnest(%(nas)b::text[], …)``). Its text is the
    same whatever the batch's size, so neither SQLAlchemy nor psycopg compiles or parses
    SQL per batch (psycopg even prepares it on the server after a few runs), and a batch
    is one round trip — where :class:`DriverStatement`'s executemany is a statement per
    row, and a multi-row VALUES a new text per batch. Built once from a table's columns
    (:meth:`insert`, :meth:`update`, :meth:`select`, :meth:`delete`); run on the driver's
    cursor like :class:`DriverStatement`, the values going to psycopg as they are."""

    def __init__(self, sql: str, names: Sequence[str]) -> None:
        self.sql = sql
        self.names = list(names)  # its parameters: one column of values each

    @classmethod
    def insert(cls, table: Table, names: Sequence[str], then: str = "") -> ColumnStatement:
        """INSERT of rows given by their columns ``names``; ``then``: what follows the
        rows (ON CONFLICT …, RETURNING …)."""
        sql = (f"INSERT INTO {_PG.format_table(table)} ({_quoted(names)}) "  # noqa: S608 - names from the table
               f"SELECT * FROM {_unnest(table, names, 'batch')} {then}")
        return cls(sql.strip(), names)

    @classmethod
    def update(cls, table: Table, key: str, names: Sequence[str]) -> ColumnStatement:
        """UPDATE of the columns ``names`` of the rows found by ``key`` (unique), each
        row's values given by their columns."""
        found = f"{_PG.format_table(table)} AS stored"
        values = ", ".join(f"{name} = batch.{name}" for name in map(_PG.quote, names))
        sql = (f"UPDATE {found} SET {values} "  # noqa: S608 - names from the table
               f"FROM {_unnest(table, (key, *names), 'batch')} "
               f"WHERE stored.{_PG.quote(key)} = batch.{_PG.quote(key)}")
        return cls(sql, (key, *names))

    @classmethod
    def select(cls, table: Table, by: Sequence[str], then: str = "") -> ColumnStatement:
        """SELECT of every column of the rows whose values of ``by`` are given (as
        columns: one row's wanted values at the same place in each); ``then``: what
        follows (ORDER BY …, FOR UPDATE …; the table is ``stored``)."""
        columns = ", ".join(f"stored.{_PG.quote(column.name)}" for column in table.c)
        match = " AND ".join(f"stored.{name} = wanted.{name}" for name in map(_PG.quote, by))
        sql = (f"SELECT {columns} FROM {_PG.format_table(table)} AS stored "  # noqa: S608 - names from the table
               f"JOIN {_unnest(table, by, 'wanted')} ON {match} {then}")
        return cls(sql.strip(), by)

    @classmethod
    def delete(cls, table: Table, key: str) -> ColumnStatement:
        """DELETE of the rows found by ``key`` (unique), its values given as a column."""
        sql = (f"DELETE FROM {_PG.format_table(table)} AS stored "  # noqa: S608 - names from the table
               f"USING {_unnest(table, (key,), 'gone')} "
               f"WHERE stored.{_PG.quote(key)} = gone.{_PG.quote(key)}")
        return cls(sql, (key,))

    def _run(self, session: Session | Connection, columns: Mapping[str, Sequence[Any]],
             work: Callable[[Any, str, dict[str, list[Any]]], Any]) -> Any:
        connection = connection_of(session)
        if connection.dialect.name != "postgresql":
            raise TypeError("a ColumnStatement runs on PostgreSQL only")
        parameters = {name: list(columns[name]) for name in self.names}
        return _on_driver(connection, self.sql,
                          lambda cursor: work(cursor, self.sql, parameters))

    def all(self, session: Session | Connection,
            columns: Mapping[str, Sequence[Any]]) -> list[tuple[Any, ...]]:
        """Every row the statement gives (a SELECT's, or RETURNING's)."""
        return cast(list[tuple[Any, ...]], self._run(
            session, columns, lambda cursor, sql, parameters: cursor.execute(
                sql, parameters).fetchall()))

    def sent(self, session: Session | Connection,
             columns: Mapping[str, Sequence[Any]]) -> Callable[[], list[tuple[Any, ...]]]:
        """The statement sent now; its rows (as :meth:`all`'s) when the function returned
        is called, once. Inside :func:`pipelined`, what is sent so goes out with what
        follows it, and its rows come back with them: read after the block's end, the
        block's statements cost one round trip between them. Outside, as :meth:`all`."""
        connection = connection_of(session)
        if connection.dialect.name != "postgresql":
            raise TypeError("a ColumnStatement runs on PostgreSQL only")
        parameters = {name: list(columns[name]) for name in self.names}
        cursor = _driver_of(connection).cursor()
        try:
            cursor.execute(self.sql, parameters)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _store_error(connection, self.sql, exc, cursor) from exc

        def rows() -> list[tuple[Any, ...]]:
            try:
                return cast(list[tuple[Any, ...]], cursor.fetchall())
            except connection.dialect.loaded_dbapi.Error as exc:
                raise _store_error(connection, self.sql, exc, cursor) from exc
            finally:
                cursor.close()

        return rows

    def run(self, session: Session | Connection,
            columns: Mapping[str, Sequence[Any]]) -> None:
        """The statement, for what it writes."""
        self._run(session, columns,
                  lambda cursor, sql, parameters: cursor.execute(sql, parameters))


# quotes names as SQLAlchemy would (the dialect's constructor is untyped)
_PG = cast(Dialect, cast(Any, postgresql.dialect)()).identifier_preparer


def _unnest(table: Table, names: Sequence[str], alias: str) -> str:
    """``unnest(%(a)b::text[], %(b)b::int8[], …) AS alias (a, b, …)``: rows made of one
    array parameter per column of ``table`` named. Each array is typed as the column's
    values — any text as ``text``: a cast to varchar(n) would cut a value that the
    column, on assignment, refuses. Binary (``%b``): psycopg writes a text array in
    Python, quoting each element by regular expression — 5 times the CPU."""
    arrays = ", ".join(f"%({name})b::{_element(table.c[name].type)}[]" for name in names)
    return f"unnest({arrays}) AS {alias} ({_quoted(names)})"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(map(_PG.quote, names))


def _element(kind: Any) -> str:
    """PostgreSQL's name of the type of ``kind``'s values, for an array of them."""
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):  # before Integer: a BigInteger is one
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, String):
        return "text"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    raise TypeError(f"no array type for {kind!r}")


def connection_of(session: Session | Connection) -> Connection:
    """The connection of the session's transaction (or the connection:
    :meth:`Store.statement`'s commits each statement). Remembered for the transaction:
    a RADIUS round runs a dozen statements on the driver, and ``Session.connection()``
    finds the same connection each time through several layers of state checks."""
    if not isinstance(session, Session):
        return session
    lent = session.info.get(_LENT)
    if lent is not None:
        return cast(Connection, lent)
    transaction = session.get_transaction()
    held = session.info.get(_CONNECTION)
    if (transaction is not None and held is not None and held[0] is transaction
            and transaction.is_active):
        return cast(Connection, held[1])
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


_CONNECTION = "citynet.connection"  # session.info: (its transaction, its connection)
_LENT = "citynet.lent"  # session.info: the connection lent to it (:func:`lend`)


def lend(session: Session, connection: Connection) -> None:
    """Let ``session`` work in the transaction its caller began on ``connection`` and
    will end itself (the record writer's round): statements on the driver go straight
    to the connection, and the ORM, when used, joins that transaction — its commit then
    only flushes. A session's own transaction (begun, connected, committed, closed) cost
    more than half of a PEAP post-auth round's SQLAlchemy work. Lent until
    ``session.info`` is cleared."""
    session.bind = connection
    session.info[_LENT] = connection


def _driver_of(connection: Connection) -> Any:
    driver = connection.connection.driver_connection
    if driver is None:
        raise StoreError(_("the store's connection is closed"))
    return driver


def _store_error(connection: Connection, sql: str, exc: Any,
                 cursor: Any = None) -> DBAPIError:
    """The driver's error as SQLAlchemy's (a store failure is an OperationalError
    whichever way it was reached); a lost connection is thrown away."""
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    lost = dialect.is_disconnect(exc, driver, cursor) or _stuck(driver)
    if lost:
        connection.invalidate(exc)
    return cast(DBAPIError, DBAPIError.instance(
        sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
        connection_invalidated=lost, dialect=dialect))


def _on_driver(connection: Connection, sql: str, work: Callable[[Any], Any]) -> Any:
    """``work(cursor)`` on the connection's DB-API connection, the driver's errors
    :func:`_store_error`'s."""
    cursor = _driver_of(connection).cursor()
    try:
        return work(cursor)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _store_error(connection, sql, exc, cursor) from exc
    finally:
        cursor.close()


def _not_in_pipeline(_connection: Connection, cursor: Any, *_args: object) -> None:
    """Refuses SQLAlchemy's execution (ORM or Core) inside :func:`pipelined`: it reads a
    result's columns and row count at once, which a pipeline gives only later — its
    rows would silently be none."""
    status = getattr(getattr(cursor.connection, "pgconn", None), "pipeline_status", 0)
    if status:
        raise RuntimeError("a statement through SQLAlchemy inside citynet.db.pipelined: "
                           "run it on the driver (DriverStatement, ColumnStatement) or "
                           "outside the block")


@contextmanager
def pipelined(session: Session | Connection) -> Iterator[None]:
    """PostgreSQL: the block's statements on the driver go out without waiting for each
    other's results (psycopg's pipeline mode) — a result read (``first``, ``all``) sends
    everything before it and waits, once; the block's end waits for the rest. For a
    transaction's statements whose results it does not need at once: each is a round
    trip to the server otherwise. An error fails the statement that made it and every
    one sent after it (the transaction is lost anyway); it is raised where the block
    next waits, as :func:`_on_driver` raises. Only for statements run on the driver
    (:class:`DriverStatement`, :class:`ColumnStatement`): SQLAlchemy reads a result's
    columns and row count at once, which a pipeline gives only later — a statement
    through SQLAlchemy inside the block is refused (RuntimeError). SQLite: the block
    as it is."""
    connection = connection_of(session)
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = _driver_of(connection)
    pipeline = driver.pipeline()
    try:
        pipeline.__enter__()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _store_error(connection, "(pipeline)", exc) from exc
    # After an error in a pipeline, psycopg may leave the connection unusable (the next
    # round failed on it): it is thrown away, and the next round gets a new one.
    try:
        yield
    except BaseException as exc:
        pipeline.__exit__(type(exc), exc, exc.__traceback__)  # logs its own error, if any
        if not connection.invalidated:
            connection.invalidate(exc)
        raise
    try:
        pipeline.__exit__(None, None, None)
    except connection.dialect.loaded_dbapi.Error as exc:
        error = _store_error(connection, "(pipeline)", exc)
        if not connection.invalidated:
            connection.invalidate(exc)
        raise error from exc


class MetaEntry(Base):
    """Small facts about this store (demo seed, secrets canary)."""

    __tablename__ = "citynet_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(4096))


def exclusive(session: Session, name: str) -> None:
    """Hold ``name`` until this transaction ends, across processes: for check-then-write
    rules (a daily budget) that one conditional UPDATE cannot express. PostgreSQL: a
    transaction-scoped advisory lock on the name. SQLite: the database's write lock,
    taken now — by beginning the transaction IMMEDIATE, or, once it has begun, by a
    write that changes nothing — SQLite has one writer at a time, so the reads that
    follow see every committed write and no other writer can slip in."""
    # Held already in this transaction (on SQLite the record writer takes the chain's
    # lock first, then the chain takes it again): nothing to do. Core on the session's
    # connection, not the ORM: the record writer takes this lock for every batch.
    connection = connection_of(session)
    transaction, held = connection.get_transaction(), session.info.setdefault(_HELD, {})
    if held.get(name) is transaction:
        return
    held[name] = transaction
    if connection.dialect.name == "postgresql":
        # its result is void: not read, so that in a pipeline it waits for nothing
        _ADVISORY_LOCK.run(connection, {"key": _lock_key(name)})
        return
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        # nothing written yet: the transaction begins holding the lock, in one call
        # (where the driver would begin it before the touch, and parse its BEGIN anew)
        _on_driver(connection, _BEGIN_WRITING, lambda cursor: cursor.execute(_BEGIN_WRITING))
    else:
        _TOUCH_META.many(session, [{}])


@lru_cache(maxsize=64)  # a handful of lock names, each taken again and again
def _lock_key(name: str) -> int:
    """PostgreSQL's advisory lock key of a name: 64 bits of its SHA-256."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


_ADVISORY_LOCK = DriverStatement(select(func.pg_advisory_xact_lock(
    bindparam("key", type_=BigInteger()))))
_BEGIN_WRITING = "BEGIN IMMEDIATE"  # SQLite: a transaction that holds the write lock
_HELD = "citynet.exclusive"  # session.info: lock name → the transaction that holds it
_META = table(MetaEntry)
_TOUCH_META = DriverStatement(update(_META).where(_META.c.key == "").values(
    value=_META.c.value))


def sqlalchemy_url(raw: str) -> URL:
    """Our URLs say ``postgresql://`` (with one host or a libpq host list,
    :func:`citynet.config.store_url`); SQLAlchemy wants the psycopg 3 driver named."""
    url = store_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def listed_hosts(url: URL) -> list[tuple[str, int]]:
    """The hosts and ports of a PostgreSQL URL that lists several (libpq's ``h1,h2`` as
    :func:`citynet.config.store_url` leaves it, or SQLAlchemy's ``?host=h1:p&host=h2:p``),
    without Unix-socket directories; [] for one host."""
    hosts = url.query.get("host")
    if not hosts:
        return []
    if isinstance(hosts, str):
        names, ports = hosts.split(","), str(url.query.get("port") or "").split(",")
        if len(ports) == 1:  # libpq: one port is every host's
            ports = ports * len(names)
        pairs = [(name, int(port) if port else POSTGRES_PORT)
                 for name, port in zip(names, ports, strict=False)]
    else:
        pairs = [host_and_port(entry) for entry in hosts]
    pairs = [(host, port) for host, port in pairs if host and not host.startswith("/")]
    return pairs if len(pairs) > 1 else []


def unanswered_hosts(url: URL, timeout: float = 3.0) -> list[tuple[str, str]]:
    """The hosts of a multi-host URL (:func:`listed_hosts`) that take no TCP connection
    within ``timeout`` seconds — ``host:port`` and why — tried at once, not one by one."""
    pairs = listed_hosts(url)

    def silent(pair: tuple[str, int]) -> tuple[str, str] | None:
        host, port = pair
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            socket.create_connection(pair, timeout=timeout).close()
        except OSError as exc:
            return shown, exc.strerror or str(exc) or type(exc).__name__
        return None

    with ThreadPoolExecutor(max_workers=max(len(pairs), 1)) as pool:
        return [found for found in pool.map(silent, pairs) if found is not None]


def warn_about_unanswered_hosts(raw_url: str) -> None:
    """At start-up: a host of the database URL's list that does not answer now is one
    citynet cannot fail over to — a typo, or a node down — told before a failover needs
    it (citynet starts anyway: libpq takes the hosts that answer)."""
    for host, reason in unanswered_hosts(sqlalchemy_url(raw_url)):
        log.warning("config: database.url: host %s does not answer (%s): citynet goes on "
                    "with the other hosts, but cannot fail over to this one", host, reason)


# connections a process may hold at once besides its web threads' (RADIUS policy
# workers, the record writer, collectors); each web thread may hold one more
POOL_BESIDE_WEB = 16
POOL_SIZE = POOL_BESIDE_WEB + 32  # web.threads' default


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit that returned is on disk, even across power loss (accounting relies on it)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _stuck(driver: Any) -> bool:
    """A psycopg connection left in the middle of a statement, which it never finishes: its
    socket failed under it ("connection socket closed") without psycopg marking it broken
    — so SQLAlchemy's dialect, which asks psycopg, would keep it as alive."""
    status = getattr(getattr(driver, "info", None), "transaction_status", None)
    return getattr(status, "name", None) in ("ACTIVE", "UNKNOWN")  # sqlite3: no info


def _lost(context: ExceptionContext) -> None:
    """Throws away a connection SQLAlchemy's psycopg dialect keeps though it cannot
    serve: one :func:`_stuck` after a failed statement, at once (the statement's error is
    the store's, its round retried) rather than by a failed reset."""
    if context.is_disconnect:
        return
    connection = context.connection
    if connection is not None and not connection.closed and not connection.invalidated:
        context.is_disconnect = _stuck(connection.connection.driver_connection)


def _count_connect(_dbapi_connection: object, record: Any) -> None:
    metrics.DB_CONNECTS.inc()
    record.info[_OPENED] = True  # it just answered: no check before its first use


_OPENED = "citynet.opened"  # a pooled connection's info: opened, not yet used
_PING = b"SELECT 1"
_BEGIN = b"BEGIN"


def _answers(driver: Any, begin: bool) -> None:
    """A psycopg connection's check before use: one round trip, which is the
    transaction's BEGIN when ``begin`` — psycopg would send that BEGIN by itself, alone,
    before the first statement. Sent on libpq's connection: through psycopg's, its own
    BEGIN would go first. A DisconnectionError if the connection was left mid-statement:
    the pool throws it away and opens another. An InvalidatePoolError if the server does
    not answer as it should: a dead server (a failover) has ended every connection of
    the pool, so all opened before this one go too, as with SQLAlchemy's pre-ping — each
    would otherwise cost a failed check of its own (or, with a server gone without a
    reset, a wait for TCP to give up)."""
    if _stuck(driver):
        raise DisconnectionError("left in the middle of a statement")
    try:
        result = driver.pgconn.exec_(_BEGIN if begin else _PING)
    except Exception as exc:  # any failure: this connection cannot serve
        raise InvalidatePoolError(str(exc)) from exc
    if result.error_message:
        raise InvalidatePoolError(result.error_message.decode(errors="replace"))


def _count_lost(_dbapi_connection: object, _record: object, _exc: object) -> None:
    metrics.DB_LOST.inc()


class Store:
    """One database: engine, session factory, and schema-version checks."""

    def __init__(self, url: str, echo: bool = False, pool_size: int = POOL_SIZE) -> None:
        self.url = sqlalchemy_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(str(self.url.database)).parent.mkdir(parents=True, exist_ok=True)
        # A pooled connection for every thread that may hold one at once (RADIUS policy
        # workers, the record writer, web workers): an overflow connection is opened and
        # closed per use, which costs more than the query it serves.
        # hide_parameters: a failed statement's message (logged) never carries its values —
        # voucher codes, phone numbers, tokens
        # PostgreSQL: each connection is checked before use (:meth:`_check_out`: a
        # failover's broken connections are replaced there, not failed on) — SQLAlchemy's
        # pre-ping, but one that can be the transaction's BEGIN
        self.engine: Engine = create_engine(self.url, echo=echo, pool_size=pool_size,
                                            hide_parameters=True)
        # a thread's next check-out (:meth:`pinned`) begins a transaction
        self._beginning = threading.local()
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine, "checkout", self._check_out)
            event.listen(self.engine, "before_cursor_execute", _not_in_pipeline)
        event.listen(self.engine, "handle_error", _lost)
        event.listen(self.engine, "connect", _count_connect)
        event.listen(self.engine, "invalidate", _count_lost)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: each thread's own connection, kept (:meth:`pinned`); by thread id
        self._pinned: dict[int, Connection] = {}
        self._pinning = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> Store:
        return cls(config.database_url, echo=config.database.echo,
                   pool_size=POOL_BESIDE_WEB + config.web.threads)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back if it raises."""
        with self._sessions.begin() as session:
            yield session
        store_works(log)  # committed: failures held back by the log throttle are told

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A unit of work whose reads all see the store as one moment left it — a check
        that reads a hash chain's base, then its rows, while the leader's purge deletes
        rows and moves the base in batches of their own (READ COMMITTED on PostgreSQL,
        and each SELECT outside a transaction on SQLite, would see a base newer than the
        rows, or rows gone under an old base, and call it tampering)."""
        with self.session() as session:
            if self.is_sqlite:  # pysqlite begins only before a write: begin the read here
                session.connection().exec_driver_sql("BEGIN")
            else:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def new_session(self) -> Session:
        """A session for the caller to begin, commit and close itself, and to use again
        after :meth:`Session.close` — for a unit of work repeated on one thread many times
        a second (the RADIUS round), where making the session and its transaction anew
        through :meth:`session` is ~40 % of the SQLAlchemy work of an empty round."""
        return self._sessions()

    def _check_out(self, driver: Any, record: Any, _proxy: object) -> None:
        """PostgreSQL: a pooled connection is checked before it serves (:func:`_answers`),
        unless it was opened just now — and begins its transaction in the same round
        trip when :meth:`pinned` takes it, which begins one at once."""
        begin = getattr(self._beginning, "on", False)
        if record.info.pop(_OPENED, False) and not begin:
            return
        _answers(driver, begin)

    @contextmanager
    def pinned(self) -> Iterator[Connection]:
        """A connection for work repeated on one thread many times a second (the RADIUS
        service's rounds and PEAP reads). SQLite: the thread's own, taken from the pool
        once and kept until :meth:`close` — a checkout and check-in cost as much as the
        read they serve, and an SQLite connection has no server to lose. PostgreSQL: one
        from the pool for the block, checked before use (a failover's broken
        connections are replaced there, not failed on) by the round trip that begins
        its transaction on the driver — the BEGIN psycopg would send alone before the
        first statement. The caller ends whatever transaction it begins on it (one it
        does not end is rolled back when the connection goes back to the pool)."""
        if not self.is_sqlite:
            self._beginning.on = True
            try:
                connection = self.engine.connect()
            finally:
                self._beginning.on = False
            with connection:
                yield connection
            return
        kept = self._pinned.get(threading.get_ident())
        if kept is None or kept.closed or kept.invalidated:
            kept = self.engine.connect()
            with self._pinning:
                self._pinned[threading.get_ident()] = kept
        try:
            yield kept
        finally:
            # what a check-in would do: nothing the driver began outlives the block (a
            # read's snapshot would hide later commits), unless the block is inside an
            # outer one's transaction on this connection
            driver = kept.connection.driver_connection
            if not kept.in_transaction() and driver is not None and driver.in_transaction:
                driver.rollback()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """For a read that stands alone on a hot path (a PEAP login's NT-hash lookup): a
        connection without the ORM's unit of work, which costs several times the read
        itself (measured in docs/benchmarks.md) — on SQLite the thread's own
        (:meth:`pinned`). Nothing is committed: whatever transaction the driver began
        is rolled back after the block, so the next read sees every commit made
        meanwhile."""
        with self.pinned() as connection:
            if connection.in_transaction():  # this thread is inside a transaction there
                with self.engine.connect() as alone:
                    yield alone
                return
            yield connection

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """For one write that stands alone: each statement commits by itself, in one
        call into the driver. In a threaded web process, a transaction of several calls
        can hold SQLite's write lock across a wait for the GIL (milliseconds, with other
        processes' writers — the RADIUS listener — sleeping on it)."""
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        with self._pinning:
            pinned, self._pinned = list(self._pinned.values()), {}
        for connection in pinned:
            connection.close()
        self.engine.dispose()

    def describe(self) -> str:
        return shown_url(self.url)

    # --- schema versions (citynet.migrate: one branch per domain) ---------------------

    def head_revision(self) -> str:
        """The revisions this citynet needs, as one string (every branch's head)."""
        needed = migrate.shown(migrate.heads(self.engine))
        assert needed is not None  # noqa: S101 - the package always ships migrations
        return needed

    def _applied(self) -> frozenset[str]:
        try:
            with self.engine.connect() as conn:
                return migrate.applied(conn)
        except OperationalError as exc:
            raise StoreError(_("database.url: cannot open the database %(store)s: %(reason)s",
                               store=self.describe(), reason=exc.orig)) from None

    def current_revision(self) -> str | None:
        """The revisions the store carries, as one string; None: no schema yet."""
        return migrate.shown(self._applied())

    def branches(self) -> list[migrate.Branch]:
        """Where each branch of the schema is, and where this citynet needs it."""
        return migrate.branches(self.engine, self._applied())

    def upgrade(self) -> tuple[str | None, str]:
        """Apply every pending migration; returns (from, to) revisions."""
        before = self.current_revision()
        migrate.upgrade(self.engine)
        return before, self.head_revision()

    def ensure_current(self) -> None:
        """Refuse to run against a database whose schema is not this version's."""
        found, needed = self._applied(), migrate.heads(self.engine)
        if found == needed:
            return
        if not found:
            raise StoreError(_(
                "the database %(store)s has no citynet schema yet: run `citynet db "
                "upgrade` (or `citynet demo` to try citynet)", store=self.describe()))
        current = migrate.shown(found)
        if migrate.is_legacy(self.engine, found):
            raise StoreError(_("the database is at revision %(revision)s, from before "
                               "each domain had its own migrations: run `citynet db "
                               "upgrade`", revision=current))
        unknown = migrate.unknown(self.engine, found)
        if unknown:
            raise StoreError(_(
                "the database is at revision %(revision)s, which this citynet does not "
                "know (was it upgraded by a newer version?)", revision=", ".join(unknown)))
        raise StoreError(_(
            "the database is at revision %(revision)s but this citynet needs %(needed)s: "
            "run `citynet db upgrade`", revision=current, needed=migrate.shown(needed)))


def kept_lengths(model: type[Base]) -> dict[str, int]:
    """The most characters each of ``model``'s text columns keeps."""
    return {column.key: column.type.length for column in model.__table__.columns
            if isinstance(column.type, String) and column.type.length}


def get_meta(session: Session, key: str) -> str | None:
    return session.scalar(select(MetaEntry.value).where(MetaEntry.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    session.merge(MetaEntry(key=key, value=value))
