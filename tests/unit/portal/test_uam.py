"""CoovaChilli UAM maths against worked examples (computed independently with
`openssl md5`), and the hand-off's refusals."""

from __future__ import annotations

import pytest

from portal import uam
from radius import codec

URL = ("http://10.0.0.1:8080/portal/?res=notyet&uamip=10.1.0.1&uamport=3990"
       "&challenge=0123456789abcdef0123456789abcdef&called=00-E0-FC-12-34-56"
       "&mac=AA-BB-CC-DD-EE-01&ip=10.1.0.12&nasid=gw-1&userurl=http%3A%2F%2Fexample.com%2F")
MD = "72F16188012E143F7E7393ACE7CC7CE8"  # openssl md5 of URL + "s3cret"
CHALLENGE = "0123456789abcdef0123456789abcdef"


def test_md_is_the_md5_of_the_url_and_the_uam_secret() -> None:
    assert uam.signature(URL, "s3cret") == MD
    handoff = uam.parse(f"{URL}&md={MD}", "s3cret")
    assert (handoff.res, handoff.uamip, handoff.uamport, handoff.nasid) == (
        "notyet", "10.1.0.1", 3990, "gw-1")
    assert handoff.userurl == "http://example.com/" and handoff.mac == "AA-BB-CC-DD-EE-01"
    assert uam.parse(f"{URL}&md={MD.lower()}", "s3cret") == handoff


@pytest.mark.parametrize(("url", "secret", "why"), [
    (URL, "s3cret", "no valid md"),
    (f"{URL}&md={MD}", "other", "md does not match"),
    (f"{URL.replace('10.1.0.1', '203.0.113.9')}&md={MD}", "s3cret", "md does not match"),
    (f"{URL}&md={MD}", "", "no UAM secret"),
    (f"{URL}&md=XYZ", "s3cret", "no valid md"),
])
def test_a_tampered_or_unsigned_handoff_is_refused(url: str, secret: str, why: str) -> None:
    with pytest.raises(uam.BadHandoff, match=why):
        uam.parse(url, secret)


@pytest.mark.parametrize(("values", "why"), [
    ({"res": "notyet", "uamip": "evil.example", "uamport": "3990"}, "uamip"),
    ({"res": "notyet", "uamip": "10.1.0.1", "uamport": "99999"}, "uamport"),
    ({"res": "pwned", "uamip": "10.1.0.1", "uamport": "3990"}, "unknown res"),
    ({"res": "notyet", "uamip": "10.1.0.1", "uamport": "3990", "challenge": "zz"}, "challenge"),
])
def test_values_that_could_send_a_browser_elsewhere_are_refused(
        values: dict[str, str], why: str) -> None:
    with pytest.raises(uam.BadHandoff, match=why):
        uam.from_values(values)


def test_chap_response_worked_examples() -> None:
    # MD5(0x00 + password + MD5(challenge + uamsecret)), and without a uamsecret
    assert uam.chap_response(CHALLENGE, "ABCDEFGHJK", "s3cret") == (
        "ca431a2354b3ad140e06788379e7644b")
    assert uam.chap_response(CHALLENGE, "ABCDEFGHJK", "") == "e38673afe30ddb44cf32543e0a49e6be"


def test_the_portals_chap_response_is_what_radius_accepts() -> None:
    response = uam.chap_response(CHALLENGE, "token-123", "s3cret")
    chap_password = b"\0" + bytes.fromhex(response)
    challenge = uam.chap_challenge(CHALLENGE, "s3cret")
    assert codec.chap_ok(chap_password, challenge, "token-123")
    assert not codec.chap_ok(chap_password, challenge, "token-124")


def test_logon_url() -> None:
    handoff = uam.parse(f"{URL}&md={MD}", "s3cret")
    assert uam.logon_url(handoff, "13800138000", "ab" * 16, "http://example.com/") == (
        "http://10.1.0.1:3990/logon?username=13800138000&response=" + "ab" * 16
        + "&userurl=http%3A%2F%2Fexample.com%2F")


@pytest.mark.parametrize(("url", "link"), [
    ("http://example.com/news?a=1", "http://example.com/news?a=1"),
    ("https://例子.中国/", "https://例子.中国/"),
    ("javascript:alert(1)", ""),
    ("JAVASCRIPT:alert(1)", ""),
    ("//evil.example/", ""),
    ("data:text/html,<script>", ""),
    ("http://user:pw@evil.example/", ""),
    ("http://ok.example/\nSet-Cookie:x", ""),
    ("", ""),
])
def test_only_plain_http_links_are_offered(url: str, link: str) -> None:
    assert uam.safe_link(url) == link
