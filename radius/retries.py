"""A NAS's retry of an Access-Request another node already decided: answered as decided,
not decided (and recorded) again.

A node may decide a login, commit its decision and login record, and die before its
answer leaves; the NAS then sends the request again — to the other RADIUS server, as
CoovaChilli does (``radius_timeout`` in its ``src/radius.c`` re-sends the very datagram it
queued: same Identifier, same Request Authenticator, same attributes). A COMMIT that
raised during a database failover may also have committed. Deciding such a retry again
gives two login records for one login, and a single-use portal token would be refused
the second time although the first answer was an accept.

So each decided request is remembered by its **request identity**: the NAS (by the name
its address and secret matched), the Identifier and the 16-byte Request Authenticator,
which RFC 2865 §3 asks to be unique over the secret's lifetime. A round first *claims*
its requests' identities (:func:`claim`: an insert that does nothing where the identity
is taken), then decides the ones it claimed and stores their decisions in the claims
(:func:`remember`), all in one transaction. Of two processes or nodes deciding the same
request at once, the second's claim waits for the first's transaction: committed, its
decision is recalled and answered; rolled back, the claim is the second's. One decision,
one login record, and no unique key refused mid-round.
Kept :data:`KEEP` (a NAS's retries of one request last seconds); the leader drops older
entries (:class:`ForgetDecided`).

Logins reaching citynet through FreeRADIUS (rlm_rest) carry no Request Authenticator in
their JSON, so they have no request identity and are decided per call, as before
(docs/radius.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Boolean, String, Text, bindparam, delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.db import (
    Base,
    ColumnStatement,
    DriverStatement,
    Store,
    UtcDateTime,
    connection_of,
    table,
)
from citynet.telemetry import Context, Point
from radius.decisions import Decision

log = logging.getLogger(__name__)

KEEP = timedelta(hours=1)


class DecidedRequest(Base):
    """One decided Access-Request, by its request identity, and what was answered."""

    __tablename__ = "decided_request"
    request_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    accept: Mapped[bool] = mapped_column(Boolean)
    decision: Mapped[str] = mapped_column(Text)  # JSON: attributes, method, reason, identity


def request_key(nas: str, identifier: int, authenticator: bytes) -> str:
    """The request identity: the same for every retransmission of one request, to any
    node; different for every new request of the NAS."""
    return hashlib.sha256(nas.encode() + b"\x1f" + bytes([identifier])
                          + authenticator).hexdigest()


def _value(value: object) -> list[object]:
    if isinstance(value, bytes):
        return ["b", base64.b64encode(value).decode()]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a reply value of type {type(value).__name__} cannot be remembered")
    return ["i" if isinstance(value, int) else "s", value]


def _unvalue(kind: str, value: object) -> object:
    if kind == "b":
        return base64.b64decode(str(value))
    return int(str(value)) if kind == "i" else str(value)


# json.dumps with an option builds an encoder per call: made once, every login is kept
_JSON = json.JSONEncoder(ensure_ascii=False)


def encode(decision: Decision) -> str:
    """A decision as stored (reply values keep their type: bytes, int, str)."""
    return _JSON.encode({"attributes": {name: _value(value)
                                        for name, value in decision.attributes.items()},
                         "method": decision.method, "reason": decision.reason,
                         "identity": decision.identity})


def decode(accept: bool, stored: str) -> Decision:
    data = json.loads(stored)
    return Decision(accept, {name: _unvalue(kind, value)
                             for name, (kind, value) in data["attributes"].items()},
                    data["method"], data["reason"], data["identity"])


_DECIDED = table(DecidedRequest)
UNDECIDED = ""  # a claim's decision until its round fills it in (never committed so)
# once per round: one statement for the round's claims, one for its decisions (and a
# query for the retries among them, only when there are some).
# SQLite, on the driver (every round with a login claims): an insert for each key, whose
# count says whether it claimed (the driver's executemany returns no RETURNING rows), and
# a read by the key for each retry
_SQLITE_CLAIM = DriverStatement(
    sqlite_insert(_DECIDED).on_conflict_do_nothing(index_elements=["request_key"]),
    ("request_key", "at", "accept", "decision"))
_SQLITE_RECALL = DriverStatement(
    select(_DECIDED.c.request_key, _DECIDED.c.accept, _DECIDED.c.decision)
    .where(_DECIDED.c.request_key == bindparam("key")))
_SQLITE_FILL = DriverStatement(
    update(_DECIDED).where(_DECIDED.c.request_key == bindparam("key"))
    .values(accept=bindparam("accept"), decision=bindparam("decision")))
_SQLITE_GIVE_UP = DriverStatement(
    delete(_DECIDED).where(_DECIDED.c.request_key == bindparam("key")))
# PostgreSQL: the same texts whatever the round's size, whole columns as arrays — where
# an executemany ... RETURNING is sent as a multi-row VALUES, a new text for psycopg to
# parse (and the server to plan) for each number of claims
_PG_CLAIM = ColumnStatement.insert(_DECIDED, ("request_key", "at", "accept", "decision"),
                                   "ON CONFLICT (request_key) DO NOTHING RETURNING request_key")
_PG_RECALL = ColumnStatement.select(_DECIDED, ("request_key",))
_PG_FILL = ColumnStatement.update(_DECIDED, "request_key", ("accept", "decision"))
_PG_GIVE_UP = ColumnStatement.delete(_DECIDED, "request_key")


def _on_postgresql(session: Session) -> bool:
    return connection_of(session).dialect.name == "postgresql"


def claim(session: Session, keys: Collection[str],
          at: datetime) -> tuple[set[str], dict[str, Decision]]:
    """Claim these requests for this transaction to decide: (the keys claimed, the
    decisions already made for the others, by any node). A key another transaction has
    claimed and not committed yet is waited for. In key order: two rounds claiming the
    same keys queue in one order (a deadlock across kinds of lock is retried by the
    record writer)."""
    return claiming(session, keys, at)()


Claims = Callable[[], tuple[set[str], dict[str, Decision]]]


def claiming(session: Session, keys: Collection[str], at: datetime) -> Claims:
    """:func:`claim`, the claims sent now and their outcome when the function returned
    is called: on PostgreSQL, inside :func:`citynet.db.pipelined`, the claims go to the
    server with what the round sends after them, and come back with it."""
    if not keys:
        return lambda: (set(), {})
    ordered = sorted(keys)
    if _on_postgresql(session):
        inserted = _PG_CLAIM.sent(session, {
            "request_key": ordered, "at": [at] * len(ordered),
            "accept": [False] * len(ordered), "decision": [UNDECIDED] * len(ordered)})

        def outcome() -> tuple[set[str], dict[str, Decision]]:
            claimed = {key for (key,) in inserted()}
            return claimed, recall(session, set(keys) - claimed)

        return outcome
    claims = [{"request_key": key, "at": at, "accept": False, "decision": UNDECIDED}
              for key in ordered]
    claimed = {key for key, count in zip(ordered, _SQLITE_CLAIM.each(session, claims),
                                         strict=True) if count}
    known = recall(session, set(keys) - claimed)
    return lambda: (claimed, known)


def recall(session: Session, keys: Collection[str]) -> dict[str, Decision]:
    """The decisions already made for these requests, by any node: request key → it."""
    if not keys:
        return {}
    if _on_postgresql(session):
        return {key: decode(accept, stored) for key, _at, accept, stored
                in _PG_RECALL.all(session, {"request_key": list(keys)}) if stored != UNDECIDED}
    found = _SQLITE_RECALL.first_of_each(session, [{"key": key} for key in sorted(keys)])
    rows = (row for row in found if row is not None)
    return {key: decode(accept, stored) for key, accept, stored in rows
            if stored != UNDECIDED}


def remember(session: Session, claimed: Collection[str],
             decisions: Mapping[str, Decision]) -> int:
    """Store the decisions made for the requests this transaction claimed (request key →
    decision). A claim without a decision to keep — its login was not decided (nobody
    waited for it any more), or a reply value is of a type not kept — is given up: its
    retry is decided again. How many were stored."""
    rows, dropped = [], []
    for key in sorted(claimed):
        decision = decisions.get(key)
        if decision is None:
            dropped.append(key)
            continue
        try:
            stored = encode(decision)
        except TypeError as exc:
            log.warning("decision not kept for the NAS's retries: %s", exc)
            dropped.append(key)
            continue
        rows.append((key, decision.accept, stored))
    if not _on_postgresql(session):
        _SQLITE_FILL.many(session, [{"key": key, "accept": accept, "decision": stored}
                                    for key, accept, stored in rows])
        _SQLITE_GIVE_UP.many(session, [{"key": key} for key in dropped])
        return len(rows)
    if rows:
        keys, accepts, stored_decisions = zip(*rows, strict=True)
        _PG_FILL.run(session, {"request_key": keys, "accept": accepts,
                               "decision": stored_decisions})
    if dropped:
        _PG_GIVE_UP.run(session, {"request_key": dropped})
    return len(rows)


# rows a purge transaction deletes: at 300 logins a second ForgetDecided finds 180,000
# rows every 10 minutes, and one DELETE of them held SQLite's write lock - which every
# RADIUS round needs - for 8.4 s (a loaded 2-core machine). Their keys are random, so
# each row is a page of the primary key's index to rewrite: 200 rows are about what a
# RADIUS round itself writes.
FORGET_BATCH = 200
FORGET_PAUSE = 0.01  # seconds, at least, between two batches


def forget(store: Store, before: datetime, batch: int = FORGET_BATCH,
           pause: Callable[[float], None] = time.sleep) -> int:
    """Drop the decided requests older than ``before``, oldest first, ``batch`` rows to a
    transaction; how many went. Between two batches the lock stays free for as long as
    the last one held it (at least :data:`FORGET_PAUSE`): SQLite's busy handler wakes a
    waiting writer in steps of milliseconds, and a batch taken again at once would let it
    find the lock held every time."""
    oldest = (select(_DECIDED.c.request_key).where(_DECIDED.c.at < before)
              .order_by(_DECIDED.c.at).limit(batch).scalar_subquery())
    gone = 0
    while True:
        started = time.monotonic()
        with store.session() as session:
            result = session.execute(delete(_DECIDED).where(_DECIDED.c.request_key.in_(oldest)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        gone += count
        if count < batch:
            return gone
        pause(max(time.monotonic() - started, FORGET_PAUSE))


class ForgetDecided:
    """A retention purge for the leader (a collector): decided requests past :data:`KEEP`."""

    name = "decided_requests"
    interval = 600.0

    def collect(self, context: Context) -> list[Point]:
        gone = forget(context.store, context.now - KEEP)
        return [Point("retention", {"table": "decided_request"}, {"pruned": gone},
                      context.now)]
