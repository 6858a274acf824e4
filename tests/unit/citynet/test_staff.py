"""Staff accounts: password policy and hashing, lockout, TOTP, API tokens (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from citynet import staff
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.staff import Attempt, Role, StaffError, StaffToken, StaffUser
from tests.conftest import make_config, upgraded

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GOOD = "correct horse battery"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    yield from upgraded(make_config(tmp_path))


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.new_key()])


def _add(db: Store, name: str = "li.wei", role: Role = Role.OPERATOR) -> None:
    with db.session() as session:
        staff.add(session, name, role, GOOD)


def _check(db: Store, password: str, now: datetime = NOW, name: str = "li.wei") -> Attempt:
    with db.session() as session:
        return staff.check_password(session, name, password, now)


def _user(db: Store, name: str = "li.wei") -> StaffUser:
    with db.session() as session:
        return staff.get(session, name)


# --- pure rules -----------------------------------------------------------------------

@pytest.mark.parametrize(("password", "problem"), [
    ("short-pw", "at least 12 characters"),
    ("x" * 11, "at least 12 characters"),
    ("my-LI.WEI-password", "must not contain the user name"),
    ("x" * 1025, "at most 1024 characters"),
    ("x" * 12, None),
    ("长城长城长城长城长城长城", None),
])
def test_password_policy(password: str, problem: str | None) -> None:
    found = staff.password_problem("li.wei", password)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_generated_passwords_pass_the_policy_and_differ() -> None:
    made = {staff.generate_password("admin") for _ in range(20)}
    assert len(made) == 20
    assert all(staff.password_problem("admin", p) is None and len(p) == 24 for p in made)


@pytest.mark.parametrize(("failures", "seconds"), [
    (0, 0), (4, 0), (5, 60), (6, 120), (7, 240), (8, 480), (10, 1920), (11, 3600),
    (12, 3600), (1000, 3600),
])
def test_lockout_schedule(failures: int, seconds: int) -> None:
    assert staff.lock_seconds(failures) == seconds


def test_add_hashes_with_argon2id_and_refuses_duplicates_and_bad_input(db: Store) -> None:
    _add(db)
    user = _user(db)
    assert user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash
    assert user.role is Role.OPERATOR and not user.disabled and user.failures == 0
    with db.session() as session, pytest.raises(StaffError, match=r"'li\.wei' exists"):
        staff.add(session, "li.wei", Role.ADMIN, GOOD)
    with db.session() as session, pytest.raises(StaffError, match="at least 12"):
        staff.add(session, "wang", Role.ADMIN, "short")
    with db.session() as session, pytest.raises(StaffError, match="no spaces"):
        staff.add(session, "li wei", Role.ADMIN, GOOD)
    with db.session() as session, pytest.raises(ValueError, match="root"):
        staff.add(session, "wang", "root", GOOD)  # type: ignore[arg-type]


def test_password_check_outcomes(db: Store) -> None:
    _add(db)
    ok = _check(db, GOOD)
    assert ok.ok and ok.reason == "ok" and not ok.needs_totp and not ok.must_enrol
    assert _user(db).last_login_at == NOW
    bad = _check(db, GOOD + "!")
    assert not bad.ok and bad.reason == "bad_password" and bad.user is not None
    unknown = _check(db, GOOD, name="nobody")
    assert unknown == Attempt(None, False, "unknown")


def test_unknown_user_costs_a_hash_verify(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(db)
    staff._dummy_hash()  # made once, outside what is counted
    calls: list[str] = []
    real = staff._verify

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(staff, "_verify", counting)
    _check(db, GOOD, name="nobody")
    _check(db, GOOD + "!")
    assert len(calls) == 2
    assert calls[0] == staff._dummy_hash() and calls[1] != calls[0]


def test_a_hash_with_old_parameters_is_replaced_at_login(db: Store) -> None:
    _add(db)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD)
    with db.session() as session:
        staff.get(session, "li.wei").password_hash = weak
    assert _check(db, GOOD).ok
    renewed = _user(db).password_hash
    assert renewed != weak and not staff._HASHER.check_needs_rehash(renewed)
    assert _check(db, GOOD).ok
    assert _user(db).password_hash == renewed  # current parameters: left alone


def test_a_broken_stored_hash_fails_closed(db: Store) -> None:
    _add(db)
    with db.session() as session:
        staff.get(session, "li.wei").password_hash = "not-a-hash"
    assert _check(db, GOOD).reason == "bad_password"


def test_lockout_grows_and_a_success_resets(db: Store) -> None:
    _add(db)
    for _ in range(4):
        assert _check(db, "wrong password!").reason == "bad_password"
    fifth = _check(db, "wrong password!")
    assert fifth.reason == "locked" and fifth.retry_after == 60
    # while locked even the right password is refused, and does not count
    during = _check(db, GOOD, NOW + timedelta(seconds=30))
    assert not during.ok and during.reason == "locked" and during.retry_after == 30
    assert _user(db).failures == 5
    later = NOW + timedelta(seconds=61)
    sixth = _check(db, "wrong password!", later)
    assert sixth.reason == "locked" and sixth.retry_after == 120
    later += timedelta(seconds=121)
    assert _check(db, "wrong password!", later).retry_after == 240
    later += timedelta(seconds=241)
    ok = _check(db, GOOD, later)
    assert ok.ok
    user = _user(db)
    assert user.failures == 0 and user.locked_until is None and user.last_login_at == later
    assert _check(db, "wrong password!", later).reason == "bad_password"  # counting anew


def test_lock_is_capped_at_an_hour(db: Store) -> None:
    _add(db)
    with db.session() as session:
        staff.get(session, "li.wei").failures = 40
    attempt = _check(db, "wrong password!")
    assert attempt.reason == "locked" and attempt.retry_after == 3600


def test_unlock_lifts_the_lock(db: Store) -> None:
    _add(db)
    for _ in range(5):
        _check(db, "wrong password!")
    with db.session() as session:
        staff.unlock(session, "li.wei")
    assert _check(db, GOOD).ok


def test_disabled_is_told_only_to_who_knows_the_password(db: Store) -> None:
    _add(db)
    with db.session() as session:
        staff.disable(session, "li.wei")
    assert _check(db, "wrong password!").reason == "bad_password"
    attempt = _check(db, GOOD)
    assert not attempt.ok and attempt.reason == "disabled"


def test_set_password(db: Store) -> None:
    _add(db)
    with db.session() as session, pytest.raises(StaffError, match="user name"):
        staff.set_password(session, "li.wei", "li.wei-is-my-name")
    with db.session() as session:
        staff.set_password(session, "li.wei", "a brand new passphrase")
    assert _check(db, GOOD).reason == "bad_password"
    assert _check(db, "a brand new passphrase").ok
    with db.session() as session, pytest.raises(StaffError, match="no staff user named 'x'"):
        staff.set_password(session, "x", "a brand new passphrase")


# --- second factor --------------------------------------------------------------------

def _enrol(db: Store, box: SecretBox, name: str = "admin", renew: bool = False) -> pyotp.TOTP:
    with db.session() as session:
        uri = staff.enrol_totp(session, staff.get(session, name), box, renew=renew)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    return parsed


def _wrong(totp: pyotp.TOTP, now: datetime) -> str:
    """A six-digit code that is none of now ±1 step's."""
    right = {totp.at(now + timedelta(seconds=d)) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def _code(db: Store, box: SecretBox, code: str, now: datetime = NOW,
          name: str = "admin") -> bool:
    with db.session() as session:
        return staff.check_totp(session, staff.get(session, name), code, box, now)


def test_admin_enrols_at_first_login_then_needs_codes(db: Store, box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    first = _check(db, GOOD, name="admin")
    assert first.ok and first.needs_totp and first.must_enrol
    assert _user(db, "admin").last_login_at is None  # not logged in yet
    totp = _enrol(db, box)
    sealed = _user(db, "admin").totp_sealed
    assert sealed is not None and totp.secret not in sealed
    assert not _user(db, "admin").totp_enrolled  # until a code proves the app works
    assert _check(db, GOOD, name="admin").must_enrol
    assert _code(db, box, totp.at(NOW))
    user = _user(db, "admin")
    assert user.totp_enrolled and user.last_login_at == NOW
    second = _check(db, GOOD, NOW + timedelta(minutes=5), name="admin")
    assert second.ok and second.needs_totp and not second.must_enrol


def test_an_unfinished_enrolment_keeps_its_key_until_a_new_one_is_asked_for(
        db: Store, box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    scanned = _enrol(db, box)
    assert _enrol(db, box).secret == scanned.secret  # a reload: the app's key still works
    fresh = _enrol(db, box, renew=True)
    assert fresh.secret != scanned.secret
    assert staff.typed_secret(fresh.provisioning_uri(name="admin")).replace(" ", "") == (
        fresh.secret)
    assert not _code(db, box, scanned.at(NOW))
    assert _code(db, box, fresh.at(NOW))


def test_an_enrolled_app_is_not_replaced_without_a_reset(db: Store, box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    totp = _enrol(db, box)
    assert _code(db, box, totp.at(NOW))
    with pytest.raises(StaffError, match="reset-2fa admin"):
        _enrol(db, box)
    with db.session() as session:
        staff.reset_2fa(session, "admin")
    assert _check(db, GOOD, name="admin").must_enrol
    assert not _code(db, box, totp.at(NOW + timedelta(minutes=1)))  # the old app is gone
    _enrol(db, box)


def test_codes_within_one_step_and_never_the_same_step_twice(db: Store,
                                                              box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    totp = _enrol(db, box)
    assert _code(db, box, totp.at(NOW - timedelta(seconds=30)))  # the previous step
    assert not _code(db, box, totp.at(NOW - timedelta(seconds=30)))  # replayed
    assert _code(db, box, totp.at(NOW))
    assert not _code(db, box, totp.at(NOW), NOW + timedelta(seconds=5))  # same step again
    assert not _code(db, box, totp.at(NOW - timedelta(seconds=30)),
                     NOW + timedelta(seconds=5))  # an older step
    assert _code(db, box, totp.at(NOW + timedelta(seconds=30)), NOW + timedelta(seconds=5))
    assert not _code(db, box, totp.at(NOW + timedelta(seconds=120)), NOW + timedelta(seconds=5))


def test_wrong_codes_count_toward_the_lockout(db: Store, box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    totp = _enrol(db, box)
    assert _code(db, box, totp.at(NOW))
    later = NOW + timedelta(minutes=10)
    # the password step alone does not reset the count: no extra code guesses
    for _ in range(2):
        assert _check(db, GOOD, later, name="admin").needs_totp
        assert not _code(db, box, _wrong(totp, later), later)
        assert not _code(db, box, "not a code", later)
    assert _user(db, "admin").failures == 4
    assert not _code(db, box, _wrong(totp, later), later)
    user = _user(db, "admin")
    assert user.failures == 5 and user.locked_for(later) == 60
    assert not _code(db, box, totp.at(later), later)  # locked: even the right code
    assert _check(db, GOOD, later, name="admin").reason == "locked"
    after = later + timedelta(seconds=61)
    assert _code(db, box, totp.at(after), after)
    assert _user(db, "admin").failures == 0


def test_an_operator_with_an_app_is_asked_for_it(db: Store, box: SecretBox) -> None:
    _add(db)
    assert not _check(db, GOOD).needs_totp
    totp = _enrol(db, box, "li.wei")
    assert _code(db, box, totp.at(NOW), name="li.wei")
    attempt = _check(db, GOOD, NOW + timedelta(minutes=1))
    assert attempt.needs_totp and not attempt.must_enrol


def test_a_disabled_user_cannot_pass_the_second_step(db: Store, box: SecretBox) -> None:
    _add(db, "admin", Role.ADMIN)
    totp = _enrol(db, box)
    with db.session() as session:
        staff.disable(session, "admin")
    assert not _code(db, box, totp.at(NOW))


# --- API tokens -----------------------------------------------------------------------

def test_token_issue_lookup_and_revoke(db: Store) -> None:
    _add(db)
    with db.session() as session:
        token = staff.issue_token(session, "li.wei", "nightly sync")
        other = staff.issue_token(session, "li.wei", "grafana")
    assert token.startswith("cnt_") and len(token) == 4 + 43 and token != other
    with db.session() as session:
        [row, _] = staff.tokens(session, "li.wei")
        assert row.label == "nightly sync" and row.token_hash == staff.token_hash(token)
        assert token not in row.token_hash and row.last_used_at is None
    with db.session() as session:
        found = staff.user_for_token(session, token, NOW)
        assert found is not None and found.name == "li.wei"
    with db.session() as session:
        assert staff.tokens(session, "li.wei")[0].last_used_at == NOW
        # a minute later, not before, the use is written again
        staff.user_for_token(session, token, NOW + timedelta(seconds=30))
        assert staff.tokens(session, "li.wei")[0].last_used_at == NOW
        staff.user_for_token(session, token, NOW + timedelta(seconds=60))
        assert staff.tokens(session, "li.wei")[0].last_used_at == NOW + timedelta(seconds=60)
    for wrong in ("", "cnt_", token + "x", token[4:], "Bearer " + token):
        with db.session() as session:
            assert staff.user_for_token(session, wrong, NOW) is None
    with db.session() as session:
        assert staff.revoke_tokens(session, "li.wei", "nightly sync") == 1
        assert staff.revoke_tokens(session, "li.wei", "nightly sync") == 0
    with db.session() as session:
        assert staff.user_for_token(session, token, NOW) is None
        assert staff.user_for_token(session, other, NOW) is not None
        assert staff.revoke_tokens(session, "li.wei") == 1
        assert staff.user_for_token(session, other, NOW) is None


def test_a_disabled_users_tokens_stop_working(db: Store) -> None:
    _add(db)
    with db.session() as session:
        token = staff.issue_token(session, "li.wei", "ci")
    with db.session() as session:
        staff.disable(session, "li.wei")
    with db.session() as session:
        assert staff.user_for_token(session, token, NOW) is None
        with pytest.raises(StaffError, match="disabled"):
            staff.issue_token(session, "li.wei", "another")


def test_token_labels_and_unknown_users(db: Store) -> None:
    _add(db)
    with db.session() as session, pytest.raises(StaffError, match="label"):
        staff.issue_token(session, "li.wei", "  ")
    with db.session() as session, pytest.raises(StaffError, match="no staff user"):
        staff.issue_token(session, "nobody", "ci")


def test_deleting_a_user_deletes_its_tokens(db: Store) -> None:
    _add(db)
    with db.session() as session:
        staff.issue_token(session, "li.wei", "ci")
    with db.session() as session:
        session.delete(staff.get(session, "li.wei"))
    with db.session() as session:
        assert session.scalars(select(StaffToken)).all() == []
