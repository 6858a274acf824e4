"""The audit log: appended, chained, and an edited or deleted entry is found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update

from citynet import audit
from citynet.config import Config
from citynet.db import Store
from tests.conftest import upgraded


@pytest.fixture
def store(backend_config: Config) -> Iterator[Store]:
    yield from upgraded(backend_config)


def test_entries_chain_and_tampering_is_found(store: Store) -> None:
    with store.session() as session:
        for n in range(3):
            audit.record(session, audit.Action("devices.push", f"site:{n}", "ok", "CHG-1",
                                               {"devices": [{"hostname": f"sw{n}"}]}))
    with store.session() as session:
        assert audit.verify(session) == (3, [])
        [newest] = audit.recent(session, "devices.", limit=1)
        assert newest.seq == 3 and newest.actor.startswith("cli:")
        session.execute(update(audit.AuditEntry).where(audit.AuditEntry.seq == 2)
                        .values(result="failed"))
    with store.session() as session:
        checked, problems = audit.verify(session)
        assert checked == 3 and [p.seq for p in problems] == [2]
        assert "edited" in str(problems[0])
        session.execute(delete(audit.AuditEntry).where(audit.AuditEntry.seq == 3))
    with store.session() as session:
        assert any("newest rows deleted" in str(p) for p in audit.verify(session)[1])
