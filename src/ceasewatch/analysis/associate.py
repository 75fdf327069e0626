"""Association: which sightings saw the same occurrence.

Sightings of one occurrence were made close in time once sound delay is allowed for
(heard events arrive |p - o| / 343 s late), are of compatible kinds, come from different
observers, and their bearings cross where their distance bands allow. The method:

1. Candidate pairs from a sweep over time-sorted sightings (only those whose possible
   emission times overlap are compared: no all-pairs pass over the day). A pair is kept
   when its rays cross in front of both observers, inside both distance bands (with
   slack), and the emission times implied by that crossing agree within the clock
   tolerance.
2. Grouping: pairs are taken best first, pairs of one kind before pairs of confusable
   kinds (a shot reported as an explosion); a pair joins or merges groups only if the
   result still has one sighting per observer and fits as one occurrence (chi-square
   test of the bearings and bands, one gross bearing error allowed in four or more, and
   agreeing emission times). A pair of confusable kinds never joins two groups: a
   round's report and its impact come seconds apart, and each may have its group.
3. Clocks: each observer's clock offset is estimated from the groups of three or more
   (median of its emission-time residuals) and the grouping is redone with the offsets
   removed and a tighter tolerance: dense fire (rounds 30 s apart from one gun) then
   separates.
4. Leftovers: a sighting that paired with nothing joins the group whose occurrence it
   would have heard or seen at its report time, if any: one its bearing points at before
   one it does not, then the closest in time (its bearing may be a gross error: the fix
   then lists it as an outlier; a sighting of a kind the group does not hold, a shot
   reported as an explosion, must point at it). What remains is a single-sighting
   occurrence.

Everything is ordered by (time, id) and ties are broken by index: the result does not
depend on the order of the input.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ceasewatch.analysis._batchfit import FloatArray, IntArray, ragged
from ceasewatch.analysis._batchfit import bearing_z as bearing_z_many
from ceasewatch.analysis._candidates import (
    CLOCK_SIGMA_S,
    SPEED_OF_SOUND_M_S,
    TIME_Z,
    Ctx,
    Static,
    candidate_pairs,
    compatible,
)
from ceasewatch.analysis.localise import (
    FIT_Z,
    OUTLIER_Z,
    ObsTable,
    bearing_z,
    chi2_quantiles,
    fit_groups,
)
from ceasewatch.analysis.observations import Obs

__all__ = ["SPEED_OF_SOUND_M_S", "Association", "associate", "compatible"]

XY = tuple[float, float]
#: A request to test a group: its members and the fix to start from (None: none known).
_Ask = tuple[list[int], XY | None]


def _fits_many(ctx: Ctx, asks: Sequence[_Ask]) -> list[XY | None]:
    """For each group, its fix if its bearings and bands fit one point, else None."""
    if not asks:
        return []
    start = (
        np.array([s[0] if s is not None else math.nan for _, s in asks]),
        np.array([s[1] if s is not None else math.nan for _, s in asks]),
    )
    f = fit_groups(ctx.table, [m for m, _ in asks], start)
    flat, ptr = ragged([m for m, _ in asks])
    seg = np.repeat(np.arange(len(asks)), np.diff(ptr))
    worst = np.maximum.reduceat(bearing_z_many(ctx.table, flat, f.x[seg], f.y[seg]), ptr[:-1])
    good = (f.chi2 <= chi2_quantiles(FIT_Z, f.dof)) & (worst <= OUTLIER_Z)
    return [
        (x, y) if ok else None
        for x, y, ok in zip(f.x.tolist(), f.y.tolist(), good.tolist(), strict=True)
    ]


def _consistent_many(ctx: Ctx, asks: Sequence[_Ask]) -> list[XY | None]:
    """For each group, its fix if it is one occurrence, else None: one sighting per
    observer; the bearings and bands fit one point (one gross bearing error allowed in a
    group of four or more: the first member, in order, whose leaving out lets the rest
    fit); emission times agree at that point. A known fix warm-starts the fit."""
    out: list[XY | None] = [None] * len(asks)
    unique = [q for q, (m, _) in enumerate(asks) if len({ctx.obs[k].observer for k in m}) == len(m)]
    for q, xy in zip(unique, _fits_many(ctx, [asks[q] for q in unique]), strict=True):
        out[q] = xy
    retry = [q for q in unique if out[q] is None and len(asks[q][0]) >= 4]
    subsets = [([x for x in asks[q][0] if x != k], asks[q][1]) for q in retry for k in asks[q][0]]
    fits = iter(_fits_many(ctx, subsets))
    for q in retry:
        for xy in [next(fits) for _ in asks[q][0]]:
            if xy is not None:
                out[q] = xy
                break
    fixed = [q for q, xy in enumerate(out) if xy is not None]
    points = [xy for xy in out if xy is not None]
    x, y = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    agrees = ctx.times_agree_many([asks[q][0] for q in fixed], x, y)
    for q, agree in zip(fixed, agrees, strict=True):
        if not agree:
            out[q] = None
    return out


def _components(
    n: int, pairs: Sequence[tuple[float, int, int]], node: IntArray | None = None
) -> list[list[tuple[int, int]]]:
    """The pairs split by connected component of the pair graph, best first in each.

    `node` maps each sighting to its node of the graph (default: itself); the group a
    sighting already belongs to, say, so that pairs touching one group stay together."""
    if not pairs:
        return []
    i = np.array([p[1] for p in pairs], dtype=np.intp)
    j = np.array([p[2] for p in pairs], dtype=np.intp)
    ni, nj = (i, j) if node is None else (node[i], node[j])
    # Each node takes the smallest label among its neighbours, then its label's label
    # (pointer jumping), until nothing changes: every component ends up labelled by its
    # smallest node.
    label = np.arange(n)
    while True:
        low = np.minimum(label[ni], label[nj])
        new = label.copy()
        np.minimum.at(new, ni, low)
        np.minimum.at(new, nj, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    comp = label[ni]
    order = np.argsort(comp, kind="stable")  # within a component, the pairs' own order
    cut = np.flatnonzero(np.diff(comp[order])) + 1
    pi, pj = i[order].tolist(), j[order].tolist()
    bounds = [0, *cut.tolist(), len(order)]
    return [list(zip(pi[a:b], pj[a:b], strict=True)) for a, b in itertools.pairwise(bounds)]


def _group(ctx: Ctx) -> list[tuple[list[int], XY | None]]:
    """Groups (sorted by first member) with their fix when one was computed (size >= 3).

    Pairs are taken best first: a pair joins or merges groups when the result passes
    `_consistent_many` (a new pair passed the crossing, band and time tests in `candidate_pairs`
    already). The pair graph's components never touch one another's groups, so they run
    side by side: each round takes every component's next pair that needs a fit and fits
    them in one batch. The outcome is that of taking all pairs one by one, best first.
    Pairs of one kind all come before pairs of confusable kinds, so they run first, on
    their own graph; then the others, on the graph of the groups they touch (they only
    bring single sightings, which keeps those components small).
    """
    group_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    fix_of: dict[int, XY] = {}

    def join(gi: int | None, gj: int | None, merged: list[int], xy: XY | None) -> None:
        gid = min(merged)
        for g in (gi, gj):
            if g is not None:
                del groups[g]
                fix_of.pop(g, None)
        groups[gid] = merged
        if xy is not None:
            fix_of[gid] = xy
        for k in merged:
            group_of[k] = gid

    kind = ctx.static.kind.tolist()
    pairs = candidate_pairs(ctx)
    same = [p for p in pairs if kind[p[1]] == kind[p[2]]]
    _run(ctx, _components(len(ctx.obs), same), (group_of, groups, fix_of), join)
    node = np.arange(len(ctx.obs))
    for k, g in group_of.items():
        node[k] = g
    # Both already in groups: it could only join two groups (or two of one), never done.
    cross = [
        p
        for p in pairs
        if kind[p[1]] != kind[p[2]] and (p[1] not in group_of or p[2] not in group_of)
    ]
    _run(ctx, _components(len(ctx.obs), cross, node), (group_of, groups, fix_of), join)
    return [(groups[g], fix_of.get(g)) for g in sorted(groups)]


_State = tuple[dict[int, int], dict[int, list[int]], dict[int, XY]]


def _run(
    ctx: Ctx,
    queues: list[list[tuple[int, int]]],
    state: _State,
    join: Callable[[int | None, int | None, list[int], XY | None], None],
) -> None:
    """Take the pairs of each component in order (see `_group`), updating the groups."""
    group_of, groups, fix_of = state
    who, kind = ctx.static.who.tolist(), ctx.static.kind.tolist()
    pos = [0] * len(queues)
    pending = list(range(len(queues)))
    while pending:
        asks: list[_Ask] = []
        waiting: list[tuple[int, int | None, int | None, list[int]]] = []
        for c in pending:
            queue, p = queues[c], pos[c]
            while p < len(queue):
                i, j = queue[p]
                gi, gj = group_of.get(i), group_of.get(j)
                if gi is not None and gi == gj:
                    p += 1
                    continue
                if kind[i] != kind[j] and gi is not None and gj is not None:
                    # Confusable kinds (a shot reported as an explosion) bring one
                    # sighting to another, never join two groups: a round's report and
                    # its impact come close in time, and each may have its group.
                    p += 1
                    continue
                a = groups[gi] if gi is not None else [i]
                b = groups[gj] if gj is not None else [j]
                merged = sorted({*a, *b})
                if len(merged) > 2 and len({who[k] for k in merged}) < len(merged):
                    p += 1  # two sightings by one observer: not one occurrence
                    continue
                if len(merged) > 2:
                    bigger = gi if len(a) >= len(b) else gj
                    asks.append((merged, fix_of.get(bigger) if bigger is not None else None))
                    waiting.append((c, gi, gj, merged))
                    break
                join(gi, gj, merged, None)
                p += 1
            pos[c] = p
        for (c, gi, gj, merged), xy in zip(waiting, _consistent_many(ctx, asks), strict=True):
            if xy is not None:
                join(gi, gj, merged, xy)
            pos[c] += 1
        pending = [c for c, *_ in waiting]


def _medians(values: FloatArray, ptr: IntArray) -> FloatArray:
    """`statistics.median` of each group of values (group g: values[ptr[g]:ptr[g + 1]])."""
    n = np.diff(ptr)
    seg = np.repeat(np.arange(len(n)), n)
    v = values[np.lexsort((values, seg))]
    lo, hi = v[ptr[:-1] + (n - 1) // 2], v[ptr[:-1] + n // 2]
    out: FloatArray = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    return out


def _emission_medians(
    ctx: Ctx, groups: Sequence[Sequence[int]], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Each member's emission time at its group's point, each group's median, the members."""
    flat, ptr = ragged(groups)
    seg = np.repeat(np.arange(len(groups)), np.diff(ptr))
    e = ctx.emissions(flat, x[seg], y[seg])
    return e, _medians(e, ptr), flat


def _clock_offsets(ctx: Ctx, groups: list[tuple[list[int], XY | None]]) -> dict[str, float]:
    fixed = [(m, xy) for m, xy in groups if len(m) >= 3 and xy is not None]
    if not fixed:
        return {}
    x = np.array([xy[0] for _, xy in fixed])
    y = np.array([xy[1] for _, xy in fixed])
    e, centre, flat = _emission_medians(ctx, [m for m, _ in fixed], x, y)
    seg = np.repeat(np.arange(len(fixed)), [len(m) for m, _ in fixed])
    residuals: dict[str, list[float]] = {}
    for k, r in zip(flat.tolist(), (e - centre[seg]).tolist(), strict=True):
        residuals.setdefault(ctx.obs[k].observer, []).append(r)
    return {obs: statistics.median(r) for obs, r in sorted(residuals.items()) if len(r) >= 3}


def _attach_leftovers(ctx: Ctx, fitted: list[tuple[list[int], XY | None]]) -> list[list[int]]:
    groups = [members for members, _ in fitted]
    used = {k for g in groups for k in g}
    unknown = [g for g, (_, known) in enumerate(fitted) if known is None]
    f = fit_groups(ctx.table, [groups[g] for g in unknown])
    x = np.array([known[0] if known is not None else math.nan for _, known in fitted])
    y = np.array([known[1] if known is not None else math.nan for _, known in fitted])
    x[unknown], y[unknown] = f.x, f.y
    _, t0s, _ = _emission_medians(ctx, groups, x, y)
    # (emission time, group index, x, y), sorted by time for a windowed search
    fixes = sorted(zip(t0s.tolist(), range(len(groups)), x.tolist(), y.tolist(), strict=True))
    starts = [t for t, *_ in fixes]
    kinds_of = [{ctx.obs[k].kind for k in m} for m in groups]
    sigma_of = [ctx.time_sigma(m[0]) for m in groups]
    observers = [{ctx.obs[k].observer for k in m} for m in groups]
    extra: dict[int, list[int]] = {}
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
            used.add(s)
    out = [sorted([*members, *extra.get(g, [])]) for g, members in enumerate(groups)]
    out += [[s] for s in range(len(ctx.obs)) if s not in used]
    return sorted(out)


@dataclass(frozen=True)
class Association:
    """Groups of sightings (indices into the input), and the observers' clock offsets."""

    groups: list[list[int]]
    offsets: dict[str, float]
    #: The observations' fitting constants, when they were computed on the way.
    table: ObsTable | None = None

    def emission_time(self, o: Obs, d_m: float) -> float:
        """When the occurrence o reported happened, if it was d_m away (seconds since 1970)."""
        delay = d_m / SPEED_OF_SOUND_M_S if o.heard else 0.0
        return o.t_s - self.offsets.get(o.observer, 0.0) - delay


def associate(obs: Sequence[Obs]) -> Association:
    """Group sightings (given sorted by time, id) into occurrences.

    Returns:
        The groups (each sorted; every index in exactly one; sorted by first index) and
        the clock offsets (s, observer -> offset) estimated on the way.
    """
    table, static = ObsTable.of(obs), Static.of(obs)
    ctx = Ctx(obs, {}, table, static)
    ctx = Ctx(obs, _clock_offsets(ctx, _group(ctx)), table, static)
    return Association(_attach_leftovers(ctx, _group(ctx)), ctx.offset, table)
