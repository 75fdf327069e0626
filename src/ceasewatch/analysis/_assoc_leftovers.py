"""Leftovers (see `associate`, step 5): a sighting that paired with nothing joins the group
whose occurrence it would have heard or seen at its report time, if any.

The candidate groups of every leftover (those in its time window, of its kind's class,
that it could have heard in time and within its band) are found at once, in numpy; the
choices are then made one leftover at a time, in index order, since a leftover that joins
a group adds its observer there and so bars the next one of that observer. `attach_serial`
is the loop this replaces, kept for the one input the arrays cannot order as it does
(a group whose emission time is NaN) and as the reference the tests compare with.
"""

from __future__ import annotations

import bisect
import math
from operator import itemgetter

import numpy as np

from ceasewatch.analysis._assoc_group import Grouped
from ceasewatch.analysis._batchfit import FloatArray, IntArray, fit_many, ragged
from ceasewatch.analysis._candidates import (
    CLOCK_SIGMA_S,
    SPEED_OF_SOUND_M_S,
    TIME_Z,
    Ctx,
    compatible,
)
from ceasewatch.analysis.localise import OUTLIER_Z, bearing_z

__all__ = ["attach_leftovers", "attach_serial", "emission_medians", "medians"]

#: Groups of sightings, and for each group a leftover joins, the leftovers it takes.
_Extra = dict[int, list[int]]


def medians(values: FloatArray, ptr: IntArray) -> FloatArray:
    """`statistics.median` of each group of values (group g: values[ptr[g]:ptr[g + 1]])."""
    n = np.diff(ptr)
    seg = np.repeat(np.arange(len(n)), n)
    v = values[np.lexsort((values, seg))]
    lo, hi = v[ptr[:-1] + (n - 1) // 2], v[ptr[:-1] + n // 2]
    out: FloatArray = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    return out


def emission_medians(
    ctx: Ctx, flat: IntArray, ptr: IntArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each member's emission time at its group's point (x[g], y[g]), and each group's
    median (group g: members flat[ptr[g]:ptr[g + 1]])."""
    e = ctx.emissions(flat, np.repeat(x, np.diff(ptr)), np.repeat(y, np.diff(ptr)))
    return e, medians(e, ptr)


def _points(ctx: Ctx, grouped: Grouped) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each group's point (its fix, else a fit of it) and its median emission time there."""
    unknown = grouped.take(~grouped.has_fix)
    f = fit_many(ctx.table, unknown.members, unknown.ptr)
    x, y = grouped.fx.copy(), grouped.fy.copy()
    x[~grouped.has_fix], y[~grouped.has_fix] = f.x, f.y
    _, t0s = emission_medians(ctx, grouped.members, grouped.ptr, x, y)
    return x, y, t0s


def attach_leftovers(ctx: Ctx, grouped: Grouped, *, serial: bool = False) -> list[list[int]]:
    """The groups with the leftovers attached, and what remains as single sightings
    (every index in exactly one group; each sorted; sorted by first index). `serial`
    takes the reference loop (`attach_serial`)."""
    groups = grouped.lists()
    x, y, t0s = _points(ctx, grouped)
    if serial or np.isnan(t0s).any():
        extra = attach_serial(ctx, groups, x, y, t0s)
    else:
        extra = _attach_fast(ctx, grouped, groups, (x, y, t0s))
    used = np.zeros(len(ctx.obs), dtype=bool)
    used[ragged([*groups, *extra.values()])[0]] = True
    for g, more in extra.items():
        groups[g] = sorted([*groups[g], *more])
    # Every index is in one group: the first members alone order them.
    return sorted([*groups, *([s] for s in np.flatnonzero(~used).tolist())], key=itemgetter(0))


def attach_serial(
    ctx: Ctx, groups: list[list[int]], x: FloatArray, y: FloatArray, t0s: FloatArray
) -> _Extra:
    """The leftovers' choices, one leftover and one group at a time."""
    used = {k for g in groups for k in g}
    # (emission time, group index, x, y), sorted by time for a windowed search
    fixes = sorted(zip(t0s.tolist(), range(len(groups)), x.tolist(), y.tolist(), strict=True))
    starts = [t for t, *_ in fixes]
    kinds_of = [{ctx.obs[k].kind for k in m} for m in groups]
    sigma_of = [ctx.time_sigma(m[0]) for m in groups]
    observers = [{ctx.obs[k].observer for k in m} for m in groups]
    extra: _Extra = {}
    for s, o in enumerate(ctx.obs):
        if s in used:
            continue
        t_own = o.t_s - ctx.offset.get(o.observer, 0.0)
        sigma = ctx.time_sigma(s)
        tol = TIME_Z * math.hypot(sigma, CLOCK_SIGMA_S)
        lo = t_own - (o.max_range_m / SPEED_OF_SOUND_M_S if o.heard else 0.0) - tol
        # The best group: one its bearing points at before one it does not (a gross
        # error, or another occurrence at the same time), then the closest in time.
        best: tuple[bool, float, int] | None = None
        for q in range(bisect.bisect_left(starts, lo), len(fixes)):
            t0, g, gx, gy = fixes[q]
            if t0 > t_own + tol:
                break
            kinds = kinds_of[g]
            if not any(compatible(o.kind, k) for k in kinds) or o.observer in observers[g]:
                continue
            d = math.hypot(gx - o.x_m, gy - o.y_m)
            dt = abs(ctx.emission(s, d) - t0) / math.hypot(sigma, sigma_of[g])
            off = bearing_z(o, gx, gy) > OUTLIER_Z
            if off and o.kind not in kinds:
                continue  # another kind and another direction: too little in common
            if dt <= TIME_Z and ctx.in_band(s, d) and (best is None or (off, dt, g) < best):
                best = (off, dt, g)
        if best is not None:
            extra.setdefault(best[2], []).append(s)
            observers[best[2]].add(o.observer)
    return extra


def _attach_fast(
    ctx: Ctx,
    grouped: Grouped,
    groups: list[list[int]],
    points: tuple[FloatArray, FloatArray, FloatArray],
) -> _Extra:
    """`attach_serial`'s choices (no emission time is NaN): the candidates in numpy, the
    choices in order."""
    x, y, t0s = points
    used = np.zeros(len(ctx.obs), dtype=bool)
    used[grouped.members] = True
    left = np.flatnonzero(~used)
    st = ctx.static
    first = grouped.first
    # The windowed search over groups sorted by (emission time, index).
    order = np.lexsort((np.arange(len(groups)), t0s))
    starts = t0s[order]
    t_own = ctx.corr[left]
    sig_code = np.array([ctx.time_sigma_of(o) for o in st.observers])
    sigma = sig_code[st.who[left]]
    tol_code = np.array([TIME_Z * math.hypot(s, CLOCK_SIGMA_S) for s in sig_code.tolist()])
    tol = tol_code[st.who[left]]
    lo = t_own - np.where(st.heard[left], st.reach[left] / SPEED_OF_SOUND_M_S, 0.0) - tol
    a = np.searchsorted(starts, lo, side="left")
    b = np.searchsorted(starts, t_own + tol, side="right")
    counts = np.maximum(b - a, 0)
    row = np.repeat(np.arange(len(left)), counts)
    q = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    g = order[np.repeat(a, counts) + q]
    s = left[row]
    # Every group is of one class: its pairs were (`candidate_pairs`).
    keep = st.what[s] == st.what[first[g]]
    row, g, s = row[keep], g[keep], s[keep]
    gx, gy = x[g], y[g]
    d = np.array(
        list(map(math.hypot, (gx - ctx.table.x[s]).tolist(), (gy - ctx.table.y[s]).tolist()))
    )
    emitted = ctx.corr[s] - np.where(st.heard[s], d / SPEED_OF_SOUND_M_S, 0.0)
    spread = np.array(
        list(map(math.hypot, sigma[row].tolist(), sig_code[st.who[first[g]]].tolist()))
    )
    with np.errstate(invalid="ignore"):  # a fix at infinity: NaN, never <= TIME_Z
        dt = np.abs(emitted - t0s[g]) / spread
    keep = (dt <= TIME_Z) & (st.lo[s] <= d) & (d <= st.hi[s])
    row, g, s, dt = row[keep], g[keep], s[keep], dt[keep]
    obs = ctx.obs
    off = np.array(
        [
            bearing_z(obs[k], px, py) > OUTLIER_Z
            for k, px, py in zip(s.tolist(), x[g].tolist(), y[g].tolist(), strict=True)
        ],
        dtype=bool,
    )
    kind = st.kind_list
    # Another kind and another direction: too little in common.
    same_kind = np.array(
        [
            kind[k] in {kind[m] for m in groups[h]}
            for k, h in zip(s[off].tolist(), g[off].tolist(), strict=True)
        ],
        dtype=bool,
    )
    keep = ~off
    keep[off] = same_kind
    row, g, dt, off = row[keep], g[keep], dt[keep], off[keep]
    # Best first: one its bearing points at before one it does not, then the closest
    # in time, then the first group; each leftover takes its best group that has no
    # sighting of its observer yet (leftovers that joined before it count).
    rank = np.lexsort((g, dt, off, row))
    row_l, g_l = row[rank].tolist(), g[rank].tolist()
    who = st.who_list
    observers: dict[int, set[int]] = {}
    extra: _Extra = {}
    taken = -1
    left_l = left.tolist()
    for r, h in zip(row_l, g_l, strict=True):
        if r == taken:
            continue
        k = left_l[r]
        if h not in observers:
            observers[h] = {who[m] for m in groups[h]}
        if who[k] in observers[h]:
            continue
        extra.setdefault(h, []).append(k)
        observers[h].add(who[k])
        taken = r
    return extra
