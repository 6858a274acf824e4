"""Inventory tables. Every record has a natural key (name, code, MAC, hostname) that
imports, exports and other domains use; integer ids stay inside the database."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citynet.crypto import SEALED
from citynet.db import Base
from inventory.choices import (
    BuildingType,
    DeviceRole,
    FiberStatus,
    NasVendor,
    Platform,
    ScopeKind,
    TargetMetric,
)


def _enum(kind: type[StrEnum], name: str) -> Any:
    return Enum(kind, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda members: [m.value for m in members])


class Street(Base):
    """街道 — the district's first-level division."""

    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(128), default="")
    communities: Mapped[list[Community]] = relationship(back_populates="street")


class Community(Base):
    """社区 — a community inside a street; names are unique across the district."""

    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(128), default="", server_default="")
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="RESTRICT"),
                                           index=True)
    street: Mapped[Street] = relationship(back_populates="communities")


class Building(Base):
    __tablename__ = "building"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256), default="")
    type: Mapped[BuildingType] = mapped_column(_enum(BuildingType, "building_type"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="RESTRICT"),
                                              index=True)
    community: Mapped[Community] = relationship()
    fiber_status: Mapped[FiberStatus] = mapped_column(_enum(FiberStatus, "fiber_status"))
    fiber_planned_on: Mapped[date | None] = mapped_column(Date)
    fiber_connected_on: Mapped[date | None] = mapped_column(Date)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class Hotspot(Base):
    """A public WiFi area (a square, a library, a community centre)."""

    __tablename__ = "hotspot"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="RESTRICT"),
                                              index=True)
    community: Mapped[Community] = relationship()
    location: Mapped[str] = mapped_column(String(256), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    ssids: Mapped[list[str]] = mapped_column(JSON, default=list)


class AccessPoint(Base):
    __tablename__ = "access_point"
    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), unique=True)  # aa:bb:cc:dd:ee:ff
    name: Mapped[str] = mapped_column(String(128), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    # management address, for the reachability collector; empty when unknown
    address: Mapped[str] = mapped_column(String(255), default="", server_default="")
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspot.id", ondelete="RESTRICT"),
                                            index=True)
    hotspot: Mapped[Hotspot] = relationship()


nas_hotspot = Table(
    "nas_hotspot",
    Base.metadata,
    Column("nas_id", ForeignKey("nas_client.id", ondelete="CASCADE"), primary_key=True),
    Column("hotspot_id", ForeignKey("hotspot.id", ondelete="RESTRICT"), primary_key=True),
)


class NasClient(Base):
    """A RADIUS client: a WiFi controller, AP or hotspot gateway allowed to ask us."""

    __tablename__ = "nas_client"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)  # IP or CIDR, normalised
    secret_sealed: Mapped[str] = mapped_column(String(512), info=SEALED)
    # CoovaChilli's uamsecret: signs the portal redirect (md) and salts the UAM challenge
    uam_secret_sealed: Mapped[str | None] = mapped_column(String(512), info=SEALED)
    # a controller with its own web-auth: where the portal's login form is posted to
    portal_login_url: Mapped[str | None] = mapped_column(String(512))
    vendor: Mapped[NasVendor] = mapped_column(_enum(NasVendor, "nas_vendor"))
    policy: Mapped[str] = mapped_column(String(64), default="default")
    # "require" (default) or "off" for legacy gear that cannot sign (Blast-RADIUS risk)
    message_authenticator: Mapped[str] = mapped_column(String(8), default="require",
                                                       server_default="require")
    # Huawei/H3C/Ruijie ACs: the Portal protocol they speak (huawei-v2, huawei-v1, cmcc-v1;
    # None: not a Portal-protocol AC), the UDP port they take it on, its shared key
    portal_protocol: Mapped[str | None] = mapped_column(String(16))
    portal_port: Mapped[int | None] = mapped_column(Integer)
    portal_secret_sealed: Mapped[str | None] = mapped_column(String(512), info=SEALED)
    # the AC's redirect parameter names where they differ from its vendor's ("role=name,…")
    portal_parameters: Mapped[str | None] = mapped_column(String(512))
    hotspots: Mapped[list[Hotspot]] = relationship(secondary=nas_hotspot, order_by=Hotspot.name)


class Credential(Base):
    """Login for network devices; devices refer to it by name."""

    __tablename__ = "credential"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64))
    password_sealed: Mapped[str] = mapped_column(String(512), info=SEALED)
    enable_secret_sealed: Mapped[str | None] = mapped_column(String(512), info=SEALED)


class NetworkDevice(Base):
    __tablename__ = "network_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=22)
    platform: Mapped[Platform] = mapped_column(_enum(Platform, "platform"))
    role: Mapped[DeviceRole] = mapped_column(_enum(DeviceRole, "device_role"))
    site: Mapped[str] = mapped_column(String(128), default="")
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credential.id", ondelete="RESTRICT"), index=True
    )
    credential: Mapped[Credential | None] = relationship()


class CoverageTarget(Base):
    """A plan target: metric ≥ value for a scope by a deadline, owned by a unit."""

    __tablename__ = "coverage_target"
    __table_args__ = (UniqueConstraint("metric", "scope_kind", "scope_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[TargetMetric] = mapped_column(_enum(TargetMetric, "target_metric"))
    scope_kind: Mapped[ScopeKind] = mapped_column(_enum(ScopeKind, "scope_kind"))
    scope_ref: Mapped[str] = mapped_column(String(64), default="")  # "" for the district
    target: Mapped[float] = mapped_column(Float)
    deadline: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(128))
    owner_en: Mapped[str] = mapped_column(String(128), default="", server_default="")

    @property
    def scope(self) -> str:
        """``district``, or ``KIND:NAME`` such as ``street:笋岗``."""
        if self.scope_kind is ScopeKind.DISTRICT:
            return self.scope_kind.value
        return f"{self.scope_kind.value}:{self.scope_ref}"

    @scope.setter
    def scope(self, value: str) -> None:
        kind, _, ref = value.partition(":")
        self.scope_kind = ScopeKind(kind)
        self.scope_ref = ref
