"""A survey walk's capture, read as beacons: the one module that reads captures (scapy).

scapy's reader frames the records (pcap or pcapng, optionally gzip-compressed) one at a
time, so a capture of hours needs the memory of one frame. The few fields a survey needs
are then read from the bytes here (``radiotap_signal``, ``management_frame``): scapy's
full dissection of a radiotap frame costs ~0.7 ms, which makes an hour-long walk (a
million beacons and more) a matter of many minutes instead of seconds.

- Kept: beacons and probe responses (both carry the BSSID and SSID of a network that
  answers here) whose radiotap header has the dBm antenna signal.
- Skipped and counted: every other frame; frames without a dBm signal (no radiotap
  header, a driver that does not report it, no timestamp); frames the radio received with
  a bad checksum (their BSSID may be garbled).
- A capture that ends inside a frame, or whose bytes are damaged, is an error naming the
  file and how many frames were read: a cut-off copy should be copied again from the survey
  laptop, not surveyed in part without anyone noticing.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from citynet.catalogs import N_
from citynet.errors import CitynetError

LINKTYPE_RADIOTAP = 127
_GZIP_MAGIC = b"\x1f\x8b"

# radiotap fields of the first presence word that come before dBm_AntSignal (bit 5):
# (bit, alignment, size), from the radiotap standard's field list
_BEFORE_SIGNAL = ((0, 8, 8), (1, 1, 1), (2, 1, 1), (3, 2, 4), (4, 1, 2))
_SIGNAL_BIT = 1 << 5
_FLAGS_BIT = 1 << 1
_FLAG_BAD_FCS = 0x40
_MORE_PRESENCE = 1 << 31

MANAGEMENT = 0
PROBE_RESPONSE = 5
BEACON = 8
_FIXED_PARAMETERS = 12  # timestamp, beacon interval, capability: before the elements
_SSID_ELEMENT = 0


class CaptureError(CitynetError):
    """A capture file that cannot be read (not a capture, truncated, damaged)."""


@dataclass(frozen=True)
class Beacon:
    """One beacon (or probe response) as heard at the survey laptop."""

    time: datetime  # UTC
    bssid: str  # lower-case, colon form
    ssid: str  # "" for a hidden network
    dbm: int  # radiotap dBm antenna signal


@dataclass
class CaptureCounts:
    """What reading a capture saw; complete once the beacons are exhausted."""

    frames: int = 0
    beacons: int = 0
    not_beacons: int = 0
    no_signal: int = 0  # also: not radiotap, no timestamp
    bad_fcs: int = 0

    @property
    def skipped(self) -> int:
        return self.not_beacons + self.no_signal + self.bad_fcs


# --- the bytes of one frame (pure) ------------------------------------------------------

@dataclass(frozen=True)
class Radiotap:
    length: int  # of the radiotap header: the 802.11 frame starts here
    dbm: int | None
    bad_fcs: bool


def radiotap_signal(frame: bytes) -> Radiotap | None:
    """The radiotap header's length, dBm antenna signal and bad-checksum flag; None when
    the bytes are no valid radiotap header."""
    if len(frame) < 8 or frame[0] != 0:
        return None
    length = int.from_bytes(frame[2:4], "little")
    if not 8 <= length <= len(frame):
        return None
    present = int.from_bytes(frame[4:8], "little")
    offset, word = 8, present
    while word & _MORE_PRESENCE:  # further presence words precede the fields
        if offset + 4 > length:
            return None
        word = int.from_bytes(frame[offset:offset + 4], "little")
        offset += 4
    bad_fcs = False
    for bit, align, size in _BEFORE_SIGNAL:
        if present & (1 << bit):
            offset += -offset % align  # alignment counts from the header's start
            if bit == 1 and offset < length:
                bad_fcs = bool(frame[offset] & _FLAG_BAD_FCS) and bool(present & _FLAGS_BIT)
            offset += size
    if not present & _SIGNAL_BIT:
        return Radiotap(length, None, bad_fcs)
    if offset >= length:
        return None
    signal = frame[offset]
    return Radiotap(length, signal - 256 if signal > 127 else signal, bad_fcs)


def management_frame(frame: bytes, start: int = 0) -> tuple[str, str] | None:
    """(BSSID, SSID) of an 802.11 beacon or probe response starting at ``start``; None for
    any other frame or a frame too short to be one."""
    if len(frame) < start + 24:
        return None
    control, flags = frame[start], frame[start + 1]
    if control & 0b11 or (control >> 2) & 0b11 != MANAGEMENT or (
            control >> 4) not in (BEACON, PROBE_RESPONSE):
        return None
    bssid = ":".join(f"{octet:02x}" for octet in frame[start + 16:start + 22])
    at = start + 24 + (4 if flags & 0x80 else 0) + _FIXED_PARAMETERS  # +HT Control
    while at + 2 <= len(frame):
        element, size = frame[at], frame[at + 1]
        if element == _SSID_ELEMENT:
            text = frame[at + 2:at + 2 + size].decode("utf-8", "replace")
            return bssid, text.rstrip("\x00")  # hidden networks may send NULs
        at += 2 + size
    return bssid, ""


# --- reading a capture ------------------------------------------------------------------

class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _Source:
    """The capture's bytes, handed to scapy, noting whether the file ended inside a record.

    scapy ends its iteration quietly both at the end of the file and when a record is cut
    short; only the reads it makes tell them apart. A clean end is a read of a record's
    first field that finds nothing: 16 bytes (pcap record header) or 4 (pcapng block
    type). Any other short read means the file stops in the middle of a record.
    """

    def __init__(self, raw: _Readable, name: str) -> None:
        self._raw = raw
        self.name = name
        self.clean_end_reads = {4, 16}
        self.cut_short = False
        self.damage = ""  # what the decompressor said about damaged bytes

    @property
    def problem(self) -> str:
        if self.damage:
            return f"damaged data ({self.damage})"
        return "the file ends in the middle of a frame (truncated)" if self.cut_short else ""

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size)
        except (EOFError, OSError, zlib.error) as exc:  # a damaged gzip stream
            self.damage = self.damage or str(exc)
            return b""
        if size > 0 and len(data) < size and (data or size not in self.clean_end_reads):
            self.cut_short = True
        return data

    def close(self) -> None:
        self._raw.close()


def read_beacons(path: Path, counts: CaptureCounts | None = None) -> Iterator[Beacon]:
    """The beacons of the capture at ``path``, in capture order; ``counts`` is filled in
    as they are read. Raises CaptureError for a file that is not a capture or is cut off."""
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapNgReader, RawPcapReader

    counts = counts if counts is not None else CaptureCounts()
    try:
        file = path.open("rb")
    except OSError as exc:
        raise CaptureError(N_("%(path)s: cannot open (%(reason)s)"), path=path,
                           reason=exc.strerror) from None
    raw: _Readable = gzip.GzipFile(fileobj=file) if file.peek(2)[:2] == _GZIP_MAGIC else file
    source = _Source(raw, str(path))
    try:
        try:
            reader = RawPcapReader(source)  # type: ignore[arg-type]  # a file-like object
        except Scapy_Exception:
            if source.damage:
                raise CaptureError(N_("%(path)s: damaged data (%(reason)s)"), path=path,
                                   reason=source.damage) from None
            raise CaptureError(N_("%(path)s: empty") if path.stat().st_size == 0
                               else N_("%(path)s: not a pcap or pcapng capture"),
                               path=path) from None
        pcapng = isinstance(reader, RawPcapNgReader)
        source.clean_end_reads = {4} if pcapng else {16}
        if not pcapng and reader.linktype != LINKTYPE_RADIOTAP:
            raise CaptureError(N_(
                "%(path)s: link type %(found)s is not 802.11 with radiotap headers "
                "(%(needed)s); capture in monitor mode, e.g. `tcpdump -i wlan0mon -w "
                "walk.pcap`"), path=path, found=reader.linktype, needed=LINKTYPE_RADIOTAP)
        records = iter(reader)
        while True:
            try:
                data, meta = next(records)
            except StopIteration:
                break
            except Scapy_Exception as exc:
                source.damage = source.damage or str(exc)
                break
            if source.problem:
                break  # scapy hands over what it had of a cut-off frame: not a frame read
            counts.frames += 1
            found = _beacon(data, meta, pcapng, reader, counts)
            if found is not None:
                counts.beacons += 1
                yield found
        if source.problem:
            raise CaptureError(N_("%(path)s: %(problem)s; %(count)s frames were read before "
                                  "it. Copy the capture again from the survey laptop."),
                               path=path, problem=source.problem, count=counts.frames)
    finally:
        source.close()
        file.close()  # a GzipFile leaves the file it reads from open


def _beacon(data: bytes, meta: Any, pcapng: bool, reader: Any,
            counts: CaptureCounts) -> Beacon | None:
    """The beacon in one record, or None (and the reason counted)."""
    radiotap = radiotap_signal(data) if not pcapng or meta.linktype == LINKTYPE_RADIOTAP \
        else None
    if radiotap is None:
        counts.no_signal += 1
        return None
    found = management_frame(data, radiotap.length)
    if found is None:
        counts.not_beacons += 1
        return None
    moment = _time(meta, pcapng, reader)
    if radiotap.dbm is None or moment is None:
        counts.no_signal += 1
        return None
    if radiotap.bad_fcs:
        counts.bad_fcs += 1
        return None
    return Beacon(moment, found[0], found[1], radiotap.dbm)


def _time(meta: Any, pcapng: bool, reader: Any) -> datetime | None:
    """The record's capture time, exact to the microsecond (integers, not floats)."""
    if pcapng:
        if meta.tshigh is None:  # a simple packet block carries no time
            return None
        units, per_second = (meta.tshigh << 32) + meta.tslow, int(meta.tsresol)
        seconds, fraction = divmod(units, per_second)
        micro = fraction * 1_000_000 // per_second
    else:
        seconds, micro = meta.sec, meta.usec // 1000 if reader.nano else meta.usec
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micro)
