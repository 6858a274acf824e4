"""Reachability probes: ICMP echo and ARP through scapy, TCP connect through plain sockets.

The one module that sends raw packets. A round probes every target at once: names are
resolved, then ICMP echoes go out in batches of ``concurrency`` targets, the targets that
did not answer get a TCP connect to their ports, and the ones still silent on a directly
connected segment get an ARP request. A target's failure is a down result with the reason,
never an exception. ICMP and ARP need raw sockets (root or CAP_NET_RAW); without them a
round uses TCP connect only and says so once in the log. ICMP and ARP are IPv4 only; an
IPv6 address gets TCP connect.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import socket
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scapy.config import conf
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.sendrecv import srp
from scapy.supersocket import L3RawSocket

log = logging.getLogger(__name__)

ECHOES = 3  # echo requests per target and round: enough to see loss, few enough to be light
ECHO_REPLY = 0  # ICMP type


class Method(StrEnum):
    """What answered a probe."""

    ICMP = "icmp"
    ARP = "arp"
    TCP = "tcp"


@dataclass(frozen=True)
class Target:
    """Something to probe: ``name`` is its key (``ap:MAC``, ``device:HOSTNAME``)."""

    name: str
    address: str  # an IP address or a host name
    ports: tuple[int, ...] = ()  # TCP ports to try when ICMP gets no answer


@dataclass(frozen=True)
class ProbeResult:
    """One target's answer in one round. ``loss`` is that of the method that answered
    (lost echoes for ICMP; 0 for ARP and TCP, where one answer is all that is asked);
    a down target has loss 1."""

    target: str
    address: str  # the IP address probed; "" when the name did not resolve
    up: bool
    method: str = ""
    rtt_ms: float | None = None
    loss: float = 1.0
    error: str = ""


@dataclass
class _Pending:
    target: Target
    ip: str
    tried: list[str]


def probe(targets: Sequence[Target], *, timeout: float, concurrency: int,
          echoes: int = ECHOES) -> list[ProbeResult]:
    """Probe every target once; the results are in the order of ``targets``."""
    workers = max(1, min(concurrency, len(targets)))
    results: dict[int, ProbeResult] = {}
    pending: dict[int, _Pending] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        resolved = list(pool.map(_resolve, (t.address for t in targets)))
        for index, (target, (ip, error)) in enumerate(zip(targets, resolved, strict=True)):
            if error:
                results[index] = ProbeResult(target.name, "", False, error=error)
            else:
                pending[index] = _Pending(target, ip, [])

        raw = _raw_sockets()
        if raw:
            conf.route.resync()  # interfaces may have changed since the last round
            ipv4 = {i: p for i, p in pending.items() if _is_ipv4(p.ip)}
            for batch in _batches(list(ipv4), concurrency):
                results.update(_icmp({i: ipv4[i] for i in batch}, timeout, echoes))
            for index in results.keys() & pending.keys():
                del pending[index]

        tcp = {i: p for i, p in pending.items() if p.target.ports}
        for index, result in zip(tcp, pool.map(lambda p: _tcp(p, timeout), tcp.values()),
                                 strict=True):
            if result is not None:
                results[index] = result
                del pending[index]

        if raw:
            results.update(_arp(pending, timeout))

    for index, left in pending.items():
        if index not in results:
            tried = ", ".join(left.tried) or "nothing to try"
            results[index] = ProbeResult(left.target.name, left.ip, False,
                                         error=f"no answer within {timeout:g} s ({tried})")
    return [results[index] for index in range(len(targets))]


def _resolve(address: str) -> tuple[str, str]:
    """(IP address, "") or ("", why not); IPv4 is preferred when a name has both."""
    if not address:
        return "", "no address"
    try:
        return str(ipaddress.ip_address(address)), ""
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return "", f"cannot resolve {address!r}: {reason}"
    ips = [str(info[4][0]) for info in found]
    ipv4 = [ip for ip in ips if _is_ipv4(ip)]
    return (ipv4 or ips)[0], ""


def _is_ipv4(ip: str) -> bool:
    return ipaddress.ip_address(ip).version == 4


def _batches(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _raw_sockets() -> bool:
    """Whether this process may open raw sockets (ICMP, ARP)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except PermissionError:
        _say_no_raw_sockets()
        return False
    return True


@functools.cache
def _say_no_raw_sockets() -> None:
    log.warning("no raw sockets (not root, no CAP_NET_RAW): reachability probes use TCP "
                "connect only; targets without TCP ports will look down")


def _icmp(batch: dict[int, _Pending], timeout: float, echoes: int) -> dict[int, ProbeResult]:
    """Echo every target of the batch ``echoes`` times, all in flight at once. The kernel
    routes the packets and resolves neighbours (a raw IP socket), so an unresolvable
    neighbour costs no wait of its own."""
    first_id = random.randrange(0x10000)  # noqa: S311 (tells our echoes from others', no secret)
    idents: dict[int, int] = {}
    packets: list[Any] = []
    for offset, (index, pending) in enumerate(batch.items()):
        ident = (first_id + offset) & 0xFFFF
        idents[ident] = index
        packets += [IP(dst=pending.ip) / ICMP(id=ident, seq=seq) for seq in range(echoes)]
        pending.tried.append(f"icmp {echoes} echoes")
    sock = L3RawSocket()
    try:
        # chainCC: scapy swallows a KeyboardInterrupt while it waits for answers, and
        # the collector's SIGTERM is one (citynet.process.stop_on_sigterm) — a
        # collector stopped mid-probe ran on until killed 30 s later
        answered, _unanswered = sock.sr(packets, timeout=timeout, verbose=0, chainCC=True)
    finally:
        sock.close()
    rtts: dict[int, list[float]] = defaultdict(list)
    for request, reply in answered:
        # scapy also pairs ICMP errors with the request they quote; "host unreachable"
        # (from our own kernel after ARP failed, or from a router) means down, not up
        if reply.haslayer(ICMP) and reply[ICMP].type == ECHO_REPLY:
            rtts[idents[int(request[ICMP].id)]].append(_rtt_ms(request, reply))
    return {index: ProbeResult(batch[index].target.name, batch[index].ip, True, Method.ICMP,
                               sum(times) / len(times), 1 - len(times) / echoes)
            for index, times in rtts.items()}


def _rtt_ms(request: Any, reply: Any) -> float:
    """From sending the request to receiving the reply (both stamped by scapy)."""
    sent = request.sent_time if request.sent_time is not None else reply.time
    return (float(reply.time) - float(sent)) * 1000


def _tcp(pending: _Pending, timeout: float) -> ProbeResult | None:
    """Connect to each port in turn; a reset counts as an answer (the host is there, only
    that port is closed)."""
    for port in pending.target.ports:
        started = time.perf_counter()
        try:
            with socket.create_connection((pending.ip, port), timeout=timeout):
                pass
        except ConnectionRefusedError:
            pass
        except OSError as exc:
            pending.tried.append(f"tcp {port}: {exc.strerror or exc}")
            continue
        rtt_ms = (time.perf_counter() - started) * 1000
        return ProbeResult(pending.target.name, pending.ip, True, Method.TCP, rtt_ms, 0.0)
    return None


def _arp(pending: dict[int, _Pending], timeout: float) -> dict[int, ProbeResult]:
    """ARP for the targets on a directly connected segment, one request each, all
    interfaces' requests sent at once per interface."""
    by_interface: dict[str, dict[int, _Pending]] = defaultdict(dict)
    for index, left in pending.items():
        if not _is_ipv4(left.ip):
            continue
        interface, _source, gateway = conf.route.route(left.ip)
        if gateway == "0.0.0.0" and interface != conf.loopback_name:  # noqa: S104 (no bind)
            by_interface[str(interface)][index] = left
    results: dict[int, ProbeResult] = {}
    for interface, group in by_interface.items():
        where: dict[str, list[int]] = defaultdict(list)  # two targets may share an address
        for index, left in group.items():
            where[left.ip].append(index)
            left.tried.append(f"arp on {interface}")
        packets = [Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=ip) for ip in where]
        answered, _unanswered = srp(packets, iface=interface, timeout=timeout, verbose=0,
                                    chainCC=True)  # a stop stops it (see _icmp)
        for request, reply in answered:
            rtt_ms = _rtt_ms(request, reply)
            for index in where[str(request[ARP].pdst)]:
                results[index] = ProbeResult(group[index].target.name, group[index].ip, True,
                                             Method.ARP, rtt_ms, 0.0)
    return results
