"""FRRouting routers behind OpenSSH: a real, stateful Cisco-like CLI for the device tests.

Each router is FRR's zebra and staticd in a network namespace of its own (its own
interfaces and kernel routes) and a UTS namespace of its own: FRR 8.4 takes the hostname
from the system, and a ``hostname`` command only renames the vtysh process it is typed
into. Its sockets, config and logs live in its own directories, never under /etc/frr or
/var/run/frr. In front of it runs an sshd of its own on a loopback port from the OS, whose
ForceCommand lands every session in that router's vtysh.

The lab user logs in with a password (as inventory credentials do) or with the lab's key.
sshd runs in a private mount namespace in which ``/etc/passwd`` carries that user (uid 0:
vtysh must reach the daemons' root-owned sockets) and ``/run`` is an empty tmpfs holding
sshd's privilege-separation directory, so the machine's accounts and /run stay untouched.
:meth:`FrrLab.stop` kills every process by PID and removes every namespace and directory,
also after a failed start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

from tests.support import free_port, wait_until

FRR_DIR = Path("/usr/lib/frr")
DAEMONS = ("zebra", "staticd")  # staticd owns `ip route`; FRR 8.4 has no mgmtd yet
USERNAME = "netops"
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
TOOLS = ("vtysh", "ssh-keygen", "openssl", "unshare", "ip")


@dataclass(frozen=True)
class Router:
    """One lab router: what a client connects with, and what a test may inspect."""

    name: str
    hostname: str  # as vtysh shows it: prompt and running config
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    key_file: Path  # a private key that logs ``username`` in as well
    namespace: str  # its network namespace
    config_file: Path  # what `write memory` saves: FRR's integrated frr.conf
    pids: tuple[int, ...]  # zebra, staticd, sshd
    vty_dir: Path
    config_dir: Path

    def vtysh(self, *commands: str) -> str:
        """Run commands in this router's vtysh directly, not over SSH (a change made at the
        console, behind the management system's back); their output."""
        argv = [*_in_uts(self.hostname), *_vtysh(self.vty_dir, self.config_dir)]
        for command in commands:
            argv += ["-c", command]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            pytest.fail(f"vtysh on {self.name} exited {done.returncode}: "
                        f"{done.stdout}{done.stderr}")
        return done.stdout

    def saved_config(self) -> str:
        """The startup config as `write memory` last saved it; "" before the first save."""
        try:
            return self.config_file.read_text()
        except FileNotFoundError:
            return ""


class FrrLab:
    """Starts FRR routers and stops them all; ``stop`` may be called more than once."""

    def __init__(self, workdir: Path, prefix: str = "r") -> None:
        self.tag = f"frr{uuid.uuid4().hex[:6]}"  # in namespace names: labs never collide
        self.root = workdir / self.tag
        self.prefix = prefix
        self.routers: list[Router] = []
        self._password = secrets.token_urlsafe(12)
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: dict[int, Path] = {}
        self._namespaces: list[str] = []
        # Sockets go to a short path of their own: a unix socket path has at most 107 bytes,
        # and pytest's tmp_path alone can take most of that.
        self._vty_root: Path | None = None

    @property
    def key_file(self) -> Path:
        return self.root / "lab_key"

    def start(self, n: int) -> list[Router]:
        """Start ``n`` more routers in parallel and wait until each answers over SSH and in
        vtysh. If that fails, everything the lab started so far is stopped."""
        try:
            return self._start(n)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        processes, self._processes = self._processes, []
        namespaces, self._namespaces = self._namespaces, []
        running = [process.pid for process in processes if process.poll() is None]
        # SSH sessions and their vtysh are children of an sshd: found before it dies, as
        # they would be orphaned after.
        sessions = _descendants(running)
        for pid in running + sessions:
            _kill(pid)
        for process in processes:
            process.wait(timeout=30)
        for namespace in namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        if self._vty_root is not None:
            shutil.rmtree(self._vty_root, ignore_errors=True)
            self._vty_root = None
        shutil.rmtree(self.root, ignore_errors=True)
        self.routers = []

    def __enter__(self) -> FrrLab:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _start(self, n: int) -> list[Router]:
        if self._vty_root is None:
            self._prepare()
        assert self._vty_root is not None
        first = len(self.routers) + 1
        layouts = [_Layout(self, index) for index in range(first, first + n)]
        for layout in layouts:
            self._add_namespace(layout)
        _run_all([["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", layout.name,
                   "-f", str(layout.host_key)] for layout in layouts])
        for layout in layouts:
            layout.write_configs(self)
        zebras = [self._spawn_daemon(layout, "zebra") for layout in layouts]
        sshds = [self._spawn_sshd(layout) for layout in layouts]
        # staticd tries zebra's socket once at start and otherwise only after a retry
        # timer of seconds: start it once the socket is there.
        self._wait_for(layouts, lambda layout: (layout.vty_dir / "zserv.api").exists(),
                       "zebra")
        staticds = [self._spawn_daemon(layout, "staticd") for layout in layouts]
        routers = [self._router(layout, (zebra, staticd, sshd))
                   for layout, zebra, staticd, sshd in zip(layouts, zebras, staticds, sshds,
                                                           strict=True)]
        self._wait_for(layouts, _answers, "FRR lab routers")
        self.routers += routers
        return routers

    def _prepare(self) -> None:
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        missing += [str(path) for path in (*(FRR_DIR / daemon for daemon in DAEMONS),
                                           Path("/usr/sbin/sshd")) if not path.exists()]
        if missing:
            pytest.fail(f"the FRR lab needs {', '.join(missing)}: "
                        "run `bash scripts/test-deps.sh` (as root)")
        self.root.mkdir(parents=True)
        self._vty_root = Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir="/tmp"))
        _run_all([["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "citynet-lab",
                   "-f", str(self.key_file)]])
        shutil.copy(self.key_file.with_suffix(".pub"), self.root / "authorized_keys")
        hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=self._password,
                                capture_output=True, text=True, check=True).stdout.strip()
        entry = f"{USERNAME}:{hashed}:0:0:citynet FRR lab:{self.root}:/bin/sh\n"
        (self.root / "passwd").write_text(Path("/etc/passwd").read_text() + entry)

    def _add_namespace(self, layout: _Layout) -> None:
        self._namespaces.append(layout.namespace)  # before: a half-made one is deleted too
        _run_all([["ip", "netns", "add", layout.namespace]])
        address = f"10.255.{layout.index // 256}.{layout.index % 256}/32"
        done = subprocess.run(["ip", "-n", layout.namespace, "-batch", "-"],
                              input=f"link set lo up\naddr add {address} dev lo\n",
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"ip -batch in {layout.namespace}: {done.stderr.strip()}")

    def _spawn_daemon(self, layout: _Layout, daemon: str) -> int:
        vty = str(layout.vty_dir)
        # -g frrvty: FRR refuses to start unless its user is in the vty group, and the group
        # given here counts. -P 0: no TCP vty, only the unix socket.
        return self._spawn(
            ["ip", "netns", "exec", layout.namespace, *_in_uts(layout.name),
             str(FRR_DIR / daemon), "-u", "root", "-g", "frrvty", "-P", "0",
             "--vty_socket", vty, "-z", f"{vty}/zserv.api", "-i", f"{vty}/{daemon}.pid",
             "-f", "/dev/null", "--log", f"file:{layout.dir / daemon}.log"],
            layout.dir / f"{daemon}.out")

    def _spawn_sshd(self, layout: _Layout) -> int:
        private = ('mount -t tmpfs -o mode=0755 citynet-lab /run && mkdir /run/sshd'
                   ' && mount --bind "$1" /etc/passwd && hostname "$2"'
                   ' && exec /usr/sbin/sshd -D -e -f "$3"')
        return self._spawn(["unshare", "--mount", "--uts", "sh", "-c", private, "sshd",
                            str(self.root / "passwd"), layout.name, str(layout.sshd_config)],
                           layout.dir / "sshd.log")

    def _router(self, layout: _Layout, pids: tuple[int, ...]) -> Router:
        return Router(name=layout.name, hostname=layout.name, host=LOOPBACK, port=layout.port,
                      username=USERNAME, password=self._password, key_file=self.key_file,
                      namespace=layout.namespace, config_file=layout.config_dir / "frr.conf",
                      pids=pids, vty_dir=layout.vty_dir, config_dir=layout.config_dir)

    def _spawn(self, argv: list[str], log: Path) -> int:
        """A long-running process (``ip netns exec``, ``unshare`` and ``sh -c`` all exec the
        next one: the PID is the daemon's)."""
        with log.open("ab") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        self._processes.append(process)
        self._logs[process.pid] = log
        return process.pid

    def _wait_for(self, layouts: list[_Layout], check: Callable[[_Layout], bool],
                  what: str) -> None:
        """Poll ``check`` for each router until all hold; fail at once if a process died."""
        pending = list(layouts)

        def ready() -> bool:
            for process in self._processes:
                if process.poll() is not None:
                    log = self._logs[process.pid]
                    pytest.fail(f"{log.parent.name} {log.stem} exited {process.returncode}: "
                                f"{_tail(log)}")
            pending[:] = [layout for layout in pending if not check(layout)]
            return not pending

        wait_until(ready, what, timeout=START_TIMEOUT)


class _Layout:
    """Where one router's files, sockets and namespace go."""

    def __init__(self, lab: FrrLab, index: int) -> None:
        assert lab._vty_root is not None
        self.index = index
        self.name = f"{lab.prefix}{index}"
        self.namespace = f"{lab.tag}-{self.name}"
        self.dir = lab.root / self.name
        self.config_dir = self.dir / "etc"
        self.vty_dir = lab._vty_root / self.name
        self.host_key = self.dir / "host_key"
        self.sshd_config = self.dir / "sshd_config"
        self.port = free_port()
        self.config_dir.mkdir(parents=True)
        self.vty_dir.mkdir()

    def write_configs(self, lab: FrrLab) -> None:
        # Integrated config: `write memory` saves one frr.conf into config_dir, as on a box.
        (self.config_dir / "vtysh.conf").write_text("service integrated-vtysh-config\n")
        vtysh = [*_vtysh(self.vty_dir, self.config_dir), "-H", str(self.dir / "history")]
        self.sshd_config.write_text(f"""\
ListenAddress {LOOPBACK}:{self.port}
HostKey {self.host_key}
PidFile {self.dir / "sshd.pid"}
AllowUsers {USERNAME}
AuthorizedKeysFile {lab.root / "authorized_keys"}
# The lab user is uid 0 (see the module docstring); sshd treats uid 0 as root.
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
ForceCommand exec {shlex.join(vtysh)}
""")


def _vtysh(vty_dir: Path, config_dir: Path) -> list[str]:
    return ["vtysh", "--vty_socket", str(vty_dir), "--config_dir", str(config_dir)]


def _in_uts(hostname: str) -> list[str]:
    """Prefix that runs a command in a new UTS namespace named ``hostname``."""
    return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname]


def _answers(layout: _Layout) -> bool:
    """Both daemons answer in vtysh, staticd is zebra's client, and sshd greets."""
    if not all((layout.vty_dir / f"{daemon}.vty").exists() for daemon in DAEMONS):
        return False
    done = subprocess.run([*_vtysh(layout.vty_dir, layout.config_dir), "-c", "show daemons",
                           "-c", "show zebra client summary"],
                          capture_output=True, text=True, timeout=30, check=False)
    lines = done.stdout.splitlines()
    if not (lines and set(DAEMONS) <= set(lines[0].split())
            and any(line.startswith("static ") for line in lines)):
        return False
    try:
        with socket.create_connection((LOOPBACK, layout.port), timeout=2) as conn:
            return conn.recv(4) == b"SSH-"
    except OSError:
        return False


def _run_all(commands: list[list[str]]) -> None:
    """Run commands side by side; any failure fails the test with its output."""
    started = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT) for argv in commands]
    failed = []
    for argv, process in zip(commands, started, strict=True):
        output, _ = process.communicate(timeout=60)
        if process.returncode != 0:
            failed.append(f"{shlex.join(argv)} exited {process.returncode}: "
                          f"{output.decode(errors='replace').strip()}")
    if failed:
        pytest.fail("; ".join(failed))


def _descendants(pids: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold ") "
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: nothing to do
        os.kill(pid, signal.SIGKILL)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def alive(pid: int) -> bool:
    """The process exists and is not a zombie awaiting its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
