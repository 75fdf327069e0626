"""Coverage: which stretches of the contact line (and of zone boundaries) the drones'
cameras watched, when, and how long each went unwatched.

The line is cut into segments (`segments`, `theater_segments`). A segment counts as
observed at a sample's time when its midpoint lies inside that sample's footprint
(boundary included): a point-in-convex-quadrilateral test of four cross products, done
in bulk. "Any part of the segment" would credit a footprint that grazes a segment's end
with the whole segment; with segments shorter than footprints the two differ only at a
footprint's edge. Observation times are kept per segment as *visits*: samples at most
`merge_s` seconds apart merged into one interval [start, end].

`Coverage.compute` takes N footprints (corner arrays), their times, an observed mask
(usually `Footprints.usable(...)`) and, if known, the track (drone, sortie) of each:

1. Index: a uniform grid over the midpoints at a few cell sizes (each twice the last);
   a query box uses the finest level where it spans at most four cells a side, so a
   large oblique footprint costs no more cells than a small one.
2. Windows: along each track, in time order, every `stride`-th sample (and the last)
   is an anchor, tested against the midpoints in the box of its window (itself and the
   samples up to the next anchor). The window's other samples are tested only against
   the few midpoints that matter: those that some corner of theirs could reach (no
   farther outside any edge of the anchor's footprint than their corners go), and not
   those both anchors see less than merge_s apart (samples between two such sightings
   cannot begin or end a visit). The visits are exactly those of testing every sample
   (a property test checks it), for a fraction of the tests: at 10 Hz, footprints move
   little between samples. Without tracks every sample is an anchor.
3. Visits: per chunk of windows the hits are sorted by (segment, time) and compressed;
   across chunks the visits are merged again. Merging is exact and associative (two
   samples fall in one visit iff no gap longer than merge_s separates them), so the
   result depends neither on the chunking, nor on the threads, nor on the samples' order.

Only + - * / sqrt and comparisons run on the arrays (see `analysis.footprint`), and
sums of lengths use `math.fsum`: every node derives the same numbers.
"""

from __future__ import annotations

import bisect
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis.allegations import Observed
from ceasewatch.analysis.segments import BoolArray, IntArray, Segments, segments, theater_segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray

__all__ = [
    "Coverage",
    "SegmentStats",
    "Segments",
    "segments",
    "theater_segments",
]

#: Visits as arrays: segment, start_s, end_s.
_Visits = tuple[IntArray, FloatArray, FloatArray]

_CHUNK = 1 << 13  # footprints per task: the pair arrays stay in cache
_MAX_CELLS = 1 << 22  # cells in a grid level, at most
_LEVEL_SPAN = 3.0  # a footprint uses the finest level where its box is <= 3 cells wide


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """Per segment, over the window [t0_s, t1_s] (arrays in segment order).

    Attributes:
        visits: visits that overlap the window.
        observed_s: their total duration within the window (a lone sample counts 0 s).
        longest_gap_s: the longest stretch of the window with no visit (the whole window
            for a segment never seen in it).
        revisit_s: the median of the gaps between consecutive visits within the window,
            from the end of one to the start of the next (NaN with fewer than two).
        first_seen_s, last_seen_s: the first and last observed moments within the
            window (NaN when none).
    """

    t0_s: float
    t1_s: float
    visits: IntArray
    observed_s: FloatArray
    longest_gap_s: FloatArray
    revisit_s: FloatArray
    first_seen_s: FloatArray
    last_seen_s: FloatArray


@dataclass(frozen=True, slots=True)
class Coverage:
    """Visits of each segment: when its midpoint was inside an observing footprint.

    Attributes:
        segments: what was covered.
        merge_s: samples of a segment at most this far apart were merged into one visit.
        near_m: `observed` answers for points within this distance of a segment.
        offsets: (M + 1,) segment k's visits are start_s, end_s[offsets[k]:offsets[k+1]],
            in time order, disjoint and more than merge_s apart.
        start_s, end_s: the first and last sample of each visit (seconds, the epoch of
            the times given: POSIX seconds when `observed` is called with datetimes).
    """

    segments: Segments
    merge_s: float
    near_m: float
    offsets: IntArray
    start_s: FloatArray
    end_s: FloatArray

    @classmethod
    def compute(
        cls,
        segs: Segments,
        corners_m: FloatArray,
        t_s: FloatArray,
        observed: BoolArray | None = None,
        *,
        track: npt.ArrayLike | None = None,
        stride: int | None = None,
        merge_s: float = 5.0,
        near_m: float = 1000.0,
        cell_m: float | None = None,
        workers: int | None = None,
    ) -> Coverage:
        """Visits of every segment from N footprints.

        Args:
            segs: the segments (e.g. `theater_segments`).
            corners_m: (N, 4, 2) convex quadrilaterals in the local plane, either
                orientation (as `Footprints.corners_m`); rows with NaN see nothing.
            t_s: (N,) sample times in seconds (POSIX seconds to use the datetime hook).
            observed: (N,) which footprints count (e.g. `Footprints.usable(...)`);
                default: all.
            track: (N,) which camera (sortie, drone) took each sample. With it, the
                samples of a track are taken in time order and only every `stride`-th
                is tested against every segment (see the module docstring): the same
                result, much faster. Without it every sample is tested.
            stride: samples per window along a track (default: about two seconds of
                samples, and windows no longer than merge_s).
            merge_s: samples of a segment at most this many seconds apart form one visit.
            near_m: how near a segment a point must be for `observed` to answer for it.
            cell_m: the finest grid cell (default: twice the median segment length,
                at least 50 m).
            workers: threads (default: the CPUs available, at most 8).

        Raises:
            InvalidInput: shapes disagree, or an observed quadrilateral is not convex.
        """
        corners = np.asarray(corners_m, dtype=np.float64)
        t = np.asarray(t_s, dtype=np.float64)
        n = len(t)
        if corners.shape != (n, 4, 2) or t.ndim != 1:
            raise InvalidInput(f"corners_m must be (N, 4, 2) and t_s (N,); got {corners.shape}")
        mask = np.ones(n, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
        if mask.shape != (n,):
            raise InvalidInput(f"observed must have shape ({n},), not {mask.shape}")
        if not merge_s >= 0.0:
            raise InvalidInput(f"merge_s must be >= 0, not {merge_s}")
        if stride is not None and stride < 1:
            raise InvalidInput(f"stride must be at least 1, not {stride}")
        m = len(segs)
        work = max(1, workers or min(len(os.sched_getaffinity(0)), 8))
        idx = np.flatnonzero(mask & np.isfinite(corners).all(axis=(1, 2)) & np.isfinite(t))
        if m == 0 or len(idx) == 0:
            return cls._from_visits(segs, merge_s, near_m, _no_visits())
        if cell_m is None:
            cell_m = max(2.0 * float(np.median(segs.length_m)), 50.0)
        grid = _Grid(segs.mid_x, segs.mid_y, cell_m)
        plan = _Plan.make(idx, t, track, stride, merge_s)

        def task(r: tuple[int, int]) -> _Visits:
            return _window_visits(grid, corners, t, plan, r, merge_s=merge_s)

        per = max(1, _CHUNK // plan.stride)
        ranges = [(i, min(i + per, len(plan.anchor))) for i in range(0, len(plan.anchor), per)]
        if work == 1 or len(ranges) == 1:
            parts = [task(r) for r in ranges]
        else:
            with ThreadPoolExecutor(min(work, len(ranges))) as pool:
                parts = list(pool.map(task, ranges))
        seg = np.concatenate([p[0] for p in parts])
        start = np.concatenate([p[1] for p in parts])
        end = np.concatenate([p[2] for p in parts])
        return cls._from_visits(segs, merge_s, near_m, _merge(seg, start, end, merge_s))

    @classmethod
    def _from_visits(
        cls,
        segs: Segments,
        merge_s: float,
        near_m: float,
        visits: _Visits,
    ) -> Coverage:
        seg, start, end = visits
        offsets = np.searchsorted(seg, np.arange(len(segs) + 1), side="left").astype(np.intp)
        return cls(segs, merge_s, near_m, offsets, start, end)

    # -- per segment ----------------------------------------------------------------------

    @property
    def visit_segment(self) -> IntArray:
        """The segment of each visit."""
        out: IntArray = np.repeat(np.arange(len(self.segments)), np.diff(self.offsets))
        return out

    def visits(self, k: int) -> list[tuple[float, float]]:
        """Segment k's visits as (start_s, end_s), in time order."""
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        return [
            (float(s), float(e)) for s, e in zip(self.start_s[a:b], self.end_s[a:b], strict=True)
        ]

    def stats(self, t0_s: float, t1_s: float) -> SegmentStats:
        """Visits, longest gap, revisit interval, first and last seen per segment within
        [t0_s, t1_s] (see `SegmentStats`)."""
        t0_s, t1_s = float(t0_s), float(t1_s)
        if not t1_s >= t0_s:
            raise InvalidInput(f"window [{t0_s}, {t1_s}] ends before it starts")
        m = len(self.segments)
        seg = self.visit_segment
        keep = np.flatnonzero((self.end_s >= t0_s) & (self.start_s <= t1_s))
        sk = seg[keep]
        cs = np.maximum(self.start_s[keep], t0_s)
        ce = np.minimum(self.end_s[keep], t1_s)
        visits = np.bincount(sk, minlength=m).astype(np.intp)
        observed = np.bincount(sk, weights=ce - cs, minlength=m).astype(np.float64)
        change = sk[1:] != sk[:-1]
        first_of = np.r_[True, change] if len(sk) else np.zeros(0, bool)
        last_of = np.r_[change, True] if len(sk) else np.zeros(0, bool)
        first_seen = np.full(m, np.nan)
        last_seen = np.full(m, np.nan)
        first_seen[sk[first_of]] = cs[first_of]
        last_seen[sk[last_of]] = ce[last_of]
        # Gaps: before the first visit, between consecutive visits, after the last.
        same = sk[1:] == sk[:-1]
        ig_seg = sk[1:][same]
        ig = cs[1:][same] - ce[:-1][same]
        gap_seg = np.concatenate([sk[first_of], ig_seg, sk[last_of]])
        gaps = np.concatenate([cs[first_of] - t0_s, ig, t1_s - ce[last_of]])
        longest = np.full(m, t1_s - t0_s)
        longest[visits > 0] = -np.inf
        np.maximum.at(longest, gap_seg, gaps)
        # The median gap between visits: gaps sorted per segment, the middle one(s).
        order = np.lexsort((ig, ig_seg))
        ig, ig_seg = ig[order], ig_seg[order]
        cnt = np.bincount(ig_seg, minlength=m)
        first = np.cumsum(cnt) - cnt
        revisit = np.full(m, np.nan)
        has = np.flatnonzero(cnt > 0)
        lo = first[has] + (cnt[has] - 1) // 2
        hi = first[has] + cnt[has] // 2
        revisit[has] = (ig[lo] + ig[hi]) / 2.0
        return SegmentStats(
            t0_s=float(t0_s),
            t1_s=float(t1_s),
            visits=visits,
            observed_s=observed,
            longest_gap_s=longest,
            revisit_s=revisit,
            first_seen_s=first_seen,
            last_seen_s=last_seen,
        )

    def last_seen_s(self, t_s: float) -> FloatArray:
        """Per segment, the latest moment at or before t_s it was observed (NaN: never)."""
        t_s = float(t_s)
        seg = self.visit_segment
        before = np.flatnonzero(self.start_s <= t_s)
        out = np.full(len(self.segments), -np.inf)
        np.maximum.at(out, seg[before], np.minimum(self.end_s[before], t_s))
        out[np.isneginf(out)] = np.nan
        return out

    def seen_between(self, t0_s: float, t1_s: float) -> BoolArray:
        """Per segment: was it observed at some moment in [t0_s, t1_s]?"""
        hit = (self.end_s >= t0_s) & (self.start_s <= t1_s)
        out: BoolArray = np.bincount(self.visit_segment[hit], minlength=len(self.segments)) > 0
        return out

    # -- over the line --------------------------------------------------------------------

    def share_observed(
        self, t_s: float | npt.ArrayLike, hours: float, *, group: str | None = "line"
    ) -> FloatArray:
        """Share of the length of `group` (None: every segment) observed within the
        `hours` before each time in t_s ([t - hours, t]); one value per time."""
        times = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        sel = self.segments.in_group(group)
        total = math.fsum(self.segments.length_m[sel].tolist())
        out = np.zeros(len(times))
        if total <= 0.0:
            return out
        for i, t in enumerate(times.tolist()):
            seen = self.seen_between(t - hours * 3600.0, t) & sel
            out[i] = math.fsum(self.segments.length_m[seen].tolist()) / total
        return out

    # -- points -----------------------------------------------------------------------------

    def nearest_segment(
        self, x_m: npt.ArrayLike, y_m: npt.ArrayLike
    ) -> tuple[IntArray, FloatArray]:
        """Index of the nearest segment to each point and the distance to it (-1, inf
        when there are no segments). Ties go to the lower index."""
        qx = np.atleast_1d(np.asarray(x_m, dtype=np.float64))
        qy = np.atleast_1d(np.asarray(y_m, dtype=np.float64))
        sg = self.segments
        piece = np.ones(len(sg.vx), dtype=bool)
        piece[sg.offsets[1:] - 1] = False  # no piece from a segment's last vertex
        a = np.flatnonzero(piece)
        owner = np.searchsorted(sg.offsets, a, side="right") - 1
        ax, ay, bx, by = sg.vx[a], sg.vy[a], sg.vx[a + 1], sg.vy[a + 1]
        ex, ey = bx - ax, by - ay
        ee = ex * ex + ey * ey
        best = np.full(len(qx), -1, dtype=np.intp)
        dist = np.full(len(qx), np.inf)
        if len(a) == 0:
            return best, dist
        step = max(1, (1 << 22) // len(a))
        for i in range(0, len(qx), step):
            px, py = qx[i : i + step, None] - ax, qy[i : i + step, None] - ay
            with np.errstate(invalid="ignore", divide="ignore"):
                u = np.clip(np.where(ee > 0.0, (px * ex + py * ey) / ee, 0.0), 0.0, 1.0)
            dx, dy = px - u * ex, py - u * ey
            d2 = dx * dx + dy * dy
            j = np.argmin(d2, axis=1)
            best[i : i + step] = owner[j]
            dist[i : i + step] = np.sqrt(d2[np.arange(len(j)), j])
        return best, dist

    def observed(
        self, x_m: float, y_m: float, t: float | datetime, window_s: float = 3600.0
    ) -> bool:
        """Was the point's nearest segment, if within `near_m`, observed within
        `window_s` of t ([t - window_s, t + window_s])? t: seconds or an aware datetime."""
        return bool(self.observed_many([x_m], [y_m], [_seconds(t)], window_s)[0])

    def observed_many(
        self, x_m: npt.ArrayLike, y_m: npt.ArrayLike, t_s: npt.ArrayLike, window_s: float
    ) -> BoolArray:
        """`observed` for arrays of points and times (seconds)."""
        k, d = self.nearest_segment(x_m, y_m)
        times = np.broadcast_to(np.asarray(t_s, dtype=np.float64), k.shape)
        out = np.zeros(len(k), dtype=bool)
        for i in np.flatnonzero((k >= 0) & (d <= self.near_m)).tolist():
            a, b = int(self.offsets[k[i]]), int(self.offsets[k[i] + 1])
            t = float(times[i])
            j = a + bisect.bisect_left(self.end_s[a:b].tolist(), t - window_s)
            out[i] = j < b and bool(self.start_s[j] <= t + window_s)
        return out

    def hook(self, window_s: float = 3600.0) -> Observed:
        """`observed` as the hook `match_allegations(observed=...)` takes."""

        def observed(x_m: float, y_m: float, t: datetime) -> bool:
            return self.observed(x_m, y_m, t, window_s)

        return observed


def _seconds(t: float | datetime) -> float:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise InvalidInput("coverage needs timezone-aware times")
        return t.timestamp()
    return float(t)


# -- the bulk path --------------------------------------------------------------------------


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
