"""Drift: each device's running config against its intent and against its last backup
(reads only; ``citynet devices drift`` renders it)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from citynet.catalogs import N_
from devices.backups import BackupStore
from devices.confdiff import normalise, redact_line
from devices.fleet import Pacer, drift_of, read_one, run
from devices.rollout import Fleet, Watch, limits_of, targets_of, unwatched
from devices.targets import Unready


@dataclass(frozen=True)
class Drift:
    """One device's running config against its intent and its last backup."""

    hostname: str
    site: str
    error: str = ""
    intent: list[str] | None = None  # lines off the intent; None: not read
    backup: list[str] | None = None  # lines changed since the last backup; None: never

    @property
    def drifted(self) -> bool:
        return bool(self.intent or self.backup or self.error)


def of_fleet(fleet: Fleet, selectors: Sequence[str],
          watch: Watch = unwatched) -> tuple[list[Drift], list[Unready]]:
    """Every selected device's drift (reads only)."""
    targets, unready = targets_of(fleet, selectors)
    limits = limits_of(fleet, canary=0, max_failures=len(targets) + 1)
    pacer = Pacer(limits.sessions_per_second)
    with watch(len(targets), N_("reading")) as tick:
        results = run(targets, lambda t: read_one(t, pacer), limits, tick)
    store = BackupStore.for_config(fleet.config)
    backed_up = set(store.devices())
    rows = []
    for target, result in zip(targets, results, strict=True):
        if not result.ok:
            rows.append(Drift(result.hostname, result.site, result.error))
            continue
        profile = target.login.profile
        since: list[str] | None = None  # never backed up
        if fleet.box is not None and result.hostname in backed_up:
            saved = store.restore_text(result.hostname, "HEAD", fleet.box)
            now = normalise(result.pre_change, profile)
            since = [redact_line(line, profile) for line in _changed_lines(saved, now)]
        rows.append(Drift(result.hostname, result.site, result.error,
                          drift_of(target, result.pre_change), since))
    return rows, unready


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                   lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
