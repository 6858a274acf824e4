"""Staff accounts on SQLite and PostgreSQL, the migration against the models, and the
`citynet staff` commands as a person runs them (with the audit log they leave)."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from citynet import audit, migrate, staff
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.schema import all_tables
from citynet.staff import Role, StaffError
from tests.support import CITYNET

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GOOD = "correct horse battery"


# --- the store ------------------------------------------------------------------------

def _differences(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, all_tables()))


def test_the_migrations_build_exactly_the_models(store: Store) -> None:
    assert _differences(store) == []
    # the comparison bites: the devices branch down to its base, its table is missing
    command.downgrade(migrate.settings(store.engine), "devices@base")
    missing = {diff[1].name for diff in _differences(store)
               if isinstance(diff, tuple) and diff[0] == "add_table"}
    assert missing == {"device_change"}
    store.upgrade()
    assert _differences(store) == []


def test_add_check_enrol_and_tokens(store: Store) -> None:
    box = SecretBox([SecretBox.new_key()])
    with store.session() as session:
        staff.add(session, "zhang.min", Role.ENGINEER, GOOD)
        staff.add(session, "auditor-1", Role.AUDITOR, GOOD)
    with store.session() as session, pytest.raises(StaffError, match="exists"):
        staff.add(session, "zhang.min", Role.ADMIN, GOOD)
    with store.session() as session:
        attempt = staff.check_password(session, "zhang.min", GOOD, NOW)
        assert attempt.ok and attempt.must_enrol and attempt.user is not None
        uri = staff.enrol_totp(session, attempt.user, box)
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP) and "citynet%20staff" in uri
    with store.session() as session:
        user = staff.get(session, "zhang.min")
        assert staff.check_totp(session, user, totp.at(NOW), box, NOW)
        assert not staff.check_totp(session, user, totp.at(NOW), box, NOW)
    with store.session() as session:
        [auditor, engineer] = staff.users(session)  # by name
        assert engineer.name == "zhang.min" and engineer.totp_enrolled
        assert engineer.last_login_at == NOW and engineer.totp_last_step is not None
        assert engineer.failures == 1  # the replayed code
        assert auditor.role is Role.AUDITOR and auditor.last_login_at is None
        token = staff.issue_token(session, "auditor-1", "compliance export")
    with store.session() as session:
        found = staff.user_for_token(session, token, NOW)
        assert found is not None and found.name == "auditor-1"
    with store.session() as session:
        assert staff.tokens(session, "auditor-1")[0].last_used_at == NOW
        staff.revoke_tokens(session, "auditor-1")
    with store.session() as session:
        assert staff.user_for_token(session, token, NOW) is None


def test_one_code_wins_once_when_two_logins_race(store: Store) -> None:
    box = SecretBox([SecretBox.new_key()])
    with store.session() as session:
        staff.add(session, "admin", Role.ADMIN, GOOD)
        totp = pyotp.parse_uri(staff.enrol_totp(session, staff.get(session, "admin"), box))
    assert isinstance(totp, pyotp.TOTP)
    code = totp.at(NOW)
    # the second request read the account before the first one used the code
    with store.session() as late:
        stale = staff.get(late, "admin")
        with store.session() as first:
            assert staff.check_totp(first, staff.get(first, "admin"), code, box, NOW)
        assert not staff.check_totp(late, stale, code, box, NOW)


def test_failures_counted_in_parallel_all_count(store: Store) -> None:
    with store.session() as session:
        staff.add(session, "li.wei", Role.OPERATOR, GOOD)
    start = threading.Barrier(4)

    def guess() -> None:
        with store.session() as session:
            start.wait(timeout=30)
            assert not staff.check_password(session, "li.wei", "wrong password!", NOW).ok

    workers = [threading.Thread(target=guess) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    with store.session() as session:
        assert staff.get(session, "li.wei").failures == 4  # no guess lost in a race
        attempt = staff.check_password(session, "li.wei", "wrong password!", NOW)
        assert attempt.reason == "locked" and attempt.retry_after == 60


# --- the command ----------------------------------------------------------------------

class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env["CITYNET_DATA_DIR"] = str(tmp_path / "var")

    def __call__(self, *args: str, input: str | None = None,
                 code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CITYNET, *args], capture_output=True, text=True, input=input,
                                env=self.env, timeout=120, check=False)
        assert result.returncode == code, (result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    runner = Cli(tmp_path)
    runner("db", "upgrade")
    return runner


def test_staff_commands_and_their_audit_trail(cli: Cli, tmp_path: Path) -> None:
    assert "citynet staff add li.wei --role engineer" in cli("staff", "--help").stdout
    assert "--password-stdin" in cli("staff", "add", "--help").stdout
    assert "(no staff users" in cli("staff", "list").stderr

    added = cli("staff", "add", "zhang.min", "--role", "engineer", "--password-stdin",
                input=GOOD + "\n").stdout
    assert "added zhang.min (engineer)" in added and "authenticator app" in added
    generated = cli("staff", "add", "desk-1", "--role", "operator", "--generate").stdout
    [password] = [line.split()[1] for line in generated.splitlines()
                  if line.startswith("password: ")]
    assert staff.password_problem("desk-1", password) is None
    typed = cli("staff", "add", "auditor-1", "--role", "auditor",
                input="another long secret\nanother long secret\n")
    assert "added auditor-1" in typed.stdout and "another long secret" not in typed.stdout

    weak = cli("staff", "add", "wang", "--role", "admin", "--password-stdin", input="short\n",
               code=1)
    assert weak.stderr == "Error: the password must have at least 12 characters\n"
    taken = cli("staff", "add", "desk-1", "--role", "admin", "--generate", code=1)
    assert "'desk-1' exists" in taken.stderr and "Traceback" not in taken.stderr
    assert "Invalid value for '--role'" in cli("staff", "add", "x", "--role", "root",
                                               code=2).stderr

    token = cli("staff", "token", "auditor-1", "--label", "compliance export").stdout.strip()
    assert token.startswith("cnt_")
    cli("staff", "reset-2fa", "zhang.min")
    cli("staff", "set-password", "desk-1", "--password-stdin", input="a fresh passphrase\n")
    cli("staff", "disable", "desk-1")
    cli("staff", "unlock", "zhang.min")
    assert "1 token(s) revoked" in cli("staff", "revoke-token", "auditor-1").stdout
    assert "no staff user named 'ghost'" in cli("staff", "disable", "ghost", code=1).stderr

    listing = cli("staff", "list").stdout
    rows = {line.split()[0]: line.split() for line in listing.splitlines()[1:]}
    assert rows["zhang.min"][1:4] == ["engineer", "no!", "active"]
    assert rows["desk-1"][1:4] == ["operator", "no", "disabled"]
    assert rows["auditor-1"][-1] == "never"
    for secret in (GOOD, password, token, "$argon2", "a fresh passphrase"):
        assert secret not in listing

    store = Store(f"sqlite:///{tmp_path / 'var' / 'citynet.sqlite3'}")
    try:
        with store.session() as session:
            entries = [(e.action, e.target) for e in reversed(audit.recent(session, "staff."))]
            details = [str(e.detail) for e in audit.recent(session, "staff.")]
            hashes = session.scalars(select(staff.StaffUser.password_hash)).all()
    finally:
        store.close()
    assert entries == [
        ("staff.add", "zhang.min"), ("staff.add", "desk-1"), ("staff.add", "auditor-1"),
        ("staff.token", "auditor-1"), ("staff.reset_2fa", "zhang.min"),
        ("staff.set_password", "desk-1"), ("staff.disable", "desk-1"),
        ("staff.unlock", "zhang.min"), ("staff.revoke_token", "auditor-1")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    for secret in (GOOD, password, token, "a fresh passphrase"):
        assert all(secret not in detail for detail in details)
    assert "audit log: 9 rows, chain intact" in cli("audit", "verify").stdout


def test_demo_creates_the_first_admin_once(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    first = cli("demo", "--seed-only").stdout
    [line] = [line for line in first.splitlines() if line.startswith("staff user admin")]
    password = line.split("password ")[1].split()[0]
    assert staff.password_problem("admin", password) is None
    again = cli("demo", "--seed-only").stdout
    assert "staff user admin" not in again and password not in again
    listing = cli("staff", "list").stdout
    assert "admin" in listing and "no!" in listing
    assert password not in listing
    assert "audit log: 1 rows, chain intact" in cli("audit", "verify").stdout


def test_banner_line_for_the_demo_admin() -> None:
    from citynet.staffcli import demo_admin_line

    line = demo_admin_line("http://127.0.0.1:8080", "pw-1234567890ab").text
    assert "http://127.0.0.1:8080/login" in line and "pw-1234567890ab" in line
    assert "authenticator app" in line
    assert "pw" not in demo_admin_line("http://127.0.0.1:8080", None).text


def test_lock_expiry_is_reported_in_seconds(store: Store) -> None:
    with store.session() as session:
        staff.add(session, "li.wei", Role.OPERATOR, GOOD)
        staff.get(session, "li.wei").locked_until = NOW + timedelta(seconds=90)
    with store.session() as session:
        attempt = staff.check_password(session, "li.wei", GOOD, NOW)
        assert attempt.reason == "locked" and attempt.retry_after == 90
