"""Priorities for sortie planning: how stale each segment of the line is, and how violent
its neighbourhood has been (see `analysis.planning` for the formula and its weights).

Pure: staleness from a `Coverage` (or from last-seen times alone, e.g. a coverage.geojson:
`coverage_from_last_seen`), violations as (x, y, time) in the theater's plane; inputs are
sorted and only + - * / and comparisons run on arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from shapely.geometry import LineString

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.segments import Segments, segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import Theater

__all__ = [
    "PlanSettings",
    "ViolationXYT",
    "coverage_from_last_seen",
    "segment_priority",
    "violations_xy_t",
]

#: A violation as the planner needs it: local x, y (metres) and its time.
ViolationXYT = tuple[float, float, datetime]


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """The planner's knobs (`analysis.planning`'s docstring says what they weigh).

    Attributes:
        segment_m: longest segment the line is cut into.
        altitude_m: flight height over the ground (the camera's standoff follows).
        reserve: share of endurance kept in reserve.
        turnaround_h: on the ground between two sorties of a drone.
        stale_cap_h: staleness cap; a segment never seen gets it.
        violation_radius_km, violation_window_h, violation_weight: which violations
            raise a segment's priority, and how much.
        simplify_m: routes follow the track to within this.
        min_gain_per_h: sorties gaining less per flight hour are not flown.
    """

    segment_m: float = 500.0
    altitude_m: float = 1000.0
    reserve: float = 0.2
    turnaround_h: float = 1.0
    stale_cap_h: float = 24.0
    violation_radius_km: float = 5.0
    violation_window_h: float = 48.0
    violation_weight: float = 1.0
    simplify_m: float = 25.0
    min_gain_per_h: float = 0.0


def violations_xy_t(theater: Theater, violations: Sequence[object]) -> list[ViolationXYT]:
    """(x, y, time) in the theater's plane of anything with lon, lat and time (e.g.
    `analysis.Violation`), sorted."""
    rows = [(float(v.lon), float(v.lat), v.time) for v in violations]  # type: ignore[attr-defined]
    if not rows:
        return []
    x, y = theater.frame.to_local([r[0] for r in rows], [r[1] for r in rows])
    return sorted(
        (float(a), float(b), r[2]) for a, b, r in zip(x.tolist(), y.tolist(), rows, strict=True)
    )


def coverage_from_last_seen(
    frame: LocalFrame,
    lines: Sequence[tuple[str, Sequence[tuple[float, float]], datetime | None]],
) -> Coverage:
    """A `Coverage` that knows only when each segment was last seen (e.g. from a
    coverage.geojson): (group, its (lon, lat) vertices, last seen or None) per segment."""
    parts, start = [], []
    for group, coords, last in lines:
        x, y = frame.to_local([c[0] for c in coords], [c[1] for c in coords])
        line = LineString(np.column_stack([x, y]))
        if line.length <= 0.0:
            continue
        parts.append(segments(line, line.length * 2.0, group=group))
        start.append(math.nan if last is None else _posix(last))
    segs = Segments.concat(parts) if parts else segments(LineString(), 1.0)
    seen = np.isfinite(np.asarray(start, dtype=np.float64))
    t = np.asarray(start, dtype=np.float64)[seen]
    offsets = np.concatenate([[0], np.cumsum(seen.astype(np.intp))]).astype(np.intp)
    return Coverage(segs, 0.0, 0.0, offsets, t, t.copy())


def segment_priority(
    segs: Segments,
    coverage: Coverage | None,
    violations: Sequence[ViolationXYT],
    at: datetime,
    settings: PlanSettings = PlanSettings(),
) -> FloatArray:
    """Each segment's priority at `at` (see the module docstring).

    A segment takes the last observation of the nearest "line" segment of `coverage`
    whose midpoint lies within `segment_m` of its own (coverage may be cut from another
    geometry or length); with none, it was never seen.
    """
    at_s = _posix(at)
    cap_s = settings.stale_cap_h * 3600.0
    last = _last_seen(segs, coverage, at_s, settings.segment_m)
    stale = np.where(np.isnan(last), cap_s, np.minimum(np.maximum(at_s - last, 0.0), cap_s))
    density = np.zeros(len(segs))
    window_s = settings.violation_window_h * 3600.0
    r2 = (settings.violation_radius_km * 1000.0) ** 2
    for x, y, t in sorted(violations):
        age = at_s - _posix(t)
        if not 0.0 <= age <= window_s:
            continue
        dx, dy = segs.mid_x - x, segs.mid_y - y
        density[dx * dx + dy * dy <= r2] += 1.0 - age / window_s
    out: FloatArray = stale / 3600.0 * (1.0 + settings.violation_weight * density)
    return out


def _last_seen(segs: Segments, cov: Coverage | None, at_s: float, tol_m: float) -> FloatArray:
    out = np.full(len(segs), np.nan)
    if cov is None or "line" not in cov.segments.groups or len(segs) == 0:
        return out
    sel = np.flatnonzero(cov.segments.in_group("line"))
    if len(sel) == 0:
        return out
    last = cov.last_seen_s(at_s)[sel]
    cx, cy = cov.segments.mid_x[sel], cov.segments.mid_y[sel]
    step = max(1, (1 << 22) // len(sel))
    for a in range(0, len(segs), step):
        dx = segs.mid_x[a : a + step, None] - cx[None, :]
        dy = segs.mid_y[a : a + step, None] - cy[None, :]
        d2 = dx * dx + dy * dy
        j = np.argmin(d2, axis=1)
        ok = d2[np.arange(len(j)), j] <= tol_m * tol_m
        out[a : a + step] = np.where(ok, last[j], np.nan)
    return out


def _posix(t: datetime) -> float:
    if t.tzinfo is None:
        raise InvalidInput("planning needs timezone-aware times")
    return t.timestamp()
