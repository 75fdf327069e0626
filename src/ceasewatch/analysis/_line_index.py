"""The contact line's index for `SideGeometry`: a quadtree of nearest-segment candidates.

The quadtree's leaves list the segments that can be nearest to some point in them: a
segment stays if its Voronoi region can meet the cell (the cell meets its perpendicular
slab or the normal cone at one of its vertices) and if the nearest segment to the cell's
centre does not dominate it everywhere in the cell (a bound on how fast the difference of
the two distances can change); cells are split while they list more than a dozen. A
point's candidates are compared in float32 (relative to the leaf's centre) and the nearest
one's distance and sign recomputed in float64 (see `ceasewatch.analysis.attribution`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from numpy.lib.stride_tricks import sliding_window_view
from shapely.geometry.base import BaseGeometry

from ceasewatch.analysis._ieee import hypot
from ceasewatch.geo.geodesy import FloatArray

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
FloatArray32 = npt.NDArray[np.float32]

_FINEST = 1.0  # the line's quadtree stops at cells this many typical segments wide
_K_MAX = 64  # cells listing more candidate segments send their points to the fallback


def _tree(seg: FloatArray) -> shapely.STRtree:
    """An STRtree of segments (ax, ay, bx, by, ...), built now: GEOS builds it on the first
    query otherwise, which two threads might then do at once."""
    tree = shapely.STRtree(shapely.linestrings(np.stack([seg[:, 0:2], seg[:, 2:4]], 1)))
    tree.query(shapely.points(0.0, 0.0))
    return tree


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
            ln = hypot(*(b - a).T)
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
        d = hypot(rx, ry)
        dmin = np.minimum.reduceat(d, start)
        first = np.minimum.reduceat(np.where(d == dmin[rep], np.arange(n), n), start)[rep]
        # |grad f| <= 2: the cheap form of the dominance test first.
        j = np.flatnonzero(d - d[first] <= 2.0 * r + tol)
        f = first[j]
        dj, df = d[j], d[f]
        # Angles as chords (|n1 - n2| = 2 sin(phi / 2)), which add up as angles do.
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = hypot(rx[j] / dj - rx[f] / df, ry[j] / dj - ry[f] / df)
            for dd in (dj, df):
                x2 = np.minimum(r / dd, 1.0) ** 2
                grad += np.where(dd > r, np.sqrt(2.0 - 2.0 * np.sqrt(1.0 - x2)), 2.0)
        grad = np.where(np.isnan(grad), 2.0, np.minimum(grad, 2.0))
        sj, sf = s[j], s[f]
        diam = hypot(self.mx[sj] - self.mx[sf], self.my[sj] - self.my[sf])
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
        dist = hypot(dx - pc * ux, dy - pc * uy)
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
