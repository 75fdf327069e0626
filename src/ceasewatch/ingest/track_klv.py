"""A `Track` from a MISB ST 0601 KLV stream: one sample per UAS Datalink LS packet.

From each packet (ST 0601 tags, as `klv` decodes them): time, the Precision Time Stamp
(tag 2, microseconds since 1970 UTC); position, the sensor latitude, longitude and true
altitude (tags 13-15, the altitude above mean sea level); platform attitude, heading (tag
5, from true north), pitch and roll (tags 90/91, else 6/7); gimbal, the sensor relative
azimuth, elevation and roll (tags 18-20, relative to the platform: `GIMBAL_BODY`); field
of view (tags 16, 17); frame corners (tags 82-89, else frame centre + offsets, tags 23-24
and 26-33), NaN where a packet has none.

A field carrying the standard's reserved error value is unknown (NaN), not a bad packet.
A packet without a time stamp or a sensor position gives no sample and is counted
(`no_time`, `no_position`); one without a sensor altitude gives a sample with a NaN
altitude (`no_altitude`: its corners, if any, still place the frame). Checksum failures,
malformed and cut-off packets and bytes outside any packet are counted as `klv` counts
them.
"""

from __future__ import annotations

import math
from array import array
from typing import IO, Final

import numpy as np

from ceasewatch.ingest.klv import KlvPacket, KlvStats, iter_packets
from ceasewatch.ingest.track import GIMBAL_BODY, Track
from ceasewatch.ingest.track_align import build_track

__all__ = ["klv_track"]

_COLUMNS: Final = (
    "lat_deg",
    "lon_deg",
    "alt_m",
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    "gimbal_yaw_deg",
    "gimbal_pitch_deg",
    "gimbal_roll_deg",
    "hfov_deg",
    "vfov_deg",
)


def _f(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _values(p: KlvPacket) -> tuple[float, ...]:
    return (
        _f(p.sensor_lat_deg),
        _f(p.sensor_lon_deg),
        _f(p.sensor_true_alt_m),
        _f(p.platform_heading_deg),
        _f(p.pitch_deg),
        _f(p.roll_deg),
        _f(p.sensor_rel_azimuth_deg),
        _f(p.sensor_rel_elevation_deg),
        _f(p.sensor_rel_roll_deg),
        _f(p.sensor_hfov_deg),
        _f(p.sensor_vfov_deg),
    )


def klv_track(source: IO[bytes], where: str, *, chunk_bytes: int = 1 << 16) -> Track:
    """The camera track of a KLV stream (see the module docstring).

    Raises:
        InvalidInput: no packet with a time and a sensor position.
    """
    stats = KlvStats()
    t = array("q")
    cols = {c: array("d") for c in _COLUMNS}
    corners = array("d")  # 8 a sample: lat1, lon1, ... lat4, lon4
    dropped = {"no_time": 0, "no_position": 0, "no_altitude": 0}
    any_corners = False
    for p in iter_packets(source, chunk_bytes=chunk_bytes, stats=stats):
        if p.t_us is None or p.time_utc is None:
            dropped["no_time"] += 1
            continue
        if p.sensor_lat_deg is None or p.sensor_lon_deg is None:
            dropped["no_position"] += 1
            continue
        if p.sensor_true_alt_m is None:
            dropped["no_altitude"] += 1
        t.append(p.t_us)
        for c, v in zip(_COLUMNS, _values(p), strict=True):
            cols[c].append(v)
        four = p.corners_deg()
        if four is None:
            corners.extend([math.nan] * 8)
        else:
            any_corners = True
            corners.extend(x for corner in four for x in corner)
    n = len(t)
    counts = {
        "checksum_failures": stats.checksum_failures,
        "missing_checksum": stats.missing_checksum,
        "malformed_packets": stats.malformed,
        "truncated_packets": stats.truncated,
        "bad_bytes": stats.bad_bytes,
        "error_values": sum(stats.error_values.values()),
        **dropped,
    }
    problems = [p if p.severity == "warning" else type(p)(p.where, p.what, "warning")
                for p in stats.problems[:20]]  # fmt: skip
    t_us = np.frombuffer(t, dtype=np.int64).copy() if n else np.empty(0, dtype=np.int64)
    columns = {c: np.frombuffer(a, dtype=np.float64).copy() for c, a in cols.items() if n}
    quad = None
    if any_corners:
        both = np.frombuffer(corners, dtype=np.float64).reshape(n, 4, 2)
        quad = (both[:, :, 0].copy(), both[:, :, 1].copy())
    return build_track(
        where,
        "klv",
        t_us,
        columns,
        counts=counts,
        problems=problems,
        gimbal_frame=np.full(n, GIMBAL_BODY, dtype=np.int8),
        corners=quad,
        why_empty=f"none of its {stats.packets} good packet(s) has a time stamp and a sensor "
        "position (tags 2, 13, 14)",
    )
