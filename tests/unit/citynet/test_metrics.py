"""citynet.metrics: who may scrape, and one node's processes summed in multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from citynet.metrics import may_scrape

LOOPBACK = ["127.0.0.1/32", "::1/128"]


@pytest.mark.parametrize(("address", "allowed"), [
    ("127.0.0.1", True), ("::1", True), ("10.1.0.30", False), ("", False), (None, False),
    ("not-an-address", False), ("fe80::1%eth0", False)])
def test_only_listed_networks_may_scrape(address: str | None, allowed: bool) -> None:
    assert may_scrape(address, LOOPBACK) is allowed


def _python(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True, timeout=120).stdout


def test_with_a_multiprocess_dir_any_process_shows_the_node(tmp_path: Path) -> None:
    for lost in (1, 2):  # two listener processes that have come and gone
        _python(f"from citynet import metrics; metrics.DB_LOST.inc({lost}); "
                "metrics.LEADER.set(1)", tmp_path)
    shown = _python("from citynet import metrics; print(metrics.exposition().decode())",
                    tmp_path)
    assert "citynet_db_connections_lost_total 3.0" in shown
    # the leader gauge counts live processes only: a dead leader is no leader
    assert "citynet_leader 1.0" not in shown
