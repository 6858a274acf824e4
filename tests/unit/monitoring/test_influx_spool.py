"""The InfluxDB sink's batching, retries and disk spool, against an in-memory server that
can be taken down and brought back."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citynet.config import Config
from citynet.telemetry import Point, line
from monitoring import influx
from monitoring.influx import BatchRejected, InfluxSink, InfluxUnavailable, Spool, verdict
from tests.conftest import make_config

START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeInflux:
    """A stateful stand-in for the server: keeps what it accepted, in arrival order."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[str] = []
        self.requests = 0
        self.bad: set[str] = set()  # a batch holding one of these lines is rejected
        self.down_error = InfluxUnavailable("connection refused")

    def __call__(self, lines: Sequence[str]) -> None:
        self.requests += 1
        if not self.up:
            raise self.down_error
        if self.bad.intersection(lines):
            raise BatchRejected(400, "unable to parse")
        self.received.extend(lines)


def points(first: int, last: int) -> list[Point]:
    """Points numbered first..last-1, one second apart."""
    return [Point("hotspot_use", {"hotspot": "笋岗-1"}, {"online": n},
                  START + timedelta(seconds=n)) for n in range(first, last)]


def numbers(lines: Sequence[str]) -> list[int]:
    return [int(text.split("online=")[1].split("i")[0]) for text in lines]


SinkMaker = Callable[..., InfluxSink]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_sink(tmp_path: Path, sleeps: list[float]) -> SinkMaker:
    def make(server: FakeInflux, *, batch_size: int = 3, max_bytes: int = 1 << 20,
             token: str = "") -> InfluxSink:
        return InfluxSink("http://influx.invalid", "org", "bucket", token,
                          batch_size=batch_size, spool_dir=tmp_path / "spool",
                          spool_max_bytes=max_bytes, sleep=sleeps.append, transport=server)
    return make


def spool_names(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "spool").iterdir())


def test_points_go_out_in_batches_in_order(make_sink: SinkMaker) -> None:
    server = FakeInflux()
    sink = make_sink(server)
    sink.write(points(0, 7))
    assert numbers(server.received) == list(range(7))
    assert server.requests == 3  # 3 + 3 + 1
    assert server.received[0] == line(points(0, 1)[0])
    assert sink.counters == influx.SinkCounters(sent=7)


def test_order_kept_across_outage_and_recovery(make_sink: SinkMaker, tmp_path: Path,
                                               sleeps: list[float]) -> None:
    server = FakeInflux()
    sink = make_sink(server)
    sink.write(points(0, 5))
    server.up = False
    sink.write(points(5, 10))
    sink.write(points(10, 14))
    assert numbers(server.received) == list(range(5))
    # the first failing batch is retried with backoff; later ones wait behind the spool
    assert sleeps == [0.2, 0.8]
    assert len(spool_names(tmp_path)) == 4  # 5..7, 8..9, 10..12, 13
    assert sink.spool.points == 9
    server.up = True
    sink.write(points(14, 16))
    assert numbers(server.received) == list(range(16))
    assert spool_names(tmp_path) == []
    assert sink.counters == influx.SinkCounters(sent=16, spooled=9)


def test_a_new_sink_replays_what_an_old_one_spooled(make_sink: SinkMaker,
                                                    tmp_path: Path) -> None:
    server = FakeInflux()
    server.up = False
    old = make_sink(server)
    old.write(points(0, 4))
    old.close()
    restarted = make_sink(server)
    restarted.write(points(4, 8))  # still down: queued behind the old files
    assert len(spool_names(tmp_path)) == 4
    server.up = True
    assert restarted.replay()
    assert numbers(server.received) == list(range(8))


def test_spool_over_its_cap_drops_the_oldest(make_sink: SinkMaker, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    # numbers 10..21 all have two digits, so every batch of three has the same size
    one_batch = len(("\n".join(line(p) for p in points(10, 13)) + "\n").encode())
    server = FakeInflux()
    server.up = False
    sink = make_sink(server, max_bytes=2 * one_batch)
    with caplog.at_level(logging.WARNING, logger="monitoring.influx"):
        sink.write(points(10, 22))  # four batches of three; room for two
    assert sink.counters.dropped == 6
    assert sink.spool.bytes == 2 * one_batch
    assert "dropped the 6 oldest points" in caplog.text
    server.up = True
    sink.write(points(22, 23))
    assert numbers(server.received) == [16, 17, 18, 19, 20, 21, 22]
    assert sink.counters == influx.SinkCounters(sent=7, spooled=12, dropped=6)


def test_a_full_disk_drops_points_and_never_raises(
        make_sink: SinkMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    server = FakeInflux()
    server.up = False
    sink = make_sink(server)
    sink.write(points(0, 2))  # spooled while the disk has room
    monkeypatch.setattr(influx, "_write_all", half_then_full)
    with caplog.at_level(logging.ERROR, logger="monitoring.influx"):
        sink.write(points(2, 6))
    assert sink.counters.dropped == 4
    assert "No space left on device" in caplog.text
    assert spool_names(tmp_path) == ["0000000000000001-2.lp"]  # no half-written batch
    monkeypatch.undo()
    sink.write(points(6, 7))
    server.up = True
    sink.replay()
    assert numbers(server.received) == [0, 1, 6]


def test_a_batch_a_crash_left_half_written_is_never_sent(make_sink: SinkMaker,
                                                         tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    whole = [line(p) for p in points(0, 2)]
    (spool / "0000000000000001-2.lp").write_text("\n".join(whole) + "\n")
    half = "\n".join(line(p) for p in points(2, 5))[:70]
    (spool / ".0000000000000002-3.lp.tmp").write_text(half)
    server = FakeInflux()
    sink = make_sink(server)
    sink.write(points(5, 6))
    assert numbers(server.received) == [0, 1, 5]
    assert spool_names(tmp_path) == []


def test_a_rejected_batch_is_logged_counted_and_not_retried(
        make_sink: SinkMaker, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    server = FakeInflux()
    batch = points(0, 9)
    server.bad.add(line(batch[4]))
    sink = make_sink(server, token="s3cret-token")
    with caplog.at_level(logging.ERROR, logger="monitoring.influx"):
        sink.write(batch)
    assert numbers(server.received) == [0, 1, 2, 6, 7, 8]
    assert server.requests == 3
    assert sleeps == []
    assert sink.counters == influx.SinkCounters(sent=6, rejected=3)
    assert "rejected a batch of 3 points" in caplog.text
    assert "s3cret-token" not in caplog.text


def test_a_spooled_batch_rejected_on_replay_does_not_block_the_rest(
        make_sink: SinkMaker) -> None:
    server = FakeInflux()
    server.up = False
    sink = make_sink(server)
    batch = points(0, 9)
    sink.write(batch)
    server.bad.add(line(batch[1]))
    server.up = True
    assert sink.replay()
    assert numbers(server.received) == [3, 4, 5, 6, 7, 8]
    assert sink.counters.rejected == 3


def test_refused_credentials_spool_at_once(make_sink: SinkMaker, sleeps: list[float]) -> None:
    server = FakeInflux()
    server.up = False
    server.down_error = InfluxUnavailable("HTTP 401 unauthorized", retry=False)
    sink = make_sink(server)
    sink.write(points(0, 3))
    assert sleeps == []
    assert sink.counters == influx.SinkCounters(spooled=3)


def test_points_line_protocol_cannot_hold_are_rejected(make_sink: SinkMaker) -> None:
    server = FakeInflux()
    sink = make_sink(server)
    nan = Point("hotspot_use", {"hotspot": "x"}, {"online": float("nan")}, START)
    sink.write([*points(0, 1), nan, *points(1, 2)])
    assert numbers(server.received) == [0, 1]
    assert sink.counters == influx.SinkCounters(sent=2, rejected=1)


@pytest.mark.parametrize(("status", "expected"), [
    (400, "reject"), (413, "reject"), (422, "reject"),
    (401, "hold"), (403, "hold"), (404, "hold"),
    (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"),
])
def test_http_status_verdicts(status: int, expected: str) -> None:
    assert verdict(status) == expected


def test_from_config(tmp_path: Path) -> None:
    assert influx.from_config(make_config(tmp_path)) is None
    config: Config = make_config(tmp_path, monitoring={
        "influx_url": "http://127.0.0.1:8086", "batch_size": 100, "spool_max_mb": 2})
    sink = influx.from_config(config)
    assert sink is not None
    try:
        assert sink.spool.directory == config.data_path / "spool" / "influx"
        assert sink.spool.max_bytes == 2 * 1024 * 1024
        assert sink.batch_size == 100
    finally:
        sink.close()


def test_two_processes_share_one_spool_without_losing_a_batch(tmp_path: Path) -> None:
    """`citynet serve` and a `citynet collect` spool into the same directory: each sees
    what the other wrote, names never collide, and replay sends everything once."""
    import multiprocessing

    directory = tmp_path / "spool"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_spool_many, args=(directory, tag)) for tag in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    spool = Spool(directory, 10**9)
    lines: list[str] = []
    with spool.shared():
        while (oldest := spool.oldest()) is not None:
            lines += Spool.read(oldest)
            spool.remove_oldest()
    assert sorted(lines) == sorted(f"m,p={tag} v={i}i" for tag in "ab" for i in range(50))


def _spool_many(directory: Path, tag: str) -> None:
    spool = Spool(directory, 10**9)
    for i in range(50):
        with spool.shared():
            spool.append([f"m,p={tag} v={i}i"])
