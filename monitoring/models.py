"""Monitoring tables: the embedded store of KPI history, telemetry rollups, probe states,
survey results and alert states — enough for the dashboard with no other server."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citynet.db import Base, UtcDateTime


class KpiSample(Base):
    """One KPI of one scope on one day (the last computation of the day wins)."""

    __tablename__ = "kpi_sample"
    __table_args__ = (UniqueConstraint("metric", "scope", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(48))
    scope: Mapped[str] = mapped_column(String(160))  # district, street:笋岗, ...
    day: Mapped[date] = mapped_column(Date, index=True)
    value: Mapped[float | None] = mapped_column(Float)  # None: nothing to measure yet
    numerator: Mapped[float] = mapped_column(Float, default=0.0)
    denominator: Mapped[float] = mapped_column(Float, default=0.0)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TelemetryRollup(Base):
    """Hourly means of one series' fields: what the embedded sink keeps of each point."""

    __tablename__ = "telemetry_rollup"
    __table_args__ = (UniqueConstraint("measurement", "series", "hour"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measurement: Mapped[str] = mapped_column(String(64))
    series: Mapped[str] = mapped_column(String(255))  # canonical tags: k=v,k=v
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> mean


class ProbeState(Base):
    """Whether a probed target (an AP, a network device) answers, and since when."""

    __tablename__ = "probe_state"
    target: Mapped[str] = mapped_column(String(160), primary_key=True)  # ap:MAC, device:NAME
    address: Mapped[str] = mapped_column(String(255), default="")
    up: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime] = mapped_column(UtcDateTime())  # when ``up`` last changed
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    method: Mapped[str] = mapped_column(String(16), default="")  # icmp, arp, tcp
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    loss: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1 of the last probe round


class SurveyPoint(Base):
    """One survey point's measured signal from one hotspot (a site survey walk)."""

    __tablename__ = "survey_point"
    __table_args__ = (UniqueConstraint("survey", "point", "hotspot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(128), index=True)
    point: Mapped[str] = mapped_column(String(64))
    hotspot: Mapped[str] = mapped_column(String(128), index=True)
    best_dbm: Mapped[float | None] = mapped_column(Float)  # None: heard nothing of it
    bssid: Mapped[str] = mapped_column(String(17), default="")
    covered: Mapped[bool] = mapped_column(default=False)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AlertState(Base):
    """The last known state of one alert (rule + subject), so a condition is notified once
    when it starts and once when it recovers."""

    __tablename__ = "alert_state"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # rule:subject
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(160))
    firing: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[str] = mapped_column(String(1024), default="")  # English
    # the detail's msgid and values (catalogs.Message.kept), to say it in the reader's
    # language; NULL: English only (kept before there were catalogs, or too long)
    detail_said: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
