"""Benchmark: a 30-line change pushed to a lab fleet (backup, plan, push, verify, save):
citynet vs sequential netmiko vs Nornir 3 + nornir_netmiko, in one run.

Targets (devices issue): >= 20 x sequential netmiko, >= 1.5 x Nornir 3 with nornir_netmiko
and its default threaded runner (20 workers), peak RSS <= 500 MB, and a per-device timing
breakdown (connect, read, push, verify, save).

Lab: FRRouting routers behind OpenSSH (tests/lab/frr.py, real vtysh; needs root) and fake
Huawei VRP / H3C Comware switches (tests/fakes/vrp.py, paramiko servers) in server
processes of their own, so the measured client shares no interpreter with them. Each
client run is a fresh process (its peak RSS is its own); the devices are put back to the
state before the change between runs and checked from the lab side after each run.

Work per device, the same in every run: log in; read the running config and keep it as
the backup; send the 30 lines; read the running config again and check every line is
there; save; log out. citynet also plans (diffs intent and running config) and commits
every backup into its git store; the baselines write each backup to a file.

    .venv/bin/python bench/devices.py [--frr 20] [--vrp 90] [--comware 90]
        [--concurrency 50] [--budget 600] [--fake-procs 2] [--only citynet nornir ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEQUENTIAL_TARGET = 20.0
NORNIR_TARGET = 1.5
RSS_TARGET_MB = 500.0
USERNAME, PASSWORD = "netops", "Bench-Device-Password-4c1e"
SHOW_RUNNING = {"frr": "show running-config", "huawei": "display current-configuration",
                "hp_comware": "display current-configuration"}
NETMIKO_TYPE = {"frr": "cisco_ios", "huawei": "huawei", "hp_comware": "hp_comware"}
FLAVOUR = {"huawei": "huawei", "hp_comware": "h3c"}
STEPS = ("connect", "read", "push", "verify", "save", "close")  # close: logout (and pacing)


# --- the fleet and the change (pure) --------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """One lab device as every client sees it."""

    index: int
    hostname: str
    platform: str  # inventory platform: frr, huawei, hp_comware
    site: str
    port: int
    password: str  # the FRR lab's routers have a password of their own

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def change_lines(platform: str, index: int) -> list[str]:
    """The 30 config lines for device ``index``, as the running config shows them
    (section children indented one space). Every device gets its own addresses."""
    net = index % 250
    if platform == "frr":
        return [f"ip prefix-list CITYNET-BENCH seq {5 * (n + 1)} permit 10.{100 + n}.{net}.0/24"
                for n in range(30)]
    interface, acl = (("Vlanif200", "acl number 3999") if platform == "huawei"
                      else ("Vlan-interface200", "acl advanced 3999"))
    return [f"interface {interface}", " description citynet bench",
            f" ip address 10.200.{net}.1 255.255.255.0", acl,
            *(f" rule {5 * (n + 1)} permit ip source 10.{100 + n}.{net}.0 0.0.0.255"
              for n in range(26))]


def missing(running: str, wanted: list[str]) -> list[str]:
    """The wanted lines the running config lacks (compared stripped)."""
    have = {line.strip() for line in running.splitlines()}
    return [line.strip() for line in wanted if line.strip() not in have]


def switch_config(platform: str, index: int) -> str:
    """A small access switch: VLANs, AAA, RADIUS, 24 access ports, VTY lines (~110 lines)."""
    net = index % 250
    if platform == "huawei":
        ports = "".join(f"interface GigabitEthernet0/0/{n}\n description access port {n}\n"
                        " port link-type access\n port default vlan 100\n#\n"
                        for n in range(1, 25))
        return ("!Software Version V200R019C10SPC500\n#\n sysname SW\n#\n vlan batch 10 100\n#\n"
                "aaa\n authentication-scheme default\n"
                " local-user admin password irreversible-cipher $1a$QmVuY2hIYXNo$\n"
                " local-user admin privilege level 15\n#\n"
                "radius-server template citynet\n"
                " radius-server shared-key cipher %^%#QmVuY2hDaXBoZXI%^%#\n"
                " radius-server authentication 10.0.0.5 1812 weight 80\n#\n"
                f"interface Vlanif10\n ip address 10.10.{net}.2 255.255.255.0\n#\n{ports}"
                "user-interface con 0\nuser-interface vty 0 4\n authentication-mode aaa\n"
                " protocol inbound ssh\n#\nreturn\n")
    ports = "".join(f"interface GigabitEthernet1/0/{n}\n description access port {n}\n"
                    " port link-type access\n port access vlan 100\n#\n" for n in range(1, 25))
    return ("#\n version 7.1.070, Release 6348\n#\n sysname SW\n#\nvlan 10\n name mgmt\n#\n"
            "vlan 100\n name guest\n#\n"
            f"interface Vlan-interface10\n ip address 10.10.{net}.2 255.255.255.0\n#\n{ports}"
            "radius scheme citynet\n primary authentication 10.0.0.5\n"
            " key authentication cipher $c$3$QmVuY2hDaXBoZXI=\n#\n"
            "local-user admin class manage\n password hash $h$6$QmVuY2hIYXNo==\n"
            " service-type ssh\n#\nline vty 0 63\n authentication-mode scheme\n#\nreturn\n")


def fleet(frr: int, vrp: int, comware: int, sites: int) -> list[tuple[int, str, str, str]]:
    """(index, hostname, platform, site) of every device, ordered by site and hostname as
    `citynet devices` selects them; each site has its router and its share of switches."""
    kinds = [("frr", "rt")] * frr + [("huawei", "vrp")] * vrp + [("hp_comware", "h3c")] * comware
    rows = [(index, f"s{index % sites:02d}-{tag}-{index:03d}", platform,
             f"site-{index % sites:02d}") for index, (platform, tag) in enumerate(kinds)]
    return sorted(rows, key=lambda row: (row[3], row[1]))


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return (f"mean {statistics.fmean(ordered) * 1000:6.0f}  p50 "
            f"{statistics.median(ordered) * 1000:6.0f}  p95 {p95 * 1000:6.0f}")


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has waited for, so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the fake switch servers (a process of their own) ----------------------------------

def serve_fakes(rows: list[dict[str, Any]]) -> None:
    """Start one fake per row, print their ports as JSON, then answer ``reset`` (back to the
    initial config, running and saved), ``check`` (devices lacking the change, running or
    saved) and ``stats`` lines on stdin until it closes."""
    from tests.fakes.vrp import FakeVrp

    fakes = []
    for row in rows:
        fake = FakeVrp(FLAVOUR[row["platform"]], hostname=row["hostname"],
                       initial_config=switch_config(row["platform"], row["index"]),
                       credentials=(USERNAME, PASSWORD))
        fakes.append((row, fake.start()))
    pristine = {id(fake): fake.root.copy() for _row, fake in fakes}
    print(json.dumps({row["hostname"]: fake.port for row, fake in fakes}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "reset":
            for _row, fake in fakes:
                with fake.lock:
                    fake.root = pristine[id(fake)].copy()
                    fake.saved = pristine[id(fake)].copy()
                    fake.commands.clear()
            answer: Any = "ok"
        elif command == "check":
            answer = {row["hostname"]: (missing(fake.running_config(), wanted)[:2],
                                        missing(fake.saved_config(), wanted)[:2])
                      for row, fake in fakes
                      for wanted in [change_lines(row["platform"], row["index"])]}
        elif command == "stats":
            answer = {"max_concurrent": max(fake.max_concurrent for _row, fake in fakes),
                      "refused": sum(fake.refused for _row, fake in fakes),
                      "auth_failures": sum(fake.auth_failures for _row, fake in fakes)}
        else:
            answer = f"unknown command {command!r}"
        print(json.dumps(answer), flush=True)
    for _row, fake in fakes:
        fake.stop()


class Fakes:
    """The fake switches, spread over ``procs`` server processes."""

    def __init__(self, rows: list[dict[str, Any]], procs: int) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.ports: dict[str, int] = {}
        self.rows = rows
        shares = [rows[n::procs] for n in range(procs)]
        try:
            for share in shares:
                if not share:
                    continue
                process = subprocess.Popen(
                    [sys.executable, __file__, "--serve-fakes", json.dumps(share)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
                self.processes.append(process)
            for process in self.processes:
                self.ports.update(json.loads(self._read(process)))
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _read(process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            sys.exit(f"a fake switch server exited ({process.poll()})")
        return line

    def ask(self, command: str) -> list[Any]:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(command + "\n")
            process.stdin.flush()
        return [json.loads(self._read(process)) for process in self.processes]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server processes so far."""
        return sum(process_cpu(process.pid) for process in self.processes)

    def peak_rss_mib(self) -> float:
        total = 0.0
        for process in self.processes:
            for text in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if text.startswith("VmHWM:"):
                    total += int(text.split()[1]) / 1024
        return total

    def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()  # the server's cue to stop its fakes and exit
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


# --- the clients (each run a fresh process) --------------------------------------------

def client_citynet(specs: list[Spec], options: dict[str, Any]) -> dict[str, Any]:
    """`citynet devices push` as the CLI does it, less the inventory and the audit entry:
    fleet.run + push_one with the limits given, then every pre-change config normalised
    and committed to the backup store in one commit."""
    from citynet.crypto import SecretBox
    from devices.backups import BackupStore
    from devices.confdiff import normalise
    from devices.driver import Login
    from devices.fleet import Limits, Pacer, Result, Target, push_one, run
    from devices.intent import Device, Intent
    from devices.platforms import PROFILES

    targets = []
    for spec in specs:
        profile = PROFILES[spec.platform]
        device = Device(spec.hostname, spec.platform, "access_switch", spec.site, "127.0.0.1")
        login = Login(spec.hostname, "127.0.0.1", spec.port, profile, USERNAME, spec.password)
        text = "\n".join(change_lines(spec.platform, spec.index)) + "\n"
        targets.append(Target(device, login, Intent(spec.hostname, text, (), ("bench",))))
    limits = Limits(concurrency=options["concurrency"], per_site=options["per_site"],
                    sessions_per_second=options["rate"], canary=1,
                    max_failures=len(targets))
    box = SecretBox([SecretBox.new_key()])
    with tempfile.TemporaryDirectory() as tmp:
        store = BackupStore(Path(tmp) / "backups")
        started = time.perf_counter()
        pacer = Pacer(limits.sessions_per_second)

        def work(target: Target) -> Result:
            # fleet's timings stop before the logout: the rest of the device's time
            # (logging out, and waiting for the pacer) is "close" here
            begun = time.perf_counter()
            result = push_one(target, pacer, save=True)
            result.timings["close"] = (time.perf_counter() - begun
                                       - sum(result.timings.values()))
            return result

        results = run(targets, work, limits)
        pushed = time.perf_counter()
        profiles = {t.device.hostname: t.login.profile for t in targets}
        configs = {r.hostname: (normalise(r.pre_change, profiles[r.hostname]),
                                profiles[r.hostname].secret_patterns)
                   for r in results if r.pre_change}
        backup = store.save(configs, "before push: bench", box)
        wall = time.perf_counter() - started
        assert len(backup.changed) == len(configs), "every device's backup is committed"
    platform = {spec.hostname: spec.platform for spec in specs}
    return {"wall": wall, "backup_seconds": wall - (pushed - started),
            "devices": [{"hostname": r.hostname, "platform": platform[r.hostname],
                         "ok": r.status.value == "pushed", "error": r.error,
                         "timings": r.timings, "commands": len(r.commands)}
                        for r in results]}


@contextmanager
def _step(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - started


def _netmiko_one(spec: Spec, backups: Path) -> dict[str, Any]:
    """One device the way a netmiko script does it, with netmiko's stock settings."""
    from netmiko import ConnectHandler

    timings: dict[str, float] = {}
    wanted = change_lines(spec.platform, spec.index)
    row: dict[str, Any] = {"hostname": spec.hostname, "platform": spec.platform, "ok": False,
                           "error": "", "timings": timings}
    started = time.perf_counter()
    try:
        with _step(timings, "connect"):
            conn = ConnectHandler(device_type=NETMIKO_TYPE[spec.platform], host="127.0.0.1",
                                  port=spec.port, username=USERNAME, password=spec.password)
        try:
            with _step(timings, "read"):
                before = conn.send_command(SHOW_RUNNING[spec.platform])
                (backups / f"{spec.hostname}.cfg").write_text(before)
            with _step(timings, "push"):
                conn.send_config_set([line.strip() for line in wanted])
            with _step(timings, "verify"):
                lacking = missing(conn.send_command(SHOW_RUNNING[spec.platform]), wanted)
            if lacking:
                row["error"] = f"not in the running config: {lacking[:2]}"
            else:
                with _step(timings, "save"):
                    conn.save_config()
                row["ok"] = True
        finally:
            with _step(timings, "close"):
                conn.disconnect()
    except Exception as exc:  # one device's failure is reported, the rest go on
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
    row["seconds"] = time.perf_counter() - started
    return row


def client_netmiko(specs: list[Spec], options: dict[str, Any]) -> dict[str, Any]:
    """Every device one after another. A sample of ``sample`` devices per platform goes
    first; if the whole fleet would take longer than ``budget`` seconds by the sample's
    per-platform means, the rest is not run and the full time is extrapolated."""
    per_platform: dict[str, list[Spec]] = {}
    for spec in specs:
        per_platform.setdefault(spec.platform, []).append(spec)
    sample = [s for group in per_platform.values() for s in group[:options["sample"]]]
    rest = [s for s in specs if s not in sample]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for spec in sample:
            rows.append(_netmiko_one(spec, Path(tmp)))
        estimate = _extrapolate(rows, per_platform)
        if estimate <= options["budget"]:
            for spec in rest:
                rows.append(_netmiko_one(spec, Path(tmp)))
        wall = time.perf_counter() - started
    measured_all = len(rows) == len(specs)
    return {"wall": wall if measured_all else _extrapolate(rows, per_platform),
            "measured_wall": wall, "measured_devices": len(rows),
            "extrapolated": not measured_all, "estimate_from_sample": estimate,
            "devices": rows}


def _extrapolate(rows: list[dict[str, Any]], per_platform: dict[str, list[Spec]]) -> float:
    """The whole fleet's sequential time from the per-platform mean of ``rows``."""
    total = 0.0
    for platform, group in per_platform.items():
        seconds = [row["seconds"] for row in rows if row["platform"] == platform]
        total += statistics.fmean(seconds) * len(group)
    return total


def client_nornir(specs: list[Spec], options: dict[str, Any]) -> dict[str, Any]:
    """Nornir 3, SimpleInventory in a temp dir, its threaded runner; nornir_netmiko tasks:
    send_command (backup), send_config, send_command (verify), save_config.

    ``tuned``: the same knobs citynet uses where Nornir takes them: as many workers as
    citynet's concurrency, and on VRP/Comware config mode entered and left by prompt
    (netmiko_send_command with expect_string) instead of netmiko's silence-based mode
    check; the config lines still go through netmiko_send_config."""
    import yaml
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_netmiko.tasks import (
        netmiko_save_config,
        netmiko_send_command,
        netmiko_send_config,
    )

    tuned = options["tuned"]
    by_name = {spec.hostname: spec for spec in specs}
    timings: dict[str, dict[str, float]] = {}

    def push(task: Task, backups: Path) -> Result:
        spec = by_name[task.host.name]
        wanted = change_lines(spec.platform, spec.index)
        steps: dict[str, float] = {}
        timings[spec.hostname] = steps
        show = SHOW_RUNNING[spec.platform]
        vrp_like = spec.platform != "frr"
        with _step(steps, "connect"):
            task.host.get_connection("netmiko", task.nornir.config)
        with _step(steps, "read"):
            before = task.run(netmiko_send_command, command_string=show).result
            (backups / f"{spec.hostname}.cfg").write_text(before)
        with _step(steps, "push"):
            lines = [line.strip() for line in wanted]
            if tuned and vrp_like:
                task.run(netmiko_send_command, command_string="system-view",
                         expect_string=r"\][ \t]*$")
                task.run(netmiko_send_config, config_commands=lines, enable=False,
                         enter_config_mode=False, exit_config_mode=False)
                task.run(netmiko_send_command, command_string="return",
                         expect_string=r">[ \t]*$")
            else:
                task.run(netmiko_send_config, config_commands=lines)
        with _step(steps, "verify"):
            after = task.run(netmiko_send_command, command_string=show).result
            lacking = missing(after, wanted)
        if lacking:
            raise RuntimeError(f"not in the running config: {lacking[:2]}")
        with _step(steps, "save"):
            if spec.platform == "huawei":  # nornir_netmiko's default is confirm=False
                task.run(netmiko_save_config, confirm=True, confirm_response="y")
            else:
                task.run(netmiko_save_config)
        return Result(host=task.host, result="pushed")

    def close(task: Task) -> Result:
        with _step(timings.setdefault(task.host.name, {}), "close"):
            task.host.close_connections()
        return Result(host=task.host)

    with tempfile.TemporaryDirectory() as tmp:
        hosts = {spec.hostname: {"hostname": "127.0.0.1", "port": spec.port,
                                 "username": USERNAME, "password": spec.password,
                                 "platform": NETMIKO_TYPE[spec.platform],
                                 "data": {"site": spec.site}} for spec in specs}
        host_file = Path(tmp) / "hosts.yaml"
        host_file.write_text(yaml.safe_dump(hosts))
        backups = Path(tmp) / "backups"
        backups.mkdir()
        runner: dict[str, Any] = {"plugin": "threaded"}
        if tuned:
            runner["options"] = {"num_workers": options["concurrency"]}
        started = time.perf_counter()
        nornir = InitNornir(runner=runner, logging={"enabled": False},
                            inventory={"plugin": "SimpleInventory",
                                       "options": {"host_file": str(host_file)}})
        outcome = nornir.run(task=push, backups=backups)
        nornir.run(task=close, on_failed=True)  # what nornir.close_connections() runs
        wall = time.perf_counter() - started
        workers = nornir.runner.num_workers  # type: ignore[attr-defined]
    rows = []
    for spec in specs:
        host = outcome[spec.hostname]
        error = "" if not host.failed else str(host[0].exception)[:300]
        rows.append({"hostname": spec.hostname, "platform": spec.platform,
                     "ok": not host.failed, "error": error,
                     "timings": timings.get(spec.hostname, {})})
    return {"wall": wall, "workers": workers, "devices": rows}


CLIENTS: dict[str, Callable[[list[Spec], dict[str, Any]], dict[str, Any]]] = {
    "citynet": client_citynet, "netmiko": client_netmiko, "nornir": client_nornir,
}


def client_main(kind: str, spec_file: Path) -> None:
    document = json.loads(spec_file.read_text())
    specs = [Spec(**row) for row in document["devices"]]
    cpu = cpu_seconds()
    report = CLIENTS[kind](specs, document["options"])
    report["cpu_seconds"] = cpu_seconds() - cpu
    report["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(report))


# --- the orchestrator ------------------------------------------------------------------

def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies over all cores so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Lab:
    """FRR routers and fake switches; reset to the state before the change, checked."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from tests.lab.frr import FrrLab

        rows = fleet(args.frr, args.vrp, args.comware, args.sites)
        self.frr_lab = FrrLab(workdir / "frr", prefix="rt")
        self.fakes: Fakes | None = None
        try:
            routers = self.frr_lab.start(args.frr) if args.frr else []
            fake_rows = [{"index": i, "hostname": h, "platform": p} for i, h, p, _s in rows
                         if p != "frr"]
            self.fakes = Fakes(fake_rows, args.fake_procs)
        except BaseException:
            self.stop()
            raise
        frr_rows = [row for row in rows if row[2] == "frr"]
        self.routers = {row[1]: router for row, router in zip(frr_rows, routers, strict=True)}
        self.index = {hostname: index for index, hostname, _p, _s in rows}
        self.specs = [Spec(i, h, p, s, self.routers[h].port, self.routers[h].password)
                      if p == "frr" else Spec(i, h, p, s, self.fakes.ports[h], PASSWORD)
                      for i, h, p, s in rows]

    def reset(self) -> None:
        """Every device back to its config before the change (running and saved)."""
        assert self.fakes is not None
        self.fakes.ask("reset")

        def clean(item: tuple[str, Any]) -> None:
            _hostname, router = item
            router.vtysh("configure terminal", "no ip prefix-list CITYNET-BENCH", "end",
                         "write memory")
            assert "CITYNET-BENCH" not in router.vtysh("show running-config")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(clean, self.routers.items()))
        assert not any(lacking[0] == [] for answer in self.fakes.ask("check")
                       for lacking in answer.values()), "a fake kept the change"

    def frr_cpu_seconds(self) -> float:
        """CPU of the routers: zebra, staticd, and sshd with the sessions and vtysh it
        reaped."""
        return sum(process_cpu(pid) for router in self.routers.values() for pid in router.pids)

    def not_pushed(self, hostnames: set[str]) -> list[str]:
        """Devices among ``hostnames`` whose running or saved config lacks the change."""
        assert self.fakes is not None
        bad = [f"{h}: {lacking}" for answer in self.fakes.ask("check")
               for h, lacking in answer.items() if h in hostnames and (lacking[0] or lacking[1])]

        def check(item: tuple[str, Any]) -> str | None:
            hostname, router = item
            wanted = change_lines("frr", self.index[hostname])
            lacking = (missing(router.vtysh("show running-config"), wanted)[:2],
                       missing(router.saved_config(), wanted)[:2])
            return f"{hostname}: {lacking}" if lacking[0] or lacking[1] else None

        chosen = [(h, r) for h, r in self.routers.items() if h in hostnames]
        with ThreadPoolExecutor(8) as pool:
            bad += [line for line in pool.map(check, chosen) if line]
        return bad

    def stop(self) -> None:
        if self.fakes is not None:
            self.fakes.stop()
        self.frr_lab.stop()


def run_client(lab: Lab, kind: str, options: dict[str, Any], workdir: Path,
               label: str) -> dict[str, Any]:
    """One timed run in a fresh client process, from the state before the change."""
    assert lab.fakes is not None
    lab.reset()
    spec_file = workdir / f"{label}.json"
    spec_file.write_text(json.dumps({"devices": [s.to_json() for s in lab.specs],
                                     "options": options}))
    print(f"[{label}] running ...", file=sys.stderr, flush=True)
    busy0, fakes0, frr0 = machine_busy(), lab.fakes.cpu_seconds(), lab.frr_cpu_seconds()
    done = subprocess.run([sys.executable, __file__, "--client", kind, str(spec_file)],
                          stdout=subprocess.PIPE, text=True, cwd=workdir, check=False)
    busy1, fakes1, frr1 = machine_busy(), lab.fakes.cpu_seconds(), lab.frr_cpu_seconds()
    if done.returncode != 0:
        sys.exit(f"[{label}] the client exited {done.returncode}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    ticks = os.sysconf("SC_CLK_TCK")
    report["machine_cpu_seconds"] = (busy1[0] - busy0[0]) / ticks
    report["machine_busy"] = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    report["fakes_cpu_seconds"] = fakes1 - fakes0
    report["frr_cpu_seconds"] = frr1 - frr0
    failed = [f"{d['hostname']}: {d['error']}" for d in report["devices"] if not d["ok"]]
    attempted = {d["hostname"] for d in report["devices"]}
    report["failed"] = failed + [f"(lab check) {line}" for line in lab.not_pushed(attempted)]
    return report


def show(label: str, report: dict[str, Any], devices: int) -> None:
    rate = devices / report["wall"]
    line = f"{label:<26} {report['wall']:8.1f} s  {rate:6.2f} devices/s"
    line += f"  peak RSS {report['peak_rss_mib']:4.0f} MiB"
    print(line)
    ours = report["cpu_seconds"] + report["fakes_cpu_seconds"] + report["frr_cpu_seconds"]
    print(f"{'':<26} CPU s: client {report['cpu_seconds']:.1f}, fake servers "
          f"{report['fakes_cpu_seconds']:.1f}, FRR (sshd, vtysh, zebra) "
          f"{report['frr_cpu_seconds']:.1f}, anything else on the machine "
          f"{max(0.0, report['machine_cpu_seconds'] - ours):.1f}; both cores "
          f"{report['machine_busy'] * 100:.0f}% busy")
    if report.get("extrapolated"):
        print(f"{'':<26} EXTRAPOLATED from {report['measured_devices']} devices measured in "
              f"{report['measured_wall']:.1f} s (per-platform means x the fleet's counts)")
    if report["failed"]:
        print(f"{'':<26} NOT PUSHED: {len(report['failed'])}: {report['failed'][:5]}")


def breakdown(label: str, report: dict[str, Any]) -> None:
    """Per-device step times (ms), overall and per platform."""
    print(f"per-device timings, {label} (ms):")
    groups = [("all", report["devices"])] + [
        (platform, [d for d in report["devices"] if d["platform"] == platform])
        for platform in ("frr", "huawei", "hp_comware")]
    for name, rows in groups:
        if not rows:
            continue
        sent = [d["commands"] for d in rows if "commands" in d]
        print(f"  {name} ({len(rows)} devices" + (
            f"; commands sent per device {min(sent)}-{max(sent)})" if sent else ")"))
        for step in STEPS:
            values = [d["timings"][step] for d in rows if step in d["timings"]]
            print(f"    {step:<8} {summary(values)}")
        totals = [sum(d["timings"].values()) for d in rows]
        print(f"    {'total':<8} {summary(totals)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frr", type=int, default=20, help="FRR routers")
    parser.add_argument("--vrp", type=int, default=90, help="fake Huawei VRP switches")
    parser.add_argument("--comware", type=int, default=90, help="fake H3C Comware switches")
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50, help="citynet devices at once")
    parser.add_argument("--per-site", type=int, default=0,
                        help="citynet devices at once per site (0: a whole site at once)")
    parser.add_argument("--rate", type=float, default=50.0, help="citynet new sessions/s")
    parser.add_argument("--fake-procs", type=int, default=2, help="fake server processes")
    parser.add_argument("--sample", type=int, default=10,
                        help="sequential netmiko: devices per platform measured first")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="sequential netmiko: run the whole fleet if its estimate fits")
    kinds = ["citynet", "netmiko", "nornir", "nornir-tuned"]
    parser.add_argument("--only", nargs="*", default=kinds, choices=kinds)
    parser.add_argument("--serve-fakes", help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes:
        serve_fakes(json.loads(args.serve_fakes))
        return
    if args.client:
        client_main(args.client[0], Path(args.client[1]))
        return
    if os.geteuid() != 0:
        sys.exit("the FRR lab needs root (network namespaces, sshd)")

    devices = args.frr + args.vrp + args.comware
    per_site = args.per_site or -(-devices // args.sites)
    runs = {"citynet": ("citynet", {"concurrency": args.concurrency, "per_site": per_site,
                                    "rate": args.rate}),
            "netmiko": ("netmiko", {"sample": args.sample, "budget": args.budget}),
            "nornir": ("nornir", {"tuned": False}),
            "nornir-tuned": ("nornir", {"tuned": True, "concurrency": args.concurrency})}
    reports: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="citynet-bench-") as tmp:
        started = time.perf_counter()
        lab = Lab(args, Path(tmp))
        try:
            print(f"lab up in {time.perf_counter() - started:.1f} s: {args.frr} FRR routers, "
                  f"{args.vrp} VRP + {args.comware} Comware fakes in {args.fake_procs} "
                  "server processes", file=sys.stderr, flush=True)
            for name in args.only:
                kind, options = runs[name]
                reports[name] = run_client(lab, kind, options, Path(tmp), name)
            assert lab.fakes is not None
            stats = lab.fakes.ask("stats")
            fakes_rss = lab.fakes.peak_rss_mib()
        finally:
            lab.stop()

    print(f"devices: {devices} ({args.frr} FRR routers: FRRouting 8.4 vtysh behind OpenSSH; "
          f"{args.vrp} Huawei VRP + {args.comware} H3C Comware fakes in {args.fake_procs} "
          f"server processes), {args.sites} sites; machine: {os.cpu_count()} cores shared by "
          "the client, the fake servers, sshd and vtysh")
    print("change: 30 config lines per device (FRR: a prefix-list; VRP/Comware: an interface "
          "and an ACL); each run: backup, plan, push, verify, save, from the pre-change state")
    print(f"citynet: concurrency {args.concurrency}, per site {per_site}, "
          f"{args.rate:g} sessions/s, canary 1, save; nornir: default threaded runner "
          f"({reports.get('nornir', {}).get('workers', 20)} workers)")
    for name, report in reports.items():
        show(name, report, devices)
    if "citynet" in reports:
        ours = reports["citynet"]["wall"]
        for name, target in (("netmiko", SEQUENTIAL_TARGET), ("nornir", NORNIR_TARGET),
                             ("nornir-tuned", None)):
            if name in reports:
                ratio = reports[name]["wall"] / ours
                verdict = (f"(target >= {target:g} x: {'met' if ratio >= target else 'NOT met'})"
                           if target else "(same knobs as citynet; no target)")
                print(f"{name} time / citynet time: {ratio:6.2f} x {verdict}")
        rss = reports["citynet"]["peak_rss_mib"] * 1.048576  # MiB -> MB
        print(f"citynet peak RSS: {rss:.0f} MB (target <= {RSS_TARGET_MB:.0f} MB: "
              f"{'met' if rss <= RSS_TARGET_MB else 'NOT met'}); backup commit "
              f"{reports['citynet']['backup_seconds']:.2f} s of the run")
    most = max(s["max_concurrent"] for s in stats)
    print(f"fake servers: most sessions at once on one device {most}, refused "
          f"{sum(s['refused'] for s in stats)}, auth failures "
          f"{sum(s['auth_failures'] for s in stats)}; peak RSS {fakes_rss:.0f} MiB")
    for name, report in reports.items():
        breakdown(name, report)
    if any(report["failed"] for report in reports.values()):
        sys.exit("some devices did not end pushed")


if __name__ == "__main__":
    main()
