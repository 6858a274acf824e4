"""HAProxy (Debian ``haproxy``) in front of a :class:`tests.lab.patroni.PatroniLab`, with
the ``defaults`` and ``listen`` sections of ``deploy/haproxy/haproxy.cfg`` — the example
operators get is the config the test runs — on a free loopback port, the lab's nodes as
servers and their Patroni REST ports as check ports. It runs in the foreground (``-db``)
as a child of the test, never as the system's service, and is stopped by PID."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import TracebackType

import pytest

from tests.lab.frr import _tail
from tests.lab.patroni import PatroniLab
from tests.support import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "haproxy" / "haproxy.cfg"


def lab_config(example: str, bind: str, servers: list[tuple[str, str, int]]) -> str:
    """The example's sections from ``defaults`` on, with the lab's bind address and
    servers (name, host:port, check port) in place of the example's; a global section
    for a foreground process with no privileges to drop."""
    sections = example[example.index("\ndefaults") + 1:]
    sections = re.sub(r"(?m)^(\s*)bind \S+", rf"\g<1>bind {bind}", sections)
    example_servers = re.findall(r"(?m)^\s*server .*$", sections)
    if len(example_servers) != len(servers):
        pytest.fail(f"{EXAMPLE} names {len(example_servers)} servers, the lab has "
                    f"{len(servers)}")
    for line, (name, address, check_port) in zip(example_servers, servers, strict=True):
        indent = line[:len(line) - len(line.lstrip())]
        sections = sections.replace(
            line, f"{indent}server {name} {address} check port {check_port}", 1)
    sections = sections.replace("    log global\n", "")
    return f"global\n    maxconn 500\n\n{sections}"


class Haproxy:
    def __init__(self, cluster: PatroniLab, workdir: Path) -> None:
        if shutil.which("haproxy") is None:
            pytest.fail("haproxy not installed: `make deps` (scripts/test-deps.sh)")
        self.port = free_port()
        self.config = workdir / "haproxy.cfg"
        self.log = workdir / "haproxy.log"
        self.config.write_text(lab_config(
            EXAMPLE.read_text(), f"127.0.0.1:{self.port}",
            [(node.name, node.address, node.api_port) for node in cluster.nodes]))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Haproxy:
        check = subprocess.run(["haproxy", "-c", "-f", str(self.config)],
                               capture_output=True, text=True, check=False)
        if check.returncode != 0:
            pytest.fail(f"haproxy -c: {check.stdout}{check.stderr}")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)],
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def log_tail(self) -> str:
        return _tail(self.log)

    def __enter__(self) -> Haproxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
