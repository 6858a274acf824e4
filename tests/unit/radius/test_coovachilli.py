"""The CoovaChilli lines: both servers, the secrets, refusals of what chilli cannot read."""

from __future__ import annotations

import pytest

from radius.coovachilli import ChilliNas, conf

NAS = ChilliNas("gw-1", "s3cret", "uam-s3cret", ("10.1.0.10", "10.2.0.10"),
                "https://portal.example.cn/portal")


def settings(text: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in text.splitlines()
                if line and not line.startswith("#"))


def test_both_servers_the_secrets_and_the_coa_port() -> None:
    lines = settings(conf(NAS))
    assert (lines["radiusserver1"], lines["radiusserver2"]) == NAS.servers
    assert (lines["radiusnasid"], lines["radiussecret"], lines["uamsecret"]) == (
        "gw-1", "s3cret", "uam-s3cret")
    assert (lines["coaport"], lines["radiusauthport"], lines["radiusacctport"]) == (
        "3799", "1812", "1813")
    assert "coanoipcheck" not in lines  # CoA only from the two servers


def test_one_server_fills_both_lines() -> None:
    lines = settings(conf(ChilliNas("gw-1", "s", "u", ("127.0.0.1",), "http://p/portal")))
    assert lines["radiusserver1"] == lines["radiusserver2"] == "127.0.0.1"


@pytest.mark.parametrize("changes", [
    {"servers": ()}, {"servers": ("10.0.0.1", "10.0.0.2", "10.0.0.3")},
    {"secret": "two words"}, {"uam_secret": ""}])
def test_what_chilli_cannot_take_is_refused(changes: dict[str, object]) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="CoovaChilli"):
        conf(replace(NAS, **changes))  # type: ignore[arg-type]
