"""The kernel's Config composes the sections the domains declare."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from citynet import config
from citynet.errors import ConfigError
from radius.settings import RadiusConfig


def test_a_domain_section_reads_typed_and_by_name() -> None:
    loaded = config.from_dict({"radius": {"auth_port": 11812}})
    assert loaded.section(RadiusConfig).auth_port == 11812
    assert loaded.radius is loaded.section(RadiusConfig)
    assert config.RadiusConfig is RadiusConfig  # where it was before it moved


def test_sections_keep_their_order_and_an_unregistered_model_is_refused() -> None:
    assert list(config.sections()) == ["database", "web", "radius", "records", "portal",
                                       "monitoring", "devices", "nac", "secrets", "demo", "logging",
                                       "metrics"]

    class Stray(BaseModel):
        pass

    with pytest.raises(ConfigError, match="no section is a Stray"):
        config.Config().section(Stray)


def test_problems_are_reported_in_the_order_of_the_sections() -> None:
    with pytest.raises(ConfigError, match=r"^config: web.port: .*; and 2 more problems$"):
        config.from_dict({"devices": {"canary": -1}, "web": {"port": 0},
                          "radius": {"auth_port": -1}})
    with pytest.raises(ConfigError, match=r"^config: radius.auth_port: "):
        config.from_dict({"devices": {"canary": -1}, "radius": {"auth_port": -1}})
