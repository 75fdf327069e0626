"""Tracks from MISB ST 0601 packets encoded here (tests/ingest/common.py) and the real ones."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.klv import iter_packets
from ceasewatch.ingest.track import GIMBAL_BODY, Track, read_track
from tests.ingest.common import item, packet, smap, t_item, umap

T0_US = 1_764_150_000_000_000


def sample(
    k: int,
    *,
    t: int | None = None,
    lat: float | None = 40.0,
    alt: bool = True,
    corners: bool = False,
) -> bytes:
    items = [] if t is None and k < 0 else [t_item(T0_US + 100_000 * k if t is None else t)]
    items += [
        item(5, umap(90.0 + k, 2, 0.0, 360.0)),  # heading
        item(90, smap(-3.0, 4, 90.0)),  # pitch (full range)
        item(7, smap(2.0, 2, 50.0)),  # roll
        item(14, smap(46.5 + k * 1e-4, 4, 180.0)),
        item(16, umap(30.0, 2, 0.0, 180.0)),
        item(17, umap(17.0, 2, 0.0, 180.0)),
        item(18, umap(10.0, 4, 0.0, 360.0)),  # sensor relative azimuth
        item(19, smap(-60.0, 4, 180.0)),  # relative elevation
        item(20, umap(0.0, 4, 0.0, 360.0)),
    ]
    if lat is not None:
        items.append(item(13, smap(lat, 4, 90.0)))
    else:
        items.append(item(13, b"\x80\x00\x00\x00"))  # the reserved "error" value
    if alt:
        items.append(item(15, umap(1500.0, 2, -900.0, 19000.0)))
    if corners:
        for c in range(4):
            items.append(item(82 + 2 * c, smap(40.01 + c * 0.001, 4, 90.0)))
            items.append(item(83 + 2 * c, smap(46.51 + c * 0.001, 4, 180.0)))
    return packet(items)


def read(data: bytes) -> Track:
    return read_track(io.BytesIO(data), name="s.klv")


def test_one_sample_per_packet_with_platform_sensor_and_fov() -> None:
    track = read(b"".join(sample(k) for k in range(5)))
    assert track.report.format == "klv" and len(track) == 5
    np.testing.assert_array_equal(track.t_us, T0_US + 100_000 * np.arange(5))
    np.testing.assert_allclose(track.lat_deg, 40.0, atol=1e-6)
    np.testing.assert_allclose(track.lon_deg, 46.5 + np.arange(5) * 1e-4, atol=1e-6)
    np.testing.assert_allclose(track.alt_m, 1500.0, atol=0.2)
    np.testing.assert_allclose(track.yaw_deg, 90.0 + np.arange(5), atol=0.01)
    np.testing.assert_allclose(track.pitch_deg, -3.0, atol=1e-6)
    np.testing.assert_allclose(track.roll_deg, 2.0, atol=1e-3)
    np.testing.assert_allclose(track.gimbal_pitch_deg, -60.0, atol=1e-6)
    np.testing.assert_allclose(track.gimbal_yaw_deg, 10.0, atol=1e-6)
    assert (track.gimbal_frame == GIMBAL_BODY).all()
    np.testing.assert_allclose(track.hfov_deg, 30.0, atol=0.01)
    assert track.corners_lat_deg is None and track.report.counts == {}


def test_corners_are_kept_where_given() -> None:
    track = read(sample(0) + sample(1, corners=True))
    assert track.corners_lat_deg is not None and track.corners_lon_deg is not None
    assert track.corners_lat_deg.shape == (2, 4) and np.isnan(track.corners_lat_deg[0]).all()
    np.testing.assert_allclose(track.corners_lat_deg[1], 40.01 + 0.001 * np.arange(4), atol=1e-6)
    np.testing.assert_allclose(track.corners_lon_deg[1], 46.51 + 0.001 * np.arange(4), atol=1e-6)


def test_error_values_missing_fields_and_checksums_are_counted() -> None:
    bad = bytearray(sample(3))
    bad[-1] ^= 0xFF
    data = sample(0) + sample(1, lat=None) + sample(2, alt=False) + bytes(bad) + sample(-1)
    track = read(data)
    c = track.report.counts
    assert len(track) == 2 and c["no_position"] == 1 and c["no_altitude"] == 1
    assert c["checksum_failures"] == 1 and c["no_time"] == 1 and c["error_values"] == 1
    assert np.isnan(track.alt_m[1])
    assert any(p.where.startswith("s.klv") for p in track.report.problems)


def test_time_going_backwards_is_dropped_and_counted() -> None:
    track = read(sample(0) + sample(5) + sample(2) + sample(6))
    assert track.t_us.tolist() == [T0_US, T0_US + 500_000, T0_US + 600_000]
    assert track.report.counts["time_backwards"] == 1


def test_truncated_stream_yields_the_whole_packets() -> None:
    data = b"".join(sample(k) for k in range(3))
    size = len(sample(0))
    for cut in range(size, len(data) + 1, 11):
        track = read(data[:cut])
        assert len(track) == cut // size
        c = track.report.counts
        if cut % size >= 16:  # the key is whole: a packet cut off
            assert c["truncated_packets"] == 1
        elif cut % size:  # part of a key: bytes outside any packet
            assert c["bad_bytes"] == cut % size
    with pytest.raises(InvalidInput, match="no usable sample"):
        read(data[: size - 1])


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(max_size=300), where=st.integers(0, 400))
def test_hostile_bytes_give_a_track_or_a_clear_error(junk: bytes, where: int) -> None:
    data = b"".join(sample(k) for k in range(4))
    at = where % len(data)
    try:
        track = read(data[:at] + junk + data[at:])
    except InvalidInput as exc:
        assert "no usable sample" in str(exc) or "not a telemetry file" in str(exc)
        return
    assert 1 <= len(track) <= 4 and np.all(np.diff(track.t_us) > 0)


def test_real_misb_packets(samples_dir: Path) -> None:
    path = samples_dir / "klv" / "klvdata_DynamicOnlyMISMMSPacketData.bin"
    (p,) = list(iter_packets(path))
    track = read_track(path)
    assert len(track) == 1 and track.t_us[0] == p.t_us == 1_231_798_102_000_000
    assert track.lat_deg[0] == p.sensor_lat_deg and track.alt_m[0] == p.sensor_true_alt_m
    assert track.yaw_deg[0] == p.platform_heading_deg
    assert track.gimbal_pitch_deg[0] == p.sensor_rel_elevation_deg
    bad = samples_dir / "klv" / "klvdata_DynamicConstantMISMMSPacketData.bin"
    with pytest.raises(InvalidInput, match="checksum_failures 1"):
        read_track(bad)
