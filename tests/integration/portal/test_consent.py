"""The consent record of a login: written on the driver, in its own statement (the
voucher POST) or in the caller's transaction (the SMS and token logins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from citynet.db import Store
from portal import consent
from portal.consent import TERMS_VERSION, Consent


def test_a_consent_stands_alone_or_commits_with_its_transaction(store: Store) -> None:
    at = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    with store.statement() as connection:  # committed by itself: no transaction to end
        consent.record(connection, "ABCDE12345", False, at)
    with pytest.raises(RuntimeError, match="after its consent"):
        _failed_login(store, at)  # rolls its consent back
    with store.session() as session:
        consent.record(session, "13900139000", True, at + timedelta(seconds=1))
    with store.session() as session:
        kept = session.execute(select(Consent.identity, Consent.at, Consent.terms_version,
                                      Consent.location).order_by(Consent.at)).all()
    assert [tuple(row) for row in kept] == [
        ("ABCDE12345", at, TERMS_VERSION, False),
        ("13900139000", at + timedelta(seconds=1), TERMS_VERSION, True)]


def _failed_login(store: Store, at: datetime) -> None:
    with store.session() as session:
        consent.record(session, "13800138000", True, at)
        raise RuntimeError("the login failed after its consent")
