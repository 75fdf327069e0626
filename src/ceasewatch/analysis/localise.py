"""Maximum-likelihood fixes from bearings, with distance bands as soft constraints.

Measurement model, in the theater's local plane (x east, y north, metres):
- a bearing from observer o to the point p is atan2(px - ox, py - oy) + e, e ~ N(0, sigma²);
- a distance band [lo, hi] is a pseudo-measurement of |p - o| with mean (lo + hi) / 2 and
  a sigma combining the band's width (uniform: width/sqrt 12) and the observer's own
  range-estimation error (`RANGE_REL_SIGMA` of the distance).
The fix minimises the weighted squared residuals (Gauss-Newton from the pseudo-linear
estimate); its covariance is the inverse Fisher information at the fix, which is also the
Cramér-Rao bound for this geometry. The arithmetic runs over many groups at once
(`_batchfit`): `fit_groups` and `robust_fit_groups` take a whole batch, `fit` and
`robust_fit` one group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasewatch._fork import fork_map, spans
from ceasewatch.analysis._batchfit import (
    GROSS_ERROR_PRIOR,
    GROSS_ERROR_RMS_DEG,
    RANGE_REL_SIGMA,
    BoolArray,
    Fits,
    FloatArray,
    IntArray,
    ObsTable,
    fisher,
    fit_many,
    gross_var,
    ragged,
    range_prior,
    robust_sigma,
)
from ceasewatch.analysis._batchfit import bearing_z as bearing_z_many
from ceasewatch.analysis._consensus import consensus
from ceasewatch.analysis.observations import Obs

__all__ = [
    "GROSS_ERROR_PRIOR",
    "GROSS_ERROR_RMS_DEG",
    "RANGE_REL_SIGMA",
    "Fix",
    "ObsTable",
    "RobustFits",
    "bearing_z",
    "chi2_quantile",
    "crlb",
    "crlb_groups",
    "crlb_rows",
    "fit",
    "fit_groups",
    "gross_share",
    "robust_fit",
    "robust_fit_arrays",
    "robust_fit_groups",
    "single_fix",
    "single_fixes",
    "singles_share",
]

#: Chi-square drop (1 dof, 99.9%) that marks the left-out sighting as an outlier.
OUTLIER_DROP = 10.83
#: Normalised bearing residual beyond which a sighting is an outlier.
OUTLIER_Z = 3.5
#: Groups of this size or more tell how common gross errors are (`gross_share`).
GROSS_MIN_GROUP = 4
#: Weight, in members, of `GROSS_ERROR_PRIOR` in that estimate: one group of the least size
#: that can reveal an outlier, so that the estimate follows the data as soon as there are
#: any (with none it is the prior; at 0% gross it tends to 0, at 8% to 8%).
GROSS_PRIOR_WEIGHT = float(GROSS_MIN_GROUP)
#: Normal quantile of a fit's chi-square test (99.9%).
FIT_Z = 3.09
_TWO_PI = 2.0 * math.pi

Start = tuple[FloatArray, FloatArray]
AnyArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Fix:
    x: float
    y: float
    cee: float  # covariance, m²
    cen: float
    cnn: float
    chi2: float
    dof: int

    @property
    def rms_m(self) -> float:
        """sqrt(trace(cov)): the RMS position error this covariance implies."""
        return math.sqrt(max(self.cee + self.cnn, 0.0))


def _fix(f: Fits, k: int) -> Fix:
    return Fix(
        float(f.x[k]),
        float(f.y[k]),
        float(f.cee[k]),
        float(f.cen[k]),
        float(f.cnn[k]),
        float(f.chi2[k]),
        int(f.dof[k]),
    )


def chi2_quantile(p_z: float, dof: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile at normal quantile p_z."""
    if dof <= 0:
        return 0.0
    k = float(dof)
    return k * (1.0 - 2.0 / (9.0 * k) + p_z * math.sqrt(2.0 / (9.0 * k))) ** 3


def chi2_quantiles(p_z: float, dof: IntArray) -> FloatArray:
    """`chi2_quantile` of each entry of `dof` (computed once per distinct value, by `math`)."""
    table = np.array([chi2_quantile(p_z, k) for k in range(int(dof.max(initial=0)) + 1)])
    return table[np.maximum(dof, 0)]


def fit_groups(
    table: ObsTable,
    groups: Sequence[Sequence[int]],
    start: Start | None = None,
) -> Fits:
    """Fixes of many groups (indices into `table`) at once; `start` per group, where it
    holds NaN the pseudo-linear estimate is used."""
    flat, ptr = ragged(groups)
    return fit_many(table, flat, ptr, start)


def crlb_groups(
    table: ObsTable, groups: Sequence[Sequence[int]], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The Cramér-Rao bound (cee, cen, cnn) of each group for a target at (x, y)."""
    return crlb_rows(table, *ragged(groups), x, y)


def crlb_rows(
    table: ObsTable, flat: IntArray, ptr: IntArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """`crlb_groups` of the groups given as (flat, ptr) (see `ragged`)."""
    f11, f12, f22 = fisher(table, flat, ptr, x, y)
    det = f11 * f22 - f12 * f12
    ok = det > 0.0
    safe = np.where(ok, det, 1.0)
    return (
        np.where(ok, f22 / safe, np.inf),
        np.where(ok, -f12 / safe, 0.0),
        np.where(ok, f11 / safe, np.inf),
    )


def crlb(obs: Sequence[Obs], x: float, y: float) -> tuple[float, float, float]:
    """The Cramér-Rao bound (cee, cen, cnn) for these observers and a target at (x, y)."""
    cee, cen, cnn = crlb_groups(ObsTable.of(obs), [range(len(obs))], np.array([x]), np.array([y]))
    return float(cee[0]), float(cen[0]), float(cnn[0])


def fit(obs: Sequence[Obs], start: tuple[float, float] | None = None, max_iter: int = 30) -> Fix:
    """Weighted least-squares fix of bearings (and distance priors) by Gauss-Newton."""
    flat, ptr = ragged([range(len(obs))])
    st = None if start is None else (np.array([start[0]]), np.array([start[1]]))
    return _fix(fit_many(ObsTable.of(obs), flat, ptr, st, max_iter), 0)


def single_fix(o: Obs, share: float = GROSS_ERROR_PRIOR) -> Fix:
    """One sighting: along its bearing, at its band's middle (or half its kind's reach).

    Nothing corroborates a lone bearing, so nothing can reveal a gross error in it: its
    sigma across the bearing is widened to the variance of the robust error model (a
    share `share` of bearings, by default `GROSS_ERROR_PRIOR`, off by about
    `GROSS_ERROR_RMS_DEG`).
    """
    r, sr = range_prior(o)
    s, c = math.sin(o.theta), math.cos(o.theta)
    st = robust_sigma(o, share) * r  # across the bearing
    # Covariance = R diag(sr², st²) Rᵀ with the along axis (s, c) and across axis (c, -s)
    cee = sr * sr * s * s + st * st * c * c
    cnn = sr * sr * c * c + st * st * s * s
    cen = (sr * sr - st * st) * s * c
    return Fix(o.x_m + r * s, o.y_m + r * c, cee, cen, cnn, 0.0, 0)


def _wrap(a: float) -> float:
    return (a + math.pi) % _TWO_PI - math.pi


def bearing_z(o: Obs, x: float, y: float) -> float:
    """Normalised residual of a bearing against a point (|wrapped error| / sigma)."""
    return abs(_wrap(o.theta - math.atan2(x - o.x_m, y - o.y_m))) / o.sigma


def robust_fit(obs: Sequence[Obs]) -> tuple[Fix, list[int], list[int]]:
    """Fix the group, leaving out bearings that cannot agree with the others.

    Returns:
        (fix, indices of the inliers, indices of the outliers). A group of four or more
        whose full fit fails starts from its consensus subset (`_consensus`: the members
        that agree with the best crossing of two bearings), so that two gross bearings
        cannot mask each other. Then, with three or more sightings, each is left out in
        turn; the one whose removal lowers the chi-square most is dropped when that drop
        is significant (`OUTLIER_DROP`, a likelihood-ratio test at 99.9%), or when the
        fit fails its chi-square test (99.9%) or misses a bearing by more than
        `OUTLIER_Z` sigma; this repeats while three or more remain. A lone sighting and
        a pair carry the gross-error model in their covariance (see `single_fix`); in a
        batch (`robust_fit_groups`) its share of gross errors is estimated from the
        batch (`gross_share`; lone sightings take the gross errors the groups did not
        reveal, `singles_share`), and a pair's ellipse also widens by its bands'
        chi-square per degree of freedom when that exceeds one.
    """
    return robust_fit_groups(obs, [list(range(len(obs)))])[0]


def _take(f: Fits, idx: IntArray) -> Fits:
    return Fits(f.x[idx], f.y[idx], f.cee[idx], f.cen[idx], f.cnn[idx], f.chi2[idx], f.dof[idx])


def _failing(t: ObsTable, groups: Sequence[Sequence[int]], f: Fits) -> BoolArray:
    """Which fits fail their chi-square test or miss a bearing by more than `OUTLIER_Z`."""
    flat, ptr = ragged(groups)
    seg = np.repeat(np.arange(len(groups)), np.diff(ptr))
    worst = np.maximum.reduceat(bearing_z_many(t, flat, f.x[seg], f.y[seg]), ptr[:-1])
    bad: BoolArray = (f.chi2 > chi2_quantiles(FIT_Z, f.dof)) | (worst > OUTLIER_Z)
    return bad


def _start_from_consensus(t: ObsTable, flat: IntArray, ptr: IntArray, cur: Fits) -> BoolArray:
    """Groups of four or more whose full fit fails start from their consensus subset
    (`_consensus`): two gross bearings can mask each other from leave-one-out. Returns
    which rows of `flat` stay inliers, and updates `cur` in place where a subset's fit
    replaces the full one."""
    inlier = np.ones(len(flat), dtype=bool)
    sizes = np.diff(ptr)
    big = np.flatnonzero(sizes >= 4)
    if not len(big):
        return inlier
    groups = [
        flat[a:b].tolist() for a, b in zip(ptr[big].tolist(), ptr[big + 1].tolist(), strict=True)
    ]
    bad_mask = _failing(t, groups, _take(cur, big))
    if not bad_mask.any():
        return inlier
    bad = big[bad_mask]
    keep = consensus(
        t, [g for g, b in zip(groups, bad_mask.tolist(), strict=True) if b], cur.x[bad], cur.y[bad],
        z_max=OUTLIER_Z,
    )  # fmt: skip
    changed = [(m, k) for m, k in zip(bad.tolist(), keep, strict=True) if 3 <= len(k) < sizes[m]]
    if not changed:
        return inlier
    at = np.array([m for m, _ in changed])
    refit = fit_groups(
        t, [[int(flat[ptr[m] + i]) for i in k] for m, k in changed], (cur.x[at], cur.y[at])
    )
    for m, k in changed:
        inlier[ptr[m] : ptr[m + 1]] = False
        inlier[ptr[m] + np.array(k, dtype=np.intp)] = True
    for a, b in ((cur.x, refit.x), (cur.y, refit.y), (cur.cee, refit.cee), (cur.cen, refit.cen),
                 (cur.cnn, refit.cnn), (cur.chi2, refit.chi2)):  # fmt: skip
        a[at] = b
    cur.dof[at] = refit.dof
    return inlier


def gross_share(groups: Sequence[Sequence[int]], outliers: Sequence[Sequence[int]]) -> float:
    """The share of gross bearing errors in this input: outliers over members of the groups
    of `GROSS_MIN_GROUP` or more (where leave-one-out can find them), shrunk toward
    `GROSS_ERROR_PRIOR` with the weight of `GROSS_PRIOR_WEIGHT` members."""
    big = [k for k, members in enumerate(groups) if len(members) >= GROSS_MIN_GROUP]
    n = sum(len(groups[k]) for k in big)
    bad = sum(len(outliers[k]) for k in big)
    return _share(bad, n)


def _share(bad: int, n: int) -> float:
    return (bad + GROSS_PRIOR_WEIGHT * GROSS_ERROR_PRIOR) / (n + GROSS_PRIOR_WEIGHT)


def singles_share(share: float, members: int, found: int, pair_members: int, singles: int) -> float:
    """The share of gross errors among lone sightings.

    A gross bearing rarely crosses its occurrence's other bearings where they meet, so it
    is left alone more often than a good one: lone sightings hold more gross errors than
    the input at large. The input's `members` sightings hold about `share` x `members`
    gross ones; the groups of three or more revealed `found` of them, the pairs hold
    about `share` x `pair_members`, and the rest are the lone ones' (never fewer than
    `share` of them: leaving a sighting alone cannot make it less likely gross).
    """
    if singles <= 0:
        return share
    rest = share * members - found - share * pair_members
    return min(max(rest / singles, share), 1.0)


@dataclass(frozen=True, slots=True)
class RobustFits:
    """`robust_fit_groups` as arrays: per group its fix (`fits`), and per member (the rows of
    `flat`, group g's at ptr[g]:ptr[g + 1]) whether it is an inlier."""

    fits: Fits
    flat: IntArray
    ptr: IntArray
    inlier: BoolArray


def robust_fit_groups(
    obs: Sequence[Obs],
    groups: Sequence[Sequence[int]],
    table: ObsTable | None = None,
) -> list[tuple[Fix, list[int], list[int]]]:
    """`robust_fit` of many groups (indices into `obs`) at once, one round of leave-one-out
    fits of every group still testing per batch. Inliers and outliers are positions in
    each group, as `robust_fit` gives them."""
    t = table if table is not None else ObsTable.of(obs)
    flat, ptr = ragged(groups)
    r = robust_fit_arrays(t, flat, ptr)
    f = r.fits
    out = []
    for g, (a, b) in enumerate(zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)):
        if a == b:
            continue  # an empty group has no fix
        inl = r.inlier[a:b].tolist()
        fix = Fix(float(f.x[g]), float(f.y[g]), float(f.cee[g]), float(f.cen[g]),
                  float(f.cnn[g]), float(f.chi2[g]), int(f.dof[g]))  # fmt: skip
        out.append(
            (fix, [i for i, v in enumerate(inl) if v], [i for i, v in enumerate(inl) if not v])
        )
    return out


def robust_fit_arrays(
    t: ObsTable, flat: IntArray, ptr: IntArray, *, workers: int = 1
) -> RobustFits:
    """`robust_fit_groups` of the groups (flat, ptr) (indices into `t`), as arrays.

    Every step runs over all groups at once; a group's numbers never depend on which
    other groups share its batch (sums are per group, in its members' order), so
    `workers` > 1 fits spans of the groups on that many forked processes (the same bits).
    """
    sizes = np.diff(ptr)
    multi = np.flatnonzero(sizes >= 2)
    mrows = _rows_of(ptr, multi)
    mflat, mptr = flat[mrows], _ptr_of(sizes[multi])
    if workers > 1 and len(multi) >= _MIN_FORKED:
        parts = spans(len(multi), 2 * workers)
        done = fork_map(_leave_one_out_span, (t, mflat, mptr, parts), len(parts), workers)
        f = Fits(*(np.concatenate([d[0][j] for d in done]) for j in range(7)))
        inl_m = np.concatenate([d[1] for d in done])
    else:
        f, inl_m = _leave_one_out(t, mflat, mptr)
    # Two bearings always meet: nothing can reveal a gross error in either, so the
    # reported covariance uses the robust sigma (as for a lone bearing).
    big = sizes[multi] >= GROSS_MIN_GROUP
    big_rows = np.repeat(big, sizes[multi])
    share = _share(int((~inl_m[big_rows]).sum()), int(sizes[multi][big].sum()))
    n_in = np.add.reduceat(inl_m.astype(np.intp), mptr[:-1]) if len(multi) else mptr[:-1]
    pairs = np.flatnonzero(n_in == 2)
    if len(pairs):
        keep = inl_m & np.repeat(np.isin(np.arange(len(multi)), pairs), sizes[multi])
        pflat, pptr = mflat[keep], _ptr_of(np.full(len(pairs), 2, dtype=np.intp))
        f11, f12, f22 = fisher(t, pflat, pptr, f.x[pairs], f.y[pairs], robust=True, share=share)
        det = f11 * f22 - f12 * f12
        ok = det > 0.0
        safe = np.where(ok, det, 1.0)
        # The bands are all that can tell a gross pair: what they disagree by beyond
        # their own spread widens the ellipse (chi-square per degree of freedom).
        d = f.dof[pairs]
        scale = np.where(d > 0, np.maximum(f.chi2[pairs] / np.maximum(d, 1), 1.0), 1.0)
        f.cee[pairs] = np.where(ok, scale * f22 / safe, np.inf)
        f.cen[pairs] = np.where(ok, scale * -f12 / safe, 0.0)
        f.cnn[pairs] = np.where(ok, scale * f11 / safe, np.inf)
    n = len(sizes)
    out = Fits(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
               np.zeros(n, dtype=f.dof.dtype))  # fmt: skip
    _put_rows(out, multi, f)
    single = np.flatnonzero(sizes == 1)
    lone = singles_share(share, len(flat), int((~inl_m).sum()), 2 * len(pairs), len(single))
    _put_rows(out, single, single_fixes(t, flat[ptr[single]], lone))
    inlier = np.ones(len(flat), dtype=bool)
    inlier[mrows] = inl_m
    return RobustFits(out, flat, ptr, inlier)


def single_fixes(t: ObsTable, ob: IntArray, share: float) -> Fits:
    """`single_fix` of each of the observations `ob` (the same operations, per array)."""
    s, c, r, sr = t.s[ob], t.c[ob], t.rm[ob], t.rs[ob]
    sig = t.sigma[ob]
    st = np.sqrt(sig * sig + gross_var(share)) * r  # across the bearing
    cee = sr * sr * s * s + st * st * c * c
    cnn = sr * sr * c * c + st * st * s * s
    cen = (sr * sr - st * st) * s * c
    zero = np.zeros(len(ob))
    return Fits(t.x[ob] + r * s, t.y[ob] + r * c, cee, cen, cnn, zero,
                np.zeros(len(ob), dtype=np.intp))  # fmt: skip


def _rows_of(ptr: IntArray, groups: IntArray) -> IntArray:
    """The rows (ptr[g]:ptr[g + 1]) of the groups `groups`, in order."""
    lens = ptr[groups + 1] - ptr[groups]
    first = np.cumsum(lens) - lens
    rows: IntArray = np.arange(int(lens.sum())) - np.repeat(first - ptr[groups], lens)
    return rows


def _ptr_of(sizes: IntArray) -> IntArray:
    ptr = np.zeros(len(sizes) + 1, dtype=np.intp)
    np.cumsum(sizes, out=ptr[1:])
    return ptr


def _put_rows(f: Fits, at: IntArray, g: Fits) -> None:
    for a, b in ((f.x, g.x), (f.y, g.y), (f.cee, g.cee), (f.cen, g.cen), (f.cnn, g.cnn),
                 (f.chi2, g.chi2), (f.dof, g.dof)):  # fmt: skip
        a[at] = b


#: Groups below which forking costs more than it saves.
_MIN_FORKED = 2000

_Span = tuple[ObsTable, IntArray, IntArray, list[tuple[int, int]]]


def _leave_one_out_span(job: _Span, k: int) -> tuple[tuple[AnyArray, ...], BoolArray]:
    """`_leave_one_out` of span k of the groups (a module function: `fork_map` names it)."""
    t, flat, ptr, parts = job
    a, b = parts[k]
    f, inlier = _leave_one_out(t, flat[ptr[a] : ptr[b]], ptr[a : b + 1] - ptr[a])
    return (f.x, f.y, f.cee, f.cen, f.cnn, f.chi2, f.dof), inlier


def _leave_one_out(t: ObsTable, flat: IntArray, ptr: IntArray) -> tuple[Fits, BoolArray]:
    """The fits of groups of two or more after the consensus start and rounds of
    leave-one-out, and which rows stay inliers (see `robust_fit`)."""
    f = fit_many(t, flat, ptr)
    inlier = _start_from_consensus(t, flat, ptr, f)
    n = len(ptr) - 1
    seg = np.repeat(np.arange(n), np.diff(ptr))
    n_in = np.bincount(seg[inlier], minlength=n)
    testing = np.flatnonzero(n_in >= 3)
    while len(testing):
        on = np.zeros(n, dtype=bool)
        on[testing] = True
        rows = np.flatnonzero(inlier & on[seg])  # by group, then position
        k = n_in[testing]
        first = _ptr_of(k)
        # Subset j of a group: its inliers but the j-th, in order.
        blk = k * k
        q = np.repeat(np.arange(len(testing)), blk)
        within = np.arange(int(blk.sum())) - np.repeat(_ptr_of(blk)[:-1], blk)
        j, i = within // k[q], within % k[q]
        sub = rows[first[q] + i][i != j]
        gx, gy = f.x[testing], f.y[testing]
        owner = np.repeat(np.arange(len(testing)), k)
        rest = fit_many(t, flat[sub], _ptr_of(np.repeat(k - 1, k)), (gx[owner], gy[owner]))
        z = bearing_z_many(t, flat[rows], np.repeat(gx, k), np.repeat(gy, k))
        worst = np.maximum.reduceat(z, first[:-1])
        failing = (f.chi2[testing] > chi2_quantiles(FIT_Z, f.dof[testing])) | (worst > OUTLIER_Z)
        best = _first_min(rest.chi2, first)
        drop = failing | ~(f.chi2[testing] - rest.chi2[best] <= OUTLIER_DROP)
        m, b = testing[drop], best[drop]
        f.x[m], f.y[m] = rest.x[b], rest.y[b]
        f.cee[m], f.cen[m], f.cnn[m] = rest.cee[b], rest.cen[b], rest.cnn[b]
        f.chi2[m], f.dof[m] = rest.chi2[b], rest.dof[b]
        inlier[rows[b]] = False  # subset s leaves out inlier row rows[s]
        n_in[m] -= 1
        testing = m[n_in[m] >= 3]
    return f, inlier


def _first_min(v: FloatArray, ptr: IntArray) -> IntArray:
    """Per segment ptr[q]:ptr[q + 1] (none empty), the index of its least value, the first
    of equals: `min(range(a, b), key=lambda s: (v[s], s))` (NaN as Python orders it)."""
    n = len(ptr) - 1
    if np.isnan(v).any():
        vl = v.tolist()
        return np.array(
            [
                min(range(a, b), key=lambda s: (vl[s], s))
                for a, b in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)
            ],
            dtype=np.intp,
        )
    low = np.minimum.reduceat(v, ptr[:-1])
    seg = np.repeat(np.arange(n), np.diff(ptr))
    at = np.flatnonzero(v == low[seg])
    firsts: IntArray = at[np.searchsorted(seg[at], np.arange(n))]
    return firsts
