"""The tlog reader on frames pymavlink encodes (MAVLink 1, 2, signed) and on hostile input."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from pymavlink.dialects.v10 import ardupilotmega as mav1
from pymavlink.dialects.v20 import ardupilotmega as mav2

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest import inspect_telemetry, telemetry_kind
from ceasewatch.ingest._mavlink_defs import BY_NAME
from ceasewatch.ingest.mavlink import Tlog, TlogCounts, load_tlog, read_tlog

T0_US = 1_714_000_000_000_000  # 2024-04-24, microseconds since 1970


def _common(mav: Any) -> list[Any]:
    """Messages both protocol versions carry, trailing zeros included (MAVLink 2 trims)."""
    return [
        mav.heartbeat_encode(2, 3, 81, 4, 4),
        mav.global_position_int_encode(123_456, 483_861_421, -1_246_305_728, 152_300, 20_500,
                                       -12, 340, 0, 0xFFFF),
        mav.global_position_int_encode(123_556, -350_000_001, 1_491_653_034, -2_000, 0, 0, 0,
                                       0, 0),
        mav.gps_raw_int_encode(1_714_000_000_123_456, 3, 483_861_418, -1_246_305_732, 151_000,
                               121, 0xFFFF, 1234, 27_000, 11),
        mav.attitude_encode(123_456, 0.1, -0.25, 3.0, 0.01, -0.02, 0.5),
        mav.attitude_encode(123_500, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        mav.mount_status_encode(1, 154, -4500, 150, 18_000),
        mav.camera_feedback_encode(1_714_000_000_500_000, 1, 0, 7, 483_861_400,
                                   -1_246_305_700, 152.5, 20.25, 1.5, -45.0, 271.0, 24.0, 0),
    ]  # fmt: skip


def _v2_only(mav: Any) -> list[Any]:
    return [
        mav.gps_raw_int_encode(1_714_000_000_223_456, 4, 483_861_419, -1_246_305_731, 151_100,
                               95, 150, 1300, 0xFFFF, 14, 187_000, 850, 1200, 300, 250_000,
                               9000),
        mav.mount_orientation_encode(123_600, 1.5, -30.0, 12.25, 95.5),
        mav.mount_orientation_encode(123_700, 0.0, -90.0, 0.0),  # no yaw_absolute
        mav.gimbal_device_attitude_status_encode(1, 1, 123_800, 4 | 8 | 64,
                                                 [0.9238795, 0.0, -0.3826834, 0.0],
                                                 0.0, 0.1, float("nan"), 0, 0.5, 0.0, 154),
        mav.gimbal_device_attitude_status_encode(1, 1, 123_900, 16, [0.0, 0.0, 0.0, 0.0],
                                                 0.0, 0.0, 0.0, 0),
        mav.camera_information_encode(123_000, list(b"Sony".ljust(32, b"\0")),
                                      list(b"ILX-LR1".ljust(32, b"\0")), 0x01020304, 35.0,
                                      35.7, 23.8, 9504, 6336, 0, 0x20, 2,
                                      b"http://10.0.0.2/cam.xml", 154, 0),
        mav.camera_feedback_encode(1_714_000_000_600_000, 1, 0, 8, 483_861_410,
                                   -1_246_305_710, 152.75, 20.5, 0.5, -44.0, 270.0, 24.0, 1,
                                   8),
    ]  # fmt: skip


def build_tlog(version: int = 2, *, signed: bool = False) -> tuple[bytes, list[Any]]:
    """A small tlog, and the pymavlink messages in it, in order."""
    if version == 1:
        mav: Any = mav1.MAVLink(None, srcSystem=1, srcComponent=1)
        msgs = _common(mav)
    else:
        mav = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
        if signed:
            mav.signing.secret_key = bytes(range(32))
            mav.signing.link_id = 1
            mav.signing.timestamp = 1
            mav.signing.sign_outgoing = True
        msgs = _common(mav) + _v2_only(mav)
    out = bytearray()
    decoded = []  # as pymavlink reads them back: the reference for every value
    reader = (mav1 if version == 1 else mav2).MAVLink(None)
    for i, msg in enumerate(msgs):
        frame = msg.pack(mav)
        decoded.append(reader.decode(bytearray(frame)))
        out += struct.pack(">Q", T0_US + 20_000 * i) + frame
    return bytes(out), decoded


def record_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each record of a clean tlog, by its headers."""
    spans, pos = [], 0
    while pos < len(data):
        magic, length = data[pos + 8], data[pos + 9]
        if magic == 0xFD:
            end = pos + 20 + length + (13 if data[pos + 10] & 1 else 0)
        else:
            end = pos + 16 + length
        spans.append((pos, end))
        pos = end
    return spans


def parse(data: bytes, chunk_bytes: int = 1 << 20) -> Tlog:
    return load_tlog(io.BytesIO(data), chunk_bytes=chunk_bytes)


def offsets(log: Tlog) -> list[int]:
    return sorted(int(o) for a in log.messages.values() for o in a["file_offset"])


def same_rows(a: NDArray[np.void], b: NDArray[np.void]) -> bool:
    """Equal, NaN included (the same computation gives the same NaN bits)."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_same(a: Tlog, b: Tlog) -> None:
    assert a.counts == b.counts
    assert a.messages.keys() == b.messages.keys()
    for name in a.messages:
        assert same_rows(a.messages[name], b.messages[name]), name


def expected(msg: Any, name: str, column: str) -> Any:
    """pymavlink's value of one of our columns, scaled the way we scale it."""
    if column in ("roll_deg", "pitch_deg", "yaw_deg") and name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        return None  # derived; checked on its own
    if column in ("yaw_in_earth_frame",):
        return None
    if name == "GIMBAL_DEVICE_ATTITUDE_STATUS" and column.startswith("q_"):
        return msg.q["wxyz".index(column[2])]
    spec = next(f for f in BY_NAME[name].fields if f.out == column)
    raw: Any = getattr(msg, spec.raw, 0)  # MAVLink 1 has no extension fields: zero
    if isinstance(raw, list):  # uint8[32] names
        raw = bytes(raw).rstrip(b"\0")
    if isinstance(raw, str):  # char[] strings
        raw = raw.encode()
    if spec.div:
        return float("nan") if raw in spec.invalid else raw / spec.div
    return raw


def check_decoded(log: Tlog, msgs: list[Any]) -> None:
    """Every decoded row equals pymavlink's message, field by field."""
    by_type: dict[str, list[Any]] = {}
    for m in msgs:
        by_type.setdefault(m.get_type(), []).append(m)
    for name, arr in log.messages.items():
        assert len(arr) == len(by_type[name]), name
        for row, msg in zip(arr, by_type[name], strict=True):
            assert row["sysid"] == msg.get_srcSystem()
            assert row["compid"] == msg.get_srcComponent()
            for column in arr.dtype.names or ():
                if column in ("file_offset", "t_us", "sysid", "compid"):
                    continue
                want = expected(msg, name, column)
                if want is None:
                    continue
                got = row[column].item()
                if isinstance(want, float) and np.isnan(want):
                    assert np.isnan(got), (name, column)
                elif isinstance(got, float):
                    assert got == pytest.approx(want, rel=0, abs=0) or got == np.float32(want)
                else:
                    assert got == want, (name, column, got, want)


@pytest.mark.parametrize(("version", "signed"), [(1, False), (2, False), (2, True)])
def test_decodes_what_pymavlink_encodes(version: int, signed: bool) -> None:
    data, msgs = build_tlog(version, signed=signed)
    log = parse(data)
    check_decoded(log, msgs)
    c = log.counts
    assert c.total_frames == len(msgs) and not c.crc_errors and not c.unknown_ids
    assert (c.mavlink1, c.mavlink2) == ((len(msgs), 0) if version == 1 else (0, len(msgs)))
    assert c.signed == (len(msgs) if signed else 0)
    assert c.bad_data_bytes == c.truncated_tail_bytes == 0 and c.bytes == len(data)
    assert c.t_min_us == T0_US and c.t_max_us == T0_US + 20_000 * (len(msgs) - 1)
    spans = record_spans(data)
    assert offsets(log) == [s for (s, _), m in zip(spans, msgs, strict=True)
                            if m.get_type() != "HEARTBEAT"]  # fmt: skip


def test_units_and_unknown_values() -> None:
    log = parse(build_tlog(2)[0])
    gpi = log.messages["GLOBAL_POSITION_INT"]
    assert gpi["lat_deg"][0] == 48.3861421 and gpi["lon_deg"][0] == -124.6305728
    assert gpi["alt_m"][0] == 152.3 and np.isnan(gpi["hdg_deg"][0]) and gpi["hdg_deg"][1] == 0
    gps = log.messages["GPS_RAW_INT"]
    assert np.isnan(gps["vdop"][0]) and np.isnan(gps["yaw_deg"][0]) and gps["yaw_deg"][1] == 90
    mount = log.messages["MOUNT_ORIENTATION"]
    assert mount["yaw_absolute_deg"].tolist() == [95.5, 0.0]
    gimbal = log.messages["GIMBAL_DEVICE_ATTITUDE_STATUS"]
    assert gimbal["pitch_deg"][0] == pytest.approx(-45.0, abs=1e-4)
    assert gimbal["roll_deg"][0] == pytest.approx(0.0, abs=1e-4)
    assert gimbal["yaw_in_earth_frame"].tolist() == [True, True]  # flag 64; old YAW_LOCK
    assert np.isnan(gimbal["yaw_deg"][1])  # a zero quaternion is no rotation
    cam = log.messages["CAMERA_INFORMATION"][0]
    assert (cam["vendor_name"], cam["model_name"]) == (b"Sony", b"ILX-LR1")
    assert cam["focal_length_mm"] == 35.0 and cam["resolution_h_px"] == 9504
    mount_status = log.messages["MOUNT_STATUS"][0]
    assert (mount_status["pitch_deg"], mount_status["yaw_deg"]) == (-45.0, 180.0)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.integers(-900_000_000, 900_000_000),
    lon=st.integers(-1_800_000_000, 1_800_000_000),
    alt=st.integers(-(2**31), 2**31 - 1),
    v=st.lists(st.integers(-(2**15), 2**15 - 1), min_size=3, max_size=3),
    hdg=st.integers(0, 0xFFFF),
    angles=st.lists(st.floats(width=32, allow_nan=False), min_size=6, max_size=6),
    version=st.sampled_from([1, 2]),
)
def test_round_trip(
    lat: int, lon: int, alt: int, v: list[int], hdg: int, *, angles: list[float], version: int
) -> None:
    mav: Any = (mav1 if version == 1 else mav2).MAVLink(None, 7, 9)
    msgs = [
        mav.global_position_int_encode(5, lat, lon, alt, -alt // 2, *v, hdg),
        mav.attitude_encode(6, *angles),
    ]
    frames = [m.pack(mav) for m in msgs]
    data = b"".join(struct.pack(">Q", T0_US) + f for f in frames)
    check_decoded(parse(data), [mav.decode(bytearray(f)) for f in frames])


def test_cut_at_every_byte_yields_a_prefix() -> None:
    data, _ = build_tlog(2)
    whole = parse(data)
    spans = record_spans(data)
    for cut in range(len(data) + 1):
        log = parse(data[:cut])
        complete = {s for s, e in spans if e <= cut}
        assert set(offsets(log)) == complete & set(offsets(whole))
        c = log.counts
        assert c.bad_data_bytes == 0 and not c.crc_errors
        assert c.truncated_tail_bytes == cut - max([e for _, e in spans if e <= cut] or [0])
        assert c.bytes == cut


@settings(max_examples=100, deadline=None)
@given(
    garbage=st.binary(min_size=1, max_size=400), where=st.integers(0, 15), chunk=st.integers(1, 500)
)
def test_garbage_between_records_is_skipped_and_counted(
    garbage: bytes, where: int, chunk: int
) -> None:
    data, _ = build_tlog(2)
    spans = record_spans(data)
    at = spans[where % len(spans)][0]
    dirty = data[:at] + garbage + data[at:]
    clean, log = parse(data), parse(dirty, chunk_bytes=chunk)
    assert log.counts.bad_data_bytes == len(garbage)
    assert log.counts.frames == clean.counts.frames and not log.counts.crc_errors
    for name, arr in clean.messages.items():
        got = log.messages[name].copy()
        got["file_offset"] -= np.where(got["file_offset"] > at, len(garbage), 0)
        assert same_rows(got, arr), name
    assert log.counts.problems[0].where.endswith(f"byte {at}")


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes((data[i] ^ 0xFF,)) + data[i + 1 :]


@pytest.mark.parametrize("version", [1, 2])
def test_a_flipped_byte_is_one_crc_error(version: int) -> None:
    data, _ = build_tlog(version, signed=False)
    spans = record_spans(data)
    clean = parse(data)
    k = 1  # the first GLOBAL_POSITION_INT
    start, end = spans[k]
    head = 10 if version == 2 else 6
    msgid_bytes = range(start + 8 + head - 3, start + 8 + head) if version == 2 else [start + 13]
    for i in range(start + 8, end):
        log = parse(_flip(data, i))
        c = log.counts
        others = set(offsets(clean)) - {start}
        if i in (start + 8, start + 9) or (version == 2 and i == start + 10):
            # magic, length, incompat flags: the record is lost; the others are intact.
            assert c.bad_data_bytes > 0 and not c.crc_errors, i
            claimed = start + 8 + (head + 2 + (data[i] ^ 0xFF) if i == start + 9 else 0)
            assert others - set(range(start, claimed + 1)) <= set(offsets(log)), i
        elif i in msgid_bytes:
            assert sum(c.crc_errors.values()) + sum(c.unknown_ids.values()) == 1, i
            assert set(offsets(log)) == others
        else:
            assert c.crc_errors == {"GLOBAL_POSITION_INT": 1}, i
            assert c.bad_data_bytes == 0 and set(offsets(log)) == others, i
            assert "fails its CRC" in c.problems[0].what
            assert c.problems[0].where.endswith(f"byte {start}")
    stamped = parse(_flip(data, start + 2))  # a timestamp is not covered by the CRC
    assert not stamped.counts.crc_errors and set(offsets(stamped)) == set(offsets(clean))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tlog"
    path.write_bytes(b"")
    assert list(read_tlog(path)) == []
    log = load_tlog(path)
    assert log.messages == {} and log.counts == TlogCounts()
    with pytest.raises(InvalidInput, match="empty"):
        inspect_telemetry(path)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(1, 700))
def test_random_bytes_never_raise_and_every_byte_is_accounted(data: bytes, chunk: int) -> None:
    whole, chunked = parse(data), parse(data, chunk_bytes=chunk)
    assert_same(whole, chunked)
    c = whole.counts
    framed = c.bytes - c.bad_data_bytes - c.truncated_tail_bytes
    assert c.bytes == len(data) and framed >= 0
    assert framed == 0 or c.total_frames > 0


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 10_000), max_size=8), chunk=st.integers(1, 300))
def test_damaged_file_gives_the_same_answer_in_any_chunks(cuts: list[int], chunk: int) -> None:
    data = bytearray(build_tlog(2)[0] * 2)
    for c in cuts:  # flip some bytes: damage of every kind
        data[c % len(data)] ^= 0x5A
    assert_same(parse(bytes(data)), parse(bytes(data), chunk_bytes=chunk))


def test_small_chunks_give_identical_results() -> None:
    data = build_tlog(2, signed=True)[0] + build_tlog(1)[0] + build_tlog(2)[0]
    whole = parse(data)
    for chunk in (1, 2, 7, 11, 64, 333):
        assert_same(whole, parse(data, chunk_bytes=chunk))


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + bytes(12) for _ in range(4)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_png_renamed_tlog_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flight.tlog"
    path.write_bytes(_png())
    with pytest.raises(InvalidInput, match="not a MAVLink telemetry log") as err:
        inspect_telemetry(path)
    assert str(path) in str(err.value) and "89 50 4e 47" in str(err.value)
    assert telemetry_kind(_png()) is None


def test_kind_is_sniffed_from_content_not_name(tmp_path: Path) -> None:
    data, _ = build_tlog(2)
    path = tmp_path / "named_like_dataflash.bin"
    path.write_bytes(data)
    summary = inspect_telemetry(path)
    assert summary["kind"] == "tlog" and summary["messages_total"] == 15
    assert telemetry_kind(b"garbage" + data) == "tlog"  # a few bytes before the frames
    assert telemetry_kind(b"\0" * 5000) is None


def test_inspect_summarises_a_tlog(tmp_path: Path) -> None:
    data, _ = build_tlog(2)
    path = tmp_path / "f.tlog"
    path.write_bytes(_flip(data, record_spans(data)[1][0] + 20) + b"\xfd\x10")
    s = inspect_telemetry(path)
    assert s["crc_errors"] == {"GLOBAL_POSITION_INT": 1}
    assert s["truncated_tail_bytes"] == 2 and s["bytes"] == len(data) + 2
    assert s["messages"]["ATTITUDE"] == 2 and s["messages_total"] == 15
    assert s["time"]["first_utc"].startswith("2024-04-24T23:06:40")
    assert s["time"]["span_s"] == pytest.approx(0.28)
    pos = s["position"]["GLOBAL_POSITION_INT"]
    assert pos["n"] == 1 and pos["lat_min_deg"] == -35.0000001  # the other one failed its CRC
    assert s["error_values"]["GIMBAL_DEVICE_ATTITUDE_STATUS"] == 1
    cam = s["camera"]
    assert cam["image_events"] == 2 and cam["gimbal"]["MOUNT_ORIENTATION"] == 2
    (lens,) = cam["lenses"]
    assert lens["model"] == "ILX-LR1" and lens["hfov_deg"] == pytest.approx(54.05, abs=0.01)
    assert all(cam["geometry_available"].values())
    assert len(s["problems"]) == 2


def _peak(run: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    data = build_tlog(2)[0] * 50  # ~46 kB
    small, large = tmp_path / "small.tlog", tmp_path / "large.tlog"
    small.write_bytes(data)
    large.write_bytes(data * 10)

    def drain(path: Path) -> Callable[[], None]:
        def run() -> None:
            batches: Iterator[Any] = read_tlog(path, chunk_bytes=16 << 10)
            total = sum(len(a) for b in batches for a in b.messages.values())
            assert total > 0

        return run

    assert _peak(drain(large)) < 1.5 * _peak(drain(small)) + 64_000


def _all_columns(a: NDArray[np.void]) -> list[str]:
    return list(a.dtype.names or ())


def test_only_the_asked_types_are_decoded() -> None:
    log = load_tlog(io.BytesIO(build_tlog(2)[0]), types=["ATTITUDE"])
    assert list(log.messages) == ["ATTITUDE"]
    assert _all_columns(log.messages["ATTITUDE"])[:4] == ["file_offset", "t_us", "sysid", "compid"]
    assert log.counts.frames["GLOBAL_POSITION_INT"] == 2  # still counted
    with pytest.raises(InvalidInput, match="cannot decode MAVLink message type"):
        load_tlog(io.BytesIO(b""), types=["ATTITUDE", "NOPE"])


def test_unreadable_path_says_where(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"missing\.tlog: cannot read"):
        load_tlog(tmp_path / "missing.tlog")


def test_the_package_exports_what_it_lists() -> None:
    from ceasewatch import ingest

    for name in ingest.__all__:
        assert hasattr(ingest, name), name
    assert {"read_tlog", "load_tlog", "read_dataflash", "inspect_telemetry"} <= set(ingest.__all__)
