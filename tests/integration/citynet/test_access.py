"""Staff login, sessions and the role matrix on the web app: every role against every
protected page and API (allowed or 403), 2FA for admins and engineers, lockout, CSRF,
session expiry, API tokens and the audit of every login."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from citynet import audit, staff
from citynet.access import NOT_STAFF
from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.staff import Role, StaffUser
from tests.conftest import make_config
from tests.support import csrf_in, role_matrix
from tests.support import staff_csrf as csrf

PASSWORD = "correct horse battery"
PAGES = {  # path → the permission it needs
    "/inventory/": "inventory.read",
    "/inventory/hotspots": "inventory.read",
    "/inventory/summary.json": "inventory.read",
    "/dashboard/": "dashboard.read",
    "/dashboard/export.csv": "reports.export",
    "/dashboard/report": "reports.export",
    "/admin/": "inventory.read",
    "/admin/audit": "audit.read",
    "/admin/devices/jobs": "devices.read",
    "/admin/staff": "staff.admin",
    "/admin/sessions": "sessions.read",
    "/admin/sessions.json": "sessions.read",
    "/admin/records": "records.read",
    "/admin/settings/retention": "settings.write",
    "/admin/vouchers": "vouchers.write",
    "/admin/vouchers.json": "vouchers.write",
    "/admin/remembered": "sessions.read",
    "/admin/merchants": "merchants.write",
    "/admin/merchants.json": "merchants.write",
    "/admin/devices/changes": "devices.read",
    "/admin/devices/changes.json": "devices.read",
    "/admin/inventory/streets": "inventory.read",
    "/admin/inventory/nas.json": "inventory.read",
    "/admin/nac/people": "nac.read",
    "/admin/nac/certificates": "nac.read",
    "/admin/nac/mab": "nac.read",
    "/admin/nac/sessions": "nac.read",
}


class Site:
    def __init__(self, tmp_path: Path, **sections: Any) -> None:
        self.config = make_config(tmp_path, **sections)
        self.store = Store.from_config(self.config)
        self.store.upgrade()
        self.box: SecretBox = open_box(self.config, self.store, create=True)
        self.app = create_app(self.store, self.config, box=self.box,
                              test_config={"TESTING": True})

    def client(self, lang: str = "en") -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        return client

    def add(self, name: str, role: Role) -> None:
        with self.store.session() as session:
            staff.add(session, name, role, PASSWORD)

    def secret(self, name: str) -> str:
        with self.store.session() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.name == name))
            assert user is not None and user.totp_sealed is not None
            return self.box.open(user.totp_sealed)

    def login(self, client: FlaskClient, name: str, password: str = PASSWORD) -> str:
        """Log in through the forms (enrolling the app when asked); the final page path."""
        page = client.post("/login", data={"name": name, "password": password,
                                           "csrf": csrf(client, "/login"), "next": "/"})
        location = page.headers.get("Location", "")
        if "/login/enrol" in location or "/login/code" in location:
            form = client.get(location)
            assert form.status_code == 200
            code = pyotp.TOTP(self.secret(name)).now()
            page = client.post(location.split("?")[0], data={
                "code": code, "csrf": csrf_in(form.get_data(as_text=True)), "next": "/"})
        return page.headers.get("Location", str(page.status_code))




@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path)
    try:
        yield made
    finally:
        made.store.close()


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(site: Site, role: Role) -> None:
    site.add(f"user-{role.value}", role)
    client = site.client()
    assert site.login(client, f"user-{role.value}") == "/"
    role_matrix(role, PAGES.items(), lambda path: client.get(path).status_code)


def test_without_login_pages_redirect_and_json_says_401(site: Site) -> None:
    client = site.client()
    page = client.get("/dashboard/")
    assert page.status_code == 302 and page.headers["Location"].startswith(
        "/login?next=/dashboard/")
    api = client.get("/inventory/summary.json")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/healthz").status_code == 200  # the probe stays open


def test_admins_and_engineers_need_the_second_factor(site: Site) -> None:
    site.add("eng", Role.ENGINEER)
    client = site.client()
    first = client.post("/login", data={"name": "eng", "password": PASSWORD,
                                        "csrf": csrf(client, "/login")})
    assert "/login/enrol" in first.headers["Location"]
    assert client.get("/inventory/").status_code == 302  # not logged in yet
    enrol = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "<svg" in enrol  # the QR code
    code = pyotp.TOTP(site.secret("eng")).now()
    wrong = client.post("/login/enrol", data={"code": "000000" if code != "000000" else "1",
                                              "csrf": csrf_in(enrol)})
    assert wrong.status_code == 401
    done = client.post("/login/enrol", data={"code": code, "csrf": csrf_in(enrol)})
    assert done.status_code == 302 and client.get("/inventory/").status_code == 200
    # next time: the code step; the same time step is never accepted twice
    again = site.client()
    step = again.post("/login", data={"name": "eng", "password": PASSWORD,
                                      "csrf": csrf(again, "/login")})
    assert "/login/code" in step.headers["Location"]
    form = again.get(step.headers["Location"]).get_data(as_text=True)
    reused = again.post("/login/code", data={"code": code, "csrf": csrf_in(form)})
    assert reused.status_code == 401
    # a password alone never reaches the enrolment of a new app
    assert "/login/code" in again.get("/login/enrol").headers["Location"]


def test_enrolment_shows_the_key_as_text_and_keeps_it_across_reloads(site: Site) -> None:
    site.add("eng", Role.ENGINEER)
    client = site.client()
    first = client.post("/login", data={"name": "eng", "password": PASSWORD,
                                        "csrf": csrf(client, "/login")})
    shown = client.get(first.headers["Location"]).get_data(as_text=True)
    typed = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', shown)
    uri = re.search(r'<code id="otpauth-uri" class="uri">([^<]+)</code>', shown)
    assert typed is not None and uri is not None
    key = typed.group(1).replace(" ", "")
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", typed.group(1))  # in groups
    assert pyotp.parse_uri(html.unescape(uri.group(1))).secret == key == site.secret("eng")
    # the app scanned it; the page is reloaded: the same key, so the app's code works
    reloaded = client.get(first.headers["Location"]).get_data(as_text=True)
    assert f'<code id="secret">{typed.group(1)}</code>' in reloaded
    assert site.secret("eng") == key
    # asked for explicitly, a new key replaces it
    renewed = client.post("/login/enrol/new", data={"csrf": csrf_in(reloaded)})
    assert "/login/enrol" in renewed.headers["Location"]
    assert site.secret("eng") != key
    fresh = client.get(renewed.headers["Location"]).get_data(as_text=True)
    done = client.post("/login/enrol", data={
        "code": pyotp.TOTP(site.secret("eng")).now(), "csrf": csrf_in(fresh)})
    assert done.status_code == 302 and client.get("/inventory/").status_code == 200
    # enrolled: a password alone never gets a new key
    enrolled = site.secret("eng")
    again = site.client()
    step = again.post("/login", data={"name": "eng", "password": PASSWORD,
                                      "csrf": csrf(again, "/login")})
    form = again.get(step.headers["Location"]).get_data(as_text=True)
    again.post("/login/enrol/new", data={"csrf": csrf_in(form)})
    assert site.secret("eng") == enrolled


def test_lockout_grows_and_is_audited(site: Site) -> None:
    site.add("mgr", Role.MANAGER)
    client = site.client()
    for _ in range(5):
        bad = client.post("/login", data={"name": "mgr", "password": "nope",
                                          "csrf": csrf(client, "/login")})
        assert bad.status_code == 401
    locked = client.post("/login", data={"name": "mgr", "password": PASSWORD,
                                         "csrf": csrf(client, "/login")})
    assert locked.status_code == 401  # the same words as a wrong password: nothing told
    assert "Wrong name or password, or too many attempts" in locked.get_data(as_text=True)
    with site.store.session() as session:
        entries = [(e.action, e.target, e.result) for e in audit.recent(session, "staff.")]
        assert entries.count(("staff.login", "mgr", "failed")) == 6
        assert audit.verify(session)[1] == []


def _held_site(tmp_path: Path, backend_config: Config) -> Site:
    """A site on SQLite or PostgreSQL whose staff sign-in holds an address after 4
    failures."""
    return Site(tmp_path, database={"url": backend_config.database.url},
                web={"staff_source_failures": 4})


def _sign_in(client: FlaskClient, name: str, password: str) -> Any:
    return client.post("/login", data={"name": name, "password": password, "next": "/",
                                       "csrf": csrf(client, "/login")})


def test_one_password_over_many_names_holds_the_address(
        tmp_path: Path, backend_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Password spraying locks no account: the address is held after
    ``web.staff_source_failures`` failures over any names, right password or not, for
    15 minutes, with 429 and Retry-After; another address is not held, nobody's own
    lock is set, and every try is audited."""
    site = _held_site(tmp_path, backend_config)
    try:
        for name in ("wang", "zhao", "li"):
            site.add(name, Role.MANAGER)
        sprayer, neighbour = site.client(), site.client()
        sprayer.environ_base["REMOTE_ADDR"] = "10.30.0.7"
        neighbour.environ_base["REMOTE_ADDR"] = "10.30.0.8"
        for name in ("wang", "nobody", "zhao", "li"):  # known and unknown names alike
            assert _sign_in(sprayer, name, "Summer2026!").status_code == 401
        held = _sign_in(sprayer, "wang", PASSWORD)
        assert held.status_code == 429
        assert 0 < int(held.headers["Retry-After"]) <= 15 * 60
        assert "Too many failed sign-ins from your network" in held.get_data(as_text=True)
        with site.store.session() as session:
            for name in ("wang", "zhao", "li"):
                user = staff.get(session, name)
                assert (user.failures, user.locked_until) == (1, None)
            reasons = [e.detail.get("reason") for e in audit.recent(session, "staff.")]
            assert reasons.count("held") == 1 and reasons.count("unknown") == 1
        assert _sign_in(neighbour, "wang", PASSWORD).headers["Location"] == "/"
        # the window over, the address is taken again
        later = datetime.now(UTC) + timedelta(minutes=16)
        monkeypatch.setattr("citynet.access._now", lambda: later)
        assert _sign_in(sprayer, "zhao", PASSWORD).headers["Location"] == "/"
    finally:
        site.store.close()


def test_an_ipv6_host_is_held_by_its_64(tmp_path: Path, backend_config: Config) -> None:
    """One host may take any address of its /64: hopping inside it does not escape."""
    site = _held_site(tmp_path, backend_config)
    try:
        site.add("wang", Role.MANAGER)
        hopper = site.client()
        for number in range(1, 5):
            hopper.environ_base["REMOTE_ADDR"] = f"2001:db8:7:7::{number}"
            assert _sign_in(hopper, f"u{number}", "Summer2026!").status_code == 401
        hopper.environ_base["REMOTE_ADDR"] = "2001:db8:7:7:a:b:c:d"
        assert _sign_in(hopper, "wang", PASSWORD).status_code == 429
        chinese = site.client(lang="")  # the staff web's first language
        chinese.environ_base["REMOTE_ADDR"] = "2001:db8:7:7::5"
        held = _sign_in(chinese, "wang", PASSWORD)
        assert held.status_code == 429 and "登录失败次数过多" in held.get_data(as_text=True)
        hopper.environ_base["REMOTE_ADDR"] = "2001:db8:7:8::1"  # the next /64
        assert _sign_in(hopper, "wang", PASSWORD).headers["Location"] == "/"
    finally:
        site.store.close()


def test_wrong_codes_count_toward_the_address(tmp_path: Path, backend_config: Config) -> None:
    """Someone who knows passwords must not get five code guesses on every account from
    one address: wrong codes count too, and a held address reaches no code check."""
    site = _held_site(tmp_path, backend_config)
    try:
        site.add("eng", Role.ENGINEER)
        assert site.login(site.client(), "eng") == "/"  # enrolled, from elsewhere
        guesser = site.client()
        guesser.environ_base["REMOTE_ADDR"] = "10.30.0.9"
        step = _sign_in(guesser, "eng", PASSWORD).headers["Location"]
        assert "/login/code" in step
        right = pyotp.TOTP(site.secret("eng")).now()
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for _ in range(4):
            form = guesser.get(step).get_data(as_text=True)
            answer = guesser.post("/login/code", data={"code": wrong, "csrf": csrf_in(form)})
            assert answer.status_code == 401
        form = guesser.get(step).get_data(as_text=True)
        held = guesser.post("/login/code", data={"code": right, "csrf": csrf_in(form)})
        assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins from your network" in held.get_data(as_text=True)
        assert _sign_in(guesser, "eng", PASSWORD).status_code == 429
        with site.store.session() as session:
            assert staff.get(session, "eng").locked_until is None  # 4 < the account's 5
    finally:
        site.store.close()


def test_csrf_open_redirects_and_a_new_session_at_login(site: Site) -> None:
    site.add("aud", Role.AUDITOR)
    client = site.client()
    assert client.post("/login", data={"name": "aud", "password": PASSWORD}).status_code == 400
    with client.session_transaction() as planted:
        planted["attacker"] = "fixed"
    landed = client.post("/login", data={"name": "aud", "password": PASSWORD,
                                         "csrf": csrf(client, "/login"),
                                         "next": "//evil.example/x"})
    assert landed.headers["Location"] == "/"  # never off-site
    with client.session_transaction() as fresh:
        assert "attacker" not in fresh and "staff_id" in fresh
    assert client.post("/logout", data={}).status_code == 400  # logout needs the token too


def test_logout_ends_every_copy_of_the_session(site: Site) -> None:
    site.add("mgr", Role.MANAGER)
    client = site.client()
    site.login(client, "mgr")
    with client.session_transaction() as state:
        stolen = dict(state)  # a copy of the signed cookie's content
    client.post("/logout", data={"csrf": csrf(client, "/dashboard/")})
    with client.session_transaction() as state:
        state.update(stolen)  # the old cookie, replayed
    assert client.get("/dashboard/").status_code == 302
    site.login(client, "mgr")
    assert client.get("/dashboard/").status_code == 200
    with site.store.session() as session:
        staff.set_password(session, "mgr", "another long password 2")
    assert client.get("/dashboard/").status_code == 302  # a new password ends sessions


def test_idle_and_absolute_timeouts_end_the_session(site: Site) -> None:
    site.add("mgr", Role.MANAGER)
    client = site.client()
    site.login(client, "mgr")
    assert client.get("/dashboard/").status_code == 200
    with client.session_transaction() as state:
        state["staff_seen"] = datetime.now(UTC).timestamp() - 31 * 60
    expired = client.get("/dashboard/")
    assert expired.status_code == 302
    assert "expired" in client.get(expired.headers["Location"]).get_data(as_text=True)
    site.login(client, "mgr")
    with client.session_transaction() as state:
        state["staff_since"] = datetime.now(UTC).timestamp() - 13 * 3600
    assert client.get("/dashboard/").status_code == 302


def test_api_tokens_carry_their_owners_permissions(site: Site) -> None:
    site.add("mgr", Role.MANAGER)
    site.add("ops", Role.OPERATOR)
    with site.store.session() as session:
        manager_token = staff.issue_token(session, "mgr", "reports")
        operator_token = staff.issue_token(session, "ops", "scripts")
    client = site.client()
    ok = client.get("/dashboard/export.csv",
                    headers={"Authorization": f"Bearer {manager_token}"})
    assert ok.status_code == 200 and ok.mimetype == "text/csv"
    assert client.get("/dashboard/export.csv", headers={
        "Authorization": f"Bearer {operator_token}"}).status_code == 403
    assert client.get("/inventory/summary.json", headers={
        "Authorization": "Bearer cnt_not-a-token"}).status_code == 401


def test_audit_log_and_device_jobs_pages(site: Site) -> None:
    with site.store.session() as session:
        seq = audit.record(session, audit.Action(
            "devices.push", "site:笋岗社区", "partial", "CHG-9",
            {"devices": [{"hostname": "sw1", "status": "pushed", "added": ["+ ntp server x"],
                          "removed": [], "error": "", "rollback": ""},
                         {"hostname": "sw2", "status": "rolled_back", "added": [],
                          "removed": [], "error": "sw2: refused 'x'",
                          "rollback": "restored"}],
             "not_ready": [{"hostname": "sw3", "reason": "no credential"}]}))
    site.add("boss", Role.ADMIN)
    client = site.client()
    site.login(client, "boss")
    home = client.get("/admin/").get_data(as_text=True)
    assert all(title in home for title in ("Dashboard", "Device jobs", "Audit log"))
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "Chain intact" in log and "CHG-9" in log and "staff.login" in log
    job = client.get(f"/admin/devices/jobs/{seq}").get_data(as_text=True)
    assert "+ ntp server x" in job and "refused" in job and "no credential" in job
    assert ">pushed<" in job and ">rolled_back<" in job
    said = client.get(f"/admin/devices/jobs/{seq}", headers={
        "Accept-Language": "zh-Hant"}).get_data(as_text=True)
    assert ">已還原<" in said and ">rolled_back<" not in said  # the record keeps its value
    assert client.get("/admin/devices/jobs/99999").status_code == 404
    assert client.get("/admin/audit?before=x").status_code == 400
    assert client.get("/admin/audit.json?before=1&before=2").status_code == 400  # once
    site.add("ops", Role.OPERATOR)
    operator = site.client()
    site.login(operator, "ops")
    menu = operator.get("/admin/").get_data(as_text=True)
    assert "Inventory" in menu and "Audit log" not in menu and "Dashboard" not in menu


def test_staff_pages_speak_chinese_first_and_switch_to_english(site: Site) -> None:
    site.add("ops", Role.OPERATOR)
    client = site.client(lang="")
    login = client.get("/login?next=/admin/").get_data(as_text=True)
    assert "用户名" in login and 'lang="zh-CN"' in login
    assert "next=%2Fadmin%2F" in login  # the switch keeps where the login leads
    site.login(client, "ops")
    home = client.get("/admin/").get_data(as_text=True)  # the menu: RADIUS's catalog
    assert "上网会话" in home and "Sessions" not in home
    english = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Sessions" in english and "上网会话" not in english
    assert "Sessions" in client.get("/admin/").get_data(as_text=True)  # kept for the session
    refused = client.get("/admin/audit?lang=zh-CN")
    assert refused.status_code == 403 and "无权" in refused.get_data(as_text=True)


def test_staff_pages_speak_traditional_chinese_hong_kong_usage(site: Site) -> None:
    """zh-Hant through the same picker: the Traditional catalogs' wording, not the
    Simplified text converted (登入, not 登錄); a Hong Kong browser reads it unasked."""
    site.add("ops", Role.OPERATOR)
    hong_kong = site.client(lang="zh-HK,zh;q=0.8")
    login = hong_kong.get("/login").get_data(as_text=True)
    assert "用戶名稱" in login and "登入" in login and 'lang="zh-Hant"' in login
    assert 'hreflang="zh-CN"' in login and 'hreflang="en"' in login  # the other two
    assert 'hreflang="zh-Hant"' not in login
    client = site.client(lang="")
    site.login(client, "ops")
    home = client.get("/admin/?lang=zh-Hant").get_data(as_text=True)
    assert "上網連線" in home and "登出" in home and "上网会话" not in home
    refused = client.get("/admin/audit")  # kept for the session
    assert refused.status_code == 403 and "無權執行此操作" in refused.get_data(as_text=True)


OPEN = {"static", "home", "healthz", "openapi_document", "access.login", "access.logout",
        "access.second_factor", "access.enrol", "access.enrol_anew",
        "metrics_page"}  # guarded by address (metrics.allow), not by a staff login


def test_every_staff_view_states_its_permission(site: Site) -> None:
    """A view added without ``@require`` would be open to anyone: none is."""
    unguarded = [endpoint for endpoint, view in site.app.view_functions.items()
                 if endpoint.split(".")[0] not in NOT_STAFF and endpoint not in OPEN
                 and getattr(view, "permission", None) is None]
    assert unguarded == []
    assert site.app.view_functions["admin.audit_log"].permission == "audit.read"


def test_admins_manage_staff_accounts_on_the_web(site: Site) -> None:
    site.add("boss", Role.ADMIN)
    site.add("wang", Role.MANAGER)
    admin = site.client()
    site.login(admin, "boss")
    token = csrf(admin, "/admin/staff")
    added = admin.post("/admin/staff", data={"name": "front-1", "role": "operator",
                                              "csrf": token})
    html = added.get_data(as_text=True)
    found = re.search(r'<code id="new-password">([^<]+)</code>', html)
    assert added.status_code == 200 and found is not None
    assert added.headers["Cache-Control"] == "no-store"  # the password stays out of caches
    newcomer = site.client()
    assert site.login(newcomer, "front-1", found.group(1)) == "/"  # the password works
    assert admin.post("/admin/staff", data={"name": "front-1", "role": "operator",
                                             "csrf": token}).status_code == 400  # taken
    assert admin.post("/admin/staff", data={"name": "x", "role": "god",
                                             "csrf": token}).status_code == 400
    manager = site.client()
    site.login(manager, "wang")
    assert admin.post("/admin/staff/wang/disable", data={"csrf": token}).status_code == 302
    assert manager.get("/dashboard/").status_code == 302  # the session ended at once
    assert site.login(site.client(), "wang") != "/"  # and no new one starts
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert "wang: disabled" in page
    admin.post("/admin/staff/wang/enable", data={"csrf": token})
    assert site.login(site.client(), "wang") == "/"
    refused = admin.post("/admin/staff/boss/disable", data={"csrf": token})
    assert refused.status_code == 403
    assert "Not on your own account" in refused.get_data(as_text=True)
    assert admin.post("/admin/staff/wang/promote", data={"csrf": token}).status_code == 404
    assert admin.post("/admin/staff/wang/unlock", data={}).status_code == 400  # no CSRF
    assert site.login(newcomer, "front-1", "wrong password here") != "/"
    operator = site.client()
    site.login(operator, "front-1", found.group(1))
    assert operator.post("/admin/staff/wang/disable",
                         data={"csrf": csrf(operator, "/admin/")}).status_code == 403
    with site.store.session() as session:
        actions = [(e.action, e.target, e.actor) for e in audit.recent(session, "staff.")]
        assert found.group(1) not in str([e.detail for e in audit.recent(session)])
    assert ("staff.add", "front-1", "boss") in actions
    assert ("staff.disable", "wang", "boss") in actions
    assert ("staff.enable", "wang", "boss") in actions


def test_an_admin_cannot_disable_or_reset_their_own_account(site: Site) -> None:
    site.add("boss", Role.ADMIN)
    site.add("deputy", Role.ADMIN)
    assert site.login(site.client(), "deputy") == "/"  # enrolled: a reset-2fa button
    admin = site.client()
    assert site.login(admin, "boss") == "/"
    page = admin.get("/admin/staff").get_data(as_text=True)
    for change in ("disable", "reset-2fa"):
        assert f'action="/admin/staff/deputy/{change}"' in page  # another admin's row
        assert f'action="/admin/staff/boss/{change}"' not in page  # one's own: no button
    token = csrf(admin, "/admin/staff")
    for change in ("disable", "reset-2fa"):
        refused = admin.post(f"/admin/staff/boss/{change}", data={"csrf": token})
        assert refused.status_code == 403, change
        assert "Not on your own account" in refused.get_data(as_text=True)
    with site.store.session() as session:
        me = session.scalar(select(StaffUser).where(StaffUser.name == "boss"))
        assert me is not None and not me.disabled and me.totp_enrolled
        assert not [e for e in audit.recent(session, "staff.") if e.target == "boss"
                    and e.action != "staff.login"]
    assert admin.get("/admin/staff").status_code == 200  # still signed in


def test_odd_numbers_and_control_characters_are_refused_not_crashed_on(site: Site) -> None:
    """"²" is a digit to str.isdigit but not to int, "٣" is no ASCII digit, full-width
    digits are typed by Chinese input methods; a NUL reaches no database; an id beyond an
    INTEGER is no record: each answered, never a 500."""
    site.add("boss", Role.ADMIN)
    client = site.client()
    site.login(client, "boss")
    token = csrf(client)
    assert client.get("/admin/audit?before=٣").status_code == 400
    assert client.get("/admin/audit?before=²").status_code == 200  # NFKC: 2
    # a value of nothing but non-ASCII whitespace is given, not absent (schemathesis)
    assert client.get("/admin/audit.json?before=%C2%85").status_code == 400
    assert client.get("/admin/audit.json?before=%EF%BC%91%E3%80%80").status_code == 200  # "１　"
    assert client.get("/admin/inventory/streets?page=٣").status_code == 400
    assert client.get("/admin/sessions?who=a%00b").status_code == 400
    assert client.get("/admin/records?phone=138%00").status_code == 400
    assert client.get("/admin/records?since=9999-12-31T23:59:59-14:00").status_code == 400
    refused = client.post("/admin/sessions/kick", data={
        "session": "٣", "reason": "abuse", "csrf": token})
    assert "Choose a session" in client.get(refused.headers["Location"]).get_data(True)
    assert client.post("/admin/sessions/kick", data={
        "session": "1", "reason": "abuse\x00", "csrf": token}).status_code == 400
    assert client.post("/admin/settings/retention", data={
        "days": "１２０", "csrf": token}).status_code == 302
    assert client.post("/admin/remembered/revoke", data={
        "device": "٣", "reason": "x", "csrf": token}).status_code == 400
    assert client.get(f"/admin/merchants/{2**31}").status_code == 404
    assert client.get(f"/admin/devices/changes/{10**25}.json").status_code == 404
    with site.store.session() as session:
        assert [e for e in audit.recent(session, "sessions.") if e.action == "sessions.kick"] == []
        retention = [e.detail for e in audit.recent(session, "settings.retention")]
    assert [d["new"] for d in retention] == [120]  # the full-width number, understood
