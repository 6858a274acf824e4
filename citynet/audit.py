"""The audit log: every administrative action (a device push, a plan, a rollback, later
every admin web action) — who, when, from where, what, why, with what result — append-only
and hash-chained like the login records, so ``citynet audit verify`` detects an edited or
deleted entry. Details hold no secret: callers pass redacted text only.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet import chain
from citynet.db import Base, UtcDateTime
from citynet.ledger import Ledger


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128))  # staff user, or cli:USER@HOST
    source: Mapped[str] = mapped_column(String(64))  # cli, or the client's address
    action: Mapped[str] = mapped_column(String(64), index=True)  # devices.push, ...
    target: Mapped[str] = mapped_column(String(255))  # what it acted on
    reason: Mapped[str] = mapped_column(String(512))  # why: a ticket, a sentence
    result: Mapped[str] = mapped_column(String(32))  # ok, failed, partial, refused
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Action:
    action: str
    target: str
    result: str
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""
    source: str = "cli"
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


CONTENT = ("at", "actor", "source", "action", "target", "reason", "result", "detail")
LEDGER = Ledger(AuditEntry, "audit_log", CONTENT)


def cli_actor() -> str:
    """Who runs a CLI command: the OS user and host (before staff accounts log in)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def record(session: Session, action: Action) -> int:
    """Append one entry after the current head (the caller's transaction); its seq."""
    return LEDGER.append(session, [{
        "at": action.at, "actor": (action.actor or cli_actor())[:128],
        "source": action.source[:64],
        "action": action.action, "target": action.target[:255],
        "reason": action.reason[:512], "result": action.result,
        "detail": dict(action.detail)}])


def verify(session: Session) -> tuple[int, list[chain.Break]]:
    """(entries checked, problems)."""
    return LEDGER.verify(session)


def recent(session: Session, action_prefix: str = "", limit: int = 50) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix))
    return list(session.scalars(query))
