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
NaN) when an input is not finite, a field of view is not in (0, 180), the camera is not
above the ground or is higher than `max_slant_m`, no corner ray meets the ground within
`max_slant_m` and the nadir is not in view either (clipped corners would then outline
ground the camera does not see: a camera looking at the horizon from too high up), or
its area is under `MIN_AREA_M2`. `Footprints.usable` then says which count as observed:
within a usable slant range of the centre ray, or ground sample distance.

Determinism. Only + - * / sqrt, floor, round and comparisons run on the arrays; sines
and cosines come from `sincos_deg`, a polynomial in those operations (IEEE 754 makes
each exact to the bit on every CPU, where numpy's own sin and cos differ between SIMD
code paths). The projection to the local plane (pyproj) is the one non-elementary step,
deterministic for a given PROJ version as everywhere in ceasewatch; the plane's grid
convergence and scale come from pyproj at the nodes of a fixed 0.05 degree lattice and
are interpolated bilinearly, so a sample's footprint does not depend on the batch it
came in (a test computes a batch whole, in two parts and on two threads: same bits).
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
_CHUNK = 1 << 13  # samples per task: the (4, n) ray arrays stay in cache
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
    r = a - q * 90.0
    r *= _RAD
    r2 = r * r
    ps = r2 * _SIN[-1]
    ps += _SIN[-2]
    for c in _SIN[-3::-1]:
        ps *= r2
        ps += c
    ps *= r2
    ps *= r
    ps += r  # sin r
    pc = r2 * _COS[-1]
    pc += _COS[-2]
    for c in _COS[-3::-1]:
        pc *= r2
        pc += c
    pc *= r2
    pc += 1.0  # cos r
    k = np.mod(q, 4.0)
    odd = (k == 1.0) | (k == 3.0)
    sin = np.where(odd, pc, ps)
    cos = np.where(odd, ps, pc)
    np.negative(sin, out=sin, where=k >= 2.0)
    np.negative(cos, out=cos, where=(k == 1.0) | (k == 2.0))
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
        """Valid footprints whose centre slant range and GSD are within the limits given
        (an unknown one, NaN, fails its limit).

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
    *,
    yaw_deg: ArrayLike,
    pitch_deg: ArrayLike,
    roll_deg: ArrayLike,
    gimbal_yaw_deg: ArrayLike,
    gimbal_pitch_deg: ArrayLike,
    gimbal_roll_deg: ArrayLike,
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
    named = {
        "lat_deg": lat_deg,
        "lon_deg": lon_deg,
        "alt_m": alt_m,
        "yaw_deg": yaw_deg,
        "pitch_deg": pitch_deg,
        "roll_deg": roll_deg,
        "gimbal_yaw_deg": gimbal_yaw_deg,
        "gimbal_pitch_deg": gimbal_pitch_deg,
        "gimbal_roll_deg": gimbal_roll_deg,
        "hfov_deg": hfov_deg,
        "vfov_deg": vfov_deg,
        "image_width_px": np.nan if image_width_px is None else image_width_px,
    }
    arrays = {k: _f64(v) for k, v in named.items()}
    mode = np.asarray(gimbal_frame, dtype=np.int8)
    if not np.isin(mode, [int(g) for g in GimbalFrame]).all():
        raise InvalidInput(f"gimbal_frame must be GimbalFrame values, not {np.unique(mode)}")
    shapes: dict[str, tuple[int, ...]] = {k: v.shape for k, v in arrays.items()}
    shapes["gimbal_frame"] = mode.shape
    n = max((sh[0] for sh in shapes.values() if len(sh) == 1), default=1)
    for k, sh in shapes.items():
        if len(sh) > 1 or (len(sh) == 1 and sh[0] != n):
            v = arrays.get(k, mode)
            raise InvalidInput(f"{k} has shape {v.shape}; give a scalar or ({n},)")
    # Scalars stay 0-d: their sines and cosines are then taken once, not per sample.
    lat = np.broadcast_to(arrays.pop("lat_deg"), (n,))
    lon = np.broadcast_to(arrays.pop("lon_deg"), (n,))
    if xy_m is None:
        x0, y0 = frame.to_local(lon, lat) if n else (np.zeros(0), np.zeros(0))
    else:
        x0, y0 = (np.broadcast_to(_f64(v), (n,)) for v in xy_m)
    jac = _Jacobian(frame, lon, lat)
    out = Footprints(
        corners_m=np.full((n, 4, 2), np.nan),
        valid=np.zeros(n, dtype=bool),
        slant_m=np.full(n, np.nan),
        clipped=np.zeros(n, dtype=bool),
        reordered=np.zeros(n, dtype=bool),
        gsd_m=np.full(n, np.nan),
        nadir_m=np.column_stack([x0, y0]),
    )

    def task(s: slice) -> None:
        def cut(v: FloatArray) -> FloatArray:
            return v if v.ndim == 0 else v[s]

        sample = _Sample(
            x0=x0[s],
            y0=y0[s],
            jac=jac.at(lon[s], lat[s]),
            mode=mode if mode.ndim == 0 else mode[s],
            **{k: cut(v) for k, v in arrays.items()},
        )
        _footprint_chunk(
            sample, out, s, ground=ground_elev_m, max_slant=max_slant_m, iterations=dem_iterations
        )

    chunks = [slice(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    work = max(1, workers or min(len(os.sched_getaffinity(0)), 8))
    if work == 1 or len(chunks) <= 1:
        for c in chunks:
            task(c)
    else:
        with ThreadPoolExecutor(min(work, len(chunks))) as pool:
            list(pool.map(task, chunks))
    return out


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
            self.flat = [np.full(1, np.nan) for _ in range(4)]
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
        self.flat = [self.nodes[:, :, k].ravel().copy() for k in range(4)]

    def at(
        self, lon: FloatArray, lat: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(dx/dE, dx/dN, dy/dE, dy/dN) at each point (NaN where lon/lat are not finite)."""
        ni, nj = self.nodes.shape[:2]
        with np.errstate(invalid="ignore"):
            fi = lon / JACOBIAN_STEP_DEG - self.i0
            fj = lat / JACOBIAN_STEP_DEG - self.j0
            bi = np.clip(np.floor(fi), 0, max(ni - 2, 0))
            bj = np.clip(np.floor(fj), 0, max(nj - 2, 0))
            bi[~np.isfinite(bi)] = 0
            bj[~np.isfinite(bj)] = 0
        u, v = fi - bi, fj - bj
        idx = bi.astype(np.intp) * nj + bj.astype(np.intp)
        di, dj = (nj if ni > 1 else 0), (1 if nj > 1 else 0)
        w11 = u * v
        w10 = u - w11  # u (1 - v)
        w01 = v - w11  # (1 - u) v
        w00 = 1.0 - u - w01  # (1 - u)(1 - v)
        out = []
        for k in range(4):
            node = self.flat[k]
            val = node[idx] * w00
            val += node[idx + di] * w10
            val += node[idx + dj] * w01
            val += node[idx + di + dj] * w11
            out.append(val)
        return out[0], out[1], out[2], out[3]


def _rotation(
    s: tuple[FloatArray, FloatArray, FloatArray], c: tuple[FloatArray, FloatArray, FloatArray]
) -> list[list[FloatArray]]:
    """Rz(yaw) Ry(pitch) Rx(roll) from the sines and cosines of (yaw, pitch, roll)."""
    sy, sp, sr = s
    cy, cp, cr = c
    spsr, spcr = sp * sr, sp * cr
    return [
        [cy * cp, cy * spsr - sy * cr, cy * spcr + sy * sr],
        [sy * cp, sy * spsr + cy * cr, sy * spcr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]


def _matmul(a: list[list[FloatArray]], b: list[list[FloatArray]]) -> list[list[FloatArray]]:
    """3x3 product of per-sample matrices, spelled out (BLAS may fuse multiply-adds)."""
    return [
        [a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)]
        for i in range(3)
    ]


@dataclass(frozen=True, slots=True)
class _Sample:
    """One chunk of inputs; angles and fields of view may be 0-d (the same for all)."""

    x0: FloatArray
    y0: FloatArray
    jac: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    mode: npt.NDArray[np.int8]
    alt_m: FloatArray
    yaw_deg: FloatArray
    pitch_deg: FloatArray
    roll_deg: FloatArray
    gimbal_yaw_deg: FloatArray
    gimbal_pitch_deg: FloatArray
    gimbal_roll_deg: FloatArray
    hfov_deg: FloatArray
    vfov_deg: FloatArray
    image_width_px: FloatArray


def _camera_to_ned(p: _Sample) -> list[list[FloatArray]]:
    """The camera-to-NED rotation of each sample (see `GimbalFrame`)."""
    mode = p.mode
    gyaw = p.gimbal_yaw_deg
    if mode.ndim == 0:
        if mode == GimbalFrame.HORIZON:
            gyaw = gyaw + p.yaw_deg
    else:
        gyaw = gyaw + np.where(mode == GimbalFrame.HORIZON, p.yaw_deg, 0.0)
    sg, cg = zip(
        *(sincos_deg(v) for v in (gyaw, p.gimbal_pitch_deg, p.gimbal_roll_deg)), strict=True
    )
    rg = _rotation(sg, cg)
    if mode.ndim == 0 and mode != GimbalFrame.BODY:
        return rg
    sp, cp = zip(*(sincos_deg(v) for v in (p.yaw_deg, p.pitch_deg, p.roll_deg)), strict=True)
    rb = _matmul(_rotation(sp, cp), rg)
    if mode.ndim == 0:
        return rb
    body = mode == GimbalFrame.BODY
    return [[np.where(body, rb[i][j], rg[i][j]) for j in range(3)] for i in range(3)]


def _footprint_chunk(
    p: _Sample,
    out: Footprints,
    s: slice,
    *,
    ground: float | ElevationFn,
    max_slant: float,
    iterations: int,
) -> None:
    """Footprints of one chunk of samples, written into `out[s]`.

    The four corner rays are r = c0 -+ tan(hfov/2) c1 -+ tan(vfov/2) c2 (c: the columns
    of the camera-to-NED rotation), in ST 0601 order, as (4, n) arrays. A ray with
    d > 0 (down) meets ground h below at (n, e) * h / d, at slant h |r| / d; it is
    within max_slant iff h² |r|² <= max_slant² d², which needs no division.
    """
    with np.errstate(all="ignore"):  # NaN and inf make the sample invalid, below
        _footprint_rays(p, out, s, ground=ground, max_slant=max_slant, iterations=iterations)


def _footprint_rays(
    p: _Sample,
    out: Footprints,
    s: slice,
    *,
    ground: float | ElevationFn,
    max_slant: float,
    iterations: int,
) -> None:
    n = len(p.x0)
    rot = _camera_to_ned(p)
    sh, ch = sincos_deg(p.hfov_deg / 2.0)
    sv, cv = sincos_deg(p.vfov_deg / 2.0)
    th, tv = sh / ch, sv / cv
    fov_ok = (p.hfov_deg > 0.0) & (p.hfov_deg < 180.0) & (p.vfov_deg > 0.0) & (p.vfov_deg < 180.0)
    r = np.empty((3, 4, n))
    for k in range(3):
        c0, b, c = rot[k][0], th * rot[k][1], tv * rot[k][2]
        top, bottom = c0 - c, c0 + c
        np.subtract(top, b, out=r[k, 0])
        np.add(top, b, out=r[k, 1])
        np.add(bottom, b, out=r[k, 2])
        np.subtract(bottom, b, out=r[k, 3])
    rn, re, rd = r
    hor2 = rn * rn
    hor2 += re * re
    norm2 = rd * rd
    norm2 += hor2
    hor = np.sqrt(hor2)
    inv_hor = 1.0 / hor
    # A vertical clipped ray has no horizontal direction: take the frustum's mean one.
    vertical = np.flatnonzero((hor == 0.0).any(axis=0))
    if len(vertical):
        mn, me = rn[:, vertical].sum(axis=0), re[:, vertical].sum(axis=0)
        mh = np.sqrt(mn * mn + me * me)
        ok = mh > 0.0
        mn, me = np.where(ok, mn / np.where(ok, mh, 1.0), 1.0), np.where(ok, me / mh, 0.0)
        for i in range(4):
            up = hor[i, vertical] == 0.0
            rn[i, vertical[up]], re[i, vertical[up]] = mn[up], me[up]
            inv_hor[i, vertical[up]] = 1.0
    a, b, c, d = p.jac
    s2 = max_slant * max_slant

    def hits(h: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Plane offsets of the corner rays' ground points, and which are within reach."""
        within = (rd > 0.0) & (h * h * norm2 <= s2 * (rd * rd))
        reach = np.sqrt(np.maximum(s2 - h * h, 0.0))
        f = np.where(within, h / rd, reach * inv_hor)
        ge, gn = f * re, f * rn
        dx = a * ge
        dx += b * gn
        dy = c * ge
        dy += d * gn
        return dx, dy, within

    if callable(ground):
        h_nadir = p.alt_m - np.asarray(ground(p.x0, p.y0), dtype=np.float64)
        h = np.broadcast_to(h_nadir, (4, n))
        for _ in range(iterations):
            dx, dy, _w = hits(np.maximum(h, _FALLBACK_H_M))
            z = np.asarray(ground((p.x0 + dx).ravel(), (p.y0 + dy).ravel()), dtype=np.float64)
            h = p.alt_m - z.reshape(4, n)
        h = np.maximum(h, _FALLBACK_H_M)
    else:
        h_nadir = p.alt_m - float(ground)
        h = np.broadcast_to(h_nadir, (n,))
    dx, dy, within = hits(h)
    # Clockwise and convex, or else the hull (see `convex_quads`).
    ex, ey = np.empty_like(dx), np.empty_like(dy)
    np.subtract(dx[1:], dx[:3], out=ex[:3])
    np.subtract(dx[0], dx[3], out=ex[3])
    np.subtract(dy[1:], dy[:3], out=ey[:3])
    np.subtract(dy[0], dy[3], out=ey[3])
    prev = [3, 0, 1, 2]
    turn = ex[prev] * ey - ey[prev] * ex
    fix = np.flatnonzero(~(turn <= 0.0).all(axis=0) & np.isfinite(turn).all(axis=0))
    reordered = np.zeros(n, dtype=bool)
    if len(fix):
        fx, fy, done = convex_quads(dx[:, fix].T, dy[:, fix].T)
        dx[:, fix], dy[:, fix] = fx.T, fy.T
        reordered[fix] = done
        ex[:3, fix], ey[:3, fix] = dx[1:, fix] - dx[:3, fix], dy[1:, fix] - dy[:3, fix]
        ex[3, fix], ey[3, fix] = dx[0, fix] - dx[3, fix], dy[0, fix] - dy[3, fix]
    t = dx * ey
    t -= dy * ex
    area2 = t[0] + t[1] + t[2] + t[3]  # twice the signed area: negative when clockwise
    # The ground within max_slant is seen if a corner ray meets it, or if the nadir is in
    # the field of view (a wide lens looking down from high up: the corners all clipped).
    # Else the clipped corners would make a polygon of ground the camera does not see.
    nx, ny, nz = rot[2]  # the nadir (0, 0, 1) in the camera frame: row 3 of camera-to-NED
    nadir_seen = (nx > 0.0) & (np.abs(ny) <= th * nx) & (np.abs(nz) <= tv * nx)
    h0 = np.broadcast_to(h_nadir, (n,))
    valid = (
        (-area2 >= 2.0 * MIN_AREA_M2)
        & np.isfinite(p.x0)
        & np.isfinite(p.y0)
        & fov_ok
        & (h0 > 0.0)
        & (h0 < max_slant)
        & (within.any(axis=0) | nadir_seen)
    )
    rd0 = np.broadcast_to(rot[2][0], (n,))
    slant = np.where(rd0 > 0.0, h0 / rd0, np.inf)
    wpx = p.image_width_px
    gsd = np.where(rd0 > 0.0, slant * (2.0 * th) / wpx / rd0, np.inf)
    cs = out.corners_m[s]
    dx += p.x0
    dy += p.y0
    cs[:, :, 0] = dx.T
    cs[:, :, 1] = dy.T
    cs[~valid] = np.nan
    out.valid[s] = valid
    out.slant_m[s] = np.where(valid, slant, np.nan)
    out.gsd_m[s] = np.where(valid & ~np.isnan(wpx), gsd, np.nan)
    out.clipped[s] = valid & ~within.all(axis=0)
    out.reordered[s] = valid & reordered
