"""The areas' index for `SideGeometry`: boundary edges, a grid, and Owen's T function.

The grid's cells that no boundary crosses carry the area that fills them, and a lower
bound of the distance to any boundary (which tells p_side which points are certain); only
points in the other cells ask shapely. Gaussian masses are sums of Owen's T over nearby
edges (the module docstring of `ceasewatch.analysis.attribution` says why and how well).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from ceasewatch.analysis import _ieee
from ceasewatch.analysis._ieee import EXP_NORMAL_MIN, exp, exp_normal, hypot
from ceasewatch.analysis._line_index import BoolArray, FloatArray32, IntArray, _tree
from ceasewatch.geo.geodesy import FloatArray

#: Edges farther than this many (largest-axis) sigmas are left out of p_side.
SIGMA_REACH = 6.0

_PAIR_CHUNK = 1 << 18  # (point, edge) pairs summed at a time: bounded memory for any sigma
_BLOCK = 1 << 13  # pairs whose terms are computed at a time: the arrays stay in cache
_DEGENERATE = 1e-7  # whitened distance to a boundary below which a point is nudged
_NUDGE = np.array([1e-6, 0.7e-6])  # whitened nudge, off any axis a boundary might follow
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)
_GL_X = (_GL_X + 1.0) / 2.0
_GL_W = _GL_W / 2.0
_NODES = tuple(zip(_GL_X.tolist(), _GL_W.tolist(), strict=True))
# Numerical Recipes' erfc fit (2nd ed., section 6.2, erfcc), highest power first.
_ERFC = (
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)  # fmt: skip
_H_MAX = 6.5  # |h| beyond which an edge's term is nil (see `_terms`)


def _load_kernel() -> Callable[..., None] | None:
    """`_masscore.masses` with the constants of the numpy code below, or None (not built)."""
    try:
        from ceasewatch.analysis import _masscore
    except ImportError:  # pragma: no cover - where the extension cannot be built
        return None
    scalars = [
        _ieee._INV_LN2_32, _ieee._LN2_32_HI, _ieee._LN2_32_LO, math.sqrt(2.0), 2.0 * math.pi,
        _DEGENERATE, _H_MAX, SIGMA_REACH + 1.0,
        -746.0, 710.0,  # `_ieee.exp`'s clip
        _ieee._K_NORMAL, _ieee._K_MAX, _ieee._K_MAX_SPLIT,
    ]  # fmt: skip
    _masscore.set_constants(
        np.ascontiguousarray(_ieee._TWO_J32, dtype=np.float64),
        np.ascontiguousarray(_ieee._TWO_K32, dtype=np.float64),
        np.array([x for x, _ in _NODES]),
        np.array([w for _, w in _NODES]),
        np.array(_ERFC),
        np.array(_ieee._EXP_SERIES),
        np.array(scalars, dtype=np.float64),
    )
    return _masscore.masses


#: `ceasewatch.analysis._masscore.masses` (C) where built, else None: `masses` then runs
#: the numpy code of `_terms`, which gives the same bits (the tests compare the two).
_C_MASSES = _load_kernel()
#: Whether `masses` uses the C kernel (the tests set it False to run the numpy code).
ACCELERATED = _C_MASSES is not None


def _cells(qx: FloatArray, qy: FloatArray, half: float, n: int) -> tuple[IntArray, BoolArray]:
    """Grid cell (ix * n + iy) of each point and whether it is inside the grid."""
    scale = n / (2.0 * half)
    fx = np.floor((qx + half) * scale)
    fy = np.floor((qy + half) * scale)
    inside = (fx >= 0) & (fx < n) & (fy >= 0) & (fy < n)  # NaN compares False: outside
    cell = np.where(inside, fx * n + fy, 0).astype(np.intp)
    return cell, inside


class _AreaIndex:
    """The areas' boundary edges, and a grid of the cells that one area (or none) fills."""

    _CLEAR_CAP = 64  # cells; a clearance beyond this many cells counts as that many

    def __init__(self, areas: Sequence[BaseGeometry], half: float, n: int) -> None:
        self.areas, self.half, self.n = areas, half, n
        edges: list[FloatArray] = []
        for k, area in enumerate(areas):
            # Exteriors counter-clockwise, holes clockwise: every edge has its area on the left.
            rings = shapely.get_rings(shapely.get_parts(shapely.orient_polygons(area)))
            for ring in rings:
                xy = shapely.get_coordinates(ring)
                e = np.column_stack([xy[:-1], xy[1:], np.full(len(xy) - 1, k)])
                edges.append(e[(e[:, 0] != e[:, 2]) | (e[:, 1] != e[:, 3])])
        e = np.vstack(edges) if edges else np.zeros((0, 5))
        self.ax, self.ay, self.bx, self.by = e[:, :4].T.copy()
        self.area = e[:, 4].astype(np.intp)
        self.tree = _tree(e)
        self.cell_area, self.clear_m = self._build()

    def _build(self) -> tuple[npt.NDArray[np.signedinteger[Any]], FloatArray32]:
        n, w = self.n, 2 * self.half / self.n
        # Cells a boundary passes through ("mixed"): edges cut into pieces of at most half
        # a cell, so each piece's bounding box spans at most 2 x 2 cells.
        ln = hypot(self.bx - self.ax, self.by - self.ay)
        parts = np.maximum(np.ceil(ln / (w / 2)).astype(np.intp), 1)
        e = np.repeat(np.arange(len(ln)), parts)
        t0 = (np.arange(len(e)) - np.repeat(np.cumsum(parts) - parts, parts)) / parts[e]
        t1 = t0 + 1.0 / parts[e]
        mixed = np.zeros((n, n), dtype=bool)
        x0 = self.ax[e] + t0 * (self.bx[e] - self.ax[e])
        x1 = self.ax[e] + t1 * (self.bx[e] - self.ax[e])
        y0 = self.ay[e] + t0 * (self.by[e] - self.ay[e])
        y1 = self.ay[e] + t1 * (self.by[e] - self.ay[e])
        pad = 1e-6 * w

        def cell(v: FloatArray) -> IntArray:
            out: IntArray = np.clip(np.floor((v + self.half) / w), 0, n - 1).astype(np.intp)
            return out

        xs = (cell(np.minimum(x0, x1) - pad), cell(np.maximum(x0, x1) + pad))
        ys = (cell(np.minimum(y0, y1) - pad), cell(np.maximum(y0, y1) + pad))
        for cx in xs:
            for cy in ys:
                mixed[cx, cy] = True
        # No boundary separates two neighbouring cells that it crosses neither of: along a
        # row, a run of unmixed cells lies in one area, that of its first cell's centre.
        centre = np.arange(n, dtype=np.float64)
        centre = -self.half + (centre + 0.5) * w
        start = ~mixed
        start[:, 1:] &= mixed[:, :-1]
        first = np.flatnonzero(start)
        run_area = self._first_area(centre[first // n], centre[first % n])
        run = np.cumsum(start.ravel()) - 1
        cell_area = np.where(mixed.ravel(), -2, run_area[run])
        # Chebyshev distance (in cells) to the nearest mixed cell, by repeated dilation.
        steps = np.full((n, n), self._CLEAR_CAP, dtype=np.intp)
        front = mixed.copy()
        for r in range(self._CLEAR_CAP):
            steps[front & (steps == self._CLEAR_CAP)] = r
            if front.all():
                break
            grown = front.copy()
            grown[1:] |= front[:-1]
            grown[:-1] |= front[1:]
            front = grown.copy()
            front[:, 1:] |= grown[:, :-1]
            front[:, :-1] |= grown[:, 1:]
        # Small types (int8: at most 126 areas) keep the lookups in cache.
        clear = (np.maximum(steps - 1, 0) * w).ravel().astype(np.float32)
        return cell_area.astype(np.int8 if len(self.areas) < 127 else np.int16), clear

    def _first_area(self, qx: FloatArray, qy: FloatArray) -> IntArray:
        out = np.full(len(qx), -1, dtype=np.intp)
        for k, area in enumerate(self.areas):
            free = np.flatnonzero(out < 0)
            out[free[shapely.intersects_xy(area, qx[free], qy[free])]] = k
        return out

    def area_of(self, qx: FloatArray, qy: FloatArray) -> IntArray:
        """Index of the first area covering each point, -1 when none."""
        cell, inside = _cells(qx, qy, self.half, self.n)
        out = np.where(inside, self.cell_area[cell], -2).astype(np.intp)
        ask = np.flatnonzero(out == -2)
        out[ask] = self._first_area(qx[ask], qy[ask])
        return out

    def clearance(self, qx: FloatArray, qy: FloatArray) -> FloatArray:
        """A lower bound on each point's distance to every boundary (-1 outside the grid)."""
        cell, inside = _cells(qx, qy, self.half, self.n)
        return np.where(inside, self.clear_m[cell], -1.0)

    def edges_within(
        self, qx: FloatArray, qy: FloatArray, reach_m: FloatArray
    ) -> tuple[IntArray, IntArray]:
        """(point, edge) pairs whose bounding boxes come within each point's reach.

        Boxes, not distances: shapely's exact `dwithin` costs ten times as much, and the
        few extra pairs are dropped by their whitened distance later.
        """
        boxes = shapely.box(qx - reach_m, qy - reach_m, qx + reach_m, qy + reach_m)
        i, k = self.tree.query(boxes)
        return i.astype(np.intp), k.astype(np.intp)

    def masses(
        self,
        qx: FloatArray,
        qy: FloatArray,
        chol: tuple[FloatArray, FloatArray, FloatArray],
        pairs: tuple[IntArray, IntArray],
    ) -> tuple[FloatArray, BoolArray]:
        """Gaussian mass of each area around each point, and which points lie on a boundary.

        The mass of an area is its indicator at the point minus, for each edge, the
        whitened T(h, t_b/h) - T(h, t_a/h) (the module docstring says why).
        By `_masscore` where built (`ACCELERATED`), else by `_terms` and np.bincount.
        """
        n, m = len(qx), len(self.areas)
        inside = np.stack([shapely.intersects_xy(a, qx, qy) for a in self.areas], axis=1)
        mass = inside.astype(np.float64).ravel()
        degenerate = np.zeros(n, dtype=bool)
        if ACCELERATED and _C_MASSES is not None and m > 0:
            f64, ip = np.float64, np.intp
            _C_MASSES(
                *(np.ascontiguousarray(v, dtype=f64) for v in (qx, qy, *chol)),
                self.ax, self.ay, self.bx, self.by, self.area,
                *(np.ascontiguousarray(v, dtype=ip) for v in pairs),
                m, _PAIR_CHUNK, mass, degenerate,
            )  # fmt: skip
            return mass.reshape(n, m), degenerate
        for c in range(0, len(pairs[0]), _PAIR_CHUNK):
            i, k = pairs[0][c : c + _PAIR_CHUNK], pairs[1][c : c + _PAIR_CHUNK]
            # The terms are elementwise: computed a cache-sized block at a time (three
            # times faster than whole chunks), then summed per chunk as one bincount.
            parts = [
                self._terms(qx, qy, chol, (i[b : b + _BLOCK], k[b : b + _BLOCK]), degenerate)
                for b in range(0, len(i), _BLOCK)
            ]
            if not parts:
                continue
            i, k, term = (np.concatenate([p[j] for p in parts]) for j in range(3))
            mass -= np.bincount(i * m + self.area[k], weights=term, minlength=n * m)
        return mass.reshape(n, m), degenerate

    def _terms(
        self,
        qx: FloatArray,
        qy: FloatArray,
        chol: tuple[FloatArray, FloatArray, FloatArray],
        pairs: tuple[IntArray, IntArray],
        degenerate: BoolArray,
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """The (point, edge) pairs that contribute, and their whitened T(h, t_b/h) -
        T(h, t_a/h); marks the points that lie on a boundary in `degenerate`."""
        i, k = pairs
        l11, l21, l22 = (v[i] for v in chol)
        a1 = (self.ax[k] - qx[i]) / l11
        a2 = (self.ay[k] - qy[i] - l21 * a1) / l22
        b1 = (self.bx[k] - qx[i]) / l11
        b2 = (self.by[k] - qy[i] - l21 * b1) / l22
        ln = hypot(b1 - a1, b2 - a2)
        ux, uy = (b1 - a1) / ln, (b2 - a2) / ln
        ta, tb = a1 * ux + a2 * uy, b1 * ux + b2 * uy
        h = a1 * uy - a2 * ux  # > 0: the point is on the edge's left, its area's side
        on = (ta < 0) & (tb > 0)
        dist = np.where(on, np.abs(h), np.minimum(hypot(a1, a2), hypot(b1, b2)))
        degenerate[i[dist < _DEGENERATE]] = True
        # An edge's term is below Q(|h|): nil beyond 6.5 (or 7 sigma from its points).
        use = (np.abs(h) <= _H_MAX) & (dist <= SIGMA_REACH + 1.0) & (dist >= _DEGENERATE)
        i, k, h, ta, tb = i[use], k[use], h[use], ta[use], tb[use]
        # h = 0 here means the point is on the edge's line beyond its ends: no mass.
        flat = h == 0.0
        h = np.where(flat, 1.0, h)
        term = _owens_t_signed(h, tb / h) - _owens_t_signed(h, ta / h)
        term[flat] = 0.0
        return i, k, term


def _owens_t_signed(h: FloatArray, a: FloatArray) -> FloatArray:
    """Owen's T(h, a) for any signs (even in h, odd in a)."""
    return np.sign(a) * _owens_t(np.abs(h), np.abs(a))


def _owens_t(h: FloatArray, a: FloatArray) -> FloatArray:
    """Owen's T(h, a) = 1/2pi int_0^a exp(-h²(1+x²)/2) / (1+x²) dx, for h > 0, a >= 0.

    For a <= 1 by Gauss-Legendre quadrature; for a > 1 by the reflection
    T(h, a) = [Phi(h) Q(ah) + Phi(ah) Q(h)] / 2 - T(ah, 1/a) (Owen 1956, eq. 2.3), whose
    integrand is again over [0, 1]. For h up to 9, 6 nodes are exact to 2e-9; with the
    erfc fit, T is within 2.1e-8 of exact (checked against scipy.special.owens_t).
    """
    small = a <= 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ah = h * a
        hh = np.where(small, h, ah)
        aa = np.where(small, a, 1.0 / a)
    hh2 = -0.5 * hh
    hh2 *= hh
    # t = sum of w * exp(hh2 * r) / r with r = 1 + (aa x)², node by node (in place). With
    # aa <= 1, r <= 2: hh2 * r >= 2 min(hh2), and hh2 <= 0, which bounds every node's
    # argument (NaN fails the test).
    low, top = (float(hh2.min()), float(aa.max())) if len(hh2) else (0.0, 0.0)
    ex = exp_normal if 2.0 * low >= EXP_NORMAL_MIN and top <= 1.0 else exp
    t = np.zeros_like(hh)
    for x, w in _NODES:
        r = aa * x
        r *= r
        r += 1.0
        e = ex(hh2 * r)
        e *= w
        e /= r
        t += e
    t *= aa / (2.0 * math.pi)
    big = np.flatnonzero(~small)
    qh, qah = _q(h[big]), _q(ah[big])
    t[big] = 0.5 * ((1.0 - qh) * qah + (1.0 - qah) * qh) - t[big]
    return t


def _q(x: FloatArray) -> FloatArray:
    """Upper normal tail Q(x) = 1 - Phi(x) for x >= 0 (relative error < 1.2e-7).

    The Chebyshev fit of erfc from Numerical Recipes (2nd ed., section 6.2, erfcc).
    """
    z = np.abs(x) / math.sqrt(2.0)
    t = 0.5 * z
    t += 1.0
    np.divide(1.0, t, out=t)
    poly = np.zeros_like(t)
    for c in _ERFC:
        poly *= t
        poly += c
    arg = -z
    arg *= z
    arg += poly
    q = 0.5 * t
    q *= exp(arg)
    return q
