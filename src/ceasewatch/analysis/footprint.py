"""Camera ground footprints: where on the ground each telemetry sample's image lies.

A footprint is the quadrilateral where the four corner rays of the camera's field of view
meet the ground, in the theater's local plane (x east, y north, metres). It is computed
for many samples at once from position, platform attitude, gimbal angles and field of
view (`footprints`), or taken from the corner coordinates a MISB ST 0601 KLV packet
carries (tags 26-33 or 82-89, `from_corners`).

Frames. Angles follow the aerospace convention over NED (x north, y east, z down):
yaw (degrees true, clockwise from north), then pitch (nose up positive), then roll (right
wing down positive), so a body-to-NED rotation is Rz(yaw) Ry(pitch) Rx(roll). The camera
frame is a body frame too: x the boresight, y image right, z image down; a gimbal at
zero looks along the platform's nose, and gimbal pitch -90 looks straight down (as in
MAVLink's MOUNT_ORIENTATION and GIMBAL_DEVICE_ATTITUDE_STATUS, and KLV's sensor relative
angles, tags 18-20). The gimbal angles are read according to `GimbalFrame`:

- `BODY`: all three relative to the platform (KLV tags 18-20; a fixed camera mount):
  camera-to-NED = platform(yaw, pitch, roll) . gimbal(yaw, pitch, roll);
- `HORIZON`: roll and pitch from the horizon, yaw relative to the platform's heading
  (MAVLink gimbal v2 with GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME, MOUNT_ORIENTATION's
  `yaw`): camera-to-NED = Rz(platform yaw + gimbal yaw) Ry(gimbal pitch) Rx(gimbal roll);
- `EARTH`: all three in the earth frame, yaw from true north (YAW_IN_EARTH_FRAME, or
  the older YAW_LOCK; CAMERA_FEEDBACK): camera-to-NED = gimbal(yaw, pitch, roll), and
  the platform attitude plays no part.

A stabilised gimbal reports earth-frame roll and pitch, which is why `HORIZON` exists:
reading such angles as `BODY` tilts every footprint by the platform's bank.

Ground. Flat ground at `ground_elev_m` (in the vertical datum of `alt_m`; with the
default 0, `alt_m` is the height above the ground), or a DEM given as a function of the
local x, y (the hook for a GeoTIFF read with rasterio, an optional extra not needed
here): each ray's hit is then found by fixed-point iteration on the elevation under it,
exact on flat ground and converging while the terrain's slope stays below the ray's
depression; occlusion by terrain is not modelled. Earth curvature is ignored (the ground
drops d²/2R: 0.08 m at 1 km, 2 m at 5 km).

Clipping. A corner ray at or above the horizon, or meeting the ground farther than
`max_slant_m`, is replaced by the ground point at slant range `max_slant_m` along the
ray's horizontal direction. If the four points are then not a convex quadrilateral (it
can happen with roll and clipping), they are replaced by their convex hull (a repeated
vertex when one point lies inside the other three), so every valid footprint is a
convex, clockwise, non-self-intersecting quadrilateral. A footprint is invalid (corners
NaN) when an input is not finite, the camera is not above the ground or is higher than
`max_slant_m`, every corner ray is at or above the horizon (the camera sees no ground),
or its area is under `MIN_AREA_M2`.

Determinism. Only + - * / sqrt, floor, round and comparisons run on the arrays; sines
and cosines come from `sincos_deg`, a polynomial in those operations (IEEE 754 makes
each exact to the bit on every CPU, where numpy's own sin and cos differ between SIMD
code paths). The projection to the local plane (pyproj) is the one non-elementary step,
deterministic for a given PROJ version as everywhere in ceasewatch; grid convergence and
scale come from pyproj at the nodes of a fixed 0.05 degree lattice, bilinearly
interpolated, so a sample's footprint does not depend on the batch it came in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame, forward

__all__ = [
    "MIN_AREA_M2",
    "ElevationFn",
    "Footprints",
    "GimbalFrame",
    "convex_quads",
    "footprints",
    "from_corners",
    "sincos_deg",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
ArrayLike = float | FloatArray | npt.ArrayLike

#: Elevation (metres, the datum of `alt_m`) of the ground at local x, y (metres).
ElevationFn = Callable[[FloatArray, FloatArray], FloatArray]

#: A footprint smaller than this (m²) is no footprint: it is marked invalid.
MIN_AREA_M2 = 1.0
#: Spacing (degrees) of the lattice on which the plane's convergence and scale are taken.
JACOBIAN_STEP_DEG = 0.05
_JAC_DIST_M = 10.0  # half the finite-difference baseline at each lattice node
_CHUNK = 1 << 15  # samples per task: the (n, 5) ray arrays stay in cache
_FALLBACK_H_M = 1.0  # with a DEM, the least height of the camera over a ray's ground


class GimbalFrame(IntEnum):
    """How the gimbal angles are given (see the module docstring)."""

    BODY = 0
    HORIZON = 1
    EARTH = 2


# Taylor coefficients of sin (r^3 .. r^15) and cos (r^2 .. r^16) on |r| <= pi/4: the
# first term left out is below 1e-16 relative, under half an ulp.
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(1, 8))
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(1, 9))
_RAD = math.pi / 180.0


def sincos_deg(angle_deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Sine and cosine of angles in degrees, bit-identical on every CPU.

    The angle is reduced to the nearest multiple of 90 degrees (so 0, 90, 180... give
    exact 0 and 1) and a Taylor polynomial of degree 15/16 is evaluated on the rest,
    within 2 ulp of the true values. Only IEEE 754 basic operations are used.
    """
    a = np.asarray(angle_deg, dtype=np.float64)
    q = np.round(a / 90.0)
    r = (a - q * 90.0) * _RAD
    r2 = r * r
    ps = np.full_like(r2, _SIN[-1])
    for c in _SIN[-2::-1]:
        ps = ps * r2 + c
    s = r + r * (r2 * ps)
    pc = np.full_like(r2, _COS[-1])
    for c in _COS[-2::-1]:
        pc = pc * r2 + c
    co = 1.0 + r2 * pc
    k = np.mod(q, 4.0)
    sin = np.where(k == 0.0, s, np.where(k == 1.0, co, np.where(k == 2.0, -s, -co)))
    cos = np.where(k == 0.0, co, np.where(k == 1.0, -s, np.where(k == 2.0, -co, s)))
    return sin, cos


@dataclass(frozen=True, slots=True)
class Footprints:
    """Ground footprints of N camera samples, in the theater's local plane.

    Attributes:
        corners_m: (N, 4, 2) x east, y north (metres), clockwise seen from above. In
            MISB ST 0601 order (upper left, upper right, lower right, lower left) unless
            `reordered`. NaN where not `valid`.
        valid: a footprint exists (see the module docstring for when it does not).
        slant_m: slant range of the centre ray to the ground (inf when it is at or above
            the horizon, NaN when unknown: KLV corners without tag 21).
        clipped: some corner was clipped at `max_slant_m` (or at the horizon).
        reordered: the corners were replaced by their convex hull.
        gsd_m: ground sample distance at the image centre, the coarser of across and
            along the view (square pixels): slant * 2 tan(hfov/2) / width_px /
            sin(depression). NaN unless `image_width_px` was given.
        nadir_m: (N, 2) the camera's position in the plane.
    """

    corners_m: FloatArray
    valid: BoolArray
    slant_m: FloatArray
    clipped: BoolArray
    reordered: BoolArray
    gsd_m: FloatArray
    nadir_m: FloatArray

    def __len__(self) -> int:
        return len(self.valid)

    def usable(self, max_slant_m: float | None = None, max_gsd_m: float | None = None) -> BoolArray:
        """Valid footprints whose centre slant range and GSD are within the limits given.

        A footprint counts as *observed* only when it is usable: beyond some range (or
        GSD) nothing can be recognised in the image, however much ground it spans.
        """
        ok = self.valid.copy()
        if max_slant_m is not None:
            ok &= self.slant_m <= max_slant_m
        if max_gsd_m is not None:
            ok &= self.gsd_m <= max_gsd_m
        return ok

    def polygons(self) -> npt.NDArray[Any]:
        """Shapely polygons (None where not valid), e.g. to export or to check."""
        out = np.full(len(self.valid), None, dtype=object)
        v = np.flatnonzero(self.valid)
        if len(v):
            out[v] = shapely.polygons(self.corners_m[v])
        return out


def footprints(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    alt_m: ArrayLike,
    yaw_deg: ArrayLike,
    pitch_deg: ArrayLike,
    roll_deg: ArrayLike,
    gimbal_yaw_deg: ArrayLike,
    gimbal_pitch_deg: ArrayLike,
    gimbal_roll_deg: ArrayLike,
    *,
    hfov_deg: ArrayLike,
    vfov_deg: ArrayLike,
    frame: LocalFrame,
    gimbal_frame: GimbalFrame | npt.ArrayLike = GimbalFrame.BODY,
    ground_elev_m: float | ElevationFn = 0.0,
    max_slant_m: float = 5000.0,
    image_width_px: ArrayLike | None = None,
    xy_m: tuple[FloatArray, FloatArray] | None = None,
    dem_iterations: int = 4,
    workers: int | None = None,
) -> Footprints:
    """Ground footprints of camera samples (vectorised; see the module docstring).

    Every argument but `frame` may be a scalar or an array of the samples' length.

    Args:
        lat_deg, lon_deg: camera position, WGS84.
        alt_m: camera altitude in the datum of the ground elevation (with the default
            flat ground at 0: height above the ground).
        yaw_deg, pitch_deg, roll_deg: platform attitude (yaw in degrees true).
        gimbal_yaw_deg, gimbal_pitch_deg, gimbal_roll_deg: camera attitude, read as
            `gimbal_frame` says (pitch -90: looking straight down).
        hfov_deg, vfov_deg: full horizontal and vertical fields of view, in (0, 180).
        frame: the theater's local plane.
        gimbal_frame: a `GimbalFrame` for all samples, or an array of them (e.g. from
            MAVLink's per-message `yaw_in_earth_frame`).
        ground_elev_m: flat ground elevation, or a DEM: elevation at local (x, y).
        max_slant_m: rays are clipped at this slant range (see the module docstring).
        image_width_px: image width in pixels, for `gsd_m`.
        xy_m: the positions already in the local plane (skips the projection).
        dem_iterations: fixed-point passes on a DEM.
        workers: threads (default: the CPUs available, at most 8).

    Returns:
        `Footprints` for every sample, in input order.
    """
    if not max_slant_m > 0.0:
        raise InvalidInput(f"max_slant_m must be positive, not {max_slant_m}")
    named = (
        (lat_deg, "lat_deg"),
        (lon_deg, "lon_deg"),
        (alt_m, "alt_m"),
        (yaw_deg, "yaw_deg"),
        (pitch_deg, "pitch_deg"),
        (roll_deg, "roll_deg"),
        (gimbal_yaw_deg, "gimbal_yaw_deg"),
        (gimbal_pitch_deg, "gimbal_pitch_deg"),
        (gimbal_roll_deg, "gimbal_roll_deg"),
        (hfov_deg, "hfov_deg"),
        (vfov_deg, "vfov_deg"),
        (image_width_px, "image_width_px"),
    )
    arrays = [_f64(np.nan if v is None else v) for v, _ in named]
    n = max((len(a) for a in arrays if a.ndim == 1), default=1)
    for a, (_, name) in zip(arrays, named, strict=True):
        if a.ndim > 1 or (a.ndim == 1 and len(a) != n):
            raise InvalidInput(f"{name} has shape {a.shape}; give a scalar or ({n},)")
    lat, lon, *angles = (np.broadcast_to(a, (n,)) for a in arrays)
    mode = np.asarray(gimbal_frame)
    if not np.isin(mode, [int(g) for g in GimbalFrame]).all():
        raise InvalidInput(f"gimbal_frame must be GimbalFrame values, not {np.unique(mode)}")
    modes = np.broadcast_to(mode.astype(np.int8), (n,))
    if xy_m is None:
        x0, y0 = frame.to_local(lon, lat) if n else (np.zeros(0), np.zeros(0))
    else:
        x0, y0 = (np.broadcast_to(_f64(v), (n,)) for v in xy_m)
    jac = _Jacobian(frame, lon, lat)
    work = max(1, workers or min(len(os.sched_getaffinity(0)), 8))
    corners = np.full((n, 4, 2), np.nan)
    valid = np.zeros(n, dtype=bool)
    slant, gsd = np.full(n, np.nan), np.full(n, np.nan)
    clipped, reordered = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)

    def task(s: slice) -> None:
        alt, yaw, pit, rol, gy, gp, gr, hf, vf, wpx = (a[s] for a in angles)
        out = _rays(
            (x0[s], y0[s]),
            jac.at(lon[s], lat[s]),
            alt,
            (yaw, pit, rol),
            (gy, gp, gr),
            modes[s],
            (hf, vf),
            ground_elev_m,
            max_slant_m,
            dem_iterations,
        )
        corners[s], valid[s], slant[s], clipped[s], reordered[s], tan_h, sin_dep = out
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.where(sin_dep > 0.0, slant[s] * 2.0 * tan_h / wpx / sin_dep, np.inf)
            gsd[s] = np.where(valid[s] & ~np.isnan(wpx), g, np.nan)

    chunks = [slice(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    if work == 1 or len(chunks) <= 1:
        for c in chunks:
            task(c)
    else:
        with ThreadPoolExecutor(min(work, len(chunks))) as pool:
            list(pool.map(task, chunks))
    return Footprints(
        corners_m=corners,
        valid=valid,
        slant_m=slant,
        clipped=clipped,
        reordered=reordered,
        gsd_m=gsd,
        nadir_m=np.column_stack([x0, y0]),
    )


def from_corners(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    frame: LocalFrame,
    *,
    slant_m: ArrayLike | None = None,
    sensor_lat_deg: ArrayLike | None = None,
    sensor_lon_deg: ArrayLike | None = None,
) -> Footprints:
    """Footprints from the corner coordinates a KLV packet carries (ST 0601 tags 82-89,
    or frame centre + offsets, tags 23-24 and 26-33: `KlvPacket.corners_deg()`).

    Args:
        lat_deg, lon_deg: (N, 4) corners 1 upper left, 2 upper right, 3 lower right,
            4 lower left, WGS84 degrees.
        frame: the theater's local plane.
        slant_m: the slant range (tag 21), if known: kept for `usable`.
        sensor_lat_deg, sensor_lon_deg: the sensor position (tags 13-14), for `nadir_m`.

    Returns:
        `Footprints` made convex and clockwise like `footprints` makes them; invalid
        where a corner is missing (NaN) or the quadrilateral has under `MIN_AREA_M2`.
    """
    lat, lon = (np.asarray(v, dtype=np.float64) for v in (lat_deg, lon_deg))
    if lat.ndim != 2 or lat.shape[1] != 4 or lon.shape != lat.shape:
        raise InvalidInput(f"corner lat/lon must both have shape (N, 4), not {lat.shape}")
    n = len(lat)
    x, y = frame.to_local(lon.ravel(), lat.ravel())
    x, y = x.reshape(n, 4), y.reshape(n, 4)
    # Work relative to each quad's first corner: coordinates near 0 keep rounding small.
    ox, oy = x[:, :1].copy(), y[:, :1].copy()
    qx, qy, fixed = convex_quads(x - ox, y - oy)
    valid = np.isfinite(qx).all(axis=1) & np.isfinite(qy).all(axis=1)
    valid &= -_area(qx, qy) >= MIN_AREA_M2
    corners = np.stack([qx + ox, qy + oy], axis=2)
    corners[~valid] = np.nan
    if sensor_lat_deg is not None and sensor_lon_deg is not None:
        sla, slo = np.broadcast_arrays(_f64(sensor_lat_deg), _f64(sensor_lon_deg))
        nx, ny = frame.to_local(np.broadcast_to(slo, (n,)), np.broadcast_to(sla, (n,)))
        nadir = np.column_stack([nx, ny])
    else:
        nadir = np.full((n, 2), np.nan)
    slant = np.broadcast_to(_f64(np.nan if slant_m is None else slant_m), (n,)).copy()
    return Footprints(
        corners_m=corners,
        valid=valid,
        slant_m=slant,
        clipped=np.zeros(n, dtype=bool),
        reordered=fixed & valid,
        gsd_m=np.full(n, np.nan),
        nadir_m=nadir,
    )


def convex_quads(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Make quadrilaterals convex and clockwise (seen from above, x east, y north).

    Args:
        x, y: (N, 4) vertices.

    Returns:
        (x, y, reordered): a convex clockwise quadrilateral is kept as it is; a
        counter-clockwise one is reversed (its first vertex stays first); any other is
        replaced by the convex hull of its four points, clockwise, one vertex repeated
        when only three are on the hull. `reordered` marks the last two kinds.
    """
    x, y = x.copy(), y.copy()
    c = _turns(x, y)
    cw = (c <= 0.0).all(axis=1)
    ccw = ~cw & (c >= 0.0).all(axis=1)
    rev = np.flatnonzero(ccw)
    x[rev], y[rev] = x[rev][:, ::-1], y[rev][:, ::-1]
    x[rev], y[rev] = np.roll(x[rev], 1, axis=1), np.roll(y[rev], 1, axis=1)
    bad = np.flatnonzero(~cw & ~ccw & np.isfinite(c).all(axis=1))
    if len(bad):
        x[bad], y[bad] = _hull4(x[bad], y[bad])
    fixed = np.zeros(len(x), dtype=bool)
    fixed[rev] = True
    fixed[bad] = True
    return x, y, fixed


# -- internals ----------------------------------------------------------------------------


def _f64(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=np.float64)


def _turns(x: FloatArray, y: FloatArray) -> FloatArray:
    """(N, 4) cross products of consecutive edges at each vertex (< 0: a right turn)."""
    ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
    px, py = np.roll(ex, 1, axis=1), np.roll(ey, 1, axis=1)
    out: FloatArray = px * ey - py * ex
    return out


def _area(x: FloatArray, y: FloatArray) -> FloatArray:
    """Signed area (shoelace) of (N, 4) quadrilaterals: negative when clockwise."""
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    t = x * yn - xn * y
    out: FloatArray = (t[:, 0] + t[:, 1] + t[:, 2] + t[:, 3]) / 2.0
    return out


def _hull4(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convex hull of 4 points per row, clockwise, as 4 vertices (one repeated if needed).

    Graham's scan on four points: the lowest point (then leftmost) is on the hull; the
    other three, sorted counter-clockwise around it by cross products (ties: nearer
    first), give the hull, but for the middle one when it makes no left turn.
    """
    rows = np.arange(len(x))
    order = np.lexsort((x, y), axis=1)
    x, y = x[rows[:, None], order], y[rows[:, None], order]
    ax, ay = x[:, :1], y[:, :1]
    qx, qy = x[:, 1:] - ax, y[:, 1:] - ay  # (n, 3), every one at or above the anchor

    def swap_if(i: int, j: int) -> None:
        cr = qx[:, i] * qy[:, j] - qy[:, i] * qx[:, j]
        di = qx[:, i] * qx[:, i] + qy[:, i] * qy[:, i]
        dj = qx[:, j] * qx[:, j] + qy[:, j] * qy[:, j]
        s = (cr < 0.0) | ((cr == 0.0) & (di > dj))
        for q in (qx, qy):
            qi, qj = q[:, i].copy(), q[:, j].copy()
            q[:, i], q[:, j] = np.where(s, qj, qi), np.where(s, qi, qj)

    swap_if(0, 1)
    swap_if(1, 2)
    swap_if(0, 1)
    turn = (qx[:, 1] - qx[:, 0]) * (qy[:, 2] - qy[:, 1]) - (qy[:, 1] - qy[:, 0]) * (
        qx[:, 2] - qx[:, 1]
    )
    drop = ~(turn > 0.0)
    qx[drop, 1], qy[drop, 1] = qx[drop, 0], qy[drop, 0]
    # Counter-clockwise anchor, q0, q1, q2 -> clockwise anchor, q2, q1, q0.
    hx = np.column_stack([np.zeros(len(x)), qx[:, 2], qx[:, 1], qx[:, 0]]) + ax
    hy = np.column_stack([np.zeros(len(x)), qy[:, 2], qy[:, 1], qy[:, 0]]) + ay
    return hx, hy


class _Jacobian:
    """d(x, y)/d(east, north) of the local plane, on a fixed lattice of lon/lat nodes.

    The plane's grid north is off true north by the grid convergence (about 1 degree at
    the edge of a UTM zone: 17 m at 1 km), and its scale is not quite 1; both vary slowly,
    so they are taken from pyproj at lattice nodes and interpolated bilinearly.
    """

    def __init__(self, frame: LocalFrame, lon: FloatArray, lat: FloatArray) -> None:
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            self.i0 = self.j0 = 0
            self.nodes = np.full((1, 1, 4), np.nan)
            return
        step = JACOBIAN_STEP_DEG
        i0 = math.floor(float(lon[ok].min()) / step)
        i1 = math.floor(float(lon[ok].max()) / step) + 1
        j0 = math.floor(float(lat[ok].min()) / step)
        j1 = math.floor(float(lat[ok].max()) / step) + 1
        if (i1 - i0 + 1) * (j1 - j0 + 1) > 4_000_000:
            raise InvalidInput(
                "samples spread over more than a continent; compute footprints per theater"
            )
        gi, gj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
        nlon = (gi * step).ravel().astype(np.float64)
        nlat = np.clip((gj * step).ravel().astype(np.float64), -89.9, 89.9)
        cols = []
        for az in (90.0, 270.0, 0.0, 180.0):
            lo, la = forward(nlon, nlat, az, _JAC_DIST_M)
            cols.append(frame.to_local(lo, la))
        (xe, ye), (xw, yw), (xn, yn), (xs, ys) = cols
        d = 2.0 * _JAC_DIST_M
        jac = np.stack([(xe - xw) / d, (xn - xs) / d, (ye - yw) / d, (yn - ys) / d], axis=1)
        self.i0, self.j0 = i0, j0
        self.nodes = jac.reshape(i1 - i0 + 1, j1 - j0 + 1, 4)

    def at(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, ...]:
        """(dx/dE, dx/dN, dy/dE, dy/dN) at each point (NaN where lon/lat are not finite)."""
        ni, nj = self.nodes.shape[:2]
        with np.errstate(invalid="ignore"):
            fi, fj = lon / JACOBIAN_STEP_DEG, lat / JACOBIAN_STEP_DEG
            bi, bj = np.floor(fi), np.floor(fj)
            ok = np.isfinite(fi) & np.isfinite(fj)
            i = np.clip(np.where(ok, bi, self.i0) - self.i0, 0, ni - 2 if ni > 1 else 0)
            j = np.clip(np.where(ok, bj, self.j0) - self.j0, 0, nj - 2 if nj > 1 else 0)
        i, j = i.astype(np.intp), j.astype(np.intp)
        u, v = fi - bi, fj - bj
        i1, j1 = np.minimum(i + 1, ni - 1), np.minimum(j + 1, nj - 1)
        n00, n10 = self.nodes[i, j], self.nodes[i1, j]
        n01, n11 = self.nodes[i, j1], self.nodes[i1, j1]
        u, v = u[:, None], v[:, None]
        val = (n00 * (1.0 - u) + n10 * u) * (1.0 - v) + (n01 * (1.0 - u) + n11 * u) * v
        val[~ok] = np.nan
        return tuple(val.T)


def _rotation(
    s: tuple[FloatArray, FloatArray, FloatArray], c: tuple[FloatArray, FloatArray, FloatArray]
) -> list[list[FloatArray]]:
    """Rz(yaw) Ry(pitch) Rx(roll) from the sines and cosines of (yaw, pitch, roll)."""
    sy, sp, sr = s
    cy, cp, cr = c
    return [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]


def _matmul(a: list[list[FloatArray]], b: list[list[FloatArray]]) -> list[list[FloatArray]]:
    """3x3 product of per-sample matrices, spelled out (BLAS may fuse multiply-adds)."""
    return [
        [a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)]
        for i in range(3)
    ]


# Image-plane coordinates of the rays: centre, then ST 0601 corners 1-4 (UL, UR, LR, LL);
# u to the image's right, v down, in units of tan(half fov).
_U = np.array([0.0, -1.0, 1.0, 1.0, -1.0])
_V = np.array([0.0, -1.0, -1.0, 1.0, 1.0])


def _rays(
    xy0: tuple[FloatArray, FloatArray],
    jac: tuple[FloatArray, ...],
    alt: FloatArray,
    platform: tuple[FloatArray, FloatArray, FloatArray],
    gimbal: tuple[FloatArray, FloatArray, FloatArray],
    mode: npt.NDArray[np.int8],
    fov: tuple[FloatArray, FloatArray],
    ground: float | ElevationFn,
    max_slant: float,
    dem_iterations: int,
) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray, BoolArray, FloatArray, FloatArray]:
    x0, y0 = xy0
    a, b, c, d = jac
    yaw, pitch, roll = platform
    gyaw = gimbal[0] + np.where(mode == GimbalFrame.HORIZON, yaw, 0.0)
    sp_, cp_ = zip(*(sincos_deg(v) for v in platform), strict=True)
    sg_, cg_ = zip(*(sincos_deg(v) for v in (gyaw, gimbal[1], gimbal[2])), strict=True)
    rg = _rotation(sg_, cg_)
    rb = _matmul(_rotation(sp_, cp_), rg)
    body = mode == GimbalFrame.BODY
    rot = [[np.where(body, rb[i][j], rg[i][j]) for j in range(3)] for i in range(3)]
    sh, ch = sincos_deg(fov[0] / 2.0)
    sv, cv = sincos_deg(fov[1] / 2.0)
    fov_ok = (fov[0] > 0.0) & (fov[0] < 180.0) & (fov[1] > 0.0) & (fov[1] < 180.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        th, tv = sh / ch, sv / cv
    u, v = _U * th[:, None], _V * tv[:, None]  # (n, 5)
    rn, re, rd = (
        rot[i][0][:, None] + u * rot[i][1][:, None] + v * rot[i][2][:, None] for i in range(3)
    )
    hor = np.sqrt(rn * rn + re * re)
    norm = np.sqrt(rn * rn + re * re + rd * rd)
    # Horizontal direction of each ray; straight up or down, the frustum's mean direction
    # (straight up and down too: north).
    mn, me = rn[:, 1:].sum(axis=1), re[:, 1:].sum(axis=1)
    mh = np.sqrt(mn * mn + me * me)
    with np.errstate(invalid="ignore", divide="ignore"):
        dn = np.where(hor > 0.0, rn / hor, np.where(mh > 0.0, mn / mh, 1.0)[:, None])
        de = np.where(hor > 0.0, re / hor, np.where(mh > 0.0, me / mh, 0.0)[:, None])

    def hits(h: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
        """Plane offsets (dx, dy) of each ray's ground point, its slant, and clipping."""
        with np.errstate(invalid="ignore", divide="ignore"):
            below = rd > 0.0
            t = np.where(below, h / rd, np.inf)
            slant = t * norm
            clip = ~(slant <= max_slant)
            reach = np.sqrt(np.maximum(max_slant * max_slant - h * h, 0.0))
            ground_e = np.where(clip, de * reach, t * re)
            ground_n = np.where(clip, dn * reach, t * rn)
        return (
            a[:, None] * ground_e + b[:, None] * ground_n,
            c[:, None] * ground_e + d[:, None] * ground_n,
            slant,
            clip,
        )

    if callable(ground):
        z0 = np.asarray(ground(x0, y0), dtype=np.float64)
        h_nadir = alt - z0
        h = np.repeat(h_nadir[:, None], 5, axis=1)
        for _ in range(dem_iterations):
            dx, dy, _s, _c = hits(np.maximum(h, _FALLBACK_H_M))
            z = np.asarray(ground((x0[:, None] + dx).ravel(), (y0[:, None] + dy).ravel()))
            h = alt[:, None] - z.reshape(h.shape)
        h = np.maximum(h, _FALLBACK_H_M)
    else:
        h_nadir = alt - float(ground)
        h = np.broadcast_to(h_nadir[:, None], rd.shape)
    dx, dy, slant, clip = hits(h)
    # The ground within max_slant is seen if a corner ray meets it, or if the nadir is in
    # the field of view (a wide lens looking down from high up: the corners all clipped).
    # Else the clipped corners would make up a polygon of ground the camera does not see.
    nx, ny, nz = rot[2]  # the nadir (0, 0, 1) in the camera frame: row 3 of camera-to-NED
    with np.errstate(invalid="ignore"):
        nadir_seen = (nx > 0.0) & (np.abs(ny) <= th * nx) & (np.abs(nz) <= tv * nx)
    centre_below = rd[:, 0] > 0.0
    slant_c = np.where(centre_below, slant[:, 0], np.inf)
    qx, qy, fixed = convex_quads(dx[:, 1:], dy[:, 1:])
    valid = (
        np.isfinite(x0)
        & np.isfinite(y0)
        & np.isfinite(alt)
        & np.isfinite(qx).all(axis=1)
        & np.isfinite(qy).all(axis=1)
        & ~np.isnan(slant_c)
        & fov_ok
        & (h_nadir > 0.0)
        & (h_nadir < max_slant)
        & ((~clip[:, 1:]).any(axis=1) | nadir_seen)
    )
    with np.errstate(invalid="ignore"):
        valid &= -_area(qx, qy) >= MIN_AREA_M2
    corners = np.stack([qx + x0[:, None], qy + y0[:, None]], axis=2)
    corners[~valid] = np.nan
    slant_c = np.where(valid, slant_c, np.nan)
    return (
        corners,
        valid,
        slant_c,
        clip[:, 1:].any(axis=1) & valid,
        fixed & valid,
        th,
        np.where(centre_below, rd[:, 0] / norm[:, 0], 0.0),
    )
