"""The password hold over a real store (SQLite and PostgreSQL): wrong PEAP/TTLS passwords
FreeRADIUS refused, recorded through RADIUS's record writer, hold the device and then the
person in the inner tunnel; a right password, the window's end and staff lift it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from admission import holds, passwords, people
from admission.choices import Role
from admission.gate import AdmissionGate
from admission.models import PasswordFailures
from admission.settings import NacConfig
from citynet.cli import cli
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.tunnel import TunnelLogin, Verdict
from radius.accounting import Outcome, RecordWriter
from radius.decisions import Decision, ForeignLogin, Login, LoginAttempt
from radius.policy import Policy

PEAP = (Role.TEACHER,)
PASSWORD = "Correct-Horse-1"
PHONE, LAPTOP = "00:1b:a9:00:00:01", "00:1b:a9:00:00:02"
NAC = NacConfig.model_validate({"roles": {"teacher": {"vlan": "20"}},
                                "password_failures": 3, "password_person_failures": 5})


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.new_key()])


@pytest.fixture
def people_store(store: Store, box: SecretBox) -> Store:
    rows, problems = people.read_csv("username,real_name,role\nt001,王芳,teacher\n", "hr.csv")
    assert problems == []
    with store.session() as session:
        people.apply(session, rows)
        passwords.set_password(session, box, "t001", PASSWORD, PEAP)
        session.commit()
    return store


def _writer(store: Store) -> RecordWriter:
    policy = Policy(store, None, ZoneInfo("Asia/Shanghai"), gates=[AdmissionGate(NAC)])
    return RecordWriter(store, decide=policy.decide_in, refused=policy.refused_in)


def refused(store: Store, user: str, mac: str, reason: str = "wrong password") -> None:
    """A login FreeRADIUS refused, as its post-auth REJECT reaches the record writer."""
    done: list[Outcome] = []
    _writer(store).run([(ForeignLogin(
        LoginAttempt(user, calling_station=mac.replace(":", "-").upper()), "sw-1",
        Decision(False, {}, method="fr:eap", reason=reason)), done.append)])
    assert len(done) == 1 and not isinstance(done[0], Exception)


def authenticated(store: Store, user: str, mac: str) -> None:
    """A PEAP login FreeRADIUS authenticated, as its post-auth reaches the gate."""
    done: list[Outcome] = []
    _writer(store).run([(Login(LoginAttempt(user, calling_station=mac, authenticated="eap"),
                               "sw-1"), done.append)])
    assert isinstance(done[0], Decision) and done[0].accept


def tunnel(store: Store, box: SecretBox, user: str, mac: str, password: str | None = None,
           now: datetime | None = None) -> tuple[Verdict, str]:
    with store.reading() as connection:
        answer = passwords.tunnel_login(
            connection, box, TunnelLogin(user, password, "" if password else "MSCHAPv2",
                                         "sw-1", mac), PEAP, NAC.password_limits, now)
    return answer.verdict, answer.reason


def test_wrong_passwords_hold_the_device_then_the_person(people_store: Store,
                                                         box: SecretBox) -> None:
    store = people_store
    for _ in range(2):
        refused(store, "t001", PHONE)
    assert tunnel(store, box, "t001", PHONE)[0] is Verdict.CREDENTIALS
    refused(store, "T001@district", PHONE)  # the same person however typed
    verdict, reason = tunnel(store, box, "t001", PHONE)
    assert verdict is Verdict.REJECT and reason.startswith(holds.HELD)
    # TTLS/PAP too, with the right password: nothing is checked while held
    assert tunnel(store, box, "t001", PHONE, PASSWORD)[1].startswith(holds.HELD)
    # the teacher's own laptop is not held by a guesser at the phone
    assert tunnel(store, box, "t001", LAPTOP)[0] is Verdict.CREDENTIALS
    # a guesser making up MACs: the person's count holds every device
    refused(store, "t001", "02:00:00:00:00:0a")
    refused(store, "t001", "02:00:00:00:00:0b")
    assert tunnel(store, box, "t001", LAPTOP)[1].startswith(holds.HELD)
    # until the window is over
    later = datetime.now(UTC) + holds.WINDOW + timedelta(seconds=1)
    assert tunnel(store, box, "t001", PHONE, now=later)[0] is Verdict.CREDENTIALS
    assert tunnel(store, box, "t001", LAPTOP, now=later)[0] is Verdict.CREDENTIALS


def test_a_right_password_starts_the_count_again(people_store: Store,
                                                 box: SecretBox) -> None:
    store = people_store
    for _ in range(2):
        refused(store, "t001", PHONE)
    refused(store, "t001", "02:00:00:00:00:0a")
    authenticated(store, "t001", PHONE)
    with store.session() as session:  # the guesser's device and the person keep theirs
        assert sorted(session.execute(select(PasswordFailures.device,
                                             PasswordFailures.failures)).all()) == [
            (holds.ANY_DEVICE, 3), ("02:00:00:00:00:0a", 1)]
    refused(store, "t001", PHONE)  # the phone's 1 of 3 (2 + 1 without the reset)
    assert tunnel(store, box, "t001", PHONE)[0] is Verdict.CREDENTIALS
    refused(store, "t001", "02:00:00:00:00:0a")  # the person's 5th
    assert tunnel(store, box, "t001", "02:00:00:00:00:0a")[0] is Verdict.REJECT


def test_the_persons_own_logins_do_not_reset_a_mac_changing_guesser(
        people_store: Store, box: SecretBox) -> None:
    store = people_store  # the person's limit is 5; each made-up MAC tries twice
    for number in range(3):
        mac = f"02:00:00:00:00:{number:02x}"
        refused(store, "t001", mac)
        refused(store, "t001", mac)
        authenticated(store, "t001", PHONE)  # the teacher's phone roams between guesses
    assert tunnel(store, box, "t001", LAPTOP)[1].startswith(holds.HELD)


def test_only_wrong_passwords_of_known_people_count(people_store: Store) -> None:
    store = people_store
    for _ in range(5):
        refused(store, "nobody", PHONE)
        refused(store, "t001", PHONE, "certificate not from the district CA")
        refused(store, "t001", PHONE, holds.held_reason(datetime.now(UTC)))
    with store.session() as session:
        assert session.scalars(select(PasswordFailures)).all() == []


def test_staff_lift_a_hold(people_store: Store, box: SecretBox,
                           backend_config: Config) -> None:
    store = people_store
    for _ in range(3):
        refused(store, "t001", PHONE)
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url,
           "CITYNET_NAC__PASSWORD_FAILURES": "3"}
    result = CliRunner().invoke(cli, ["nac", "people", "unhold", "T001"], env=env)
    assert result.exit_code == 0, result.output
    assert f"t001: hold on device {PHONE} until" in result.output
    assert tunnel(store, box, "t001", PHONE)[0] is Verdict.CREDENTIALS
    result = CliRunner().invoke(cli, ["nac", "people", "unhold", "t001"], env=env)
    assert "t001: no password hold in force" in result.output
    result = CliRunner().invoke(cli, ["nac", "people", "unhold", "nobody"], env=env)
    assert result.exit_code != 0 and "no person 'nobody'" in result.output


def test_the_tunnel_and_the_gate_key_a_device_in_one_spelling(people_store: Store,
                                                              box: SecretBox) -> None:
    spaced = "02 00 00 00 00 0c"  # a NAS's Calling-Station-Id with spaces
    for _ in range(3):
        refused(people_store, "t001", spaced)
    assert tunnel(people_store, box, "t001", spaced)[1].startswith(holds.HELD)
