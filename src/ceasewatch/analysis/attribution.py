"""Attribution: the side whose area holds a point, its distance to the contact line, and
the probability of each side given the point's Gaussian position error.

`SideGeometry` is built once per `TheaterState` (the geometry is constant over a period)
and then answers for many points at once, in the theater's local plane (metres):

- `side_of`: index into `sides` of the area that covers the point (-1: none). Like
  `TheaterState.side_at`, a point on a boundary belongs to the first side that covers it.
- `d_line_m`: Euclidean distance to the contact line (inf when the state has none).
- `signed_distance_m`: the same, signed by the line's sides: positive on the side of the
  line that faces the side listed first in `sides` (of the two sides a line segment
  separates, the one with the lower index; a side beats "no area"), negative on the other.
  In a two-side theater: positive toward `sides[0]`, negative toward `sides[1]`. Where a
  segment has the same side (or none) on both hands, the sign follows the line's
  direction (positive on its left).
- `p_side`: for a position error N(0, cov), the probability mass of each side's area,
  renormalised over the areas (mass outside every area is dropped; all zeros when less
  than `MIN_MASS` falls in any area). Computed from the areas, not the line, which may
  stray from their common boundary (by up to the theater check's tolerance).

`p_side` is exact but for two small, bounded approximations. A polygon's Gaussian mass is
a sum over its edges (a triangle fan from the point, as the shoelace formula sums areas):
after whitening by the covariance's Cholesky factor, an edge at distance h whose ends
lie at t_a, t_b along it contributes T(h, t_b/h) - T(h, t_a/h), with T Owen's T
function (Owen 1956, "Tables for computing bivariate normal probabilities"). Edges more
than 6 sigma away contribute under 2e-8 and are left out, so only nearby edges are summed,
on top of the area's indicator at the point. T is evaluated with Owen's reflection
identity and 6-point Gauss-Legendre quadrature, the normal tail with the erfc
approximation of Numerical Recipes (relative error < 1.2e-7). A point closer than
1e-7 sigma to an area boundary (where the indicator jumps) is first moved by 1e-6 sigma,
which the result cannot feel.

Speed comes from two indexes built with the geometry. The contact line's is a quadtree
whose leaves list the segments that can be nearest to some point in them: a segment
stays if its Voronoi region can meet the cell (the cell meets its perpendicular slab or
the normal cone at one of its vertices) and if the nearest segment to the cell's centre
does not dominate it everywhere in the cell (a bound on how fast the difference of the
two distances can change); cells are split while they list more than a dozen. A point's
candidates are compared in float32 (relative to the leaf's centre) and the nearest one's
distance and sign recomputed in float64: distances are exact to 1e-7 relative (float32
may pick either of two segments whose distances differ by less). The areas' index is a
grid whose cells no boundary crosses carry the side that fills them, and a lower bound
of the distance to any boundary (which tells p_side which points are certain); only
points in the other cells ask shapely. Chunks of points run on a thread pool: numpy and
shapely release the GIL.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from numpy.lib.stride_tricks import sliding_window_view
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import TheaterState

__all__ = ["Attribution", "SideGeometry"]

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
FloatArray32 = npt.NDArray[np.float32]
AnyArray = npt.NDArray[Any]

#: Edges farther than this many (largest-axis) sigmas are left out of p_side.
SIGMA_REACH = 6.0
#: Below this total mass in the areas a point is "outside every side": p_side is all zeros.
MIN_MASS = 1e-6
#: Added to every covariance's diagonal (m²): a degenerate (rank-1) covariance still works.
JITTER_M2 = 1e-6

_CHUNK = 1 << 14  # points per task: arrays stay in cache, and tasks spread over threads
_FINEST = 1.0  # the line's quadtree stops at cells this many typical segments wide
_AREA_GRID = 512  # cells a side of the areas' grid
_K_MAX = 64  # cells listing more candidate segments send their points to the fallback
_NEAR_BATCH = 1024  # near points per STRtree query (bounds its pairs for any sigma)
_PAIR_CHUNK = 1 << 18  # (point, edge) pairs summed at a time: bounded memory for any sigma
_DEGENERATE = 1e-7  # whitened distance to a boundary below which a point is nudged
_NUDGE = np.array([1e-6, 0.7e-6])  # whitened nudge, off any axis a boundary might follow
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)
_GL_X = (_GL_X + 1.0) / 2.0
_GL_W = _GL_W / 2.0


@dataclass(frozen=True, slots=True)
class Attribution:
    """Everything `SideGeometry.attribute` says about a batch of points.

    Attributes:
        side: index into `sides` of the area covering each point, -1 when none.
        signed_distance_m: distance to the contact line, signed (see `SideGeometry`).
        d_line_m: the same unsigned (inf when the state has no contact line).
        p_side: (N, len(sides)) probabilities, or None when no covariance was given.
    """

    side: IntArray
    signed_distance_m: FloatArray
    d_line_m: FloatArray
    p_side: FloatArray | None = None


class SideGeometry:
    """A `TheaterState`'s areas and contact line in the local plane, indexed for speed.

    Args:
        state: the geometry in force (areas and contact line in WGS84 lon/lat).
        frame: the theater's local plane; every x_m, y_m is in it.
        sides: the columns of `p_side` and the values of `side_of` (default: the sorted
            ids of the sides that have an area). A side without an area gets zeros.
        workers: threads for large batches (default: the CPUs available, at most 8).

    Example:
        >>> geo = SideGeometry(theater.at(t), theater.frame)  # doctest: +SKIP
        >>> x, y = theater.frame.to_local(lon, lat)  # doctest: +SKIP
        >>> geo.p_side(x, y, cov)  # (N, len(geo.sides))  # doctest: +SKIP
    """

    def __init__(
        self,
        state: TheaterState,
        frame: LocalFrame,
        *,
        sides: Sequence[str] | None = None,
        workers: int | None = None,
    ) -> None:
        self.sides: tuple[str, ...] = tuple(sorted(state.areas) if sides is None else sides)
        if len(set(self.sides)) != len(self.sides):
            raise InvalidInput(f"sides {self.sides} lists a side twice")
        self.workers = max(1, workers or min(len(os.sched_getaffinity(0)), 8))
        areas = {
            side: shapely.union_all(_polygons(frame.to_local_geometry(geom)))
            for side, geom in sorted(state.areas.items())
            if side in self.sides
        }
        areas = {side: geom for side, geom in areas.items() if not geom.is_empty}
        line = frame.to_local_geometry(state.contact_line)
        everything = shapely.union_all([*areas.values(), line])
        x0, y0, x1, y1 = (0.0, 0.0, 1.0, 1.0) if everything.is_empty else everything.bounds
        # Work relative to the theater's centre: coordinates near 0 keep rounding far below
        # a millimetre, where UTM northings (~4e6 m) would not.
        self._origin = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
        half = max(x1 - x0, y1 - y0, 1.0) / 2.0 * 1.05 + 100.0

        def shift(g: BaseGeometry) -> BaseGeometry:
            return shapely.transform(g, lambda xy: xy - self._origin)

        self._area_cols = np.array([self.sides.index(s) for s in areas], dtype=np.intp)
        self._area_geoms = [shift(g) for g in areas.values()]
        for g in self._area_geoms:
            # GEOS builds a prepared geometry's index on first use: do it now, not in two
            # threads at once (after that, concurrent reads are safe).
            shapely.prepare(g)
            shapely.intersects_xy(g, 0.0, 0.0)
        self._areas = _AreaIndex(self._area_geoms, half, _AREA_GRID)
        self._line = _LineIndex(shift(line), half, self.workers)
        self._line.orient(self._side_index)

    # -- public API -----------------------------------------------------------------------

    def side_of(self, x_m: FloatArray, y_m: FloatArray) -> IntArray:
        """Index into `sides` of the area covering each point (-1 when none)."""
        qx, qy = self._local(x_m, y_m)
        return self._map(lambda s: (self._side_index(qx[s], qy[s]),), len(qx))[0]

    def signed_distance_m(self, x_m: FloatArray, y_m: FloatArray) -> FloatArray:
        """Distance to the contact line, positive toward `sides[0]` (see the module doc).

        NaN when the state has no contact line.
        """
        qx, qy = self._local(x_m, y_m)
        return self._map(lambda s: (self._line.signed(qx[s], qy[s]),), len(qx))[0]

    def d_line_m(self, x_m: FloatArray, y_m: FloatArray) -> FloatArray:
        """Unsigned distance to the contact line (metres); inf when there is none."""
        qx, qy = self._local(x_m, y_m)
        return self._unsigned(qx, qy, self.signed_distance_m(x_m, y_m))

    def p_side(self, x_m: FloatArray, y_m: FloatArray, cov_m2: FloatArray) -> FloatArray:
        """Probability that each point, with Gaussian error N(0, cov), lies in each area.

        Args:
            x_m, y_m: positions in the local plane, shape (N,).
            cov_m2: covariances of (x, y) in m², shape (N, 2, 2) or (2, 2) for all.

        Returns:
            (N, len(sides)): rows sum to 1 over the areas the error distribution reaches;
            a row is all zeros when less than `MIN_MASS` of it falls in any side's area
            (or the point is not finite).
        """
        qx, qy = self._local(x_m, y_m)
        cov = _covariance(cov_m2, len(qx))

        def task(s: slice) -> tuple[FloatArray]:
            side = self._side_index(qx[s], qy[s])
            return (self._p_side(qx[s], qy[s], cov[s], side),)

        return self._map(task, len(qx))[0]

    def attribute(
        self, x_m: FloatArray, y_m: FloatArray, cov_m2: FloatArray | None = None
    ) -> Attribution:
        """Side, signed distance and (with `cov_m2`) p_side in one pass over the points."""
        qx, qy = self._local(x_m, y_m)
        cov = None if cov_m2 is None else _covariance(cov_m2, len(qx))

        def task(s: slice) -> tuple[IntArray, FloatArray, FloatArray]:
            side = self._side_index(qx[s], qy[s])
            signed = self._line.signed(qx[s], qy[s])
            if cov is None:
                return side, signed, np.empty((0, 0))
            return side, signed, self._p_side(qx[s], qy[s], cov[s], side)

        side, signed, p = self._map(task, len(qx))
        d = self._unsigned(qx, qy, signed)
        return Attribution(side, signed, d, None if cov is None else p)

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _as_array(v: FloatArray) -> FloatArray:
        return np.atleast_1d(np.asarray(v, dtype=np.float64))

    def _local(self, x_m: FloatArray, y_m: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = np.broadcast_arrays(self._as_array(x_m), self._as_array(y_m))
        if x.ndim != 1:
            raise InvalidInput(f"x_m, y_m must be 1-D arrays, not of shape {x.shape}")
        return x - self._origin[0], y - self._origin[1]

    def _unsigned(self, qx: FloatArray, qy: FloatArray, signed: FloatArray) -> FloatArray:
        d = np.abs(signed)
        if self._line.empty:
            d[np.isfinite(qx) & np.isfinite(qy)] = np.inf
        return d

    def _map(self, task: Callable[[slice], Sequence[AnyArray]], n: int) -> list[AnyArray]:
        """Run `task` over chunks of the points (on the thread pool) and join the results."""
        chunks = [slice(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)] or [slice(0, 0)]
        if len(chunks) == 1 or self.workers == 1:
            results = [task(c) for c in chunks]
        else:
            with ThreadPoolExecutor(min(self.workers, len(chunks))) as pool:
                results = list(pool.map(task, chunks))
        if len(results) == 1:
            return list(results[0])
        return [np.concatenate([r[j] for r in results]) for j in range(len(results[0]))]

    def _side_index(self, qx: FloatArray, qy: FloatArray) -> IntArray:
        k = self._areas.area_of(qx, qy)
        out = np.full(len(qx), -1, dtype=np.intp)
        inside = k >= 0
        out[inside] = self._area_cols[k[inside]]
        return out

    def _p_side(
        self, qx: FloatArray, qy: FloatArray, cov: FloatArray, side: IntArray
    ) -> FloatArray:
        sxx, sxy, syy = cov.T
        p = np.zeros((len(qx), len(self.sides)))
        has = np.flatnonzero(side >= 0)
        p[has, side[has]] = 1.0
        sigma_max = np.sqrt((sxx + syy) / 2.0 + np.hypot((sxx - syy) / 2.0, sxy))
        reach = SIGMA_REACH * sigma_max
        near = np.flatnonzero(
            (self._areas.clearance(qx, qy) < reach) & np.isfinite(qx) & np.isfinite(qy)
        )
        if not self._area_geoms:
            return p
        for b in range(0, len(near), _NEAR_BATCH):
            i = near[b : b + _NEAR_BATCH]
            p[i] = self._p_near(qx[i], qy[i], cov[i], reach[i])
        return p

    def _p_near(
        self, qx: FloatArray, qy: FloatArray, cov: FloatArray, reach: FloatArray
    ) -> FloatArray:
        """p_side rows of points with some area boundary within reach."""
        sxx, sxy, syy = cov.T
        # Whitening by the Cholesky factor L (cov = L Lᵀ) turns the error into N(0, I).
        l11 = np.sqrt(sxx)
        l21 = sxy / l11
        l22 = np.sqrt(np.maximum(syy - l21 * l21, JITTER_M2 / 2.0))
        pairs = self._areas.edges_within(qx, qy, reach)
        mass, degenerate = self._areas.masses(qx, qy, (l11, l21, l22), pairs)
        # On a boundary the indicator jumps, and so does the sum of edge terms, but their
        # difference does not: moving the point by 1e-6 sigma keeps them in step (and by
        # a little more, in another direction, in the unlikely case it lands on another).
        for attempt in range(3):
            d = np.flatnonzero(degenerate)
            if len(d) == 0:
                break
            step = _NUDGE * 10.0**attempt * (-1.0) ** attempt
            c11, c21, c22 = l11[d], l21[d], l22[d]
            mx = qx[d] + c11 * step[0]
            my = qy[d] + c21 * step[0] + c22 * step[1]
            remap = np.full(len(qx), -1, dtype=np.intp)
            remap[d] = np.arange(len(d))
            keep = remap[pairs[0]] >= 0
            sub = (remap[pairs[0][keep]], pairs[1][keep])
            mass[d], again = self._areas.masses(mx, my, (c11, c21, c22), sub)
            degenerate = np.zeros(len(qx), dtype=bool)
            degenerate[d[again]] = True
        np.clip(mass, 0.0, 1.0, out=mass)
        total = mass.sum(axis=1)
        ok = total >= MIN_MASS
        rows = np.zeros((len(qx), len(self.sides)))
        rows[:, self._area_cols] = mass / np.where(ok, total, 1.0)[:, None]
        rows[~ok] = 0.0
        return rows


def _covariance(cov_m2: FloatArray, n: int) -> FloatArray:
    """(N, 3): sxx, sxy, syy per point, jittered; refuses what is not a covariance."""
    cov = np.asarray(cov_m2, dtype=np.float64)
    if cov.shape == (2, 2):
        cov = np.broadcast_to(cov, (n, 2, 2))
    if cov.shape != (n, 2, 2):
        raise InvalidInput(f"cov_m2 must have shape ({n}, 2, 2) or (2, 2), not {cov.shape}")
    sxx, syy = cov[:, 0, 0], cov[:, 1, 1]
    sxy = (cov[:, 0, 1] + cov[:, 1, 0]) / 2.0
    # A rank-1 covariance (a bearing-only fix) is legitimate: allow rounding below zero.
    slack = 1e-9 * np.abs(sxx * syy)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(sxx) & np.isfinite(syy) & np.isfinite(sxy)
        bad = ~finite | (sxx < 0) | (syy < 0) | (sxx * syy - sxy * sxy < -slack)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"cov_m2[{i}] = {cov[i].tolist()} is not a covariance (finite, symmetric, "
            f"positive semi-definite, m²); {int(bad.sum())} of {n} are not"
        )
    return np.column_stack([sxx + JITTER_M2, sxy, syy + JITTER_M2])


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygons in any geometry (stray points and lines of overlays left out)."""
    out: list[BaseGeometry] = []
    for g in shapely.get_parts(geom):
        if g.geom_type == "Polygon" and not g.is_empty:
            out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(g))
    return out


def _tree(seg: FloatArray) -> shapely.STRtree:
    """An STRtree of segments (ax, ay, bx, by, ...), built now: GEOS builds it on the first
    query otherwise, which two threads might then do at once."""
    tree = shapely.STRtree(shapely.linestrings(np.stack([seg[:, 0:2], seg[:, 2:4]], 1)))
    tree.query(shapely.points(0.0, 0.0))
    return tree


def _cells(qx: FloatArray, qy: FloatArray, half: float, n: int) -> tuple[IntArray, BoolArray]:
    """Grid cell (ix * n + iy) of each point and whether it is inside the grid."""
    scale = n / (2.0 * half)
    fx = np.floor((qx + half) * scale)
    fy = np.floor((qy + half) * scale)
    inside = (fx >= 0) & (fx < n) & (fy >= 0) & (fy < n)  # NaN compares False: outside
    cell = np.where(inside, fx * n + fy, 0).astype(np.intp)
    return cell, inside


@dataclass(frozen=True, slots=True)
class _Leaves:
    """Leaves of the line's quadtree: nodes, centres, candidate counts, candidates."""

    node: IntArray
    cx: FloatArray
    cy: FloatArray
    count: IntArray
    seg: IntArray


class _LineIndex:
    """The contact line's segments and a quadtree of the candidates for the nearest one."""

    _BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, _K_MAX)
    _LEAF = 12  # a cell listing more candidates is split in four

    def __init__(self, line: BaseGeometry, half: float, workers: int) -> None:
        self.half, self.top = half, 6
        pieces: list[FloatArray] = []
        links: list[IntArray] = []  # previous and next segment of the same piece, or -1
        for part in shapely.get_parts(line):
            if part.geom_type not in ("LineString", "LinearRing"):
                continue
            xy = shapely.get_coordinates(part)
            if len(xy):
                xy = xy[np.r_[True, (np.diff(xy, axis=0) != 0).any(axis=1)]]
            if len(xy) < 2:
                continue
            a, b = xy[:-1], xy[1:]
            ln = np.hypot(*(b - a).T)
            u = (b - a) / ln[:, None]
            closed = len(xy) > 3 and bool((xy[0] == xy[-1]).all())
            # The neighbours' directions, zero where the line ends (no vertex cone there).
            end = np.zeros((1, 2))
            up = np.vstack([u[-1:] if closed else end, u[:-1]])
            un = np.vstack([u[1:], u[:1] if closed else end])
            pieces.append(np.column_stack([a, b, u, ln, up, un]))
            i = sum(len(p) for p in pieces[:-1]) + np.arange(len(a))
            prev, nxt = i - 1, i + 1
            prev[0], nxt[-1] = (i[-1], i[0]) if closed else (-1, -1)
            links.append(np.column_stack([prev, nxt]))
        seg = np.vstack(pieces) if pieces else np.zeros((0, 11))
        self.prev, self.next = (np.vstack(links) if links else np.zeros((0, 2), np.intp)).T
        self.ax, self.ay, self.bx, self.by, self.ux, self.uy, self.ln = seg[:, :7].T.copy()
        self.upx, self.upy, self.unx, self.uny = seg[:, 7:].T.copy()
        self.mux, self.muy = self.ux, self.uy  # the direction, times -1 where `orient` says
        self.empty = len(seg) == 0
        if self.empty:
            return
        self.tree = _tree(seg)
        # Per-segment constants of the build's tests: midpoints, and the extents of a unit
        # square projected on each direction.
        self.mx, self.my = (self.ax + self.bx) / 2.0, (self.ay + self.by) / 2.0
        self.ext = np.abs(self.ux) + np.abs(self.uy)
        self.ext_p = np.abs(self.upx) + np.abs(self.upy)
        self.ext_n = np.abs(self.unx) + np.abs(self.uny)
        # Depth: down to cells about the typical segment's length, at most 2^20 a side.
        finest = max(float(np.median(self.ln)) * _FINEST, 2.0 * half / 2**20)
        self.depth = max(self.top, math.ceil(math.log2(2.0 * half / finest)))
        self._build(workers)

    def orient(self, side_of: Callable[[FloatArray, FloatArray], IntArray]) -> None:
        """Sign each segment so that the side listed first is on the positive hand.

        The sides on either hand are probed a little way off each segment's midpoint,
        farther out where the line runs a little inside one area (it may stray from the
        areas' common boundary by the theater check's tolerance).
        """
        if self.empty:
            return
        mx, my = (self.ax + self.bx) / 2, (self.ay + self.by) / 2
        left = right = np.full(len(mx), -1, dtype=np.intp)
        found = np.zeros(len(mx), dtype=bool)
        for step_m in (0.5, 5.0, 50.0, 200.0):
            lt = side_of(mx - self.uy * step_m, my + self.ux * step_m)
            rt = side_of(mx + self.uy * step_m, my - self.ux * step_m)
            use = ~found & ((lt != rt) | (step_m == 0.5))
            left, right = np.where(use, lt, left), np.where(use, rt, right)
            found |= lt != rt
        big = np.iinfo(np.intp).max
        lk, rk = np.where(left < 0, big, left), np.where(right < 0, big, right)
        mult = np.where(lk > rk, -1.0, 1.0)
        self.mux, self.muy = mult * self.ux, mult * self.uy

    def _build(self, workers: int) -> None:
        """A quadtree of candidate segments: a full 64 x 64 grid, each cell refined while it
        lists more than `_LEAF` (subtrees built in parallel). See `_prune` for the tests.

        Nodes 0 .. 4**top - 1 are the top cells (ix * 2**top + iy); `child` gives a node's
        first child (four, in (kx, ky) order) or -1 for a leaf, whose `count` candidates
        are `cand[slot:]` (and their float32 data `pack[slot:]`).
        """
        seg = np.arange(len(self.ax))
        blen, bix, biy = np.array([len(seg)]), np.zeros(1, np.intp), np.zeros(1, np.intp)
        for level in range(self.top):
            seg, blen, bix, biy, _ = self._split(seg, blen, bix, biy, level)
        n_top = 4**self.top
        bnode = bix * 2**self.top + biy
        # Groups of top cells with about equal work, one subtree-building task each.
        groups = np.searchsorted(
            np.cumsum(blen), np.linspace(0, blen.sum(), 4 * workers + 1)[1:-1], side="right"
        )
        bounds = np.r_[0, groups, len(blen)]
        starts = np.r_[0, np.cumsum(blen)]

        def task(g: int) -> tuple[list[tuple[IntArray, IntArray]], list[_Leaves], int]:
            lo, hi = bounds[g], bounds[g + 1]
            sub = seg[starts[lo] : starts[hi]]
            return self._refine(sub, (blen[lo:hi], bix[lo:hi], biy[lo:hi], bnode[lo:hi]), g)

        n_groups = len(bounds) - 1
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(task, range(n_groups)))
        else:
            results = [task(g) for g in range(n_groups)]
        # Each group numbered its new nodes from (g + 1) * 2**40: make the numbers dense.
        sizes = np.array([r[2] for r in results])
        offset = n_top + np.r_[0, np.cumsum(sizes)][:-1]

        def dense(ids: IntArray) -> IntArray:
            g = ids >> 40
            out: IntArray = np.where(g > 0, ids - (g << 40) + offset[np.maximum(g - 1, 0)], ids)
            return out

        n_nodes = n_top + int(sizes.sum())
        self.child = np.full(n_nodes, -1, np.intp)
        for children, _, _ in results:
            for parents, first in children:
                self.child[dense(parents)] = dense(first)
        leaves = [lv for _, lvs, _ in results for lv in lvs]
        node = np.concatenate([dense(lv.node) for lv in leaves])
        count = np.concatenate([lv.count for lv in leaves])
        cand = np.concatenate([lv.seg for lv in leaves])
        self.cx, self.cy = np.zeros(n_nodes), np.zeros(n_nodes)
        self.cx[node] = np.concatenate([lv.cx for lv in leaves])
        self.cy[node] = np.concatenate([lv.cy for lv in leaves])
        # Each leaf's candidates padded to its bucket's width (repeating the last), so a
        # point's candidates are one contiguous run of `width` slots: the query gathers
        # them as windows, several times faster than element by element.
        buckets = np.array(self._BUCKETS)
        width = np.where(count <= _K_MAX, buckets[np.searchsorted(buckets, count)], 0)
        self.count = np.zeros(n_nodes, np.intp)
        self.slot = np.zeros(n_nodes, np.intp)
        self.count[node] = count
        self.slot[node] = np.cumsum(width) - width
        leaf = np.repeat(np.arange(len(node)), width)
        j = np.arange(len(leaf)) - self.slot[node][leaf]
        src = (np.cumsum(count) - count)[leaf] + np.minimum(j, count[leaf] - 1)
        # The node holding each cell of a dense grid (level 9 at most: 1 MB), where the
        # query starts its descent instead of at the top cells.
        self.table_level = lv = min(self.depth, 9)
        cells = np.arange(4**lv)
        ix, iy = (cells >> lv) << (self.depth - lv), (cells & (2**lv - 1)) << (self.depth - lv)
        shift = self.depth - self.top
        top = ((ix >> shift) << self.top) + (iy >> shift)
        self.table = self._descend_to(ix, iy, top, shift, self.depth - lv).astype(np.int32)
        self.cand = c = cand[src].astype(np.int32)
        # Compared in float32: each slot holds its segment relative to its leaf's centre
        # (and the query point is taken relative to it too).
        self.pack = np.column_stack(
            [
                self.ax[c] - self.cx[node][leaf],
                self.ay[c] - self.cy[node][leaf],
                self.ux[c],
                self.uy[c],
                self.ln[c],
            ]
        ).astype(np.float32)

    def _refine(
        self, seg: IntArray, cells: tuple[IntArray, IntArray, IntArray, IntArray], g: int
    ) -> tuple[list[tuple[IntArray, IntArray]], list[_Leaves], int]:
        """Refine some top cells down to leaves; new nodes are numbered from (g+1) * 2**40.

        `cells` are (candidate count, ix, iy, node) per cell, `seg` their candidates.
        """
        blen, bix, biy, bnode = cells
        base, n_new = (g + 1) << 40, 0
        children: list[tuple[IntArray, IntArray]] = []
        leaves: list[_Leaves] = []
        for level in range(self.top, self.depth + 1):
            split = blen > self._LEAF if level < self.depth else np.zeros(len(blen), bool)
            leaf_pairs = ~np.repeat(split, blen)
            w = 2.0 * self.half / 2**level
            cx, cy = (-self.half + (b[~split] + 0.5) * w for b in (bix, biy))
            leaves.append(_Leaves(bnode[~split], cx, cy, blen[~split], seg[leaf_pairs]))
            if not split.any():
                break
            seg, blen, bix, biy = seg[~leaf_pairs], blen[split], bix[split], biy[split]
            first = base + n_new + 4 * np.arange(len(blen))
            children.append((bnode[split], first))
            n_new += 4 * len(blen)
            bnode = np.repeat(first, 4) + np.tile(np.arange(4), len(blen))
            seg, blen, bix, biy, kept = self._split(seg, blen, bix, biy, level)
            bnode = bnode[kept]
        return children, leaves, n_new

    def _split(
        self, seg: IntArray, blen: IntArray, bix: IntArray, biy: IntArray, level: int
    ) -> tuple[IntArray, IntArray, IntArray, IntArray, BoolArray]:
        """Split each cell (its candidates `seg` grouped by cell) into four, and prune."""
        nb = len(blen)
        blen4 = np.repeat(blen, 4)
        ostart = np.cumsum(blen4) - blen4
        cix = 2 * np.repeat(bix, 4) + np.tile([0, 0, 1, 1], nb)
        ciy = 2 * np.repeat(biy, 4) + np.tile([0, 1, 0, 1], nb)
        rep = np.repeat(np.arange(4 * nb), blen4)
        src = np.repeat(np.repeat(np.cumsum(blen) - blen, 4), blen4)
        s = seg[src + np.arange(len(rep)) - ostart[rep]]
        keep = self._prune(s, rep, ostart, (cix[rep], ciy[rep]), self.half / 2 ** (level + 1))
        cnt = np.bincount(rep[keep], minlength=4 * nb)
        # A child left with no candidate (only by rounding) gets none: its points find
        # count 0 and go to the fallback.
        kept = cnt > 0
        return s[keep], cnt[kept], cix[kept], ciy[kept], kept

    def _prune(
        self,
        s: IntArray,
        rep: IntArray,
        start: IntArray,
        cell: tuple[IntArray, IntArray],
        hw: float,
    ) -> BoolArray:
        """Which (cell, segment) pairs stay candidates; pairs grouped by cell from `start`.

        Two tests, each passed by the nearest segment of any point in the cell:

        - Dominance by s0, the nearest segment to the cell's centre c: f = d(., s) -
          d(., s0) changes by at most r |grad f| over the cell (r: half its diagonal), and
          |grad f| = 2 sin(phi / 2), phi the angle between the two unit residuals (a point
          minus its nearest point on each segment). A residual moves by at most r over
          the cell (the residual of a projection on a convex set is 1-Lipschitz), so it
          turns by at most asin(r / d(c, .)); phi is at most the angle at c plus both turns.
          Far away, both residuals point from s u s0 to the point, so phi is also at most
          the angle that set subtends: 2 asin(diameter / distance). A second, tighter
          bound from convexity and curvature is described where it is computed.
        - Voronoi: the cell meets the segment's perpendicular slab, or the cone of normals
          at one of its vertices (where that vertex is the nearest point of both segments).
        """
        tol, r, n = 1e-9 * self.half + 1e-9, math.sqrt(2.0) * hw, len(s)
        ix, iy = cell
        dx = -self.half + (ix + 0.5) * 2 * hw - self.ax[s]
        dy = -self.half + (iy + 0.5) * 2 * hw - self.ay[s]
        ux, uy, ln = self.ux[s], self.uy[s], self.ln[s]
        p = dx * ux + dy * uy
        pc = np.minimum(np.maximum(p, 0.0), ln)
        rx, ry = dx - pc * ux, dy - pc * uy
        d = np.hypot(rx, ry)
        dmin = np.minimum.reduceat(d, start)
        first = np.minimum.reduceat(np.where(d == dmin[rep], np.arange(n), n), start)[rep]
        # |grad f| <= 2: the cheap form of the dominance test first.
        j = np.flatnonzero(d - d[first] <= 2.0 * r + tol)
        f = first[j]
        dj, df = d[j], d[f]
        # Angles as chords (|n1 - n2| = 2 sin(phi / 2)), which add up as angles do.
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = np.hypot(rx[j] / dj - rx[f] / df, ry[j] / dj - ry[f] / df)
            for dd in (dj, df):
                x2 = np.minimum(r / dd, 1.0) ** 2
                grad += np.where(dd > r, np.sqrt(2.0 - 2.0 * np.sqrt(1.0 - x2)), 2.0)
        grad = np.where(np.isnan(grad), 2.0, np.minimum(grad, 2.0))
        sj, sf = s[j], s[f]
        diam = np.hypot(self.mx[sj] - self.mx[sf], self.my[sj] - self.my[sf])
        diam += (self.ln[sj] + self.ln[sf]) / 2.0
        rho = df - r
        far = rho > diam
        grad[far] = np.minimum(grad[far], 2.0 * diam[far] / rho[far])
        # Second form, tighter away from the line: d(., s) is convex, so above its tangent
        # plane at c; d(., s0) has curvature at most 1/d, so below its tangent plane plus
        # |q - c|² / (2 (d(c, s0) - r)). Over the square: f >= f(c) - hw |g|_1 - curv,
        # with g = n_s - n_s0 the difference of the unit residuals at c.
        with np.errstate(invalid="ignore", divide="ignore"):
            gx, gy = rx[j] / dj - rx[f] / df, ry[j] / dj - ry[f] / df
            low = dj - df - hw * (np.abs(gx) + np.abs(gy)) - r * r / (2.0 * rho)
        low = np.where((rho > 0) & np.isfinite(low), low, -np.inf)
        j = j[(dj - df <= r * grad + tol + 1e-9 * dj) & (low <= tol + 1e-9 * dj)]
        s, p, ln, ux, uy, dx, dy = s[j], p[j], ln[j], ux[j], uy[j], dx[j], dy[j]
        ext = hw * self.ext[s]
        slab = (p + ext >= -tol) & (p - ext <= ln + tol)
        up = dx * self.upx[s] + dy * self.upy[s] + hw * self.ext_p[s]
        cone_a = (p - ext <= tol) & (up >= -tol)
        un = (dx - ln * ux) * self.unx[s] + (dy - ln * uy) * self.uny[s] - hw * self.ext_n[s]
        cone_b = (p + ext >= ln - tol) & (un <= tol)
        keep = np.zeros(n, dtype=bool)
        keep[j[slab | cone_a | cone_b]] = True
        return keep

    def _leaf(self, qx: FloatArray, qy: FloatArray) -> tuple[IntArray, BoolArray]:
        """The quadtree leaf holding each point, and whether the point is inside the tree."""
        scale = 2**self.depth / (2.0 * self.half)
        fx, fy = np.floor((qx + self.half) * scale), np.floor((qy + self.half) * scale)
        size = 2**self.depth
        inside = (fx >= 0) & (fx < size) & (fy >= 0) & (fy < size)  # NaN: False
        ix = np.where(inside, fx, 0).astype(np.intp)
        iy = np.where(inside, fy, 0).astype(np.intp)
        shift = self.depth - self.table_level
        node = self.table[((ix >> shift) << self.table_level) + (iy >> shift)].astype(np.intp)
        return self._descend(ix, iy, node, shift), inside

    def _descend(self, ix: IntArray, iy: IntArray, node: IntArray, shift: int) -> IntArray:
        """From nodes `shift` levels above the deepest, down to the leaves holding the
        cells (ix, iy) of the deepest level."""
        return self._descend_to(ix, iy, node, shift, 0)

    def _descend_to(
        self, ix: IntArray, iy: IntArray, node: IntArray, shift: int, stop: int
    ) -> IntArray:
        """`_descend`, stopping `stop` levels above the deepest."""
        active = np.flatnonzero(self.child[node] >= 0)
        while len(active) and shift > stop:
            shift -= 1
            quad = ((ix[active] >> shift) & 1) * 2 + ((iy[active] >> shift) & 1)
            node[active] = self.child[node[active]] + quad
            active = active[self.child[node[active]] >= 0]
        return node

    def signed(self, qx: FloatArray, qy: FloatArray) -> FloatArray:
        """Signed distance to the line (see `SideGeometry`); NaN without a line."""
        out = np.full(len(qx), np.nan)
        if self.empty:
            return out
        node, inside = self._leaf(qx, qy)
        cnt = np.where(inside, self.count[node], 0)
        rx = (qx - self.cx[node]).astype(np.float32)
        ry = (qy - self.cy[node]).astype(np.float32)
        # Points by bucket (the padded width of their leaf's list; none: the fallback),
        # grouped by one radix sort (numpy's stable sort of small integers).
        n_b = len(self._BUCKETS)
        bucket = np.where(cnt > 0, np.searchsorted(self._BUCKETS, cnt), n_b).astype(np.int8)
        order = np.argsort(bucket, kind="stable")
        bounds = np.r_[0, np.cumsum(np.bincount(bucket, minlength=n_b + 1))]
        best = np.full(len(qx), -1, dtype=np.intp)
        for b, width in enumerate(self._BUCKETS):
            sel = order[bounds[b] : bounds[b + 1]]
            if len(sel):
                slot = self._nearest32(rx[sel, None], ry[sel, None], self.slot[node[sel]], width)
                best[sel] = self.cand[slot]
        ok = np.flatnonzero(best >= 0)
        out[ok] = self._exact(qx[ok], qy[ok], best[ok])
        rest = np.flatnonzero((best < 0) & np.isfinite(qx) & np.isfinite(qy))
        if len(rest):
            out[rest] = self._fallback(qx[rest], qy[rest])
        return out

    def _nearest32(self, rx: FloatArray32, ry: FloatArray32, first: IntArray, k: int) -> IntArray:
        """The slot of each row's nearest candidate, of the k from `first`, in float32.

        Coordinates relative to the leaf's centre keep float32's rounding to ~1e-7 of the
        distances compared: a near-tie may pick a segment farther by that much, which the
        exact distance to it (`_exact`) then carries, far inside the 1e-6 promised.
        """
        window = sliding_window_view(self.pack, k, axis=0)[first]  # (n, 5, k)
        ax, ay, ux, uy, ln = (window[:, i] for i in range(5))
        dx, dy = rx - ax, ry - ay
        p = dx * ux
        p += dy * uy
        np.maximum(p, 0.0, out=p)
        np.minimum(p, ln, out=p)
        dx -= p * ux
        dy -= p * uy
        dx *= dx
        dy *= dy
        dx += dy
        best: IntArray = first + dx.argmin(axis=1)
        return best

    def _exact(self, qx: FloatArray, qy: FloatArray, k: IntArray) -> FloatArray:
        """Signed distance from each point to its segment k, in float64.

        The sign is the point's hand of segment k (see `orient`). Where the nearest point
        is a vertex shared with the next or previous segment, either one's side test
        alone can be wrong on the outside of a sharp bend; their sum (the vertex's
        pseudo-normal) is right.
        """
        dx, dy = qx - self.ax[k], qy - self.ay[k]
        ux, uy, ln = self.ux[k], self.uy[k], self.ln[k]
        p = dx * ux + dy * uy
        pc = np.minimum(np.maximum(p, 0.0), ln)
        dist = np.hypot(dx - pc * ux, dy - pc * uy)
        side = self.mux[k] * dy - self.muy[k] * dx
        other = np.where(p <= 0.0, self.prev[k], np.where(p >= ln, self.next[k], -1))
        o = np.flatnonzero(other >= 0)
        ko = other[o]
        side[o] += self.mux[ko] * (qy[o] - self.ay[ko]) - self.muy[ko] * (qx[o] - self.ax[ko])
        out: FloatArray = np.where(side < 0, -dist, dist)
        return out

    def _fallback(self, qx: FloatArray, qy: FloatArray) -> FloatArray:
        """Points outside the tree (or in crowded leaves): shapely's STRtree finds the
        nearest segments (all within a hair of the nearest, for the sign at a vertex)."""
        pts = shapely.points(qx, qy)
        _, dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        i, k = self.tree.query(pts, predicate="dwithin", distance=dist * (1 + 1e-9) + 1e-6)
        d = self._exact(qx[i], qy[i], k)
        order = np.lexsort((np.abs(d), i))  # by point, nearest first
        first = order[np.r_[0, np.flatnonzero(np.diff(i[order])) + 1]]
        out: FloatArray = d[first]
        return out


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
        ln = np.hypot(self.bx - self.ax, self.by - self.ay)
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
        centre = -self.half + (np.arange(n) + 0.5) * w
        gx, gy = np.meshgrid(centre, centre, indexing="ij")
        cell_area = self._first_area(gx.ravel(), gy.ravel())
        cell_area[mixed.ravel()] = -2
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
        """
        n, m = len(qx), len(self.areas)
        inside = np.stack([shapely.intersects_xy(a, qx, qy) for a in self.areas], axis=1)
        mass = inside.astype(np.float64).ravel()
        degenerate = np.zeros(n, dtype=bool)
        for c in range(0, len(pairs[0]), _PAIR_CHUNK):
            i, k = pairs[0][c : c + _PAIR_CHUNK], pairs[1][c : c + _PAIR_CHUNK]
            l11, l21, l22 = (v[i] for v in chol)
            a1 = (self.ax[k] - qx[i]) / l11
            a2 = (self.ay[k] - qy[i] - l21 * a1) / l22
            b1 = (self.bx[k] - qx[i]) / l11
            b2 = (self.by[k] - qy[i] - l21 * b1) / l22
            ln = np.hypot(b1 - a1, b2 - a2)
            ux, uy = (b1 - a1) / ln, (b2 - a2) / ln
            ta, tb = a1 * ux + a2 * uy, b1 * ux + b2 * uy
            h = a1 * uy - a2 * ux  # > 0: the point is on the edge's left, its area's side
            on = (ta < 0) & (tb > 0)
            dist = np.where(on, np.abs(h), np.minimum(np.hypot(a1, a2), np.hypot(b1, b2)))
            degenerate[i[dist < _DEGENERATE]] = True
            # An edge's term is below Q(|h|): nil beyond 6.5 (or 7 sigma from its points).
            use = (np.abs(h) <= 6.5) & (dist <= SIGMA_REACH + 1.0) & (dist >= _DEGENERATE)
            i, k, h, ta, tb = i[use], k[use], h[use], ta[use], tb[use]
            # h = 0 here means the point is on the edge's line beyond its ends: no mass.
            flat = h == 0.0
            h = np.where(flat, 1.0, h)
            term = _owens_t_signed(h, tb / h) - _owens_t_signed(h, ta / h)
            term[flat] = 0.0
            mass -= np.bincount(i * m + self.area[k], weights=term, minlength=n * m)
        return mass.reshape(n, m), degenerate


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
    hh2 = -0.5 * hh * hh
    t = np.zeros_like(hh)
    for x, w in zip(_GL_X, _GL_W, strict=True):
        r = 1.0 + (aa * x) ** 2
        t += w * np.exp(hh2 * r) / r
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
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for c in (
        0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
        -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
    ):  # fmt: skip
        poly = poly * t + c
    return 0.5 * t * np.exp(-z * z + poly)
