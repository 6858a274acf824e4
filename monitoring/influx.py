"""The InfluxDB sink: telemetry points to any server speaking the InfluxDB v2 write API.

Points are encoded as line protocol (``citynet.telemetry.line``) and sent in batches
through influxdb-client's synchronous write API; this is the only module that imports
influxdb-client. While the server is down, batches wait in a disk spool and are replayed
oldest first before anything newer is sent, so the server sees points in the order they
were written. The spool is bounded: when full, its oldest batches are dropped and counted.
A failing server or a full disk never raises into the collectors.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import urllib3.exceptions
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from citynet import metrics
from citynet.config import Config
from citynet.telemetry import Point, line
from monitoring.settings import MonitoringConfig

log = logging.getLogger(__name__)

Transport = Callable[[Sequence[str]], None]
"""Sends one batch of line-protocol lines; raises InfluxUnavailable or BatchRejected."""

# points.line() stamps nanoseconds (the library's constant is typed as a plain str)
NANOSECONDS = cast(WritePrecision, WritePrecision.NS)

Verdict = Literal["retry", "hold", "reject"]

# What an HTTP error answer to a write means (2xx: delivered). "retry": the server is
# busy or broken, try again soon, then spool. "hold": the server refuses every batch until
# citynet's settings are fixed (token, org, bucket), so the points are spooled at once
# rather than thrown away. "reject": the batch itself is bad; sending it again cannot help.
HOLD_STATUSES = frozenset({401, 403, 404})


def verdict(status: int) -> Verdict:
    """How the sink treats an HTTP error status from the write API."""
    if status == 429 or status >= 500:
        return "retry"
    if status in HOLD_STATUSES:
        return "hold"
    return "reject"


SPOOLED = metrics.gauge("citynet_spool_points", "telemetry points waiting in the disk "
                        "spool for InfluxDB (0: everything delivered)")


class InfluxUnavailable(Exception):
    """The server did not take the batch, through no fault of the batch."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


class BatchRejected(Exception):
    """The server refused the batch itself (HTTP 4xx other than 429 and the hold ones)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status


@dataclass(slots=True)
class SinkCounters:
    """Points, since start: delivered (``sent``), put in the spool (``spooled``), lost to
    the spool's cap or a disk error (``dropped``), refused by the server as bad
    (``rejected``, including points line protocol cannot express)."""

    sent: int = 0
    spooled: int = 0
    dropped: int = 0
    rejected: int = 0


class InfluxWriter:
    """The transport over influxdb-client: one synchronous HTTP write per batch."""

    def __init__(self, url: str, org: str, bucket: str, token: str,
                 timeout_seconds: float = 10.0) -> None:
        self._client = InfluxDBClient(url=url, token=token, org=org,
                                      timeout=int(timeout_seconds * 1000))
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._org, self._bucket = org, bucket

    def __call__(self, lines: Sequence[str]) -> None:
        try:
            self._api.write(bucket=self._bucket, org=self._org, record="\n".join(lines),
                            write_precision=NANOSECONDS)
        except ApiException as exc:
            status = int(exc.status or 0)
            reason = f"HTTP {status} {exc.reason or ''}: {_short(exc.message)}"
            kind = verdict(status) if status else "retry"
            if kind == "reject":
                raise BatchRejected(status, _short(exc.message)) from exc
            raise InfluxUnavailable(reason, retry=kind == "retry") from exc
        except (InfluxDBError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise InfluxUnavailable(f"{type(exc).__name__}: {_short(str(exc))}") from exc

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def _short(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a hidden temp file, fsync, rename, fsync dir."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


@dataclass(frozen=True, slots=True)
class SpoolFile:
    path: Path
    points: int
    size: int


class Spool:
    """Batches waiting for the server, one file each, named ``<sequence>-<points>.lp`` so
    that names sort in write order and a dropped file's points are counted unread."""

    SUFFIX = ".lp"

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._files: deque[SpoolFile] = deque()
        self._bytes = 0
        self._next = 1
        if directory.is_dir():
            with self.shared():  # another process may be writing into it right now
                pass

    def _scan(self) -> None:
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                # a batch a crash interrupted before its rename: never complete, never sent
                log.info("removing unfinished spool file %s", path)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            sequence, _, points = path.stem.partition("-")
            if path.suffix != self.SUFFIX or not (sequence.isdigit() and points.isdigit()):
                continue
            entry = SpoolFile(path, int(points), path.stat().st_size)
            self._files.append(entry)
            self._bytes += entry.size
            self._next = int(sequence) + 1

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the spool against other processes (``citynet serve`` and a ``citynet
        collect`` share it) and see what they left: the file list is read again."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = self.directory.parent / f".{self.directory.name}.lock"  # beside, not in it
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._files.clear()
                self._bytes, self._next = 0, 1
                self._scan()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def __bool__(self) -> bool:
        return bool(self._files)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def points(self) -> int:
        return sum(entry.points for entry in self._files)

    def oldest(self) -> SpoolFile | None:
        return self._files[0] if self._files else None

    def append(self, lines: Sequence[str]) -> None:
        """Add one batch behind the others; raises OSError (e.g. a full disk)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode()
        path = self.directory / f"{self._next:016d}-{len(lines)}{self.SUFFIX}"
        write_atomically(path, data)
        self._next += 1
        self._files.append(SpoolFile(path, len(lines), len(data)))
        self._bytes += len(data)

    @staticmethod
    def read(entry: SpoolFile) -> list[str]:
        return entry.path.read_text(encoding="utf-8").rstrip("\n").split("\n")

    def remove_oldest(self) -> SpoolFile:
        entry = self._files.popleft()
        self._bytes -= entry.size
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
        return entry

    def trim(self) -> int:
        """Drop the oldest batches until the spool fits its cap; returns points dropped."""
        dropped = 0
        while self._files and self._bytes > self.max_bytes:
            dropped += self.remove_oldest().points
        return dropped


class InfluxSink:
    """Sends points to InfluxDB in batches, spooling to disk while it is unreachable."""

    name = "influxdb"

    def __init__(self, url: str, org: str, bucket: str, token: str, *, batch_size: int,
                 spool_dir: Path, spool_max_bytes: int, timeout_seconds: float = 10.0,
                 retry_delays: Sequence[float] = (0.2, 0.8),
                 sleep: Callable[[float], None] = time.sleep,
                 transport: Transport | None = None) -> None:
        self._writer: InfluxWriter | None = None
        if transport is None:
            self._writer = transport = InfluxWriter(url, org, bucket, token, timeout_seconds)
        self._transport = transport
        self.batch_size = batch_size
        self.spool = Spool(spool_dir, spool_max_bytes)
        self.counters = SinkCounters()
        self._delays = tuple(retry_delays)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._down = False

    def write(self, points: Sequence[Point]) -> None:
        """Replay the spool, then send ``points`` (or spool them behind it). Never raises
        for the server or the disk."""
        encoded = self._encode(points)
        with self._lock, self.spool.shared():
            try:
                if not self._replay():
                    self._to_spool(encoded)
                    return
                for start in range(0, len(encoded), self.batch_size):
                    if not self._send(encoded[start:start + self.batch_size],
                                      attempts=1 + len(self._delays)):
                        self._to_spool(encoded[start:])
                        return
            finally:
                SPOOLED.set(self.spool.points)

    def replay(self) -> bool:
        """Send what the spool holds, oldest first; True when it is empty afterwards."""
        with self._lock, self.spool.shared():
            try:
                return self._replay()
            finally:
                SPOOLED.set(self.spool.points)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _encode(self, points: Sequence[Point]) -> list[str]:
        encoded: list[str] = []
        bad: list[str] = []
        for point in points:
            try:
                encoded.append(line(point))
            except ValueError as exc:
                bad.append(f"{point.measurement}: {exc}")
        if bad:
            self.counters.rejected += len(bad)
            log.warning("%d points cannot be written as line protocol (first: %s)",
                        len(bad), bad[0])
        return encoded

    def _replay(self) -> bool:
        # One try per spooled batch: the spool itself is the retry, and a long outage must
        # not cost every collector run the whole backoff.
        while (entry := self.spool.oldest()) is not None:
            try:
                batch = self.spool.read(entry)
            except (OSError, UnicodeDecodeError) as exc:
                log.error("spool file %s unreadable (%s): %d points dropped",
                          entry.path, exc, entry.points)
                self.counters.dropped += self.spool.remove_oldest().points
                continue
            if not self._send(batch, attempts=1):
                return False
            self.spool.remove_oldest()
        return True

    def _send(self, batch: Sequence[str], attempts: int) -> bool:
        """Deliver one batch, retrying with backoff; False when the server is down (the
        caller spools it). A rejected batch counts as handled: it is not sent again."""
        failure: InfluxUnavailable | None = None
        for attempt in range(attempts):
            try:
                self._transport(batch)
            except BatchRejected as exc:
                self.counters.rejected += len(batch)
                log.error("InfluxDB rejected a batch of %d points (%s); first line: %s",
                          len(batch), exc, _short(batch[0]))
                return True
            except InfluxUnavailable as exc:
                failure = exc
                if not exc.retry or attempt + 1 == attempts:
                    break
                self._sleep(self._delays[attempt])
                continue
            self.counters.sent += len(batch)
            if self._down:
                self._down = False
                log.info("InfluxDB reachable again")
            return True
        if not self._down:
            self._down = True
            log.warning("InfluxDB unavailable (%s); spooling points in %s", failure,
                        self.spool.directory)
        return False

    def _to_spool(self, encoded: Sequence[str]) -> None:
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start:start + self.batch_size]
            try:
                self.spool.append(batch)
            except OSError as exc:
                self.counters.dropped += len(batch)
                log.error("cannot spool %d points in %s (%s): dropped", len(batch),
                          self.spool.directory, exc)
                continue
            self.counters.spooled += len(batch)
        dropped = self.spool.trim()
        if dropped:
            self.counters.dropped += dropped
            log.warning("InfluxDB spool over its cap of %d bytes: dropped the %d oldest "
                        "points", self.spool.max_bytes, dropped)


def from_config(config: Config) -> InfluxSink | None:
    """The sink ``[monitoring]`` asks for, or None when no InfluxDB URL is set."""
    settings = config.section(MonitoringConfig)
    if not settings.influx_url:
        return None
    return InfluxSink(settings.influx_url, settings.influx_org, settings.influx_bucket,
                      settings.influx_token.get_secret_value(),
                      batch_size=settings.batch_size,
                      spool_dir=config.data_path / "spool" / "influx",
                      spool_max_bytes=settings.spool_max_mb * 1024 * 1024)
