"""RADIUS's config sections: ``[radius]`` (the listener, the rlm_rest API, CoA) and
``[records]`` (the retention of login and accounting records and sessions)."""

from __future__ import annotations

import ipaddress
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from citynet.config import MAX_RADIUS_LISTENERS, MAX_RADIUS_SERVERS, Section, comma_list

# nodes of one store at most: node × MAX_RADIUS_LISTENERS + listener − 1 must fit the
# login-record chain column (a smallint); 64 nodes use chains 0 to 4095
MAX_RADIUS_NODES = 64


class RadiusConfig(Section):
    bind: str = Field(default="127.0.0.1", description="address the RADIUS listener binds")
    auth_port: int = Field(default=1812, ge=0, le=65535,
                           description="UDP authentication port (0: any free port)")
    acct_port: int = Field(default=1813, ge=0, le=65535,
                           description="UDP accounting port (0: any free port)")
    enabled: bool = Field(
        default=True, description="run the UDP listener in `citynet serve` / `citynet demo` "
        "(off when FreeRADIUS owns the ports; the rlm_rest API runs whenever "
        "radius.rest_token is set)")
    processes: int = Field(
        default=1, ge=1, le=MAX_RADIUS_LISTENERS,
        description="RADIUS listener processes `citynet serve` runs for the radius role, "
        "sharing the UDP ports and the rlm_rest API's port (SO_REUSEPORT)")
    node: int = Field(
        default=0, ge=0, le=MAX_RADIUS_NODES - 1,
        description="this node's number among the nodes of one database, a different one "
        "on each (0 to 63): its listener N appends login records to chain "
        "node × 64 + N − 1, so no two listeners of the cluster share a chain (docs/radius.md)")
    nas_refresh_seconds: float = Field(
        default=30.0, gt=0, le=3600,
        description="how often the listener re-reads the NAS clients from the store")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the district's time zone: when a day starts for daily limits")
    rest_token: SecretStr = Field(
        default=SecretStr(""),
        description="token FreeRADIUS's rlm_rest presents (X-Citynet-Token); empty: API off")
    rest_bind: str = Field(default="127.0.0.1",
                           description="address the rlm_rest API (HTTP) binds")
    rest_port: int = Field(default=8812, ge=0, le=65535,
                           description="TCP port of the rlm_rest API (0: any free port)")
    rest_allow: list[str] = Field(
        default=["127.0.0.1/32", "::1/128"],
        description="networks the rlm_rest API accepts calls from")
    coa_port: int = Field(
        default=3799, ge=1, le=65535,
        description="UDP port of the NASes' dynamic-authorization server (RFC 5176): "
        "where Disconnect- and CoA-Requests go")
    # --- the cluster's servers, as the NASes see them (deploy/README.md) ----------------
    servers: list[str] = Field(
        default=["127.0.0.1"], min_length=1, max_length=MAX_RADIUS_SERVERS,
        description="the cluster's RADIUS servers in failover order, as every NAS names "
        "them (two sites: 10.1.0.10,10.2.0.10): the generated NAS and FreeRADIUS configs "
        "list each one, for RADIUS and for the CoA clients the NAS accepts; at most 2 "
        "(CoovaChilli's radiusserver1/2)")

    @field_validator("servers", mode="before")
    @classmethod
    def _split_servers(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("servers")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address (a NAS names its RADIUS "
                                 "servers by address)") from None
        if len(set(value)) != len(value):
            raise ValueError("a server is named twice")
        return value

    @property
    def has_work(self) -> bool:
        """Something for the RADIUS service to run: the UDP ports, or the rlm_rest API
        (FreeRADIUS in front owns the ports: radius.enabled off, the token set)."""
        return self.enabled or self.serves_api

    @property
    def serves_api(self) -> bool:
        """The rlm_rest API runs: its token is set."""
        return bool(self.rest_token.get_secret_value())

    @field_validator("rest_allow", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return [part.strip() for part in value.split(",")] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value

    @field_validator("rest_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item)  # ValueError names the bad one
        return value


class RecordsConfig(Section):
    retention_days: int = Field(
        default=180, ge=60, le=3650,
        description="login records, accounting records and ended sessions are kept this "
        "long at least (the law: >= 60; plan: 180), then purged; a value set on the admin "
        "web's retention page overrides it")
    auto_purge: bool = Field(
        default=True, description="the leader purges what is past retention every 5 minutes; "
        "off: only `citynet records purge` does (an office that keeps records by hand)")
