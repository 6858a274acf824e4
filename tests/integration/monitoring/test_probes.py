"""Reachability probes against real hosts in network namespaces (needs root).

Three namespaces joined by veth pairs, nothing in the root namespace:

    collector 10.213.1.1 ── 10.213.1.2 answering   (answers ICMP)
    collector 10.213.2.1 ── 10.213.2.2 quiet       (ignores ICMP; a TCP listener on .2;
                            10.213.2.3               .3 has no listener; 10.213.3.5 is
                                                     behind .2, off the collector's segment)

The probes run in the collector namespace, in a subprocess of this venv's Python.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.monitoring.netns import Lab

pytestmark = pytest.mark.slow

RUN_PROBES = """
import dataclasses, json, logging, sys
from monitoring.probes import Target, probe
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
asked = json.load(sys.stdin)
targets = [Target(name, address, tuple(ports)) for name, address, ports in asked["targets"]]
rounds = [[dataclasses.asdict(result) for result in probe(
    targets, timeout=asked["timeout"], concurrency=asked["concurrency"])]
    for _ in range(asked["rounds"])]
print(json.dumps(rounds))
"""


@dataclass
class Network:
    lab: Lab
    collector: str
    answering: str
    answering_if: str
    listener_port: int

    def probe(self, targets: list[tuple[str, str, list[int]]], *, timeout: float = 1.0,
              concurrency: int = 16, rounds: int = 1, prefix: tuple[str, ...] = ()
              ) -> tuple[list[list[dict[str, Any]]], str]:
        """Results of each round by target name, in order, and the probing log."""
        asked = {"targets": targets, "timeout": timeout, "concurrency": concurrency,
                 "rounds": rounds}
        done = self.lab.python(self.collector, RUN_PROBES, json.dumps(asked), prefix)
        return json.loads(done.stdout), done.stderr

    def results(self, targets: list[tuple[str, str, list[int]]],
                **options: Any) -> dict[str, dict[str, Any]]:
        rounds, _log = self.probe(targets, **options)
        assert [r["target"] for r in rounds[0]] == [name for name, _, _ in targets]
        return {result["target"]: result for result in rounds[0]}


@pytest.fixture
def network() -> Iterator[Network]:
    with Lab() as lab:
        collector, answering, quiet = (lab.namespace(role)
                                       for role in ("collector", "answering", "quiet"))
        to_answering, answering_if = lab.link(collector, "10.213.1.1/24",
                                              answering, "10.213.1.2/24")
        to_quiet, quiet_if = lab.link(collector, "10.213.2.1/24", quiet, "10.213.2.2/24")
        for interface in (to_answering, to_quiet):
            # The collector's kernel gives up on an absent neighbour within the probe
            # timeout and says "host unreachable", also in ICMP: not an answer.
            lab.sysctl(collector, f"net.ipv4.neigh.{interface}.mcast_solicit=1")
            lab.sysctl(collector, f"net.ipv4.neigh.{interface}.retrans_time_ms=200")
        lab.add_addresses(quiet, quiet_if, ["10.213.2.3/24"])
        lab.add_addresses(quiet, "lo", ["10.213.3.5/32"])
        lab.run(collector, ["ip", "route", "add", "10.213.3.0/24", "via", "10.213.2.2"])
        lab.sysctl(quiet, "net.ipv4.icmp_echo_ignore_all=1")
        port = lab.tcp_listener(quiet, "10.213.2.2")
        yield Network(lab, collector, answering, answering_if, port)


def test_an_answering_host_is_up_by_icmp(network: Network) -> None:
    found = network.results([("device:answering", "10.213.1.2", [22]),
                             ("device:by-name", "localhost", [])])
    for name, address in (("device:answering", "10.213.1.2"), ("device:by-name", "127.0.0.1")):
        result = found[name]
        assert (result["up"], result["method"], result["address"]) == (True, "icmp", address)
        assert result["rtt_ms"] > 0
        assert result["loss"] == 0.0
        assert result["error"] == ""


INTERRUPTED_PROBE = """
import signal, sys
from monitoring.probes import Target, probe
def stop(_signum, _frame):  # as citynet.process.stop_on_sigterm does
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[2]))
try:
    probe([Target("ap:probed", sys.argv[1], ())], timeout=5, concurrency=1)
except KeyboardInterrupt:
    print("stopped")
else:
    print("probed to the end")
"""


@pytest.mark.parametrize(("address", "after"), [
    ("10.213.2.2", 0.5),  # ignores ICMP: the stop comes while the echoes wait
    ("10.213.1.99", 2.0),  # nothing there: "host unreachable" at once, then ARP waits
], ids=["echoes", "arp"])
def test_a_stop_while_a_probe_waits_stops_it(network: Network, address: str,
                                             after: float) -> None:
    """A collector's SIGTERM is a KeyboardInterrupt (citynet.process.stop_on_sigterm):
    one that comes while a probe waits for answers stops it, where scapy by itself
    swallows it — the collector ran on until killed 30 s later."""
    done = network.lab.run(network.collector, [sys.executable, "-c", INTERRUPTED_PROBE,
                                               address, str(after)])
    assert done.stdout.strip() == "stopped", done.stderr


def test_a_host_ignoring_icmp_is_up_by_tcp(network: Network) -> None:
    found = network.results([("ap:listening", "10.213.2.2", [network.listener_port]),
                             ("ap:closed-port", "10.213.2.3", [network.listener_port])])
    assert (found["ap:listening"]["up"], found["ap:listening"]["method"]) == (True, "tcp")
    assert found["ap:listening"]["rtt_ms"] > 0
    # a reset is an answer: the host is there, only the port is closed
    assert (found["ap:closed-port"]["up"], found["ap:closed-port"]["method"]) == (True, "tcp")


def test_arp_finds_a_silent_host_on_the_segment_only(network: Network) -> None:
    # 10.213.3.5 is the quiet namespace's too, and Linux answers ARP for any of its
    # addresses on any interface: ARPing for it would wrongly find it up.
    found = network.results([("ap:silent", "10.213.2.3", []),
                             ("ap:behind-router", "10.213.3.5", [])])
    silent, behind = found["ap:silent"], found["ap:behind-router"]
    assert (silent["up"], silent["method"], silent["loss"]) == (True, "arp", 0.0)
    assert silent["rtt_ms"] > 0
    assert (behind["up"], behind["method"]) == (False, "")
    assert behind["error"] == "no answer within 1 s (icmp 3 echoes)"


def test_nothing_there_and_unresolvable_names_are_down(network: Network) -> None:
    found = network.results([("ap:empty", "10.213.1.99", [22]),
                             ("ap:no-such-name", "no-such-ap.invalid", [22]),
                             ("ap:no-address", "", [22])])
    empty = found["ap:empty"]
    assert (empty["up"], empty["rtt_ms"], empty["loss"]) == (False, None, 1.0)
    assert empty["error"].startswith("no answer within 1 s (icmp 3 echoes, tcp 22: ")
    assert empty["error"].endswith(", arp on " + network.lab.prefix + "1a)")
    unresolvable = found["ap:no-such-name"]
    assert (unresolvable["up"], unresolvable["address"]) == (False, "")
    assert unresolvable["error"].startswith("cannot resolve 'no-such-ap.invalid': ")
    assert found["ap:no-address"]["error"] == "no address"


def test_hundreds_of_targets_all_get_results(network: Network) -> None:
    answering = [f"10.213.1.{n}" for n in range(10, 160)]
    network.lab.add_addresses(network.answering, network.answering_if,
                              [f"{address}/24" for address in answering])
    empty = [f"10.213.1.{n}" for n in range(160, 210)]
    targets = [(f"ap:{address}", address, [] if address in answering else [80])
               for address in answering + empty] + [("ap:quiet", "10.213.2.2", [80])]
    found = network.results(targets, concurrency=64)
    assert len(found) == 201
    assert {found[f"ap:{a}"]["method"] for a in answering} == {"icmp"}
    assert not any(found[f"ap:{a}"]["up"] for a in empty)
    assert found["ap:quiet"]["method"] == "tcp"  # refused on 80: up


def test_without_raw_sockets_tcp_connect_is_used_and_said_once(network: Network) -> None:
    no_raw = ("setpriv", "--bounding-set=-net_raw")  # root, but no CAP_NET_RAW
    rounds, log = network.probe([("device:answering", "10.213.1.2", []),
                                 ("ap:listening", "10.213.2.2", [network.listener_port])],
                                rounds=2, prefix=no_raw)
    for answering, listening in rounds:
        assert (answering["up"], answering["error"]) == (False, "no answer within 1 s "
                                                         "(nothing to try)")
        assert (listening["up"], listening["method"]) == (True, "tcp")
    assert log.count("no raw sockets") == 1, log
