"""Maximum-likelihood fixes from bearings, with distance bands as soft constraints.

Measurement model, in the theater's local plane (x east, y north, metres):
- a bearing from observer o to the point p is atan2(px - ox, py - oy) + e, e ~ N(0, sigma²);
- a distance band [lo, hi] is a pseudo-measurement of |p - o| with mean (lo + hi) / 2 and
  a sigma combining the band's width (uniform: width/sqrt 12) and the observer's own
  range-estimation error (`RANGE_REL_SIGMA` of the distance).
The fix minimises the weighted squared residuals (Gauss-Newton from the pseudo-linear
estimate); its covariance is the inverse Fisher information at the fix, which is also the
Cramér-Rao bound for this geometry. Plain Python floats: groups are a handful of
sightings, where numpy's per-call overhead would dominate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ceasewatch.analysis.observations import Obs

__all__ = ["RANGE_REL_SIGMA", "Fix", "chi2_quantile", "fit", "robust_fit", "single_fix"]

#: Relative sigma of an observer's distance estimate (about 30%: estimates by ear and eye).
RANGE_REL_SIGMA = 0.3
#: Normalised bearing residual beyond which a sighting is an outlier.
OUTLIER_Z = 3.5
_TWO_PI = 2.0 * math.pi


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


def _wrap(a: float) -> float:
    return (a + math.pi) % _TWO_PI - math.pi


def _range_prior(o: Obs) -> tuple[float, float]:
    """(mean, sigma) of the distance: the band, or uniform over the kind's reach."""
    if o.rmax_m is None:
        reach = o.max_range_m
        return 0.5 * reach, reach / math.sqrt(12.0)
    lo = o.rmin_m or 0.0
    mid = 0.5 * (lo + o.rmax_m)
    sigma = math.hypot((o.rmax_m - lo) / math.sqrt(12.0), RANGE_REL_SIGMA * mid)
    return mid, max(sigma, 1.0)


def chi2_quantile(p_z: float, dof: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile at normal quantile p_z."""
    if dof <= 0:
        return 0.0
    k = float(dof)
    return k * (1.0 - 2.0 / (9.0 * k) + p_z * math.sqrt(2.0 / (9.0 * k))) ** 3


def _start(obs: Sequence[Obs]) -> tuple[float, float]:
    """Pseudo-linear estimate: the point nearest (weighted) to all bearing lines."""
    a11 = a12 = a22 = b1 = b2 = 0.0
    for o in obs:
        c, s, w = math.cos(o.theta), math.sin(o.theta), 1.0 / (o.sigma * o.sigma)
        # The line through o with direction (s, c): c * x - s * y = c * ox - s * oy
        rhs = c * o.x_m - s * o.y_m
        a11 += w * c * c
        a12 -= w * c * s
        a22 += w * s * s
        b1 += w * c * rhs
        b2 -= w * s * rhs
    det = a11 * a22 - a12 * a12
    if len(obs) >= 2 and det > 1e-12 * (a11 + a22) ** 2:
        x, y = (a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det
        if all(math.sin(o.theta) * (x - o.x_m) + math.cos(o.theta) * (y - o.y_m) > 0 for o in obs):
            return x, y
    o = obs[0]
    r = _range_prior(o)[0]
    return o.x_m + r * math.sin(o.theta), o.y_m + r * math.cos(o.theta)


def fit(obs: Sequence[Obs], start: tuple[float, float] | None = None, max_iter: int = 30) -> Fix:
    """Weighted least-squares fix of bearings (and distance bands) by Gauss-Newton."""
    x, y = start if start is not None else _start(obs)
    ranges = [_range_prior(o) for o in obs]
    cost_prev = math.inf
    f11 = f12 = f22 = 0.0
    cost = 0.0
    for _ in range(max_iter):
        f11 = f12 = f22 = g1 = g2 = cost = 0.0
        for o, rp in zip(obs, ranges, strict=True):
            dx, dy = x - o.x_m, y - o.y_m
            d2 = max(dx * dx + dy * dy, 1.0)
            w = 1.0 / (o.sigma * o.sigma)
            r = _wrap(o.theta - math.atan2(dx, dy))
            jx, jy = dy / d2, -dx / d2
            f11 += w * jx * jx
            f12 += w * jx * jy
            f22 += w * jy * jy
            g1 += w * jx * r
            g2 += w * jy * r
            cost += w * r * r
            # The distance prior: the band, or the kind's reach.
            d = math.sqrt(d2)
            wr = 1.0 / (rp[1] * rp[1])
            rr = rp[0] - d
            kx, ky = dx / d, dy / d
            f11 += wr * kx * kx
            f12 += wr * kx * ky
            f22 += wr * ky * ky
            g1 += wr * kx * rr
            g2 += wr * ky * rr
            cost += wr * rr * rr
        det = f11 * f22 - f12 * f12
        if det <= 0.0:
            break
        sx, sy = (f22 * g1 - f12 * g2) / det, (f11 * g2 - f12 * g1) / det
        step = math.hypot(sx, sy)
        limit = 0.5 * min(math.hypot(x - o.x_m, y - o.y_m) for o in obs)
        if step > limit > 0:  # never jump past an observer: bearings wrap there
            sx, sy = sx * limit / step, sy * limit / step
        x, y = x + sx, y + sy
        if step < 0.05 or abs(cost_prev - cost) < 1e-9:
            break
        cost_prev = cost
    det = f11 * f22 - f12 * f12
    if det <= 0.0:
        big = 1e12
        return Fix(x, y, big, 0.0, big, cost, 0)
    dof = len(obs) + sum(o.rmax_m is not None for o in obs) - 2
    return Fix(x, y, f22 / det, -f12 / det, f11 / det, cost, dof)


def single_fix(o: Obs) -> Fix:
    """One sighting: along its bearing, at its band's middle (or half its kind's reach)."""
    r, sr = _range_prior(o)
    s, c = math.sin(o.theta), math.cos(o.theta)
    st = o.sigma * r  # across the bearing
    # Covariance = R diag(sr², st²) Rᵀ with the along axis (s, c) and across axis (c, -s)
    cee = sr * sr * s * s + st * st * c * c
    cnn = sr * sr * c * c + st * st * s * s
    cen = (sr * sr - st * st) * s * c
    return Fix(o.x_m + r * s, o.y_m + r * c, cee, cen, cnn, 0.0, 0)


def bearing_z(o: Obs, x: float, y: float) -> float:
    """Normalised residual of a bearing against a point (|wrapped error| / sigma)."""
    return abs(_wrap(o.theta - math.atan2(x - o.x_m, y - o.y_m))) / o.sigma


def robust_fit(obs: Sequence[Obs]) -> tuple[Fix, list[int], list[int]]:
    """Fix the group, leaving out bearings that cannot agree with the others.

    Returns:
        (fix, indices of the inliers, indices of the outliers). With three or more
        sightings, the worst-fitting one is dropped while the fit fails a chi-square test
        (99.9%) or a bearing misses by more than `OUTLIER_Z` sigma, keeping at least two.
    """
    idx = list(range(len(obs)))
    if len(obs) == 1:
        return single_fix(obs[0]), idx, []
    out: list[int] = []
    current = fit([obs[i] for i in idx])
    while len(idx) >= 3:
        worst_z = max(bearing_z(obs[i], current.x, current.y) for i in idx)
        if current.chi2 <= chi2_quantile(3.09, current.dof) and worst_z <= OUTLIER_Z:
            break
        best: tuple[float, int, Fix] | None = None
        for k in idx:  # leave each out in turn; keep the subset that fits best
            rest = [obs[i] for i in idx if i != k]
            f = fit(rest)
            score = f.chi2 - chi2_quantile(0.0, f.dof)
            if best is None or score < best[0]:
                best = (score, k, f)
        assert best is not None
        _, k, current = best
        idx.remove(k)
        out.append(k)
    return current, idx, sorted(out)
