"""Printed one-time vouchers: a short code is both user name and password.

Codes use 31 symbols that survive handwriting and phone keyboards (no 0/O, 1/I/L) and end
in a weighted mod-31 check symbol, so a mistyped code is refused without a database lookup.
A voucher allows ``devices`` devices (claimed atomically, so 50 phones racing for a
one-device voucher get exactly one yes) for ``minutes`` from its first use, and never
past ``valid_until``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ForeignKey,
    Integer,
    Select,
    String,
    UniqueConstraint,
    Update,
    and_,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import (
    Base,
    ColumnStatement,
    DriverStatement,
    UtcDateTime,
    table,
    upsert_insert,
)
from citynet.typed import normalised

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
IN_USE = "voucher already in use on its allowed devices"
BODY_LENGTH = 9


class Voucher(Base):
    __tablename__ = "voucher"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # normalised, no dashes
    batch: Mapped[str] = mapped_column(String(64), index=True, default="")
    minutes: Mapped[int] = mapped_column(Integer)
    devices: Mapped[int] = mapped_column(Integer, default=1)
    devices_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    first_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class VoucherDevice(Base):
    """A device (by MAC) that has claimed one of a voucher's device slots."""

    __tablename__ = "voucher_device"
    __table_args__ = (UniqueConstraint("voucher_id", "mac"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id", ondelete="CASCADE"))
    mac: Mapped[str] = mapped_column(String(17))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- codes (pure) -------------------------------------------------------------------

def check_symbol(body: str) -> str:
    """The symbol that makes sum(position × value) ≡ 0 (mod 31) over the whole code.

    31 is prime and the weights 1..10 are distinct and non-zero mod 31, so every
    single-symbol error and every swap of two symbols changes the sum: all are caught.
    """
    n = len(ALPHABET)
    total = sum((i + 1) * ALPHABET.index(symbol) for i, symbol in enumerate(body))
    weight = len(body) + 1
    return ALPHABET[(-total * pow(weight, -1, n)) % n]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


@lru_cache(maxsize=8192)  # every voucher login reads its code two or three times
def normalise(text: str) -> str | None:
    """The code in a person's input (any case, dashes, spaces, full-width), or None."""
    cleaned = normalised(text, " -").upper()
    if len(cleaned) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in cleaned):
        return None
    if check_symbol(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def looks_like(text: str) -> bool:
    """Shaped like a voucher code, valid or not (a mistyped one, say): ten letters and
    digits, not all digits — phone numbers, the other identity, are eleven digits."""
    cleaned = normalised(text, " -")
    return (len(cleaned) == BODY_LENGTH + 1 and cleaned.isascii() and cleaned.isalnum()
            and not cleaned.isdigit())


def display(code: str) -> str:
    """ABCD-EFGH-JK: how a code is printed."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def identity_spellings(text: str) -> set[str]:
    """What a search for an identity (a phone number or a voucher code) looks for: the
    text as typed and, when it reads as a code the way the portal reads one at login, the
    code as records and sessions keep it and as printed (a NAS's own login form may pass
    it on as typed)."""
    given = text.strip()
    code = normalise(given)
    return {given} if code is None else {given, code, display(code)}


# --- redemption (store) -------------------------------------------------------------

@dataclass(frozen=True)
class Redemption:
    ok: bool
    reason: str = ""  # why not, in English; the listener adds the Chinese
    seconds_left: int = 0


def create(session: Session, count: int, minutes: int, devices: int, batch: str,
           valid_days: int, now: datetime | None = None) -> list[Voucher]:
    now = now or datetime.now(UTC)
    vouchers = []
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_code())
    for code in codes:
        voucher = Voucher(code=code, batch=batch, minutes=minutes, devices=devices,
                          devices_used=0, created_at=now,
                          valid_until=now + timedelta(days=valid_days))
        session.add(voucher)
        vouchers.append(voucher)
    session.flush()
    return vouchers


# what redeem reads of a voucher, in this order (then whether the device holds a slot)
_READ = ("id", "revoked_at", "valid_until", "first_used_at", "minutes")


def _lookup() -> Select[Any]:
    """The voucher and whether this device holds a slot, in one round trip: the common
    case, a device logging in again, needs nothing else. Built once (Core, no ORM
    objects): it runs for every voucher login."""
    vouchers, devices = table(Voucher), table(VoucherDevice)
    known = select(devices.c.id).where(devices.c.voucher_id == vouchers.c.id,
                                       devices.c.mac == bindparam("mac")).exists()
    return (select(*(vouchers.c[name] for name in _READ), known.label("known"))
            .where(vouchers.c.code == bindparam("code")))


_LOOKUP = DriverStatement(_lookup())
# PostgreSQL: a round's lookups of known devices, one statement (look_up_known)
_PG_KNOWN = ColumnStatement(
    "SELECT wanted.code, wanted.mac, "  # noqa: S608 - column names from _READ
    + ", ".join(f"voucher.{name}" for name in _READ) +
    " FROM unnest(%(code)b::text[], %(mac)b::text[]) AS wanted (code, mac) "
    "JOIN voucher ON voucher.code = wanted.code "
    "JOIN voucher_device ON voucher_device.voucher_id = voucher.id "
    "AND voucher_device.mac = wanted.mac", ("code", "mac"))
KNOWN = "radius.vouchers.known"  # session.info: (code, device) -> its lookup, known device


def look_up_known(session: Session, logins: Collection[tuple[str, str]]) -> None:
    """PostgreSQL, before a round's decisions: of these (code, device) pairs, those whose
    device holds one of the voucher's slots — the common login, a device coming back,
    which writes nothing — looked up in one statement, for :func:`redeem` in this
    transaction: sent now (with the round's claims, in the record writer), read at the
    first decision that needs it; a round trip for the round, not one per login.
    Whatever it does not find (a new device, a wrong code), redeem looks up itself, as
    before. An unlocked read, like redeem's own, but made once at the round's start, not
    at each login's decision: a revocation committed while the round's earlier decisions
    wait for other rounds' row locks (up to a commit, or PostgreSQL's deadlock_timeout)
    is not seen by this round's known devices — as one committed just after any login's
    read is not. The round's own decisions never change what it found (a device holding
    a slot keeps it; its voucher's first use is set)."""
    if not logins:
        return
    pairs = sorted(set(logins))
    session.info[KNOWN] = _PG_KNOWN.sent(session, {"code": [code for code, _mac in pairs],
                                                   "mac": [mac for _code, mac in pairs]})


def _known(session: Session) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What :func:`look_up_known` found: sent with the round's claims (in one round trip
    with them), read at the round's first voucher decision."""
    found = session.info.get(KNOWN)
    if callable(found):  # sent, not read yet
        found = session.info[KNOWN] = {(code, mac): (*voucher, True)
                                       for code, mac, *voucher in found()}
    return cast(dict[tuple[str, str], tuple[Any, ...]], found or {})


def ends(valid_until: datetime, first_used_at: datetime | None, minutes: int,
         now: datetime) -> datetime:
    """When a voucher's time is up: ``minutes`` from its first use (this one, if it is
    the first), never past its validity."""
    return min(valid_until, (first_used_at or now) + timedelta(minutes=minutes))


def time_up(session: Session, code: str, now: datetime) -> datetime | None:
    """When the voucher ``code`` (normal form) stops letting devices online; None if there
    is no such voucher. A revoked one admits nobody new, but sessions already online run
    to the end they were granted."""
    found = session.execute(select(Voucher.valid_until, Voucher.first_used_at,
                                   Voucher.minutes).where(Voucher.code == code)).first()
    return None if found is None else ends(*found, now)


def redeem(session: Session, code: str, mac: str, now: datetime, sqlite: bool) -> Redemption:
    """Check a voucher for one device and claim a device slot if it is new to it."""
    found = (_known(session).get((code, mac))
             or _LOOKUP.first(session, {"code": code, "mac": mac}))
    if found is None:
        return Redemption(False, "unknown voucher")
    voucher_id, revoked_at, valid_until, first_used_at, minutes, known = found
    if revoked_at is not None:
        return Redemption(False, "voucher revoked")
    seconds_left = int((ends(valid_until, first_used_at, minutes, now) - now).total_seconds())
    if seconds_left <= 0:
        return Redemption(False, "voucher used up")
    if known:
        return Redemption(True, seconds_left=seconds_left)  # a known device: nothing to write
    if not _claim_device(session, voucher_id, mac, now, sqlite):
        return Redemption(False, IN_USE)
    if first_used_at is None:
        _FIRST_USE.many(session, [{"voucher": voucher_id, "now": now}])
    return Redemption(True, seconds_left=seconds_left)


def _first_use() -> Update:
    """The voucher's first use, if no other login has set it: built once and run on the
    driver, like the lookup — every voucher's first login sets it (an ORM bulk UPDATE,
    with its session synchronisation, was a quarter of the RADIUS process's CPU in the
    portal benchmark; no Voucher objects live in the record writer's session)."""
    vouchers = table(Voucher)
    return (update(vouchers).where(vouchers.c.id == bindparam("voucher"),
                                   vouchers.c.first_used_at.is_(None))
            .values(first_used_at=bindparam("now")))


_FIRST_USE = DriverStatement(_first_use())


def _claim_statements(sqlite: bool) -> tuple[DriverStatement, DriverStatement,
                                             DriverStatement]:
    """Take a slot (the conditional UPDATE), record the device, give the slot back:
    built once per dialect (Core, no ORM): they run for every new device's login."""
    vouchers, devices = table(Voucher), table(VoucherDevice)
    take = (update(vouchers).where(vouchers.c.id == bindparam("voucher"),
                                   vouchers.c.devices_used < vouchers.c.devices)
            .values(devices_used=vouchers.c.devices_used + 1).returning(vouchers.c.id))
    record = (upsert_insert(devices, "sqlite" if sqlite else "postgresql")
              .values(voucher_id=bindparam("voucher"), mac=bindparam("mac"),
                      claimed_at=bindparam("now"))
              .on_conflict_do_nothing(index_elements=["voucher_id", "mac"])
              .returning(devices.c.id))
    give_back = (update(vouchers).where(vouchers.c.id == bindparam("voucher"))
                 .values(devices_used=vouchers.c.devices_used - 1))
    return DriverStatement(take), DriverStatement(record), DriverStatement(give_back)


_CLAIM = {True: _claim_statements(True), False: _claim_statements(False)}


def _claim_device(session: Session, voucher_id: int, mac: str, now: datetime,
                  sqlite: bool) -> bool:
    # One atomic conditional UPDATE decides who gets the last slot, on SQLite and PostgreSQL.
    take, record, give_back = _CLAIM[sqlite]
    if take.first(session, {"voucher": voucher_id}) is None:
        return False
    if record.first(session, {"voucher": voucher_id, "mac": mac, "now": now}) is None:
        # the same device raced itself: give the extra slot back
        give_back.many(session, [{"voucher": voucher_id}])
    return True


# --- staff: batches, states, revocation (store) -------------------------------------

# The limits `citynet vouchers create` and the admin web share.
MAX_MINUTES = 60 * 24 * 366
MAX_DEVICES = 20
MAX_VALID_DAYS = 3660
BATCH_MAX = 64  # the column's length


@dataclass(frozen=True)
class Batch:
    """A batch at a glance; ``minutes`` and ``devices`` are the distinct terms in it
    (one each, unless codes were added to the batch later with other terms)."""

    name: str
    count: int
    minutes: tuple[int, ...]
    devices: tuple[int, ...]
    created_at: datetime
    valid_until: datetime
    used: int  # first used, not revoked
    unused: int  # never used, still valid, not revoked
    expired: int  # never used, past its date
    revoked: int

    def view(self) -> dict[str, Any]:
        """As the staff web's JSON and ``citynet vouchers list --json`` show it."""
        return {"batch": self.name, "count": self.count, "minutes": list(self.minutes),
                "devices": list(self.devices),
                "created_at": self.created_at.isoformat(timespec="seconds"),
                "valid_until": self.valid_until.isoformat(timespec="seconds"),
                "used": self.used, "unused": self.unused, "expired": self.expired,
                "revoked": self.revoked}


def batches(session: Session, now: datetime) -> list[Batch]:
    """Every batch, newest first."""
    live, fresh = Voucher.revoked_at.is_(None), Voucher.first_used_at.is_(None)

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    terms: dict[str, tuple[set[int], set[int]]] = {}
    for name, minutes, devices in session.execute(
            select(Voucher.batch, Voucher.minutes, Voucher.devices).distinct()):
        terms.setdefault(name, (set(), set()))
        terms[name][0].add(minutes)
        terms[name][1].add(devices)
    rows = session.execute(
        select(Voucher.batch, func.count(), func.min(Voucher.created_at),
               func.max(Voucher.valid_until), counted(and_(live, ~fresh)),
               counted(and_(live, fresh, Voucher.valid_until > now)),
               counted(and_(live, fresh, Voucher.valid_until <= now)), counted(~live))
        .group_by(Voucher.batch).order_by(func.max(Voucher.created_at).desc(), Voucher.batch))
    return [Batch(name, count, tuple(sorted(terms[name][0])), tuple(sorted(terms[name][1])),
                  created, until, int(used), int(unused), int(expired), int(revoked))
            for name, count, created, until, used, unused, expired, revoked in rows]


def in_batch(session: Session, batch: str) -> list[Voucher]:
    return list(session.scalars(select(Voucher).where(Voucher.batch == batch)
                                .order_by(Voucher.id)))


def batch_exists(session: Session, batch: str) -> bool:
    return session.scalar(select(Voucher.id).where(Voucher.batch == batch).limit(1)) is not None


def state(voucher: Voucher, now: datetime) -> str:
    """revoked, unused, expired (never used, past its date), in_use, or used_up."""
    if voucher.revoked_at is not None:
        return "revoked"
    ends = ends_at(voucher)
    if ends is None:
        return "unused" if voucher.valid_until > now else "expired"
    return "in_use" if ends > now else "used_up"


def ends_at(voucher: Voucher) -> datetime | None:
    """When a used voucher's time runs out (None: never used, its clock not started)."""
    first = voucher.first_used_at
    return None if first is None else ends(voucher.valid_until, first, voucher.minutes, first)


def find(session: Session, code: str) -> Voucher | None:
    """The voucher with this code, in any spelling a person might type."""
    normal = normalise(code)
    return None if normal is None else session.scalar(select(Voucher).where(
        Voucher.code == normal))


def revoke(session: Session, voucher: Voucher, now: datetime) -> bool:
    """Refuse the code from the next login on; False if it was revoked already. Devices
    already online keep their session until it ends or is disconnected."""
    if voucher.revoked_at is not None:
        return False
    voucher.revoked_at = now
    session.flush()
    return True


def revoke_unused(session: Session, batch: str, now: datetime) -> int:
    """Revoke a batch's codes that were never used and are still valid; how many."""
    result = session.execute(update(Voucher).where(
        Voucher.batch == batch, Voucher.revoked_at.is_(None), Voucher.first_used_at.is_(None),
        Voucher.valid_until > now).values(revoked_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]
