"""Where a Disconnect/CoA-Request leaves from: the node's RADIUS address the NAS names."""

from __future__ import annotations

import pytest

from citynet.config import RadiusConfig
from radius.coa import _reaches, source_for


@pytest.mark.parametrize(("bind", "servers", "source"), [
    ("10.1.0.10", ["10.1.0.10", "10.2.0.10"], "10.1.0.10"),
    ("0.0.0.0", ["10.1.0.10", "10.2.0.10"], ""),  # noqa: S104 - a config value under test
    ("10.9.0.1", ["10.1.0.10"], ""),  # not an address the NAS knows: the route decides
    ("127.0.0.1", ["127.0.0.1"], "127.0.0.1")])
def test_source_is_the_bind_address_when_the_nas_names_it(bind: str, servers: list[str],
                                                          source: str) -> None:
    assert source_for(RadiusConfig(bind=bind, servers=servers)) == source


@pytest.mark.parametrize(("source", "host", "binds"), [
    ("10.1.0.10", "10.20.0.1", True), ("127.0.0.2", "127.0.0.1", True),
    ("127.0.0.1", "10.20.0.1", False),  # a CLI left at the default still reaches the NAS
    ("10.1.0.10", "fd00::1", False), ("", "10.20.0.1", False)])
def test_a_source_is_used_only_where_it_can_reach(source: str, host: str, binds: bool) -> None:
    assert _reaches(source, host) is binds
