"""Alert notices over the real wire: a webhook receiver (http.server) and an SMTP server
(aiosmtpd) on loopback, and ``citynet alerts`` run as the installed command."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from citynet.config import Config
from inventory.models import AccessPoint, Community, Hotspot, Street
from monitoring.alerts import Notice
from monitoring.models import ProbeState
from monitoring.notify import deliver
from tests.conftest import make_config, upgraded
from tests.support import CITYNET, free_port, wait_until

pytestmark = pytest.mark.slow

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
DOWN = Notice("ap_down", "ap:aa:bb:cc:00:00:01", "firing",
              "AP 笋岗-01 (aa:bb:cc:00:00:01) at 笋岗公园 down since 2024-05-01 18:00 +08:00",
              T0, T0 + timedelta(minutes=10))
BACK = Notice("ap_down", "ap:aa:bb:cc:00:00:01", "resolved",
              "AP 笋岗-01 (aa:bb:cc:00:00:01) at 笋岗公园 up since 2024-05-01 18:25 +08:00 "
              "(resolved after 25 min)", T0, T0 + timedelta(minutes=30),
              lasted=timedelta(minutes=25))


@dataclass
class Receiver:
    """A webhook endpoint answering with the statuses given, in turn (the last repeats)."""

    statuses: list[int] = field(default_factory=lambda: [204])
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "json": json.loads(body),
                                          "type": self.headers["Content-Type"],
                                          "key": self.headers["Idempotency-Key"]})
                statuses = receiver.statuses
                self.send_response(statuses.pop(0) if len(statuses) > 1 else statuses[0])
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/s3cr3t-token"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(receivers: list[Receiver]) -> Receiver:
    receivers.append(Receiver())
    return receivers[-1]


class Mailbox:
    """aiosmtpd handler: keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        out = []
        for envelope in self.envelopes:
            raw = envelope.original_content or b""
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            out.append(parsed)
        return out


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def refusing_url() -> str:
    return f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there


def alert_config(tmp_path: Path, webhooks: list[str], smtp_port: int) -> Config:
    return make_config(tmp_path, monitoring={
        "alert_webhooks": webhooks, "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
        "mail_from": "citynet@luohu.example", "mail_to": ["noc@luohu.example",
                                                         "duty@luohu.example"]})


def test_webhook_and_email_carry_each_notice_and_a_dead_url_stops_neither(
        tmp_path: Path, receiver: Receiver, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    dead = refusing_url()
    config = alert_config(tmp_path, [dead, receiver.url], port)
    pauses: list[float] = []
    deliveries = deliver([DOWN, BACK], config, sleep=pauses.append)

    outcome = {(d.notice.state, d.channel, d.target): d.error for d in deliveries}
    dead_origin = dead.rsplit("/", 1)[0] + "/…"
    assert "refused" in outcome["firing", "webhook", dead_origin].lower()
    assert "not tried again" in outcome["resolved", "webhook", dead_origin]
    assert pauses == [0.5, 1.0]  # two retries, backoff doubling; the second notice skips it
    live_origin = receiver.url.split("/hooks")[0] + "/…"
    assert "s3cr3t" not in live_origin
    for state in ("firing", "resolved"):
        assert outcome[state, "webhook", live_origin] == ""
        assert outcome[state, "email", "noc@luohu.example, duty@luohu.example"] == ""

    [first, second] = receiver.received
    assert first["path"] == "/hooks/s3cr3t-token"
    assert first["type"] == "application/json; charset=utf-8"
    assert first["json"] == {
        "rule": "ap_down", "subject": "ap:aa:bb:cc:00:00:01", "state": "firing",
        "severity": "warning", "detail": DOWN.detail,
        "since": "2024-05-01T10:00:00+00:00", "at": "2024-05-01T10:10:00+00:00",
        "lasted_seconds": None, "text": f"[citynet] 告警/Alert: {DOWN.detail}",
        "id": "ap_down:ap:aa:bb:cc:00:00:01:firing:2024-05-01T10:00:00+00:00"}
    assert second["json"]["state"] == "resolved" and second["json"]["lasted_seconds"] == 1500
    # the same key in the header, for receivers that drop a repeat without reading bodies
    assert [r["key"] for r in receiver.received] == [r["json"]["id"] for r in receiver.received]
    assert second["key"] == "ap_down:ap:aa:bb:cc:00:00:01:resolved:2024-05-01T10:00:00+00:00"

    assert [e.rcpt_tos for e in mailbox.envelopes] == [
        ["noc@luohu.example", "duty@luohu.example"]] * 2
    assert {e.mail_from for e in mailbox.envelopes} == {"citynet@luohu.example"}
    alert, recovery = mailbox.messages()
    assert alert["Subject"] == f"[citynet] 告警/Alert: {DOWN.detail}"
    assert recovery["Subject"].startswith("[citynet] 恢复/Resolved: AP 笋岗-01")
    assert recovery["To"] == "noc@luohu.example, duty@luohu.example"
    body = recovery.get_body().get_content()  # type: ignore[union-attr]
    assert BACK.detail in body
    assert "开始 / Since:     2024-05-01 18:00 +08:00" in body
    assert "持续 / Lasted:    25 min" in body


def test_webhook_retries_5xx_but_not_4xx(tmp_path: Path, receivers: list[Receiver]) -> None:
    flaky, refusing = Receiver([503, 200]), Receiver([400])
    receivers += [flaky, refusing]
    config = make_config(tmp_path, monitoring={"alert_webhooks": [flaky.url, refusing.url]})
    pauses: list[float] = []
    deliveries = deliver([DOWN, BACK], config, sleep=pauses.append)
    assert [(d.channel, d.error) for d in deliveries] == [
        ("webhook", ""), ("webhook", ""), ("webhook", "HTTP 400"), ("webhook", "HTTP 400")]
    assert len(flaky.received) == 3 and len(refusing.received) == 2  # 4xx: tried once each
    assert pauses == [0.5]


def test_smtp_down_fails_the_email_and_not_the_webhook(tmp_path: Path,
                                                      receiver: Receiver) -> None:
    port = free_port()  # nothing listens there
    config = alert_config(tmp_path, [receiver.url], port)
    deliveries = deliver([DOWN], config, sleep=lambda _s: None)
    by_channel = {d.channel: d for d in deliveries}
    assert by_channel["webhook"].ok and len(receiver.received) == 1
    assert not by_channel["email"].ok
    assert by_channel["email"].error.startswith(f"127.0.0.1:{port}: ConnectionRefusedError")


# --- the real command -------------------------------------------------------------------

class Command:
    """``citynet`` in a subprocess, with a config file and a data dir of its own."""

    def __init__(self, tmp_path: Path, webhooks: list[str], smtp_port: int) -> None:
        path = tmp_path / "citynet.toml"
        path.write_text(
            "[monitoring]\n"
            f"alert_webhooks = {json.dumps(webhooks)}\n"
            f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
            'mail_to = ["noc@luohu.example"]\n', encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env |= {"CITYNET_CONFIG": str(path), "CITYNET_DATA_DIR": str(tmp_path / "var")}

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CITYNET, "alerts", *args], capture_output=True, text=True,
                                env=self.env, timeout=120, check=False)
        assert result.returncode == code, (result.stdout, result.stderr)
        return result


def down_ap_store(tmp_path: Path, minutes_ago: float) -> None:
    """The store the command will open: one hotspot, one AP not answering."""
    for store in upgraded(make_config(tmp_path)):
        since = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        with store.session() as session:
            street = Street(name="笋岗")
            hotspot = Hotspot(name="笋岗公园", community=Community(name="笋岗社区", street=street))
            session.add(AccessPoint(mac="aa:bb:cc:00:00:01", name="笋岗-01", hotspot=hotspot))
            session.add(ProbeState(target="ap:aa:bb:cc:00:00:01", up=False, since=since,
                                   checked_at=since))


def test_alerts_check_notifies_a_down_ap_once(tmp_path: Path, receiver: Receiver,
                                              smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    down_ap_store(tmp_path, minutes_ago=60)
    alerts = Command(tmp_path, [receiver.url], port)

    dry = alerts("check", "--dry-run").stdout
    assert "FIRING   ap_down:ap:aa:bb:cc:00:00:01  AP 笋岗-01" in dry
    assert "dry run" in dry and receiver.received == [] and mailbox.envelopes == []

    out = alerts("check").stdout
    assert "FIRING   ap_down:ap:aa:bb:cc:00:00:01" in out
    assert f"  webhook http://127.0.0.1:{receiver.server.server_address[1]}/…: ok" in out
    assert "  email noc@luohu.example: ok" in out
    assert "s3cr3t" not in out
    assert [r["json"]["subject"] for r in receiver.received] == ["ap:aa:bb:cc:00:00:01"]
    wait_until(lambda: len(mailbox.envelopes) == 1, "the alert e-mail", timeout=10)
    assert mailbox.messages()[0]["Subject"].startswith("[citynet] 告警/Alert: AP 笋岗-01")

    report = json.loads(alerts("check", "--json").stdout)
    assert report["notices"] == [] and report["firing"] == 1
    assert len(receiver.received) == 1 and len(mailbox.envelopes) == 1

    listed = alerts("list")
    assert "ap_down:ap:aa:bb:cc:00:00:01" in listed.stdout and " 1 h " in listed.stdout
    assert "1 alert firing" in listed.stderr
    [row] = json.loads(alerts("list", "--json").stdout)["alerts"]
    assert (row["rule"], row["subject"], row["notified"]) == ("ap_down", "ap:aa:bb:cc:00:00:01",
                                                              True)


def test_alerts_check_exits_1_and_sends_again_when_nothing_took_it(
        tmp_path: Path, receivers: list[Receiver]) -> None:
    down_ap_store(tmp_path, minutes_ago=30)
    failing = Receiver([500])
    receivers.append(failing)
    alerts = Command(tmp_path, [failing.url], free_port())  # and no SMTP server either
    out = alerts("check", code=1).stdout
    assert "webhook" in out and "FAILED: HTTP 500" in out
    assert "email noc@luohu.example: FAILED: 127.0.0.1:" in out
    assert len(failing.received) == 3  # two retries
    failing.statuses[:] = [200]
    assert "FIRING" in alerts("check").stdout  # the same notice again, now delivered
    assert "no alert started or recovered" in alerts("check").stdout


def test_alerts_test_reaches_every_channel(tmp_path: Path, receiver: Receiver,
                                           smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    dead = refusing_url()
    alerts = Command(tmp_path, [receiver.url, dead], port)
    out = alerts("test", code=1).stdout  # one of the three channels is down
    assert out.count(": ok") == 2 and "FAILED" in out
    assert receiver.received[0]["json"]["rule"] == "test"
    wait_until(lambda: len(mailbox.envelopes) == 1, "the test e-mail", timeout=10)
    assert "测试通知" in mailbox.messages()[0].get_body().get_content()  # type: ignore[union-attr]
    none = Command(tmp_path, [], port)
    none.env["CITYNET_MONITORING__SMTP_HOST"] = ""
    assert "no alert channel configured" in none("test", code=1).stderr
