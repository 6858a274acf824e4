"""``make ha-demo`` (tests/lab/hademo.py) comes up, both sites' citynet nodes answer
RADIUS, and SIGINT — what Ctrl-C sends — leaves nothing behind: no process it started,
no namespace, no directory."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.lab.frr import alive
from tests.lab.hademo import ROOT, status_server

READY_WITHIN = 600.0  # two sites, etcd, Patroni's initdb and base backup, two citynets
STOPPED_WITHIN = 180.0


class Demo:
    """The demo as a subprocess; its output read line by line on a thread."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.lab.hademo"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {wanted!r} line within {timeout:g} s:\n" + self.output())
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the demo ended before {wanted!r}:\n" + self.output())
            self.lines.append(line)
            if line == wanted:
                return

    def field(self, pattern: str) -> re.Match[str]:
        found = next((m for line in self.lines if (m := re.search(pattern, line))), None)
        assert found is not None, f"{pattern!r} not in the demo's output:\n{self.output()}"
        return found

    def listed(self, word: str) -> list[str]:
        return [item for line in self.lines if line.startswith(f"{word} ")
                for item in line.split()[1:]]

    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def end(self) -> None:
        """Whatever happened: SIGINT, and SIGKILL if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOPPED_WITHIN)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._reader.join(timeout=30)  # the pipe's end: its last lines are read
        assert self.process.stdout is not None
        self.process.stdout.close()


def _namespace_id(name: str) -> int | None:
    """The inode of the namespace now named ``name`` (another lab may reuse a name)."""
    try:
        return os.stat(f"/run/netns/{name}").st_ino
    except OSError:
        return None


def _mentioning(directories: list[str]) -> list[str]:
    """Processes whose command line names one of ``directories``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(directory in cmdline for directory in directories):
            found.append(f"{entry.name}: {cmdline.replace(chr(0), ' ')[:200]}")
    return found


@pytest.mark.slow
def test_ha_demo_comes_up_answers_on_both_sites_and_leaves_nothing() -> None:
    if os.geteuid() != 0:
        pytest.fail("the HA demo needs root (network namespaces)")
    demo = Demo()
    try:
        demo.wait_for("ready", READY_WITHIN)
        secret = demo.field(r"NAS simulator: .* secret (\S+)").group(1)
        nodes = [demo.field(rf"citynet node {site} .* RADIUS ([\d.]+):1812").group(1)
                 for site in "AB"]
        for address in nodes:  # a NAS's Status-Server, from the host side, to each site
            assert any(status_server(address, secret, wait=1.0) for _try in range(10)), \
                f"no answer from {address}:\n{demo.output()}"
        pids = [int(pid) for pid in demo.listed("pids")]
        namespaces = {name: _namespace_id(name) for name in demo.listed("namespaces")}
        directories = demo.listed("directory")
        assert len(pids) >= 7 and all(alive(pid) for pid in pids[:2])  # the citynet nodes
        assert len(namespaces) == 2 and None not in namespaces.values()
        assert directories and all(Path(d).is_dir() for d in directories)

        demo.process.send_signal(signal.SIGINT)
        demo.wait_for("stopped", STOPPED_WITHIN)
        assert demo.process.wait(timeout=STOPPED_WITHIN) == 0
    finally:
        demo.end()
    assert [pid for pid in pids if alive(pid)] == []
    assert [name for name, inode in namespaces.items() if _namespace_id(name) == inode] == []
    assert [d for d in directories if Path(d).exists()] == []
    assert _mentioning(directories) == []
