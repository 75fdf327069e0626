"""Which members of a group agree with one point, when more than one bearing is gross.

Leaving out one sighting at a time (`localise.robust_fit_groups`) finds a single gross
bearing, but two of them in a group can drag the full fit so far that the good bearings
look worst and are dropped instead (masking). A consensus search does not depend on the
full fit: every two bearings of the group cross at a candidate point; each candidate is
scored by the truncated cost of all members there (each bearing's and band's squared
normalised residual, capped at `OUTLIER_Z`², as in MSAC); the best candidate's members
within `OUTLIER_Z` are refitted and re-selected twice. Candidates are tried in a fixed
order and ties go to the first, so the outcome is deterministic.

Only + - * /, sqrt and comparisons run in numpy (see `_batchfit`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ceasewatch.analysis._batchfit import (
    FloatArray,
    IntArray,
    ObsTable,
    bearing_z,
    fit_many,
    ragged,
)

__all__ = ["consensus"]

_MIN_SIN = math.sin(math.radians(2.0))  # two bearings closer than this cross nowhere useful


def _pairs(sizes: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(group, first position, second position) of every two members of every group."""
    g_list: list[int] = []
    a_list: list[int] = []
    b_list: list[int] = []
    for g, n in enumerate(sizes.tolist()):
        for a in range(n):
            for b in range(a + 1, n):
                g_list.append(g)
                a_list.append(a)
                b_list.append(b)
    return (
        np.array(g_list, dtype=np.intp),
        np.array(a_list, dtype=np.intp),
        np.array(b_list, dtype=np.intp),
    )


def _costs(
    t: ObsTable, ob: IntArray, x: FloatArray, y: FloatArray, cap2: float
) -> tuple[FloatArray, FloatArray]:
    """Per row: the truncated cost of observation ob at (x, y), and its bearing z."""
    z = bearing_z(t, ob, x, y)
    dx, dy = x - t.x[ob], y - t.y[ob]
    d = np.sqrt(dx * dx + dy * dy)
    rr = t.rm[ob] - d
    zb2 = np.where(t.band[ob] == 1, t.wr[ob] * rr * rr, 0.0)
    return np.minimum(z * z, cap2) + np.minimum(zb2, cap2), z


def consensus(
    t: ObsTable,
    groups: Sequence[Sequence[int]],
    x0: FloatArray,
    y0: FloatArray,
    *,
    z_max: float,
    rounds: int = 2,
) -> list[list[int]]:
    """For each group (indices into `t`), the positions of its members that agree with the
    best point (at least two). (x0, y0) is each group's full fit, a candidate too."""
    if not groups:
        return []
    flat, ptr = ragged(groups)
    sizes = np.diff(ptr)
    n_g = len(groups)
    cap2 = z_max * z_max
    pg, pa, pb = _pairs(sizes)
    ia, ib = flat[ptr[pg] + pa], flat[ptr[pg] + pb]
    sa, ca, sb, cb = t.s[ia], t.c[ia], t.s[ib], t.c[ib]
    den = sa * cb - ca * sb
    dx, dy = t.x[ib] - t.x[ia], t.y[ib] - t.y[ia]
    ok = np.abs(den) >= _MIN_SIN
    safe = np.where(ok, den, 1.0)
    da = (dx * cb - dy * sb) / safe
    db = (dx * ca - dy * sa) / safe
    ok &= (da > 0.0) & (db > 0.0)
    # Candidates: each group's full fit first, then its crossings.
    cg = np.concatenate([np.arange(n_g), pg])
    cx = np.concatenate([x0, t.x[ia] + da * sa])
    cy = np.concatenate([y0, t.y[ia] + da * ca])
    valid = np.concatenate([np.isfinite(x0) & np.isfinite(y0), ok])
    order = np.argsort(cg, kind="stable")  # candidates by group, full fit first
    cg, cx, cy, valid = cg[order], cx[order], cy[order], valid[order]
    # Rows: every candidate against every member of its group.
    reps = sizes[cg]
    rc = np.repeat(np.arange(len(cg)), reps)
    first = np.cumsum(reps) - reps
    ob = flat[ptr[cg][rc] + np.arange(len(rc)) - first[rc]]
    cost, _ = _costs(t, ob, cx[rc], cy[rc], cap2)
    total = np.bincount(rc, weights=cost, minlength=len(cg))
    total = np.where(valid, total, np.inf)
    # The best candidate of each group: lowest cost, then first in order.
    pick = np.lexsort((np.arange(len(cg)), total, cg))
    starts = np.searchsorted(cg[pick], np.arange(n_g), side="left")
    best = pick[starts]
    bx, by = cx[best], cy[best]
    keep = _within(t, flat, ptr, (bx, by), z_max)
    for _ in range(rounds):
        subsets = [[groups[g][i] for i in keep[g]] for g in range(n_g)]
        sflat, sptr = ragged(subsets)
        f = fit_many(t, sflat, sptr, (bx, by))
        bx, by = f.x, f.y
        again = _within(t, flat, ptr, (bx, by), z_max)
        keep = [a if len(a) >= 2 else k for a, k in zip(again, keep, strict=True)]
    return keep


def _within(
    t: ObsTable, flat: IntArray, ptr: IntArray, xy: tuple[FloatArray, FloatArray], z_max: float
) -> list[list[int]]:
    """Positions of each group's members whose bearing lies within z_max at its point
    (the two best when fewer do)."""
    sizes = np.diff(ptr)
    seg = np.repeat(np.arange(len(sizes)), sizes)
    z = bearing_z(t, flat, xy[0][seg], xy[1][seg])
    out: list[list[int]] = []
    for lo, hi in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True):
        zg = z[lo:hi].tolist()
        inside = [i for i, v in enumerate(zg) if v <= z_max]
        if len(inside) < 2:
            inside = sorted(sorted(range(hi - lo), key=lambda i: (zg[i], i))[:2])
        out.append(inside)
    return out
