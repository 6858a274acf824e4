"""Benchmark: 802.1X logins per second, FreeRADIUS + citynet (rlm_rest) vs FreeRADIUS alone.

Target (issue 20): EAP-TLS and PEAP-MSCHAPv2 logins/s through FreeRADIUS with the config
`citynet freeradius config` generates (citynet decides the person's VLAN in rlm_rest
post-auth, answers PEAP's inner login with the NT hash, and records every login) >= 0.8 x
FreeRADIUS alone with the same users in its own `files` (the users file gives the VLAN
and the NT hash). Both FreeRADIUS instances use the same eap module text, server
certificate, CA and CRL (`check_crl`), so the TLS work is the same and the difference is
citynet's share; FreeRADIUS alone also compares the certificate's CN with the identity
(`check_cert_cn`), which citynet does by the serial instead (a string comparison either
way).

Debian's eapol_test is the supplicant; it does one login per process, so ``--workers``
threads each run one eapol_test after another for a slice of ``--seconds``, the two
servers alternating slice by slice (``--rounds``) so that a change in the machine's load
hits both. Rate: accepted logins / wall time of the slice; latency: one eapol_test
process from start to exit (its own start-up and TLS work included, the same for both).
The supplicants run on the same cores as the servers: on a small machine they take a
good part of the CPU, which narrows the ratio's spread (say so when quoting it).

Every Accept is checked once up front for the role's VLAN (Tunnel-Private-Group-Id), from
both servers. Needs Debian's freeradius, freeradius-rest and eapoltest.

    .venv/bin/python bench/eap.py [--workers 4] [--seconds 12] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from admission.eap import TlsFiles, eap_module
from admission.md4 import nt_hash
from bench.auth import SECRET, free_udp_port, wait_for_status
from bench.portal import cpu_seconds
from bench.rest import free_tcp_port
from radius.freeradius import base_conf

CITYNET = str(Path(sys.executable).parent / "citynet")
TOKEN = "bench-eap-token"
SERVER_NAME = "radius.bench.example"
VLAN = "20"  # the teacher role's, in citynet's nac.roles and in the baseline's users file
TLS_USER, PEAP_USER = "t001", "t002"
PEAP_PASSWORD = "Bench-Peap-Pass-1"
METHODS = ("EAP-TLS", "PEAP-MSCHAPv2")
INNER = "baseline-inner"

# FreeRADIUS alone: the same eap module, its users in `files` (VLAN as reply items, the NT
# hash for PEAP's inner MSCHAPv2), the mschap settings citynet generates
BASELINE = """
client bench {{
    ipaddr = 127.0.0.1
    secret = {secret}
    require_message_authenticator = yes
}}

modules {{
    always reject {{
        rcode = reject
    }}
{eap}    mschap {{
        use_mppe = yes
        require_encryption = yes
        require_strong = yes
        pool {{
            start = 0
            min = 0
            max = 0
        }}
    }}
    files {{
        filename = {dir}/users
    }}
}}

server default {{
    listen {{
        type = auth
        ipaddr = 127.0.0.1
        port = {port}
    }}
    authorize {{
        files
        eap {{
            ok = return
            updated = return
        }}
        reject
    }}
    authenticate {{
        Auth-Type eap {{
            eap
        }}
    }}
    post-auth {{
        Post-Auth-Type REJECT {{
            eap
        }}
    }}
}}

server {inner} {{
    authorize {{
        eap {{
            ok = return
        }}
        files
    }}
    authenticate {{
        Auth-Type eap {{
            eap
        }}
        Auth-Type MS-CHAP {{
            mschap
        }}
    }}
}}
"""


@dataclass
class Slice:
    """What one server did for one method: latencies (s) of accepted logins, failures,
    and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process → CPU seconds spent


def citynet_env(tmp: Path, web_port: int, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env.update(CITYNET_DATA_DIR=str(tmp / "citynet"), CITYNET_WEB__PORT=str(web_port),
               CITYNET_RADIUS__REST_TOKEN=TOKEN, CITYNET_RADIUS__REST_PORT=str(api_port),
               CITYNET_RADIUS__ENABLED="false", CITYNET_LOGGING__LEVEL="WARNING",
               CITYNET_NAC__ROLES=f'{{"teacher": {{"vlan": "{VLAN}"}}}}',
               CITYNET_NAC__PEAP_ROLES="teacher",
               LC_ALL="C.UTF-8")  # the CLI's messages in English: the password is read
    return env


def prepare_citynet(tmp: Path, env: dict[str, str], auth: int) -> tuple[Path, str]:
    """The store (NAS, CA, two teachers, a certificate and a PEAP password) and the
    generated FreeRADIUS directory; the .p12 and its one-time password."""

    def run(*argv: str, stdin: str | None = None) -> str:
        return subprocess.run([CITYNET, *argv], env=env, check=True, capture_output=True,
                              text=True, input=stdin).stdout

    run("db", "upgrade")
    run("nas", "add", "bench", "--ip", "127.0.0.1", "--secret", SECRET)
    run("nac", "ca", "init", "--district", "bench", "--server-name", SERVER_NAME)
    people = tmp / "people.csv"
    people.write_text(f"username,real_name,role\n{TLS_USER},王芳,teacher\n"
                      f"{PEAP_USER},李明,teacher\n")
    run("nac", "people", "import", str(people))
    run("nac", "people", "password", PEAP_USER, "--password-stdin", stdin=PEAP_PASSWORD + "\n")
    p12 = tmp / f"{TLS_USER}.p12"
    issued = run("nac", "cert", "issue", TLS_USER, "--device", "laptop", "--out", str(p12))
    found = re.search(r"one-time password \(shown once, not stored\): (\S+)", issued)
    if found is None:
        raise SystemExit(f"no one-time password in: {issued}")
    run("freeradius", "config", "--out", str(tmp / "fr"), "--auth-port", str(auth),
        "--acct-port", str(free_udp_port()))
    return p12, found[1]


def prepare_baseline(tmp: Path, port: int) -> Path:
    """FreeRADIUS alone, on the TLS files citynet's directory holds."""
    conf = tmp / "alone"
    for sub in ("log", "run", "radacct", "mods-config"):
        (conf / sub).mkdir(parents=True, exist_ok=True)
    tls = tmp / "fr" / "eap"
    module = eap_module(TlsFiles(tls / "server.pem", tls / "server.key", tls / "trust"), INNER)
    (conf / "radiusd.conf").write_text(base_conf(conf) + BASELINE.format(
        secret=SECRET, eap=module, dir=conf, port=port, inner=INNER))
    (conf / "dictionary").write_text("$INCLUDE /usr/share/freeradius/dictionary\n")
    reply = (f'\tTunnel-Type = VLAN,\n\tTunnel-Medium-Type = IEEE-802,\n'
             f'\tTunnel-Private-Group-Id = "{VLAN}"\n')
    (conf / "users").write_text(
        f'"{TLS_USER}"\n{reply}\n'
        f'"{PEAP_USER}" NT-Password := 0x{nt_hash(PEAP_PASSWORD).hex()}\n{reply}')
    return conf


def supplicant_confs(tmp: Path, p12: Path, p12_password: str) -> dict[str, Path]:
    ca = tmp / "fr" / "eap" / "trust" / "ca.pem"
    common = f'    key_mgmt=WPA-EAP\n    ca_cert="{ca}"\n    domain_match="{SERVER_NAME}"\n'
    confs = {
        "EAP-TLS": f'    eap=TLS\n    identity="{TLS_USER}"\n    private_key="{p12}"\n'
                   f'    private_key_passwd="{p12_password}"\n',
        "PEAP-MSCHAPv2": f'    eap=PEAP\n    identity="{PEAP_USER}"\n'
                         f'    password="{PEAP_PASSWORD}"\n    phase2="auth=MSCHAPV2"\n',
    }
    paths = {}
    for method, text in confs.items():
        path = tmp / f"{method}.conf"
        path.write_text(f"network={{\n{common}{text}}}\n")
        paths[method] = path
    return paths


def eapol(conf: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["eapol_test", "-c", str(conf), "-a", "127.0.0.1", "-p", str(port),
                           "-s", SECRET, "-r", "0", "-t", "10"],
                          capture_output=True, text=True, timeout=60, check=False)


def check_vlan(name: str, method: str, conf: Path, port: int) -> None:
    """One login: accepted, with the role's VLAN in the Access-Accept."""
    done = eapol(conf, port)
    accept = done.stdout.rsplit("code=2 (Access-Accept)", 1)
    if done.returncode != 0 or len(accept) != 2:
        raise SystemExit(f"{name}: {method} not accepted:\n{done.stdout[-3000:]}")
    # eapol_test prints a value as text or as hex
    group = re.search(r"Attribute 81 \(Tunnel-Private-Group-Id\) length=\d+\s+"
                      r"Value: (?:'(.*)'|([0-9a-f]+))", accept[1].split("\n\n")[0])
    if group is None or VLAN not in (group[1], bytes.fromhex(group[2] or "").decode()):
        raise SystemExit(f"{name}: {method}'s Access-Accept has no VLAN {VLAN}:\n"
                         f"{accept[1][:2000]}")


def load(conf: Path, port: int, workers: int, seconds: float, into: Slice,
         processes: dict[str, int]) -> None:
    """``workers`` eapol_test loops for ``seconds``; adds to ``into``, with the CPU each
    of ``processes`` (name → pid) spent meanwhile."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            done = eapol(conf, port)
            took = time.perf_counter() - started
            with lock:
                if done.returncode == 0:
                    into.latencies.append(took)
                else:
                    into.failed += 1

    begin = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    into.seconds += time.perf_counter() - begin
    for name, pid in processes.items():
        into.cpu[name] = into.cpu.get(name, 0.0) + cpu_seconds(pid) - cpu_before[name]


def describe(name: str, done: Slice) -> str:
    if len(done.latencies) < 2:
        return f"{name:<22} {len(done.latencies)} accepted, {done.failed} failed: too few"
    q = statistics.quantiles(done.latencies, n=100)
    return (f"{name:<22} {len(done.latencies) / done.seconds:7.1f} logins/s   "
            f"p50 {q[49] * 1000:6.0f} ms  p95 {q[94] * 1000:6.0f} ms   "
            f"accepted {len(done.latencies)}, failed {done.failed}"
            + "".join(f"\n{'':<24}CPU of {process}: {spent / len(done.latencies) * 1000:.2f} "
                      f"ms a login" for process, spent in done.cpu.items()))


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback URL
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"citynet serve exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit("citynet serve did not start") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4,
                        help="eapol_test processes at once (default 4)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="load per method and server, in all rounds (default 12)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="slices per method and server, alternating (default 2)")
    args = parser.parse_args()
    for tool in ("freeradius", "eapol_test"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: freeradius, eapoltest)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        web_port, api_port = free_tcp_port(), free_tcp_port()
        ports = {"FreeRADIUS alone": free_udp_port(), "FreeRADIUS + citynet": free_udp_port()}
        env = citynet_env(tmp, web_port, api_port)
        p12, p12_password = prepare_citynet(tmp, env, ports["FreeRADIUS + citynet"])
        alone = prepare_baseline(tmp, ports["FreeRADIUS alone"])
        confs = supplicant_confs(tmp, p12, p12_password)
        web = subprocess.Popen([CITYNET, "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        directories = (alone, tmp / "fr")  # in the order of ``ports``
        servers = [subprocess.Popen(["freeradius", "-f", "-d", str(directory)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for directory in directories]
        results = {(method, name): Slice() for method in METHODS for name in ports}
        try:
            wait_http(f"http://127.0.0.1:{web_port}/healthz", web)
            for process, directory, (name, port) in zip(servers, directories, ports.items(),
                                                         strict=True):
                if process.poll() is not None:  # its own account of why
                    check = subprocess.run(["freeradius", "-XC", "-d", str(directory)],
                                           capture_output=True, text=True, check=False)
                    raise SystemExit(f"{name}: FreeRADIUS exited:\n{check.stdout[-3000:]}")
                wait_for_status(port)
            for method in METHODS:
                for name, port in ports.items():
                    check_vlan(name, method, confs[method], port)
            # what each server's processes spend per login: citynet's share, directly
            watched = {"FreeRADIUS alone": {"FreeRADIUS": servers[0].pid},
                       "FreeRADIUS + citynet": {"FreeRADIUS": servers[1].pid,
                                                "citynet serve": web.pid}}
            for method in METHODS:
                for _round in range(args.rounds):
                    for name, port in ports.items():
                        load(confs[method], port, args.workers, args.seconds / args.rounds,
                             results[method, name], watched[name])
        finally:
            for process in (*servers, web):
                process.terminate()
            for process in (*servers, web):
                process.wait(timeout=30)
    print(f"802.1X logins: {args.workers} eapol_test at once, {args.seconds:g} s per method "
          f"and server in {args.rounds} alternating slices; supplicants on the same cores")
    for method in METHODS:
        alone_done = results[method, "FreeRADIUS alone"]
        citynet_done = results[method, "FreeRADIUS + citynet"]
        print(f"{method}:")
        print("  " + describe("FreeRADIUS alone", alone_done))
        print("  " + describe("FreeRADIUS + citynet", citynet_done))
        if alone_done.latencies and alone_done.seconds and citynet_done.seconds:
            ratio = (len(citynet_done.latencies) / citynet_done.seconds) / (
                len(alone_done.latencies) / alone_done.seconds)
            print(f"  ratio: {ratio:.2f} x FreeRADIUS alone (target >= 0.8)")


if __name__ == "__main__":
    main()
