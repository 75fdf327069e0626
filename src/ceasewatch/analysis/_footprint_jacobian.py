"""The local plane's Jacobian on a fixed lattice of lon/lat nodes, for
`ceasewatch.analysis.footprint` (see its docstring, "Determinism": a sample's footprint
must not depend on the batch it came in).
"""

from __future__ import annotations

import math

import numpy as np

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame, forward

#: Spacing (degrees) of the lattice on which the plane's convergence and scale are taken.
JACOBIAN_STEP_DEG = 0.05
_JAC_DIST_M = 10.0  # half the finite-difference baseline at each lattice node


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
