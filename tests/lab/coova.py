"""A real CoovaChilli in network namespaces: the UAM NAS a phone is behind, in front of
citynet's portal and RADIUS listener.

CoovaChilli is built from the source in ``../shared/peers/`` (beside the checkout) once
per tarball: into a temporary directory, then renamed to
``/var/tmp/citynet-test-coova-<sha256>`` (a lock keeps two runs from building at once; the
rename keeps a half-built tree from ever being used).

The lab (:class:`CoovaLab`) makes its own namespaces, joined by veth pairs created
inside them, so the root namespace gets no interface; an ``unreachable`` route for the
lab's prefix in the root namespace guards against any lab packet leaving the machine::

    phone-N ──veth── [bridge]  nas: chilli (tun, DHCP, UAM)  ──veth──  srv: citynet serve
                                                                         (web + RADIUS),
                                                                         "internet" web

A namespace cannot reach the host's loopback, so citynet listens on the srv end of the
link. Every process is stopped by PID, every namespace deleted by name when the lab
closes, also after a failed start.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from citynet import config as config_module
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal.senders import Outbox
from tests.integration.monitoring.netns import Lab, ip, listening_ports
from tests.support import CITYNET, wait_until

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT.parent / "shared" / "peers"
TARBALL = "coova-chilli-e0c7d7a.tar.gz"
# Outlives the run and is shared by checkouts (the build takes minutes); a tree someone
# else owns there is refused (see _built).
CACHE = Path("/var/tmp")  # noqa: S108
BUILD_TOOLS = ("autoconf", "automake", "libtoolize", "gengetopt", "make", "gcc", "pkg-config")
RUN_TOOLS = ("busybox", "ethtool", "iptables", "ip")
CONFIGURE = ("--enable-chilliquery", "--enable-coa", "--with-openssl", "--disable-static")
# RFC 2544's benchmarking block: no real network uses it. Each lab takes one /22 of it.
LAB_BLOCK = ipaddress.ip_network("198.18.0.0/15")
NAS_ID = "coova-lab"
NAS_SECRET = "coova-lab-radius-secret"
UAM_SECRET = "coova-lab-uam-secret"
WEB_PORT = 8080  # inside the srv namespace: no host port is taken
UAM_PORT = 3990
COA_PORT = 3799
START_TIMEOUT = 60.0


# --- the build ------------------------------------------------------------------------

def tarball() -> Path:
    """The CoovaChilli source; the test is skipped (saying why) only if it is absent."""
    path = PEERS / TARBALL
    if not path.is_file():
        pytest.skip(f"CoovaChilli source {path} is absent (CI puts shared/ beside the checkout)")
    return path


def build(cache: Path = CACHE) -> Path:
    """CoovaChilli installed under a prefix keyed by the tarball's hash; built on first use."""
    source = tarball()
    prefix = cache / f"citynet-test-coova-{_sha256(source)[:16]}"
    if _built(prefix):
        return prefix
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"building CoovaChilli needs {', '.join(missing)}: "
                    "run `bash scripts/test-deps.sh` (as root)")
    with _locked(cache / f"{prefix.name}.lock"):
        if not _built(prefix):  # another run may have built it while we waited
            _build_into(source, prefix)
    return prefix


def _built(prefix: Path) -> bool:
    if not prefix.exists():
        return False
    # the tree's programs run as root: never one another user could have put there
    mode = prefix.stat()
    if mode.st_uid != os.getuid() or mode.st_mode & 0o022:
        pytest.fail(f"{prefix} is not this user's own (or others may write to it): "
                    "remove it and run again")
    return all((prefix / "sbin" / tool).is_file() for tool in ("chilli", "chilli_query"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_into(source: Path, prefix: Path) -> None:
    """Configure for ``prefix`` (chilli finds its helpers and libraries by that path), install
    into a staging root, and rename the tree into place."""
    work = Path(tempfile.mkdtemp(prefix=f"{prefix.name}.build-", dir=prefix.parent))
    try:
        src, stage = work / "src", work / "stage"
        src.mkdir()
        with tarfile.open(source) as archive:
            archive.extractall(src, filter="data")
        log = work / "build.log"
        steps = [["sh", "bootstrap"],
                 ["./configure", f"--prefix={prefix}", f"--sysconfdir={prefix}/etc",
                  f"--localstatedir={prefix}/var", *CONFIGURE],
                 ["make", "-j2"],
                 ["make", "install", f"DESTDIR={stage}"]]
        for argv in steps:
            _step(argv, src, log)
        staged = stage / prefix.relative_to("/")
        (staged / "var" / "run").mkdir(parents=True, exist_ok=True)  # chilli's DEFSTATEDIR
        os.rename(staged, prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _step(argv: list[str], cwd: Path, log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                              timeout=900, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"building CoovaChilli: {' '.join(argv)} exited {done.returncode}:\n{tail}")


# --- the lab --------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """The lab's addresses, all inside one /22 of the benchmarking block."""

    block: ipaddress.IPv4Network

    def _host(self, subnet: int, host: int) -> str:
        return str(self.block.network_address + 256 * subnet + host)

    @property
    def clients(self) -> str:  # chilli's DHCP pool and UAM address
        return f"{self._host(0, 0)}/24"

    @property
    def uam_ip(self) -> str:
        return self._host(0, 1)

    @property
    def nas_ip(self) -> str:  # the NAS's side of the link: RADIUS and CoA from/to here
        return self._host(1, 1)

    @property
    def server_ip(self) -> str:  # citynet's web and RADIUS
        return self._host(1, 2)

    @property
    def internet_ip(self) -> str:  # a web server standing in for the internet
        return self._host(2, 1)

    @property
    def portal(self) -> str:
        return f"http://{self.server_ip}:{WEB_PORT}/portal/"

    @property
    def captive_api(self) -> str:
        return f"{self.portal}api/captive"


@dataclass
class Lease:
    """What the phone's DHCP client got: udhcpc's variables."""

    values: dict[str, str]

    @property
    def ip(self) -> str:
        return self.values["ip"]

    @property
    def router(self) -> str:
        return self.values.get("router", "").split()[0]

    def option(self, code: int) -> bytes:
        """A DHCP option udhcpc was asked for by number (``-O``), raw."""
        return bytes.fromhex(self.values.get(f"opt{code}", ""))


@dataclass(frozen=True)
class ChilliSession:
    """One line of ``chilli_query list``: MAC IP state session-id authenticated user
    time/session-timeout idle/idle-timeout in/max out/max max-total interim
    up%/max-up down%/max-down url."""

    mac: str
    ip: str
    session_id: str
    authenticated: bool
    user: str
    session_timeout: int
    idle_timeout: int
    interim_interval: int
    bandwidth_up: int  # bit/s, 0: none
    bandwidth_down: int

    @classmethod
    def parse(cls, line: str) -> ChilliSession:
        fields = line.split()
        if len(fields) < 15:
            raise AssertionError(f"not a chilli_query list line: {line!r}")
        return cls(mac=fields[0], ip=fields[1], session_id=fields[3],
                   authenticated=fields[4] == "1", user=fields[5],
                   session_timeout=int(fields[6].split("/")[1]),
                   idle_timeout=int(fields[7].split("/")[1]),
                   interim_interval=int(fields[11]),
                   bandwidth_up=int(fields[12].split("/")[1]),
                   bandwidth_down=int(fields[13].split("/")[1]))


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; Set-Cookie read into the phone's jar
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


# Runs inside the phone's namespace: one HTTP request, no redirect followed, the answer
# as JSON on stdout. Only the standard library, so it starts fast.
_REQUEST = """
import http.client, json, sys, urllib.parse
method, url, headers, body = json.loads(sys.stdin.read())
parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=20)
conn.request(method, parts.path + ("?" + parts.query if parts.query else ""),
             body=body.encode() if body else None, headers=headers)
answer = conn.getresponse()
print(json.dumps([answer.status, answer.getheaders(),
                  answer.read().decode("utf-8", "replace")]))
"""


@dataclass
class Phone:
    """One phone behind the NAS: its namespace, MAC, lease and a browser's cookie jar."""

    hotspot: CoovaLab
    namespace: str
    interface: str
    mac: str
    lease: Lease | None = None
    last: Response | None = None  # the page the phone shows
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # by host:port

    def request(self, method: str, url: str, form: dict[str, str] | None = None) -> Response:
        """One HTTP request from the phone, redirects not followed."""
        host = urlsplit(url).netloc
        headers = {"Accept-Language": "en", "User-Agent": "citynet-lab-phone"}
        if self.cookies.get(host):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies[host].items())
        body = ""
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        done = self.hotspot.lab.run(self.namespace, [sys.executable, "-I", "-c", _REQUEST],
                                    stdin=json.dumps([method, url, headers, body]), timeout=60)
        status, pairs, text = json.loads(done.stdout)
        for name, value in pairs:
            if name.lower() == "set-cookie":
                cookie, _sep, _attrs = value.partition(";")
                key, _eq, val = cookie.partition("=")
                self.cookies.setdefault(host, {})[key.strip()] = val.strip()
        self.last = Response(status, {name.lower(): value for name, value in pairs}, text)
        return self.last

    def get(self, url: str) -> Response:
        return self.request("GET", url)

    def follow(self, url: str, limit: int = 10) -> tuple[Response, list[str]]:
        """GET and follow redirects (as a browser does); the last answer and every URL."""
        visited = [url]
        response = self.get(url)
        while response.status in (301, 302, 303, 307, 308) and len(visited) <= limit:
            url = urljoin(url, response.location)
            visited.append(url)
            response = self.get(url)
        return response, visited


class CoovaLab:
    """citynet + CoovaChilli + phones in namespaces; ``close`` tears everything down."""

    def __init__(self, workdir: Path, chilli_prefix: Path, portal_path: str = "/portal/",
                 flags: tuple[str, ...] = ()) -> None:
        self.lab = Lab()
        self.workdir = workdir
        self.prefix = chilli_prefix
        self.portal_path = portal_path  # as chilli's uamserver ends
        self.flags = flags  # chilli options without a value, e.g. macauth
        self.plan: Plan | None = None
        self.guard: str | None = None
        self.nas = self.server = ""
        self.bridge = f"{self.lab.prefix}br"
        self.chilli: subprocess.Popen[str] | None = None
        self.citynet: subprocess.Popen[str] | None = None
        self.store: Store | None = None
        self.config_file = workdir / "citynet.toml"
        self._phones = 0
        self._logs: list[IO[str]] = []

    # lifecycle

    def start(self) -> CoovaLab:
        try:
            missing = [tool for tool in RUN_TOOLS if shutil.which(tool) is None]
            if missing:
                pytest.fail(f"the CoovaChilli lab needs {', '.join(missing)}: "
                            "run `bash scripts/test-deps.sh` (as root)")
            if not Path("/dev/net/tun").exists():
                pytest.fail("the CoovaChilli lab needs a TUN device: /dev/net/tun")
            self.plan = Plan(self._claim_block())
            self._wire()
            self._start_citynet()
            self._start_internet()
            self._start_chilli()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self.lab.close()  # processes by PID, then the namespaces by name
        if self.chilli is not None:  # chilli writes its parsed config beside its binaries
            (self.prefix / "var" / "run" / f"chilli.{self.chilli.pid}.cfg.bin").unlink(
                missing_ok=True)
            self.chilli = None
        for log in self._logs:
            log.close()
        self._logs = []
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.guard is not None:
            subprocess.run(["ip", "route", "del", "unreachable", self.guard],
                           capture_output=True, check=False)
            self.guard = None

    def __enter__(self) -> CoovaLab:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # what tests use

    @property
    def addresses(self) -> Plan:
        assert self.plan is not None, "the lab is not started"
        return self.plan

    def phone(self, mac: str = "") -> Phone:
        """A new phone on the hotspot, its DHCP lease taken from chilli."""
        self._phones += 1
        namespace = self.lab.namespace(f"p{self._phones}")
        phone_if, port_if = f"{self.lab.prefix}p{self._phones}", f"{self.lab.prefix}q{self._phones}"
        mac = mac or ":".join(f"{byte:02x}" for byte in (2, 0, *secrets.token_bytes(4)))
        ip("-n", namespace, "link", "add", phone_if, "address", mac, "type", "veth",
           "peer", "name", port_if, "netns", self.nas)
        ip("-n", self.nas, "link", "set", port_if, "master", self.bridge, "up")
        ip("-n", namespace, "link", "set", phone_if, "up")
        for where, interface in ((namespace, phone_if), (self.nas, port_if)):
            _offload_off(self.lab, where, interface)
        phone = Phone(self, namespace, phone_if, mac.upper().replace(":", "-"))
        phone.lease = self._dhcp(phone)
        return phone

    def rejoin(self, phone: Phone) -> None:
        """The phone leaves and comes back: chilli forgets its DHCP lease, and the phone
        asks for a new one (a new chilli connection: MAC authentication runs again)."""
        self.chilli_query("dhcp-release", phone.mac)
        wait_until(lambda: self.chilli_session(phone) is None, f"chilli forgot {phone.mac}",
                   timeout=START_TIMEOUT)
        phone.lease = self._dhcp(phone)

    def chilli_query(self, *args: str) -> str:
        done = self.lab.run(self.nas, [str(self.prefix / "sbin" / "chilli_query"),
                                       "-s", str(self.workdir / "chilli.sock"), *args],
                            timeout=30)
        return done.stdout

    def chilli_session(self, phone: Phone) -> ChilliSession | None:
        """What chilli knows of the phone (``chilli_query list``), None if nothing."""
        for line in self.chilli_query("list").splitlines():
            if line.upper().startswith(phone.mac + " "):
                return ChilliSession.parse(line)
        return None

    def radius_trail(self, lines: int = 60) -> str:
        """What chilli and citynet logged about RADIUS lately: for a failed test's message
        (which request chilli sent, what came back, what citynet said of it)."""
        wanted = ("RADIUS", "radius", "Accept", "Reject", "logoff", "DHCP", "Connection")
        try:
            chilli = [line for line in (self.workdir / "chilli.log").read_text(
                errors="replace").splitlines() if any(word in line for word in wanted)]
        except OSError:
            chilli = ["(no log)"]
        return ("chilli's RADIUS lines:\n" + "\n".join(chilli[-lines:])
                + f"\ncitynet's log:\n{_tail(self.workdir / 'citynet.log', lines)}")

    def run_citynet(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A citynet command in the server's namespace (a CoA leaves from there)."""
        argv = ["ip", "netns", "exec", self.server, CITYNET, "--config", str(self.config_file),
                *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"citynet {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def sent_sms(self) -> list[dict[str, str]]:
        """The SMS citynet handed to its outbox gateway (the lab's), newest first."""
        return Outbox(self.workdir / "var" / "sms-outbox.jsonl").recent(10_000)

    # set-up steps

    def _claim_block(self) -> ipaddress.IPv4Network:
        """A /22 no route of this machine overlaps, guarded by an unreachable route."""
        routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"],
                                capture_output=True, text=True, check=True).stdout
        taken = [network for line in routes.splitlines()
                 if (network := _destination(line)) is not None]
        blocks = list(LAB_BLOCK.subnets(new_prefix=22))
        random.shuffle(blocks)
        for block in blocks:
            if any(block.overlaps(route) for route in taken):
                continue
            done = subprocess.run(["ip", "route", "add", "unreachable", str(block)],
                                  capture_output=True, check=False)
            if done.returncode == 0:  # else another lab took it meanwhile
                self.guard = str(block)
                return block
        pytest.fail(f"no free /22 for the CoovaChilli lab in {LAB_BLOCK}")

    def _wire(self) -> None:
        plan = self.addresses
        self.nas, self.server = self.lab.namespace("nas"), self.lab.namespace("srv")
        self.lab.link(self.nas, f"{plan.nas_ip}/24", self.server, f"{plan.server_ip}/24")
        # a bridge without an address of its own takes its ports' lowest MAC, which changes
        # as phones join; chilli keeps the one it read at start and ignores frames to another
        ip("-n", self.nas, "link", "add", self.bridge, "address", "02:c0:0a:00:00:01",
           "type", "bridge")
        ip("-n", self.nas, "link", "set", self.bridge, "up")
        # The phones' frames reach the NAS's own stack too (chilli answers ARP with the
        # bridge's MAC): as chilli's up.sh does, only chilli may see them, or the kernel
        # forwards a phone's packets past the captive portal and resets its connections.
        for chain in ("INPUT", "FORWARD"):
            self.lab.run(self.nas, ["iptables", "-A", chain, "-i", self.bridge, "-j", "DROP"])
        ip("-n", self.nas, "route", "add", "default", "via", plan.server_ip)
        ip("-n", self.server, "addr", "add", f"{plan.internet_ip}/32", "dev", "lo")
        ip("-n", self.server, "route", "add", plan.clients, "via", plan.nas_ip)
        self.lab.sysctl(self.nas, "net.ipv4.ip_forward=1")

    def _start_citynet(self) -> None:
        plan = self.addresses
        data = self.workdir / "var"
        self.config_file.write_text(
            f'data_dir = "{data}"\n'
            f'[web]\nbind = "{plan.server_ip}"\nport = {WEB_PORT}\n'
            f'[radius]\nbind = "{plan.server_ip}"\nauth_port = 1812\nacct_port = 1813\n'
            f'coa_port = {COA_PORT}\n'
            # the tests walk the app enrolment, which public WiFi leaves off by default
            '[portal]\napp_enrolment = true\n'
            '[logging]\nlevel = "INFO"\n')
        config = config_module.load(self.config_file, environ={})
        self.store = Store.from_config(config)
        self.store.upgrade()
        box = open_box(config, self.store, create=True)
        with self.store.session() as session:
            outcome = import_rows(session, [RawRow("coova lab", 1, KINDS["nas"], {
                "name": NAS_ID, "address": plan.nas_ip, "secret": NAS_SECRET,
                "vendor": "coovachilli", "uam_secret": UAM_SECRET})], box)
            assert outcome.ok, outcome.problems
        self.citynet = self._spawn(self.server, [CITYNET, "--config", str(self.config_file),
                                                 "serve"], "citynet.log")
        process = self.citynet

        def listening() -> bool:
            return (WEB_PORT in listening_ports(process.pid)
                    and 1812 in _udp_ports(process.pid))

        self._wait(listening, "citynet serve (web and RADIUS)", process, "citynet.log")

    def _start_internet(self) -> None:
        site = self.workdir / "internet"
        site.mkdir()
        (site / "index.html").write_text("hello from the internet\n")
        process = self._spawn(self.server, [sys.executable, "-m", "http.server", "80",
                                            "--bind", self.addresses.internet_ip,
                                            "--directory", str(site)], "internet.log")
        self._wait(lambda: 80 in listening_ports(process.pid), "the internet's web server",
                   process, "internet.log")

    def _start_chilli(self) -> None:
        conf = self.workdir / "chilli.conf"
        conf.write_text("".join(f"{key} {value}\n" for key, value in
                                self.chilli_options().items())
                        + "".join(f"{flag}\n" for flag in self.flags))
        self.chilli = self._spawn(self.nas, [str(self.prefix / "sbin" / "chilli"), "--fg",
                                             "--debug", "--conf", str(conf)], "chilli.log")
        process = self.chilli
        socket_file = self.workdir / "chilli.sock"

        def answering() -> bool:
            if not socket_file.exists():
                return False
            done = subprocess.run(
                ["ip", "netns", "exec", self.nas, str(self.prefix / "sbin" / "chilli_query"),
                 "-s", str(socket_file), "list"], capture_output=True, timeout=10, check=False)
            return done.returncode == 0

        self._wait(answering, "chilli (its command socket)", process, "chilli.log")

    def chilli_options(self) -> dict[str, str]:
        """chilli's configuration: each key a command-line option (flags: ``flags``)."""
        plan = self.addresses
        return {
            "dhcpif": self.bridge,
            "net": plan.clients,
            "uamlisten": plan.uam_ip,
            "uamport": str(UAM_PORT),
            "dns1": plan.server_ip,
            "dns2": plan.server_ip,
            "radiuslisten": plan.nas_ip,
            "radiusserver1": plan.server_ip,
            "radiusserver2": plan.server_ip,
            "radiussecret": NAS_SECRET,
            "radiusnasid": NAS_ID,
            "radiustimeout": "2",
            # used verbatim: the trailing slash matters
            "uamserver": f"http://{plan.server_ip}:{WEB_PORT}{self.portal_path}",
            "uamsecret": UAM_SECRET,
            "coaport": str(COA_PORT),
            # at this commit an Access-Reject on /logon with a challenge timeout set ends in
            # "Unknown res in switch" and a closed connection
            "challengetimeout": "0",
            "captiveportalapi_uri": plan.captive_api,
            "cmdsocket": str(self.workdir / "chilli.sock"),
            "pidfile": str(self.workdir / "chilli.pid"),
            "statedir": str(self.workdir),
            "lease": "600",
        }

    def _dhcp(self, phone: Phone) -> Lease:
        script = self.workdir / "udhcpc.sh"
        if not script.exists():
            script.write_text(_UDHCPC_SCRIPT)
            script.chmod(0o755)
        lease_file = self.workdir / f"{phone.namespace}.lease"
        done = subprocess.run(
            ["ip", "netns", "exec", phone.namespace, "env", "-i", f"LEASE_FILE={lease_file}",
             f"PATH={os.defpath}:/usr/sbin:/sbin",
             "busybox", "udhcpc", "-f", "-q", "-n", "-i", phone.interface, "-t", "15", "-T", "1",
             "-A", "1", "-O", "114", "-s", str(script)],
            capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0 or not lease_file.exists():
            pytest.fail(f"no DHCP lease from chilli for {phone.mac}: {done.stderr}\n"
                        f"chilli's log:\n{_tail(self.workdir / 'chilli.log')}")
        values = dict(line.split("=", 1) for line in lease_file.read_text().splitlines()
                      if "=" in line)
        return Lease(values)

    def _spawn(self, namespace: str, argv: list[str], log_name: str) -> subprocess.Popen[str]:
        """A background process in the namespace, its output to a log file in the lab's
        directory (a pipe nobody reads would block a chatty daemon)."""
        log = (self.workdir / log_name).open("w")
        self._logs.append(log)
        process = subprocess.Popen(["ip", "netns", "exec", namespace, *argv], cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
        self.lab.processes.append(process)
        return process

    def _wait(self, ready: Callable[[], bool], what: str, process: subprocess.Popen[str],
              log_name: str) -> None:
        try:
            wait_until(ready, what, process, timeout=START_TIMEOUT)
        except pytest.fail.Exception as failed:
            pytest.fail(f"{failed}; its log:\n{_tail(self.workdir / log_name)}")


# udhcpc calls this with the lease in its environment: address the phone, route through
# the NAS, and write every variable (opt114 among them) where the lab reads it.
_UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for gw in $router; do ip route replace default via "$gw" dev "$interface"; break; done
    env > "$LEASE_FILE.tmp" && mv "$LEASE_FILE.tmp" "$LEASE_FILE"
    ;;
esac
exit 0
"""


def _destination(route: str) -> ipaddress.IPv4Network | None:
    """The destination of a line of ``ip route show`` (after a type such as
    ``unreachable`` or ``local``); None for the default route."""
    for word in route.split()[:2]:
        try:
            return ipaddress.IPv4Network(word, strict=False)
        except ValueError:  # a route type, or "default"
            continue
    return None


def _offload_off(lab: Lab, namespace: str, interface: str) -> None:
    """chilli reads frames from a packet socket: a veth's deferred checksums look broken."""
    lab.run(namespace, ["ethtool", "-K", interface, "tx", "off"])


def _udp_ports(pid: int) -> list[int]:
    """UDP ports process ``pid`` has bound (by socket inode, as ``listening_ports``)."""
    try:
        owned = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        table = Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]
    except OSError:
        return []
    rows = [row.split() for row in table]
    return [int(row[1].rsplit(":", 1)[1], 16) for row in rows if f"socket:[{row[9]}]" in owned]


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
