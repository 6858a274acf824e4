"""The enrolment page on the real web app and store: a person signs in with their network
password, names a device and gets a .p12 that opens with the one-time password shown,
the district CA and the server name to check; wrong, unknown, disabled and password-less
people are refused with nothing issued; wrong passwords lock the person out; the role's
device limit holds; each issue is audited with the person as actor; CSRF is required."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admission import authority, passwords, people
from admission.models import Certificate
from citynet import audit
from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import LOCK_AFTER
from tests.conftest import make_config

NOW = datetime.now(UTC).replace(microsecond=0)
PEOPLE = ("username,real_name,department,role,status\n"
          "t1,王芳,第一中学,teacher,active\nt2,赵敏,第一中学,teacher,active\n"
          "s9,李雷,第一中学,student,active\n")
PASSWORD = "a network password"
ROLES = {"teacher": {"vlan": "20", "devices": 2}, "student": {"vlan": "30"}}


@dataclass
class Site:
    store: Store
    app: Flask

    def client(self) -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    def certificates(self, username: str) -> int:
        with self.store.session() as db:
            person = people.find(db, username)
            assert person is not None
            return int(db.scalar(select(func.count(Certificate.id))
                                 .where(Certificate.person_id == person.id)) or 0)


@pytest.fixture
def site(tmp_path: Path, backend_config: Config) -> Iterator[Site]:
    """On SQLite and on PostgreSQL; t1 and s9 have a password, t2 none; s9 disabled."""
    yield from _site(tmp_path, backend_config)


def _site(tmp_path: Path, backend_config: Config, **nac: object) -> Iterator[Site]:
    config = make_config(tmp_path, database={"url": backend_config.database.url},
                         nac={"roles": ROLES, **nac})
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    rows, problems = people.read_csv(PEOPLE, "hr.csv")
    assert problems == []
    with store.session() as db:
        people.apply(db, rows)
        authority.init(db, box, "示范区", "radius.example.org", NOW)
        passwords.set_password(db, box, "t1", PASSWORD, ())
        passwords.set_password(db, box, "s9", PASSWORD, ())
        authority.disable_person(db, "s9", "left the school", NOW)
    try:
        yield Site(store, create_app(store, config, box=box, test_config={"TESTING": True}))
    finally:
        store.close()


def token(client: FlaskClient) -> str:
    page = client.get("/nac/enrol").get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def enrol(client: FlaskClient, username: str, password: str, device: str,
          csrf: str | None = None) -> tuple[int, str]:
    response = client.post("/nac/enrol", data={
        "csrf": token(client) if csrf is None else csrf, "username": username,
        "password": password, "device": device})
    return response.status_code, response.get_data(as_text=True)


def data_uri(page: str, kind: str) -> bytes:
    found = re.search(rf'href="data:{re.escape(kind)};base64,([A-Za-z0-9+/=]+)"', page)
    assert found, page
    return base64.b64decode(found.group(1))


def test_the_right_password_gets_a_p12_the_ca_and_the_server_name(site: Site) -> None:
    client = site.client()
    page = client.get("/nac/enrol")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    status, answer = enrol(client, "t1", PASSWORD, "laptop")
    assert status == 200, answer
    shown = re.search(r'<code class="secret">([^<]+)</code>', answer)
    assert shown
    key, cert, extra = pkcs12.load_key_and_certificates(
        data_uri(answer, "application/x-pkcs12"), shown.group(1).encode())
    assert key is not None and cert is not None
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "t1"
    assert cert.subject.get_attributes_for_oid(
        NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "laptop"
    ca_cert = x509.load_pem_x509_certificate(data_uri(answer, "application/x-x509-ca-cert"))
    assert cert.issuer == ca_cert.subject
    assert [c.subject for c in extra] == [ca_cert.subject]
    assert "<code>radius.example.org</code>" in answer
    with pytest.raises(ValueError, match="PKCS12"):  # sealed with the one-time password
        pkcs12.load_key_and_certificates(data_uri(answer, "application/x-pkcs12"),
                                         b"not the password")
    with site.store.session() as db:
        entry = audit.recent(db, "admission.cert.issue")[0]
        assert (entry.actor, entry.target, entry.result) == ("t1", "t1/laptop", "ok")
        assert entry.detail["serial"] == format(cert.serial_number, "x")
        assert audit.verify(db)[1] == []


@pytest.mark.parametrize(("username", "password", "status", "said"), [
    ("t1", "a wrong password", 401, "Wrong username or password."),
    ("nobody", PASSWORD, 401, "Wrong username or password."),
    ("s9", PASSWORD, 403, "Your network account is disabled"),
    ("t2", PASSWORD, 403, "No network password is set"),
])
def test_refused_people_get_nothing(site: Site, username: str, password: str, status: int,
                                    said: str) -> None:
    before = {name: site.certificates(name) for name in ("t1", "t2", "s9")}
    got, page = enrol(site.client(), username, password, "phone")
    assert got == status
    assert said in page
    assert "application/x-pkcs12" not in page
    assert {name: site.certificates(name) for name in before} == before


def test_a_post_without_the_page_token_is_refused(site: Site) -> None:
    client = site.client()
    token(client)
    status, _page = enrol(client, "t1", PASSWORD, "phone", csrf="forged")
    assert status == 400
    assert site.certificates("t1") == 0


def test_wrong_passwords_lock_the_person_out(site: Site) -> None:
    client = site.client()
    for _ in range(LOCK_AFTER - 1):
        assert enrol(client, "t1", "a wrong password", "phone")[0] == 401
    status, page = enrol(client, "t1", "a wrong password", "phone")
    assert status == 429
    assert "Too many wrong passwords" in page
    # locked: the right password is refused too, and nothing is issued
    status, page = enrol(site.client(), "t1", PASSWORD, "phone")
    assert status == 429
    assert site.certificates("t1") == 0


def test_guesses_over_many_names_hold_their_address(
        tmp_path: Path, backend_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """One password tried on name after name locks no name: the address is held after
    ``nac.enrol_source_failures`` failures, right password or not, for 15 minutes;
    another address is not held, and nobody's own lock was touched."""
    site = next(_site(tmp_path, backend_config, enrol_source_failures=4))
    try:
        sprayer, neighbour = site.client(), site.client()
        sprayer.environ_base["REMOTE_ADDR"] = "10.20.0.7"
        neighbour.environ_base["REMOTE_ADDR"] = "10.20.0.8"
        for name in ("u1", "t2", "u3", "t1"):  # unknown, password-less, unknown, wrong
            assert enrol(sprayer, name, "Summer2026!", "phone")[0] in (401, 403)
        status, page = enrol(sprayer, "t1", PASSWORD, "phone")
        assert status == 429 and "Too many wrong passwords" in page
        assert site.certificates("t1") == 0
        with site.store.session() as db:
            person = people.find(db, "t1")
            assert person is not None and person.enrol_locked_until is None
        assert enrol(neighbour, "t1", PASSWORD, "phone")[0] == 200
        # IPv6: one host may take any address of its /64, so the /64 is held
        hopper = site.client()
        for number in range(1, 5):
            hopper.environ_base["REMOTE_ADDR"] = f"2001:db8:7:7::{number}"
            assert enrol(hopper, f"u{number}", "Summer2026!", "phone")[0] == 401
        hopper.environ_base["REMOTE_ADDR"] = "2001:db8:7:7::99"
        assert enrol(hopper, "t1", PASSWORD, "phone")[0] == 429
        # the window over, the address is taken again
        later = datetime.now(UTC) + timedelta(minutes=16)
        monkeypatch.setattr("admission.web_enrol.now", lambda: later)
        assert enrol(sprayer, "t1", PASSWORD, "laptop")[0] == 200
    finally:
        site.store.close()


def test_the_roles_device_limit_holds(site: Site) -> None:
    client = site.client()
    assert enrol(client, "t1", PASSWORD, "laptop")[0] == 200
    assert enrol(client, "t1", PASSWORD, "phone")[0] == 200
    status, page = enrol(client, "t1", PASSWORD, "tablet")
    assert status == 409
    assert "as many devices as your role allows" in page
    assert site.certificates("t1") == 2
    # a new certificate for a device they hold one for is not a third device
    assert enrol(client, "t1", PASSWORD, "phone")[0] == 200
    with site.store.session() as db:
        authority.revoke(db, "t1", NOW)
    assert enrol(client, "t1", PASSWORD, "tablet")[0] == 200


def test_the_page_speaks_each_catalogued_language(site: Site) -> None:
    client = site.client()
    assert "Network certificate for your device" in client.get("/nac/enrol").get_data(True)
    hant = client.get("/nac/enrol?lang=zh-Hant").get_data(as_text=True)
    assert 'lang="zh-Hant"' in hant and "Network certificate" not in hant
    # the choice holds for the session
    assert 'lang="zh-Hant"' in client.get("/nac/enrol").get_data(as_text=True)
    assert 'lang="zh-CN"' in client.get("/nac/enrol?lang=zh-CN").get_data(as_text=True)
