"""The demo's device configs: its devices exist nowhere (their addresses are on 127.10/16),
so the demo ships a running config per platform and keeps it as each device's first
backup. ``citynet devices plan --from-backup`` then shows what a push would send without
a device to read."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.config import Config
from citynet.crypto import SecretBox
from devices.backups import BackupStore
from devices.confdiff import normalise
from devices.platforms import PROFILES
from inventory.models import NetworkDevice

STORED = Path(__file__).parent / "demo_configs"  # PLATFORM.cfg, "HOSTNAME" for the name
REASON = "demo: running configs shipped with the demo (no device was read)"


def stored_config(platform: str, hostname: str) -> str | None:
    """The running config the demo ships for a device of ``platform``, or None."""
    path = STORED / f"{platform}.cfg"
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").replace("HOSTNAME", hostname)


def seed_backups(session: Session, config: Config, box: SecretBox) -> int:
    """Every inventory device without a backup gets the shipped config of its platform as
    its first backup (one commit); returns how many. Seeding again adds nothing."""
    store = BackupStore.for_config(config)
    have = set(store.devices())
    configs = {}
    for device in session.scalars(select(NetworkDevice)):
        platform = device.platform.value
        text = stored_config(platform, device.hostname)
        if device.hostname in have or text is None:
            continue
        profile = PROFILES[platform]
        configs[device.hostname] = (normalise(text, profile), profile.secret_patterns)
    if configs:
        store.save(configs, REASON, box)
    return len(configs)
