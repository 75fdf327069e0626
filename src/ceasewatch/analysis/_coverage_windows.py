"""The bulk path of `Coverage.compute`: a grid index of the segments' midpoints, the
windows along each track, point-in-quadrilateral tests, and visits compressed and merged.

Steps 1-3 of `ceasewatch.analysis.coverage`'s module docstring, which says why the
windows give exactly the visits of testing every sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis.segments import BoolArray, IntArray
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray

#: Visits as arrays: segment, start_s, end_s.
_Visits = tuple[IntArray, FloatArray, FloatArray]

_MAX_CELLS = 1 << 22  # cells in a grid level, at most
_LEVEL_SPAN = 3.0  # a footprint uses the finest level where its box is <= 3 cells wide


class _Grid:
    """Segment midpoints in uniform grids of cell sizes cell_m * 2**level."""

    def __init__(self, mx: FloatArray, my: FloatArray, cell_m: float) -> None:
        self.ox, self.oy = float(mx.min()), float(my.min())
        self.mx, self.my = mx - self.ox, my - self.oy
        w = max(float(self.mx.max()), float(self.my.max()), 1.0)
        c = max(cell_m, math.sqrt(w * w / _MAX_CELLS))
        sizes, dims, bases = [], [], [0]
        while True:
            n = math.floor(w / c) + 1
            sizes.append(c)
            dims.append(n)
            bases.append(bases[-1] + n * n)
            if n <= 2:
                break
            c *= 2.0
        self.size = np.array(sizes)
        self.dim = np.array(dims, dtype=np.intp)
        self.base = np.array(bases[:-1], dtype=np.intp)
        cells = []
        for c, n, b in zip(sizes, dims, self.base, strict=True):
            ix = np.minimum(np.floor(self.mx / c), n - 1).astype(np.intp)
            iy = np.minimum(np.floor(self.my / c), n - 1).astype(np.intp)
            cells.append(b + ix * n + iy)
        cell = np.concatenate(cells)
        seg = np.tile(np.arange(len(mx), dtype=np.intp), len(sizes))
        order = np.argsort(cell, kind="stable")
        self.cell_seg = seg[order]
        self.start = np.searchsorted(cell[order], np.arange(bases[-1] + 1)).astype(np.intp)

    def candidates(
        self, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray
    ) -> tuple[IntArray, IntArray]:
        """(footprint, segment) pairs whose midpoint lies in the footprint's box."""
        span = np.maximum(x1 - x0, y1 - y0)
        level = np.zeros(len(x0), dtype=np.intp)
        for c in self.size[:-1]:
            level += span > _LEVEL_SPAN * c
        c, n = self.size[level], self.dim[level]
        fx0, fy0 = np.floor(x0 / c), np.floor(y0 / c)
        fx1, fy1 = np.floor(x1 / c), np.floor(y1 / c)
        inside = (fx1 >= 0) & (fy1 >= 0) & (fx0 < n) & (fy0 < n)
        f = np.flatnonzero(inside)
        n = n[f]
        cx0 = np.maximum(fx0[f], 0).astype(np.intp)
        cy0 = np.maximum(fy0[f], 0).astype(np.intp)
        ncx = np.minimum(fx1[f], n - 1).astype(np.intp) - cx0 + 1
        ncy = np.minimum(fy1[f], n - 1).astype(np.intp) - cy0 + 1
        ncell = ncx * ncy
        rep = np.repeat(np.arange(len(f)), ncell)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(ncell) - ncell, ncell)
        w = ncx[rep]
        cell = self.base[level[f]][rep] + (cx0[rep] + k % w) * n[rep] + cy0[rep] + k // w
        lo, cnt = self.start[cell], self.start[cell + 1] - self.start[cell]
        has = np.flatnonzero(cnt)
        rep, lo, cnt = rep[has], lo[has], cnt[has]
        pair_f = np.repeat(rep, cnt)
        j = np.arange(len(pair_f)) - np.repeat(np.cumsum(cnt) - cnt - lo, cnt)
        seg = self.cell_seg[j]
        fp = f[pair_f]
        px, py = self.mx[seg], self.my[seg]
        box = (px >= x0[fp]) & (px <= x1[fp]) & (py >= y0[fp]) & (py <= y1[fp])
        return fp[box], seg[box]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The observing samples in (track, time) order, cut into windows between anchors.

    Attributes:
        idx: indexes of the samples that count, in (track, time) order.
        anchor: positions in idx of the anchors: every `stride`-th sample of a track,
            and its last.
        after: for each anchor, the position of the next anchor of its track (the end
            of its window), or -1 when it is the last.
        stride: samples per window.
    """

    idx: IntArray
    anchor: IntArray
    after: IntArray
    stride: int

    @staticmethod
    def make(
        idx: IntArray,
        t: FloatArray,
        track: npt.ArrayLike | None,
        stride: int | None,
        merge_s: float,
    ) -> _Plan:
        u = len(idx)
        if track is None:
            everything = np.arange(u, dtype=np.intp)
            return _Plan(idx, everything, np.full(u, -1, dtype=np.intp), 1)
        tr_all = np.asarray(track)
        if tr_all.shape != t.shape:
            raise InvalidInput(f"track must have shape {t.shape}, not {tr_all.shape}")
        tr, tt = tr_all[idx], t[idx]
        same = tr[1:] == tr[:-1]
        if not ((tr[1:] > tr[:-1]) | (same & (tt[1:] >= tt[:-1]))).all():
            order = np.lexsort((tt, tr))
            idx, tr, tt = idx[order], tr[order], tt[order]
            same = tr[1:] == tr[:-1]
        if stride is None:
            dt = np.diff(tt)[same]
            dt = dt[dt > 0.0]
            step = float(np.median(dt)) if len(dt) else 1.0
            stride = max(1, min(64, math.floor(min(2.0, merge_s) / step + 1e-9)))
        pos = np.arange(u, dtype=np.intp)
        first = np.maximum.accumulate(np.where(np.r_[True, ~same], pos, 0))
        last = np.r_[~same, True]
        anchor = np.flatnonzero(((pos - first) % stride == 0) | last)
        after = np.r_[anchor[1:], -1]
        after[last[anchor]] = -1
        return _Plan(idx, anchor, after.astype(np.intp), stride)


def _window_visits(
    grid: _Grid,
    corners: FloatArray,
    t: FloatArray,
    plan: _Plan,
    anchors: tuple[int, int],
    *,
    merge_s: float,
) -> _Visits:
    """Visits from the windows of plan.anchor[anchors[0]:anchors[1]].

    Each anchor is tested against the segments near its footprint. The samples inside
    its window (up to the next anchor of its track) are tested only against segments
    whose midpoint lies, for every edge of the anchor's footprint, no farther outside
    that edge than some window sample's corner does (a point beyond that on one edge is
    outside every footprint of the window: they are convex hulls of those corners), and
    not when both the anchor and the next one see the segment less than merge_s apart
    (the samples between them cannot begin or end a visit then). So the visits are
    exactly those of testing every sample.
    """
    i0, i1 = anchors
    anc = plan.anchor[i0:i1]
    aft = plan.after[i0:i1]
    lo = int(anc[0])
    hi = int(max(int(anc[-1]), int(aft.max()))) + 1
    sub = plan.idx[lo:hi]
    # Columns (corner or edge, sample): every operation below runs on contiguous rows.
    c = corners[sub]
    x = c[:, :, 0].T - grid.ox
    y = c[:, :, 1].T - grid.oy
    ts = t[sub]
    edges = _edges(x, y, sub)
    la = anc - lo
    has_b = aft >= 0
    lb = np.where(has_b, aft - lo, la)
    n_in = np.where(has_b, lb - la - 1, 0)
    # How far outside each of the anchor's edges any window sample's corner reaches
    # (a cross product, like the point tests): beyond that on some edge, no sample of
    # the window can hold the point.
    total = int(n_in.sum())
    spill = np.zeros((4, len(la)))
    if total:
        own = np.repeat(la, n_in)
        q = np.repeat(la + 1 - (np.cumsum(n_in) - n_in), n_in) + np.arange(total)
        ea = np.take(edges, own, axis=1)
        xq, yq = np.take(x, q, axis=1), np.take(y, q, axis=1)
        cross = np.empty((total, 4))
        for i in range(4):
            m = ea[i] * yq[0] - ea[4 + i] * xq[0]
            for j in range(1, 4):
                np.maximum(m, ea[i] * yq[j] - ea[4 + i] * xq[j], out=m)
            np.subtract(m, ea[8 + i], out=cross[:, i])
        has = np.flatnonzero(n_in)
        spill[:, has] = np.maximum.reduceat(cross, np.cumsum(n_in)[has] - n_in[has], axis=0).T
    # Candidates: midpoints in the box of all the window's corners (windows tile the
    # chunk: an anchor, then its samples up to the next anchor).
    end = int(la[-1] + n_in[-1] + 1)
    x, y = x[:, :end], y[:, :end]
    f, seg = grid.candidates(
        np.minimum.reduceat(np.minimum(np.minimum(x[0], x[1]), np.minimum(x[2], x[3])), la),
        np.minimum.reduceat(np.minimum(np.minimum(y[0], y[1]), np.minimum(y[2], y[3])), la),
        np.maximum.reduceat(np.maximum(np.maximum(x[0], x[1]), np.maximum(x[2], x[3])), la),
        np.maximum.reduceat(np.maximum(np.maximum(y[0], y[1]), np.maximum(y[2], y[3])), la),
    )
    px, py = grid.mx[seg], grid.my[seg]
    ga = np.take(np.vstack([edges[:, la], spill]), f, axis=1)
    in_a = np.ones(len(f), dtype=bool)
    near = n_in[f] > 0
    for i in range(4):
        cr = ga[i] * py
        cr -= ga[4 + i] * px
        cr -= ga[8 + i]
        in_a &= cr <= 0.0
        near &= cr <= ga[12 + i]
    hit_pos = [la[f[in_a]]]
    hit_seg = [seg[in_a]]
    chk = np.flatnonzero(near & in_a)
    if len(chk):
        b = lb[f[chk]]
        both = _inside(edges, b, px[chk], py[chk]) & (ts[b] - ts[la[f[chk]]] <= merge_s)
        near[chk[both]] = False
    ref = np.flatnonzero(near)
    if len(ref):
        cnt = n_in[f[ref]]
        tot = int(cnt.sum())
        q = np.repeat(la[f[ref]] + 1 - (np.cumsum(cnt) - cnt), cnt) + np.arange(tot)
        sq = np.repeat(seg[ref], cnt)
        inside = _inside(edges, q, grid.mx[sq], grid.my[sq])
        hit_pos.append(q[inside])
        hit_seg.append(sq[inside])
    pos = np.concatenate(hit_pos)
    hs = np.concatenate(hit_seg)
    # Sorted by (segment, time): time as its rank among the chunk's samples.
    order = np.argsort(ts, kind="stable")
    rank = np.empty(len(ts), dtype=np.int64)
    rank[order] = np.arange(len(ts))
    key = np.sort(hs.astype(np.int64) * len(ts) + rank[pos])
    s_seg = (key // len(ts)).astype(np.intp)
    s_t = ts[order[key % len(ts)]]
    return _compress(s_seg, s_t, s_t, merge_s)


def _edges(x: FloatArray, y: FloatArray, sub: IntArray) -> FloatArray:
    """(12, n): per footprint (x, y: (4, n) corners), its 4 edges' (dx, dy) and offsets
    k, oriented so that a point p is inside iff dx_i p_y - dy_i p_x - k_i <= 0 for every
    edge (clockwise; a counter-clockwise footprint's edges are turned around).

    Raises:
        InvalidInput: a footprint is not convex (sub: the footprints' indexes).
    """
    n = x.shape[1]
    out = np.empty((12, n))
    nxt = (1, 2, 3, 0)
    for i in range(4):
        np.subtract(x[nxt[i]], x[i], out=out[i])
        np.subtract(y[nxt[i]], y[i], out=out[4 + i])
    cw = np.ones(n, dtype=bool)
    ccw = np.ones(n, dtype=bool)
    for i in range(4):
        p = (i + 3) % 4
        turn = out[p] * out[4 + i] - out[4 + p] * out[i]
        cw &= turn <= 0.0
        ccw &= turn >= 0.0
    if not (cw | ccw).all():
        i = int(sub[np.flatnonzero(~(cw | ccw))[0]])
        raise InvalidInput(
            f"footprint {i} is not a convex quadrilateral; make corners with "
            "analysis.footprint (footprints, from_corners or convex_quads)"
        )
    flip = np.flatnonzero(~cw)
    if len(flip):
        out[:8, flip] *= -1.0
    for i in range(4):
        np.subtract(out[i] * y[i], out[4 + i] * x[i], out=out[8 + i])
    return out


def _inside(edges: FloatArray, rows: IntArray, px: FloatArray, py: FloatArray) -> BoolArray:
    """Whether each point (px, py) lies in footprint edges[:, rows] (boundary included)."""
    g = np.take(edges, rows, axis=1)
    out = np.ones(len(rows), dtype=bool)
    for i in range(4):
        c = g[i] * py
        c -= g[4 + i] * px
        c -= g[8 + i]
        out &= c <= 0.0
    return out


def _compress(seg: IntArray, start: FloatArray, end: FloatArray, merge_s: float) -> _Visits:
    """Visits sorted by (segment, start), whose ends are sorted the same way, merged
    where a gap is at most merge_s."""
    if len(seg) == 0:
        return _no_visits()
    split = (seg[1:] != seg[:-1]) | (start[1:] - end[:-1] > merge_s)
    first = np.flatnonzero(np.r_[True, split])
    last = np.r_[first[1:] - 1, len(seg) - 1]
    return seg[first], start[first], end[last]


def _merge(seg: IntArray, start: FloatArray, end: FloatArray, merge_s: float) -> _Visits:
    """Visits from many chunks merged: starts and ends sorted separately per segment.

    With starts and ends each sorted, the union (allowing gaps up to merge_s) breaks
    between the i-th and (i+1)-th visit exactly where the (i+1)-th start comes more than
    merge_s after the i-th end: then the i earliest ends are those of the i earliest
    starts. The same test as within a chunk, so chunking does not change the result.
    """
    by_start = np.lexsort((start, seg))
    by_end = np.lexsort((end, seg))
    return _compress(seg[by_start], start[by_start], end[by_end], merge_s)


def _no_visits() -> _Visits:
    return np.zeros(0, np.intp), np.zeros(0), np.zeros(0)
