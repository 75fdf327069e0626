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

Speed comes from two indexes built with the geometry (`_line_index`, `_area_index`). The
contact line's is a quadtree whose leaves list the segments that can be nearest to some
point in them: a segment stays if its Voronoi region can meet the cell (the cell meets
its perpendicular slab or the normal cone at one of its vertices) and if the nearest
segment to the cell's centre does not dominate it everywhere in the cell (a bound on how
fast the difference of the two distances can change); cells are split while they list
more than a dozen. A point's candidates are compared in float32 (relative to the leaf's
centre) and the nearest one's distance and sign recomputed in float64: distances are
exact to 1e-7 relative (float32 may pick either of two segments whose distances differ
by less). The areas' index is a grid whose cells no boundary crosses carry the side that
fills them, and a lower bound of the distance to any boundary (which tells p_side which
points are certain); only points in the other cells ask shapely. Chunks of points run on
a thread pool: numpy and shapely release the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from ceasewatch._fork import fork_map
from ceasewatch.analysis._area_index import SIGMA_REACH, _AreaIndex
from ceasewatch.analysis._ieee import hypot
from ceasewatch.analysis._line_index import IntArray, _LineIndex
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import TheaterState

__all__ = ["CHUNK", "Attribution", "SideGeometry"]

AnyArray = npt.NDArray[Any]

#: Below this total mass in the areas a point is "outside every side": p_side is all zeros.
MIN_MASS = 1e-6
#: Added to every covariance's diagonal (m²): a degenerate (rank-1) covariance still works.
JITTER_M2 = 1e-6

#: Points per task: arrays stay in cache, and tasks spread over threads. Each point's
#: results depend on which points share its chunk (sums over batches of pairs), so callers
#: that split the points themselves cut them at multiples of this to get the same bits.
CHUNK = 1 << 14
_AREA_GRID = 512  # cells a side of the areas' grid
_NEAR_BATCH = 1024  # near points per STRtree query (bounds its pairs for any sigma)
_NUDGE = np.array([1e-6, 0.7e-6])  # whitened nudge, off any axis a boundary might follow


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
        side = self._map(lambda s: (self._side_index(qx[s], qy[s]),), len(qx))[0]
        return self._p_side(qx, qy, cov, side, 1)

    def attribute(
        self,
        x_m: FloatArray,
        y_m: FloatArray,
        cov_m2: FloatArray | None = None,
        *,
        processes: int = 1,
    ) -> Attribution:
        """Side, signed distance and (with `cov_m2`) p_side in one pass over the points.

        `processes` > 1 computes the uncertain points' p_side on that many forked
        processes (`_fork.fork_map`; the same batches as on threads: the same bits).
        """
        qx, qy = self._local(x_m, y_m)
        cov = None if cov_m2 is None else _covariance(cov_m2, len(qx))

        def task(s: slice) -> tuple[IntArray, FloatArray]:
            return self._side_index(qx[s], qy[s]), self._line.signed(qx[s], qy[s])

        side, signed = self._map(task, len(qx))
        d = self._unsigned(qx, qy, signed)
        p = None if cov is None else self._p_side(qx, qy, cov, side, processes)
        return Attribution(side, signed, d, p)

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
        chunks = [slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)] or [slice(0, 0)]
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
        self, qx: FloatArray, qy: FloatArray, cov: FloatArray, side: IntArray, processes: int
    ) -> FloatArray:
        """p_side rows: 0 or 1 where no boundary is within reach, else by `_p_near`.

        The near points of each `CHUNK` of points go in batches of `_NEAR_BATCH` (a
        point's sums depend on its batch); the batches run on the thread pool, or on
        `processes` forked processes.
        """
        sxx, sxy, syy = cov.T
        p = np.zeros((len(qx), len(self.sides)))
        has = np.flatnonzero(side >= 0)
        p[has, side[has]] = 1.0
        if not self._area_geoms:
            return p
        sigma_max = np.sqrt((sxx + syy) / 2.0 + hypot((sxx - syy) / 2.0, sxy))
        reach = SIGMA_REACH * sigma_max
        uncertain = (self._areas.clearance(qx, qy) < reach) & np.isfinite(qx) & np.isfinite(qy)
        batches: list[IntArray] = []
        for a in range(0, len(qx), CHUNK):
            near = a + np.flatnonzero(uncertain[a : a + CHUNK])
            batches += [near[b : b + _NEAR_BATCH] for b in range(0, len(near), _NEAR_BATCH)]
        job: _NearJob = (self, qx, qy, cov, reach, batches)
        if processes > 1:
            rows = fork_map(_near_rows, job, len(batches), processes)
        elif self.workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                rows = list(pool.map(lambda k: _near_rows(job, k), range(len(batches))))
        else:
            rows = [_near_rows(job, k) for k in range(len(batches))]
        for i, r in zip(batches, rows, strict=True):
            p[i] = r
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


#: A batch job of `_p_side`: the geometry, the points (local), their covariances and
#: reaches, and the batches of near points.
_NearJob = tuple["SideGeometry", FloatArray, FloatArray, FloatArray, FloatArray, list[IntArray]]


def _near_rows(job: _NearJob, k: int) -> FloatArray:
    """p_side rows of batch k of near points (a module function: `fork_map` names it)."""
    geom, qx, qy, cov, reach, batches = job
    i = batches[k]
    return geom._p_near(qx[i], qy[i], cov[i], reach[i])


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
