"""People written to the store: upserted by username, disabled in place."""

from __future__ import annotations

from admission import people
from admission.choices import PersonStatus, Role
from citynet.db import Store

HEADER = "username,real_name,department,phone,role\n"


def rows(text: str) -> list[people.PersonRow]:
    found, problems = people.read_csv(HEADER + text, "hr.csv")
    assert problems == []
    return found


def test_import_creates_then_updates_and_leaves_others_alone(store: Store) -> None:
    with store.session() as session:
        first = people.apply(session, rows("t1,王芳,一中,,teacher\ns1,李雷,二班,,student\n"))
        session.commit()
    assert first.summary == "2 new, 0 updated, 0 unchanged"
    with store.session() as session:
        again = people.apply(session, rows("t1,王芳,二中,,teacher\n"))
        session.commit()
    assert again.summary == "0 new, 1 updated, 0 unchanged"
    with store.session() as session:
        assert [(p.username, p.department, p.role, p.status) for p in people.everyone(session)
                ] == [("s1", "二班", Role.STUDENT, PersonStatus.ACTIVE),
                      ("t1", "二中", Role.TEACHER, PersonStatus.ACTIVE)]


def test_disable_is_idempotent_and_says_so(store: Store) -> None:
    with store.session() as session:
        people.apply(session, rows("t1,王芳,一中,,teacher\n"))
        assert people.disable(session, "t1") is True
        assert people.disable(session, "t1") is False
        assert people.disable(session, "nobody") is None
        session.commit()
    with store.session() as session:
        person = people.find(session, "t1")
        assert person is not None
        assert person.status is PersonStatus.DISABLED


def test_a_login_reads_the_person_s_role_status_and_hashes(store: Store) -> None:
    with store.session() as session:
        people.apply(session, rows("t1,王芳,一中,,teacher\n"))
        person = people.find(session, "t1")
        assert person is not None
        person.password_hash, person.nt_hash_sealed = "argon2-hash", "sealed-nt-hash"
        people.disable(session, "t1")
        session.commit()
    with store.session() as session:
        found = people.at_login(session, "t1")
        assert people.at_login(session, "nobody") is None
    assert found == people.AtLogin("t1", Role.TEACHER, PersonStatus.DISABLED, "argon2-hash",
                                   "sealed-nt-hash")
    assert found is not None and found.role is Role.TEACHER  # the enum, not its text
    assert "hash" not in repr(found)


def test_a_file_without_a_column_leaves_that_field_alone(store: Store) -> None:
    """A file of only the required columns (or a blank status) updates names and roles:
    it neither re-enables a person disabled by `people disable` — who would log in again
    with their network password — nor blanks their department and phone."""
    with store.session() as session:
        people.apply(session, rows("t1,王芳,一中,13800000001,teacher\n"
                                   "t2,李雷,二中,13800000002,teacher\n"))
        people.disable(session, "t1")
        session.commit()
    short, problems = people.read_csv("username,real_name,role\nt1,王芳,staff\n"
                                      "t3,韩梅梅,student\n", "hr.csv")
    blank, more = people.read_csv("username,real_name,role,status\nt2,李雷,teacher,\n",
                                  "hr2.csv")
    assert problems == more == []
    with store.session() as session:
        outcome = people.apply(session, [*short, *blank])
        session.commit()
    assert outcome.summary == "1 new, 1 updated, 1 unchanged"
    with store.session() as session:
        assert [(p.username, p.department, p.phone, p.role, p.status)
                for p in people.everyone(session)] == [
            ("t1", "一中", "13800000001", Role.STAFF, PersonStatus.DISABLED),
            ("t2", "二中", "13800000002", Role.TEACHER, PersonStatus.ACTIVE),
            ("t3", "", "", Role.STUDENT, PersonStatus.ACTIVE)]


def test_a_login_finds_the_person_typed_in_another_case(store: Store) -> None:
    with store.session() as session:
        people.apply(session, rows("t1,王芳,一中,,teacher\nS2,李雷,二班,,student\n"))
        session.commit()
    with store.session() as session:
        found = [(typed, getattr(people.at_login(session, typed), "username", None))
                 for typed in ("t1", "T1", "S2", "s2", "t2", "t1@district", "T1@District",
                               "t2@district", "@district", "t1@")]
    assert found == [("t1", "t1"), ("T1", "t1"), ("S2", "S2"), ("s2", "S2"), ("t2", None),
                     # a realm after the name (an NAI): the person without it
                     ("t1@district", "t1"), ("T1@District", "t1"), ("t2@district", None),
                     ("@district", None), ("t1@", "t1")]


def test_a_username_holding_an_at_sign_is_found_whole_first(store: Store) -> None:
    with store.session() as session:
        people.apply(session, rows("wang@school,王芳,一中,,teacher\nwang,王明,二中,,student\n"))
        session.commit()
    with store.session() as session:
        whole = people.at_login(session, "wang@school")
        realm = people.at_login(session, "wang@district")
    assert whole is not None and whole.username == "wang@school"
    assert realm is not None and realm.username == "wang"
