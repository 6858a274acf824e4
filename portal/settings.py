"""The portal's config section, ``[portal]``: SMS codes and their limits, login methods."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from citynet.config import Section, comma_list

LoginMethod = Literal["sms", "voucher", "app"]


class PortalConfig(Section):
    sms_gateway: Literal["outbox", "http"] = Field(
        default="outbox",
        description="how SMS codes leave: outbox (a file under data_dir: demo, tests) or http")
    sms_urls: list[str] = Field(
        default=[], description="HTTP SMS gateways, comma-separated, in failover order")
    sms_token: SecretStr = Field(default=SecretStr(""),
                                 description="bearer token for the HTTP SMS gateways")
    show_outbox: bool = Field(
        default=False, description="show sent SMS on the portal (demo only: never in production)")
    code_minutes: int = Field(default=5, ge=1, le=5, description="an SMS code is valid this long")
    resend_seconds: int = Field(default=60, ge=30, le=600,
                                description="wait before another SMS code may be sent")
    per_phone_day: int = Field(default=5, ge=1, description="SMS codes per number a day")
    per_ip_day: int = Field(default=20, ge=1, description="SMS codes per client address a day")
    per_mac_day: int = Field(default=5, ge=1, description="SMS codes per device a day")
    per_prefix_day: int = Field(default=200, ge=1,
                                description="SMS codes per number prefix (7 digits) a day")
    global_day: int = Field(default=20000, ge=1, description="SMS codes in all a day")
    venue_info_url: str = Field(default="", description="RFC 8908 venue-info-url (optional)")
    login_methods: list[LoginMethod] = Field(
        default=["sms", "voucher", "app"], min_length=1,
        description="the login methods the portal offers, in order (sms, voucher, app), "
        "comma-separated")
    login_methods_by_nas: dict[str, list[LoginMethod]] = Field(
        default={}, description="a hotspot's own order, by NAS name (a TOML table: "
        "\"gw-1\" = [\"voucher\", \"sms\"]); other hotspots use login_methods")
    protocol_port: int = Field(
        default=50100, ge=0, le=65535,
        description="UDP port for the Portal protocol's NTF_LOGOUT from Huawei/H3C/Ruijie "
        "ACs (their default destination port is 50100)")
    protocol_timeout: float = Field(
        default=2.0, gt=0, le=30,
        description="seconds the portal waits for an AC's answer before sending again")
    protocol_tries: int = Field(
        default=3, ge=1, le=10,
        description="sends of one Portal-protocol request to an AC, the first included")
    app_enrolment: bool = Field(
        default=False, description="after an SMS login, invite the person to set up an "
        "authenticator app (off: public WiFi; app logins of those enrolled still work)")

    @field_validator("sms_urls", "login_methods", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("login_methods_by_nas", mode="before")
    @classmethod
    def _split_each(cls, value: object) -> object:
        return {nas: comma_list(methods) for nas, methods in value.items()} if isinstance(
            value, dict) else value

    @field_validator("login_methods")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a login method is named twice")
        return value

    @field_validator("login_methods_by_nas")
    @classmethod
    def _once_each_by_nas(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for nas, methods in value.items():
            if not methods or len(set(methods)) != len(methods):
                raise ValueError(f"{nas}: name each login method once, at least one")
        return value

    def methods_at(self, nas: str) -> list[LoginMethod]:
        """The login methods a hotspot's page offers, in its order."""
        return self.login_methods_by_nas.get(nas) or self.login_methods

    @field_validator("sms_urls")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _gateway_has_urls(self) -> PortalConfig:
        if self.sms_gateway == "http" and not self.sms_urls:
            raise ValueError("sms_gateway = \"http\" needs portal.sms_urls")
        return self
