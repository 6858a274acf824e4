"""The leader's clean-up of the sign-in holds' counts (citynet.holds.ForgetWindows): the
counts are reset in place, never deleted as they are written, so rows whose window is
over go hourly — a batch to a transaction, on the leader only — and the counts whose
window is still open stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from admission.models import PasswordFailures
from citynet.cli import _collectors
from citynet.db import Store
from citynet.holds import WINDOW, ForgetWindows, SignInSource, SourceHold, forget_over
from citynet.leader import Leadership
from citynet.telemetry import Context
from tests.conftest import make_config

NOW = datetime.now(UTC).replace(microsecond=0)


def failures(store: Store, addresses: list[str], at: datetime) -> None:
    with store.session() as session:
        for address in addresses:
            SourceHold.of("staff.login", address, 50).count_failure(session, at)


def addresses(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.scalars(select(SignInSource.address)))


def test_counts_whose_window_is_over_go_a_batch_at_a_time(store: Store) -> None:
    failures(store, [f"192.0.2.{n}" for n in range(7)], NOW - WINDOW - timedelta(seconds=1))
    failures(store, ["198.51.100.1", "2001:db8::1"], NOW - WINDOW + timedelta(seconds=30))
    assert forget_over(store, SignInSource, NOW, batch=3) == 7
    assert addresses(store) == ["198.51.100.1", "2001:db8::/64"]
    assert forget_over(store, SignInSource, NOW, batch=3) == 0


def test_the_leader_forgets_the_password_holds_too(store: Store, leader: Leadership,
                                                   tmp_path: Path) -> None:
    with store.session() as session:
        session.add_all([
            PasswordFailures(username="t001", device="02:00:00:00:00:01",
                             since=NOW - timedelta(hours=1), failures=9),
            PasswordFailures(username="t001", device="*", since=NOW, failures=1)])
    points = ForgetWindows("password_holds", PasswordFailures).collect(
        Context(leader.store(), make_config(tmp_path / "config"), NOW))
    assert [(p.tags, p.fields) for p in points] == [
        ({"table": "admission_password_failures"}, {"pruned": 1})]
    with store.session() as session:
        assert session.scalars(select(PasswordFailures.device)).all() == ["*"]


def test_both_clean_ups_are_singleton_work() -> None:
    tables = {c.model.__tablename__ for c in _collectors() if isinstance(c, ForgetWindows)}
    assert tables == {"sign_in_source", "admission_password_failures"}
