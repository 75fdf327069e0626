"""A drone's camera track: what any telemetry format comes down to for coverage.

Every reader (QGroundControl .tlog, ArduPilot DataFlash .bin, MISB ST 0601 KLV, the plain
CSV track) ends in one `Track`: time-ordered samples of camera position, platform
attitude, gimbal angles and field of view, as arrays of one length N. A field the source
does not carry is NaN (the field of view is then the theater camera's; see
`analysis.sortie`). KLV's frame-corner coordinates, when present, are kept as given.

The gimbal frame codes are those of `analysis.footprint.GimbalFrame` (0 body, 1 horizon,
2 earth): `ingest` sits below `analysis` and cannot import it. Where a sample has no gimbal
angle, they are NaN and the code is 0.

`read_track` tells the format from the file's content (never its name) and hands it to its
reader: `track_mavlink` (.tlog), `track_dataflash` (.bin), `track_klv` (KLV), `track_csv`
(the plain CSV track, docs/telemetry.md); `track_align` holds what they share. Each reads
the file in chunks, so memory grows with the track, not the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Final

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.ingest.mavlink import Source, _opened

__all__ = [
    "GIMBAL_BODY",
    "GIMBAL_EARTH",
    "GIMBAL_HORIZON",
    "TRACK_FORMATS",
    "Track",
    "TrackReport",
    "read_track",
    "track_format",
]

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


#: The formats `read_track` reads, by the name a `TrackReport` gives them.
TRACK_FORMATS: Final = ("tlog", "dataflash", "klv", "csv")

_HEAD_BYTES: Final = 64 << 10
ACCEPTED: Final = (
    "a MAVLink telemetry log (.tlog), an ArduPilot DataFlash log (.bin), a MISB ST 0601 KLV "
    "stream, or a CSV track (a header row with time,lat_deg,lon_deg,alt_msl_m; see "
    "docs/telemetry.md)"
)


def track_format(head: bytes) -> str | None:
    """Which of `TRACK_FORMATS` the first bytes of a file (64 KiB is plenty) say it is."""
    from ceasewatch.ingest.inspect import telemetry_kind
    from ceasewatch.ingest.track_csv import looks_like_track_csv

    kind = telemetry_kind(head)
    if kind is not None:
        return kind
    return "csv" if looks_like_track_csv(head) else None


def read_track(source: Source, *, name: str | None = None) -> Track:
    """Read any telemetry file ceasewatch knows into one camera `Track`.

    The format is told from the content (see `TRACK_FORMATS`). Damage is counted in
    `Track.report`, never fatal: CRC and checksum failures, garbage, a file cut off (what it
    holds is read), samples without a position, samples whose time goes backwards.

    Args:
        source: a path, or a seekable binary file object (read from its start).
        name: what to call the file in the report and problems (default: its path).

    Raises:
        InvalidInput: the file cannot be read, is empty, is none of the formats (the
            message names those accepted), or holds no usable sample (no position, no
            time): every problem listed.

    Example:
        >>> track = read_track("flight.tlog")  # doctest: +SKIP
        >>> len(track), track.report.counts
    """
    with _opened(source) as (f, path):
        where = name or path
        try:
            start = f.tell()
            head = f.read(_HEAD_BYTES)
            f.seek(start)
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror}); check the path") from exc
        if not head:
            raise InvalidInput(f"{where}: the file is empty; expected {ACCEPTED}")
        kind = track_format(head)
        if kind is None:
            raise InvalidInput(
                f"{where}: not a telemetry file ceasewatch reads (byte 0 on: "
                f"{head[:8].hex(' ')}); expected {ACCEPTED}"
            )
        try:
            return _renamed(_read(kind, f, where), str(getattr(f, "name", "<stream>")), where)
        except InvalidInput as exc:
            stream = str(getattr(f, "name", "<stream>"))
            if stream == where:
                raise
            raise InvalidInput(exc.message, _problems(exc.problems, stream, where)) from None


def _read(kind: str, f: IO[bytes], where: str) -> Track:
    if kind == "tlog":
        from ceasewatch.ingest.track_mavlink import tlog_track

        return tlog_track(f, where)
    if kind == "dataflash":
        from ceasewatch.ingest.track_dataflash import dataflash_track

        return dataflash_track(f, where)
    if kind == "klv":
        from ceasewatch.ingest.track_klv import klv_track

        return klv_track(f, where)
    from ceasewatch.ingest.track_csv import csv_track

    return csv_track(f, where)


def _problems(problems: Sequence[Problem], old: str, new: str) -> list[Problem]:
    """The problems, those the parsers located by the stream's name located by `new`."""
    return [
        Problem(new + p.where[len(old) :], p.what, p.severity) if p.where.startswith(old) else p
        for p in problems
    ]


def _renamed(track: Track, old: str, new: str) -> Track:
    if old == new:
        return track
    report = replace(track.report, problems=tuple(_problems(track.report.problems, old, new)))
    return replace(track, report=report)
