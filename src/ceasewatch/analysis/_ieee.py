"""Elementwise atan2, exp and hypot built from operations IEEE 754 defines exactly.

numpy's own transcendental functions may use different SIMD code (and so round the last
bit differently) on different CPUs; two nodes must derive bit-identical results. These
use only + - * /, sqrt, comparisons, rounding to an integer (rint) and scaling by a power
of two (ldexp), each of which IEEE 754 rounds exactly, so they give the same bits
everywhere. They are accurate to an ulp or two.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EXP_NORMAL_MIN", "atan2", "exp", "exp_normal", "hypot"]

FloatArray = npt.NDArray[np.float64]

_HALF_PI = 0.5 * math.pi
# atan(t) = sum (-1)^k t^(2k+1) / (2k+1); after two half-angle steps |t| <= tan(pi/16),
# where 12 terms leave less than 1e-17.
_ATAN_SERIES = tuple((-1.0) ** k / (2 * k + 1) for k in range(12))
# ln 2 / 32 split so that k * _LN2_32_HI is exact for |k| < 2^16 (as in fdlibm's exp,
# whose ln2_hi has 21 trailing zero bits).
_LN2_32_HI = 6.93147180369123816490e-01 / 32
_LN2_32_LO = 1.90821492927058770002e-10 / 32
_INV_LN2_32 = 32 / math.log(2.0)
_TWO_J32 = np.array([math.pow(2.0, j / 32) for j in range(32)])
# exp(r) = sum r^k / k! for |r| <= ln(2) / 64: 8 terms leave less than 1e-18.
_EXP_SERIES = tuple(1.0 / math.factorial(k) for k in range(8))
# Scaling by 2**m (k = 32 m + j): p * 2**(j/32) (in [0.97, 1.98]) times 2**m is normal
# for m >= -1021 and finite for m <= 1023; there the product by the one number
# 2**(j/32) * 2**m (from `_TWO_K32`) rounds as the two steps do. Elsewhere 2**(m + 64)
# is a normal number for m in [-1086, 959] (x >= -746 gives m >= -1077), and a product by
# it, then by 2**-64, rounds once where the result is subnormal, as `ldexp` does.
_K_NORMAL, _K_MAX, _K_MAX_SPLIT = -1021 * 32, 1023 * 32 + 31, 959 * 32 + 31
_K_ALL = np.arange(_K_NORMAL, _K_MAX + 1)
_TWO_K32 = np.ldexp(_TWO_J32[_K_ALL & 31], _K_ALL >> 5)
_TWO_M64 = 2.0**-64


def atan2(yv: FloatArray, xv: FloatArray) -> FloatArray:
    """Elementwise atan2(y, x) in (-pi, pi]."""
    ay, ax = np.abs(yv), np.abs(xv)
    big = ay > ax
    num, den = np.where(big, ax, ay), np.where(big, ay, ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(den > 0.0, num / den, 0.0)
    # atan t = 2 atan(t / (1 + sqrt(1 + t²))), twice: |t| <= tan(pi / 16). (In place: the
    # same operations as t / (1.0 + np.sqrt(1.0 + t * t)), without the temporaries.)
    for _ in range(2):
        u = t * t
        u += 1.0
        np.sqrt(u, out=u)
        u += 1.0
        t /= u
    z = t * t
    p = z * _ATAN_SERIES[-1]
    p += _ATAN_SERIES[-2]
    for coef in _ATAN_SERIES[-3::-1]:
        p *= z
        p += coef
    p *= t
    p *= 4.0
    a = np.where(big, _HALF_PI - p, p)
    a = np.where(xv < 0.0, math.pi - a, a)
    out: FloatArray = np.where(yv < 0.0, -a, a)
    return out


def exp(x: FloatArray) -> FloatArray:
    """Elementwise e**x (0 below -745, inf above 709.8, NaN for NaN).

    x = (32 m + j) ln2 / 32 + r with |r| <= ln2 / 64: e**x = 2**m * 2**(j/32) * e**r, with
    2**(j/32) from a table (computed once by `math`) and e**r by 7 terms of its series.
    The scaling by 2**(j/32) and 2**m is one product by a table entry where the result is
    surely normal, else by 2**(m + 64) and 2**-64: the bits of `ldexp`, faster.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.copy()
    lo, hi = float(x.min()), float(x.max())  # NaN when any is NaN
    if not (lo >= -746.0 and hi <= 710.0):
        x = np.clip(x, -746.0, 710.0)
        lo, hi = max(lo, -746.0), min(hi, 710.0)
    k, p = _series(x)
    # k is monotonic in x: its extremes are those of x's.
    if not (math.isnan(lo) or math.isnan(hi)):
        k_lo, k_hi = round(lo * _INV_LN2_32), round(hi * _INV_LN2_32)
    else:  # NaN
        k_lo, k_hi = 0, _K_MAX + 1
    if k_lo >= _K_NORMAL and k_hi <= _K_MAX:
        return _scale_normal(p, k)
    with np.errstate(invalid="ignore"):  # NaN: any k will do (p is NaN)
        ki = k.astype(np.int64)
    p *= _TWO_J32.take(ki & 31)
    m = ki >> 5
    if k_hi <= _K_MAX_SPLIT:
        m += 1023 + 64
        m <<= 52
        p *= m.view(np.float64)
        p *= _TWO_M64
    else:  # NaN, or a result near overflow
        with np.errstate(over="ignore"):
            p = np.ldexp(p, np.where(np.isfinite(k), m, 0))
    return p


def _series(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """k = rint(x * 32 / ln 2) and e**r for r = x - k ln 2 / 32 (the series)."""
    k = x * _INV_LN2_32
    np.rint(k, out=k)
    r = x - k * _LN2_32_HI
    r -= k * _LN2_32_LO
    p = r * _EXP_SERIES[-1]
    for coef in _EXP_SERIES[-2:0:-1]:
        p += coef
        p *= r
    p += 1.0
    return k, p


def _scale_normal(p: FloatArray, k: FloatArray) -> FloatArray:
    """p * 2**(k/32) where every result is a normal number (one table product)."""
    k -= _K_NORMAL
    p *= _TWO_K32.take(k.astype(np.intp))
    return p


#: The range of x where `exp_normal` may be used: e**x is a normal number.
EXP_NORMAL_MIN = -707.0


def exp_normal(x: FloatArray) -> FloatArray:
    """`exp` for x known to lie in [EXP_NORMAL_MIN, 0] (the same bits, without `exp`'s
    range checks: for callers that bound x once for many calls)."""
    k, p = _series(x)
    return _scale_normal(p, k)


def hypot(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Elementwise sqrt(x² + y²), in the inputs' precision (for values far from overflow,
    such as distances in metres)."""
    x, y = np.asarray(x), np.asarray(y)
    out: npt.NDArray[Any] = np.sqrt(x * x + y * y)
    return out
