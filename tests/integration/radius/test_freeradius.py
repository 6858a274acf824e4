"""The real FreeRADIUS 3.2 in front of citynet: generated config, rlm_rest, radclient."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store
from radius import profiles, vouchers
from radius.models import AccountingRecord
from radius.profiles import Terms
from radius.records import LoginRecord
from tests.integration.radius.conftest import SECRET, add_nas, radclient
from tests.lab.freeradius import generated_config, radiusd, serve_env, serving, stop
from tests.support import free_port

TOKEN = "rest-token-for-tests"
# a site's own rules ahead of citynet (the generated config's optional site-authorize)
SITE_RULES = """
if (&User-Name == "site-banned") {
    reject
}
if (&User-Name == "site-staff") {
    update control {
        &Auth-Type := Accept
    }
}
"""


@dataclass
class Front:
    auth: str
    acct: str
    web: subprocess.Popen[bytes]
    api: str


RATED = Terms(name="rated", bandwidth_up_kbps=2000, bandwidth_down_kbps=8000)


@pytest.fixture
def front(request: pytest.FixtureRequest, backend_config: Config, store: Store,
          tmp_path: Path) -> Iterator[Front]:
    """FreeRADIUS in front of citynet, for a CoovaChilli NAS or (indirect parameter) a NAS
    of that vendor on a profile with a rate."""
    vendor = getattr(request, "param", None)
    if vendor is None:
        add_nas(backend_config, store)
    else:
        with store.session() as session:
            profiles.save(session, RATED)
        add_nas(backend_config, store, vendor=vendor, policy=RATED.name)
    web_port, api_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    auth, acct = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    env = serve_env(backend_config, TOKEN, web_port, api_port)
    conf = tmp_path / "freeradius"
    generated_config(conf, env, auth, acct)
    (conf / "site-authorize").write_text(SITE_RULES)
    api = f"http://127.0.0.1:{api_port}/radius/rest"
    with serving(env) as web, radiusd(conf, auth, SECRET):
        yield Front(f"127.0.0.1:{auth}", f"127.0.0.1:{acct}", web, api)


SIGNED = "Message-Authenticator = 0x00\n"


def login(front: Front, user: str, password: str, chap: bool = False) -> str:
    field = "CHAP-Password" if chap else "User-Password"
    return radclient(front.auth, "auth", f'User-Name = "{user}"\n{field} = "{password}"\n'
                     'Calling-Station-Id = "AA-BB-CC-DD-EE-42"\n' + SIGNED).stdout


def test_voucher_logins_through_freeradius(front: Front, store: Store) -> None:
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 45, 1, "fr", valid_days=1)
        code = voucher.code
    accepted = login(front, code, code)
    assert "Received Access-Accept" in accepted
    assert 2600 < int(accepted.split("Session-Timeout = ")[1].split()[0]) <= 2700
    assert "Received Access-Accept" in login(front, code, code, chap=True)
    wrong = login(front, code, "123456")
    assert 'Received Access-Reject' in wrong and "wrong password / 密码错误" in wrong
    assert "Received Access-Reject" in login(front, "nobody", "x")
    # nobody's (404, notfound): rejected by FreeRADIUS, recorded by citynet
    assert "Received Access-Reject" in login(front, "AA-BB-CC-DD-EE-42", "AA-BB-CC-DD-EE-42")
    with store.session() as session:
        results = [r.result for r in session.scalars(
            select(LoginRecord).order_by(LoginRecord.seq))]
    # once each: no post-auth record for what citynet decided
    assert results == ["accept", "accept", "wrong password", "no valid login token",
                       "device not remembered"]


@pytest.mark.parametrize(("front", "up", "down"), [
    ("huawei", "Huawei-Input-Average-Rate", "Huawei-Output-Average-Rate"),
    ("h3c", "H3C-Input-Average-Rate", "H3C-Output-Average-Rate")], indirect=["front"])
def test_a_huawei_or_h3c_nas_gets_its_rate_through_freeradius(front: Front, store: Store,
                                                              up: str, down: str) -> None:
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 45, 1, "fr", valid_days=1)
        code = voucher.code
    accepted = login(front, code, code, chap=True)
    assert "Received Access-Accept" in accepted, accepted
    assert f"{up} = 2000000" in accepted and f"{down} = 8000000" in accepted, accepted
    assert "WISPr-Bandwidth-Max-Down = 8000000" in accepted


def test_a_chinese_ssid_and_a_full_width_code_arrive_as_sent(front: Front,
                                                            store: Store) -> None:
    """FreeRADIUS 3.2's rlm_rest escapes every byte >= 0x80 of a string on its own: the
    API reads the UTF-8 back (a district's SSIDs are Chinese; people type full-width)."""
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 45, 1, "fr", valid_days=1)
        code = voucher.code
    wide = code.translate({ord(c): ord(c) + 0xFEE0 for c in code})  # ＡＢ… as typed
    called = "AA-BB-CC-DD-EE-FF:免费WiFi-福田"
    answer = radclient(front.auth, "auth", f'User-Name = "{wide}"\nUser-Password = "{wide}"\n'
                       f'Called-Station-Id = "{called}"\n'
                       'Calling-Station-Id = "AA-BB-CC-DD-EE-42"\n' + SIGNED).stdout
    assert "Received Access-Accept" in answer
    with store.session() as session:
        [record] = session.scalars(select(LoginRecord)).all()
    assert (record.identity, record.called_station) == (code, called)


def test_what_the_site_s_own_rules_decide_is_recorded(front: Front, store: Store) -> None:
    assert "Received Access-Accept" in login(front, "site-staff", "any")
    assert "Received Access-Reject" in login(front, "site-banned", "any")
    with store.session() as session:
        rows = [(r.identity, r.method, r.result, r.nas, r.mac) for r in session.scalars(
            select(LoginRecord).order_by(LoginRecord.seq))]
    assert rows == [
        ("site-staff", "fr:accept", "accept", "test-gw", "aa:bb:cc:dd:ee:42"),
        ("site-banned", "fr", "rejected by FreeRADIUS", "test-gw", "aa:bb:cc:dd:ee:42")]


def test_accounting_through_freeradius(front: Front, store: Store) -> None:
    result = radclient(front.acct, "acct", 'User-Name = "u1"\nAcct-Status-Type = Start\n'
                       'Acct-Session-Id = "fr-acct-1"\nFramed-IP-Address = 10.8.0.77\n')
    assert "Received Accounting-Response" in result.stdout
    with store.session() as session:
        record = session.scalars(select(AccountingRecord)).one()
        assert (record.status, record.session_id, record.framed_ip) == (
            "start", "fr-acct-1", "10.8.0.77")
        assert session.scalars(select(LoginRecord.event)).all() == ["session-start"]


def test_freeradius_fails_closed_when_citynet_is_down(front: Front, store: Store) -> None:
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 45, 1, "fr", valid_days=1)
        code = voucher.code
    stop(front.web)
    assert "Received Access-Reject" in login(front, code, code)
    # the site's accept cannot be recorded: rejected too
    assert "Received Access-Reject" in login(front, "site-staff", "any")
    acct = radclient(front.acct, "acct", 'User-Name = "u1"\nAcct-Status-Type = Start\n'
                     'Acct-Session-Id = "fr-down"\n')
    assert "No reply from server" in acct.stdout + acct.stderr  # the NAS will retry


def test_the_api_refuses_calls_without_the_token(front: Front) -> None:
    for headers in ({}, {"X-Citynet-Token": "wrong"}):
        request = urllib.request.Request(front.api + "/authorize?nas=x",
                                         data=b"{}", headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        refused.value.close()
        assert refused.value.code == 403


def test_config_into_a_directory_it_cannot_write_is_a_refusal(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    result = CliRunner().invoke(cli, ["freeradius", "config", "--out", str(blocked / "fr")],
                                env={"CITYNET_DATA_DIR": str(backend_config.data_path),
                                     "CITYNET_DATABASE__URL": backend_config.database.url,
                                     "CITYNET_RADIUS__REST_TOKEN": "a-token"})
    assert result.exit_code == 1, result.output
    assert f"cannot write {blocked / 'fr'}" in result.output


def test_config_listens_where_the_switch_templates_send(backend_config: Config, store: Store,
                                                        tmp_path: Path) -> None:
    """The device templates point switches at radius.auth_port/acct_port (FreeRADIUS's
    ports when it is in front): the generated config listens there unless told."""
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url,
           "CITYNET_RADIUS__REST_TOKEN": "a-token", "CITYNET_RADIUS__AUTH_PORT": "1645",
           "CITYNET_RADIUS__ACCT_PORT": "1646"}
    result = CliRunner().invoke(cli, ["freeradius", "config", "--out", str(tmp_path / "a")],
                                env=env)
    assert result.exit_code == 0, result.output
    conf = (tmp_path / "a" / "radiusd.conf").read_text()
    assert "port = 1645" in conf and "port = 1646" in conf and "port = 1812" not in conf
    result = CliRunner().invoke(cli, ["freeradius", "config", "--out", str(tmp_path / "b"),
                                      "--auth-port", "18120", "--acct-port", "18130"], env=env)
    assert result.exit_code == 0, result.output
    conf = (tmp_path / "b" / "radiusd.conf").read_text()
    assert "port = 18120" in conf and "port = 18130" in conf
