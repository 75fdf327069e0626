"""From drone tracks to coverage: footprints of a `Track`, and the coverage of a period.

`track_footprints` turns one camera track (any telemetry format ends in an
`ingest.track.Track`) into ground footprints: where the source gives the frame's corner
coordinates (MISB ST 0601 KLV tags 26-33 or 82-89) they are used as given, elsewhere the
footprint is computed from position, attitude, gimbal angles and field of view (the
track's where known, else the theater camera's).

`coverage_of` cuts the theater's contact line and zone boundaries into segments and
finds when each was inside a usable footprint (`analysis.coverage`).

Geometry across a handover. The contact line changes when a district is handed over
(`Theater.at`). A period [start, end) is reported on the geometry in force at its end
(its last instant, `end` excluded): the line the monitors must watch now, whose
staleness the map and the planner need. Ground watched before the handover counts where
it lies on that geometry, since it is the same ground; the stretch of the old line
inside the handed-over district is no longer part of the line and gets no segment.
Segments are not carried across a change (the new line is cut afresh, so a segment id
names a piece of one geometry). For what was true before a change, ask for the same
samples on the earlier geometry (`at=`): `geometry_changes` lists the change times
inside a period, and `report.coverage` does this for the hourly shares of its summary,
each measured on the line in force at its hour.

Settings come from theater.toml's optional `[coverage]` table (`coverage_settings`):

    [coverage]
    ground_elev_m = 450.0   # flat ground elevation, in the datum of the tracks' alt_m
    segment_m = 250.0       # longest segment of the line and zone boundaries
    window_h = 6.0          # "observed in the last N hours"
    merge_s = 5.0           # samples of a segment at most this far apart: one visit
    dem = "dem.tif"         # optional: a GeoTIFF DEM, relative to the theater directory

With `dem`, the ground under each ray is the DEM's (`ceasewatch.geo.dem`, the optional
extra `ceasewatch[dem]`), and `ground_elev_m` is the elevation where it has none (outside
the raster, voids). `coverage_ground` is the one function here that reads a file: it
takes the path from the theater's own settings, so every caller (the coverage report,
the analysis's `observed_hook`, planning) watches over the same ground without repeating
"load the DEM if the theater names one", and none can forget it and silently fly over
flat ground. `coverage_of` and `track_footprints` take the ground as given (a number or
an `ElevationFn`) and stay pure: no database, no files, no wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ceasewatch.analysis.allegations import Observed
from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.footprint import ElevationFn, Footprints, footprints, from_corners
from ceasewatch.analysis.segments import BoolArray, IntArray, theater_segments
from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.fleet import Camera
from ceasewatch.geo.geodesy import LocalFrame
from ceasewatch.geo.theater import Theater, TheaterState
from ceasewatch.ingest.track import GIMBAL_BODY, Track
from ceasewatch.records.types import posix_us

__all__ = [
    "CoverageSettings",
    "coverage_ground",
    "coverage_of",
    "coverage_settings",
    "geometry_at",
    "geometry_changes",
    "observed_hook",
    "track_footprints",
]


@dataclass(frozen=True, slots=True)
class CoverageSettings:
    """A theater's `[coverage]` settings (see the module docstring); `dem` is the
    GeoTIFF's path (the theater directory joined with theater.toml's), None: flat ground."""

    ground_elev_m: float = 0.0
    segment_m: float = 250.0
    window_h: float = 6.0
    merge_s: float = 5.0
    dem: Path | None = None


_LIMITS: Mapping[str, tuple[float, float, bool]] = {
    # key: (low, high, low allowed)
    "ground_elev_m": (-500.0, 9000.0, True),
    "segment_m": (0.0, 100_000.0, False),
    "window_h": (0.0, 24.0 * 366, False),
    "merge_s": (0.0, 3600.0, True),
}
_PATHS = ("dem",)


def coverage_settings(theater: Theater) -> CoverageSettings:
    """The theater's `[coverage]` table, defaults for what it leaves out.

    Raises:
        InvalidInput: the table is not a table, has an unknown key or a bad value, or
            names a DEM file that does not exist (every problem is listed, located in
            theater.toml).
    """
    raw: Any = theater.settings.get("coverage", {})
    where = f"{theater.root / 'theater.toml'} [coverage]"
    if not isinstance(raw, dict):
        raise InvalidInput(
            "theater.toml: [coverage] must be a table",
            [Problem(where, "write it as a table: [coverage] then key = value lines")],
        )
    problems: list[Problem] = []
    values: dict[str, float] = {}
    dem: Path | None = None
    for key in sorted(raw):
        if key == "dem":
            dem = _dem_path(theater.root, raw[key], where, problems)
            continue
        if key not in _LIMITS:
            known = ", ".join(sorted([*_LIMITS, *_PATHS]))
            problems.append(Problem(where, f"unknown key {key!r}; the keys are {known}"))
            continue
        low, high, closed = _LIMITS[key]
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(Problem(where, f"{key} = {value!r} must be a number"))
            continue
        ok = (low <= value if closed else low < value) and value <= high and math.isfinite(value)
        if not ok:
            bracket = "[" if closed else "("
            problems.append(
                Problem(where, f"{key} = {value} must lie in {bracket}{low:g}, {high:g}]")
            )
            continue
        values[key] = float(value)
    if problems:
        raise InvalidInput(f"theater {theater.root}: bad [coverage] settings", problems)
    return CoverageSettings(**values, dem=dem)


def _dem_path(root: Path, value: object, where: str, problems: list[Problem]) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(where, f'dem = {value!r} must be a file name, e.g. dem = "dem.tif"')
        )
        return None
    path = root / value
    if not path.is_file():
        problems.append(
            Problem(
                where,
                f"dem = {value!r}: no such file {path}; put the GeoTIFF there (the path "
                "is relative to the theater directory) or remove the key for flat ground",
            )
        )
        return None
    return path


def coverage_ground(
    theater: Theater, settings: CoverageSettings | None = None
) -> float | ElevationFn:
    """The ground footprints are cast on: the theater's DEM if its settings name one
    (read here, once per call; the fallback is `ground_elev_m`), else flat ground.

    Args:
        theater: the theater (its plane).
        settings: its `[coverage]` settings (default: `coverage_settings(theater)`).

    Raises:
        InvalidInput: bad settings, or a DEM that cannot be read (not a GeoTIFF, no
            CRS, rasterio not installed: `pip install 'ceasewatch[dem]'`).
    """
    s = coverage_settings(theater) if settings is None else settings
    if s.dem is None:
        return s.ground_elev_m
    from ceasewatch.geo.dem import load_dem  # the one file read here (module docstring)

    return load_dem(s.dem, theater.frame, fallback_m=s.ground_elev_m)


def track_footprints(
    track: Track, frame: LocalFrame, camera: Camera, *, ground_elev_m: float | ElevationFn = 0.0
) -> Footprints:
    """Ground footprints of every sample of a track, in the theater's plane.

    Samples with all four KLV corners finite take them as given (`from_corners`); their
    centre slant range, which KLV corners do not carry, is taken from the camera's
    height over the ground and its distance to the corners' centroid. The others are
    computed from the angles (`footprints`), with the track's field of view where known
    and the camera's where NaN, and clipped at the camera's `max_slant_m`, so that ground
    beyond usable range never counts. An unknown (NaN) gimbal roll with a known gimbal
    pitch is taken as 0 (a gimbal holds the image level; CSV tracks and MAVLink mounts
    often leave roll out), and an unknown platform pitch or roll as 0 where the gimbal
    angles are not relative to the body (they play no part then). Any other unknown
    angle leaves the sample without a footprint. `Footprints.usable(camera.max_slant_m,
    camera.max_gsd_m)` then says which samples observe.

    Args:
        track: the camera samples.
        frame: the theater's local plane.
        camera: the theater camera the drone carried (field of view, usable range).
        ground_elev_m: flat ground elevation in the datum of `track.alt_m`, or a DEM
            (`coverage_ground`): elevation at local (x, y).
    """
    n = len(track)
    has_corners: BoolArray = np.zeros(n, dtype=bool)
    cla, clo = track.corners_lat_deg, track.corners_lon_deg
    if cla is not None and clo is not None:
        has_corners |= np.isfinite(cla).all(axis=1) & np.isfinite(clo).all(axis=1)
    out = Footprints(
        corners_m=np.full((n, 4, 2), np.nan),
        valid=np.zeros(n, dtype=bool),
        slant_m=np.full(n, np.nan),
        clipped=np.zeros(n, dtype=bool),
        reordered=np.zeros(n, dtype=bool),
        gsd_m=np.full(n, np.nan),
        nadir_m=np.full((n, 2), np.nan),
    )
    ang = np.flatnonzero(~has_corners)
    if len(ang):
        hfov = track.hfov_deg[ang]
        vfov = track.vfov_deg[ang]
        mode = track.gimbal_frame[ang]
        gpitch, groll = track.gimbal_pitch_deg[ang], track.gimbal_roll_deg[ang]
        level = np.isnan(groll) & np.isfinite(gpitch)
        free = mode != GIMBAL_BODY  # the platform's pitch and roll play no part
        pitch, roll = track.pitch_deg[ang], track.roll_deg[ang]
        fp = footprints(
            track.lat_deg[ang],
            track.lon_deg[ang],
            track.alt_m[ang],
            yaw_deg=track.yaw_deg[ang],
            pitch_deg=np.where(free & np.isnan(pitch), 0.0, pitch),
            roll_deg=np.where(free & np.isnan(roll), 0.0, roll),
            gimbal_yaw_deg=track.gimbal_yaw_deg[ang],
            gimbal_pitch_deg=gpitch,
            gimbal_roll_deg=np.where(level, 0.0, groll),
            hfov_deg=np.where(np.isnan(hfov), camera.hfov_deg, hfov),
            vfov_deg=np.where(np.isnan(vfov), camera.vfov_deg, vfov),
            frame=frame,
            gimbal_frame=mode,
            ground_elev_m=ground_elev_m,
            max_slant_m=camera.max_slant_m,
            image_width_px=camera.image_width_px,
        )
        _put(out, ang, fp)
    kc = np.flatnonzero(has_corners)
    if len(kc):
        assert track.corners_lat_deg is not None and track.corners_lon_deg is not None
        fc = from_corners(
            track.corners_lat_deg[kc],
            track.corners_lon_deg[kc],
            frame,
            sensor_lat_deg=track.lat_deg[kc],
            sensor_lon_deg=track.lon_deg[kc],
        )
        if callable(ground_elev_m):
            nx, ny = fc.nadir_m[:, 0], fc.nadir_m[:, 1]
            h = track.alt_m[kc] - np.asarray(ground_elev_m(nx, ny), dtype=np.float64)
        else:
            h = track.alt_m[kc] - ground_elev_m
        c = fc.corners_m
        dx = (c[:, 0, 0] + c[:, 1, 0] + c[:, 2, 0] + c[:, 3, 0]) / 4.0 - fc.nadir_m[:, 0]
        dy = (c[:, 0, 1] + c[:, 1, 1] + c[:, 2, 1] + c[:, 3, 1]) / 4.0 - fc.nadir_m[:, 1]
        with np.errstate(invalid="ignore"):
            slant = np.where(h > 0.0, np.sqrt(h * h + dx * dx + dy * dy), np.nan)
        _put(out, kc, fc)
        out.slant_m[kc] = np.where(fc.valid, slant, np.nan)
    return out


def _put(out: Footprints, rows: IntArray, fp: Footprints) -> None:
    out.corners_m[rows] = fp.corners_m
    out.valid[rows] = fp.valid
    out.slant_m[rows] = fp.slant_m
    out.clipped[rows] = fp.clipped
    out.reordered[rows] = fp.reordered
    out.gsd_m[rows] = fp.gsd_m
    out.nadir_m[rows] = fp.nadir_m


def geometry_at(theater: Theater, start: datetime, end: datetime) -> TheaterState:
    """The geometry a period [start, end) is reported on: that in force at its last
    instant (see the module docstring)."""
    _check_period(start, end)
    return theater.at(end - timedelta(microseconds=1))


def geometry_changes(theater: Theater, start: datetime, end: datetime) -> list[datetime]:
    """The theater's change times (validity bounds, handovers) within (start, end)."""
    _check_period(start, end)
    return [t for t in theater.change_times if start < t < end]


def coverage_of(
    theater: Theater,
    tracks: Sequence[tuple[str, Camera, Track]],
    *,
    segment_m: float,
    start: datetime,
    end: datetime,
    ground_elev_m: float | ElevationFn = 0.0,
    merge_s: float = 5.0,
    zones: bool = True,
    at: datetime | None = None,
) -> Coverage:
    """Coverage of the line (and zone boundaries) by the tracks' samples in [start, end).

    Args:
        theater: the theater (its plane and geometry).
        tracks: (track id, e.g. a sortie or drone id; the camera carried; its track).
        segment_m: the longest a segment may be (metres).
        start, end: the period; samples outside it are left out.
        ground_elev_m: flat ground elevation, the datum of the tracks' `alt_m`, or a
            DEM (`coverage_ground`).
        merge_s: samples of a segment at most this far apart form one visit.
        zones: also cover each zone's boundary (groups "zone:<id>").
        at: report on the geometry in force at this time instead of at the end of the
            period (see the module docstring).

    Returns:
        The coverage, its times in POSIX seconds, its segments those of the geometry in
        force at `at` (default: the period's last instant).

    Raises:
        InvalidInput: the period ends before it starts, a time is naive, or a track id
            is given twice.
    """
    state = geometry_at(theater, start, end) if at is None else theater.at(at)
    _check_period(start, end)
    segs = theater_segments(state, theater.frame, segment_m, zones=zones)
    ids = [tid for tid, _, _ in tracks]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidInput(f"track ids given more than once: {', '.join(twice)}")
    t0_us, t1_us = posix_us(start), posix_us(end)
    corners, times, usable, which = [], [], [], []
    for k, tid in enumerate(sorted(ids)):
        _, camera, track = tracks[ids.index(tid)]
        keep = np.flatnonzero((track.t_us >= t0_us) & (track.t_us < t1_us))
        if not len(keep):
            continue
        part = _slice(track, keep)
        fp = track_footprints(part, theater.frame, camera, ground_elev_m=ground_elev_m)
        corners.append(fp.corners_m)
        times.append(part.t_us / 1e6)
        usable.append(fp.usable(camera.max_slant_m, camera.max_gsd_m))
        which.append(np.full(len(keep), k, dtype=np.intp))
    if not corners:
        return Coverage.compute(segs, np.zeros((0, 4, 2)), np.zeros(0), merge_s=merge_s)
    return Coverage.compute(
        segs,
        np.concatenate(corners),
        np.concatenate(times),
        np.concatenate(usable),
        track=np.concatenate(which),
        merge_s=merge_s,
    )


def _slice(track: Track, rows: IntArray) -> Track:
    """The samples `rows` of a track (the report is kept as it is)."""
    cl = track.corners_lat_deg
    co = track.corners_lon_deg
    return Track(
        t_us=track.t_us[rows],
        lat_deg=track.lat_deg[rows],
        lon_deg=track.lon_deg[rows],
        alt_m=track.alt_m[rows],
        yaw_deg=track.yaw_deg[rows],
        pitch_deg=track.pitch_deg[rows],
        roll_deg=track.roll_deg[rows],
        gimbal_yaw_deg=track.gimbal_yaw_deg[rows],
        gimbal_pitch_deg=track.gimbal_pitch_deg[rows],
        gimbal_roll_deg=track.gimbal_roll_deg[rows],
        gimbal_frame=track.gimbal_frame[rows],
        hfov_deg=track.hfov_deg[rows],
        vfov_deg=track.vfov_deg[rows],
        report=track.report,
        corners_lat_deg=None if cl is None else cl[rows],
        corners_lon_deg=None if co is None else co[rows],
    )


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("coverage needs timezone-aware times (e.g. 2026-11-26T00:00:00Z)")
    if not start < end:
        raise InvalidInput(
            f"the period ends before it starts: from {start.astimezone(UTC).isoformat()} "
            f"to {end.astimezone(UTC).isoformat()}; give --from before --to"
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def observed_hook(
    theater: Theater,
    tracks: Sequence[tuple[str, Camera, Track]],
    *,
    window_s: float = 3600.0,
    ground: float | ElevationFn | None = None,
) -> Observed | None:
    """The allegation matcher's `observed` hook from the tracks flown (None: no tracks).

    A place counts as watched at t when the nearest segment of the line or a zone
    boundary (within the coverage's `near_m`) was inside a usable footprint within
    `window_s` of t. The coverage spans all the tracks' samples, on the geometry in force
    at their end (see the module docstring). The ground is `ground` if given, else the
    theater's (`coverage_ground`: its DEM if it names one).
    """
    spans = [(int(tr.t_us[0]), int(tr.t_us[-1])) for _, _, tr in tracks if len(tr)]
    if not spans:
        return None
    settings = coverage_settings(theater)
    cov = coverage_of(
        theater,
        tracks,
        segment_m=settings.segment_m,
        start=_EPOCH + timedelta(microseconds=min(a for a, _ in spans)),
        end=_EPOCH + timedelta(microseconds=max(b for _, b in spans) + 1),
        ground_elev_m=coverage_ground(theater, settings) if ground is None else ground,
        merge_s=settings.merge_s,
    )
    return cov.hook(window_s)
