"""A WAN link between two network namespaces with a delay and a loss rate: ``tc netem``
done in user space, for kernels built without ``sch_netem`` (this machine kind's:
``tc qdisc add ... netem`` answers "Specified qdisc kind is unknown").

Run as its own process: ``python -m tests.lab.wan END_A END_B``. It creates two TUN
devices (layer 3, no packet information header) named END_A and END_B and prints
``ready``; the caller then moves each into a site's namespace and gives it addresses
(a TUN device keeps working after ``ip link set DEV netns NS``). Every packet read from
one end is written to the other after the one-way delay, unless it is lost. Commands on
stdin, one a line, change the link while it runs:

    delay MS     one-way delay in milliseconds (a round trip costs twice this)
    loss PCT     percentage of packets dropped, each direction (100: the link is cut)

The process exits when stdin closes (its owner went away) or on SIGTERM.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU = 65535


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Link:
    """The delay line: packets in flight, ordered by when they are due at the far end."""

    def __init__(self) -> None:
        self.delay = 0.0  # seconds, one way
        self.loss = 0.0  # fraction dropped
        self.in_flight: list[tuple[float, int, int, bytes]] = []  # (due, seq, to_fd, packet)
        self._seq = 0

    def command(self, line: str) -> None:
        word, _, value = line.strip().partition(" ")
        if word == "delay":
            self.delay = float(value) / 1000
        elif word == "loss":
            self.loss = float(value) / 100
        print(f"{word} {value}", flush=True)  # the acknowledgement the owner waits for

    def carry(self, packet: bytes, to_fd: int, now: float) -> None:
        if self.loss and random.random() < self.loss:  # noqa: S311 (a loss rate, not a secret)
            return
        self._seq += 1
        heapq.heappush(self.in_flight, (now + self.delay, self._seq, to_fd, packet))

    def deliver(self, now: float) -> float | None:
        """Write every packet that is due; the seconds until the next one (None: none)."""
        while self.in_flight and self.in_flight[0][0] <= now:
            _due, _seq, to_fd, packet = heapq.heappop(self.in_flight)
            with contextlib.suppress(OSError):  # the far end is down: the packet is lost
                os.write(to_fd, packet)
        return self.in_flight[0][0] - now if self.in_flight else None


def run(end_a: str, end_b: str) -> None:
    fd_a, fd_b = open_tun(end_a), open_tun(end_b)
    other = {fd_a: fd_b, fd_b: fd_a}
    link = Link()
    stdin = sys.stdin.fileno()
    pending = b""
    print("ready", flush=True)
    while True:
        wait = link.deliver(time.monotonic())
        readable, _, _ = select.select([fd_a, fd_b, stdin], [], [], wait)
        now = time.monotonic()
        for fd in readable:
            if fd == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    link.command(line.decode())
                continue
            for _ in range(64):  # drain a burst, then look at the clock again
                try:
                    packet = os.read(fd, MTU)
                except BlockingIOError:
                    break
                link.carry(packet, other[fd], now)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
