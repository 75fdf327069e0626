"""Write a simulated flight as a QGroundControl telemetry log (`.tlog`).

A tlog is a run of records, each an 8-byte big-endian timestamp (UNIX microseconds, when
the ground station received the frame) followed by one MAVLink frame, as pymavlink's
`mavlogfile` and QGroundControl write them. The frames are MAVLink 2, packed by
pymavlink's own encoders (`sim._mavlink`), with the messages of common.xml and
ardupilotmega.xml a monitor's drone sends:

- per sample: GLOBAL_POSITION_INT, ATTITUDE, and the gimbal as MOUNT_ORIENTATION
  (ArduPilot: roll and pitch from the horizon, `yaw` relative to the vehicle) or
  GIMBAL_DEVICE_ATTITUDE_STATUS (gimbal v2, from the gimbal's own component, with the
  flags ROLL_LOCK | PITCH_LOCK | YAW_IN_VEHICLE_FRAME: the same HORIZON frame);
- once a second: HEARTBEAT and GPS_RAW_INT; every 10 s SYSTEM_TIME;
- from the camera component at the start and once a minute: CAMERA_INFORMATION, whose
  focal length and sensor size give the theater camera's field of view exactly
  (hfov = 2 atan(sensor_h / 2f), likewise vertically);
- CAMERA_FEEDBACK for an image every `image_every_s` while the drone is airborne.

The frames of one sample go out 100 µs apart, GLOBAL_POSITION_INT first at the sample's
own time, so the tlog's timestamps only ever increase. The log opens with one ATTITUDE and
gimbal frame just before the first position, as a log recorded from before takeoff would:
every position then has an attitude at or before it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from ceasewatch.geo.fleet import Camera
from ceasewatch.sim._mavlink import Encoder
from ceasewatch.sim.flights import Flight

__all__ = ["COMP_AUTOPILOT", "COMP_CAMERA", "COMP_GIMBAL", "GimbalMessage", "lens", "write_tlog"]

#: MAV_COMPONENT ids of the senders.
COMP_AUTOPILOT, COMP_CAMERA, COMP_GIMBAL = 1, 100, 154
#: Which gimbal message a drone sends.
GimbalMessage = Literal["MOUNT_ORIENTATION", "GIMBAL_DEVICE_ATTITUDE_STATUS"]

_BOOT_BEFORE_TAKEOFF_US = 600_000_000  # the autopilot booted 10 minutes before takeoff
_GAP_US = 100  # between the frames of one sample
_PIXEL_MM = 0.004  # sensor pitch assumed for the lens, when the image width is known
_DEFAULT_SENSOR_H_MM = 7.68
# HEARTBEAT of a fixed-wing ArduPilot in AUTO, armed (common.xml enums).
_MAV_TYPE_FIXED_WING, _MAV_AUTOPILOT_ARDUPILOTMEGA = 1, 3
_MODE_FLAGS = 128 | 1  # SAFETY_ARMED | CUSTOM_MODE_ENABLED
_PLANE_AUTO, _MAV_STATE_ACTIVE = 10, 4
_GIMBAL_FLAGS = 4 | 8 | 32  # ROLL_LOCK | PITCH_LOCK | YAW_IN_VEHICLE_FRAME
_CAMERA_CAPS = 1 | 2  # CAPTURE_VIDEO | CAPTURE_IMAGE


def lens(camera: Camera) -> tuple[float, float, float, int, int]:
    """(focal length, sensor width, sensor height in mm; width, height in px) of a camera.

    The sensor width is 4 µm x the image width (7.68 mm when unknown); the focal length
    and sensor height follow from the fields of view, so they give them back exactly.
    """
    width_px = camera.image_width_px or 0
    sensor_h = width_px * _PIXEL_MM if width_px else _DEFAULT_SENSOR_H_MM
    focal = sensor_h / (2.0 * math.tan(math.radians(camera.hfov_deg) / 2.0))
    sensor_v = 2.0 * focal * math.tan(math.radians(camera.vfov_deg) / 2.0)
    height_px = round(width_px * sensor_v / sensor_h) if width_px else 0
    return focal, sensor_h, sensor_v, width_px, height_px


def _padded(text: str, size: int) -> list[int]:
    raw = text.encode("utf-8")[:size]
    return list(raw) + [0] * (size - len(raw))


def _quaternion(roll_deg: float, pitch_deg: float, yaw_deg: float) -> list[float]:
    """w, x, y, z of the Z-Y-X rotation (yaw, then pitch, then roll)."""
    cr, sr = math.cos(math.radians(roll_deg) / 2), math.sin(math.radians(roll_deg) / 2)
    cp, sp = math.cos(math.radians(pitch_deg) / 2), math.sin(math.radians(pitch_deg) / 2)
    cy, sy = math.cos(math.radians(yaw_deg) / 2), math.sin(math.radians(yaw_deg) / 2)
    return [
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    ]


def _wrap_pi(rad: float) -> float:
    return (rad + math.pi) % (2 * math.pi) - math.pi


def _rates(flight: Flight) -> tuple[list[float], list[float], list[float]]:
    """Roll, pitch, yaw rates (rad/s) by backward differences (0 at the first sample)."""
    t = flight.t_us / 1e6
    out: list[list[float]] = []
    for a in (flight.roll_deg, flight.pitch_deg, flight.yaw_deg):
        d = np.diff(a, prepend=a[:1])
        d = np.mod(d + 180.0, 360.0) - 180.0
        dt = np.diff(t, prepend=t[:1] - 1.0)
        out.append([float(v) for v in d * (math.pi / 180.0) / dt])
    return out[0], out[1], out[2]


def _pose(
    enc: Encoder,
    flight: Flight,
    i: int,
    *,
    boot_ms: int,
    gimbal: GimbalMessage,
    rates: tuple[list[float], list[float], list[float]],
) -> list[bytes]:
    """The ATTITUDE and gimbal frames of sample i."""
    yaw = float(flight.yaw_deg[i])
    roll, pitch = float(flight.roll_deg[i]), float(flight.pitch_deg[i])
    g_roll, g_pitch = float(flight.gimbal_roll_deg[i]), float(flight.gimbal_pitch_deg[i])
    g_yaw = float(flight.gimbal_yaw_deg[i])
    p_rate, q_rate, r_rate = rates
    out: list[bytes] = []
    out.append(
        enc.frame(
            COMP_AUTOPILOT,
            "ATTITUDE",
            time_boot_ms=boot_ms,
            roll=math.radians(roll),
            pitch=math.radians(pitch),
            yaw=_wrap_pi(math.radians(yaw)),
            rollspeed=p_rate[i],
            pitchspeed=q_rate[i],
            yawspeed=r_rate[i],
        )
    )
    if gimbal == "MOUNT_ORIENTATION":
        out.append(
            enc.frame(
                COMP_AUTOPILOT,
                "MOUNT_ORIENTATION",
                time_boot_ms=boot_ms,
                roll=g_roll,
                pitch=g_pitch,
                yaw=g_yaw,
                yaw_absolute=(yaw + g_yaw) % 360.0,
            )
        )
    else:
        out.append(
            enc.frame(
                COMP_GIMBAL,
                "GIMBAL_DEVICE_ATTITUDE_STATUS",
                target_system=0,
                target_component=0,
                time_boot_ms=boot_ms,
                flags=_GIMBAL_FLAGS,
                q=_quaternion(g_roll, g_pitch, g_yaw),
                angular_velocity_x=0.0,
                angular_velocity_y=0.0,
                angular_velocity_z=0.0,
                failure_flags=0,
                delta_yaw=math.nan,
                delta_yaw_velocity=math.nan,
            )
        )
    return out


def _frames(
    flight: Flight, camera: Camera, sysid: int, gimbal: GimbalMessage, image_every_s: float
) -> Iterator[tuple[int, bytes]]:
    """(tlog time µs, frame) for every record of the log, in order."""
    enc = Encoder(sysid)
    s = flight.sortie
    boot_us = int(flight.t_us[0]) - _BOOT_BEFORE_TAKEOFF_US
    focal, sensor_h, sensor_v, res_h, res_v = lens(camera)
    rates = _rates(flight)
    next_second = next_ten = next_minute = int(flight.t_us[0])
    next_image = int(flight.t_us[0])
    images = 0
    for i in range(len(flight)):
        t_us = int(flight.t_us[i])
        boot_ms = (t_us - boot_us) // 1000
        lat, lon = round(float(flight.lat_deg[i]) * 1e7), round(float(flight.lon_deg[i]) * 1e7)
        alt_m = float(flight.alt_m[i])
        agl_m = alt_m - s.ground_elev_m
        yaw = float(flight.yaw_deg[i])
        g_roll, g_pitch = float(flight.gimbal_roll_deg[i]), float(flight.gimbal_pitch_deg[i])
        g_yaw = float(flight.gimbal_yaw_deg[i])
        vn, ve, vd = (float(a[i]) for a in (flight.vn_mps, flight.ve_mps, flight.vd_mps))
        if i == 0:
            # As in a log recorded from before takeoff, the first position has an
            # attitude and a gimbal angle before it.
            pose = _pose(enc, flight, 0, boot_ms=boot_ms, gimbal=gimbal, rates=rates)
            for j, frame in enumerate(pose):
                yield t_us - (len(pose) - j) * _GAP_US, frame
        out: list[bytes] = []
        out.append(
            enc.frame(
                COMP_AUTOPILOT,
                "GLOBAL_POSITION_INT",
                time_boot_ms=boot_ms,
                lat=lat,
                lon=lon,
                alt=round(alt_m * 1000),
                relative_alt=round(agl_m * 1000),
                vx=round(vn * 100),
                vy=round(ve * 100),
                vz=round(vd * 100),
                hdg=round(yaw * 100) % 36000,
            )
        )
        out += _pose(enc, flight, i, boot_ms=boot_ms, gimbal=gimbal, rates=rates)
        if t_us >= next_second:
            next_second += 1_000_000
            out.append(
                enc.frame(
                    COMP_AUTOPILOT,
                    "HEARTBEAT",
                    type=_MAV_TYPE_FIXED_WING,
                    autopilot=_MAV_AUTOPILOT_ARDUPILOTMEGA,
                    base_mode=_MODE_FLAGS,
                    custom_mode=_PLANE_AUTO,
                    system_status=_MAV_STATE_ACTIVE,
                    mavlink_version=3,
                )
            )
            out.append(
                enc.frame(
                    COMP_AUTOPILOT,
                    "GPS_RAW_INT",
                    time_usec=t_us,
                    fix_type=3,
                    lat=lat,
                    lon=lon,
                    alt=round(alt_m * 1000),
                    eph=90,
                    epv=140,
                    vel=round(math.hypot(vn, ve) * 100),
                    cog=round(math.degrees(math.atan2(ve, vn)) * 100) % 36000,
                    satellites_visible=14,
                    h_acc=1500,
                    v_acc=2500,
                    vel_acc=300,
                )
            )
        if t_us >= next_ten:
            next_ten += 10_000_000
            out.append(
                enc.frame(COMP_AUTOPILOT, "SYSTEM_TIME", time_unix_usec=t_us, time_boot_ms=boot_ms)
            )
        if t_us >= next_minute:
            next_minute += 60_000_000
            out.append(
                enc.frame(
                    COMP_CAMERA,
                    "CAMERA_INFORMATION",
                    time_boot_ms=boot_ms,
                    vendor_name=_padded("ceasewatch-sim", 32),
                    model_name=_padded(camera.id, 32),
                    firmware_version=0,
                    focal_length=focal,
                    sensor_size_h=sensor_h,
                    sensor_size_v=sensor_v,
                    resolution_h=res_h,
                    resolution_v=res_v,
                    lens_id=0,
                    flags=_CAMERA_CAPS,
                    cam_definition_version=0,
                    cam_definition_uri=b"",
                )
            )
        if t_us >= next_image and agl_m >= 200.0:
            next_image = t_us + round(image_every_s * 1e6)
            images += 1
            out.append(
                enc.frame(
                    COMP_AUTOPILOT,
                    "CAMERA_FEEDBACK",
                    time_usec=t_us,
                    target_system=sysid,
                    cam_idx=0,
                    img_idx=images,
                    lat=lat,
                    lng=lon,
                    alt_msl=alt_m,
                    alt_rel=agl_m,
                    roll=g_roll,
                    pitch=g_pitch,
                    yaw=(yaw + g_yaw) % 360.0,
                    foc_len=focal,
                    flags=0,
                    completed_captures=images,
                )
            )
        for j, frame in enumerate(out):
            yield t_us + j * _GAP_US, frame


def write_tlog(
    flight: Flight,
    camera: Camera,
    path: str | os.PathLike[str],
    *,
    sysid: int = 1,
    gimbal: GimbalMessage = "MOUNT_ORIENTATION",
    image_every_s: float = 10.0,
) -> Path:
    """Write `flight` as a .tlog at `path` and return the path.

    Args:
        camera: the camera flown (for CAMERA_INFORMATION and CAMERA_FEEDBACK).
        sysid: the vehicle's MAVLink system id.
        gimbal: the gimbal message sent per sample.
        image_every_s: seconds between the images CAMERA_FEEDBACK reports.
    """
    out = Path(path)
    with out.open("wb") as f:
        for t_us, frame in _frames(flight, camera, sysid, gimbal, image_every_s):
            f.write(t_us.to_bytes(8, "big"))
            f.write(frame)
    return out
