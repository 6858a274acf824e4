"""Site surveys: captures read as beacons, beacons grouped into points and matched to
hotspots, signal against the threshold, and the stored rows and coverage."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dot11 import (
    Dot11,
    Dot11Beacon,
    Dot11Elt,
    Dot11FCS,
    Dot11ProbeResp,
    RadioTap,
)
from scapy.layers.l2 import LLC
from scapy.utils import EDecimal, PcapNgWriter, wrpcap
from sqlalchemy import select

from citynet.db import Store
from inventory.models import AccessPoint, Community, Hotspot, Street
from monitoring import survey
from monitoring.models import SurveyPoint
from monitoring.pcap import (
    Beacon,
    CaptureCounts,
    CaptureError,
    management_frame,
    radiotap_signal,
    read_beacons,
)
from monitoring.survey import (
    HotspotIndex,
    PlannedPoint,
    PointReading,
    SurveyError,
    Unmatched,
    measure,
    median_dbm,
    parse_points,
)

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shenzhen
AP_SQUARE = "aa:bb:cc:00:00:10"  # 东门广场's AP radio
AP_LIBRARY = "aa:bb:cc:00:01:20"  # 图书馆's AP radio
FOREIGN = "02:11:22:33:44:55"


def frame(bssid: str, dbm: int | None, at: datetime, ssid: str = "iShenzhen",
          subtype: int = 8, present: str = "dBm_AntSignal", flags: int = 0) -> Any:
    """A beacon (subtype 8) or probe response (5) as a monitor-mode laptop captures it:
    ``present`` names the radiotap fields, ``flags`` its Flags (0x10: FCS, 0x40: bad FCS).
    """
    radiotap = RadioTap() if dbm is None else RadioTap(
        present=present, dBm_AntSignal=dbm, mac_timestamp=123456789, Flags=flags, Rate=2,
        ChannelFrequency=2437, ChannelFlags="2GHz+OFDM", dBm_AntNoise=-95, Lock_Quality=7,
        Antenna=1)
    header = (Dot11FCS if flags & 0x10 else Dot11)(
        type=0, subtype=subtype, addr1="ff:ff:ff:ff:ff:ff", addr2=bssid, addr3=bssid)
    body = Dot11Beacon() if subtype == 8 else Dot11ProbeResp()
    packet = (radiotap / header / body / Dot11Elt(ID=0, info=ssid.encode())
              / Dot11Elt(ID=1, info=b"\x82"))
    packet.time = EDecimal(Decimal(at.timestamp()).quantize(Decimal("0.000001")))
    return packet


def data_frame(at: datetime) -> Any:
    packet = (RadioTap(present="dBm_AntSignal", dBm_AntSignal=-50)
              / Dot11(type=2, subtype=0, addr1=AP_SQUARE, addr2=FOREIGN, addr3=AP_SQUARE)
              / LLC())
    packet.time = at.timestamp()
    return packet


def write_capture(path: Path, frames: Sequence[Any]) -> Path:
    """``frames`` as pcap, pcapng or gzipped pcap, by the file's suffix (``-nano.pcap``:
    nanosecond timestamps)."""
    if path.name.endswith("-nano.pcap"):
        wrpcap(str(path), list(frames), nano=True)
    elif path.suffix == ".pcapng":
        writer = PcapNgWriter(str(path))
        for packet in frames:
            writer.write(packet)
        writer.close()
    elif path.suffix == ".gz":
        plain = path.with_suffix("")
        wrpcap(str(plain), list(frames))
        path.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        wrpcap(str(path), list(frames))
    return path


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def beacons(*readings: tuple[float, str, int]) -> list[Beacon]:
    return [Beacon(at(s), bssid, "iShenzhen", dbm) for s, bssid, dbm in readings]


INDEX = HotspotIndex([(AP_SQUARE, "东门广场"), (AP_LIBRARY, "图书馆")], ["iShenzhen"])


def rows_by(measured: survey.Measurement) -> dict[tuple[str, str], PointReading]:
    return {(r.point, r.hotspot): r for r in measured.rows}


# --- reading captures -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["walk.pcap", "walk-nano.pcap", "walk.pcapng",
                                  "walk.pcap.gz"])
def test_capture_gives_beacons_and_probe_responses_and_counts_the_rest(
        tmp_path: Path, name: str) -> None:
    path = write_capture(tmp_path / name, [
        frame(AP_SQUARE.upper(), -61, at(0.123456), ssid="深圳WiFi"),
        frame(AP_LIBRARY, -75, at(0.5), subtype=5, present="Flags+dBm_AntSignal", flags=0x10),
        data_frame(at(1)),
        frame(AP_SQUARE, None, at(1.5)),  # radiotap without a dBm signal
        frame(AP_SQUARE, -40, at(2), present="Flags+dBm_AntSignal", flags=0x50),  # bad FCS
    ])
    counts = CaptureCounts()
    found = list(read_beacons(path, counts))
    assert found == [Beacon(at(0.123456), AP_SQUARE, "深圳WiFi", -61),
                     Beacon(at(0.5), AP_LIBRARY, "iShenzhen", -75)]
    assert found[0].time.tzinfo is UTC
    assert (counts.frames, counts.beacons, counts.not_beacons, counts.no_signal,
            counts.bad_fcs, counts.skipped) == (5, 2, 1, 1, 1, 3)


@pytest.mark.parametrize("present", [
    "dBm_AntSignal", "TSFT+Flags+Rate+Channel+dBm_AntSignal+Antenna",
    "Flags+Channel+dBm_AntSignal+dBm_AntNoise+Lock_Quality", "Rate+dBm_AntSignal",
    "TSFT+dBm_AntSignal", "Channel+dBm_AntNoise",
])
@pytest.mark.parametrize("flags", [0, 0x10])
def test_frame_fields_agree_with_scapys_dissection(present: str, flags: int) -> None:
    if flags and "Flags" not in present:
        present = "Flags+" + present
    raw = bytes(frame(AP_SQUARE, -67, at(0), ssid="城市", present=present, flags=flags))
    dissected = RadioTap(raw)
    radiotap = radiotap_signal(raw)
    assert radiotap is not None and radiotap.length == dissected.len
    assert radiotap.dbm == dissected.dBm_AntSignal  # None when not present
    assert dissected.haslayer(Dot11Beacon)
    assert management_frame(raw, radiotap.length) == (AP_SQUARE, "城市")


def test_extended_presence_words_and_odd_frames() -> None:
    # presence: TSFT, dBm_AntSignal, another word follows (empty); TSFT is 8-aligned
    header = (b"\x00\x00" + (25).to_bytes(2, "little") + (0x80000021).to_bytes(4, "little")
              + bytes(4) + bytes(4) + (123).to_bytes(8, "little") + bytes([256 - 42]))
    beacon = bytes(Dot11(type=0, subtype=8, addr3=AP_SQUARE) / Dot11Beacon()
                   / Dot11Elt(ID=0, info=b"\x00\x00"))
    assert RadioTap(header + beacon).dBm_AntSignal == -42  # scapy reads it the same way
    found = radiotap_signal(header + beacon)
    assert found is not None and (found.length, found.dbm) == (25, -42)
    assert management_frame(header + beacon, 25) == (AP_SQUARE, "")  # hidden SSID
    assert radiotap_signal(header[:20]) is None  # shorter than it says
    assert radiotap_signal(b"\x01" + header[1:] + beacon) is None  # not radiotap version 0
    assert management_frame(beacon[:20]) is None
    assert management_frame(bytes(Dot11(type=0, subtype=4) / Dot11Elt(ID=0))) is None  # probe
    with_htc = bytes(Dot11(type=0, subtype=8, addr3=AP_SQUARE, FCfield="order")) + bytes(4) \
        + bytes(Dot11Beacon() / Dot11Elt(ID=0, info=b"htc"))
    assert management_frame(with_htc) == (AP_SQUARE, "htc")


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
@pytest.mark.parametrize("cut", [1, 7, 20])  # inside the last frame, or into its header
def test_a_cut_off_capture_is_an_error_naming_the_file_and_frames_read(
        tmp_path: Path, suffix: str, cut: int) -> None:
    whole = write_capture(tmp_path / f"whole{suffix}", [frame(AP_SQUARE, -60, at(i))
                                                        for i in range(5)])
    cut_off = tmp_path / f"cut{suffix}"
    cut_off.write_bytes(whole.read_bytes()[:-cut])
    assert len(list(read_beacons(whole))) == 5
    with pytest.raises(CaptureError) as error:
        list(read_beacons(cut_off))
    assert str(error.value).startswith(f"{cut_off}: the file ends in the middle of a frame "
                                       "(truncated); 4 frames were read before it.")


def test_a_damaged_gzip_capture_is_an_error(tmp_path: Path) -> None:
    whole = write_capture(tmp_path / "walk.pcap.gz", [frame(AP_SQUARE, -60, at(i))
                                                      for i in range(50)])
    damaged = tmp_path / "damaged.pcap.gz"
    damaged.write_bytes(whole.read_bytes()[:-30])
    with pytest.raises(CaptureError, match=r"damaged\.pcap\.gz: damaged data .* frames were"):
        list(read_beacons(damaged))


def test_what_is_not_a_radiotap_capture_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "points.csv"
    text.write_text("point,start,end\n")
    with pytest.raises(CaptureError, match=r"points\.csv: not a pcap or pcapng capture$"):
        list(read_beacons(text))
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match=r"empty\.pcap: empty$"):
        list(read_beacons(empty))
    ethernet = tmp_path / "eth.pcap"
    wrpcap(str(ethernet), [LLC()], linktype=1)
    with pytest.raises(CaptureError, match=r"link type 1 is not 802\.11 with radiotap"):
        list(read_beacons(ethernet))


# --- points -----------------------------------------------------------------------------

def test_pauses_of_the_gap_or_longer_start_new_points() -> None:
    measured = measure(beacons((0, AP_SQUARE, -60), (4.9, AP_SQUARE, -60),  # P1
                               (9.9, AP_SQUARE, -60),  # exactly 5 s later: P2
                               (9.0, AP_SQUARE, -60),  # merged out of order: still P2
                               (30, FOREIGN, -40),  # a foreign network alone: P3
                               (100, AP_SQUARE, -90)), INDEX, threshold=-70)
    assert measured.points == ["P1", "P2", "P3", "P4"]
    assert [(r.point, r.best_dbm, r.measured_at) for r in measured.rows] == [
        ("P1", -60, at(0)), ("P2", -60, at(9.9)), ("P3", None, at(30)), ("P4", -90, at(100))]
    assert measure(beacons((0, AP_SQUARE, -60), (20, AP_SQUARE, -60)), INDEX,
                   threshold=-70, gap=30).points == ["P1"]


def test_a_points_plan_assigns_by_time_window_and_keeps_silent_points() -> None:
    plan = parse_points(
        "Point, Start, End\n"
        f"gate,{at(0).isoformat()},{at(60).astimezone().isoformat()}\n"
        f"stage,{at(60).timestamp()},{at(120).timestamp()}\n"
        f"toilets,2026-05-01T10:05:00+08:00,2026-05-01T10:06:00+08:00\n", "plan.csv")
    assert plan[2] == PlannedPoint("toilets", at(300), at(360))
    measured = measure(beacons((-1, AP_SQUARE, -50), (0, AP_SQUARE, -65),
                               (59.9, AP_SQUARE, -65), (60, AP_SQUARE, -80),
                               (200, AP_SQUARE, -50)), INDEX, threshold=-70, plan=plan)
    assert measured.tally.ignored == 2 and measured.tally.used == 3
    assert [(r.point, r.best_dbm, r.covered, r.measured_at) for r in measured.rows] == [
        ("gate", -65, True, at(0)), ("stage", -80, False, at(60)),
        ("toilets", None, False, at(300))]


@pytest.mark.parametrize(("body", "problem"), [
    ("name,start,end\na,2026-05-01T10:00:00+08:00,2026-05-01T10:01:00+08:00\n",
     "plan.csv: needs the columns point,start,end (missing: point)"),
    ("point,start,end\na,2026-05-01T10:00:00,2026-05-01T10:01:00+08:00\n",
     "plan.csv:2: '2026-05-01T10:00:00' has no UTC offset"),
    ("point,start,end\na,yesterday,1777600000\n",
     "plan.csv:2: 'yesterday' is neither ISO 8601 nor epoch seconds"),
    ("point,start,end\na,1777600060,1777600000\n", "plan.csv:2: a: end is not after start"),
    ("point,start,end\na,1777600000,1777600060\na,1777600100,1777600160\n",
     "plan.csv:3: point 'a' is also on line 2"),
    ("point,start,end\na,1777600000,1777600060\nb,1777600030,1777600100\n",
     "plan.csv:3: b overlaps a (line 2)"),
    ("point,start,end\n", "plan.csv: no points"),
])
def test_a_bad_points_plan_is_refused_with_the_line(body: str, problem: str) -> None:
    with pytest.raises(SurveyError) as error:
        parse_points(body, "plan.csv")
    assert str(error.value).startswith(problem)


# --- which hotspot ----------------------------------------------------------------------

def test_bssids_match_exactly_or_by_the_radio_macs_first_five_octets() -> None:
    index = HotspotIndex([(AP_SQUARE, "东门广场"), ("AA:BB:CC:00:02:01", "图书馆"),
                          ("aa:bb:cc:00:02:02", "公园")])
    assert index.hotspot_of(AP_SQUARE.upper()) == "东门广场"
    assert index.hotspot_of("aa:bb:cc:00:00:1f") == "东门广场"  # a derived per-SSID BSSID
    assert index.hotspot_of("aa:bb:cc:00:02:01") == "图书馆"  # exact beats derived
    assert index.hotspot_of("aa:bb:cc:00:02:07") is Unmatched.AMBIGUOUS
    assert index.hotspot_of("aa:bb:cc:00:01:10") is Unmatched.FOREIGN


def test_foreign_and_ambiguous_beacons_are_counted_not_stored() -> None:
    index = HotspotIndex([(AP_SQUARE, "东门广场"), ("aa:bb:cc:00:02:01", "图书馆"),
                          ("aa:bb:cc:00:02:02", "公园")], ["iShenzhen"])
    found = [Beacon(at(0), FOREIGN, "iShenzhen", -40), Beacon(at(1), FOREIGN, "cafe", -40),
             Beacon(at(2), "aa:bb:cc:00:02:09", "x", -40),
             Beacon(at(3), "aa:bb:cc:00:00:11", "iShenzhen-guest", -66)]
    measured = measure(found, index, threshold=-70)
    assert (measured.tally.foreign, measured.tally.ambiguous, measured.tally.used) == (2, 1, 1)
    assert [(r.hotspot, r.bssid, r.best_dbm) for r in measured.rows] == [
        ("东门广场", "aa:bb:cc:00:00:11", -66)]
    assert measured.unknown_with_our_ssid == {FOREIGN: "iShenzhen"}


# --- signal -----------------------------------------------------------------------------

@pytest.mark.parametrize(("dbm", "covered"), [(-69, True), (-70, True), (-71, False)])
def test_exactly_the_threshold_is_covered(dbm: int, covered: bool) -> None:
    [row] = measure(beacons((0, AP_SQUARE, dbm)), INDEX, threshold=-70).rows
    assert (row.best_dbm, row.covered) == (dbm, covered)


@pytest.mark.parametrize(("readings", "median"), [
    ({-60: 1}, -60), ({-60: 1, -62: 1}, -61), ({-80: 4, -40: 1}, -80),
    ({-70: 2, -71: 2}, -70.5), ({-50: 1, -90: 2, -70: 2}, -70),
])
def test_median_of_a_histogram(readings: dict[int, int], median: float) -> None:
    assert median_dbm(readings) == median


def test_one_spike_does_not_cover_a_point_and_the_best_bssid_counts() -> None:
    derived = "aa:bb:cc:00:00:11"
    measured = measure(beacons(*[(i * 0.1, AP_SQUARE, -80) for i in range(4)],
                               (0.5, AP_SQUARE, -30),  # one reflection, once
                               (0.6, derived, -72), (0.7, derived, -68), (0.8, derived, -70)),
                       INDEX, threshold=-70)
    [row] = measured.rows
    assert (row.best_dbm, row.bssid, row.covered) == (-70, derived, True)
    spiky = measure(beacons(*[(i * 0.1, AP_SQUARE, -80) for i in range(4)],
                            (0.5, AP_SQUARE, -30)), INDEX, threshold=-70)
    assert (spiky.rows[0].best_dbm, spiky.rows[0].covered) == (-80, False)


def test_named_targets_get_a_row_at_every_point_others_are_not_stored() -> None:
    measured = measure(beacons((0, AP_SQUARE, -60), (0, AP_LIBRARY, -60),
                               (10, AP_LIBRARY, -65)), INDEX, threshold=-70,
                       targets=["东门广场", "公园"])
    assert measured.targets == ["东门广场", "公园"]
    assert measured.tally.other_hotspots == 2
    assert {k: (r.best_dbm, r.covered) for k, r in rows_by(measured).items()} == {
        ("P1", "东门广场"): (-60, True), ("P2", "东门广场"): (None, False),
        ("P1", "公园"): (None, False), ("P2", "公园"): (None, False)}
    every_heard = measure(beacons((0, AP_SQUARE, -60), (10, AP_LIBRARY, -65)), INDEX,
                          threshold=-70)
    assert sorted(rows_by(every_heard)) == [("P1", "东门广场"), ("P1", "图书馆"),
                                            ("P2", "东门广场"), ("P2", "图书馆")]
    assert survey.coverage(every_heard.rows) == {
        "东门广场": survey.Coverage(1, 2), "图书馆": survey.Coverage(1, 2)}
    assert survey.Coverage(1, 2).percent == 50.0 and survey.Coverage(0, 0).percent is None


def test_a_capture_end_to_end(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "walk.pcap", [
        frame(AP_SQUARE, -60 - (i % 3), at(i * 0.1)) for i in range(30)] + [
        frame(AP_SQUARE, -75, at(60 + i * 0.1)) for i in range(30)])
    counts = CaptureCounts()
    measured = measure(read_beacons(path, counts), INDEX, threshold=-70)
    assert counts.beacons == measured.tally.used == 60
    assert [(r.point, r.best_dbm, r.covered) for r in measured.rows] == [
        ("P1", -61, True), ("P2", -75, False)]


# --- store ------------------------------------------------------------------------------

def _seed_inventory(store: Store) -> None:
    with store.session() as session:
        street = Street(name="东门")
        community = Community(name="东门社区", street=street)
        square = Hotspot(name="东门广场", community=community, ssids=["iShenzhen"])
        session.add_all([AccessPoint(mac=AP_SQUARE, hotspot=square),
                         AccessPoint(mac=AP_LIBRARY,
                                     hotspot=Hotspot(name="图书馆", community=community))])


def _rows(point_results: Iterable[tuple[str, str, float | None]], moment: datetime,
          ) -> list[PointReading]:
    return [PointReading(p, h, dbm, AP_SQUARE if dbm is not None else "",
                         dbm is not None and dbm >= -70, moment) for p, h, dbm in point_results]


def test_import_replaces_and_coverage_comes_from_each_hotspots_latest_survey(
        store: Store) -> None:
    _seed_inventory(store)
    with store.session() as session:
        index = survey.load_index(session)
        assert index.hotspot_of("aa:bb:cc:00:01:2a") == "图书馆"
        assert index.ssids == {"iShenzhen"}
        assert survey.unknown_hotspots(session, ["图书馆", "公园"]) == ["公园"]
        survey.save(session, "spring", _rows([("P1", "东门广场", -60), ("P2", "东门广场", -80),
                                              ("P1", "图书馆", -65)], T0))
        survey.save(session, "autumn", _rows([("P1", "东门广场", -60), ("P2", "东门广场", None),
                                              ("P3", "东门广场", -70)], T0 + timedelta(days=90)))
    with store.session() as session:
        # the same name again replaces its rows: the library is not in spring any more
        assert survey.save(session, "spring", _rows(
            [("P1", "东门广场", -50), ("P2", "东门广场", -50)], T0)) == 2
    with store.session() as session:
        stored = session.scalars(select(SurveyPoint).where(SurveyPoint.survey == "spring")
                                 .order_by(SurveyPoint.point)).all()
        assert [(r.point, r.best_dbm, r.covered, r.measured_at) for r in stored] == [
            ("P1", -50, True, T0), ("P2", -50, True, T0)]
        assert survey.coverage_by_hotspot(session) == {"东门广场": (2, 3)}  # autumn is later
        listed = survey.survey_coverage(session)
    assert [(r.survey, r.hotspot, r.covered, r.total, r.started) for r in listed] == [
        ("autumn", "东门广场", 2, 3, T0 + timedelta(days=90)),
        ("spring", "东门广场", 2, 2, T0)]


def test_a_plans_problems_are_said_in_the_readers_language_at_their_place() -> None:
    from citynet import catalogs
    from citynet.domains import registered

    with pytest.raises(SurveyError) as error:
        parse_points("point,start,end\na,1777600000,1777600060\nb,1777600030,1777600100\n"
                     "c,now,1777600200\n", "plan.csv")
    with catalogs.speaking("zh-CN", registered()):
        assert error.value.said() == ("plan.csv:4: 'now' 既不是 ISO 8601 时间，也不是纪元秒数\n"
                                      "plan.csv:3: b 与 a（第 2 行）的时段重叠")
    assert str(error.value) == ("plan.csv:4: 'now' is neither ISO 8601 nor epoch seconds\n"
                                "plan.csv:3: b overlaps a (line 2)")
