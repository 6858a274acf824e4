"""Disconnect and CoA against a stateful fake NAS (no runnable CoA peer exists here)."""

from __future__ import annotations

from citynet.config import Config
from radius import coa
from radius.wire import Code
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET as NAS_SECRET
from tests.integration.radius.conftest import Listener, radclient

SECRET = b"coa-secret"
SESSION = coa.session_identity("13800138000", "sess-42", "AA-BB-CC-DD-EE-FF", "10.8.0.23")


def test_disconnect_of_a_live_session_is_acknowledged() -> None:
    with FakeNas(SECRET, sessions={"sess-42": {}}) as nas:
        result = coa.send("127.0.0.1", SECRET, Code.DISCONNECT_REQUEST, SESSION, port=nas.port)
        assert (result.ok, result.answer, result.attempts) == (True, "Disconnect-ACK", 1)
        assert "sess-42" not in nas.sessions


def test_a_nak_reports_its_error_cause() -> None:
    with FakeNas(SECRET, sessions={}) as nas:
        result = coa.send("127.0.0.1", SECRET, Code.DISCONNECT_REQUEST, SESSION, port=nas.port)
    assert not result.ok
    assert (result.answer, result.error_cause) == ("Disconnect-NAK", "Session-Context-Not-Found")


def test_retries_resend_the_same_request_after_loss() -> None:
    with FakeNas(SECRET, sessions={"sess-42": {}}, drop_first=2) as nas:
        result = coa.send("127.0.0.1", SECRET, Code.DISCONNECT_REQUEST, SESSION, port=nas.port,
                          timeout=0.3, attempts=4)
        assert result.ok and result.attempts == 3
        assert len(set(nas.received)) == 1  # one Identifier, one authenticator, three sends


def test_bandwidth_change_by_coa() -> None:
    with FakeNas(SECRET, sessions={"sess-42": {}}) as nas:
        result = coa.send("127.0.0.1", SECRET, Code.COA_REQUEST, SESSION,
                          extra={"WISPr-Bandwidth-Max-Down": 2_000_000}, port=nas.port)
        assert (result.ok, result.answer) == (True, "CoA-ACK")
        assert nas.sessions["sess-42"]["WISPr-Bandwidth-Max-Down"] == 2_000_000


def test_wrong_secret_or_no_nas_means_no_answer() -> None:
    with FakeNas(b"other-secret", sessions={"sess-42": {}}) as nas:
        result = coa.send("127.0.0.1", SECRET, Code.DISCONNECT_REQUEST, SESSION, port=nas.port,
                          timeout=0.2, attempts=2)
        assert (result.ok, result.answer, result.attempts) == (False, "no answer", 2)
        assert len(nas.received) == 2


def test_sessions_kick_through_the_cli(listener: Listener, backend_config: Config) -> None:
    from click.testing import CliRunner

    from citynet.cli import cli

    radclient(listener.acct, "acct", (
        'User-Name = "13800138000"\nAcct-Status-Type = Start\nAcct-Session-Id = "sess-42"\n'
        'Calling-Station-Id = "AA-BB-CC-DD-EE-FF"\n'))
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url}
    with FakeNas(NAS_SECRET.encode(), sessions={"sess-42": {}}) as nas:
        result = CliRunner().invoke(cli, ["sessions", "kick", "sess-42", "--port",
                                          str(nas.port)], env=env)
        assert result.exit_code == 0, result.output
        assert "Disconnect-ACK after 1 attempt(s)" in result.output
        again = CliRunner().invoke(cli, ["sessions", "kick", "sess-42", "--port",
                                         str(nas.port)], env=env)
        said = CliRunner().invoke(cli, ["--lang", "zh-Hant", "sessions", "kick", "sess-42",
                                        "--port", str(nas.port)], env=env)
    assert again.exit_code == 1
    assert "Disconnect-NAK (Session-Context-Not-Found) after 1 attempt(s)" in again.output
    assert said.exit_code == 1
    assert said.stderr == ("Error: 未中斷：Disconnect-NAK（Session-Context-Not-Found），"
                           "共嘗試 1 次\n")
