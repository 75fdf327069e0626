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

__all__ = ["atan2", "exp", "hypot"]

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


def atan2(yv: FloatArray, xv: FloatArray) -> FloatArray:
    """Elementwise atan2(y, x) in (-pi, pi]."""
    ay, ax = np.abs(yv), np.abs(xv)
    big = ay > ax
    num, den = np.where(big, ax, ay), np.where(big, ay, ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(den > 0.0, num / den, 0.0)
    # atan t = 2 atan(t / (1 + sqrt(1 + t²))), twice: |t| <= tan(pi / 16).
    t = t / (1.0 + np.sqrt(1.0 + t * t))
    t = t / (1.0 + np.sqrt(1.0 + t * t))
    z = t * t
    p = np.full_like(z, _ATAN_SERIES[-1])
    for coef in _ATAN_SERIES[-2::-1]:
        p = p * z + coef
    a = 4.0 * (t * p)
    a = np.where(big, _HALF_PI - a, a)
    a = np.where(xv < 0.0, math.pi - a, a)
    out: FloatArray = np.where(yv < 0.0, -a, a)
    return out


def exp(x: FloatArray) -> FloatArray:
    """Elementwise e**x (0 below -745, inf above 709.8, NaN for NaN).

    x = (32 m + j) ln2 / 32 + r with |r| <= ln2 / 64: e**x = 2**m * 2**(j/32) * e**r, with
    2**(j/32) from a table (computed once by `math`) and e**r by 7 terms of its series.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), -746.0, 710.0)
    k = np.rint(x * _INV_LN2_32)
    k[~np.isfinite(k)] = 0.0
    r = x - k * _LN2_32_HI
    r -= k * _LN2_32_LO
    p = r * _EXP_SERIES[-1]
    for coef in _EXP_SERIES[-2:0:-1]:
        p += coef
        p *= r
    p += 1.0
    ki = k.astype(np.int64)
    p *= _TWO_J32[ki & 31]
    with np.errstate(over="ignore"):
        out: FloatArray = np.ldexp(p, ki >> 5)
    return out


def hypot(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Elementwise sqrt(x² + y²), in the inputs' precision (for values far from overflow,
    such as distances in metres)."""
    x, y = np.asarray(x), np.asarray(y)
    out: npt.NDArray[Any] = np.sqrt(x * x + y * y)
    return out
