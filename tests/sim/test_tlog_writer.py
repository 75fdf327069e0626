from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pymavlink import mavutil

from ceasewatch.geo.theater import Theater
from ceasewatch.ingest import inspect_telemetry, load_tlog
from ceasewatch.ingest.track import read_track
from ceasewatch.records import parse_time
from ceasewatch.sim import Flight, draw_sorties, fly, write_tlog
from ceasewatch.sim.flights import GIMBAL_HORIZON
from ceasewatch.sim.tlog_writer import GimbalMessage, lens

GIMBALS: tuple[GimbalMessage, ...] = ("MOUNT_ORIENTATION", "GIMBAL_DEVICE_ATTITUDE_STATUS")


@pytest.fixture(scope="module")
def flight(demo_theater: Theater) -> Flight:
    rng = np.random.Generator(np.random.PCG64(2))
    sorties = draw_sorties(demo_theater, parse_time("2026-11-26T00:00:00Z"), 6, rng)
    return fly(replace(sorties[0], budget_s=1500.0), demo_theater, 1.0)


@pytest.fixture(scope="module", params=GIMBALS)
def tlog(
    request: pytest.FixtureRequest,
    demo_theater: Theater,
    flight: Flight,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    gimbal: GimbalMessage = request.param
    path = tmp_path_factory.mktemp("tlog") / f"{gimbal}.tlog"
    return write_tlog(flight, demo_theater.cameras["eo-30"], path, sysid=3, gimbal=gimbal)


def _pymavlink_types(path: Path) -> Counter[str]:
    conn = mavutil.mavlink_connection(str(path))
    try:
        types: Counter[str] = Counter()
        while (msg := conn.recv_match()) is not None:
            types[msg.get_type()] += 1
            assert msg.get_srcSystem() == 3
        return types
    finally:
        conn.close()


def test_pymavlink_reads_every_frame_with_its_crc(tlog: Path) -> None:
    ours = load_tlog(tlog).counts
    theirs = _pymavlink_types(tlog)
    assert "BAD_DATA" not in theirs
    assert ours.crc_errors == {} and ours.unknown_ids == {}
    assert ours.bad_data_bytes == 0 and ours.truncated_tail_bytes == 0
    assert ours.bytes == tlog.stat().st_size
    assert ours.mavlink2 == sum(theirs.values()) and ours.mavlink1 == 0
    assert dict(ours.frames) == dict(theirs)  # both readers count the same frames
    gimbal = tlog.stem
    assert {"HEARTBEAT", "SYSTEM_TIME", "GPS_RAW_INT", "CAMERA_FEEDBACK", gimbal} <= set(theirs)


def test_positions_attitude_and_gimbal_decode_to_the_truth(tlog: Path, flight: Flight) -> None:
    log = load_tlog(tlog)
    pos = log.messages["GLOBAL_POSITION_INT"]
    assert np.array_equal(pos["t_us"], flight.t_us)  # the first frame of each sample
    assert np.allclose(pos["lat_deg"], flight.lat_deg, rtol=0, atol=0.6e-7)
    assert np.allclose(pos["lon_deg"], flight.lon_deg, rtol=0, atol=0.6e-7)
    assert np.allclose(pos["alt_m"], flight.alt_m, rtol=0, atol=0.6e-3)
    assert np.allclose(pos["hdg_deg"] % 360, flight.yaw_deg % 360, rtol=0, atol=0.006)
    gps = log.messages["GPS_RAW_INT"]
    assert len(gps) == len(flight) and np.allclose(gps["lat_deg"], flight.lat_deg, atol=1e-7)
    att = log.messages["ATTITUDE"]
    assert att["t_us"][0] < pos["t_us"][0]  # an attitude before the first position
    att = att[1:]
    assert np.allclose(np.degrees(att["roll_rad"]), flight.roll_deg, atol=1e-4)
    yaw = np.degrees(att["yaw_rad"]) % 360.0
    assert np.allclose((yaw - flight.yaw_deg + 180) % 360 - 180, 0.0, atol=1e-4)
    if tlog.stem == "MOUNT_ORIENTATION":
        g = log.messages["MOUNT_ORIENTATION"][1:]
        absolute = (flight.yaw_deg + flight.gimbal_yaw_deg) % 360
        assert np.allclose(g["yaw_absolute_deg"], absolute, atol=1e-4)
    else:
        g = log.messages["GIMBAL_DEVICE_ATTITUDE_STATUS"][1:]
        assert not g["yaw_in_earth_frame"].any()  # yaw relative to the vehicle: HORIZON
    assert np.allclose(g["pitch_deg"], flight.gimbal_pitch_deg, atol=1e-4)
    assert np.allclose(g["yaw_deg"], flight.gimbal_yaw_deg, atol=1e-4)
    assert np.allclose(g["roll_deg"], flight.gimbal_roll_deg, atol=1e-4)
    assert np.all(np.diff(log.messages["ATTITUDE"]["t_us"]) > 0)


def test_camera_information_gives_the_field_of_view(tlog: Path, demo_theater: Theater) -> None:
    camera = demo_theater.cameras["eo-30"]
    summary = inspect_telemetry(tlog)
    assert summary["kind"] == "tlog"
    assert all(summary["camera"]["geometry_available"].values())
    (only,) = summary["camera"]["lenses"]
    assert only["hfov_deg"] == pytest.approx(camera.hfov_deg, abs=1e-5)
    assert only["vfov_deg"] == pytest.approx(camera.vfov_deg, abs=1e-5)
    assert only["resolution_px"][0] == camera.image_width_px
    focal, sensor_h, _, _, _ = lens(camera)
    assert math.degrees(2 * math.atan(sensor_h / 2 / focal)) == pytest.approx(camera.hfov_deg)
    feedback = load_tlog(tlog).messages["CAMERA_FEEDBACK"]
    assert len(feedback) > 0 and np.all(np.diff(feedback["img_idx"]) == 1)


def test_same_flight_same_bytes(demo_theater: Theater, flight: Flight, tmp_path: Path) -> None:
    camera = demo_theater.cameras["eo-30"]
    a = write_tlog(flight, camera, tmp_path / "a.tlog").read_bytes()
    b = write_tlog(flight, camera, tmp_path / "b.tlog").read_bytes()
    assert a == b


def test_read_track_gives_the_true_camera_track(tlog: Path, flight: Flight) -> None:
    track = read_track(tlog)
    assert len(track) == len(flight) and track.report.counts == {}
    assert np.array_equal(track.t_us, flight.t_us)
    assert np.all(track.gimbal_frame == GIMBAL_HORIZON)
    assert np.allclose(track.lat_deg, flight.lat_deg, rtol=0, atol=0.6e-7)
    assert np.allclose(track.alt_m, flight.alt_m, rtol=0, atol=0.6e-3)
    assert np.allclose(track.gimbal_pitch_deg, flight.gimbal_pitch_deg, atol=1e-4)
    assert np.allclose(track.gimbal_yaw_deg, flight.gimbal_yaw_deg, atol=1e-4)
    assert np.allclose(track.hfov_deg, flight.hfov_deg, atol=1e-5)
    assert np.allclose(track.vfov_deg, flight.vfov_deg, atol=1e-5)
