"""The network admission staff pages on the real web app and store: every page and action
for every staff role (allowed, 403, or the login), CSRF, and each action's outcome: people
searched, disabled (certificates revoked, live sessions Disconnected at a NAS on loopback)
and enabled; certificates issued (the .p12 and its password on one page only) and revoked;
the MAC bypass list; a live 802.1X session kicked."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from admission import authority, holds, mab, people
from admission.models import Certificate, MabEntry
from admission.settings import NacConfig
from citynet import audit
from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from inventory.models import NasClient
from radius.models import RadiusSession
from tests.conftest import make_config
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET, add_nas
from tests.support import staff_csrf, staff_login

NOW = datetime.now(UTC).replace(microsecond=0)
PEOPLE = ("username,real_name,department,role,status\n"
          "t1,王芳,第一中学,teacher,active\na42,张伟,教育局,staff,active\n"
          "s9,李雷,第一中学,student,disabled\n")
PROFILES = {"printer": {"vlan": "50"}}


@dataclass
class Site:
    config: Config
    store: Store
    app: Flask
    clients: dict[Role, FlaskClient] = field(default_factory=dict)

    def client(self, role: Role) -> FlaskClient:
        """Signed in through the real forms as a staff member of ``role``; English."""
        if role not in self.clients:
            client = staff_login(self.app, self.store, role.value)
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
            self.clients[role] = client
        return self.clients[role]

    def session(self, session_id: str, who: str, mac: str, *, method: str = "eap",
                station: str = "port:Gi0/0/1") -> int:
        with self.store.session() as db:
            row = RadiusSession(nas="test-gw", session_id=session_id, username=who,
                                identity=who, method=method, calling_station=mac,
                                called_station=station, framed_ip="",
                                started_at=NOW - timedelta(minutes=5), updated_at=NOW)
            db.add(row)
            db.flush()
            return row.id

    def entries(self, action: str) -> list[audit.AuditEntry]:
        with self.store.session() as db:
            found = audit.recent(db, action)
            assert audit.verify(db)[1] == []
            for entry in found:
                db.expunge(entry)
            return found


def build(tmp_path: Path, coa_port: int, database_url: str = "") -> Site:
    config = make_config(tmp_path, radius={"coa_port": coa_port},
                         database={"url": database_url}, nac={"mab_profiles": PROFILES})
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    add_nas(config, store)
    rows, problems = people.read_csv(PEOPLE, "hr.csv")
    assert problems == []
    with store.session() as db:
        people.apply(db, rows)
        authority.init(db, box, "示范区", "radius.example.org", NOW)
        authority.issue(db, box, "t1", "laptop", NOW)
    return Site(config, store, create_app(store, config, box=box,
                                          test_config={"TESTING": True}))


@pytest.fixture
def nas() -> Iterator[FakeNas]:
    with FakeNas(SECRET.encode(), sessions={"sw-1": {}, "sw-2": {}, "sw-3": {}}) as running:
        yield running


@pytest.fixture
def site(tmp_path: Path, nas: FakeNas, backend_config: Config) -> Iterator[Site]:
    """On SQLite and on PostgreSQL."""
    made = build(tmp_path, nas.port, backend_config.database.url)
    try:
        yield made
    finally:
        made.store.close()


def followed(client: FlaskClient, response: Any) -> str:
    """The page a POST redirected to (where its flashes show)."""
    assert response.status_code == 302, (response.status_code, response.get_data(True))
    return client.get(response.headers["Location"]).get_data(as_text=True)


# --- the role matrix ------------------------------------------------------------------

READ = {Role.ADMIN, Role.ENGINEER, Role.OPERATOR, Role.AUDITOR}
WRITE = {Role.ADMIN, Role.ENGINEER}
KICK = {Role.ADMIN, Role.ENGINEER, Role.OPERATOR}
PAGES = ["/admin/nac/people", "/admin/nac/people?q=%E7%8E%8B&role=teacher&status=active",
         "/admin/nac/people/t1", "/admin/nac/certificates", "/admin/nac/mab",
         "/admin/nac/sessions"]


def _revoked_serial(site: Site) -> str:
    with site.store.session() as db:
        found = db.scalar(select(Certificate.serial).where(Certificate.revoked_at.is_not(None)))
        if found is None:
            found = authority.issue(db, site.app.extensions["citynet.box"], "a42", "old",
                                    NOW).serial
            authority.revoke(db, found, NOW)
        return found


def _listed(site: Site) -> dict[str, str]:
    with site.store.session() as db:
        mab.add(db, site.config.section(NacConfig), "00:1b:a9:00:00:77", "printer", NOW)
    return {"mac": "00:1b:a9:00:00:77"}


# (path, permission, the form: every one goes through, so an allowed role gets 200 or 302)
ACTIONS: list[tuple[str, set[Role], Any]] = [
    ("/admin/nac/people/s9/disable", WRITE, lambda site: {"reason": "left"}),
    ("/admin/nac/people/t1/enable", WRITE, lambda site: {"reason": "back"}),
    ("/admin/nac/people/t1/unhold", WRITE, lambda site: {}),
    ("/admin/nac/certificates/revoke", WRITE,
     lambda site: {"serial": _revoked_serial(site), "reason": "lost"}),
    ("/admin/nac/people/a42/certificates", WRITE, lambda site: {"device": "matrix"}),
    ("/admin/nac/mab", WRITE, lambda site: {"mac": "00:1b:a9:00:00:09",
                                            "profile": "printer"}),
    ("/admin/nac/mab/remove", WRITE, _listed),
    ("/admin/nac/sessions/kick", KICK, lambda site: {"session": "999999",
                                                      "reason": "matrix"}),
]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    made = build(tmp_path_factory.mktemp("matrix"), 9)  # no kick reaches a NAS here
    try:
        yield made
    finally:
        made.store.close()


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_for_every_role(matrix: Site, role: Role, path: str) -> None:
    answer = matrix.client(role).get(path)
    assert answer.status_code == (200 if role in READ else 403), answer.status_code


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize(("path", "allowed", "form"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_every_action_for_every_role(matrix: Site, role: Role, path: str,
                                     allowed: set[Role], form: Any) -> None:
    client = matrix.client(role)
    answer = client.post(path, data={**form(matrix), "csrf": staff_csrf(client)})
    expected = (200, 302) if role in allowed else (403,)
    assert answer.status_code in expected, (answer.status_code, answer.get_data(True)[:300])


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_strangers_to_the_login(matrix: Site, path: str) -> None:
    answer = matrix.app.test_client().get(path)
    assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]


@pytest.mark.parametrize(("path", "allowed", "form"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_actions_refuse_strangers_and_posts_without_the_token(
        matrix: Site, path: str, allowed: set[Role], form: Any) -> None:
    assert matrix.app.test_client().post(path, data=form(matrix)).status_code == 401
    refused = matrix.client(Role.ADMIN).post(path, data=form(matrix))
    assert refused.status_code == 400 and "did not come from citynet" in refused.get_data(True)


def test_the_menu_shows_admission_to_the_roles_that_read_it(matrix: Site) -> None:
    for role in Role:
        home = matrix.client(role).get("/admin/").get_data(as_text=True)
        assert ('href="/admin/nac/people"' in home) is (role in READ), role


# --- what each action does ---------------------------------------------------------------

def test_people_are_searched_by_name_department_role_and_status(site: Site) -> None:
    client = site.client(Role.OPERATOR)

    def found(query: str) -> list[str]:
        page = client.get(f"/admin/nac/people?{query}").get_data(as_text=True)
        return re.findall(r'href="/admin/nac/people/([^"]+)"', page)

    assert found("") == ["a42", "s9", "t1"]
    assert found("q=第一中学") == ["s9", "t1"]
    assert found("q=王") == ["t1"]
    assert found("role=staff") == ["a42"]
    assert found("status=disabled") == ["s9"]
    assert client.get("/admin/nac/people?role=boss").status_code == 400
    assert client.get("/admin/nac/people/nobody").status_code == 404
    chinese = client.get("/admin/nac/people?lang=zh-CN").get_data(as_text=True)
    assert "实名入网人员" in chinese and "People admitted" not in chinese  # its catalog
    assert "<td>教师</td>" in chinese  # the role, not the CSV's word


def test_disabling_revokes_and_disconnects_and_enabling_restores(site: Site,
                                                                nas: FakeNas) -> None:
    site.session("sw-1", "t1", "00-1b-a9-00-00-01")
    site.session("sw-2", "t1", "00-1b-a9-00-00-02", station="00-E0-FC-01-02-03:staff")
    site.session("sw-3", "a42", "00-1b-a9-00-00-03")
    client = site.client(Role.ENGINEER)
    person = client.get("/admin/nac/people/t1").get_data(as_text=True)
    assert "00:1b:a9:00:00:01" in person and "Gi0/0/1" in person and "staff" in person
    assert "00:1b:a9:00:00:03" not in person  # a42's
    page = followed(client, client.post("/admin/nac/people/t1/disable", data={
        "reason": "left the school", "csrf": staff_csrf(client)}))
    assert "t1 is disabled" in page and "Revoked 1 certificate(s)" in page
    assert page.count("disconnected (Disconnect-ACK") == 2
    assert set(nas.sessions) == {"sw-3"}  # only a42's is still at the NAS
    with site.store.session() as db:
        person_row = people.find(db, "t1")
        assert person_row is not None and person_row.status.value == "disabled"
        assert all(c.revoked_at is not None for c in person_row.certificates)
    [entry] = site.entries("admission.person.disable")
    assert (entry.actor, entry.reason) == ("test-engineer", "left the school")
    assert {e.detail["session"] for e in site.entries("admission.session.disconnect")} == {
        "sw-1", "sw-2"}
    assert site.entries("admission.cert.revoke")[0].actor == "test-engineer"
    page = followed(client, client.post("/admin/nac/people/t1/enable", data={
        "reason": "came back", "csrf": staff_csrf(client)}))
    assert "t1 is enabled" in page
    with site.store.session() as db:
        assert people.find(db, "t1").status.value == "active"  # type: ignore[union-attr]


def test_why_a_session_was_not_disconnected_is_said_in_the_pages_language(
        site: Site, nas: FakeNas) -> None:
    """A NAS registered as a network cannot be sent a Disconnect: the person page says
    why in its reader's language; the audit record keeps the English."""
    with site.store.session() as db:
        db.execute(update(NasClient).values(address="127.0.0.0/30"))
    site.session("sw-1", "t1", "00-1b-a9-00-00-01")
    client = site.client(Role.ENGINEER)
    client.get("/admin/nac/people?lang=zh-Hant")
    page = followed(client, client.post("/admin/nac/people/t1/disable", data={
        "reason": "left the school", "csrf": staff_csrf(client)}))
    assert ("test-gw 上的連線 sw-1 未能中斷（NAS test-gw 登記為一個網段（127.0.0.0/30）；"
            "CoA 或 Disconnect 需要單一位址）。") in page
    assert nas.arrived == []
    [entry] = site.entries("admission.session.disconnect")
    assert entry.detail["answer"] == ("NAS test-gw is registered as a network "
                                      "(127.0.0.0/30); a CoA or Disconnect needs one address")


def test_a_certificate_is_issued_once_and_revoked(site: Site) -> None:
    client = site.client(Role.ENGINEER)
    answer = client.post("/admin/nac/people/a42/certificates",
                         data={"device": "phone", "csrf": staff_csrf(client)})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', page)
    bundle = re.search(r'href="data:application/x-pkcs12;base64,([^"]+)" '
                       r'download="a42-phone.p12"', page)
    assert password and bundle
    key, cert, _chain = pkcs12.load_key_and_certificates(
        base64.b64decode(bundle[1]), password[1].encode())
    assert key is not None and cert is not None
    serial = format(cert.serial_number, "x")
    # the password is in no audit entry and on no other page
    [entry] = [e for e in site.entries("admission.cert.issue") if e.target == "a42/phone"]
    assert entry.actor == "test-engineer" and password[1] not in json.dumps(entry.detail)
    listing = client.get("/admin/nac/certificates?q=a42").get_data(as_text=True)
    assert serial in listing and password[1] not in listing
    assert password[1] not in client.get("/admin/nac/people/a42").get_data(as_text=True)
    page = followed(client, client.post("/admin/nac/certificates/revoke", data={
        "serial": serial, "reason": "phone lost", "csrf": staff_csrf(client)}))
    assert f"Certificate {serial} revoked" in page
    assert serial in client.get("/admin/nac/certificates?state=revoked").get_data(True)
    assert serial not in client.get("/admin/nac/certificates?state=valid").get_data(True)
    revoke = [e for e in site.entries("admission.cert.revoke") if e.detail["serial"] == serial]
    assert [(e.actor, e.reason) for e in revoke] == [("test-engineer", "phone lost")]


def test_issuing_refusals_are_by_field(site: Site) -> None:
    client = site.client(Role.ENGINEER)
    token = staff_csrf(client)
    empty = client.post("/admin/nac/people/a42/certificates", data={"device": "",
                                                                    "csrf": token})
    assert empty.status_code == 400 and 'id="e-device"' in empty.get_data(True)
    long = client.post("/admin/nac/people/a42/certificates",
                       data={"device": "x" * 300, "csrf": token})
    assert long.status_code == 400 and "longer than" in long.get_data(True)
    disabled = client.post("/admin/nac/people/s9/certificates",
                           data={"device": "laptop", "csrf": token})
    assert disabled.status_code == 400 and "is disabled" in disabled.get_data(True)
    assert client.post("/admin/nac/people/nobody/certificates",
                       data={"device": "laptop", "csrf": token}).status_code == 404
    with site.store.session() as db:
        assert db.scalar(select(Certificate).where(Certificate.device != "laptop")) is None


def test_the_bypass_list_and_the_unknown_macs(site: Site) -> None:
    with site.store.session() as db:
        mab.note_unknown(db, mab.Seen("00:1b:a9:00:00:44", "test-gw", "Gi0/0/4"), NOW)
        mab.note_unknown(db, mab.Seen("da:a1:19:00:00:01", "test-gw", "Gi0/0/5"), NOW)
    client = site.client(Role.ENGINEER)
    page = client.get("/admin/nac/mab").get_data(as_text=True)
    assert "00:1b:a9:00:00:44" in page and "Gi0/0/4" in page
    # the private address is marked as one, once: adding it is refused below
    assert page.count("randomised (private address)") == 1
    assert page.index("da:a1:19:00:00:01") < page.index("randomised (private address)")
    token = staff_csrf(client)
    refused = client.post("/admin/nac/mab", data={"mac": "da:a1:19:00:00:01",
                                                  "profile": "printer", "csrf": token})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="e-mac"' in text
    assert "locally administered" in text and 'value="da:a1:19:00:00:01"' in text
    unknown_profile = client.post("/admin/nac/mab", data={
        "mac": "00:1b:a9:00:00:44", "profile": "fax", "csrf": token})
    assert unknown_profile.status_code == 400 and 'id="e-profile"' in unknown_profile.get_data(
        True)
    page = followed(client, client.post("/admin/nac/mab", data={
        "mac": "001B.A900.0044", "profile": "printer", "csrf": token}))
    assert "00:1b:a9:00:00:44 is on the bypass list as printer" in page
    with site.store.session() as db:
        assert [e.mac for e in db.scalars(select(MabEntry))] == ["00:1b:a9:00:00:44"]
        # listed now, so off the report; the private address stays on it
        assert [u.mac for u in mab.unknown(db)] == ["da:a1:19:00:00:01"]
    page = followed(client, client.post("/admin/nac/mab/remove", data={
        "mac": "00:1b:a9:00:00:44", "csrf": token}))
    assert "is off the bypass list" in page
    assert [e.actor for e in site.entries("admission.mab.add")] == ["test-engineer"]
    assert [e.target for e in site.entries("admission.mab.remove")] == ["00:1b:a9:00:00:44"]


def test_an_operator_kicks_an_admission_session(site: Site, nas: FakeNas) -> None:
    site.session("sw-3", "a42", "00-1b-a9-00-00-03")
    row = site.session("sw-1", "t1", "00-1b-a9-00-00-01")
    site.session("sw-9", "1380013800", "aa-bb-cc-00-00-09", method="token")  # public WiFi
    client = site.client(Role.OPERATOR)
    page = client.get("/admin/nac/sessions").get_data(as_text=True)
    assert "00:1b:a9:00:00:01" in page and "Gi0/0/1" in page
    assert "aa:bb:cc:00:00:09" not in page  # not an admission
    token = staff_csrf(client)
    missing = followed(client, client.post("/admin/nac/sessions/kick", data={
        "session": str(row), "reason": "", "csrf": token}))
    assert "Give a reason" in missing and "sw-1" in nas.sessions
    page = followed(client, client.post("/admin/nac/sessions/kick", data={
        "session": str(row), "who": "t1", "reason": "rogue device", "csrf": token}))
    assert "Disconnected t1&#39;s device 00:1b:a9:00:00:01" in page
    assert set(nas.sessions) == {"sw-2", "sw-3"}
    [entry] = site.entries("admission.session.kick")
    assert (entry.actor, entry.reason, entry.result, entry.target) == (
        "test-operator", "rogue device", "ok", "sw-1@test-gw")
    # a public WiFi session is not an admission one: not kicked from here
    public = site.session("sw-2", "1380013800", "aa-bb-cc-00-00-02", method="token")
    page = followed(client, client.post("/admin/nac/sessions/kick", data={
        "session": str(public), "reason": "x", "csrf": token}))
    assert "No such open session" in page and "sw-2" in nas.sessions


def test_staff_see_and_lift_a_password_hold(site: Site) -> None:
    limits = site.config.section(NacConfig).password_limits
    with site.store.session() as db:
        for _ in range(limits.device):
            holds.count_failure(db, "t1", "00:1b:a9:00:00:01", limits, datetime.now(UTC))
        db.commit()
    reader = site.client(Role.AUDITOR).get("/admin/nac/people/t1").get_data(as_text=True)
    assert "Password hold" in reader and "from 00:1b:a9:00:00:01 until" in reader
    assert "Lift the hold" not in reader  # nac.write only
    client = site.client(Role.ENGINEER)
    page = followed(client, client.post("/admin/nac/people/t1/unhold",
                                        data={"csrf": staff_csrf(client)}))
    assert "t1&#39;s password logins are taken again" in page and "Password hold" not in page
    with site.store.session() as db:
        assert holds.holds_of(db, "t1", limits, datetime.now(UTC)) == []
    [entry] = site.entries("admission.person.unhold")
    assert (entry.actor, entry.detail) == ("test-engineer", {"held": 1})
