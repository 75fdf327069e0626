"""Tracks from tlogs that pymavlink encodes: values, alignment, gimbal frames, damage."""

from __future__ import annotations

import io
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mav2

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.track import GIMBAL_BODY, GIMBAL_EARTH, GIMBAL_HORIZON, Track, read_track
from ceasewatch.ingest.track_mavlink import tlog_track
from tests.ingest.test_mavlink import record_spans

T0_US = 1_764_150_000_000_000  # 2025-11-26T09:40:00Z
DEG = math.pi / 180


def frames(*msgs: tuple[int, Any], sysid: int = 1, compid: int = 1) -> bytes:
    """tlog records: (receive time, pymavlink message) each."""
    mav = mav2.MAVLink(None, srcSystem=sysid, srcComponent=compid)
    return b"".join(struct.pack(">Q", t) + m.pack(mav) for t, m in msgs)


def gpi(i: int, lat: int = 400_000_000, lon: int = 465_000_000, alt: int = 612_500) -> Any:
    return mav2.MAVLink_global_position_int_message(
        1000 + i, lat + 100 * i, lon + 50 * i, alt + i, 150_000, 0, 0, 0, 0xFFFF
    )


def attitude(k: int) -> Any:
    """Yaw 355 + k degrees (so it wraps past north), pitch -2 + 0.1 k, roll 3."""
    yaw = ((355.0 + k + 180) % 360 - 180) * DEG
    return mav2.MAVLink_attitude_message(1000 + k, 3 * DEG, (-2 + 0.1 * k) * DEG, yaw, 0, 0, 0)


def mount(k: int) -> Any:
    return mav2.MAVLink_mount_orientation_message(1000 + k, 0.5, -45.0 - k, 10.0 + k, 0.0)


def lens() -> Any:
    return mav2.MAVLink_camera_information_message(
        900, list(b"Acme".ljust(32, b"\0")), list(b"EO".ljust(32, b"\0")), 1, 35.0, 35.7, 23.8,
        1920, 1080, 0, 0, 0, b"", 154, 0,
    )  # fmt: skip


def flight(n: int = 10) -> bytes:
    """n positions at 10 Hz (5 ms after each 100 ms), attitude at 20 Hz, mount at 2 Hz."""
    msgs: list[tuple[int, Any]] = [(T0_US - 1000, lens())]
    for k in range(2 * n + 2):
        msgs.append((T0_US + 50_000 * k, attitude(k)))
        if k % 10 == 0:
            msgs.append((T0_US + 50_000 * k + 1, mount(k // 10)))
        if k % 2 == 0 and k // 2 < n:
            msgs.append((T0_US + 50_000 * k + 5_000, gpi(k // 2)))
    return frames(*sorted(msgs, key=lambda m: m[0]))


def read(data: bytes, chunk_bytes: int = 1 << 20) -> Track:
    return tlog_track(io.BytesIO(data), "t.tlog", chunk_bytes=chunk_bytes)


def test_positions_are_the_messages_values() -> None:
    track = read_track(io.BytesIO(flight()), name="flight.tlog")
    assert track.report.format == "tlog" and len(track) == 10
    assert track.report.source == "flight.tlog"
    i = np.arange(10)
    np.testing.assert_array_equal(track.t_us, T0_US + 100_000 * i + 5_000)
    np.testing.assert_array_equal(track.lat_deg, (400_000_000 + 100 * i) / 1e7)
    np.testing.assert_array_equal(track.lon_deg, (465_000_000 + 50 * i) / 1e7)
    np.testing.assert_array_equal(track.alt_m, (612_500 + i) / 1e3)  # MSL, not relative_alt


def test_attitude_is_interpolated_to_each_position_the_short_way_round() -> None:
    track = read(flight())
    # Position i is 10% of the way from attitude 2i to 2i + 1: yaw 355 + 2i + 0.1.
    want_yaw = (355.0 + 2 * np.arange(10) + 0.1) % 360
    np.testing.assert_allclose(track.yaw_deg, want_yaw, atol=1e-4)
    assert track.yaw_deg[2] == pytest.approx(359.1, abs=1e-4)
    assert track.yaw_deg[3] == pytest.approx(1.1, abs=1e-4)  # 0.1 past 361 - 360, not 180
    np.testing.assert_allclose(track.pitch_deg, -2 + 0.1 * (2 * np.arange(10) + 0.1), atol=1e-4)
    np.testing.assert_allclose(track.roll_deg, 3.0, atol=1e-5)


def test_mount_orientation_is_a_horizon_frame_gimbal_and_lens_gives_the_fov() -> None:
    track = read(flight())
    assert set(track.gimbal_frame.tolist()) == {GIMBAL_HORIZON}
    # Mount samples at 0 ms (pitch -45) and 500 ms (-46): position 1 at 105 ms is 21% along.
    assert track.gimbal_pitch_deg[1] == pytest.approx(-45.21, abs=1e-4)
    assert track.gimbal_yaw_deg[0] == pytest.approx(10.0 + 0.01, abs=1e-4)
    assert track.hfov_deg[0] == pytest.approx(math.degrees(2 * math.atan(35.7 / 70)))
    assert track.vfov_deg[9] == pytest.approx(math.degrees(2 * math.atan(23.8 / 70)))
    assert track.report.counts == {}


def test_gimbal_device_flags_choose_the_frame() -> None:
    q = [math.cos(-math.pi / 8), 0.0, math.sin(-math.pi / 8), 0.0]  # pitch -45
    earth = mav2.MAVLink_gimbal_device_attitude_status_message(0, 0, 1, 64, q, 0, 0, 0, 0)
    vehicle = mav2.MAVLink_gimbal_device_attitude_status_message(0, 0, 2, 32, q, 0, 0, 0, 0)
    data = frames(
        (T0_US, earth), (T0_US + 10, gpi(0)), (T0_US + 6_000_000, vehicle),
        (T0_US + 6_000_010, gpi(1)), (T0_US + 12_000_010, gpi(2)),
        (T0_US + 12_000_020, mount(0)),
    )  # fmt: skip
    track = read(data)
    assert track.gimbal_frame.tolist() == [GIMBAL_EARTH, GIMBAL_HORIZON, GIMBAL_BODY]
    assert track.gimbal_pitch_deg[:2] == pytest.approx([-45.0, -45.0], abs=1e-4)
    # The third position's last gimbal sample is 6 s old: no gimbal (a mount message
    # after it does not count: it comes later than the position).
    assert math.isnan(track.gimbal_pitch_deg[2])
    assert track.report.counts["no_gimbal"] == 1 and track.report.counts["no_attitude"] == 3


def test_same_track_whatever_the_chunk_size() -> None:
    data = flight(30)
    whole = read(data)
    for chunk in (40, 333, 4096):
        part = read(data, chunk_bytes=chunk)
        for name in Track.__dataclass_fields__:
            if name != "report":
                np.testing.assert_array_equal(getattr(part, name), getattr(whole, name), name)
        assert part.report.counts == whole.report.counts


def test_time_going_backwards_is_dropped_and_counted() -> None:
    data = flight(5) + frames((T0_US + 200_000, gpi(99)), (T0_US + 900_000, gpi(6)))
    track = read(data)
    assert len(track) == 6 and track.report.counts["time_backwards"] == 1
    assert np.all(np.diff(track.t_us) > 0)
    assert any("backwards" in p.what for p in track.report.problems)


def test_crc_failure_is_counted_and_the_frame_left_out() -> None:
    data = bytearray(flight(5))
    at = bytes(data).find(frames((T0_US + 5_000, gpi(0)))[8:])
    data[at + 20] ^= 0x55  # a payload byte of the first position
    track = read(bytes(data))
    assert len(track) == 4 and track.report.counts["crc_errors"] == 1
    assert track.lat_deg[0] == (400_000_000 + 100) / 1e7
    assert any("fails its CRC" in p.what for p in track.report.problems)


def test_truncated_file_yields_the_positions_it_holds() -> None:
    data = flight(4)
    ends = [i + len(f) for i, f in _position_records(data)]
    boundaries = {end for _, end in record_spans(data)}
    for cut in range(0, len(data) + 1, 7):
        held = sum(e <= cut for e in ends)
        if held == 0:
            with pytest.raises(InvalidInput, match="no usable sample"):
                read(data[:cut])
            continue
        track = read(data[:cut])
        assert len(track) == held, cut
        if cut not in boundaries:
            assert track.report.counts.get("truncated_tail_bytes", 0) > 0


def _position_records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    for i in range(4):
        rec = frames((T0_US + 100_000 * i + 5_000, gpi(i)))
        out.append((data.find(rec), rec))
    return out


def test_gps_raw_int_when_there_is_no_global_position() -> None:
    gps = [
        mav2.MAVLink_gps_raw_int_message(0, 3 if k else 1, 400_000_000 + k, 465_000_000, 600_000,
                                         100, 100, 0, 0, 9)
        for k in range(3)
    ]  # fmt: skip
    track = read(frames(*((T0_US + 200_000 * k, g) for k, g in enumerate(gps))))
    assert len(track) == 2 and track.report.counts["no_fix"] == 1
    assert track.alt_m.tolist() == [600.0, 600.0]


def test_no_position_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="no GLOBAL_POSITION_INT or GPS_RAW_INT") as exc:
        read(frames(*((T0_US + 50_000 * k, attitude(k)) for k in range(5))))
    assert "no usable sample" in exc.value.diagnostics()
    with pytest.raises(InvalidInput, match=r"\(0, 0\)"):
        read(frames((T0_US, gpi(0, lat=0, lon=0))))


def test_the_vehicle_with_most_positions_wins() -> None:
    data = flight(5) + frames((T0_US + 10, gpi(0, lat=100_000_000)), sysid=2)
    track = read(data)
    assert len(track) == 5 and track.report.counts["other_system"] == 1
    assert track.lat_deg[0] == 40.0


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(max_size=600), where=st.integers(0, 2000))
def test_hostile_bytes_give_a_track_or_a_clear_error(junk: bytes, where: int) -> None:
    data = flight(6)
    at = where % len(data)
    try:
        track = read(data[:at] + junk + data[at:])
    except InvalidInput as exc:
        assert "no usable sample" in str(exc)
        return
    assert 1 <= len(track) <= 6 + len(junk) // 20
    assert np.all(np.diff(track.t_us) > 0)
