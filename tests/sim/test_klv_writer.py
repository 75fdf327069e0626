from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from ceasewatch.analysis.footprint import Footprints, GimbalFrame, footprints
from ceasewatch.geo.theater import Theater
from ceasewatch.ingest import inspect_telemetry, iter_packets
from ceasewatch.ingest.klv import TAGS, KlvPacket, KlvStats
from ceasewatch.records import parse_time
from ceasewatch.sim import Flight, draw_sorties, fly, write_klv
from ceasewatch.sim.flights import GIMBAL_HORIZON
from ceasewatch.sim.klv_writer import TAG_SPECS, UAS_LS_KEY, encode_item, klv_packet
from ceasewatch.sim.klv_writer import packets as klv_packets

MAPPED = sorted(t for t, spec in TAG_SPECS.items() if spec[0] in ("umap", "smap"))


def _decode(data: bytes) -> KlvPacket:
    stats = KlvStats()
    (packet,) = iter_packets(io.BytesIO(data), stats=stats)
    assert packet.checksum_ok is True and stats.problems == []
    return packet


def _resolution(tag: int) -> float:
    spec = TAGS[tag]
    bits = 8 * spec.size
    if spec.kind == "umap":
        return (spec.hi - spec.lo) / ((1 << bits) - 1)
    return spec.hi / ((1 << (bits - 1)) - 1)


def test_the_encoder_speaks_the_decoders_mappings() -> None:
    assert UAS_LS_KEY.hex() == "060e2b34020b01010e01030101000000"
    for tag, (kind, size, lo, hi) in TAG_SPECS.items():
        spec = TAGS[tag]
        assert (spec.kind, spec.size if kind != "str" else 0) == (kind, size), tag
        if kind == "umap":
            assert (spec.lo, spec.hi) == (lo, hi), tag
        if kind == "smap":
            assert spec.hi == hi, tag


@settings(max_examples=60, deadline=None)
@given(tag=st.sampled_from(MAPPED), share=st.floats(0.0, 1.0))
def test_values_round_trip_within_half_a_step(tag: int, share: float) -> None:
    spec = TAGS[tag]
    lo = spec.lo if spec.kind == "umap" else -spec.hi
    value = lo + share * (spec.hi - lo)
    packet = _decode(klv_packet({2: 1_795_651_200_000_000, tag: value}))
    got = getattr(packet, spec.name)
    assert got is not None and tag not in packet.error_value_tags
    err = abs(got - value)
    if tag in (5, 18, 20):  # angles: 360 and 0 are one
        err = min(err, abs(err - 360.0))
    assert err <= _resolution(tag) / 2 * (1 + 1e-9)


def test_out_of_range_values_become_the_error_value() -> None:
    assert encode_item(13, 95.0) == bytes([13, 4, 0x80, 0, 0, 0])
    assert encode_item(26, -0.2) == bytes([26, 2, 0x80, 0])
    assert encode_item(23, float("nan")) == bytes([23, 4, 0x80, 0, 0, 0])
    assert encode_item(6, None) == bytes([6, 2, 0x80, 0])
    # Unsigned mappings have no error value: the item is left out; angles wrap.
    assert encode_item(15, 25_000.0) is None and encode_item(21, -1.0) is None
    assert encode_item(5, 370.0) == encode_item(5, 10.0)
    packet = _decode(klv_packet({2: 1, 13: 95.0, 14: 30.0, 15: -1000.0, 26: 0.5, 7: 10.0}))
    assert packet.sensor_lat_deg is None and packet.offset_corner1_lat_deg is None
    assert packet.error_value_tags == frozenset({13, 26})
    assert packet.sensor_true_alt_m is None and 15 not in packet.error_value_tags
    assert packet.sensor_lon_deg == pytest.approx(30.0, abs=1e-7)
    assert packet.platform_roll_deg == pytest.approx(10.0, abs=1e-3)
    with pytest.raises(ValueError, match="tag 2"):
        encode_item(2, -5)


@pytest.fixture(scope="module")
def flight(demo_theater: Theater) -> Flight:
    rng = np.random.Generator(np.random.PCG64(9))
    sorties = draw_sorties(demo_theater, parse_time("2026-11-26T00:00:00Z"), 6, rng)
    return fly(replace(sorties[-1], budget_s=2400.0), demo_theater, 0.5)


@pytest.fixture(scope="module")
def stream(flight: Flight, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_klv(flight, tmp_path_factory.mktemp("klv") / "flight.klv")


def test_every_packet_decodes_with_its_checksum(stream: Path, flight: Flight) -> None:
    stats = KlvStats()
    packets = list(iter_packets(stream, stats=stats))
    assert len(packets) == len(flight) == stats.packets
    assert stats.checksum_failures == stats.malformed == stats.bad_bytes == 0
    assert all(p.checksum_ok and p.ls_version == 17 for p in packets)
    assert {p.mission_id for p in packets} == {flight.sortie.id}
    assert [p.t_us for p in packets] == flight.t_us.tolist()
    summary = inspect_telemetry(stream)
    assert summary["kind"] == "klv" and summary["packets"] == len(flight)


def test_values_match_the_truth_within_the_resolution(stream: Path, flight: Flight) -> None:
    packets = list(iter_packets(stream))

    def col(name: str) -> NDArray[np.float64]:
        return np.array([getattr(p, name) for p in packets], dtype=float)

    for name, tag, truth in (
        ("sensor_lat_deg", 13, flight.lat_deg),
        ("sensor_lon_deg", 14, flight.lon_deg),
        ("sensor_true_alt_m", 15, flight.alt_m),
        ("platform_roll_deg", 7, flight.roll_deg),
        ("platform_pitch_deg", 6, flight.pitch_deg),
        ("sensor_hfov_deg", 16, flight.hfov_deg),
        ("sensor_vfov_deg", 17, flight.vfov_deg),
    ):
        assert np.all(np.abs(col(name) - truth) <= _resolution(tag) / 2 * 1.000001), name
    heading = (col("platform_heading_deg") - flight.yaw_deg + 180) % 360 - 180
    assert np.all(np.abs(heading) <= _resolution(5) / 2 * 1.000001)


def _footprints(
    theater: Theater,
    f: Flight,
    gimbal: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    frame: GimbalFrame,
) -> Footprints:
    return footprints(
        f.lat_deg,
        f.lon_deg,
        f.alt_m,
        yaw_deg=f.yaw_deg,
        pitch_deg=f.pitch_deg,
        roll_deg=f.roll_deg,
        gimbal_yaw_deg=gimbal[0],
        gimbal_pitch_deg=gimbal[1],
        gimbal_roll_deg=gimbal[2],
        hfov_deg=f.hfov_deg,
        vfov_deg=f.vfov_deg,
        frame=theater.frame,
        gimbal_frame=frame,
    )


def test_angles_and_corners_give_the_true_footprint(
    demo_theater: Theater, stream: Path, flight: Flight
) -> None:
    """Footprints from the KLV's relative angles (BODY) and corners equal the truth's."""
    packets = list(iter_packets(stream))
    truth = _footprints(
        demo_theater,
        flight,
        (flight.gimbal_yaw_deg, flight.gimbal_pitch_deg, flight.gimbal_roll_deg),
        GimbalFrame(GIMBAL_HORIZON),
    )
    rel = np.array(
        [
            [p.sensor_rel_azimuth_deg, p.sensor_rel_elevation_deg, p.sensor_rel_roll_deg]
            for p in packets
        ],
        dtype=float,
    )
    body = _footprints(demo_theater, flight, (rel[:, 0], rel[:, 1], rel[:, 2]), GimbalFrame.BODY)
    ok = truth.valid & ~truth.clipped & ~truth.reordered
    assert ok.sum() > 0.8 * len(flight)
    # Relative angles are 1e-7 degrees apart: their footprints agree to centimetres.
    assert np.allclose(body.corners_m[ok], truth.corners_m[ok], atol=0.05)
    corners = [p.corners_deg() for p in packets]
    got = np.array([c for c, k in zip(corners, ok, strict=True) if k], dtype=float)
    x, y = demo_theater.frame.to_local(got[:, :, 1].ravel(), got[:, :, 0].ravel())
    xy = np.stack([x, y], axis=-1).reshape(-1, 4, 2)
    # Corner offsets are 2.3e-6 degrees a step (0.25 m north, 0.2 m east at 40 N).
    assert np.abs(xy - truth.corners_m[ok]).max() < 0.5
    slant = np.array([p.slant_range_m for p in packets], dtype=float)
    assert np.allclose(slant[ok], truth.slant_m[ok], rtol=1e-3)


def test_a_ray_above_the_horizon_gives_error_values(demo_theater: Theater, flight: Flight) -> None:
    up = replace(flight, gimbal_pitch_deg=np.full(len(flight), 5.0))
    packets = list(iter_packets(io.BytesIO(b"".join(klv_packets(up)))))
    assert all({23, 24, 26, 33} <= p.error_value_tags for p in packets)
    assert all(p.slant_range_m is None and p.corners_deg() is None for p in packets)


def test_same_flight_same_bytes(flight: Flight, stream: Path, tmp_path: Path) -> None:
    assert write_klv(flight, tmp_path / "again.klv").read_bytes() == stream.read_bytes()
