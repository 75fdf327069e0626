"""The IEEE-exact elementwise functions agree with `math` to an ulp or two."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis import _ieee
from ceasewatch.analysis._ieee import atan2, exp, exp_normal, hypot


def test_atan2_matches_math_in_every_quadrant() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(size=20000) * 10.0 ** rng.uniform(-6, 6, 20000)
    x = rng.normal(size=20000) * 10.0 ** rng.uniform(-6, 6, 20000)
    want = np.array([math.atan2(a, b) for a, b in zip(y, x, strict=True)])
    assert np.abs(atan2(y, x) - want).max() < 1e-15
    edges = atan2(np.array([0.0, 0.0, 1.0, -1.0, 0.0]), np.array([1.0, -1.0, 0.0, 0.0, 0.0]))
    assert edges.tolist() == [0.0, math.pi, math.pi / 2, -math.pi / 2, 0.0]


def test_exp_matches_math_and_saturates() -> None:
    x = np.random.default_rng(8).uniform(-700, 700, 20000)
    want = np.array([math.exp(v) for v in x])
    assert np.abs(exp(x) / want - 1.0).max() < 1e-15
    out = exp(np.array([-1000.0, 0.0, 1.0, 1000.0, -np.inf, np.nan]))
    assert out[:3].tolist() == [0.0, 1.0, math.e] and out[3] == np.inf and out[4] == 0.0
    assert np.isnan(out[5])


def _exp_by_ldexp(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`exp` as first written: the same series, scaled by `np.ldexp` (the reference bits)."""
    x = np.clip(np.asarray(x, dtype=np.float64), -746.0, 710.0)
    k = np.rint(x * _ieee._INV_LN2_32)
    k[~np.isfinite(k)] = 0.0
    r = x - k * _ieee._LN2_32_HI
    r -= k * _ieee._LN2_32_LO
    p = r * _ieee._EXP_SERIES[-1]
    for coef in _ieee._EXP_SERIES[-2:0:-1]:
        p += coef
        p *= r
    p += 1.0
    ki = k.astype(np.int64)
    p *= _ieee._TWO_J32[ki & 31]
    with np.errstate(over="ignore"):
        out: npt.NDArray[np.float64] = np.ldexp(p, ki >> 5)
    return out


def test_exp_has_the_bits_of_the_ldexp_scaling() -> None:
    """The table and split scalings give ldexp's bits, subnormal and overflow included."""
    rng = np.random.default_rng(9)
    edges = [-746.0, -745.2, -745.1332191019412, -744.44007192138122, -708.4, -708.3964185322641,
             709.78, 709.782712893384, 709.79, -np.inf, np.inf, -0.0, 5e-324]  # fmt: skip
    cases: list[npt.NDArray[np.float64]] = [
        rng.uniform(-800, 800, 200000),
        rng.uniform(-760, -700, 200000),
        rng.uniform(-60, 0, 200000),
        rng.uniform(650, 711, 200000),
        -745.1332191019412 + np.arange(-3000.0, 3000.0) * 1e-13,
        np.array(edges),
        np.array([1.0, np.nan, -745.5]),
    ]
    for x in cases:
        got, want = exp(x), _exp_by_ldexp(x)
        same = (got.view(np.int64) == want.view(np.int64)) | (np.isnan(got) & np.isnan(want))
        assert same.all()
    assert exp(np.zeros(0)).shape == (0,)
    inside = rng.uniform(_ieee.EXP_NORMAL_MIN, 0.0, 200000)
    assert exp_normal(inside).tobytes() == _exp_by_ldexp(inside).tobytes()


def _atan2_as_written(
    yv: npt.NDArray[np.float64], xv: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """`atan2` as first written (new arrays at every step): the reference bits."""
    ay, ax = np.abs(yv), np.abs(xv)
    big = ay > ax
    num, den = np.where(big, ax, ay), np.where(big, ay, ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(den > 0.0, num / den, 0.0)
    t = t / (1.0 + np.sqrt(1.0 + t * t))
    t = t / (1.0 + np.sqrt(1.0 + t * t))
    z = t * t
    p = np.full_like(z, _ieee._ATAN_SERIES[-1])
    for coef in _ieee._ATAN_SERIES[-2::-1]:
        p = p * z + coef
    a = 4.0 * (t * p)
    a = np.where(big, 0.5 * math.pi - a, a)
    a = np.where(xv < 0.0, math.pi - a, a)
    out: npt.NDArray[np.float64] = np.where(yv < 0.0, -a, a)
    return out


def test_atan2_has_the_bits_of_its_first_form() -> None:
    rng = np.random.default_rng(10)
    y = rng.normal(size=200000) * 10.0 ** rng.uniform(-8, 8, 200000)
    x = rng.normal(size=200000) * 10.0 ** rng.uniform(-8, 8, 200000)
    special = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-320, -5e-324, 2.5])
    sy, sx = (v.ravel() for v in np.meshgrid(special, special))
    for yv, xv in ((y, x), (sy, sx)):
        got, want = atan2(yv, xv), _atan2_as_written(yv, xv)
        same = (got.view(np.int64) == want.view(np.int64)) | (np.isnan(got) & np.isnan(want))
        assert same.all()


def test_hypot_keeps_the_precision_of_its_inputs() -> None:
    assert hypot(np.array([3.0]), np.array([4.0])).tolist() == [5.0]
    three, four = np.array([3.0], dtype=np.float32), np.array([4.0], dtype=np.float32)
    assert hypot(three, four).dtype == np.float32
