"""A `Track` from a MAVLink telemetry log (.tlog), streamed.

Messages (MAVLink common.xml, as `mavlink` decodes them):

- position: GLOBAL_POSITION_INT (lat, lon, alt above mean sea level), or GPS_RAW_INT with a
  3D fix when the vehicle sends no GLOBAL_POSITION_INT; a 0, 0 position means "none";
- attitude: ATTITUDE (roll, pitch, yaw; yaw from true north as the autopilot estimates it);
- gimbal, by preference: GIMBAL_DEVICE_ATTITUDE_STATUS (its quaternion's roll and pitch are
  earth-frame; yaw in the earth frame when flags say YAW_IN_EARTH_FRAME or the older
  YAW_LOCK, else relative to the vehicle: `GIMBAL_EARTH` or `GIMBAL_HORIZON`), then
  MOUNT_ORIENTATION (roll and pitch earth-frame, yaw relative to the vehicle:
  `GIMBAL_HORIZON`), then MOUNT_STATUS (pitch, roll, yaw in centidegrees; ArduPilot sends
  earth-frame roll and pitch with body-frame yaw: `GIMBAL_HORIZON`);
- lens: CAMERA_INFORMATION's focal length and sensor size give the fields of view
  (2 atan(size / 2f)); the latest before a sample applies (the first one before it).

Time: the tlog's own 8-byte timestamps (UTC, when the ground station received the frame):
one clock for every message, so the streams can be aligned on it. SYSTEM_TIME is not used:
the reader does not decode it, and the receive clock is the one the frames are filed by.

A log may hold several vehicles (MAVLink system ids); the track is the one with the most
position samples, the others are counted as `other_system`.
"""

from __future__ import annotations

import math
from typing import IO, Final

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import Problem
from ceasewatch.ingest.mavlink import DEFAULT_CHUNK_BYTES, TlogCounts, read_tlog
from ceasewatch.ingest.track import GIMBAL_EARTH, GIMBAL_HORIZON, Track
from ceasewatch.ingest.track_align import (
    Aligner,
    Monotone,
    StreamSpec,
    build_track,
    camera_columns,
)

__all__ = ["ATTITUDE_GAP_US", "GIMBAL_GAP_US", "STREAMS", "pick_gimbal", "tlog_track"]

FloatArray = NDArray[np.float64]

#: An attitude sample older than this is no attitude (ATTITUDE comes at 4-50 Hz).
ATTITUDE_GAP_US: Final = 2_000_000
#: A gimbal sample older than this is no gimbal angle (mount messages come at 1-10 Hz).
GIMBAL_GAP_US: Final = 5_000_000
#: Gimbal streams in order of preference: (yaw, pitch, roll, frame code) each.
GIMBALS: Final = ("gimbal_device", "mount_orientation", "mount_status")
#: The streams aligned to the positions.
STREAMS: Final = {
    "attitude": StreamSpec(("angle", "linear", "linear"), ATTITUDE_GAP_US),
    **{g: StreamSpec(("angle", "linear", "linear", "hold"), GIMBAL_GAP_US) for g in GIMBALS},
}

_TYPES: Final = (
    "GLOBAL_POSITION_INT",
    "GPS_RAW_INT",
    "ATTITUDE",
    "GIMBAL_DEVICE_ATTITUDE_STATUS",
    "MOUNT_ORIENTATION",
    "MOUNT_STATUS",
    "CAMERA_INFORMATION",
)
_GIMBAL_STREAM: Final = {
    "GIMBAL_DEVICE_ATTITUDE_STATUS": "gimbal_device",
    "MOUNT_ORIENTATION": "mount_orientation",
    "MOUNT_STATUS": "mount_status",
}
_SOURCES: Final = ("GLOBAL_POSITION_INT", "GPS_RAW_INT")
_MAX_LENS_CHANGES: Final = 10_000
_RAD_TO_DEG: Final = 180.0 / math.pi


class _System:
    """One vehicle's streams: an aligner per position source, lens changes."""

    def __init__(self) -> None:
        self.sources = {src: Aligner(3, STREAMS) for src in _SOURCES}
        self.order = {name: Monotone() for name in self.sources}
        self.lens: list[tuple[int, float, float]] = []

    def add(self, stream: str, t: NDArray[np.int64], values: FloatArray) -> None:
        for aligner in self.sources.values():
            aligner.add(stream, t, values)


def _positions(name: str, a: NDArray[np.void]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(usable, no fix) rows of a position message array."""
    zero = (a["lat_deg"] == 0) & (a["lon_deg"] == 0)
    sane = (np.abs(a["lat_deg"]) <= 90) & (np.abs(a["lon_deg"]) <= 180) & np.isfinite(a["alt_m"])
    no_fix = a["fix_type"] < 3 if name == "GPS_RAW_INT" else np.zeros(len(a), dtype=bool)
    return ~zero & sane & ~no_fix, no_fix


def _gimbal_rows(name: str, a: NDArray[np.void]) -> FloatArray:
    """(yaw, pitch, roll, frame) rows of a gimbal message array."""
    if name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        frame = np.where(a["yaw_in_earth_frame"], GIMBAL_EARTH, GIMBAL_HORIZON)
    else:
        frame = np.full(len(a), GIMBAL_HORIZON)
    return np.column_stack(
        [a["yaw_deg"], a["pitch_deg"], a["roll_deg"], frame.astype(np.float64)]
    ).astype(np.float64)


def _lens(system: _System, a: NDArray[np.void]) -> None:
    f = a["focal_length_mm"]
    h, v = a["sensor_size_h_mm"], a["sensor_size_v_mm"]
    good = np.flatnonzero((f > 0) & (h > 0) & np.isfinite(f) & np.isfinite(h))
    for i in good.tolist():
        fi, hi, vi = float(f[i]), float(h[i]), float(v[i])
        hfov = math.degrees(2 * math.atan(hi / (2 * fi)))
        vfov = math.degrees(2 * math.atan(vi / (2 * fi))) if vi > 0 else math.nan
        last = system.lens[-1] if system.lens else None
        if last is not None and last[1] == hfov and (last[2] == vfov or math.isnan(vfov)):
            continue
        if len(system.lens) < _MAX_LENS_CHANGES:
            system.lens.append((int(a["t_us"][i]), hfov, vfov))


def _feed(
    systems: dict[int, _System], messages: dict[str, NDArray[np.void]], dropped: dict[str, int]
) -> None:
    """Hand one batch's messages to their systems; count what was dropped, by
    "<source> no_position" / "<source> no_fix"."""
    for name, a in messages.items():
        for sysid in np.unique(a["sysid"]).tolist():
            rows = a[a["sysid"] == sysid]
            system = systems.setdefault(int(sysid), _System())
            t = rows["t_us"].astype(np.int64)
            if name in system.sources:
                usable, no_fix = _positions(name, rows)
                dropped[f"{name} no_fix"] += int(no_fix.sum())
                dropped[f"{name} no_position"] += int((~usable & ~no_fix).sum())
                t, rows = t[usable], rows[usable]
                keep = system.order[name].keep(t)
                values = np.column_stack([rows["lat_deg"], rows["lon_deg"], rows["alt_m"]])
                system.sources[name].add_positions(t[keep], values[keep].astype(np.float64))
            elif name == "ATTITUDE":
                att = np.column_stack([rows["yaw_rad"], rows["pitch_rad"], rows["roll_rad"]])
                system.add("attitude", t, att.astype(np.float64) * _RAD_TO_DEG)
            elif name == "CAMERA_INFORMATION":
                _lens(system, rows)
            else:
                system.add(_GIMBAL_STREAM[name], t, _gimbal_rows(name, rows))


def pick_gimbal(values: dict[str, FloatArray]) -> FloatArray:
    """Per row, the first gimbal stream (in `GIMBALS` order) with a finite pitch: rows of
    (yaw, pitch, roll, frame); NaN angles and frame 0 (body) where none has one."""
    n = len(values[GIMBALS[0]])
    out = np.full((n, 4), np.nan)
    out[:, 3] = 0.0
    todo = np.ones(n, dtype=bool)
    for g in GIMBALS:
        v = values[g]
        use = todo & np.isfinite(v[:, 1])
        out[use] = v[use]
        todo &= ~use
    return out


def _fov(lens: list[tuple[int, float, float]], t: NDArray[np.int64]) -> tuple[FloatArray, ...]:
    if not lens:
        return np.full(len(t), np.nan), np.full(len(t), np.nan)
    lens = sorted(lens, key=lambda x: x[0])
    lt = np.array([x[0] for x in lens], dtype=np.int64)
    h = np.array([x[1] for x in lens])
    v = np.array([x[2] for x in lens])
    i = np.clip(np.searchsorted(lt, t, side="right") - 1, 0, len(lens) - 1)
    return h[i], v[i]


def tlog_track(source: IO[bytes], where: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Track:
    """The camera track of a tlog (see the module docstring).

    Raises:
        InvalidInput: the file cannot be read, or holds no usable position sample.
    """
    systems: dict[int, _System] = {}
    counts = TlogCounts()
    dropped = {f"{src} {what}": 0 for src in _SOURCES for what in ("no_position", "no_fix")}
    for batch in read_tlog(source, types=_TYPES, chunk_bytes=chunk_bytes):
        counts = counts + batch.counts
        _feed(systems, dict(batch.messages), dropped)
        for system in systems.values():
            for aligner in system.sources.values():
                aligner.advance(counts.t_max_us)
    settled = {
        (sysid, name): (system, aligner.finish(), aligner)
        for sysid, system in systems.items()
        for name, aligner in system.sources.items()
    }

    def size(key: tuple[int, str]) -> tuple[int, int]:
        n = len(settled[key][1][0])
        return (n, 0) if key[1] == "GLOBAL_POSITION_INT" else (0, n)

    best = max(settled, key=size, default=None)
    tally: dict[str, int] = {
        "crc_errors": sum(counts.crc_errors.values()),
        "bad_data_bytes": counts.bad_data_bytes,
        "truncated_tail_bytes": counts.truncated_tail_bytes,
    }
    problems: list[Problem] = list(counts.problems)
    if best is None or not len(settled[best][1][0]):
        why = (
            "every position message is empty (0, 0) or without a 3D fix"
            if any(dropped.values())
            else "no GLOBAL_POSITION_INT or GPS_RAW_INT message with a position"
        )
        tally["no_position"] = sum(v for k, v in dropped.items() if k.endswith("no_position"))
        tally["no_fix"] = sum(v for k, v in dropped.items() if k.endswith("no_fix"))
        return build_track(
            where, "tlog", np.empty(0, dtype=np.int64), {}, counts=tally, problems=problems,
            why_empty=f"{why}; is this a flight log of the vehicle?",
        )  # fmt: skip
    system, (t, pos, values), aligner = settled[best]
    for sysid, other in systems.items():
        if sysid != best[0]:
            tally["other_system"] = tally.get("other_system", 0) + max(
                a.positions for a in other.sources.values()
            )
    order = system.order[best[1]]
    tally["no_position"] = dropped[f"{best[1]} no_position"]
    tally["no_fix"] = dropped[f"{best[1]} no_fix"]
    tally["time_backwards"] = order.backwards
    tally["duplicate_time"] = order.duplicates
    tally["no_attitude"] = aligner.missing["attitude"]
    gimbal = pick_gimbal(values)
    tally["no_gimbal"] = int((~np.isfinite(gimbal[:, 1])).sum())
    tally["stream_time_backwards"] = sum(aligner.dropped(s) for s in STREAMS)
    hfov, vfov = _fov(system.lens, t)
    att = values["attitude"]
    columns = {**camera_columns(pos, att, gimbal), "hfov_deg": hfov, "vfov_deg": vfov}
    return build_track(
        where,
        "tlog",
        t,
        columns,
        counts=tally,
        problems=problems,
        gimbal_frame=gimbal[:, 3].astype(np.int8),
    )
