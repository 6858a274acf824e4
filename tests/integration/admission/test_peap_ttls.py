"""PEAP-MSCHAPv2 and EAP-TTLS/PAP through the real FreeRADIUS 3.2 with the config
`citynet freeradius config` generates, citynet (`citynet serve`, rlm_rest API) answering
the inner tunnel, and Debian's eapol_test as the supplicant."""

from __future__ import annotations

import re
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from admission import authority, holds, passwords, people
from admission.choices import Role
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from radius.records import LoginRecord
from tests.integration.radius.conftest import SECRET, add_nas
from tests.lab.freeradius import (
    SERVER_NAME,
    eapol_test,
    generated_config,
    radiusd,
    serve_env,
    serving,
)
from tests.support import CITYNET, free_port

TOKEN = "rest-token-for-peap-tests"
# t001 (teacher) and a042 (staff) may use PEAP; s100 (student) may not; x9 is disabled
PEOPLE = ("username,real_name,role,status\nt001,王芳,teacher,active\na042,张伟,staff,active\n"
          "s100,李雷,student,active\nx9,赵六,staff,disabled\n")
PEAP_ROLES = (Role.TEACHER, Role.STAFF)
ANONYMOUS = "anonymous@district"
HOLD_AFTER = 3  # wrong passwords from one device (nac.password_failures)
PASSWORDS = {"t001": "Correct-Horse-1", "a042": "密码-Staff-2024", "s100": "Student-Pass-9",
             "x9": "Disabled-Pass-7"}


@dataclass
class Front:
    auth_port: int
    conf: Path
    ca: Path
    store: Store
    api_port: int

    env: dict[str, str]

    def login(self, method: str, identity: str, password: str,
              anonymous: str | None = None, mac: str = "") -> bool:
        """One 802.1X login with eapol_test (from ``mac``, its Calling-Station-Id, or
        eapol_test's own): True if FreeRADIUS accepted it."""
        phase2 = "auth=MSCHAPV2" if method == "PEAP" else "auth=PAP"
        outer = f'    anonymous_identity="{anonymous}"\n' if anonymous else ""
        return eapol_test(f"""    key_mgmt=WPA-EAP
    eap={method}
    identity="{identity}"
{outer}    password="{password}"
    ca_cert="{self.ca}"
    domain_match="{SERVER_NAME}"
    phase2="{phase2}"
""", self.auth_port, SECRET, self.conf.parent / f"eapol-{method}-{identity}-{len(password)}",
                          *(("-M", mac) if mac else ()), wait=15)[0]

    def tunnel_calls(self) -> float:
        """The inner tunnel's rlm_rest calls citynet has answered so far (its /metrics)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/metrics",
                                    timeout=10) as response:
            text = response.read().decode()
        return sum(float(found) for found in re.findall(
            r'^citynet_radius_events_total\{event="rlm_rest tunnel \d+"\} (\S+)$', text,
            re.MULTILINE))


@pytest.fixture
def front(backend_config: Config, store: Store, tmp_path: Path) -> Iterator[Front]:
    add_nas(backend_config, store)
    box = open_box(backend_config, store, create=True)
    assert box is not None
    rows, problems = people.read_csv(PEOPLE, "hr.csv")
    assert problems == []
    with store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", SERVER_NAME, datetime.now(UTC))
        ca_pair, _server = authority.authority_keys(session, box)
        for username in ("a042", "s100", "x9"):
            passwords.set_password(session, box, username, PASSWORDS[username],
                                   PEAP_ROLES)
        session.commit()
    ca = tmp_path / "ca.pem"  # what supplicants are given
    ca.write_bytes(ca_pair.cert_pem)
    web_port, api_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    env = serve_env(backend_config, TOKEN, web_port, api_port,
                    CITYNET_NAC__PEAP_ROLES=",".join(PEAP_ROLES),
                    CITYNET_NAC__PASSWORD_FAILURES=str(HOLD_AFTER))
    # t001's with the command, as an operator sets it
    subprocess.run([CITYNET, "nac", "people", "password", "t001", "--password-stdin"],
                   input=PASSWORDS["t001"] + "\n", env=env, check=True, capture_output=True,
                   text=True)
    conf = tmp_path / "freeradius"
    generated_config(conf, env, auth, acct)
    with serving(env), radiusd(conf, auth, SECRET):
        yield Front(auth, conf, ca, store, api_port, env)


def _accepted_identities(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(LoginRecord.identity).where(
            LoginRecord.result == "accept").order_by(LoginRecord.seq)))


def _last_record(store: Store) -> tuple[str, str]:
    with store.session() as session:
        last = session.scalars(select(LoginRecord).order_by(LoginRecord.seq.desc())).first()
        assert last is not None
        return last.identity, last.result


@pytest.mark.slow
def test_peap_mschapv2(front: Front) -> None:
    assert front.login("PEAP", "t001", PASSWORDS["t001"])
    # one lookup a login: not again for the supplicant's acknowledgement of the Success
    assert front.tunnel_calls() == 1
    assert front.login("PEAP", "a042", PASSWORDS["a042"])  # a non-ASCII password
    assert not front.login("PEAP", "t001", "Wrong-Horse-1")
    assert not front.login("PEAP", "x9", PASSWORDS["x9"])  # disabled
    # in the words EAP-TLS's refusal uses: one search finds a disabled person's refusals
    assert _last_record(front.store) == ("x9", "person disabled")
    assert not front.login("PEAP", "s100", PASSWORDS["s100"])  # role without PEAP
    assert not front.login("PEAP", "nobody", "Whatever-123")  # unknown
    # the real identity only inside the tunnel; the record and the NAS get it
    assert front.login("PEAP", "t001", PASSWORDS["t001"], anonymous="anonymous@district")
    assert _accepted_identities(front.store) == ["t001", "a042", "t001"]
    # refused under an anonymous name: recorded under the real one, with the reason
    assert not front.login("PEAP", "s100", PASSWORDS["s100"], anonymous="anonymous@district")
    assert _last_record(front.store) == ("s100", "PEAP is not allowed for role student")
    # the username typed in capitals is the same person (the import's rule), and so is
    # the username with a realm (supplicants set up with an NAI inside too)
    assert front.login("PEAP", "T001", PASSWORDS["t001"], anonymous="anonymous@district")
    assert front.login("PEAP", "t001@district", PASSWORDS["t001"],
                       anonymous="anonymous@district")


@pytest.mark.slow
def test_ttls_pap(front: Front) -> None:
    assert front.login("TTLS", "s100", PASSWORDS["s100"])  # TTLS needs no PEAP role
    assert front.login("TTLS", "t001", PASSWORDS["t001"], anonymous="anonymous@district")
    assert front.login("TTLS", "t001@district", PASSWORDS["t001"],
                       anonymous="anonymous@district")
    assert not front.login("TTLS", "s100", "Student-Pass-8")
    assert not front.login("TTLS", "x9", PASSWORDS["x9"], anonymous="anonymous@district")
    assert _last_record(front.store) == ("x9", "person disabled")
    assert not front.login("TTLS", "nobody", "Whatever-123")
    assert _accepted_identities(front.store) == ["s100", "t001", "t001@district"]
    assert not front.login("TTLS", "t001", "Wrong-Horse-1", anonymous="anonymous@district")
    assert _last_record(front.store) == ("t001", "wrong password")
    assert front.login("TTLS", "A042", PASSWORDS["a042"], anonymous="anonymous@district")


@pytest.mark.slow
def test_wrong_peap_passwords_hold_the_guessers_device(front: Front) -> None:
    guesser, teacher = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
    for number in range(HOLD_AFTER):
        assert not front.login("PEAP", "t001", f"Guess-{number:04d}", ANONYMOUS, guesser)
        assert _last_record(front.store) == ("t001", "wrong password")
    calls = front.tunnel_calls()
    # held: the right password is refused too, without an NT hash handed to FreeRADIUS
    assert not front.login("PEAP", "t001", PASSWORDS["t001"], ANONYMOUS, guesser)
    identity, reason = _last_record(front.store)
    assert identity == "t001" and reason.startswith(holds.HELD), reason
    assert front.tunnel_calls() == calls + 1
    assert not front.login("TTLS", "t001", PASSWORDS["t001"], ANONYMOUS, guesser)
    assert _last_record(front.store)[1].startswith(holds.HELD)
    # the teacher's own device is not held by a guesser's (docs/admission.md says why)
    assert front.login("PEAP", "t001", PASSWORDS["t001"], ANONYMOUS, teacher)
    # and staff lift the guesser's hold
    done = subprocess.run([CITYNET, "nac", "people", "unhold", "t001"], env=front.env,
                          check=True, capture_output=True, text=True)
    assert f"hold on device {guesser} until" in done.stdout
    assert front.login("PEAP", "t001", PASSWORDS["t001"], ANONYMOUS, guesser)


@pytest.mark.slow
def test_wrong_ttls_passwords_count_and_a_right_one_starts_again(front: Front) -> None:
    device = "02:00:00:00:0c:01"
    for number in range(HOLD_AFTER - 1):
        assert not front.login("TTLS", "a042", f"Guess-{number:04d}", ANONYMOUS, device)
    assert front.login("TTLS", "a042", PASSWORDS["a042"], ANONYMOUS, device)  # its count resets
    for number in range(HOLD_AFTER - 1):
        assert not front.login("PEAP", "a042", f"Guess-{number:04d}", ANONYMOUS, device)
    assert front.login("PEAP", "a042", PASSWORDS["a042"], ANONYMOUS, device)
    for number in range(HOLD_AFTER):
        assert not front.login("TTLS", "a042", f"Guess-{number:04d}", ANONYMOUS, device)
    assert not front.login("PEAP", "a042", PASSWORDS["a042"], ANONYMOUS, device)
    assert _last_record(front.store)[1].startswith(holds.HELD)
