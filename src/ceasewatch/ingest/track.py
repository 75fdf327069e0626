"""A drone's camera track: what any telemetry format comes down to for coverage.

Every reader (QGroundControl .tlog, ArduPilot DataFlash .bin, MISB ST 0601 KLV, the plain
CSV track) ends in one `Track`: time-ordered samples of camera position, platform
attitude, gimbal angles and field of view, as arrays of one length N. A field the source
does not carry is NaN (the field of view is then the theater camera's; see
`analysis.sortie`). KLV's frame-corner coordinates, when present, are kept as given.

The gimbal frame codes are those of `analysis.footprint.GimbalFrame` (0 body, 1 horizon,
2 earth): `ingest` sits below `analysis` and cannot import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import Problem

__all__ = ["GIMBAL_BODY", "GIMBAL_EARTH", "GIMBAL_HORIZON", "Track", "TrackReport"]

FloatArray = NDArray[np.float64]

GIMBAL_BODY, GIMBAL_HORIZON, GIMBAL_EARTH = 0, 1, 2


@dataclass(frozen=True, slots=True)
class TrackReport:
    """What reading a track kept and what it dropped, and why.

    Attributes:
        source: the file read.
        format: "tlog", "dataflash", "klv" or "csv".
        samples: samples kept in the track.
        counts: named counts of what was dropped or damaged, e.g. {"crc_errors": 3,
            "no_position": 12, "time_backwards": 1} (zero counts may be left out).
        problems: what the user should know, located (file, line or byte offset).
    """

    source: str
    format: str
    samples: int
    counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Track:
    """Camera samples of one flight, in time order; every array has length N.

    Attributes:
        t_us: UTC time of each sample, microseconds since the POSIX epoch (strictly
            increasing: samples whose time goes backwards are dropped and counted).
        lat_deg, lon_deg: camera position, WGS84.
        alt_m: camera altitude above mean sea level (metres).
        yaw_deg, pitch_deg, roll_deg: platform attitude (yaw degrees true).
        gimbal_yaw_deg, gimbal_pitch_deg, gimbal_roll_deg: camera angles, read as
            `gimbal_frame` says (pitch -90 looks straight down).
        gimbal_frame: (N,) int8 codes GIMBAL_BODY / GIMBAL_HORIZON / GIMBAL_EARTH.
        hfov_deg, vfov_deg: full fields of view (NaN: unknown, use the theater camera's).
        corners_lat_deg, corners_lon_deg: (N, 4) frame corners in MISB ST 0601 order
            where the source gives them (KLV), NaN elsewhere; None when it never does.
        report: what was kept and dropped.
    """

    t_us: NDArray[np.int64]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    yaw_deg: FloatArray
    pitch_deg: FloatArray
    roll_deg: FloatArray
    gimbal_yaw_deg: FloatArray
    gimbal_pitch_deg: FloatArray
    gimbal_roll_deg: FloatArray
    gimbal_frame: NDArray[np.int8]
    hfov_deg: FloatArray
    vfov_deg: FloatArray
    report: TrackReport
    corners_lat_deg: FloatArray | None = None
    corners_lon_deg: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.t_us)
