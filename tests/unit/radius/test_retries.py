"""The request identity and the stored form of a decision (pure)."""

from __future__ import annotations

import pytest

from radius import retries
from radius.decisions import Decision


def test_the_request_identity_is_the_nas_identifier_and_authenticator() -> None:
    one = retries.request_key("gw-1", 7, bytes(range(16)))
    assert one == retries.request_key("gw-1", 7, bytes(range(16)))  # a retransmission
    assert len({one, retries.request_key("gw-2", 7, bytes(range(16))),
                retries.request_key("gw-1", 8, bytes(range(16))),
                retries.request_key("gw-1", 7, bytes(range(1, 17)))}) == 4


@pytest.mark.parametrize("decision", [
    Decision(True, {"Session-Timeout": 3540, "Class": b"citynet:voucher:\xff\x00",
                    "Reply-Message": "欢迎 welcome"}, "voucher", "", "ABCD-EFGH"),
    Decision(False, {"Reply-Message": "代码错误"}, "", "unknown code", ""),
])
def test_a_decision_comes_back_as_it_was_stored(decision: Decision) -> None:
    stored = retries.encode(decision)
    assert retries.decode(decision.accept, stored) == decision


def test_a_value_of_another_type_is_not_kept() -> None:
    with pytest.raises(TypeError, match="float"):
        retries.encode(Decision(True, {"Odd": 1.5}))
