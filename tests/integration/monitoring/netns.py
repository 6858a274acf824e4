"""Network namespaces for tests that send real packets (needs root: ``ip netns``).

A :class:`Lab` makes namespaces with unique names, joins them with veth pairs that are
created inside the namespaces (``ip -n``), so the root namespace gets no interface,
address or route and nothing can leave the machine. Processes started in a namespace are
killed by PID and the namespaces deleted when the lab closes, also when a test failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import TracebackType

import pytest

from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[3]  # the checkout: `python -c` imports from here


def ip(*args: str) -> str:
    """Run ``ip ARGS``; a failure fails the test with ip's own message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"ip {' '.join(args)}: {done.stderr.strip()} (the netns tests need root)")
    return done.stdout


class Lab:
    """Namespaces, links and processes of one test."""

    def __init__(self) -> None:
        self.prefix = f"cn{uuid.uuid4().hex[:6]}"  # also in interface names: ≤ 15 chars
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen[str]] = []
        self._links = 0

    def namespace(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        self.namespaces.append(name)  # before: a half-made namespace is deleted too
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def link(self, left: str, left_cidr: str, right: str, right_cidr: str) -> tuple[str, str]:
        """A veth pair between two namespaces, addressed and up; its interface names."""
        self._links += 1
        left_if, right_if = f"{self.prefix}{self._links}a", f"{self.prefix}{self._links}b"
        ip("-n", left, "link", "add", left_if, "type", "veth",
           "peer", "name", right_if, "netns", right)
        for namespace, interface, cidr in ((left, left_if, left_cidr),
                                           (right, right_if, right_cidr)):
            ip("-n", namespace, "addr", "add", cidr, "dev", interface)
            ip("-n", namespace, "link", "set", interface, "up")
        return left_if, right_if

    def add_addresses(self, namespace: str, interface: str, cidrs: list[str]) -> None:
        """Many addresses in one ``ip -batch`` call."""
        batch = "".join(f"addr add {cidr} dev {interface}\n" for cidr in cidrs)
        done = subprocess.run(["ip", "-n", namespace, "-batch", "-"], input=batch,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"ip -batch in {namespace}: {done.stderr.strip()}")

    def sysctl(self, namespace: str, setting: str) -> None:
        self.run(namespace, ["sysctl", "-qw", setting])

    def run(self, namespace: str, argv: list[str], stdin: str = "",
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command in the namespace to its end; a failure fails the test."""
        done = subprocess.run(["ip", "netns", "exec", namespace, *argv], input=stdin,
                              capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            pytest.fail(f"{argv[0]} in {namespace} exited {done.returncode}: {done.stderr}")
        return done

    def python(self, namespace: str, code: str, stdin: str = "",
               prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """This interpreter (the venv's) running ``code`` in the namespace, from the
        checkout; ``prefix`` wraps it (e.g. ``setpriv`` to drop capabilities)."""
        return self.run(namespace, [*prefix, sys.executable, "-c", code], stdin)

    def spawn(self, namespace: str, argv: list[str]) -> subprocess.Popen[str]:
        """A background process in the namespace (``ip netns exec`` execs it: same PID)."""
        process = subprocess.Popen(["ip", "netns", "exec", namespace, *argv], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        self.processes.append(process)
        return process

    def tcp_listener(self, namespace: str, address: str) -> int:
        """A TCP server on ``address`` (port from the OS) that accepts and closes; its
        port, once it listens."""
        server = ("import socket, sys\n"
                  "with socket.create_server((sys.argv[1], 0)) as server:\n"
                  "    while True:\n"
                  "        server.accept()[0].close()\n")
        process = self.spawn(namespace, [sys.executable, "-c", server, address])
        ports: list[int] = []

        def listening() -> bool:
            ports.extend(listening_ports(process.pid))
            return bool(ports)

        wait_until(listening, f"TCP listener on {address} in {namespace}", process, timeout=30)
        return ports[0]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, 9)
            process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()
        for namespace in reversed(self.namespaces):  # deleting one deletes its veths too
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def listening_ports(pid: int) -> list[int]:
    """TCP ports that process ``pid`` itself listens on (matched by socket inode, so
    neither ``ip`` before its exec nor another process is mistaken for it)."""
    try:
        owned = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:  # not started yet, or gone (wait_until then notices it died)
        return []
    rows = [row.split() for row in table]
    return [int(row[1].rsplit(":", 1)[1], 16) for row in rows
            if row[3] == "0A" and f"socket:[{row[9]}]" in owned]  # 0A: LISTEN
