"""Accounting-Request → event, and the key that makes retransmissions idempotent."""

from datetime import UTC, datetime
from typing import Any

import pytest

from radius import codec, wire
from radius.accounting import UnusableAccounting, event_from
from radius.wire import Code

SECRET = b"s"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def request(**attributes: Any) -> codec.Request:
    raw = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET, attributes,
                               message_authenticator=False)
    return codec.decode(wire.check(raw, wire.ACCT_PORT_CODES), SECRET)


BASE = {"Acct-Status-Type": "Interim-Update", "Acct-Session-Id": "5f3a-01",
        "User-Name": "13800138000", "Calling-Station-Id": "AA-BB-CC-DD-EE-FF",
        "Acct-Session-Time": 600, "Acct-Input-Octets": 1000, "Acct-Output-Octets": 2000}


def test_fields_and_gigawords() -> None:
    event = event_from(request(**BASE, **{"Acct-Input-Gigawords": 2,
                                          "Framed-IP-Address": "10.1.2.3"}), "gw", NOW)
    assert event.status == "interim"
    assert event.input_octets == 2 * 2**32 + 1000
    assert event.output_octets == 2000
    assert event.framed_ip == "10.1.2.3"
    assert event.session_time == 600


def test_retransmissions_share_a_key_and_different_records_do_not() -> None:
    first = event_from(request(**BASE), "gw", NOW)
    retry = event_from(request(**BASE, **{"Acct-Delay-Time": 5}), "gw", NOW)
    later = event_from(request(**{**BASE, "Acct-Session-Time": 900}), "gw", NOW)
    other_nas = event_from(request(**BASE), "gw2", NOW)
    assert first.dedupe_key == retry.dedupe_key
    assert len({first.dedupe_key, later.dedupe_key, other_nas.dedupe_key}) == 3


@pytest.mark.parametrize(("attributes", "reason"), [
    ({"Acct-Session-Id": "x"}, "Acct-Status-Type missing"),
    ({"Acct-Status-Type": "Start"}, "Acct-Session-Id missing"),
])
def test_unusable_requests(attributes: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnusableAccounting, match=reason):
        event_from(request(**attributes), "gw", NOW)


def test_accounting_on_needs_no_session() -> None:
    assert event_from(request(**{"Acct-Status-Type": "Accounting-On"}), "gw", NOW).status == "on"
