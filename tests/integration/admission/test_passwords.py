"""Network passwords over a real store: argon2id for TTLS/PAP, the NT hash sealed and only
for PEAP roles, and the answers the inner tunnel gets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from admission import passwords, people
from admission.authority import AdmissionError
from admission.choices import Role
from admission.md4 import nt_hash
from admission.models import Person
from citynet.audit import AuditEntry
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.tunnel import TunnelAnswer, TunnelLogin, Verdict

PEAP = (Role.TEACHER,)
PASSWORD = "Correct-Horse-1"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.new_key()])


@pytest.fixture
def store(sqlite_store: Store, box: SecretBox) -> Store:
    rows, problems = people.read_csv("username,real_name,role,status\n"
                                     "t001,王芳,teacher,active\ns100,李雷,student,active\n"
                                     "x9,赵六,teacher,disabled\n", "hr.csv")
    assert problems == []
    with sqlite_store.session() as session:
        people.apply(session, rows)
        for username in ("t001", "s100", "x9"):
            passwords.set_password(session, box, username, PASSWORD, PEAP)
        session.commit()
    return sqlite_store


def _login(store: Store, box: SecretBox, user: str, password: str | None = None,
           eap_type: str = "") -> TunnelAnswer:
    with store.session() as session:
        return passwords.tunnel_login(session, box, TunnelLogin(user, password, eap_type,
                                                                "ap-1"), PEAP)


def test_the_nt_hash_is_sealed_and_only_for_peap_roles(store: Store, box: SecretBox) -> None:
    with store.session() as session:
        teacher = session.scalars(select(Person).where(Person.username == "t001")).one()
        student = session.scalars(select(Person).where(Person.username == "s100")).one()
        assert teacher.nt_hash_sealed is not None
        assert nt_hash(PASSWORD).hex() not in teacher.nt_hash_sealed
        assert box.open(teacher.nt_hash_sealed) == nt_hash(PASSWORD).hex()
        assert student.nt_hash_sealed is None
        assert teacher.password_hash is not None
        assert teacher.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "admission.person.password")).all()
        assert {e.target for e in entries} == {"t001", "s100", "x9"}
        assert all(PASSWORD not in str(e.detail) for e in entries)


def test_peap_gets_the_nt_hash_only_for_an_active_person_whose_role_allows_it(
        store: Store, box: SecretBox) -> None:
    found = _login(store, box, "t001", eap_type=passwords.MSCHAPV2)
    assert found.verdict is Verdict.CREDENTIALS
    assert found.control == {"NT-Password": "0x" + nt_hash(PASSWORD).hex()}
    assert "NT-Password" in repr(found) and nt_hash(PASSWORD).hex() not in repr(found)
    assert _login(store, box, "s100", eap_type="MSCHAPv2").verdict is Verdict.REJECT
    assert _login(store, box, "x9", eap_type="MSCHAPv2").reason == "person disabled"
    assert _login(store, box, "nobody", eap_type="MSCHAPv2").verdict is Verdict.NOTFOUND
    # an inner EAP method other than MSCHAPv2 (EAP-MD5 in TTLS) gets nothing
    assert _login(store, box, "t001", eap_type="MD5").verdict is Verdict.REJECT


def test_pap_is_decided_here(store: Store, box: SecretBox) -> None:
    assert _login(store, box, "s100", PASSWORD).verdict is Verdict.ACCEPT
    assert _login(store, box, "s100", PASSWORD + "x").reason == "wrong password"
    assert _login(store, box, "x9", PASSWORD).reason == "person disabled"
    assert _login(store, box, "nobody", PASSWORD).verdict is Verdict.NOTFOUND


def test_a_role_leaving_peap_drops_the_hash_at_the_next_password(store: Store,
                                                                 box: SecretBox) -> None:
    with store.session() as session:
        done = passwords.set_password(session, box, "t001", "Another-Pass-2", ())
        session.commit()
    assert not done.peap
    found = _login(store, box, "t001", eap_type="MSCHAPv2")
    assert found.verdict is Verdict.REJECT  # the role is not in peap_roles (here: none)


@pytest.mark.parametrize(("password", "problem"), [
    ("short", "at least"), ("x" * 129, "at most"), ("tab\there-long", "control")])
def test_unusable_passwords_are_refused(store: Store, box: SecretBox, password: str,
                                        problem: str) -> None:
    with store.session() as session, pytest.raises(AdmissionError, match=problem) as caught:
        passwords.set_password(session, box, "t001", password, PEAP)
    assert password not in str(caught.value)


def test_an_unknown_person_gets_no_password(store: Store, box: SecretBox) -> None:
    with store.session() as session, pytest.raises(AdmissionError, match="no person"):
        passwords.set_password(session, box, "nobody", PASSWORD, PEAP)
