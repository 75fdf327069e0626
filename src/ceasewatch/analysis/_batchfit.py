"""Gauss-Newton fixes of many groups of bearings at once: the vectorised core of `localise`.

Association and event building fit thousands of small groups (two to a dozen sightings
each). One numpy pass per Gauss-Newton iteration serves all of them: the members of every
group are flattened into rows, per-group sums are `np.bincount` over the rows (a plain
sequential sum per group), and a group leaves the batch when it has converged.

Determinism: numpy runs only + - * /, sqrt and comparisons here, which IEEE 754 makes
exact on every CPU. Sines and cosines of the bearings come from `math`, once per
observation (`ObsTable.of`); the angle of a bearing residual comes from `_ieee.atan2`,
written with those same operations (accurate to about 1e-16 rad).

Where the C extension `_fitcore` is built (`ACCELERATED`), `fit_many`, `fisher` and
`bearing_z` run it: a loop over the groups, each iterated to its own convergence, with
every operation of the numpy code in the same order, so the same bits. The numpy code
(`py_fit_many`, `py_fisher`, `py_bearing_z`) stays the reference and the fallback.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis._ieee import atan2
from ceasewatch.analysis.observations import Obs

try:
    from ceasewatch.analysis import _fitcore
except ImportError:  # not built: the numpy code below gives the same bits
    _fitcore = None  # type: ignore[assignment]

#: Whether the C kernels (`ceasewatch.analysis._fitcore`) run.
ACCELERATED = _fitcore is not None

__all__ = [
    "ACCELERATED",
    "GROSS_ERROR_PRIOR",
    "GROSS_ERROR_RMS_DEG",
    "RANGE_REL_SIGMA",
    "Fits",
    "ObsTable",
    "bearing_z",
    "fisher",
    "fit_many",
    "gross_var",
    "py_bearing_z",
    "py_fisher",
    "py_fit_many",
    "ragged",
    "range_prior",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Relative sigma of an observer's distance estimate (about 30%: estimates by ear and eye).
RANGE_REL_SIGMA = 0.3
#: Share of reported bearings that are gross errors, and their RMS size (degrees).
GROSS_ERROR_PRIOR = 0.04
GROSS_ERROR_RMS_DEG = 60.0


def range_prior(o: Obs) -> tuple[float, float]:
    """(mean, sigma) of the distance: the band, or uniform over the kind's reach."""
    if o.rmax_m is None:
        reach = o.max_range_m
        return 0.5 * reach, reach / math.sqrt(12.0)
    lo = o.rmin_m or 0.0
    mid = 0.5 * (lo + o.rmax_m)
    sigma = math.hypot((o.rmax_m - lo) / math.sqrt(12.0), RANGE_REL_SIGMA * mid)
    return mid, max(sigma, 1.0)


def range_priors(obs: Sequence[Obs]) -> tuple[FloatArray, FloatArray]:
    """`range_prior` of each observation, as two arrays (the same bits: the same
    operations, and `math.hypot` per element)."""
    rmin = [o.rmin_m for o in obs]
    rmax = [o.rmax_m for o in obs]
    has = np.array([r is not None for r in rmax], dtype=bool)
    # No band: the kind's reach.
    reach = np.array([o.max_range_m for o in obs], dtype=np.float64)
    mid = 0.5 * reach
    sigma = reach / math.sqrt(12.0)
    rows = np.flatnonzero(has)
    if len(rows):
        hi = np.array([rmax[i] for i in rows.tolist()], dtype=np.float64)
        # `o.rmin_m or 0.0`: None and zeros (of either sign) become 0.0.
        lo = np.array([rmin[i] or 0.0 for i in rows.tolist()], dtype=np.float64)
        with np.errstate(all="ignore"):  # inf - inf is NaN, as in Python, without a word
            mid[rows] = m = 0.5 * (lo + hi)
            a, b = (hi - lo) / math.sqrt(12.0), RANGE_REL_SIGMA * m
        hyp = np.array(list(map(math.hypot, a.tolist(), b.tolist())), dtype=np.float64)
        sigma[rows] = np.maximum(hyp, 1.0)  # NaN stays NaN, as max(NaN, 1.0) does
    return mid, sigma


_GROSS_VAR = GROSS_ERROR_PRIOR * math.radians(GROSS_ERROR_RMS_DEG) ** 2


def gross_var(share: float) -> float:
    """Variance (rad²) a share of gross bearing errors adds to every bearing."""
    return share * math.radians(GROSS_ERROR_RMS_DEG) ** 2


def robust_sigma(o: Obs, share: float = GROSS_ERROR_PRIOR) -> float:
    """The sighting's sigma widened by the gross-error model (radians), for a share
    `share` of gross errors."""
    return math.sqrt(o.sigma * o.sigma + gross_var(share))


@dataclass(frozen=True, slots=True)
class ObsTable:
    """Per-observation constants, computed once with `math` (one row per `Obs`)."""

    x: FloatArray
    y: FloatArray
    s: FloatArray  # sin(theta): the bearing's east component
    c: FloatArray  # cos(theta): its north component
    sigma: FloatArray
    w: FloatArray  # 1 / sigma²
    w_robust: FloatArray  # 1 / robust sigma²
    rm: FloatArray  # distance prior: mean
    wr: FloatArray  # distance prior: 1 / sigma²
    band: IntArray  # 1 when a distance band was given (it adds a degree of freedom)
    px: FloatArray  # the point along the bearing at the prior's mean distance
    py: FloatArray
    rs: FloatArray  # distance prior: sigma

    @classmethod
    def of(cls, obs: Sequence[Obs]) -> ObsTable:
        """The table of these observations (sines and cosines by `math`, one each)."""
        theta = [o.theta for o in obs]
        s = np.array(list(map(math.sin, theta)), dtype=np.float64)
        c = np.array(list(map(math.cos, theta)), dtype=np.float64)
        x = np.array([o.x_m for o in obs], dtype=np.float64)
        y = np.array([o.y_m for o in obs], dtype=np.float64)
        sigma = np.array([o.sigma for o in obs], dtype=np.float64)
        rm, rs = range_priors(obs)
        band = np.array([o.rmax_m is not None for o in obs], dtype=np.intp)
        w = 1.0 / (sigma * sigma)
        rob = np.sqrt(sigma * sigma + _GROSS_VAR)
        return cls(x, y, s, c, sigma, w, 1.0 / (rob * rob), rm, 1.0 / (rs * rs), band,
                   x + rm * s, y + rm * c, rs)  # fmt: skip


def ragged(groups: Sequence[Sequence[int]]) -> tuple[IntArray, IntArray]:
    """Groups of indices as (flat members, offsets): group g is flat[ptr[g]:ptr[g + 1]]."""
    sizes = np.fromiter(map(len, groups), dtype=np.intp, count=len(groups))
    ptr = np.zeros(len(groups) + 1, dtype=np.intp)
    np.cumsum(sizes, out=ptr[1:])
    flat = np.fromiter(itertools.chain.from_iterable(groups), dtype=np.intp, count=int(ptr[-1]))
    return flat, ptr


@dataclass(frozen=True, slots=True)
class Fits:
    """Fixes of a batch of groups: position, covariance (m²), chi-square, degrees of freedom."""

    x: FloatArray
    y: FloatArray
    cee: FloatArray
    cen: FloatArray
    cnn: FloatArray
    chi2: FloatArray
    dof: IntArray


class _Rows:
    """The members of the groups still being fitted, flattened (rows sorted by group)."""

    def __init__(self, t: ObsTable, flat: IntArray, ptr: IntArray, groups: IntArray) -> None:
        lens = ptr[groups + 1] - ptr[groups]
        self.n = len(groups)
        self.lg = np.repeat(np.arange(self.n), lens)  # local group of each row
        self.seg = np.cumsum(lens) - lens  # first row of each group
        ob = flat[np.arange(int(lens.sum())) - self.seg[self.lg] + ptr[groups][self.lg]]
        self.ob = ob
        self.ox, self.oy, self.s, self.c = t.x[ob], t.y[ob], t.s[ob], t.c[ob]
        self.rm, self.wr = t.rm[ob], t.wr[ob]
        self.w = t.w[ob]

    def sums(self, v: FloatArray) -> FloatArray:
        """Per-group sums (bincount adds each group's rows in order: the same on any CPU)."""
        out: FloatArray = np.bincount(self.lg, weights=v, minlength=self.n).astype(
            np.float64, copy=False
        )
        return out


def _normal(
    r: _Rows, x: FloatArray, y: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per group at (x, y): Fisher information (f11, f12, f22), gradient (g1, g2), cost,
    and the squared distance to the nearest member."""
    dx, dy = x[r.lg] - r.ox, y[r.lg] - r.oy
    r2 = dx * dx + dy * dy
    d2 = np.maximum(r2, 1.0)
    d = np.sqrt(d2)
    res = atan2(r.s * dy - r.c * dx, r.s * dx + r.c * dy)  # bearing minus its direction
    jx, jy = dy / d2, -dx / d2  # d bearing / d position
    rr = r.rm - d
    kx, ky = dx / d, dy / d
    wjx, wjy, wkx, wky = w * jx, w * jy, r.wr * kx, r.wr * ky
    f11 = r.sums(wjx * jx + wkx * kx)
    f12 = r.sums(wjx * jy + wkx * ky)
    f22 = r.sums(wjy * jy + wky * ky)
    g1 = r.sums(wjx * res + wkx * rr)
    g2 = r.sums(wjy * res + wky * rr)
    cost = r.sums(w * res * res + r.wr * rr * rr)
    nearest = np.minimum.reduceat(r2, r.seg) if len(r2) else np.zeros(0)
    return f11, f12, f22, g1, g2, cost, nearest


def py_fisher(
    t: ObsTable,
    flat: IntArray,
    ptr: IntArray,
    x: FloatArray,
    y: FloatArray,
    *,
    robust: bool = False,
    share: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """`fisher` in numpy: the reference of the C kernel, and its fallback."""
    r = _Rows(t, flat, ptr, np.arange(len(ptr) - 1))
    if not robust:
        w = r.w
    elif share is None:
        w = t.w_robust[r.ob]
    else:
        sig = t.sigma[r.ob]
        w = 1.0 / (sig * sig + gross_var(share))
    f11, f12, f22, *_ = _normal(r, x, y, w)
    return f11, f12, f22


def _start(t: ObsTable, flat: IntArray, ptr: IntArray) -> tuple[FloatArray, FloatArray]:
    """Pseudo-linear estimates: the point nearest (weighted) to all of a group's bearing
    lines, when it lies in front of every observer; else along the first bearing."""
    r = _Rows(t, flat, ptr, np.arange(len(ptr) - 1))
    wc, ws = r.w * r.c, r.w * r.s
    rhs = r.c * r.ox - r.s * r.oy  # the line c * x - s * y = rhs through each observer
    a11, a12, a22 = r.sums(wc * r.c), -r.sums(wc * r.s), r.sums(ws * r.s)
    b1, b2 = r.sums(wc * rhs), -r.sums(ws * rhs)
    det = a11 * a22 - a12 * a12
    tr = a11 + a22
    ok = (np.diff(ptr) >= 2) & (det > 1e-12 * (tr * tr))
    safe = np.where(ok, det, 1.0)
    x, y = (a22 * b1 - a12 * b2) / safe, (a11 * b2 - a12 * b1) / safe
    behind = r.s * (x[r.lg] - r.ox) + r.c * (y[r.lg] - r.oy) <= 0.0
    ok &= r.sums(behind.astype(np.float64)) == 0.0
    first = flat[ptr[:-1]]
    return np.where(ok, x, t.px[first]), np.where(ok, y, t.py[first])


def py_fit_many(
    t: ObsTable,
    flat: IntArray,
    ptr: IntArray,
    start: tuple[FloatArray, FloatArray] | None = None,
    max_iter: int = 30,
) -> Fits:
    """`fit_many` in numpy: the reference of the C kernel, and its fallback."""
    n = len(ptr) - 1
    if start is None:
        x, y = _start(t, flat, ptr)
    else:
        x, y = np.array(start[0], dtype=np.float64), np.array(start[1], dtype=np.float64)
        unknown = np.isnan(x)
        if unknown.any():
            x0, y0 = _start(t, flat, ptr)
            x, y = np.where(unknown, x0, x), np.where(unknown, y0, y)
    cost_prev = np.full(n, np.inf)
    # The groups in the batch (`pool`) and which of them still iterate (`live`): the
    # batch shrinks to the live groups when they are fewer than half of it.
    pool = np.arange(n)
    live = np.ones(n, dtype=bool)
    rows = _Rows(t, flat, ptr, pool)
    for _ in range(max_iter):
        if not live.any():
            break
        if 2 * int(live.sum()) < len(pool):
            pool, live = pool[live], live[live]
            rows = _Rows(t, flat, ptr, pool)
        xp, yp = x[pool], y[pool]
        f11, f12, f22, g1, g2, cost, nearest = _normal(rows, xp, yp, rows.w)
        det = f11 * f22 - f12 * f12
        ok = det > 0.0
        safe = np.where(ok, det, 1.0)
        sx, sy = (f22 * g1 - f12 * g2) / safe, (f11 * g2 - f12 * g1) / safe
        step = np.sqrt(sx * sx + sy * sy)
        limit = 0.5 * np.sqrt(nearest)
        cut = (step > limit) & (limit > 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            sx = np.where(cut, sx * limit / step, sx)
            sy = np.where(cut, sy * limit / step, sy)
        move = live & ok
        x[pool] = np.where(move, xp + sx, xp)
        y[pool] = np.where(move, yp + sy, yp)
        done = ~ok | (step < 0.05) | (np.abs(cost_prev[pool] - cost) < 1e-9)
        cost_prev[pool] = np.where(live, cost, cost_prev[pool])
        live &= ~done
    rows = _Rows(t, flat, ptr, np.arange(n))
    f11, f12, f22, _, _, cost, _ = _normal(rows, x, y, rows.w)
    det = f11 * f22 - f12 * f12
    ok = det > 0.0
    safe = np.where(ok, det, 1.0)
    dof = np.diff(ptr) + np.bincount(
        np.repeat(np.arange(n), np.diff(ptr)), weights=t.band[flat], minlength=n
    ).astype(np.intp)
    return Fits(
        x,
        y,
        np.where(ok, f22 / safe, 1e12),
        np.where(ok, -f12 / safe, 0.0),
        np.where(ok, f11 / safe, 1e12),
        cost,
        dof - 2,
    )


def py_bearing_z(t: ObsTable, ob: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Normalised residuals |wrapped error| / sigma of observations `ob` against points."""
    dx, dy = x - t.x[ob], y - t.y[ob]
    s, c = t.s[ob], t.c[ob]
    return np.abs(atan2(s * dy - c * dx, s * dx + c * dy)) / t.sigma[ob]


# The C kernels, with the numpy code where they cannot take the inputs (empty groups).


def _index(a: IntArray) -> IntArray:
    out: IntArray = np.ascontiguousarray(a, dtype=np.intp)
    return out


def _floats(a: FloatArray) -> FloatArray:
    out: FloatArray = np.ascontiguousarray(a, dtype=np.float64)
    return out


def _groups_ok(ptr: IntArray) -> bool:
    """Whether the C kernels take these groups: every one non-empty."""
    return len(ptr) >= 1 and (len(ptr) == 1 or bool((ptr[1:] > ptr[:-1]).all()))


def fit_many(
    t: ObsTable,
    flat: IntArray,
    ptr: IntArray,
    start: tuple[FloatArray, FloatArray] | None = None,
    max_iter: int = 30,
) -> Fits:
    """Weighted least-squares fix of each group's bearings (and distance priors).

    Gauss-Newton from `start` (default, and where it holds NaN: the pseudo-linear
    estimate); a step never goes more than half-way to the nearest observer (bearings
    wrap there); a group stops when its step is under 5 cm or its cost stops changing.
    The covariance is the inverse Fisher information at the fix (1e12 m² when it is
    singular). (`py_fit_many` in C, same bits.)
    """
    ptr = _index(ptr)
    if not ACCELERATED or not _groups_ok(ptr):
        return py_fit_many(t, flat, ptr, start, max_iter)
    n = len(ptr) - 1
    sx = sy = None
    if start is not None:
        sx, sy = _floats(start[0]), _floats(start[1])
    x, y, cee, cen, cnn, chi2 = (np.empty(n) for _ in range(6))
    dof = np.empty(n, dtype=np.intp)
    f = _floats
    _fitcore.fit_many(f(t.x), f(t.y), f(t.s), f(t.c), f(t.w), f(t.rm), f(t.wr), _index(t.band),
                      f(t.px), f(t.py), _index(flat), ptr, sx, sy, max_iter,
                      x, y, cee, cen, cnn, chi2, dof)  # fmt: skip
    return Fits(x, y, cee, cen, cnn, chi2, dof)


def fisher(
    t: ObsTable,
    flat: IntArray,
    ptr: IntArray,
    x: FloatArray,
    y: FloatArray,
    *,
    robust: bool = False,
    share: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(f11, f12, f22): the Fisher information of each group at (x, y); `robust` uses the
    gross-error sigmas (for a share `share` of gross errors; default the prior's).
    (`py_fisher` in C, same bits.)"""
    ptr = _index(ptr)
    if not ACCELERATED or not _groups_ok(ptr):
        return py_fisher(t, flat, ptr, x, y, robust=robust, share=share)
    n = len(ptr) - 1
    if not robust:
        wcol, gv = t.w, None
    elif share is None:
        wcol, gv = t.w_robust, None
    else:
        wcol, gv = t.sigma, gross_var(share)
    f11, f12, f22 = np.empty(n), np.empty(n), np.empty(n)
    f = _floats
    _fitcore.fisher(f(t.x), f(t.y), f(t.wr), f(wcol), gv, _index(flat), ptr, f(x), f(y),
                    f11, f12, f22)  # fmt: skip
    return f11, f12, f22


def bearing_z(t: ObsTable, ob: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Normalised residuals |wrapped error| / sigma of observations `ob` against points.
    (`py_bearing_z` in C, same bits.)"""
    ob = _index(ob)
    if not ACCELERATED or ob.ndim != 1 or np.shape(x) != ob.shape or np.shape(y) != ob.shape:
        return py_bearing_z(t, ob, x, y)
    out = np.empty(len(ob))
    f = _floats
    _fitcore.bearing_z(f(t.x), f(t.y), f(t.s), f(t.c), f(t.sigma), ob, f(x), f(y), out)
    return out
