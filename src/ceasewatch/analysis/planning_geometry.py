"""Geometry of sortie planning: where a drone flies so that its camera sees the line.

A drone does not fly over the contact line: it flies beside it, on its base's side, at
a standard altitude, with the camera turned square to its heading towards the line and
pitched down so that the line lies inside the footprint (`camera_standoff`). Its track
is the line offset by that standoff (`LineTrack`, built with GEOS's offset curve, round
joins), and every segment of the line has a point of the track abeam its midpoint
(`LineTrack.u_m`: how far along the track). A sweep from segment i to segment j flies
the track between their abeam points.

Only + - * / sqrt and comparisons run on arrays; the few angles come from `math`. The
offset curve and the positions along it come from GEOS, deterministic for a given GEOS
version as pyproj is for a PROJ version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from ceasewatch.analysis.segments import IntArray, Segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.fleet import Camera
from ceasewatch.geo.geodesy import FloatArray

__all__ = ["LineTrack", "Standoff", "base_side", "camera_standoff", "line_parts", "line_track"]

#: The footprint's far edge is kept within this share of the camera's max slant range.
SLANT_MARGIN = 0.95


@dataclass(frozen=True, slots=True)
class Standoff:
    """How a camera looks at the line from its track.

    Attributes:
        altitude_m: height of the drone over the ground.
        depression_deg: the camera's pitch below the horizon (90: straight down).
        standoff_m: horizontal distance from the track to the line (where the centre
            ray meets the ground).
        near_m, far_m: the footprint's near and far edges, from the track (near 0:
            the footprint reaches under the drone).
    """

    altitude_m: float
    depression_deg: float
    standoff_m: float
    near_m: float
    far_m: float


def camera_standoff(camera: Camera, altitude_m: float) -> Standoff:
    """The depression and standoff that put the line in the footprint's middle.

    The camera looks square to the track; its far edge ray meets the ground at
    `SLANT_MARGIN` x its max slant range (so the whole footprint counts as observed),
    which fixes the depression: vfov/2 + asin(altitude / far slant). The line then lies
    where the centre ray meets the ground, at altitude / tan(depression).

    Raises:
        InvalidInput: the altitude is not positive or the camera sees nothing from it.
    """
    far_slant = SLANT_MARGIN * camera.max_slant_m
    if not 0.0 < altitude_m < far_slant:
        raise InvalidInput(
            f"altitude {altitude_m} m: must be positive and below {far_slant:.0f} m, "
            f"{SLANT_MARGIN:g} x camera {camera.id}'s max slant range"
        )
    far_deg = math.degrees(math.asin(altitude_m / far_slant))
    dep = min(90.0, far_deg + camera.vfov_deg / 2.0)
    standoff = 0.0 if dep >= 90.0 else altitude_m / math.tan(math.radians(dep))
    near_deg = dep + camera.vfov_deg / 2.0
    near = 0.0 if near_deg >= 90.0 else altitude_m / math.tan(math.radians(near_deg))
    far = altitude_m / math.tan(math.radians(far_deg))
    return Standoff(altitude_m, dep, standoff, near, far)


def line_parts(segs: Segments, group: str = "line") -> list[tuple[int, IntArray, LineString]]:
    """The lines of `group`: (part, its segments' indexes in order, the polyline)."""
    sel = np.flatnonzero(segs.in_group(group))
    out = []
    for part in sorted(set(segs.part[sel].tolist())):
        idx = sel[segs.part[sel] == part]
        idx = idx[np.argsort(segs.start_m[idx], kind="stable")]
        xs = [segs.vx[segs.offsets[k] : segs.offsets[k + 1]] for k in idx.tolist()]
        ys = [segs.vy[segs.offsets[k] : segs.offsets[k + 1]] for k in idx.tolist()]
        xy = np.column_stack([np.concatenate(xs), np.concatenate(ys)])
        keep = np.r_[True, (xy[1:] != xy[:-1]).any(axis=1)]
        out.append((int(part), idx.astype(np.intp), LineString(xy[keep])))
    return out


def base_side(line: LineString, x_m: float, y_m: float) -> float:
    """+1 when the point lies left of the line (seen along its direction), else -1."""
    d = line.project(Point(x_m, y_m))
    a = line.interpolate(max(0.0, d - 1.0))
    b = line.interpolate(min(line.length, d + 1.0))
    p = line.interpolate(d)
    cross = (b.x - a.x) * (y_m - p.y) - (b.y - a.y) * (x_m - p.x)
    return 1.0 if cross >= 0.0 else -1.0


@dataclass(frozen=True, slots=True)
class LineTrack:
    """The track beside one line part, on one side.

    Attributes:
        part: the line part.
        side: +1 left of the line's direction, -1 right.
        seg: the part's segments, in order along the line.
        curve: the track, in the line's direction.
        u_m: how far along `curve` the point abeam each segment's midpoint lies
            (nondecreasing).
        x_m, y_m: that point.
    """

    part: int
    side: float
    seg: IntArray
    curve: LineString
    u_m: FloatArray
    x_m: FloatArray
    y_m: FloatArray

    def path(self, i: int, j: int, simplify_m: float) -> FloatArray:
        """(K, 2) points of the track from abeam segment position i to position j."""
        return self.path_u(float(self.u_m[i]), float(self.u_m[j]), simplify_m)

    def path_u(self, u0: float, u1: float, simplify_m: float) -> FloatArray:
        """(K, 2) points of the track from u0 to u1 metres along it (either order),
        simplified to within `simplify_m` (0: not), its ends exact."""
        lo, hi = min(u0, u1), max(u0, u1)
        xy = np.asarray(shapely.get_coordinates(self.curve), dtype=np.float64)
        d = xy[1:] - xy[:-1]
        cum = np.concatenate([[0.0], np.cumsum(np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]))])
        inner = xy[(cum > lo) & (cum < hi)]
        ends = shapely.get_coordinates(shapely.line_interpolate_point(self.curve, [u0, u1]))
        pts = np.vstack([ends[0:1], inner if u0 <= u1 else inner[::-1], ends[1:2]])
        if len(pts) > 2 and simplify_m > 0.0:
            pts = shapely.get_coordinates(LineString(pts).simplify(simplify_m))
        return np.asarray(pts, dtype=np.float64)

    def look_deg(self, forward: bool) -> float:
        """The camera's yaw from the heading that faces the line: +90 right, -90 left.
        Flying along the line's direction, a track left of the line (side +1) has the
        line on its right."""
        return 90.0 if (self.side > 0.0) == forward else -90.0


def line_track(
    part: int, seg: IntArray, line: LineString, segs: Segments, *, side: float, standoff_m: float
) -> LineTrack:
    """The track `standoff_m` to `side` of `line`, with the points abeam its segments."""
    curve: LineString = line
    if standoff_m > 0.0:
        off = shapely.line_merge(shapely.offset_curve(line, side * standoff_m, quad_segs=8))
        if off.geom_type != "LineString":
            parts = list(shapely.get_parts(off))
            if not parts:
                raise InvalidInput(f"line part {part}: no track at {standoff_m:.0f} m from it")
            off = max(parts, key=lambda g: g.length)
        curve = off
    mids = shapely.points(segs.mid_x[seg], segs.mid_y[seg])
    u = np.asarray(shapely.line_locate_point(curve, mids), dtype=np.float64)
    if len(u) > 1 and u[-1] < u[0]:
        curve = curve.reverse()
        u = np.asarray(shapely.line_locate_point(curve, mids), dtype=np.float64)
    u = np.maximum.accumulate(u)
    at = shapely.get_coordinates(shapely.line_interpolate_point(curve, u))
    return LineTrack(part, side, seg, curve, u, at[:, 0].copy(), at[:, 1].copy())
