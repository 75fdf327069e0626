"""What association works from: per-observation constants, emission times, candidate pairs.

An occurrence at distance d from an observer was reported at its time plus the sound's
delay d / 343 s (when heard) plus the observer's clock error; `Ctx.emissions` takes
those back off. `candidate_pairs` finds the candidate pairs of sightings (see `associate`, step 1).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ceasewatch._fork import fork_map, spans
from ceasewatch.analysis._batchfit import BoolArray, FloatArray, IntArray, ObsTable, ragged
from ceasewatch.analysis.localise import chi2_quantile, chi2_quantiles
from ceasewatch.analysis.observations import MAX_RANGE_M, Obs

try:
    from ceasewatch.analysis import _paircore
except ImportError:  # pragma: no cover (not built)
    _paircore = None  # type: ignore[assignment]

#: True when `_pairs_in`'s tests run in C (`_paircore`, the same bits), False when numpy does.
ACCELERATED = _paircore is not None

__all__ = [
    "CLOCK_SIGMA_S",
    "JITTER_S",
    "OFFSET_SIGMA_S",
    "SPEED_OF_SOUND_M_S",
    "TASK_ROWS",
    "TIME_Z",
    "Ctx",
    "Pairs",
    "Static",
    "candidate_pairs",
    "compatible",
]

SPEED_OF_SOUND_M_S = 343.0
#: Kinds that observers confuse with one another (a gun's report and an impact).
_CLASSES = {"explosion": "fire", "shot": "fire", "projectile": "fire"}
_RANGE_SLACK = (0.4, 2.0)  # a true distance may lie this far outside a stated band


def compatible(a: str, b: str) -> bool:
    return a == b or (_CLASSES.get(a, a) == _CLASSES.get(b, b))


#: Timing noise of one report (s): reading a watch and writing it down.
JITTER_S = 2.0
#: Spread of observers' clock errors (s) before they are estimated from the data.
CLOCK_SIGMA_S = 4.0
#: Uncertainty left in an estimated clock offset (s).
OFFSET_SIGMA_S = 1.0
#: Normal quantile of the time tests (3 sigma).
TIME_Z = 3.0


def _time_sigma(clock_s: float) -> float:
    """Time sigma (s) of a report by an observer whose clock is known to `clock_s`."""
    return math.hypot(JITTER_S, clock_s)


@dataclass(frozen=True)
class Static:
    """What `candidate_pairs` needs of each observation that no clock offset changes."""

    t: FloatArray
    who: IntArray  # observer code
    what: IntArray  # code of the kind's class (kinds observers confuse share one)
    kind: IntArray  # code of the kind itself
    lo: FloatArray  # distance band, widened by the slack
    hi: FloatArray
    has_band: BoolArray
    mid: FloatArray
    tol_sin: FloatArray
    max_delay: float
    heard: BoolArray
    reach: FloatArray  # `Obs.max_range_m`
    observers: list[str]  # the observer of each code

    # `who` and `kind` as Python ints, for lookups one at a time; made where first
    # needed (a process that builds the columns for another ships arrays only).
    @functools.cached_property
    def who_list(self) -> list[int]:
        out: list[int] = self.who.tolist()
        return out

    @functools.cached_property
    def kind_list(self) -> list[int]:
        out: list[int] = self.kind.tolist()
        return out

    @classmethod
    def of(cls, obs: Sequence[Obs]) -> Static:
        """Columns of the observations, taken once (one pass over the objects per field)."""

        # One field at a time (`zip(*obs)` over a million rows costs seconds).
        def col(name: str) -> list[Any]:
            return list(map(operator.itemgetter(Obs._fields.index(name)), obs))

        observer: list[str] = col("observer")
        kinds: list[str] = col("kind")
        rmin: list[float | None] = col("rmin_m")
        rmax: list[float | None] = col("rmax_m")
        who_code = {o: c for c, o in enumerate(dict.fromkeys(observer))}
        kind_code = {k: c for c, k in enumerate(dict.fromkeys(kinds))}
        class_code: dict[str, int] = {}
        what_of = np.array(
            [class_code.setdefault(_CLASSES.get(k, k), len(class_code)) for k in kind_code],
            dtype=np.intp,
        )
        reach_of = np.array([MAX_RANGE_M.get(k, 15000.0) for k in kind_code])
        who_list = list(map(who_code.__getitem__, observer))
        kind = np.array(list(map(kind_code.__getitem__, kinds)), dtype=np.intp)
        has_band = np.array([r is not None for r in rmax], dtype=bool)
        band_hi = np.array([r or 0.0 for r in rmax], dtype=np.float64)
        band_lo = np.array([r or 0.0 for r in rmin], dtype=np.float64)
        reach = np.where(has_band, band_hi, reach_of[kind] if len(kind) else band_hi)
        heard = np.array(col("heard"), dtype=bool)
        sigma = np.fromiter(col("sigma"), dtype=np.float64, count=len(obs))
        wide = np.minimum(3.0 * sigma, math.pi / 2).tolist()
        delays = reach[heard] / SPEED_OF_SOUND_M_S
        return cls(
            t=np.fromiter(col("t_s"), dtype=np.float64, count=len(obs)),
            who=np.array(who_list, dtype=np.intp),
            what=what_of[kind] if len(kind) else kind,
            kind=kind,
            lo=band_lo * _RANGE_SLACK[0],
            hi=np.where(has_band, band_hi * _RANGE_SLACK[1], reach * 1.2),
            has_band=has_band,
            mid=0.5 * (band_lo + band_hi),
            tol_sin=np.array(list(map(math.sin, wide)), dtype=np.float64),
            max_delay=float(delays.max()) if len(delays) else 0.0,
            heard=heard,
            reach=reach,
            observers=list(who_code),
        )


@dataclass
class Ctx:
    """The observations, the clock offsets known so far, and what the tests derive from
    them (emission times, time sigmas)."""

    obs: Sequence[Obs]
    offset: dict[str, float]
    table: ObsTable
    static: Static
    corr: FloatArray = field(init=False)  # report time less the clock offset (s)
    heard: BoolArray = field(init=False)
    tvar: FloatArray = field(init=False)  # time sigma² (s²)
    weight: FloatArray = field(init=False)  # 1 / time sigma²

    def __post_init__(self) -> None:
        st = self.static
        off = np.array([self.offset.get(o, 0.0) for o in st.observers])
        self.corr = st.t - off[st.who] if len(st.who) else st.t.copy()
        self.heard = st.heard
        sigmas = np.array([self.time_sigma_of(o) for o in st.observers])
        sigma = sigmas[st.who] if len(st.who) else np.zeros(0)
        self.tvar = sigma**2
        self.weight = 1.0 / self.tvar

    def emissions(self, ob: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
        """`emission` of observations `ob` for occurrences at (x, y)."""
        dx, dy = x - self.table.x[ob], y - self.table.y[ob]
        d = np.sqrt(dx * dx + dy * dy)
        return self.corr[ob] - np.where(self.heard[ob], d / SPEED_OF_SOUND_M_S, 0.0)

    def times_agree_many(
        self, groups: Sequence[Sequence[int]], x: FloatArray, y: FloatArray
    ) -> list[bool]:
        """`times_agree` of many groups, each at its own point."""
        if not groups:
            return []
        flat, ptr = ragged(groups)
        agree: list[bool] = self.times_agree_flat(flat, ptr, x, y).tolist()
        return agree

    def times_agree_flat(
        self, flat: IntArray, ptr: IntArray, x: FloatArray, y: FloatArray
    ) -> BoolArray:
        """`times_agree_many` of groups given as (flat members, offsets)."""
        n = np.diff(ptr)
        seg = np.repeat(np.arange(len(n)), n)
        e = self.emissions(flat, x[seg], y[seg])
        w = self.weight[flat]
        mean = np.bincount(seg, weights=w * e, minlength=len(n)) / np.bincount(
            seg, weights=w, minlength=len(n)
        )
        r = e - mean[seg]
        chi2 = np.bincount(seg, weights=w * (r * r), minlength=len(n))
        agree: BoolArray = chi2 <= chi2_quantiles(TIME_Z, n - 1)
        return agree

    def emission(self, i: int, d_m: float) -> float:
        """When the occurrence happened, if it was d_m from observer i (clock corrected)."""
        o = self.obs[i]
        delay = d_m / SPEED_OF_SOUND_M_S if o.heard else 0.0
        return o.t_s - self.offset.get(o.observer, 0.0) - delay

    def time_sigma(self, i: int) -> float:
        return self.time_sigma_of(self.obs[i].observer)

    def time_sigma_of(self, observer: str) -> float:
        """Time sigma (s) of the observer's reports (its clock offset known or not)."""
        return _time_sigma(OFFSET_SIGMA_S if observer in self.offset else CLOCK_SIGMA_S)

    def in_band(self, i: int, d_m: float) -> bool:
        o = self.obs[i]
        lo = (o.rmin_m or 0.0) * _RANGE_SLACK[0]
        hi = (o.rmax_m * _RANGE_SLACK[1]) if o.rmax_m is not None else o.max_range_m * 1.2
        return lo <= d_m <= hi

    def times_agree(self, members: Sequence[int], x: float, y: float) -> bool:
        """Chi-square test of the members' emission times at (x, y)."""
        e = [
            self.emission(k, math.hypot(x - self.obs[k].x_m, y - self.obs[k].y_m)) for k in members
        ]
        w = [1.0 / self.time_sigma(k) ** 2 for k in members]
        mean = sum(wi * ei for wi, ei in zip(w, e, strict=True)) / sum(w)
        chi2 = sum(wi * (ei - mean) ** 2 for wi, ei in zip(w, e, strict=True))
        return chi2 <= chi2_quantile(TIME_Z, len(members) - 1)


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs i[k]-j[k] (i < j), best first; the first `same` are of one kind."""

    i: IntArray
    j: IntArray
    same: int


#: Observations per task of `candidate_pairs` (a fixed cut: any number of workers
#: computes the same chunks).
TASK_ROWS = 65536


def candidate_pairs(ctx: Ctx, workers: int = 1, chunk: int = 4096) -> Pairs:
    """Candidate pairs, best (most time-consistent) first, vectorised over time windows.

    Only + - * / and comparisons run in numpy (exact IEEE arithmetic on every machine);
    sines and cosines come from `math`, so every node gets bit-identical pairs. Runs of
    `chunk` rows go to up to `workers` forked processes.
    """
    n = len(ctx.obs)
    none = np.zeros(0, dtype=np.intp)
    if n < 2:
        return Pairs(none, none, 0)
    offsets = [abs(v) for v in ctx.offset.values()]
    reach = (
        ctx.static.max_delay
        + 2 * TIME_Z * math.hypot(JITTER_S, CLOCK_SIGMA_S)
        + 2 * max(offsets, default=0.0)
    )
    end = np.searchsorted(ctx.static.t, ctx.static.t + reach, side="right")
    firsts = list(range(0, n, chunk))
    tasks = [
        [(firsts[c], min(firsts[c] + chunk, n)) for c in range(a, b)]
        for a, b in spans(len(firsts), -(-n // TASK_ROWS))
    ]
    heard = ctx.heard.astype(np.float64)
    found = fork_map(
        _pairs_task,
        (ctx, end, heard, None if ACCELERATED else _emission_bounds(ctx), tasks),
        len(tasks),
        workers,
    )
    z2 = np.concatenate([f[0] for f in found])
    i = np.concatenate([f[1] for f in found])
    j = np.concatenate([f[2] for f in found])
    kind = ctx.static.kind
    # Pairs of one kind first; pairs of confusable kinds (a shot reported as an
    # explosion) after them all, so they only join what the others left apart. The pairs
    # come sorted by (i, j) (rows in order, each row's j in order), which a stable sort
    # keeps among equal z²: the order is that of `np.lexsort((j, i, z2, other))`.
    other = kind[i] != kind[j]
    order = np.lexsort((z2, other))
    return Pairs(i[order], j[order], len(other) - int(other.sum()))


_Found = tuple[FloatArray, IntArray, IntArray]


def _emission_bounds(ctx: Ctx) -> tuple[FloatArray, FloatArray]:
    """Bounds on the emission time `_pairs_in` can give each row (a pair whose bounds are
    more than 3 sigma apart cannot pass its time test: `_pairs_in` skips it).

    Each kept pair's distance lies in [lo, hi] or is the band middle, and the emission
    time corr - heard * d / 343 is monotone in d however it rounds, so these bounds, taken
    with the same operations at the ends of [min(lo, mid), max(hi, mid)], hold the
    computed emission times themselves. A NaN bound keeps every pair of its row.
    """
    st = ctx.static
    heard = ctx.heard.astype(np.float64)
    d_lo, d_hi = np.fmin(st.lo, st.mid), np.fmax(st.hi, st.mid)
    early = ctx.corr - heard * d_hi / SPEED_OF_SOUND_M_S
    late = ctx.corr - heard * d_lo / SPEED_OF_SOUND_M_S
    return early, late


def _pairs_task(
    shared: tuple[
        Ctx,
        IntArray,
        FloatArray,
        tuple[FloatArray, FloatArray] | None,
        list[list[tuple[int, int]]],
    ],
    k: int,
) -> _Found:
    ctx, end, heard, bounds, tasks = shared
    if bounds is None:  # `ACCELERATED` when the task was cut
        found = _pairs_c(ctx, end, heard, tasks[k])
    else:
        found = [_pairs_in(ctx, end, heard, a, b, bounds=bounds) for a, b in tasks[k]]
    return (
        np.concatenate([np.zeros(0), *(f[0] for f in found)]),
        np.concatenate([np.zeros(0, dtype=np.intp), *(f[1] for f in found)]),
        np.concatenate([np.zeros(0, dtype=np.intp), *(f[2] for f in found)]),
    )


def _pairs_c(
    ctx: Ctx, end: IntArray, heard: FloatArray, spans_: list[tuple[int, int]]
) -> list[_Found]:
    """`_pairs_in` of each span by `_paircore`, through buffers reused from span to span
    (fresh large arrays cost page faults)."""
    if not spans_:
        return []
    st = ctx.static
    cap = max(int(np.maximum(end[a:b] - np.arange(a + 1, b + 1), 0).sum()) for a, b in spans_)
    z2_buf, i_buf = np.empty(cap), np.empty(cap, dtype=np.intp)
    j_buf = np.empty(cap, dtype=np.intp)
    tab = ctx.table
    c_ = np.ascontiguousarray
    cols = (c_(end), c_(st.who), c_(st.what), c_(st.has_band), c_(tab.x), c_(tab.y))
    cols2 = (c_(tab.s), c_(tab.c), c_(st.lo), c_(st.hi), c_(st.mid), c_(st.tol_sin))
    cols3 = (c_(ctx.corr), c_(heard), c_(ctx.tvar))
    min_sin = math.sin(math.radians(2.0))
    out: list[_Found] = []
    for a, b in spans_:
        m = _paircore.pairs(
            a, b, min_sin, TIME_Z * TIME_Z, *cols, *cols2, *cols3, z2_buf, i_buf, j_buf
        )
        out.append((z2_buf[:m].copy(), i_buf[:m].copy(), j_buf[:m].copy()))
    return out


def _pairs_in(
    ctx: Ctx,
    end: IntArray,
    heard: FloatArray,
    i0: int,
    i1: int,
    *,
    bounds: tuple[FloatArray, FloatArray],
) -> _Found:
    """The candidate pairs (z², i, j) whose first sighting is one of rows [i0, i1)
    (`end`: where each row's time window ends; `heard`: 1.0 where heard, else 0.0;
    `bounds`: `_emission_bounds`), in (i, j) order.

    Every test is elementwise: the pairs that cannot pass (other observer's kind class,
    emission-time bounds apart) are dropped first and the rest computed on what is left,
    with the same operations, so the survivors get the same bits as over all pairs.
    """
    st = ctx.static
    x, y, sn, cs = ctx.table.x, ctx.table.y, ctx.table.s, ctx.table.c
    who, what, lo, hi, has_band, mid = st.who, st.what, st.lo, st.hi, st.has_band, st.mid
    tol_sin = st.tol_sin
    corr = ctx.corr
    var = ctx.tvar
    early, late = bounds
    z_max = TIME_Z * TIME_Z
    min_sin = math.sin(math.radians(2.0))
    rows = np.arange(i0, i1)
    counts = np.maximum(end[rows] - rows - 1, 0)
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    j = np.arange(total) + np.repeat(rows + 1 - starts, counts)
    i = np.repeat(rows, counts)
    keep = (who[i] != who[j]) & (what[i] == what[j])
    i, j = i[keep], j[keep]
    gap = np.maximum(early[j] - late[i], early[i] - late[j])
    with np.errstate(invalid="ignore", over="ignore"):
        keep = ~(gap > 0) | (gap * gap / (var[i] + var[j]) <= z_max)
    i, j = i[keep], j[keep]
    den = sn[i] * cs[j] - cs[i] * sn[j]
    dx, dy = x[j] - x[i], y[j] - y[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        da = (dx * cs[j] - dy * sn[j]) / den
        db = (dx * cs[i] - dy * sn[i]) / den
    crossed = (np.abs(den) >= min_sin) & (da > 0) & (db > 0)
    crossed &= (lo[i] <= da) & (da <= hi[i]) & (lo[j] <= db) & (db <= hi[j])
    # Rays that do not cross where they should (nearly parallel, or noisy enough to
    # cross behind an observer) still agree if one passes within 3 sigma of the
    # other's stated distance: try each one's band middle as the meeting point (i's,
    # then j's for those that i's did not bring together).
    rest = np.flatnonzero(~crossed)
    for first in (True, False):
        a, b = (i[rest], j[rest]) if first else (j[rest], i[rest])
        pa_x, pa_y = x[a] + mid[a] * sn[a], y[a] + mid[a] * cs[a]
        vx, vy = pa_x - x[b], pa_y - y[b]
        dist_b = np.sqrt(vx * vx + vy * vy)
        with np.errstate(divide="ignore", invalid="ignore"):
            sin_err = np.abs(sn[b] * vy - cs[b] * vx) / dist_b
        near = has_band[a] & (sn[b] * vx + cs[b] * vy > 0) & (sin_err <= tol_sin[b])
        near &= (lo[b] <= dist_b) & (dist_b <= hi[b])
        at = rest[near]
        if first:
            da[at], db[at] = mid[a[near]], dist_b[near]
        else:
            da[at], db[at] = dist_b[near], mid[a[near]]
        crossed[at] = True
        rest = rest[~near]
    i, j, da, db = i[crossed], j[crossed], da[crossed], db[crossed]
    dt = (corr[i] - heard[i] * da / SPEED_OF_SOUND_M_S) - (
        corr[j] - heard[j] * db / SPEED_OF_SOUND_M_S
    )
    z2 = dt * dt / (var[i] + var[j])
    keep = z2 <= z_max
    return z2[keep], i[keep], j[keep]
