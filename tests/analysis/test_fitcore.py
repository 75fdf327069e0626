"""The C kernels of `_batchfit` (`_fitcore`) give the bits of the numpy code.

Every comparison is of raw bits (`tobytes`): values, signs of zero, infinities, except
the sign and payload of a NaN (a NaN is a NaN). Those are not the same even within numpy:
x86 returns the first operand's NaN of two, compilers swap the operands of + and *
freely, and numpy's SIMD loops and their scalar tails differ.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis import OUTPUT_FILES, analyse, write_analysis
from ceasewatch.analysis import _batchfit as bf
from ceasewatch.analysis._batchfit import Fits, ObsTable
from ceasewatch.analysis._ieee import atan2 as py_atan2
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import default_window, simulate

pytestmark = pytest.mark.skipif(not bf.ACCELERATED, reason="_fitcore is not built")


@contextmanager
def quiet() -> Iterator[None]:
    """Hostile values make numpy warn (the C code computes the same values silently)."""
    with np.errstate(all="ignore"):
        yield


def same(a: object, b: object) -> None:
    """The same dtypes, shapes and bits, array by array (a Fits, a tuple or one array)."""
    if isinstance(a, Fits) and isinstance(b, Fits):
        xs = [getattr(a, f) for f in Fits.__slots__]
        ys = [getattr(b, f) for f in Fits.__slots__]
    elif isinstance(a, tuple) and isinstance(b, tuple):
        xs, ys = list(a), list(b)
    else:
        xs, ys = [a], [b]
    assert len(xs) == len(ys)
    for i, (p, q) in enumerate(zip(xs, ys, strict=True)):
        u, v = np.asarray(p), np.asarray(q)
        assert u.dtype == v.dtype and u.shape == v.shape, i
        if u.dtype == np.float64:
            assert (np.isnan(u) == np.isnan(v)).all(), i
            u, v = np.where(np.isnan(u), np.nan, u), np.where(np.isnan(v), np.nan, v)
        if u.tobytes() != v.tobytes():
            bits = u.view(np.uint8).reshape(len(u), -1) != v.view(np.uint8).reshape(len(v), -1)
            bad = np.flatnonzero(bits.any(axis=1))
            pytest.fail(f"array {i} differs at {[(k, u[k], v[k]) for k in bad[:5]]}")


def table(
    rng: np.random.Generator,
    n: int,
    *,
    spread: float = 5000.0,
    sigma: np.ndarray | None = None,
    bands: bool = True,
) -> ObsTable:
    """A table of n observations built as `ObsTable.of` builds it (but any values)."""
    x = rng.uniform(-spread, spread, n)
    y = rng.uniform(-spread, spread, n)
    theta = rng.uniform(-math.pi, math.pi, n)
    s = np.array([math.sin(v) for v in theta])
    c = np.array([math.cos(v) for v in theta])
    if sigma is None:
        sigma = np.radians(rng.uniform(0.5, 8.0, n))
    band = (rng.random(n) < 0.5).astype(np.intp) if bands else np.zeros(n, dtype=np.intp)
    rm = np.where(band == 1, rng.uniform(200.0, 4000.0, n), 7500.0)
    rs = np.where(band == 1, rng.uniform(50.0, 1500.0, n), 15000.0 / math.sqrt(12.0))
    with quiet():
        w = 1.0 / (sigma * sigma)
        rob = np.sqrt(sigma * sigma + bf.gross_var(bf.GROSS_ERROR_PRIOR))
        return ObsTable(x, y, s, c, sigma, w, 1.0 / (rob * rob), rm, 1.0 / (rs * rs), band,
                        x + rm * s, y + rm * c, rs)  # fmt: skip


def aimed(
    rng: np.random.Generator, n: int, groups: int, sizes: tuple[int, int]
) -> tuple[ObsTable, np.ndarray, np.ndarray]:
    """Groups of observers whose bearings (with noise) point at a common source, as the
    association's groups do."""
    lens = rng.integers(sizes[0], sizes[1] + 1, groups)
    total = int(lens.sum())
    t = table(rng, max(n, total))
    src_x = rng.uniform(-3000.0, 3000.0, groups)
    src_y = rng.uniform(-3000.0, 3000.0, groups)
    flat = rng.permutation(len(t.x))[:total].astype(np.intp)
    ptr = np.zeros(groups + 1, dtype=np.intp)
    np.cumsum(lens, out=ptr[1:])
    g = np.repeat(np.arange(groups), lens)
    theta = np.arctan2(src_x[g] - t.x[flat], src_y[g] - t.y[flat]) + rng.normal(0, 0.03, total)
    s, c = t.s.copy(), t.c.copy()
    s[flat] = [math.sin(v) for v in theta]
    c[flat] = [math.cos(v) for v in theta]
    return (
        replace(t, s=s, c=c, px=t.x + t.rm * s, py=t.y + t.rm * c),
        flat,
        ptr,
    )


def random_groups(
    rng: np.random.Generator, rows: int, groups: int, hi: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    lens = rng.integers(1, hi + 1, groups)
    flat = rng.integers(0, rows, int(lens.sum())).astype(np.intp)
    ptr = np.zeros(groups + 1, dtype=np.intp)
    np.cumsum(lens, out=ptr[1:])
    return flat, ptr


def both_fit(t: ObsTable, flat: np.ndarray, ptr: np.ndarray, start: object = None,
             max_iter: int = 30) -> None:  # fmt: skip
    with quiet():
        ref = bf.py_fit_many(t, flat, ptr, start, max_iter)  # type: ignore[arg-type]
        got = bf.fit_many(t, flat, ptr, start, max_iter)  # type: ignore[arg-type]
    same(got, ref)


def both_fisher(t: ObsTable, flat: np.ndarray, ptr: np.ndarray, x: np.ndarray,
                y: np.ndarray) -> None:  # fmt: skip
    for kw in ({}, {"robust": True}, {"robust": True, "share": 0.2}):
        with quiet():
            ref = bf.py_fisher(t, flat, ptr, x, y, **kw)
            got = bf.fisher(t, flat, ptr, x, y, **kw)
        same(got, ref)


def both_z(t: ObsTable, ob: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    with quiet():
        same(bf.bearing_z(t, ob, x, y), bf.py_bearing_z(t, ob, x, y))


@pytest.mark.parametrize("seed", range(6))
def test_aimed_groups(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t, flat, ptr = aimed(rng, 3000, 400, (1, 15))
    both_fit(t, flat, ptr)
    f = bf.py_fit_many(t, flat, ptr)
    both_fit(t, flat, ptr, (f.x + 300.0, f.y - 200.0))
    both_fisher(t, flat, ptr, f.x, f.y)
    g = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    both_z(t, flat, f.x[g], f.y[g])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bands", [True, False])
def test_random_groups(seed: int, bands: bool) -> None:
    rng = np.random.default_rng(100 + seed)
    t = table(rng, 500, bands=bands)
    flat, ptr = random_groups(rng, 500, 300)
    both_fit(t, flat, ptr)
    n = len(ptr) - 1
    sx, sy = rng.uniform(-8000, 8000, n), rng.uniform(-8000, 8000, n)
    sx[rng.random(n) < 0.3] = np.nan
    sy[rng.random(n) < 0.1] = np.nan  # a NaN y with a known x stays NaN
    both_fit(t, flat, ptr, (sx, sy))
    both_fisher(t, flat, ptr, sx, sy)
    both_z(t, flat, rng.uniform(-8000, 8000, len(flat)), rng.uniform(-8000, 8000, len(flat)))


@pytest.mark.parametrize("max_iter", [0, 1, 2, 3])
def test_few_iterations(max_iter: int) -> None:
    rng = np.random.default_rng(7)
    t, flat, ptr = aimed(rng, 1000, 200, (1, 8))
    both_fit(t, flat, ptr, max_iter=max_iter)
    n = len(ptr) - 1
    both_fit(t, flat, ptr, (np.full(n, np.nan), np.zeros(n)), max_iter=max_iter)


def test_observers_together_and_points_on_observers() -> None:
    rng = np.random.default_rng(8)
    t = table(rng, 60)
    # Observers at one place (singular pseudo-linear start, det <= 0 fits).
    x = t.x.copy()
    y = t.y.copy()
    x[:30], y[:30] = 100.0, -50.0
    t = replace(t, x=x, y=y)
    flat, ptr = random_groups(rng, 30, 40, 6)
    both_fit(t, flat, ptr)
    n = len(ptr) - 1
    # Starts on an observer (r2 = 0: the step limit is 0), and exactly 1 m away.
    on = flat[ptr[:-1]]
    both_fit(t, flat, ptr, (t.x[on], t.y[on]))
    both_fit(t, flat, ptr, (t.x[on] + 1.0, t.y[on]))
    both_fisher(t, flat, ptr, t.x[on], t.y[on])
    both_z(t, flat, t.x[flat], t.y[flat])
    # The same bearing, repeated: parallel lines.
    s, c = np.full(60, 0.6), np.full(60, 0.8)
    t2 = replace(t, s=s, c=c)
    both_fit(t2, flat, ptr)
    both_fit(t2, flat, ptr, (np.zeros(n), np.zeros(n)))


@pytest.mark.parametrize("spread", [1e-3, 1e8, 1e150, 1e300])
def test_huge_and_tiny_coordinates(spread: float) -> None:
    rng = np.random.default_rng(9)
    t = table(rng, 200, spread=spread)
    flat, ptr = random_groups(rng, 200, 100)
    both_fit(t, flat, ptr)
    n = len(ptr) - 1
    both_fit(t, flat, ptr, (rng.uniform(-spread, spread, n), rng.uniform(-spread, spread, n)))
    both_fisher(t, flat, ptr, np.full(n, spread), np.full(n, -spread))
    both_z(t, flat, np.full(len(flat), 3 * spread), np.zeros(len(flat)))


def test_zero_inf_nan_sigmas_and_values() -> None:
    rng = np.random.default_rng(10)
    sigma = np.radians(rng.uniform(0.5, 8.0, 120))
    sigma[:10] = 0.0
    sigma[10:20] = np.inf
    sigma[20:25] = np.nan
    sigma[25:30] = -0.0
    t = table(rng, 120, sigma=sigma)
    flat, ptr = random_groups(rng, 120, 150, 5)
    both_fit(t, flat, ptr)
    n = len(ptr) - 1
    starts = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e-308, 5e-324])
    sx, sy = rng.choice(starts, n), rng.choice(starts, n)
    both_fit(t, flat, ptr, (sx, sy))
    both_fisher(t, flat, ptr, sx, sy)
    both_z(t, flat, rng.choice(starts, len(flat)), rng.choice(starts, len(flat)))
    # Hostile observer positions too.
    x = t.x.copy()
    x[30:40] = rng.choice(starts, 10)
    t2 = replace(t, x=x)
    both_fit(t2, flat, ptr)
    both_fit(t2, flat, ptr, (sx, sy))


def test_atan2_is_ieee_atan2() -> None:
    rng = np.random.default_rng(11)
    special = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, 1e308, 1e-300])
    y = np.concatenate([rng.normal(0, 1, 5000), np.repeat(special, len(special))])
    x = np.concatenate([rng.normal(0, 1, 5000), np.tile(special, len(special))])
    y[:100] = x[:100]  # |y| = |x|
    out = np.empty(len(y))
    fc: Any = importlib.import_module("ceasewatch.analysis._fitcore")
    fc.atan2(y, x, out)
    with quiet():
        same(out, py_atan2(y, x))


def test_degenerate_groups_and_bad_inputs() -> None:
    rng = np.random.default_rng(12)
    t = table(rng, 20)
    # No groups at all.
    both_fit(t, np.zeros(0, dtype=np.intp), np.zeros(1, dtype=np.intp))
    # A group of one (det <= 0 without a band: covariance 1e12).
    both_fit(t, np.array([3], dtype=np.intp), np.array([0, 1], dtype=np.intp))
    # Empty groups go to the numpy code (which the C code does not take).
    flat = np.array([1, 2, 3], dtype=np.intp)
    ptr = np.array([0, 2, 2, 3], dtype=np.intp)
    with quiet():
        same(bf.fisher(t, flat, ptr, np.zeros(3), np.zeros(3)),
             bf.py_fisher(t, flat, ptr, np.zeros(3), np.zeros(3)))  # fmt: skip
    fc: Any = importlib.import_module("ceasewatch.analysis._fitcore")

    out = [np.empty(1) for _ in range(6)]
    dof = np.empty(1, dtype=np.intp)
    cols = [t.x, t.y, t.s, t.c, t.w, t.rm, t.wr, t.band, t.px, t.py]
    good = np.array([0, 1], dtype=np.intp)
    with pytest.raises(IndexError):
        fc.fit_many(*cols, np.array([99], dtype=np.intp), good, None, None, 3, *out, dof)
    with pytest.raises(ValueError):
        fc.fit_many(*cols, np.array([1], dtype=np.intp), np.array([0, 2], dtype=np.intp),
                          None, None, 3, *out, dof)  # fmt: skip
    with pytest.raises(TypeError):
        fc.fit_many(*cols, np.array([1], dtype=np.int32), good, None, None, 3, *out, dof)
    with pytest.raises(TypeError):
        fc.fit_many(*cols, np.array([1], dtype=np.intp), good, None, None, 3,
                          *out[:5], np.empty(1, dtype=np.float32), dof)  # fmt: skip
    with pytest.raises(ValueError):
        fc.fit_many(*cols, np.array([1], dtype=np.intp), good, np.zeros(2), np.zeros(2),
                          3, *out, dof)  # fmt: skip
    with pytest.raises(TypeError):
        fc.bearing_z(t.x, t.y, t.s, t.c, t.sigma, good, np.zeros(2), np.zeros(2), b"xx")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    groups=st.integers(1, 40),
    hi=st.integers(1, 15),
    start=st.sampled_from(["none", "given", "nan"]),
    max_iter=st.integers(0, 40),
    spread=st.sampled_from([1.0, 100.0, 5000.0, 1e6]),
)
def test_property_same_bits(
    *, seed: int, groups: int, hi: int, start: str, max_iter: int, spread: float
) -> None:
    rng = np.random.default_rng(seed)
    t = table(rng, 50, spread=spread, bands=bool(seed & 1))
    flat, ptr = random_groups(rng, 50, groups, hi)
    st_xy = None
    if start != "none":
        sx = rng.uniform(-2 * spread, 2 * spread, groups)
        sy = rng.uniform(-2 * spread, 2 * spread, groups)
        if start == "nan":
            sx[rng.random(groups) < 0.5] = np.nan
        st_xy = (sx, sy)
    both_fit(t, flat, ptr, st_xy, max_iter)
    f = bf.py_fit_many(t, flat, ptr, st_xy, max_iter)
    both_fisher(t, flat, ptr, f.x, f.y)
    g = np.repeat(np.arange(groups), np.diff(ptr))
    both_z(t, flat, f.x[g], f.y[g])


@pytest.fixture
def numpy_fits(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    def use() -> None:
        monkeypatch.setattr(bf, "ACCELERATED", False)

    return use


def test_analysis_bytes_on_both_paths(
    demo_theater: Theater, tmp_path: Path, numpy_fits: Callable[[], None]
) -> None:
    start, _ = default_window(demo_theater)
    o = simulate(demo_theater, 5, start, 4).observations

    def run(out: Path) -> dict[str, bytes]:
        r = analyse(demo_theater, o.sightings, o.detections, o.craters, o.allegations)
        paths = write_analysis(r, out)
        return {name: paths[name].read_bytes() for name in OUTPUT_FILES}

    c = run(tmp_path / "c")
    numpy_fits()
    assert run(tmp_path / "numpy") == c
