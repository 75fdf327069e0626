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

import numpy as np

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
    "bearing_z",
    "chi2_quantile",
    "crlb",
    "crlb_groups",
    "fit",
    "fit_groups",
    "gross_share",
    "robust_fit",
    "robust_fit_groups",
    "single_fix",
]

#: Chi-square drop (1 dof, 99.9%) that marks the left-out sighting as an outlier.
OUTLIER_DROP = 10.83
#: Normalised bearing residual beyond which a sighting is an outlier.
OUTLIER_Z = 3.5
#: Groups of this size or more tell how common gross errors are (`gross_share`).
GROSS_MIN_GROUP = 4
#: Weight, in members, of `GROSS_ERROR_PRIOR` in that estimate.
GROSS_PRIOR_WEIGHT = 50.0
#: Normal quantile of a fit's chi-square test (99.9%).
FIT_Z = 3.09
_TWO_PI = 2.0 * math.pi

Start = tuple[FloatArray, FloatArray]


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
    flat, ptr = ragged(groups)
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
        batch (`gross_share`), and a pair's ellipse also widens by its bands' chi-square
        per degree of freedom when that exceeds one.
    """
    return robust_fit_groups(obs, [list(range(len(obs)))])[0]


def _take(f: Fits, idx: IntArray) -> Fits:
    return Fits(f.x[idx], f.y[idx], f.cee[idx], f.cen[idx], f.cnn[idx], f.chi2[idx], f.dof[idx])


def _put(f: Fits, at: IntArray, g: Fits) -> Fits:
    """f with rows `at` replaced by g's."""
    out = Fits(
        f.x.copy(),
        f.y.copy(),
        f.cee.copy(),
        f.cen.copy(),
        f.cnn.copy(),
        f.chi2.copy(),
        f.dof.copy(),
    )
    for a, b in ((out.x, g.x), (out.y, g.y), (out.cee, g.cee), (out.cen, g.cen), (out.cnn, g.cnn)):
        a[at] = b
    out.chi2[at], out.dof[at] = g.chi2, g.dof
    return out


def _failing(t: ObsTable, groups: Sequence[Sequence[int]], f: Fits) -> BoolArray:
    """Which fits fail their chi-square test or miss a bearing by more than `OUTLIER_Z`."""
    flat, ptr = ragged(groups)
    seg = np.repeat(np.arange(len(groups)), np.diff(ptr))
    worst = np.maximum.reduceat(bearing_z_many(t, flat, f.x[seg], f.y[seg]), ptr[:-1])
    bad: BoolArray = (f.chi2 > chi2_quantiles(FIT_Z, f.dof)) | (worst > OUTLIER_Z)
    return bad


def _start_from_consensus(
    t: ObsTable,
    groups: Sequence[Sequence[int]],
    cur: Fits,
    inl: list[list[int]],
    outl: list[list[int]],
) -> Fits:
    """Groups of four or more whose full fit fails start from their consensus subset
    (`_consensus`): two gross bearings can mask each other from leave-one-out. Updates
    `inl` and `outl` in place and returns the fits (the subsets' where they changed)."""
    big = [m for m, members in enumerate(groups) if len(members) >= 4]
    if not big:
        return cur
    sub = _take(cur, np.array(big))
    bad = [
        m
        for m, b in zip(big, _failing(t, [groups[m] for m in big], sub).tolist(), strict=True)
        if b
    ]
    if not bad:
        return cur
    b_arr = np.array(bad)
    keep = consensus(t, [groups[m] for m in bad], cur.x[b_arr], cur.y[b_arr], z_max=OUTLIER_Z)
    changed = [(m, k) for m, k in zip(bad, keep, strict=True) if 3 <= len(k) < len(groups[m])]
    if not changed:
        return cur
    refit = fit_groups(
        t,
        [[groups[m][i] for i in k] for m, k in changed],
        (cur.x[[m for m, _ in changed]], cur.y[[m for m, _ in changed]]),
    )
    for m, k in changed:
        inl[m] = list(k)
        outl[m] = [i for i in range(len(groups[m])) if i not in k]
    return _put(cur, np.array([m for m, _ in changed]), refit)


def gross_share(groups: Sequence[Sequence[int]], outliers: Sequence[Sequence[int]]) -> float:
    """The share of gross bearing errors in this input: outliers over members of the groups
    of `GROSS_MIN_GROUP` or more (where leave-one-out can find them), shrunk toward
    `GROSS_ERROR_PRIOR` with the weight of `GROSS_PRIOR_WEIGHT` members."""
    big = [k for k, members in enumerate(groups) if len(members) >= GROSS_MIN_GROUP]
    n = sum(len(groups[k]) for k in big)
    bad = sum(len(outliers[k]) for k in big)
    return (bad + GROSS_PRIOR_WEIGHT * GROSS_ERROR_PRIOR) / (n + GROSS_PRIOR_WEIGHT)


def robust_fit_groups(
    obs: Sequence[Obs],
    groups: Sequence[Sequence[int]],
    table: ObsTable | None = None,
) -> list[tuple[Fix, list[int], list[int]]]:
    """`robust_fit` of many groups (indices into `obs`) at once, one round of leave-one-out
    fits of every group still testing per batch. Inliers and outliers are positions in
    each group, as `robust_fit` gives them."""
    t = table if table is not None else ObsTable.of(obs)
    out: list[tuple[Fix, list[int], list[int]] | None] = [None] * len(groups)
    multi = [g for g, members in enumerate(groups) if len(members) >= 2]
    cur = fit_groups(t, [groups[g] for g in multi])
    inl = [list(range(len(groups[g]))) for g in multi]
    outl: list[list[int]] = [[] for _ in multi]
    cur = _start_from_consensus(t, [groups[g] for g in multi], cur, inl, outl)
    fx, fy = cur.x.copy(), cur.y.copy()
    cov = np.stack([cur.cee, cur.cen, cur.cnn], axis=1)
    chi2, dof = cur.chi2.copy(), cur.dof.copy()
    testing = [m for m in range(len(multi)) if len(inl[m]) >= 3]
    while testing:
        subsets: list[list[int]] = []
        left: list[int] = []  # the position left out of each subset
        first: list[int] = []  # each testing group's first subset
        for m in testing:
            members = groups[multi[m]]
            first.append(len(subsets))
            for k in inl[m]:
                subsets.append([members[i] for i in inl[m] if i != k])
                left.append(k)
        owner = np.repeat(np.array(testing), [len(inl[m]) for m in testing])
        rest = fit_groups(t, subsets, (fx[owner], fy[owner]))
        flat, ptr = ragged([[groups[multi[m]][i] for i in inl[m]] for m in testing])
        seg_of = np.repeat(np.arange(len(testing)), np.diff(ptr))
        z = bearing_z_many(t, flat, fx[np.array(testing)][seg_of], fy[np.array(testing)][seg_of])
        worst = np.maximum.reduceat(z, ptr[:-1])
        t_arr = np.array(testing)
        failing = (chi2[t_arr] > chi2_quantiles(FIT_Z, dof[t_arr])) | (worst > OUTLIER_Z)
        rest_chi2 = rest.chi2.tolist()
        still: list[int] = []
        for q, m in enumerate(testing):
            lo, hi = first[q], first[q] + len(inl[m])
            best = min(range(lo, hi), key=lambda s: (rest_chi2[s], s))
            if not failing[q] and chi2[m] - rest_chi2[best] <= OUTLIER_DROP:
                continue
            fx[m], fy[m] = rest.x[best], rest.y[best]
            cov[m] = (rest.cee[best], rest.cen[best], rest.cnn[best])
            chi2[m], dof[m] = rest.chi2[best], rest.dof[best]
            inl[m].remove(left[best])
            outl[m].append(left[best])
            if len(inl[m]) >= 3:
                still.append(m)
        testing = still
    # Two bearings always meet: nothing can reveal a gross error in either, so the
    # reported covariance uses the robust sigma (as for a lone bearing).
    share = gross_share([groups[g] for g in multi], outl)
    for g, members in enumerate(groups):
        if len(members) == 1:
            out[g] = (single_fix(obs[members[0]], share), [0], [])
    pairs = [m for m in range(len(multi)) if len(inl[m]) == 2]
    if pairs:
        p = np.array(pairs)
        flat, ptr = ragged([[groups[multi[m]][i] for i in inl[m]] for m in pairs])
        f11, f12, f22 = fisher(t, flat, ptr, fx[p], fy[p], robust=True, share=share)
        det = f11 * f22 - f12 * f12
        ok = det > 0.0
        safe = np.where(ok, det, 1.0)
        # The bands are all that can tell a gross pair: what they disagree by beyond
        # their own spread widens the ellipse (chi-square per degree of freedom).
        d = dof[p]
        scale = np.where(d > 0, np.maximum(chi2[p] / np.maximum(d, 1), 1.0), 1.0)
        cov[p, 0] = np.where(ok, scale * f22 / safe, np.inf)
        cov[p, 1] = np.where(ok, scale * -f12 / safe, 0.0)
        cov[p, 2] = np.where(ok, scale * f11 / safe, np.inf)
    for m, g in enumerate(multi):
        cee, cen, cnn = cov[m].tolist()
        fix = Fix(float(fx[m]), float(fy[m]), cee, cen, cnn, float(chi2[m]), int(dof[m]))
        out[g] = (fix, inl[m], sorted(outl[m]))
    return [o for o in out if o is not None]
