"""Monitoring's config section, ``[monitoring]``: telemetry, probes, alerts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from citynet.config import MASK, Section


class MonitoringConfig(Section):
    influx_url: str = Field(
        default="", description="InfluxDB (v2 write API) URL for telemetry; empty: "
        "rollups in the citynet database only")
    influx_org: str = Field(default="citynet", description="InfluxDB organisation")
    influx_bucket: str = Field(default="citynet", description="InfluxDB bucket")
    influx_token: SecretStr = Field(default=SecretStr(""), description="InfluxDB API token")
    batch_size: int = Field(default=5000, ge=1, le=100_000,
                            description="points per InfluxDB write")
    spool_max_mb: int = Field(
        default=512, ge=1, description="disk spool for points while InfluxDB is down; when "
        "full, the oldest spooled points are dropped (and counted)")
    signal_threshold_dbm: float = Field(
        default=-70.0, ge=-100, le=-30,
        description="a survey point is covered when a hotspot's signal is at least this")
    probe_timeout_seconds: float = Field(default=1.0, gt=0, le=30,
                                         description="wait for a probe's answer this long")
    probe_concurrency: int = Field(default=64, ge=1, le=1024,
                                   description="probes in flight at once")
    intervals: dict[str, float] = Field(
        default={}, description="seconds between runs per collector, e.g. "
        "{reachability = 60}; unnamed collectors use their own default")
    ap_down_minutes: float = Field(default=10.0, gt=0,
                                   description="alert when an AP is down this long")
    alert_webhooks: list[str] = Field(default=[], description="URLs alerts are POSTed to")
    smtp_host: str = Field(default="", description="SMTP server for alert e-mail; empty: none")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    mail_from: str = Field(default="citynet@localhost", description="sender of alert e-mail")
    mail_to: list[str] = Field(default=[], description="alert e-mail recipients")

    @field_validator("alert_webhooks", "mail_to", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(
            value, str) else value

    @field_validator("influx_url")
    @classmethod
    def _influx_http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    def shown(self, values: dict[str, Any]) -> dict[str, Any]:
        """Chat webhooks carry their token in the URL: only where they point is shown."""
        values["alert_webhooks"] = [f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/{MASK}"
                                    for url in self.alert_webhooks]
        return values
