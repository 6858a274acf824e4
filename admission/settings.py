"""Network admission's config section, ``[nac]``."""

from __future__ import annotations

from pydantic import Field, field_validator

from admission.choices import Role
from citynet.config import Section, comma_list


class NacConfig(Section):
    enabled: bool = Field(
        default=False, description="put the EAP configuration into `citynet freeradius "
        "config` even before any person is imported")
    peap_roles: list[Role] = Field(
        default=[],
        description="roles that may use PEAP-MSCHAPv2 (opt-in: it needs each person's NT "
        "hash, which is as good as the password; docs/admission.md)")

    @field_validator("peap_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        return comma_list(value)
