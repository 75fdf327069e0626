"""`ceasewatch theater check`: everything that can be wrong with a theater, explained.

Reading (theater.toml, GeoJSON, each feature's geometry and properties) is
`read_theater`'s; this module adds the checks that need the whole theater over time:
one feature id valid twice at once, two sides' areas overlapping, and a contact line
that does not follow the boundary between the sides' areas, in every period between
change times (validity bounds and handovers).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
import shapely.errors
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import Problem
from ceasewatch.geo.features import Feature, FeatureKind
from ceasewatch.geo.theater import Theater, TheaterState, read_theater
from ceasewatch.records.types import format_time

__all__ = ["DEFAULT_TOLERANCE_M", "CheckReport", "check_theater"]

#: How far (metres) the contact line may stray from the areas' common boundary.
DEFAULT_TOLERANCE_M = 50.0


@dataclass
class CheckReport:
    """All problems found in a theater; it is valid when there is no error."""

    directory: Path
    problems: list[Problem] = field(default_factory=list)
    theater: Theater | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_theater(directory: Path, tolerance_m: float | None = None) -> CheckReport:
    """Check a theater directory and return every problem found.

    Args:
        directory: the theater directory (or its theater.toml).
        tolerance_m: how far the contact line may be from the boundary between the sides'
            areas; default: `[check] contact_line_tolerance_m` in theater.toml, else 50 m.
    """
    theater, problems = read_theater(directory)
    report = CheckReport(directory, list(problems), theater)
    if theater is None:
        return report
    tol, tol_problems = _tolerance(theater, tolerance_m)
    report.problems += tol_problems
    if tol is None:
        return report
    report.problems += _crs_fit(theater)
    report.problems += _overlapping_validity(theater.features)
    for start, end in theater.intervals():
        when = _period(start, end)
        try:
            probe = _probe_time(start, end)
            state = theater.at(probe)
            active = [f for f in theater.features if f.active(probe)]
            report.problems += _overlapping_areas(theater, state, active, when, tol)
            report.problems += _line_vs_boundary(theater, state, active, when, tol)
        except shapely.errors.GEOSException as exc:
            # Valid polygons can still defeat GEOS's overlay (near-coincident edges).
            report.problems.append(
                Problem(
                    f"theater geometry {when}",
                    f"cannot be combined ({exc}); look for nearly but not exactly shared "
                    "edges between areas, districts and the contact line, and snap them",
                )
            )
    return report


def _tolerance(theater: Theater, tolerance_m: float | None) -> tuple[float | None, list[Problem]]:
    """The contact line tolerance in metres, from the argument or `[check]` in theater.toml."""
    where = "tolerance_m"
    value: object = tolerance_m
    if tolerance_m is None:
        where = f"{theater.root / 'theater.toml'} [check] contact_line_tolerance_m"
        check = theater.settings.get("check", {})
        if not isinstance(check, dict):
            return None, [Problem(f"{theater.root / 'theater.toml'} [check]", "must be a table")]
        value = check.get("contact_line_tolerance_m", DEFAULT_TOLERANCE_M)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        return None, [Problem(where, f"{value!r} is not a positive number of metres")]
    return float(value), []


def _probe_time(start: datetime | None, end: datetime | None) -> datetime:
    """A time inside [start, end): the state is the same at every one of them."""
    if start is not None:
        return start
    if end is not None:
        return end - timedelta(microseconds=1)
    return datetime(2000, 1, 1, tzinfo=UTC)  # no change times: any time will do


def _period(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return "at all times"
    if start is None:
        return f"before {format_time(end)}" if end else ""
    if end is None:
        return f"from {format_time(start)}"
    return f"from {format_time(start)} to {format_time(end)}"


def _inside(bounds: tuple[float, float, float, float], lon: float, lat: float) -> bool:
    west, south, east, north = bounds
    in_lon = west <= lon <= east if west <= east else (lon >= west or lon <= east)
    return in_lon and south <= lat <= north


def _crs_fit(theater: Theater) -> list[Problem]:
    """Warn when the geometry lies outside where the theater's CRS is meant to be used.

    This also catches a file written [latitude, longitude] throughout, which the
    per-feature test cannot see (every feature agrees with the others): in the
    Caucasus, lon 46.8 lat 39.9 swapped is a valid position 2 degrees out of zone 38.
    """
    area = CRS.from_user_input(theater.crs).area_of_use
    if area is None:
        return []
    minx, miny, maxx, maxy = shapely.union_all([f.geometry for f in theater.features]).bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if _inside(area.bounds, lon, lat):
        return []
    swapped = _inside(area.bounds, lat, lon) and -90.0 <= lon <= 90.0
    return [
        Problem(
            f"{theater.root / 'theater.toml'} [theater] crs",
            f"{theater.crs} is meant for lon {area.west:g} to {area.east:g}, lat "
            f"{area.south:g} to {area.north:g}, but the geometry's centre is at lon "
            f"{lon:.4f}, lat {lat:.4f}"
            + (
                "; with longitude and latitude swapped it would fit: the GeoJSON looks "
                "written [latitude, longitude], and its order is [longitude, latitude]"
                if swapped
                else "; give the CRS of the theater's area, or leave crs out"
            ),
            "warning",
        )
    ]


def _overlapping_validity(features: tuple[Feature, ...]) -> list[Problem]:
    by_id: dict[str, list[Feature]] = {}
    for f in features:
        if f.id is not None:
            by_id.setdefault(f.id, []).append(f)
    out = []
    for fid, group in sorted(by_id.items()):
        for a, b in itertools.combinations(group, 2):
            lo = max((t for t in (a.valid_from, b.valid_from) if t), default=None)
            hi = min((t for t in (a.valid_to, b.valid_to) if t), default=None)
            if lo is None or hi is None or lo < hi:
                out.append(
                    Problem(
                        f"feature {a.index} and feature {b.index} (id {fid!r})",
                        f"both are valid {_period(lo, hi)}; one id must be valid once at a time: "
                        "give them disjoint valid_from/valid_to or different ids",
                    )
                )
    return out


def _where(theater: Theater, geom: BaseGeometry) -> str:
    """ "near lon, lat" for a geometry in local metres."""
    pt = geom.representative_point()
    lon, lat = theater.frame.to_wgs84(pt.x, pt.y)
    return f"near lon {lon[0]:.5f}, lat {lat[0]:.5f}"


def _handed_by(district: Feature, t: datetime | None) -> bool:
    """Whether the district had been handed over by t (None: the start of time)."""
    by = district.time("handover_by")
    return t is not None and by is not None and by <= t


def _labels(features: list[Feature]) -> str:
    return ", ".join(f.label for f in features)


def _overlapping_areas(
    theater: Theater, state: TheaterState, active: list[Feature], when: str, tol_m: float
) -> list[Problem]:
    out = []
    local = {s: theater.frame.to_local_geometry(g) for s, g in state.areas.items()}
    for a, b in itertools.combinations(sorted(local), 2):
        overlap = local[a].intersection(local[b])
        if overlap.area > tol_m * tol_m:
            # Name the features to fix: each side's active areas that reach the overlap.
            culprits = [
                f
                for f in active
                if f.kind is FeatureKind.CONTROL_AREA
                and f.properties.get("side") in (a, b)
                and theater.frame.to_local_geometry(f.geometry).intersection(overlap).area > 0
            ]
            out.append(
                Problem(
                    f"control areas of {a} and {b} ({_labels(culprits)})",
                    f"overlap by {overlap.area / 1e6:.3f} km² {when}, {_where(theater, overlap)}; "
                    "a place can be controlled by one side at a time: "
                    "fix the polygons or their validity",
                )
            )
    return out


def _sample(geom: BaseGeometry, step_m: float) -> np.ndarray:
    """Points every `step_m` along a (multi)line in local metres, ends included."""
    pts = []
    for line in getattr(geom, "geoms", [geom]):
        if line.geom_type != "LineString" or line.length == 0:
            continue
        n = max(int(np.ceil(line.length / step_m)), 1)
        pts.append(
            shapely.get_coordinates(
                shapely.line_interpolate_point(line, np.linspace(0, line.length, n + 1))
            )
        )
    return np.vstack(pts) if pts else np.empty((0, 2))


def _line_vs_boundary(
    theater: Theater, state: TheaterState, active: list[Feature], when: str, tol_m: float
) -> list[Problem]:
    sides = sorted(state.areas)
    if len(sides) < 2:
        return []
    lines = [f for f in active if f.kind is FeatureKind.CONTACT_LINE]
    # After a handover the line is partly derived from districts; name its sources too.
    districts = [
        f
        for f in theater.features
        if f.kind is FeatureKind.ZONE
        and f.properties.get("handover_to") is not None
        and _handed_by(f, state.start)
    ]
    whom = f"contact line ({_labels(lines + districts)})" if lines or districts else "contact line"
    line = theater.frame.to_local_geometry(state.contact_line)
    local = {s: theater.frame.to_local_geometry(g) for s, g in state.areas.items()}
    # Where two sides' areas meet: each area's boundary within tolerance of another area.
    shared = shapely.union_all(
        [
            local[a].boundary.intersection(local[b].buffer(tol_m))
            for a, b in itertools.permutations(sides, 2)
        ]
    )
    step = max(tol_m / 2, 10.0)
    out = []
    if line.is_empty:
        if shared.length > 0:
            return [
                Problem(
                    whom,
                    f"there is none {when}, but the sides' areas meet; add a contact_line feature",
                )
            ]
        return []
    if shared.length == 0:
        return [
            Problem(
                whom,
                f"has no boundary to follow {when}: no two sides' areas come within {tol_m:g} m "
                "of each other; close the gap between the areas or raise the tolerance "
                "(--tolerance-m)",
            )
        ]
    pts = _sample(line, step)
    d = shapely.distance(shared, shapely.points(pts))
    off = d > tol_m
    if off.any():
        i = int(np.argmax(d))
        lon, lat = theater.frame.to_wgs84(pts[i, 0], pts[i, 1])
        out.append(
            Problem(
                whom,
                f"does not follow the boundary between the sides' areas {when}: about "
                f"{off.sum() * step / 1000:.1f} km of it lies more than {tol_m:g} m away "
                f"(worst {d[i]:.0f} m, at lon {lon[0]:.5f}, lat {lat[0]:.5f}); "
                "move the line or the areas, or raise the tolerance (--tolerance-m)",
            )
        )
    bpts = _sample(shared, step)
    if len(bpts):
        d2 = shapely.distance(line, shapely.points(bpts))
        # 2 x tol: where the line ends at the theater's edge, `shared` runs on up to tol
        # along the outer edge of each area, which no line needs to follow.
        uncovered = d2 > 2 * tol_m
        if uncovered.any():
            i = int(np.argmax(d2))
            lon, lat = theater.frame.to_wgs84(bpts[i, 0], bpts[i, 1])
            out.append(
                Problem(
                    whom,
                    f"is missing along part of the boundary between the sides' areas {when}: about "
                    f"{uncovered.sum() * step / 1000:.1f} km with no line within {2 * tol_m:g} m "
                    f"(worst at lon {lon[0]:.5f}, lat {lat[0]:.5f}); extend the contact line",
                )
            )
    return out
