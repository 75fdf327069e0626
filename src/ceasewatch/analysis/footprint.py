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

The code: `_footprint_maths` (`sincos_deg`, rotations, `convex_quads`),
`_footprint_jacobian` (the lattice), `_footprint_rays` (the rays to the ground, per
chunk, and `GimbalFrame`); this module holds the API.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ceasewatch.analysis._footprint_jacobian import (
    JACOBIAN_STEP_DEG as JACOBIAN_STEP_DEG,  # noqa: PLC0414
)
from ceasewatch.analysis._footprint_jacobian import _Jacobian
from ceasewatch.analysis._footprint_maths import (
    ArrayLike,
    BoolArray,
    _area,
    convex_quads,
    sincos_deg,
)
from ceasewatch.analysis._footprint_maths import IntArray as IntArray  # noqa: PLC0414
from ceasewatch.analysis._footprint_rays import (
    MIN_AREA_M2,
    ElevationFn,
    GimbalFrame,
    _footprint_chunk,
    _Sample,
)
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame

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

_CHUNK = 1 << 13  # samples per task: the (4, n) ray arrays stay in cache


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


# -- internals ----------------------------------------------------------------------------


def _f64(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=np.float64)
