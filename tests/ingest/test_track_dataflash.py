"""Tracks from DataFlash logs made here (tests/ingest/test_dataflash.py's records) and cut."""

from __future__ import annotations

import io

import numpy as np
import pytest

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.track import GIMBAL_BODY, GIMBAL_EARTH, GIMBAL_HORIZON, Track, read_track
from ceasewatch.ingest.track_dataflash import dataflash_track
from tests.ingest.test_dataflash import TYPES, build_log, fmt_record, record, record_spans

# UTC of GPS week 2300, 300 000 s (the made log's first GPS record), leap seconds applied.
BASE_US = (315_964_800 + 2300 * 604_800 + 300_000 - 18) * 1_000_000


def read(data: bytes, chunk_bytes: int = 1 << 20) -> Track:
    return dataflash_track(io.BytesIO(data), "made.bin", chunk_bytes=chunk_bytes)


def head(*type_ids: int) -> bytes:
    out = [fmt_record(128, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns")]
    return b"".join(out + [fmt_record(t, *TYPES[t]) for t in type_ids])


def gps(k: int, week: int = 2300, status: int = 3) -> bytes:
    return record(129, "QBBIHBcLLeffffB", 10_000_000 + 200_000 * k, 0, status,
                  300_000_000 + 200 * k, week, 14, 71, 483_861_421 + k, -1_246_305_728, 15_230,
                  1.5, 271.25, -0.1, 0.0, 1)  # fmt: skip


def mnt(t: int, yaw_b: float) -> bytes:
    return record(132, "QBfffffffff", t, 0, 0.0, 0.5, -45.0, -44.5, 10.0, yaw_b, 280.0, 281.0,
                  float("nan"))  # fmt: skip


def test_pos_positions_with_utc_from_gps_time() -> None:
    track = read_track(io.BytesIO(build_log()), name="made.bin")
    assert track.report.format == "dataflash" and len(track) == 6
    k = np.arange(6)
    np.testing.assert_array_equal(track.t_us, BASE_US + 200_000 * k + 2)
    assert track.lat_deg.tolist() == [48.38614] * 6 and track.lon_deg.tolist() == [-124.63057] * 6
    np.testing.assert_allclose(track.alt_m, 152.5)
    # ATT: Roll -5.12, Pitch 12.34, Yaw 359.90 (centidegrees) on every record.
    np.testing.assert_allclose(track.yaw_deg, 359.9, atol=1e-9)
    np.testing.assert_allclose(track.pitch_deg, 12.34)
    np.testing.assert_allclose(track.roll_deg, -5.12)
    # MNT comes 1 us after each POS: the first POS has no mount sample before it.
    assert np.isnan(track.gimbal_pitch_deg[0]) and track.gimbal_frame[0] == GIMBAL_BODY
    np.testing.assert_allclose(track.gimbal_pitch_deg[1:], -44.5)
    np.testing.assert_allclose(track.gimbal_yaw_deg[1:], 10.5)
    assert set(track.gimbal_frame[1:].tolist()) == {GIMBAL_HORIZON}
    assert np.isnan(track.hfov_deg).all()
    assert track.report.counts == {"no_gimbal": 1}


def test_gps_when_there_is_no_pos_and_earth_frame_yaw() -> None:
    data = (
        head(129, 132)
        + gps(0, status=1)
        + b"".join(gps(k) + mnt(10_000_000 + 200_000 * k - 5, float("nan")) for k in range(1, 4))
    )
    track = read(data)
    assert len(track) == 3 and track.report.counts["no_fix"] == 1
    np.testing.assert_array_equal(track.t_us, BASE_US + 200_000 * np.arange(1, 4))
    assert track.lat_deg.tolist() == [(483_861_421 + k) / 1e7 for k in range(1, 4)]
    assert set(track.gimbal_frame.tolist()) == {GIMBAL_EARTH}
    np.testing.assert_allclose(track.gimbal_yaw_deg, 281.0)


def test_same_track_whatever_the_chunk_size() -> None:
    data = build_log()
    whole = read(data)
    for chunk in (5, 89, 500):
        part = read(data, chunk_bytes=chunk)
        for name in ("t_us", "lat_deg", "yaw_deg", "gimbal_pitch_deg", "gimbal_frame"):
            np.testing.assert_array_equal(getattr(part, name), getattr(whole, name), name)


def test_no_gps_time_is_an_error() -> None:
    data = head(129, 131) + gps(0, week=0) + record(131, "QLLfff", 10_000_002, 1, 1, 5.0, 0, 0)
    with pytest.raises(InvalidInput, match="cannot be placed in UTC"):
        read(data)


def test_no_position_is_an_error() -> None:
    data = head(130) + record(130, "QccccCCCCB", 5, 10, -512, 20, 1234, 35_000, 35_990, 5, 7, 1)
    with pytest.raises(InvalidInput, match="no POS or GPS record with a position"):
        read(data)


def test_time_going_backwards_is_dropped_and_counted() -> None:
    back = record(131, "QLLfff", 10_000_000, 483_861_400, -1_246_305_700, 152.5, 0.0, 0.0)
    track = read(build_log() + back)
    assert len(track) == 6 and track.report.counts["time_backwards"] == 1


def test_truncated_log_yields_what_it_holds() -> None:
    data = build_log()
    spans = record_spans(data)
    pos_ends = [e for s, e in spans if data[s + 2] == 131]
    for cut in range(0, len(data) + 1, 5):
        held = sum(e <= cut for e in pos_ends)
        if not held:
            with pytest.raises(InvalidInput, match="no usable sample"):
                read(data[:cut])
            continue
        track = read(data[:cut])
        assert len(track) == held
        if cut not in {e for _, e in spans}:
            assert track.report.counts["truncated_tail_bytes"] > 0


def test_garbage_inside_is_counted() -> None:
    data = build_log()
    at = record_spans(data)[20][0]
    track = read(data[:at] + b"\x00\x01garbage" + data[at:])
    assert len(track) == 6 and track.report.counts["bad_data_bytes"] == 9
