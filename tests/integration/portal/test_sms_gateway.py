"""The HTTP SMS gateway client against fake gateways on loopback (no SMS provider runs
here): retries with backoff, failover, 4xx not retried, nothing of the text in logs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.senders import Dispatcher, GatewayError, HttpGateway

TEXT = "【罗湖免费WiFi】验证码 654321"


@dataclass
class FakeGateway:
    """Answers with the statuses given, in turn (the last one repeats)."""

    statuses: list[int]
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append(json.loads(body))
                gateway.tokens.append(self.headers.get("Authorization", ""))
                status = gateway.statuses.pop(0) if len(gateway.statuses) > 1 else (
                    gateway.statuses[0])
                # like many real gateways, the answer echoes the message text
                answer = json.dumps({"id": "m-1", "status": "queued",
                                     "text": gateway.received[-1]["text"]}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def gateways() -> Iterator[list[FakeGateway]]:
    made: list[FakeGateway] = []
    yield made
    for gateway in made:
        gateway.close()


def test_retries_with_backoff_then_fails_over(gateways: list[FakeGateway],
                                              caplog: pytest.LogCaptureFixture) -> None:
    down, up = FakeGateway([503]), FakeGateway([200])
    gateways += [down, up]
    pauses: list[float] = []
    client = HttpGateway([down.url, up.url], token="t0k", attempts=3, backoff=0.5,
                         sleep=pauses.append)
    with caplog.at_level(logging.DEBUG):
        client.send("13800138000", TEXT)
    assert len(down.received) == 3 and pauses == [0.5, 1.0]  # then the second gateway
    assert up.received == [{"phone": "13800138000", "text": TEXT}]
    assert up.tokens == ["Bearer t0k"]
    assert "654321" not in caplog.text  # the code never reaches a log, even echoed
    assert "id=m-1 status=queued" in caplog.text  # the receipt does
    # next time the gateway that worked goes first
    client.send("13800138000", TEXT)
    assert len(down.received) == 3 and len(up.received) == 2


def test_a_refusal_is_not_retried_and_all_down_is_an_error(
        gateways: list[FakeGateway]) -> None:
    refusing, broken = FakeGateway([400]), FakeGateway([500])
    gateways += [refusing, broken]
    client = HttpGateway([refusing.url, broken.url, "http://127.0.0.1:9/closed"],
                         attempts=2, sleep=lambda _s: None, timeout=2)
    with pytest.raises(GatewayError) as raised:
        client.send("13800138000", TEXT)
    assert len(refusing.received) == 1 and len(broken.received) == 2
    assert "refused with HTTP 400" in str(raised.value)
    assert "654321" not in str(raised.value)


def test_sending_never_blocks_the_caller(gateways: list[FakeGateway]) -> None:
    up = FakeGateway([200])
    gateways.append(up)
    dispatcher = Dispatcher(HttpGateway([up.url]))
    assert dispatcher.submit("13800138000", TEXT)  # returns at once; delivery follows
    dispatcher.drain()
    assert len(up.received) == 1


def test_urls_must_be_http() -> None:
    with pytest.raises(ValueError, match="not http"):
        HttpGateway(["file:///etc/passwd"])
