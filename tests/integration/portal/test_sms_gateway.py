"""The HTTP SMS gateway client against fake gateways on loopback (no SMS provider runs
here): retries with backoff, failover, 4xx not retried, nothing of the text in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from portal.senders import Dispatcher, GatewayError, HttpGateway
from tests.fakes.sms import FakeGateway

TEXT = "【罗湖免费WiFi】验证码 654321"


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
