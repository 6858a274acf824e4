"""The records the law asks for: every login and logout, append-only and hash-chained.

Who (phone number or voucher), which device (MAC), where (NAS, AP, SSID), which addresses
(private IP; NAT public IP and port block when the NAS sends them), how (method) and with
what result, in UTC. Rows are appended by the record writer, in the same transaction as
the accounting record or the login's decision, before any answer is sent. They are
kept at least ``records.retention_days`` (≥ 60, default 180), then removed by the leader's
purge (every 5 minutes) or by ``citynet records purge`` (:mod:`radius.retention`); ``citynet audit
verify`` detects an edited or deleted row.

The table holds several chains (:mod:`citynet.ledger`): on PostgreSQL each RADIUS listener
process of the cluster appends to its own (:func:`listener_chain`), so no listener waits
for another's commit; on SQLite, one writer at a time anyway, every record goes on chain
0. A row is (chain, seq); searches and exports go by time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    and_,
    delete,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet import chain
from citynet.config import MAX_RADIUS_LISTENERS
from citynet.db import (
    Base,
    MetaEntry,
    UtcDateTime,
    exclusive,
    get_meta,
    kept_lengths,
    set_meta,
)
from citynet.ledger import Ledger
from citynet.macs import normal_mac
from radius.settings import MAX_RADIUS_NODES
from radius.vouchers import identity_spellings

# how people and NASes write one (aa:bb:.., AA-BB-.., aabb.ccdd.eeff, bare): what a search
# field accepts, and what the API document promises
MAC_SPELLING = r"[0-9A-Fa-f]{2}([-:.]?[0-9A-Fa-f]{2}){5}"


class LoginRecord(Base):
    __tablename__ = "login_record"
    # wrong voucher codes in the last minutes, by NAS (radius.guesses), without reading
    # every record of those minutes
    __table_args__ = (Index("ix_login_record_result_at", "result", "at"),
                      PrimaryKeyConstraint("chain", "seq"))
    # which chain (citynet.ledger): on PostgreSQL, the listener process that wrote it
    chain: Mapped[int] = mapped_column(SmallInteger(), server_default="0")
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     autoincrement=False)  # from 1 within its chain
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    event: Mapped[str] = mapped_column(String(16))  # login, session-start, logout
    result: Mapped[str] = mapped_column(String(64))  # accept, or why not
    identity: Mapped[str] = mapped_column(String(253), index=True)
    method: Mapped[str] = mapped_column(String(16))  # voucher, token, mac, ...
    nas: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(17), index=True)
    called_station: Mapped[str] = mapped_column(String(253))  # AP MAC:SSID
    private_ip: Mapped[str] = mapped_column(String(45), index=True)
    nat_ip: Mapped[str] = mapped_column(String(45), index=True)
    nat_ports: Mapped[str] = mapped_column(String(32))  # "10240-10495"
    session_id: Mapped[str] = mapped_column(String(253))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class LoginEvent:
    at: datetime
    event: str
    result: str
    identity: str
    method: str
    nas: str
    mac: str = ""
    called_station: str = ""
    private_ip: str = ""
    nat_ip: str = ""
    nat_ports: str = ""
    session_id: str = ""


CONTENT = tuple(LoginEvent.__dataclass_fields__)
COLUMNS = ("chain", "seq", *CONTENT)  # of an export (CSV), for a lawful request's answer
LEDGER = Ledger(LoginRecord, "login_record", CONTENT, by_columns=True)  # every RADIUS round
RETENTION_META = "records.retention_days"  # set on the admin web; wins over the config
WRITER_META = "records.chain_host"  # .N: the host whose listener last started on chain N
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 60, 3650  # the law's floor; ten years


def listener_chain(node: int, listener: int | None) -> int:
    """The chain listener process ``listener`` (from 1; None: the node's only one) of node
    ``node`` (``radius.node``) appends to: ``node × 64 + listener − 1``. Each node owns a
    block of 64 chains, one per listener it may run, so every listener of a cluster has
    its own chain from config alone, and a node's listener count never moves another
    node's chains; node 0's first listener keeps chain 0, the one chain there was."""
    number = 1 if listener is None else listener
    if not 0 <= node < MAX_RADIUS_NODES:
        raise ValueError(f"node {node} is not 0 to {MAX_RADIUS_NODES - 1}")
    if not 1 <= number <= MAX_RADIUS_LISTENERS:
        raise ValueError(f"listener {number} is not 1 to {MAX_RADIUS_LISTENERS}")
    return node * MAX_RADIUS_LISTENERS + number - 1


def note_writer(session: Session, chain_no: int, host: str) -> str | None:
    """Note ``host`` as the machine whose listener appends to chain ``chain_no`` (at
    start-up); the host noted before, when it was another: two nodes given one
    ``radius.node`` — or a node moved to a new machine. A hint, not a guard: nothing but
    config keeps two nodes' chains apart, and the chain's lock keeps a shared one whole."""
    key = f"{WRITER_META}.{chain_no}"
    exclusive(session, key)  # two listeners starting at once: one after the other
    before = get_meta(session, key)
    set_meta(session, key, host)
    return before if before not in (None, host) else None


PORT_PREFIX = "port:"
_WITH_SSID = re.compile(r"[0-9A-Fa-f]{2}(?:[-:.]?[0-9A-Fa-f]{2}){5}:.+")


def place(called_station: str, nas_port_id: str) -> str:
    """Where an admission (802.1X or MAC bypass) happened, for its records: the AP and
    SSID an AC names in Called-Station-Id (``AP-MAC:SSID``), else the switch port as
    ``port:<NAS-Port-Id>`` (a switch's Called-Station-Id is only its own MAC)."""
    if nas_port_id and not _WITH_SSID.fullmatch(called_station):
        return PORT_PREFIX + nas_port_id
    return called_station


_LONGEST = kept_lengths(LoginRecord)
_KEPT = [(name, _LONGEST.get(name)) for name in CONTENT]  # None: not text


def append(session: Session, events: list[LoginEvent], chain_no: int = 0) -> None:
    """Chain and insert events after chain ``chain_no``'s head (the caller's
    transaction). Text longer than its column keeps is cut to fit, before it is chained:
    a NAS may send 253 bytes where a column keeps fewer, and the record must not be lost
    for it."""
    # by field, not dataclasses.asdict: that deep-copies every value, for every login
    LEDGER.append(session, [{name: getattr(event, name)[:most] if most else getattr(event, name)
                             for name, most in _KEPT} for event in events], chain_no)


def verify(session: Session) -> tuple[int, list[chain.Break]]:
    """(rows checked, problems), every chain."""
    return LEDGER.verify(session)


def _past(session: Session, before: datetime) -> Iterator[tuple[int, int]]:
    """(chain, seq) of each chain's newest row older than ``before``: what a purge
    removes is each chain's prefix up to it — only a prefix may go, since a younger row
    older than an old one would leave a hole."""
    for chain_no in LEDGER.chains(session):
        # ``chain + 0``: found through the index on the time, over the rows past the
        # cut-off — by the chain's key, SQLite walked back over every younger row first
        last = session.scalar(select(func.max(LoginRecord.seq)).where(
            LoginRecord.chain + 0 == chain_no, LoginRecord.at < before))
        if last is not None:
            yield chain_no, int(last)


def _prefix(chain_no: int, seq: int) -> ColumnElement[bool]:
    return and_(LoginRecord.chain == chain_no, LoginRecord.seq <= seq)


def purge(session: Session, before: datetime) -> int:
    """Delete rows older than ``before``, each chain's prefix of them; a chain's new base
    is its last deleted row."""
    return sum(purge_prefix(session, chain_no, seq) for chain_no, seq in past(session, before))


def past(session: Session, before: datetime) -> list[tuple[int, int]]:
    """(chain, seq) of each chain's newest row older than ``before``: a purge removes
    each chain's rows up to it."""
    return list(_past(session, before))


def purge_prefix(session: Session, chain_no: int, upto: int, batch: int | None = None) -> int:
    """Delete chain ``chain_no``'s oldest rows up to seq ``upto`` — at most ``batch`` of
    them (None: all) — and rebase the chain on the last one deleted; how many went. Rows
    already gone are not counted, and the base never moves back."""
    # from the chain's base on: below it are only the rows deleted before, whose index
    # entries PostgreSQL keeps until a vacuum, and each batch would walk them again
    rows = select(LoginRecord.seq, LoginRecord.row_hash).where(
        _prefix(chain_no, upto), LoginRecord.seq > LEDGER.base_seq(session, chain_no))
    last = None
    if batch is not None:
        last = session.execute(rows.order_by(LoginRecord.seq).offset(batch - 1).limit(1)).first()
    if last is None:  # fewer than a batch left: up to ``upto``'s row, or the newest before it
        last = session.execute(rows.order_by(LoginRecord.seq.desc()).limit(1)).first()
    if last is None:
        return 0
    deleted = session.execute(delete(LoginRecord).where(_prefix(chain_no, last.seq)))
    count = int(deleted.rowcount)  # type: ignore[attr-defined]
    # none deleted: another purge, committed meanwhile, took these rows and rebased past
    # them (PostgreSQL's DELETE waits for it and finds them gone); rebasing would move
    # the base back behind the rows kept
    if count:
        LEDGER.rebase(session, last.seq, last.row_hash, chain_no)
    return count


def matching(*, identity: str | None = None, mac: str | None = None, ip: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             port: str | None = None, nas: str | None = None) -> list[ColumnElement[bool]]:
    """The conditions of a search by identity (phone, or voucher code in any spelling),
    MAC (any spelling), IP (private or NAT public), switch port (NAS-Port-Id, as the
    switch names it) and time range (``until`` exclusive); criteria not given are left
    out."""
    conditions: list[ColumnElement[bool]] = []
    if port:
        conditions.append(LoginRecord.called_station == PORT_PREFIX + port)
    if nas:
        conditions.append(LoginRecord.nas == nas)
    if identity:
        conditions.append(LoginRecord.identity.in_(sorted(identity_spellings(identity))))
    if mac:
        conditions.append(LoginRecord.mac == (normal_mac(mac) or mac))
    if ip:
        conditions.append(or_(LoginRecord.private_ip == ip, LoginRecord.nat_ip == ip))
    if since:
        conditions.append(LoginRecord.at >= since)
    if until:
        conditions.append(LoginRecord.at < until)
    return conditions


def search(session: Session, *, identity: str | None = None, mac: str | None = None,
           ip: str | None = None, since: datetime | None = None,
           until: datetime | None = None, limit: int | None = None) -> list[LoginRecord]:
    """The oldest ``limit`` matching records (every one without a limit: an export
    streams them with ``export`` instead)."""
    query = (select(LoginRecord).where(*matching(identity=identity, mac=mac, ip=ip,
                                                 since=since, until=until))
             .order_by(*BY_TIME))
    return list(session.scalars(query if limit is None else query.limit(limit)))


BY_TIME = (LoginRecord.at, LoginRecord.chain, LoginRecord.seq)  # the order records are shown
Counted = Mapping[int, int]  # the newest matching seq of each chain, when they were counted


def count(session: Session, conditions: list[ColumnElement[bool]]) -> tuple[int, Counted]:
    """(how many records match, the newest one's seq on each chain)."""
    rows = session.execute(select(LoginRecord.chain, func.count(), func.max(LoginRecord.seq))
                           .where(*conditions).group_by(LoginRecord.chain)).all()
    return sum(int(found) for _chain, found, _last in rows), {
        int(chain_no): int(last) for chain_no, _found, last in rows}


def export(session: Session, conditions: list[ColumnElement[bool]],
           last: Counted) -> Iterator[LoginRecord]:
    """Every matching record up to ``last`` (what was counted: rows appended since are
    left out), oldest first, read in batches — never all of them in memory."""
    counted = or_(false(), *(_prefix(chain_no, seq) for chain_no, seq in sorted(last.items())))
    query = (select(LoginRecord).where(*conditions, counted)
             .order_by(*BY_TIME).execution_options(yield_per=1000))
    yield from session.scalars(query)


def export_row(record: LoginRecord) -> dict[str, object]:
    """A record as a row of ``COLUMNS``, its time in the chain's canonical UTC spelling."""
    row: dict[str, object] = {name: getattr(record, name) for name in COLUMNS}
    row["at"] = chain.canonical(record.at)
    return row


# --- retention ----------------------------------------------------------------------

def retention_days(session: Session, default: int) -> int:
    """How long records are kept: the value set on the admin web, else ``default`` (the
    config's). A stored value outside the law's bounds is ignored, never obeyed."""
    stored = get_meta(session, RETENTION_META)
    if stored is not None and stored.isdigit() and (
            MIN_RETENTION_DAYS <= int(stored) <= MAX_RETENTION_DAYS):
        return int(stored)
    return default


def stored_retention_days(session: Session) -> int | None:
    stored = get_meta(session, RETENTION_META)
    return int(stored) if stored is not None and stored.isdigit() else None


def set_retention_days(session: Session, days: int | None) -> None:
    """Store the retention (None: back to the config's value)."""
    if days is None:
        session.execute(delete(MetaEntry).where(MetaEntry.key == RETENTION_META))
        return
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"retention must be {MIN_RETENTION_DAYS}..{MAX_RETENTION_DAYS} days")
    set_meta(session, RETENTION_META, str(days))


def past_retention(session: Session, before: datetime) -> tuple[int, datetime | None]:
    """(rows a purge with this cutoff would delete, when the oldest record was written)."""
    count = sum(int(session.scalar(select(func.count()).select_from(LoginRecord).where(
        _prefix(chain_no, seq))) or 0) for chain_no, seq in _past(session, before))
    oldest = session.scalar(select(func.min(LoginRecord.at)))
    return count, oldest
