"""Sign-in holds by client address: guesses spread over many names (one password tried on
every name) lock no name, so a sign-in page also counts its failures per client address.
After ``limit`` failures from one address within :data:`WINDOW`, that address is refused
until the window is over — without a password check, so a spray cannot burn the web's
CPU on argon2 either. Each page counts on its own (its ``door``): the staff login and the
enrolment page have different people behind one NAT, and different limits.

An IPv6 host counts by its /64 (it may take any address there). The counts are in the
database, one upsert a failure, so web workers on every node count together."""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case, delete, literal, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import Base, Store, UtcDateTime, table, upsert_insert
from citynet.telemetry import Context, Point

log = logging.getLogger(__name__)
WINDOW = timedelta(minutes=15)


class SignInSource(Base):
    """Failed sign-ins on one page (``door``) from one client address since ``since``."""

    __tablename__ = "sign_in_source"
    door: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer)


def source_of(address: str) -> str:
    """The key a client address's failures count under: an IPv4 address as it is (an
    IPv4-mapped IPv6 one too), an IPv6 address by its /64 — one host may use any address
    of its network's /64; "" for none."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


@dataclass(frozen=True)
class SourceHold:
    """The hold of one sign-in page (``door``, e.g. "staff.login") on one client address
    (already :func:`source_of`): held after ``limit`` failures in :data:`WINDOW`; a
    ``limit`` of 0, or no address, never holds and counts nothing."""

    door: str
    address: str
    limit: int

    @classmethod
    def of(cls, door: str, remote_addr: str, limit: int) -> SourceHold:
        """The hold for a request from ``remote_addr`` (the client's address as the web
        app has it, proxies already accounted for)."""
        return cls(door, source_of(remote_addr), limit)

    @property
    def active(self) -> bool:
        return bool(self.address and self.limit)

    def held_for(self, session: Session, now: datetime) -> int:
        """Seconds until sign-ins from the address are taken again (0: not held)."""
        if not self.active:
            return 0
        row = session.get(SignInSource, (self.door, self.address))
        if row is None or row.failures < self.limit or row.since + WINDOW <= now:
            return 0
        return max(1, math.ceil((row.since + WINDOW - now).total_seconds()))

    def count_failure(self, session: Session, now: datetime) -> None:
        """One failed sign-in more from the address in its window (a new window once the
        last is over). One upsert: web workers on several nodes count the same address at
        once, and no count is lost. A row stays once written (one per address that ever
        failed, reset in place): deleting the windows that are over on the way made two
        workers wait for each other's rows on PostgreSQL (a deadlock)."""
        if not self.active:
            return
        failures = count_in_window(session, SignInSource,
                                   {"door": self.door, "address": self.address}, now)
        if failures == self.limit:  # once a window: the address is named, nothing secret
            log.warning("%s: sign-ins from %s held for %d minutes after %d failures",
                        self.door, self.address, WINDOW.seconds // 60, failures)


def count_in_window(session: Session, model: type[Base], key: dict[str, str],
                    now: datetime) -> int:
    """One failure more for ``key`` (the primary key of ``model``, a table with ``since``
    and ``failures``) in its window of :data:`WINDOW` from its first failure, a new window
    once the last is over; the count now. One upsert, so processes counting the same key
    at once lose no count."""
    rows = table(model)
    over = rows.c.since <= now - WINDOW
    return int(session.execute(
        upsert_insert(rows, session.connection().dialect.name)
        .values(**key, since=now, failures=1)
        .on_conflict_do_update(index_elements=list(key), set_={
            "failures": case((over, 1), else_=rows.c.failures + 1),
            "since": case((over, literal(now, rows.c.since.type)), else_=rows.c.since)})
        .returning(rows.c.failures)).scalar_one())


FORGET_BATCH = 500  # rows a clean-up transaction deletes (a few KB: a short write lock)


def forget_over(store: Store, model: type[Base], now: datetime,
                batch: int = FORGET_BATCH) -> int:
    """Delete the counts of ``model`` (a table :func:`count_in_window` writes) whose
    window is over, ``batch`` rows to a transaction; how many went. Counts are reset in
    place rather than deleted as they are written (deleting on the way made two web
    workers wait for each other's rows on PostgreSQL), so without this the rows of every
    address — or every MAC a guesser made up — would stay for ever."""
    rows = table(model)
    key = tuple(rows.primary_key.columns)
    gone = 0
    while True:
        over = select(*key).where(rows.c.since <= now - WINDOW).limit(batch)
        with store.session() as session:
            count = int(session.execute(delete(rows).where(tuple_(*key).in_(over)))
                        .rowcount or 0)  # type: ignore[attr-defined]
        gone += count
        if count < batch:
            return gone


class ForgetWindows:
    """The leader's clean-up (a collector) of one windowed count's table."""

    interval = 3600.0

    def __init__(self, name: str, model: type[Base]) -> None:
        self.name, self.model = name, model

    def collect(self, context: Context) -> list[Point]:
        gone = forget_over(context.store, self.model, context.now)
        return [Point("retention", {"table": self.model.__tablename__}, {"pruned": gone},
                      context.now)]


NO_HOLD = SourceHold("", "", 0)  # a sign-in not made over the web (tests, the CLI)
