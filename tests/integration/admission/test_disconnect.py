"""`citynet nac people disable` Disconnects the person's live sessions at once: RFC 5176
Disconnect-Requests to a NAS on loopback (tests.fakes.nas), the sessions opened by
accounting through citynet's own RADIUS listener with the Class of an 802.1X accept."""

from __future__ import annotations

import csv
import io
import json
import time

from click.testing import CliRunner, Result
from sqlalchemy import select

from citynet import audit
from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store
from radius.decisions import class_of
from radius.models import RadiusSession
from tests.fakes.nas import FakeNas
from tests.integration.radius.conftest import SECRET, Listener, listener, radclient

__all__ = ["listener"]  # the fixture, used here
PEOPLE = "username,real_name,role\nt001,王芳,teacher\na042,张伟,staff\n"


def start(listener: Listener, user: str, session_id: str, mac: str, port: str) -> None:
    """An accounting Start as a switch sends it after an 802.1X accept."""
    klass = class_of("eap", user).hex()
    answer = radclient(f"127.0.0.1:{listener.service.ports[1]}", "acct",
                       f'User-Name = "{user}"\nAcct-Status-Type = Start\n'
                       f'Acct-Session-Id = "{session_id}"\nCalling-Station-Id = "{mac}"\n'
                       f'NAS-Port-Id = "{port}"\nClass = 0x{klass}\n')
    assert "Accounting-Response" in answer.stdout, answer.stdout + answer.stderr


def with_people(config: Config) -> tuple[CliRunner, dict[str, str]]:
    """A CLI runner and its environment for ``config``'s store, PEOPLE imported."""
    env = {"CITYNET_DATA_DIR": str(config.data_path),
           "CITYNET_DATABASE__URL": config.database.url}
    hr = config.data_path / "hr.csv"
    hr.write_text(PEOPLE)
    runner = CliRunner()
    assert runner.invoke(cli, ["nac", "people", "import", str(hr)], env=env).exit_code == 0
    return runner, env


def disable(runner: CliRunner, env: dict[str, str], nas: FakeNas, username: str,
            *options: str) -> Result:
    """``citynet nac people disable`` with the CoA port of ``nas``; it succeeds."""
    result = runner.invoke(cli, [*options, "nac", "people", "disable", username],
                           env={**env, "CITYNET_RADIUS__COA_PORT": str(nas.port)})
    assert result.exit_code == 0, result.output  # disabled, however the NASes answered
    return result


def test_disabling_a_person_disconnects_their_live_sessions(
        backend_config: Config, listener: Listener) -> None:
    runner, env = with_people(backend_config)
    start(listener, "t001", "sw-0001", "00-1b-a9-00-00-01", "Gi0/0/1")
    start(listener, "t001", "sw-0002", "00-1b-a9-00-00-02", "Gi0/0/2")
    start(listener, "a042", "sw-0003", "00-1b-a9-00-00-03", "Gi0/0/3")
    store: Store = listener.store
    with store.session() as session:
        live = {row.session_id: row.identity for row in session.scalars(select(RadiusSession))}
    assert live == {"sw-0001": "t001", "sw-0002": "t001", "sw-0003": "a042"}
    # accounting per switch port: the sessions and their records say which port
    ported = runner.invoke(cli, ["sessions", "list", "--nas", "test-gw", "--port", "Gi0/0/2",
                                 "--json"], env=env)
    assert ported.exit_code == 0, ported.output
    assert [s["session_id"] for s in json.loads(ported.stdout)["sessions"]] == ["sw-0002"]
    found = runner.invoke(cli, ["records", "search", "--port", "Gi0/0/1", "--csv"], env=env)
    assert found.exit_code == 0, found.output
    rows = list(csv.DictReader(io.StringIO(found.stdout)))
    assert [(r["event"], r["identity"], r["method"], r["called_station"]) for r in rows] == [
        ("session-start", "t001", "eap", "port:Gi0/0/1")]

    with FakeNas(SECRET.encode(), sessions={"sw-0001": {}, "sw-0002": {}, "sw-0003": {}}
                 ) as nas:
        began = time.monotonic()
        result = disable(runner, env, nas, "t001")
        # both of t001's sessions are gone at the NAS, a042's is not
        assert set(nas.sessions) == {"sw-0003"}
        assert len(nas.arrived) == 2
        last = max(nas.arrived) - began
    assert "session sw-0001 on test-gw: disconnected (Disconnect-ACK" in result.output
    assert "session sw-0002 on test-gw: disconnected (Disconnect-ACK" in result.output
    # measured, not asserted (the CLI's start-up, the store and the NAS on a shared machine)
    print(f"both Disconnect-Requests at the NAS {last * 1000:.0f} ms after `disable` began")


def test_a_session_whose_nas_does_not_answer_is_reported(
        backend_config: Config, listener: Listener) -> None:
    runner, env = with_people(backend_config)
    start(listener, "t001", "sw-0009", "00-1b-a9-00-00-09", "Gi0/0/9")
    with FakeNas(SECRET.encode(), sessions={}) as nas:  # knows no such session: NAK
        result = disable(runner, env, nas, "t001")
    assert "t001 disabled" in result.output
    assert "NOT disconnected (Disconnect-NAK (Session-Context-Not-Found) after 1 attempt(s)" \
        in result.output


def test_the_nas_answer_is_said_in_the_commands_language(
        backend_config: Config, listener: Listener) -> None:
    runner, env = with_people(backend_config)
    start(listener, "t001", "sw-0009", "00-1b-a9-00-00-09", "Gi0/0/9")
    with FakeNas(SECRET.encode(), sessions={}) as nas:
        result = disable(runner, env, nas, "t001", "--lang", "zh-Hant")
    assert "已停用 t001" in result.output
    assert ("test-gw 上的連線階段 sw-0009：未中斷（Disconnect-NAK（Session-Context-Not-Found），"
            "共嘗試 1 次，") in result.stderr


def test_why_a_session_cannot_be_asked_to_end_is_said_in_the_commands_language(
        backend_config: Config, listener: Listener) -> None:
    """A NAS registered as a network cannot be sent a Disconnect: the reason is said in
    the command's language, and the audit record keeps it in English."""
    runner, env = with_people(backend_config)
    start(listener, "t001", "sw-0009", "00-1b-a9-00-00-09", "Gi0/0/9")
    moved = runner.invoke(cli, ["nas", "set", "test-gw", "--ip", "127.0.0.0/30"], env=env)
    assert moved.exit_code == 0, moved.output
    with FakeNas(SECRET.encode(), sessions={"sw-0009": {}}) as nas:
        said = disable(runner, env, nas, "t001", "--lang", "zh-Hant")
        assert nas.arrived == []
    assert ("test-gw 上的連線階段 sw-0009：未中斷（NAS test-gw 登記為一個網段"
            "（127.0.0.0/30）；CoA 或 Disconnect 需要單一位址，") in said.stderr
    with listener.store.session() as session:
        [record] = audit.recent(session, "admission.session.disconnect")
    assert record.detail["answer"] == ("NAS test-gw is registered as a network "
                                          "(127.0.0.0/30); a CoA or Disconnect needs one "
                                          "address")


def test_an_import_that_disables_a_person_disconnects_them_too(
        backend_config: Config, listener: Listener) -> None:
    """HR's file says t001 has left (停用): the import disables them, and that is a
    disable like `people disable` — live sessions Disconnected, certificates revoked —
    or a later import setting them active again would bring their certificates back."""
    runner, env = with_people(backend_config)
    start(listener, "t001", "sw-0001", "00-1b-a9-00-00-01", "Gi0/0/1")
    start(listener, "a042", "sw-0003", "00-1b-a9-00-00-03", "Gi0/0/3")
    assert runner.invoke(cli, ["nac", "ca", "init", "--district", "示范区", "--server-name",
                               "radius.example.org"], env=env).exit_code == 0
    issued = runner.invoke(cli, ["nac", "cert", "issue", "t001", "--device", "laptop",
                                 "--out", str(backend_config.data_path / "t.p12")], env=env)
    assert issued.exit_code == 0, issued.output
    hr = backend_config.data_path / "left.csv"
    hr.write_text("username,real_name,role,status\nt001,王芳,teacher,停用\n"
                  "a042,张伟,staff,在职\n")
    with FakeNas(SECRET.encode(), sessions={"sw-0001": {}, "sw-0003": {}}) as nas:
        result = runner.invoke(cli, ["nac", "people", "import", str(hr)],
                               env={**env, "CITYNET_RADIUS__COA_PORT": str(nas.port)})
        assert result.exit_code == 0, result.output
        assert set(nas.sessions) == {"sw-0003"}  # t001's session ended, a042's not
    assert "0 new, 1 updated, 1 unchanged" in result.output
    assert "t001 disabled" in result.output
    assert "session sw-0001 on test-gw: disconnected (Disconnect-ACK" in result.output
    listed = runner.invoke(cli, ["nac", "cert", "list", "--json"], env=env)
    [cert] = json.loads(listed.stdout)["certificates"]
    assert cert["revoked_at"] is not None
