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


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_multiprocess_dir_is_unset(tmp_path: Path, value: str) -> None:
    """`PROMETHEUS_MULTIPROC_DIR=` (set, empty): prometheus_client took it as set and
    wrote its files into the working directory; now the process counts in memory."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": value,
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    shown = subprocess.run(
        [sys.executable, "-c", "from citynet import metrics; metrics.DB_LOST.inc(2); "
         "print(metrics.exposition().decode())"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
        timeout=120).stdout
    assert list(tmp_path.iterdir()) == []
    assert "\ncitynet_db_connections_lost_total 2.0\n" in shown


SERVE_WITHOUT_THE_VARIABLE = """
import os, subprocess, sys
from pathlib import Path
from citynet import metrics
metrics.DB_LOST.inc(2)  # counted in this process's memory, as citynet serve's web app
remove = metrics.share_with_children(Path(sys.argv[1]))
directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
child = subprocess.Popen(  # the collector, which leads
    [sys.executable, "-c", "import sys; from citynet import metrics; metrics.LEADER.set(1); "
     "metrics.DB_LOST.inc(1); print('ready', flush=True); sys.stdin.read()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(metrics.exposition().decode())
child.stdin.close()
child.wait(timeout=60)
remove()
print("directory left:", Path(directory).exists())
"""


def test_a_serve_without_a_multiprocess_dir_shows_its_childrens_numbers_too(
        tmp_path: Path) -> None:
    """`citynet serve` with every role and no PROMETHEUS_MULTIPROC_DIR: the collectors
    (the leader election) run in a child process; the serve's /metrics shows the node's
    leader state and sums, the serve's own numbers included, each metric once."""
    env = {key: value for key, value in os.environ.items()
           if key != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "metrics" / f"serve-{dead}").mkdir(parents=True)  # a serve killed -9
    shown = subprocess.run([sys.executable, "-c", SERVE_WITHOUT_THE_VARIABLE, str(tmp_path)],
                           env=env, capture_output=True, text=True, check=True,
                           timeout=120).stdout
    assert "\ncitynet_leader 1.0\n" in shown
    assert "\ncitynet_db_connections_lost_total 3.0\n" in shown
    types = [line for line in shown.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types)) and "# TYPE citynet_leader gauge" in types
    assert shown.rstrip().endswith("directory left: False")
    assert list((tmp_path / "metrics").iterdir()) == []  # the dead serve's swept too


SIGTERM_WHILE_STARTING = """
import os, signal, sys
from pathlib import Path
from citynet.roles import Parts, run
from citynet.runtime import Runtime
from tests.conftest import make_config, upgraded

config = make_config(Path(sys.argv[1]))
store = next(upgraded(config))

def collectors(runtime):
    print(os.environ["PROMETHEUS_MULTIPROC_DIR"], flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # systemctl stop while the roles start
    return []

run(Runtime.of(config, store, None), ["collect"],
    Parts(web_app=None, radius=None, collectors=collectors))
print("stopped", flush=True)
"""


def test_a_serve_stopped_while_starting_removes_its_metrics_directory(
        tmp_path: Path) -> None:
    """SIGTERM before the roles were up ended the serve by the signal's default, and its
    private directory stayed (until the next serve of that data directory swept it)."""
    env = {key: value for key, value in os.environ.items()
           if key != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    done = subprocess.run([sys.executable, "-c", SIGTERM_WHILE_STARTING, str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    directory, *rest = done.stdout.splitlines()
    assert Path(directory).parent == tmp_path / "var" / "metrics"
    assert not Path(directory).exists()
    assert (done.returncode, rest) == (0, ["stopped"]), done.stderr


def test_gunicorns_master_drops_a_dead_workers_live_gauges(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn replaces a killed web worker: its master tells prometheus_client the old
    one is gone (child_exit); the worker's counters stay in the node's sums."""
    from types import SimpleNamespace

    from citynet.config import WebConfig
    from citynet.webworkers import options

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    pid = int(_python("import os; from citynet import metrics; metrics.LEADER.set(1); "
                      "metrics.DB_LOST.inc(); print(os.getpid())", tmp_path))
    assert list(tmp_path.glob(f"gauge_live*_{pid}.db"))
    options(WebConfig())["child_exit"](None, SimpleNamespace(pid=pid))
    assert not list(tmp_path.glob(f"gauge_live*_{pid}.db"))
    assert (tmp_path / f"counter_{pid}.db").exists()
