"""Corner rays to the ground, one chunk of samples at a time, for
`ceasewatch.analysis.footprint` (its module docstring gives the frames, the ground,
clipping and when a footprint is valid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis._footprint_maths import (
    BoolArray,
    _matmul,
    _rotation,
    convex_quads,
    sincos_deg,
)
from ceasewatch.geo.geodesy import FloatArray

if TYPE_CHECKING:
    from ceasewatch.analysis.footprint import Footprints

#: Elevation (metres, the datum of `alt_m`) of the ground at local x, y (metres).
ElevationFn = Callable[[FloatArray, FloatArray], FloatArray]

#: A footprint smaller than this (m²) is no footprint: it is marked invalid.
MIN_AREA_M2 = 1.0
_FALLBACK_H_M = 1.0  # with a DEM, the least height of the camera over a ray's ground


class GimbalFrame(IntEnum):
    """How the gimbal angles are given (see `ceasewatch.analysis.footprint`)."""

    BODY = 0
    HORIZON = 1
    EARTH = 2


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
