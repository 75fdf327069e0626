"""Moves (see `associate`, step 4): a sighting goes to the group that explains it better.

The grouping takes pairs best first by their time agreement alone and never undoes a
join, so where two occurrences come close in time and place (a gun's report and its
round's impact, 1-3 km and a few seconds apart) a sighting of one may pair with a
sighting of the other first, and the group it belongs with then lacks it. Each grouped
sighting s of group A is tried, once, in every group B with a fix that it could have
joined (as a leftover would: of its class, no sighting of its observer, its emission time
and band agreeing with B's point, its bearing pointing at it). A partition's likelihood
is that of each group's bearings, bands and emission times about its own point: the
chi-square

    C(G) = bearing and band chi-square of G's fit + weighted spread of G's emission times

(zero for a single sighting). Moving s leaves the number of occurrences unchanged, so
no prior on that number enters the comparison: the move is taken when it lowers the
total, C(A - s) + C(B + s) < C(A) + C(B), and B + s still passes the grouping's own test
(`consistent_many`, where s may not be the gross error left out). Moves are taken best
(largest drop) first, each group changing at most once; ties go to the lower index.
"""

from __future__ import annotations

import math

import numpy as np

from ceasewatch.analysis._assoc_group import XY, Grouped, consistent_many
from ceasewatch.analysis._batchfit import FloatArray, IntArray, bearing_z, fit_many, ragged
from ceasewatch.analysis._candidates import CLOCK_SIGMA_S, SPEED_OF_SOUND_M_S, TIME_Z, Ctx
from ceasewatch.analysis.localise import OUTLIER_Z

__all__ = ["KIND_CONFUSION", "RELABEL_COST", "group_costs", "reassign"]

#: Prior share of sightings that report a confusable kind other than the occurrence's
#: (a shot reported as an explosion, or the reverse).
KIND_CONFUSION = 0.05
#: What a relabelled sighting adds to -2 log-likelihood: 2 ln((1 - p) / p) at p =
#: KIND_CONFUSION, 2 ln 19 (a literal: no libm logarithm reaches the output).
RELABEL_COST = 5.8888779583328805


def _ragged_of(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """ptr of groups of `sizes`, and each row's group."""
    ptr = np.zeros(len(sizes) + 1, dtype=np.intp)
    np.cumsum(sizes, out=ptr[1:])
    return ptr, np.repeat(np.arange(len(sizes)), sizes)


def group_costs(
    ctx: Ctx, flat: IntArray, ptr: IntArray, sx: FloatArray, sy: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """C(G) of each group (members flat[ptr[g]:ptr[g + 1]]; a single sighting costs 0),
    with its fit's point (warm-started at (sx, sy); NaN: no start)."""
    sizes = np.diff(ptr)
    f = fit_many(ctx.table, flat, ptr, (sx, sy))
    seg = np.repeat(np.arange(len(sizes)), sizes)
    e = ctx.emissions(flat, f.x[seg], f.y[seg])
    w = ctx.weight[flat]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(seg, weights=w * e, minlength=len(sizes)) / np.bincount(
            seg, weights=w, minlength=len(sizes)
        )
    r = e - mean[seg]
    t_chi2 = np.bincount(seg, weights=w * (r * r), minlength=len(sizes))
    cost = np.where(sizes >= 2, f.chi2 + t_chi2, 0.0)
    return cost, f.x, f.y


def _targets(ctx: Ctx, grouped: Grouped) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(sighting, its group, a group with a fix it could join, the change in the number
    of relabelled sightings the move makes: -1, 0 or 1) of every try, in order."""
    st = ctx.static
    n_g = len(grouped)
    sizes = grouped.sizes
    owner = np.repeat(np.arange(n_g), sizes)
    s_all = grouped.members
    fixed = np.flatnonzero(grouped.has_fix & (sizes >= 3))
    if not len(fixed) or not len(s_all):
        none = np.zeros(0, dtype=np.intp)
        return none, none, none, none
    fx, fy = grouped.fx[fixed], grouped.fy[fixed]
    fptr = grouped.ptr
    # Each fixed group's emission time: the weighted mean at its fix.
    fsizes = sizes[fixed]
    rows = np.repeat(fptr[fixed], fsizes) + (
        np.arange(int(fsizes.sum())) - np.repeat(np.cumsum(fsizes) - fsizes, fsizes)
    )
    members = grouped.members[rows]
    fseg = np.repeat(np.arange(len(fixed)), fsizes)
    e = ctx.emissions(members, fx[fseg], fy[fseg])
    w = ctx.weight[members]
    t0 = np.bincount(fseg, weights=w * e, minlength=len(fixed)) / np.bincount(
        fseg, weights=w, minlength=len(fixed)
    )
    t0_var = 1.0 / np.bincount(fseg, weights=w, minlength=len(fixed))
    # Windowed search: groups sorted by (emission time, index).
    order = np.lexsort((fixed, t0))
    starts = t0[order]
    t_own = ctx.corr[s_all]
    tol = TIME_Z * math.hypot(math.sqrt(float(ctx.tvar.max())), CLOCK_SIGMA_S)
    lo = t_own - np.where(st.heard[s_all], st.reach[s_all] / SPEED_OF_SOUND_M_S, 0.0) - tol
    a = np.searchsorted(starts, lo, side="left")
    b = np.searchsorted(starts, t_own + tol, side="right")
    counts = np.maximum(b - a, 0)
    row = np.repeat(np.arange(len(s_all)), counts)
    q = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    k = order[np.repeat(a, counts) + q]  # index into `fixed`
    s, g_from, g_to = s_all[row], owner[row], fixed[k]
    keep = (g_to != g_from) & (st.what[s] == st.what[grouped.first[g_to]])
    s, g_from, g_to, k = s[keep], g_from[keep], g_to[keep], k[keep]
    px, py = fx[k], fy[k]
    dx, dy = px - ctx.table.x[s], py - ctx.table.y[s]
    d = np.sqrt(dx * dx + dy * dy)
    emitted = ctx.corr[s] - np.where(st.heard[s], d / SPEED_OF_SOUND_M_S, 0.0)
    with np.errstate(invalid="ignore"):
        z = np.abs(emitted - t0[k]) / np.sqrt(ctx.tvar[s] + t0_var[k])
    keep = (z <= TIME_Z) & (st.lo[s] <= d) & (d <= st.hi[s])
    s, g_from, g_to, px, py = s[keep], g_from[keep], g_to[keep], px[keep], py[keep]
    keep = bearing_z(ctx.table, s, px, py) <= OUTLIER_Z
    s, g_from, g_to = s[keep], g_from[keep], g_to[keep]
    # Its observer not in B; whether another member of B, of A, reports its kind (A
    # holds s itself: another member there is a second of its kind).
    members_who = owner * len(st.observers) + st.who[s_all]
    allowed = ~_count_of(members_who, g_to * len(st.observers) + st.who[s]).astype(bool)
    n_kinds = int(st.kind.max()) + 1
    members_kind = owner * n_kinds + st.kind[s_all]
    in_b = _count_of(members_kind, g_to * n_kinds + st.kind[s]) >= 1
    in_a = _count_of(members_kind, g_from * n_kinds + st.kind[s]) >= 2
    relabel = (~in_b).astype(np.intp) - (~in_a).astype(np.intp)
    return s[allowed], g_from[allowed], g_to[allowed], relabel[allowed]


def _count_of(keys: IntArray, asked: IntArray) -> IntArray:
    """How many times each asked value occurs in keys."""
    values, counts = np.unique(keys, return_counts=True)
    at = np.minimum(np.searchsorted(values, asked), max(len(values) - 1, 0))
    found = values[at] == asked if len(values) else np.zeros(len(asked), dtype=bool)
    out: IntArray = np.where(found, counts[at] if len(values) else 0, 0)
    return out


def reassign(ctx: Ctx, grouped: Grouped) -> Grouped:
    """The groups after the moves that lower the partition's chi-square (see the module);
    sorted by first member."""
    s, g_a, g_b, relabel = _targets(ctx, grouped)
    if not len(s):
        return grouped
    m, p = grouped.members.tolist(), grouped.ptr.tolist()
    nan = math.nan
    fx, fy, has = grouped.fx.tolist(), grouped.fy.tolist(), grouped.has_fix.tolist()
    # Four groups per try: A, A - s, B, B + s (A and B with their fixes as starts).
    groups: list[list[int]] = []
    sx: list[float] = []
    sy: list[float] = []
    for k, a, b in zip(s.tolist(), g_a.tolist(), g_b.tolist(), strict=True):
        ga, gb = m[p[a] : p[a + 1]], m[p[b] : p[b + 1]]
        ax, ay = (fx[a], fy[a]) if has[a] else (nan, nan)
        groups += [ga, [j for j in ga if j != k], gb, sorted([*gb, k])]
        sx += [ax, ax, fx[b], fx[b]]
        sy += [ay, ay, fy[b], fy[b]]
    flat, ptr = ragged(groups)
    cost, px, py = group_costs(ctx, flat, ptr, np.array(sx), np.array(sy))
    c = cost.reshape(-1, 4)
    drop = (c[:, 0] + c[:, 2]) - (c[:, 1] + c[:, 3]) - RELABEL_COST * relabel
    good = np.flatnonzero(drop > 0.0)
    if not len(good):
        return grouped
    # Both groups the move leaves must pass the grouping's test: B + s (s not the gross
    # error left out) and A - s where it keeps three or more.
    rest = [q for q in good.tolist() if len(groups[4 * q + 1]) >= 3]
    asks = [groups[4 * q + 3] for q in good.tolist()] + [groups[4 * q + 1] for q in rest]
    at = np.concatenate([4 * good + 3, 4 * np.array(rest, dtype=np.intp) + 1])
    fixes = consistent_many(
        ctx, asks, px[at].tolist(), py[at].tolist(), keep=[*s[good].tolist(), *([-1] * len(rest))]
    )
    fix_of = dict(zip(at.tolist(), fixes, strict=True))
    # Best first: the largest drop, then the lower sighting, then the lower target.
    rank = np.lexsort((g_b[good], s[good], -drop[good]))
    changed: dict[int, tuple[list[int], XY | None]] = {}
    for q in good[rank].tolist():
        a, b = int(g_a[q]), int(g_b[q])
        joined, left = fix_of[4 * q + 3], fix_of.get(4 * q + 1)
        if a in changed or b in changed or joined is None:
            continue
        if len(groups[4 * q + 1]) >= 3 and left is None:
            continue
        changed[a] = (groups[4 * q + 1], left)
        changed[b] = (groups[4 * q + 3], joined)
    if not changed:
        return grouped
    kept = np.ones(len(grouped), dtype=bool)
    kept[list(changed)] = False
    # A group left with one sighting is no group: that sighting is a leftover again.
    new = [changed[g] for g in sorted(changed) if len(changed[g][0]) >= 2]
    moved = Grouped.of([g for g, _ in new], [xy for _, xy in new])
    return Grouped.concat([grouped.take(kept), moved]).by_first()
