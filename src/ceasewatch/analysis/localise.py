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

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ceasewatch.analysis.observations import Obs

__all__ = [
    "RANGE_REL_SIGMA",
    "Fix",
    "bearing_z",
    "chi2_quantile",
    "crlb",
    "fit",
    "robust_fit",
    "single_fix",
]

#: Relative sigma of an observer's distance estimate (about 30%: estimates by ear and eye).
RANGE_REL_SIGMA = 0.3
#: Share of reported bearings that are gross errors, and their RMS size (degrees).
GROSS_ERROR_PRIOR = 0.04
GROSS_ERROR_RMS_DEG = 60.0
#: Chi-square drop (1 dof, 99.9%) that marks the left-out sighting as an outlier.
OUTLIER_DROP = 10.83
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


def _normal_equations(
    obs: Sequence[Obs], priors: Sequence[tuple[float, float]], x: float, y: float
) -> tuple[float, float, float, float, float, float]:
    """Fisher information (f11, f12, f22), gradient (g1, g2) and cost at (x, y)."""
    f11 = f12 = f22 = g1 = g2 = cost = 0.0
    for o, (r_mean, r_sigma) in zip(obs, priors, strict=True):
        dx, dy = x - o.x_m, y - o.y_m
        d2 = max(dx * dx + dy * dy, 1.0)
        d = math.sqrt(d2)
        # The bearing: residual and its gradient (d bearing / d position).
        w = 1.0 / (o.sigma * o.sigma)
        r = _wrap(o.theta - math.atan2(dx, dy))
        jx, jy = dy / d2, -dx / d2
        # The distance prior: the band, or the kind's reach.
        wr = 1.0 / (r_sigma * r_sigma)
        rr = r_mean - d
        kx, ky = dx / d, dy / d
        f11 += w * jx * jx + wr * kx * kx
        f12 += w * jx * jy + wr * kx * ky
        f22 += w * jy * jy + wr * ky * ky
        g1 += w * jx * r + wr * kx * rr
        g2 += w * jy * r + wr * ky * rr
        cost += w * r * r + wr * rr * rr
    return f11, f12, f22, g1, g2, cost


def crlb(obs: Sequence[Obs], x: float, y: float) -> tuple[float, float, float]:
    """The Cramér-Rao bound (cee, cen, cnn) for these observers and a target at (x, y)."""
    f11, f12, f22, *_ = _normal_equations(obs, [_range_prior(o) for o in obs], x, y)
    det = f11 * f22 - f12 * f12
    return (f22 / det, -f12 / det, f11 / det) if det > 0 else (math.inf, 0.0, math.inf)


def fit(obs: Sequence[Obs], start: tuple[float, float] | None = None, max_iter: int = 30) -> Fix:
    """Weighted least-squares fix of bearings (and distance priors) by Gauss-Newton."""
    x, y = start if start is not None else _start(obs)
    priors = [_range_prior(o) for o in obs]
    cost_prev = math.inf
    for _ in range(max_iter):
        f11, f12, f22, g1, g2, cost = _normal_equations(obs, priors, x, y)
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
    f11, f12, f22, _, _, cost = _normal_equations(obs, priors, x, y)
    det = f11 * f22 - f12 * f12
    dof = len(obs) + sum(o.rmax_m is not None for o in obs) - 2
    if det <= 0.0:
        return Fix(x, y, 1e12, 0.0, 1e12, cost, dof)
    return Fix(x, y, f22 / det, -f12 / det, f11 / det, cost, dof)


def single_fix(o: Obs) -> Fix:
    """One sighting: along its bearing, at its band's middle (or half its kind's reach).

    Nothing corroborates a lone bearing, so nothing can reveal a gross error in it: its
    sigma across the bearing is widened to the variance of the robust error model (a
    share `GROSS_ERROR_PRIOR` of bearings off by about `GROSS_ERROR_RMS_DEG`).
    """
    r, sr = _range_prior(o)
    s, c = math.sin(o.theta), math.cos(o.theta)
    st = _robust(o).sigma * r  # across the bearing
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
        sightings, each is left out in turn; the one whose removal lowers the chi-square
        most is dropped when that drop is significant (`OUTLIER_DROP`, a likelihood-ratio
        test at 99.9%), or when the fit fails its chi-square test (99.9%) or misses a
        bearing by more than `OUTLIER_Z` sigma; this repeats while three or more remain.
    """
    idx = list(range(len(obs)))
    if len(obs) == 1:
        return single_fix(obs[0]), idx, []
    out: list[int] = []
    current = fit([obs[i] for i in idx])
    while len(idx) >= 3:
        best: tuple[float, int, Fix] | None = None
        for k in idx:  # leave each out in turn; keep the subset that fits best
            f = fit([obs[i] for i in idx if i != k], (current.x, current.y))
            if best is None or f.chi2 < best[0]:
                best = (f.chi2, k, f)
        assert best is not None
        chi2_rest, k, rest = best
        worst_z = max(bearing_z(obs[i], current.x, current.y) for i in idx)
        failing = current.chi2 > chi2_quantile(3.09, current.dof) or worst_z > OUTLIER_Z
        if not failing and current.chi2 - chi2_rest <= OUTLIER_DROP:
            break
        current = rest
        idx.remove(k)
        out.append(k)
    if len(idx) == 2:
        # Two bearings always meet: nothing can reveal a gross error in either, so the
        # reported covariance uses the robust sigma (as for a lone bearing).
        cee, cen, cnn = crlb([_robust(obs[i]) for i in idx], current.x, current.y)
        current = Fix(current.x, current.y, cee, cen, cnn, current.chi2, current.dof)
    return current, idx, sorted(out)


def _robust(o: Obs) -> Obs:
    """The sighting with its sigma widened by the gross-error model."""
    sigma = math.sqrt(o.sigma**2 + GROSS_ERROR_PRIOR * math.radians(GROSS_ERROR_RMS_DEG) ** 2)
    return dataclasses.replace(o, sigma=sigma)
