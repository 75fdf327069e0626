from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis._batchfit import range_prior, range_priors
from ceasewatch.analysis.events import ellipse
from ceasewatch.analysis.localise import crlb, fit, robust_fit, single_fix
from ceasewatch.analysis.observations import Obs


def ob(
    name: str,
    x: float,
    y: float,
    tx: float,
    ty: float,
    *,
    sigma_deg: float = 2.0,
    err_deg: float = 0.0,
    band: tuple[float, float] | None = None,
) -> Obs:
    theta = math.atan2(tx - x, ty - y) + math.radians(err_deg)
    lo, hi = band if band else (None, None)
    return Obs(
        name,
        0.0,
        name,
        "mon-a",
        x,
        y,
        theta,
        math.radians(sigma_deg),
        lo,
        hi,
        "explosion",
        1,
        False,
    )


def test_three_exact_bearings_fix_the_point_and_the_covariance_is_the_crlb() -> None:
    group = [
        ob("a", 0, 0, 5000, 5000),
        ob("b", 10000, 0, 5000, 5000),
        ob("c", 0, 10000, 5000, 5000),
    ]
    f = fit(group)
    # Within metres: the weak prior on distance (the kind's reach) pulls a little.
    assert math.hypot(f.x - 5000, f.y - 5000) < 5.0
    assert (f.cee, f.cen, f.cnn) == crlb(group, f.x, f.y)
    # Symmetric geometry: equal variance east and north.
    assert math.isclose(f.cee, f.cnn, rel_tol=1e-6)


def test_a_gross_bearing_is_left_out_and_named() -> None:
    group = [
        ob("a", 0, 0, 5000, 5000), ob("b", 10000, 0, 5000, 5000), ob("c", 0, 10000, 5000, 5000),
        ob("d", 10000, 10000, 5000, 5000, err_deg=40.0),
    ]  # fmt: skip
    f, inliers, outliers = robust_fit(group)
    assert outliers == [3] and inliers == [0, 1, 2]
    assert math.hypot(f.x - 5000, f.y - 5000) < 5.0


def test_a_single_sighting_gives_an_ellipse_along_its_bearing() -> None:
    f = single_fix(ob("a", 0, 0, 4000, 4000, band=(3000.0, 8000.0)))
    assert math.isclose(f.x, f.y) and math.isclose(math.hypot(f.x, f.y), 5500.0)
    major, minor, orientation = ellipse(f.cee, f.cen, f.cnn)
    assert major > 1.5 * minor
    assert math.isclose(orientation, 45.0, abs_tol=1e-6)  # the major axis lies along the bearing
    no_band = single_fix(ob("b", 0, 0, 0, 4000))
    major, minor, orientation = ellipse(no_band.cee, no_band.cen, no_band.cnn)
    assert major > 2.5 * minor and min(orientation, 180 - orientation) < 1e-6


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_covariance_is_honest_on_random_geometry(seed: int) -> None:
    """Mahalanobis distances of fixes from truth follow chi2(2): ~95% inside the ellipse."""
    rng = np.random.default_rng(seed)
    inside = 0
    n = 60
    for _ in range(n):
        tx, ty = rng.uniform(-3000, 3000, 2)
        posts = rng.uniform(-9000, 9000, (4, 2))
        group = [
            ob(str(i), px, py, tx, ty, sigma_deg=2.0, err_deg=rng.normal(0, 2.0))
            for i, (px, py) in enumerate(posts)
        ]
        f = fit(group)
        ex, ey = tx - f.x, ty - f.y
        det = f.cee * f.cnn - f.cen**2
        inside += (f.cnn * ex * ex - 2 * f.cen * ex * ey + f.cee * ey * ey) / det <= 5.991
    assert inside / n >= 0.8  # loose: 60 trials; benchmarks/accuracy.py measures it properly


def test_ellipse_axes_and_orientation() -> None:
    major, minor, az = ellipse(400.0, 0.0, 100.0)
    assert math.isclose(major, math.sqrt(5.991464547107979 * 400.0))
    assert math.isclose(minor, math.sqrt(5.991464547107979 * 100.0))
    assert az == 90.0
    _, _, az45 = ellipse(250.0, 150.0, 250.0)
    assert math.isclose(az45, 45.0)


def test_range_priors_are_range_prior_of_each() -> None:
    """The columns ObsTable.of takes at once, against the per-sighting function (bits)."""
    rng = random.Random(7)
    values = [None, 0.0, -0.0, 1.0, 250.0, 3000.0, 1e-300, 1e300, math.inf, math.nan]
    obs = []
    for k in range(3000):
        lo = rng.choice([*values, rng.uniform(0, 5000)])
        hi = rng.choice([*values, rng.uniform(0, 20000)])
        kind = rng.choice(["explosion", "shot", "burst", "flash", "unknown-kind"])
        obs.append(Obs(f"s{k}", 0.0, "o", "org", 0.0, 0.0, 0.0, 0.01, lo, hi, kind, 1, False))
    mid, sigma = range_priors(obs)
    want = np.array([range_prior(o) for o in obs], dtype=np.float64).reshape(-1, 2)
    assert mid.tobytes() == want[:, 0].tobytes()
    assert sigma.tobytes() == want[:, 1].tobytes()
