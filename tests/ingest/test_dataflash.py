"""The DataFlash reader against pymavlink's DFReader, on real logs and on logs made here."""

from __future__ import annotations

import io
import struct
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink import DFReader

from ceasewatch.ingest import inspect_telemetry, telemetry_kind
from ceasewatch.ingest.dataflash import (
    DataFlashLog,
    gps_utc_us,
    load_dataflash,
    read_dataflash,
)

# --- logs made here -----------------------------------------------------------------------


def _struct(fmt: str) -> str:
    return "<" + "".join(DFReader.FORMAT_TO_STRUCT[c][0] for c in fmt)


def fmt_record(type_id: int, name: str, fmt: str, cols: str) -> bytes:
    length = 3 + struct.calcsize(_struct(fmt))
    body = struct.pack("<BB4s16s64s", type_id, length, name.encode(), fmt.encode(), cols.encode())
    return b"\xa3\x95\x80" + body


def record(type_id: int, fmt: str, *values: Any) -> bytes:
    return b"\xa3\x95" + bytes((type_id,)) + struct.pack(_struct(fmt), *values)


TYPES = {  # id: name, format, columns (as ArduPilot 4.x logs them)
    129: ("GPS", "QBBIHBcLLeffffB",
          "TimeUS,I,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U"),
    130: ("ATT", "QccccCCCCB", "TimeUS,DesRoll,Roll,DesPitch,Pitch,DesYaw,Yaw,ErrRP,ErrYaw,AEKF"),
    131: ("POS", "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"),
    132: ("MNT", "QBfffffffff",
          "TimeUS,I,DesRoll,Roll,DesPitch,Pitch,DesYawB,YawB,DesYawE,YawE,Dist"),
    133: ("CAM", "QBHIHLLeefccC", "TimeUS,I,Img,GPSTime,GPSWeek,Lat,Lng,Alt,RelAlt,GPSAlt,R,P,Y"),
    134: ("ERR", "QBB", "TimeUS,Subsys,ECode"),
    135: ("UNIT", "QbZ", "TimeUS,Id,Label"),
    136: ("MULT", "Qbd", "TimeUS,Id,Mult"),
    137: ("FMTU", "QBNN", "TimeUS,FmtType,UnitIds,MultIds"),
    138: ("PARM", "QNf", "TimeUS,Name,Value"),
}  # fmt: skip


def build_log() -> bytes:
    """A small ArduPilot-like log: FMT records, units, then GPS, ATT, POS, MNT, CAM, ERR."""
    out = [fmt_record(128, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns")]
    out += [fmt_record(t, *spec) for t, spec in TYPES.items()]
    # fmt: off
    out += [
        record(135, "QbZ", 1, ord("s"), b"s"),
        record(135, "QbZ", 2, ord("D"), b"deglatitude"),
        record(135, "QbZ", 3, ord("d"), b"deg"),
        record(136, "Qbd", 4, ord("F"), 1e-6),
        record(136, "Qbd", 5, ord("-"), 0.0),
        record(137, "QBNN", 6, 130, b"sddddddddd", b"F---------"),
        record(137, "QBNN", 6, 131, b"sDD", b"F--"),
        record(138, "QNf", 7, b"LOG_BITMASK", 176126.0),
        record(134, "QBB", 8, 16, 2),
    ]
    for k in range(6):  # the first GPS record has no fix yet
        t = 10_000_000 + 200_000 * k
        out.append(record(129, "QBBIHBcLLeffffB", t, 0, 3 if k else 1, 300_000_000 + 200 * k,
                          2300, 14, 71, 483_861_421 + k, -1_246_305_728 - k, 15_230 + k,
                          1.5, 271.25, -0.1, 0.0, 1))
        out.append(record(130, "QccccCCCCB", t + 1, 10, -512, 20, 1234, 35_000, 35_990, 5, 7, 1))
        out.append(record(131, "QLLfff", t + 2, 483_861_400, -1_246_305_700, 152.5, 20.25, 0.0))
        out.append(record(132, "QBfffffffff", t + 3, 0, 0.0, 0.5, -45.0, -44.5, 10.0, 10.5,
                          280.0, 281.0, float("nan")))
    out.append(record(133, "QBHIHLLeefccC", 11_000_000, 0, 1, 300_000_500, 2300, 483_861_410,
                      -1_246_305_710, 15_275, 2_050, 152.75, 50, -4400, 27_000))
    # fmt: on
    return b"".join(out)


def record_spans(data: bytes) -> list[tuple[int, int]]:
    lengths = {128: 89} | {t: 3 + struct.calcsize(_struct(f)) for t, (_, f, _) in TYPES.items()}
    spans, pos = [], 0
    while pos < len(data):
        spans.append((pos, pos + lengths[data[pos + 2]]))
        pos = spans[-1][1]
    return spans


ALL_TYPES = [name for name, _, _ in TYPES.values()]


def parse(data: bytes, chunk_bytes: int = 1 << 20, types: list[str] = ALL_TYPES) -> DataFlashLog:
    return load_dataflash(io.BytesIO(data), types=types, chunk_bytes=chunk_bytes)


def assert_same(a: DataFlashLog, b: DataFlashLog) -> None:
    assert a.counts == b.counts and a.units == b.units
    assert a.messages.keys() == b.messages.keys()
    for name, arr in a.messages.items():
        assert arr.dtype == b.messages[name].dtype and arr.tobytes() == b.messages[name].tobytes()


# --- pymavlink's DFReader as the reference ------------------------------------------------


@cache
def dfreader(path: Path) -> tuple[Counter[str], dict[str, list[Any]]]:
    reader = DFReader.DFReader_binary(str(path))
    counts: Counter[str] = Counter()
    kept: dict[str, list[Any]] = {}
    while (m := reader.recv_msg()) is not None:
        counts[m.get_type()] += 1
        kept.setdefault(m.get_type(), []).append(m)
    reader.close()
    return counts, kept


def assert_values_equal(log: DataFlashLog, path: Path, name: str) -> None:
    theirs = dfreader(path)[1][name]
    arr = log.messages[name]
    assert len(arr) == len(theirs) > 0
    for col in arr.dtype.names or ():
        if col == "file_offset":
            continue
        want = [getattr(m, col) for m in theirs]
        got = arr[col].tolist()
        if arr.dtype[col].kind == "S":
            assert [g.decode() for g in got] == want, (name, col)
        else:
            np.testing.assert_array_equal(np.array(got, float), np.array(want, float), (name, col))


@pytest.fixture
def made(tmp_path: Path) -> Path:
    path = tmp_path / "made.bin"
    path.write_bytes(build_log())
    return path


def test_made_log_equals_dfreader(made: Path) -> None:
    log = load_dataflash(made, types=ALL_TYPES)
    counts, _ = dfreader(made)
    assert dict(log.counts.records) == dict(counts)
    for name in ("GPS", "ATT", "POS", "MNT", "CAM", "ERR", "PARM"):
        assert_values_equal(log, made, name)
    assert log.counts.bytes == made.stat().st_size and log.counts.bad_data_bytes == 0


def test_units_and_gps_time(made: Path) -> None:
    log = load_dataflash(made)
    assert log.units["ATT"]["Roll"] == "deg" and log.units["ATT"]["TimeUS"] == "us"
    assert log.units["POS"]["Lat"] == "deglatitude"
    gps = log.messages["GPS"]
    assert gps["Lat"][0] == 48.3861421 and gps["Alt"][0] == 152.3  # L / 1e7, e / 100
    utc = gps_utc_us(gps["GWk"], gps["GMS"])
    reader = DFReader.DFReader_binary(str(made))
    second = [reader.recv_match(type="GPS") for _ in range(2)][1]
    reader.close()
    assert utc[1] == round(second._timestamp * 1e6)  # DFReader's clock agrees
    # GPS week 2300, 300 000.2 s into it: 2024-02-07 11:20:00.2 GPS = 11:19:42.2 UTC.
    assert utc[1] == (315_964_800 + 2300 * 604_800 + 300_000 - 18) * 1_000_000 + 200_000
    assert gps_utc_us(np.array([0]), np.array([5]))[0] == 0


def test_cut_at_every_byte_yields_a_prefix() -> None:
    data = build_log()
    spans = record_spans(data)
    for cut in range(len(data) + 1):
        log = parse(data[:cut])
        done = [e for _, e in spans if e <= cut]
        assert sum(log.counts.records.values()) == len(done)
        assert log.counts.bad_data_bytes == 0 and log.counts.bytes == cut
        assert log.counts.truncated_tail_bytes == cut - max(done or [0])


@settings(max_examples=80, deadline=None)
@given(
    garbage=st.binary(min_size=1, max_size=300),
    where=st.integers(12, 60),
    chunk=st.integers(1, 400),
)
def test_garbage_between_records_is_skipped_and_counted(
    garbage: bytes, where: int, chunk: int
) -> None:
    data = build_log()
    spans = record_spans(data)
    at = spans[where % len(spans)][0]
    clean, log = parse(data), parse(data[:at] + garbage + data[at:], chunk_bytes=chunk)
    if b"\xa3\x95" in garbage + data[at : at + 2] or garbage.endswith(b"\xa3"):
        # DataFlash has no checksum: a header inside the garbage is believed.
        assert log.counts.bytes == len(data) + len(garbage)
        return
    assert log.counts.bad_data_bytes == len(garbage)
    assert log.counts.records == clean.counts.records
    assert log.counts.problems[0].where.endswith(f"byte {at}")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000), chunk=st.integers(1, 500), prefix=st.booleans())
def test_random_bytes_never_raise(data: bytes, chunk: int, prefix: bool) -> None:
    if prefix:  # behind real FMT records, so that headers mean something
        data = build_log()[:1000] + data
    whole = parse(data)
    assert_same(whole, parse(data, chunk_bytes=chunk))
    assert whole.counts.bytes == len(data)


def test_small_chunks_give_identical_results() -> None:
    data = build_log() + b"\x00" * 7 + build_log()[89:]
    whole = parse(data)
    for chunk in (1, 3, 50, 89, 1000):
        assert_same(whole, parse(data, chunk_bytes=chunk))


def test_undefined_types_and_broken_formats() -> None:
    data = build_log()
    # X is no format character; the length still lets the reader step over its records.
    broken = b"\xa3\x95\x80" + struct.pack("<BB4s16s64s", 140, 12, b"BAD", b"QX", b"TimeUS,Thing")
    extra = broken + b"\xa3\x95\x8c" + bytes(9) + b"\xa3\x95\x99zzzz" + record(134, "QBB", 9, 1, 1)
    log = parse(data + extra, types=[*ALL_TYPES, "BAD"])
    assert log.counts.records["BAD"] == 1 and "BAD" not in log.messages
    assert log.counts.undecodable == ("BAD",)
    assert log.counts.bad_data_bytes == 7  # type 0x99 is defined nowhere
    assert len(log.messages["ERR"]) == 2


def test_a_type_redefined_midway_continues_under_a_new_name() -> None:
    data = build_log() + fmt_record(134, "ERR", "QBBB", "TimeUS,Subsys,ECode,Extra")
    data += record(134, "QBBB", 99, 3, 4, 5)
    log = parse(data)
    assert len(log.messages["ERR"]) == 1 and log.messages["ERR.2"]["Extra"].tolist() == [5]


def test_inspect_a_dataflash_log_named_tlog(tmp_path: Path) -> None:
    path = tmp_path / "not_really.tlog"
    path.write_bytes(build_log() + b"\xa3\x95\x81\x00")
    assert telemetry_kind(path.read_bytes()) == "dataflash"
    s = inspect_telemetry(path)
    assert s["kind"] == "dataflash" and s["crc_errors"] is None
    assert s["messages"]["GPS"] == 6 and s["truncated_tail_bytes"] == 4
    assert s["error_values"]["GPS"] == 1 and s["error_values"]["MNT"] == 6  # no fix; NaN
    assert s["err_records"] == {"16.2": 1}
    # The ERR record at TimeUS 8 us, 10.2 s before a GPS fix at 11:19:42.2 UTC.
    assert s["time"]["first_utc"] == "2024-02-07T11:19:32.000+00:00"
    assert s["time"]["span_s"] == pytest.approx(11.0 - 8e-6)
    assert s["position"]["GPS"]["n"] == 5 and s["position"]["CAM"]["alt_max_m"] == 152.75
    assert s["camera"]["image_events"] == 1 and s["camera"]["gimbal"] == {"MNT": 6}
    geo = s["camera"]["geometry_available"]
    assert geo == {"position": True, "attitude": True, "gimbal": False, "lens": False,
                   "image_events": True}  # fmt: skip


def test_streaming_batches_add_up(made: Path) -> None:
    batches = list(read_dataflash(made, chunk_bytes=300))
    assert len(batches) > 3
    total = sum((b.counts.records["GPS"] for b in batches if "GPS" in b.counts.records), 0)
    assert total == 6


# --- real logs ----------------------------------------------------------------------------


@pytest.fixture(params=["ardusub_small.BIN", "pymavlink_test.BIN"])
def real(request: pytest.FixtureRequest, samples_dir: Path) -> Path:
    path: Path = samples_dir / "mavlink" / request.param
    if not path.is_file():
        pytest.skip(f"real sample {path} not found")
    return path


@pytest.mark.samples
def test_real_logs_equal_dfreader(real: Path) -> None:
    log = load_dataflash(real)
    counts, _ = dfreader(real)
    assert dict(log.counts.records) == dict(counts)
    assert log.counts.bad_data_bytes == 0 and log.counts.bytes == real.stat().st_size
    for name in ("GPS", "ATT", "POS", "AHR2"):
        if counts[name]:
            assert_values_equal(log, real, name)
    assert len(log.messages.get("GPS", ())) == counts["GPS"]
    assert len(log.messages["ATT"]) == counts["ATT"] > 0
    if real.name == "pymavlink_test.BIN":  # cut at 64 KiB inside a record
        assert log.counts.truncated_tail_bytes == 24 and counts["GPS"] == 5
    assert_same(log, load_dataflash(real, chunk_bytes=1001))
