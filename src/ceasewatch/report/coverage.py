"""The coverage report of a period: coverage.geojson, coverage.png, coverage_summary.json.

`build_coverage_report` takes the theater and the tracks flown (from files or from a
node: the caller reads them) and returns everything the three files hold;
`write_coverage_report` writes them. Settings not given come from theater.toml's
`[coverage]` table (`analysis.sortie.coverage_settings`); a DEM it names is read once
per report (`analysis.sortie.coverage_ground`) and named in the summary's inputs by file
name and SHA-256. The files are byte-identical for the same theater, tracks, period and
settings (and library versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.coverage_report import coverage_geojson, coverage_summary, summary_json
from ceasewatch.analysis.sortie import (
    CoverageSettings,
    coverage_ground,
    coverage_of,
    coverage_settings,
    geometry_at,
    geometry_changes,
)
from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.dem import Dem
from ceasewatch.geo.fleet import Camera
from ceasewatch.geo.theater import Theater
from ceasewatch.ingest.track import Track
from ceasewatch.records.types import posix_us
from ceasewatch.report.coverage_map import CoverageMap, coverage_map

__all__ = [
    "COVERAGE_FILES",
    "CoverageReport",
    "build_coverage_report",
    "camera_of",
    "write_coverage_report",
]

COVERAGE_FILES = ("coverage.geojson", "coverage.png", "coverage_summary.json")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """A period's coverage and its three files' contents.

    Attributes:
        coverage: the segments' visits (POSIX seconds).
        settings: those used (theater.toml's [coverage], overridden by the caller).
        start, end: the period.
        changes: geometry change times within the period (the segments are those of the
            geometry in force at its end, see `analysis.sortie`; the hourly shares of
            the summary before a change are measured on the line in force then).
        geojson: coverage.geojson's text.
        summary: coverage_summary.json's content.
        map: the rendered coverage.png.
    """

    coverage: Coverage
    settings: CoverageSettings
    start: datetime
    end: datetime
    changes: tuple[datetime, ...]
    geojson: str
    summary: dict[str, Any]
    map: CoverageMap


def camera_of(theater: Theater, drone: str, camera: str | None = None) -> Camera:
    """The camera a drone flew with: `camera` if given, else the drone's own.

    Raises:
        InvalidInput: the drone or the camera is not in theater.toml.
    """
    where = str(theater.root / "theater.toml")
    if drone not in theater.drones:
        known = ", ".join(sorted(theater.drones)) or "none"
        raise InvalidInput(
            f"unknown drone {drone!r}",
            [Problem(where, f"has no [[drones]] id = {drone!r}; its drones: {known}")],
        )
    name = camera or theater.drones[drone].camera
    if name not in theater.cameras:
        known = ", ".join(sorted(theater.cameras)) or "none"
        raise InvalidInput(
            f"unknown camera {name!r} (drone {drone})",
            [Problem(where, f"has no [[cameras]] id = {name!r}; its cameras: {known}")],
        )
    return theater.cameras[name]


def _utc(t_us: int) -> str:
    t = datetime.fromtimestamp(t_us // 1_000_000, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_coverage_report(
    theater: Theater,
    tracks: Sequence[tuple[str, Camera, Track]],
    start: datetime,
    end: datetime,
    *,
    segment_m: float | None = None,
    window_h: float | None = None,
    size_px: tuple[int, int] = (1600, 1200),
) -> CoverageReport:
    """The coverage of [start, end) by the tracks, with its files' contents.

    Args:
        theater: the theater.
        tracks: (track id, unique: a sortie or file; camera; track).
        start, end: the period.
        segment_m, window_h: override theater.toml's [coverage] settings.
        size_px: the map's size.

    Raises:
        InvalidInput: the period is empty or reversed, bad [coverage] settings, a DEM
            that cannot be read, or no track has a sample in the period (the tracks'
            spans are listed).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give times with a UTC offset, e.g. 2026-11-26T00:00:00Z")
    if not start < end:
        raise InvalidInput(
            f"--from {start.isoformat()} is not before --to {end.isoformat()}; swap them"
        )
    settings = coverage_settings(theater)
    if segment_m is not None:
        if not segment_m > 0.0:
            raise InvalidInput(f"--segment-m must be positive, not {segment_m}")
        settings = replace(settings, segment_m=float(segment_m))
    if window_h is not None:
        if not window_h > 0.0:
            raise InvalidInput(f"--window-h must be positive, not {window_h}")
        settings = replace(settings, window_h=float(window_h))
    t0, t1 = posix_us(start), posix_us(end)
    used = []
    spans: list[Problem] = []
    for tid, cam, tr in sorted(tracks, key=lambda t: t[0]):
        n = int(np.count_nonzero((tr.t_us >= t0) & (tr.t_us < t1)))
        if len(tr):
            first, last = _utc(int(tr.t_us[0])), _utc(int(tr.t_us[-1]))
            spans.append(Problem(tid, f"spans {first} to {last}"))
        if n:
            used.append({"id": tid, "camera": cam.id, "samples": n})
    if not used:
        raise InvalidInput(
            f"no telemetry in the period {_utc(t0)} to {_utc(t1)} "
            f"({len(tracks)} track(s) given); choose --from/--to within their spans",
            spans,
        )
    ground = coverage_ground(theater, settings)

    def cover(at: datetime | None) -> Coverage:
        return coverage_of(
            theater,
            tracks,
            segment_m=settings.segment_m,
            start=start,
            end=end,
            ground_elev_m=ground,
            merge_s=settings.merge_s,
            at=at,
        )

    cov = cover(None)
    changes = tuple(geometry_changes(theater, start, end))
    # The hourly shares before a change are measured on the line in force then.
    before = [(c, cover(c - timedelta(microseconds=1))) for c in changes]
    state = geometry_at(theater, start, end)
    inputs: dict[str, Any] = {
        "tracks": used,
        "segment_m": settings.segment_m,
        "ground_elev_m": settings.ground_elev_m,
        "merge_s": settings.merge_s,
        "geometry_changes": [_utc(posix_us(t)) for t in changes],
    }
    if isinstance(ground, Dem):  # left out on flat ground: older summaries stay as they were
        inputs["dem"] = {"file": ground.path.name, "sha256": ground.sha256}
    summary = coverage_summary(
        cov, start, end, window_h=settings.window_h, inputs=inputs, before=before
    )
    drawn = coverage_map(
        theater,
        cov,
        start,
        end,
        window_h=settings.window_h,
        tracks=[tr for _, _, tr in sorted(tracks, key=lambda t: t[0])],
        state=state,
        size_px=size_px,
    )
    return CoverageReport(
        coverage=cov,
        settings=settings,
        start=start,
        end=end,
        changes=changes,
        geojson=coverage_geojson(cov, theater.frame, start, end),
        summary=summary,
        map=drawn,
    )


def write_coverage_report(report: CoverageReport, out: Path) -> dict[str, Path]:
    """Write the three files into `out` (created if needed); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in COVERAGE_FILES}
    paths["coverage.geojson"].write_text(report.geojson, encoding="utf-8")
    paths["coverage.png"].write_bytes(report.map.png)
    paths["coverage_summary.json"].write_text(summary_json(report.summary), encoding="utf-8")
    return paths
