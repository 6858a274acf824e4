"""citynet's listener against Debian's radclient, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import func, select

from citynet.config import Config, RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from radius import codec
from radius.models import AccountingRecord, RadiusSession
from radius.service import RadiusService
from radius.wire import Code
from tests.integration.radius.conftest import SECRET, Listener, add_nas, radclient
from tests.support import status_server

SIGNED = "Message-Authenticator = 0x00\n"


def test_status_server(listener: Listener) -> None:
    for server in (listener.auth, listener.acct):
        result = radclient(server, "status", SIGNED)
        assert result.returncode == 0, result.stderr
        assert "Received Access-Accept" in result.stdout or (
            "Received Accounting-Response" in result.stdout)
        assert "Message-Authenticator = 0x" in result.stdout.split("Received", 1)[1]


def test_an_unknown_user_is_rejected_with_a_readable_message(listener: Listener) -> None:
    result = radclient(listener.auth, "auth",
                       'User-Name = "nobody"\nUser-Password = "x"\n' + SIGNED)
    assert "Received Access-Reject" in result.stdout
    # not a voucher, not a MAC: a phone number without a live token from the portal
    assert 'Reply-Message = "no valid login token / 登录凭证无效或已过期，请重新登录"' in (
        result.stdout)


def test_unsigned_and_wrongly_signed_requests_get_no_answer(listener: Listener) -> None:
    unsigned = radclient(listener.auth, "auth", 'User-Name = "a"\nUser-Password = "x"\n')
    assert "No reply from server" in unsigned.stdout + unsigned.stderr
    wrong = radclient(listener.auth, "auth", 'User-Name = "a"\nUser-Password = "x"\n' + SIGNED,
                      secret="not-the-secret")
    assert "No reply from server" in wrong.stdout + wrong.stderr
    counters = listener.counters
    assert counters["dropped: no Message-Authenticator"] >= 1
    assert counters["dropped: bad signature"] >= 1
    assert counters.get("rejected", 0) == 0


def accounting(status: str, session: str, seconds: int = 0, octets: int = 0) -> str:
    return (f'User-Name = "13800138000"\nAcct-Status-Type = {status}\n'
            f'Acct-Session-Id = "{session}"\nCalling-Station-Id = "AA-BB-CC-DD-EE-FF"\n'
            f'Framed-IP-Address = 10.8.0.23\nAcct-Session-Time = {seconds}\n'
            f"Acct-Input-Octets = {octets}\nAcct-Output-Octets = {2 * octets}\n")


def test_a_session_start_interim_stop(listener: Listener) -> None:
    for status, seconds, octets in (("Start", 0, 0), ("Interim-Update", 300, 1000),
                                    ("Stop", 420, 1500)):
        result = radclient(listener.acct, "acct", accounting(status, "sess-1", seconds, octets))
        assert "Received Accounting-Response" in result.stdout, result.stdout + result.stderr
    with listener.store.session() as session:
        records = session.scalars(select(AccountingRecord).order_by(AccountingRecord.id)).all()
        live = session.scalars(select(RadiusSession)).one()
    assert [r.status for r in records] == ["start", "interim", "stop"]
    assert records[-1].framed_ip == "10.8.0.23"
    assert (live.username, live.session_time, live.input_octets, live.output_octets) == (
        "13800138000", 420, 1500, 3000)
    assert live.stopped_at is not None


def test_a_retransmission_with_new_delay_is_stored_once(listener: Listener) -> None:
    host, port = listener.acct.split(":")
    attrs = {"Acct-Status-Type": "Interim-Update", "Acct-Session-Id": "sess-r",
             "User-Name": "u", "Acct-Session-Time": 60}
    first = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(), attrs,
                                 identifier=1, message_authenticator=False)
    retry = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET.encode(),
                                 {**attrs, "Acct-Delay-Time": 4}, identifier=2,
                                 message_authenticator=False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(10)
        for data in (first, retry, first):  # the last: an exact duplicate, from the cache
            sock.sendto(data, (host, int(port)))
            reply, _ = sock.recvfrom(4096)
            assert reply[0] == Code.ACCOUNTING_RESPONSE
    with listener.store.session() as session:
        assert session.scalar(select(func.count()).select_from(AccountingRecord)) == 1
    assert listener.counters["duplicates"] == 1


def test_accounting_on_closes_the_nas_sessions(listener: Listener) -> None:
    radclient(listener.acct, "acct", accounting("Start", "s-a"))
    radclient(listener.acct, "acct", accounting("Start", "s-b"))
    result = radclient(listener.acct, "acct", "Acct-Status-Type = Accounting-On\n")
    assert "Received Accounting-Response" in result.stdout
    with listener.store.session() as session:
        open_sessions = session.scalar(select(func.count()).select_from(RadiusSession)
                                       .where(RadiusSession.stopped_at.is_(None)))
        causes = set(session.scalars(select(RadiusSession.terminate_cause)))
    assert open_sessions == 0 and causes == {"NAS-Reboot"}


def test_parallel_load_from_radclient_loses_nothing(listener: Listener, tmp_path: Path) -> None:
    count = 600
    requests = tmp_path / "acct.txt"
    requests.write_text("\n".join(accounting("Start", f"load-{i:04d}", 0, i)
                                  for i in range(count)))
    result = radclient(listener.acct, "acct", "", "-p", "64", "-s", "-f", str(requests))
    assert result.returncode == 0, result.stderr[-2000:]
    summary = {key.strip(): value.strip() for key, value in (
        line.split(":", 1) for line in result.stdout.splitlines()
        if line.startswith("\t") and " : " in line)}
    assert (summary["Accepted"], summary["Lost"]) == (str(count), "0")
    with listener.store.session() as session:
        stored = session.scalar(select(func.count()).select_from(AccountingRecord))
    assert stored == count
    assert listener.counters["accounting stored"] == count


def test_a_nas_added_while_running_is_served(backend_config: Config, store: Store) -> None:
    add_nas(backend_config, store)
    service = RadiusService(store, open_box(backend_config, store),
                            RadiusConfig(auth_port=0, acct_port=0, nas_refresh_seconds=0.2))
    service.start()
    try:
        secret = b"second-nas-secret"
        assert status_server(service.ports[0], secret, source="127.0.0.2") is None
        with store.session() as session:
            assert import_rows(session, [RawRow("t", 1, KINDS["nas"], {
                "name": "second", "address": "127.0.0.2", "secret": "second-nas-secret"})],
                open_box(backend_config, store)).ok
        reply = status_server(service.ports[0], secret, source="127.0.0.2", attempts=50)
        assert reply is not None and reply[0] == Code.ACCESS_ACCEPT
    finally:
        service.stop()


def test_sessions_list_shows_what_accounting_reported(listener: Listener,
                                                      backend_config: Config) -> None:
    from click.testing import CliRunner

    from citynet.cli import cli

    radclient(listener.acct, "acct", accounting("Start", "sess-open", 0, 0))
    radclient(listener.acct, "acct", accounting("Start", "sess-done", 0, 0))
    radclient(listener.acct, "acct", accounting("Stop", "sess-done", 120, 5_000_000))
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url}
    runner = CliRunner()
    open_only = runner.invoke(cli, ["sessions", "list"], env=env)
    assert open_only.exit_code == 0, open_only.output
    assert "sess-open" in open_only.output and "sess-done" not in open_only.output
    assert "aa:bb:cc:dd:ee:ff" in open_only.output and "10.8.0.23" in open_only.output
    everything = runner.invoke(cli, ["sessions", "list", "--all", "--mac", "AABB.CCDD.EEFF"],
                               env=env)
    assert "sess-done" in everything.output and "stopped" in everything.output


def test_a_legacy_nas_set_to_off_gets_answers_to_unsigned_requests(
        backend_config: Config, store: Store) -> None:
    with store.session() as session:
        assert import_rows(session, [RawRow("t", 1, KINDS["nas"], {
            "name": "legacy-ac", "address": "127.0.0.1", "secret": SECRET,
            "message_authenticator": "off"})], open_box(backend_config, store, create=True)).ok
    service = RadiusService(store, open_box(backend_config, store),
                            RadiusConfig(auth_port=0, acct_port=0))
    service.start()
    try:
        unsigned = radclient(f"127.0.0.1:{service.ports[0]}", "auth",
                             'User-Name = "nobody"\nUser-Password = "x"\n')
        assert "Received Access-Reject" in unsigned.stdout
        assert "Message-Authenticator = 0x" in unsigned.stdout  # replies are still signed
    finally:
        service.stop()
    assert service.server.counters["unsigned (NAS set to off)"] == 1
