"""The portal's serial numbers for Portal-protocol flows: never 0, none again before
65,535 flows, whatever the random start, and none twice across threads."""

from __future__ import annotations

import threading

import pytest

from portal.acclient import Serials

FLOWS = 0xFFFF  # every serial the header's two octets allow, 0 excepted


@pytest.mark.parametrize("start", [1, 2, 0x7FFF, 0xFFFE, 0xFFFF, None])
def test_no_serial_comes_round_again_before_every_other_did(start: int | None) -> None:
    serials = Serials(start)
    drawn = [serials() for _ in range(FLOWS)]
    assert sorted(drawn) == list(range(1, FLOWS + 1))
    assert serials() == drawn[0]  # and then in the same order


def test_after_0xffff_comes_1() -> None:
    serials = Serials(0xFFFE)
    assert [serials() for _ in range(3)] == [0xFFFE, 0xFFFF, 1]


def test_threads_never_share_a_serial() -> None:
    serials, drawn = Serials(), []
    lock = threading.Lock()

    def draw() -> None:
        mine = [serials() for _ in range(2000)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(drawn) == len(set(drawn)) == 16000
