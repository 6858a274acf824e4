"""The devices' config section, ``[devices]``: intent, push pacing, approvals."""

from __future__ import annotations

from pydantic import Field

from citynet.config import Section


class DevicesConfig(Section):
    intent_vars: str = Field(
        default="", description="YAML file of intent variables (NTP, syslog, guest VLAN, "
        "per-site and per-device overrides); empty means DATA_DIR/intent.yaml")
    templates: list[str] = Field(
        default=["baseline"], description="intent templates pushed to every device, in "
        "order (built-in: baseline, guest_wifi, nac; or a directory of your own in intent_vars)")
    concurrency: int = Field(default=20, ge=1, le=500,
                             description="devices worked on at once across the fleet")
    per_site: int = Field(default=4, ge=1, le=100, description="devices at once per site")
    sessions_per_second: float = Field(
        default=10.0, gt=0, le=1000,
        description="new SSH sessions opened per second at most (VTY lines, AAA load)")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600,
                                   description="per-device connect and command timeout")
    canary: int = Field(default=1, ge=0, le=100,
                        description="devices pushed (and checked) before the rest")
    max_failures: int = Field(default=3, ge=0,
                              description="stop the push after more failures than this")
    approval_threshold: int = Field(
        default=20, ge=0, description="a push that would change more devices than this "
        "needs a change request approved by a second person (0: every push that changes "
        "anything)")
    approval_valid_hours: int = Field(
        default=24, ge=1, le=24 * 30,
        description="an approved change request expires this long after its approval "
        "if no push used it")
