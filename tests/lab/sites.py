"""Two sites on one machine: site A and site B each in a network namespace of its own,
joined by a WAN link whose delay and loss the test sets, and the host side as a third
place (the etcd witness, citynet's processes, HAProxy) with a LAN link to each site.

Addresses are on one /24 of the lab prefix 10.218.0.0/16, claimed per lab with a lock
file so that labs running at once never share one:

    10.218.N.1/32   site A's service address (on its loopback): PostgreSQL, Patroni, etcd
    10.218.N.2/32   site B's service address
    10.218.N.3/32   the witness etcd's address, on the host side (its link to site A)
    .16/30 host-A   .20/30 host-B   .24/30 A-B (the WAN)

Each namespace routes the other site's address over the WAN and the witness over its LAN
link; neither has a default route. On the host side an ``unreachable`` route for the
whole /24 is the guard: an address of the lab that no more specific route covers fails at
once instead of following the machine's default route out.

The WAN is :mod:`tests.lab.wan` (``tc netem`` in user space) because this machine kind's
kernel has no ``sch_netem``; its delay is set as a round trip, half each way.
:meth:`SiteNetwork.stop` removes everything it made: the WAN process (by PID), links,
namespaces, the guard route and the claim.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PREFIX = "10.218"
CLAIMS = Path("/tmp")  # noqa: S108 (shared by every lab on the machine, O_EXCL claims)


@dataclass(frozen=True)
class Site:
    name: str  # "a" or "b"
    namespace: str
    address: str  # where this site's servers listen
    lan: str  # the site's end of its link to the host side

    def run(self) -> list[str]:
        """The prefix that runs a command inside this site."""
        return ["ip", "netns", "exec", self.namespace]


class SiteNetwork:
    """Start with :meth:`start`, stop with :meth:`stop` (also after a failed start)."""

    def __init__(self, rtt_ms: float = 0.0) -> None:
        self.index, self._claim = _claim_subnet()
        net = f"{PREFIX}.{self.index}"
        tag = f"cs{self.index}"
        self.tag = tag
        self.a = Site("a", f"citynet-{tag}-a", f"{net}.1", f"{net}.18")
        self.b = Site("b", f"citynet-{tag}-b", f"{net}.2", f"{net}.22")
        self.witness = f"{net}.3"
        self.subnet = f"{net}.0/24"
        self.rtt_ms = rtt_ms
        self._net = net
        self._links: list[str] = []  # host-side links to delete
        self._namespaces: list[str] = []
        self._wan: subprocess.Popen[bytes] | None = None

    @property
    def sites(self) -> tuple[Site, Site]:
        return self.a, self.b

    # --- what tests do -------------------------------------------------------------------

    def set_wan(self, rtt_ms: float | None = None, loss_percent: float | None = None) -> None:
        """Change the WAN link: its round-trip delay, its loss (100: cut)."""
        if rtt_ms is not None:
            self._wan_command(f"delay {rtt_ms / 2:g}")
            self.rtt_ms = rtt_ms
        if loss_percent is not None:
            self._wan_command(f"loss {loss_percent:g}")

    def cut_off(self, site: Site) -> None:
        """Take ``site`` off the network: its WAN and its link to the host side go down."""
        _ip(site.namespace, "link set wan down", "link set lan down")

    def reconnect(self, site: Site) -> None:
        _ip(site.namespace, "link set wan up", "link set lan up",
            *self._routes(site))

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> SiteNetwork:
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._wan is not None:
            with contextlib.suppress(OSError):
                self._wan.stdin.close()  # type: ignore[union-attr]
            self._wan.kill()
            self._wan.wait(timeout=30)
            if self._wan.stdout is not None:
                self._wan.stdout.close()
            self._wan = None
        for link in self._links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        for namespace in self._namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        subprocess.run(["ip", "route", "del", "unreachable", self.subnet],
                       capture_output=True, check=False)
        self._links, self._namespaces = [], []
        self._claim.unlink(missing_ok=True)

    # --- the pieces ----------------------------------------------------------------------

    def _build(self) -> None:
        net, tag = self._net, self.tag
        _ip(None, f"route replace unreachable {self.subnet}")  # the guard, first of all
        for site in self.sites:
            self._namespaces.append(site.namespace)
            subprocess.run(["ip", "netns", "add", site.namespace], check=True,
                           capture_output=True)
        self._links += [f"{tag}ha", f"{tag}hb"]
        for site, host_end, host_address in ((self.a, f"{tag}ha", f"{net}.17"),
                                             (self.b, f"{tag}hb", f"{net}.21")):
            _ip(None, f"link add {host_end} type veth peer name lan netns {site.namespace}",
                f"addr add {host_address}/30 dev {host_end}", f"link set {host_end} up",
                f"route add {site.address}/32 via {site.lan}")
        # the host answers for the witness's address on any link (no dummy device here)
        _ip(None, f"addr add {self.witness}/32 dev {tag}ha")
        self._start_wan()
        for site, wan_address in ((self.a, f"{net}.25"), (self.b, f"{net}.26")):
            _ip(site.namespace, "link set lo up", f"addr add {site.address}/32 dev lo",
                f"addr add {site.lan}/30 dev lan", "link set lan up",
                f"addr add {wan_address}/30 dev wan", "link set wan up", *self._routes(site))
        self.set_wan(rtt_ms=self.rtt_ms)

    def _routes(self, site: Site) -> list[str]:
        net = self._net
        other = self.b if site is self.a else self.a
        far_wan, host_end = ((f"{net}.26", f"{net}.17") if site is self.a
                             else (f"{net}.25", f"{net}.21"))
        return [f"route replace {other.address}/32 via {far_wan}",
                f"route replace {self.witness}/32 via {host_end}"]

    def _start_wan(self) -> None:
        ends = (f"{self.tag}a", f"{self.tag}b")
        root = Path(__file__).resolve().parents[2]
        self._wan = subprocess.Popen([sys.executable, "-m", "tests.lab.wan", *ends],
                                     cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._expect_from_wan("ready")
        for end, site in zip(ends, self.sites, strict=True):
            _ip(None, f"link set {end} netns {site.namespace}")
            _ip(site.namespace, f"link set {end} name wan")

    def _wan_command(self, command: str) -> None:
        assert self._wan is not None and self._wan.stdin is not None
        self._wan.stdin.write(command.encode() + b"\n")
        self._wan.stdin.flush()
        self._expect_from_wan(command)

    def _expect_from_wan(self, line: str) -> None:
        """The WAN process's next line (it answers each command at once; a dead one
        answers nothing and the read ends)."""
        assert self._wan is not None and self._wan.stdout is not None
        got = self._wan.stdout.readline().decode().strip()
        if got != line:
            pytest.fail(f"WAN link: expected {line!r}, got {got!r} "
                        f"{self._wan.stdout.read(2000) if self._wan.poll() is not None else ''}")


def _ip(namespace: str | None, *commands: str) -> None:
    argv = ["ip", *(["-n", namespace] if namespace else []), "-batch", "-"]
    done = subprocess.run(argv, input="\n".join(commands) + "\n", capture_output=True,
                          text=True, check=False, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"ip -batch in {namespace or 'the host'}: {done.stderr.strip()}")


def _claim_subnet() -> tuple[int, Path]:
    """A /24 of the lab prefix no other lab on this machine holds (an O_EXCL lock file)."""
    for index in range(1, 255):
        claim = CLAIMS / f"citynet-sites-{PREFIX}.{index}.claim"
        try:
            fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _stale(claim):
                claim.unlink(missing_ok=True)
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return index, claim
    pytest.fail(f"no free /24 left under {PREFIX}.0.0/16 (claims in {CLAIMS})")


def _stale(claim: Path) -> bool:
    """A claim whose process is gone (a lab killed before it could clean up)."""
    try:
        os.kill(int(claim.read_text() or "0"), 0)
    except (ProcessLookupError, ValueError):
        return True
    except OSError:
        return False
    return False
