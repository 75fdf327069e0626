"""The IEEE-exact elementwise functions agree with `math` to an ulp or two."""

from __future__ import annotations

import math

import numpy as np

from ceasewatch.analysis._ieee import atan2, exp, hypot


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


def test_hypot_keeps_the_precision_of_its_inputs() -> None:
    assert hypot(np.array([3.0]), np.array([4.0])).tolist() == [5.0]
    three, four = np.array([3.0], dtype=np.float32), np.array([4.0], dtype=np.float32)
    assert hypot(three, four).dtype == np.float32
