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

The bulk path (the grid, the windows, the merging) is in `_coverage_windows`.
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

from ceasewatch.analysis._coverage_windows import (
    _Grid,
    _merge,
    _no_visits,
    _Plan,
    _Visits,
    _window_visits,
)
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

_CHUNK = 1 << 13  # footprints per task: the pair arrays stay in cache


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
