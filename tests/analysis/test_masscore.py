"""The C kernel of the Gaussian masses (`ceasewatch.analysis._masscore`) gives the bits of
the numpy code of `_AreaIndex.masses` (`_terms`, `_owens_t`, `_q`, `_ieee.exp`), on random
and hostile inputs; and p_side is the same on both paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from ceasewatch.analysis import _area_index, _ieee
from ceasewatch.analysis._area_index import _AreaIndex
from ceasewatch.analysis.attribution import SideGeometry
from ceasewatch.geo.geodesy import FloatArray
from tests.analysis.test_attribution import (
    FRAME,
    X0,
    Y0,
    bend_line,
    two_sides,
    wiggly_line,
)

pytestmark = pytest.mark.skipif(not _area_index.ACCELERATED, reason="_masscore is not built")

if _area_index.ACCELERATED:
    from ceasewatch.analysis import _masscore

Chol = tuple[FloatArray, FloatArray, FloatArray]
Pairs = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


def bits(a: npt.NDArray[np.float64]) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


@pytest.fixture
def numpy_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_area_index, "ACCELERATED", False)
    yield


def both(
    index: _AreaIndex, qx: FloatArray, qy: FloatArray, chol: Chol, pairs: Pairs
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """`masses` by C and by numpy; asserts the same bits and returns them."""
    assert _area_index.ACCELERATED
    mc, dc = index.masses(qx, qy, chol, pairs)
    _area_index.ACCELERATED = False
    try:
        mn, dn = index.masses(qx, qy, chol, pairs)
    finally:
        _area_index.ACCELERATED = True
    assert bits(mc) == bits(mn)
    assert np.array_equal(dc, dn)
    return mc, dc


def areas() -> list[BaseGeometry]:
    """Two neighbours, an enclave with a hole, and a sliver."""
    west = Polygon([(-50, -40), (0, -40), (3, 0), (0, 40), (-50, 40)])
    east = Polygon([(0, -40), (50, -40), (50, 40), (0, 40), (3, 0)])
    ring = Polygon(
        [(10, 10), (30, 10), (30, 30), (10, 30)], [[(15, 15), (15, 25), (25, 25), (25, 15)]]
    )
    sliver = Polygon([(-30, -30), (-10, -30.001), (-10, -30)])
    return [west, east, ring, sliver]


@pytest.fixture(scope="module")
def index() -> _AreaIndex:
    return _AreaIndex(areas(), 64.0, 32)


def chol_of(rng: np.random.Generator, n: int, lo: float, hi: float) -> Chol:
    l11 = rng.uniform(lo, hi, n)
    l22 = rng.uniform(lo, hi, n)
    l21 = rng.uniform(-1, 1, n) * np.sqrt(l11 * l22)
    return l11, l21, l22


def all_pairs(n: int, e: int) -> Pairs:
    i, k = np.meshgrid(np.arange(n), np.arange(e), indexing="ij")
    return i.ravel().astype(np.intp), k.ravel().astype(np.intp)


# --- the elementwise functions -----------------------------------------------------------


def c_of(f: Callable[..., None], *args: FloatArray) -> FloatArray:
    out = np.empty_like(args[0])
    f(*(np.ascontiguousarray(a, dtype=np.float64) for a in args), out)
    return out


HOSTILE = np.array(
    [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, -5e-324, 2.2e-308, 1e-300, 1e300,
     -745.2, -745.1, -744.0, -708.5, -707.0, -706.9, 709.7, 709.8, 710.0, 710.5, -746.0, -747.0]
)  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = [
        rng.uniform(-760, 720, 5000),
        rng.uniform(-746, -700, 5000),  # subnormal and near-subnormal results
        rng.uniform(-707, 0, 5000),  # where `exp_normal` applies
        rng.uniform(650, 712, 500),  # near overflow: the ldexp path
        HOSTILE,
    ]
    # Each part alone (numpy picks its scaling per call) and all together.
    for x in [*parts, np.concatenate(parts), np.concatenate(parts[:3])]:
        with np.errstate(all="ignore"):
            ref = _ieee.exp(x)
        assert bits(c_of(_masscore.exp, x)) == bits(ref)
    x = parts[2]
    assert bits(c_of(_masscore.exp, x)) == bits(_ieee.exp_normal(x))


def test_q() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 40, 20000), np.abs(HOSTILE)])
    with np.errstate(all="ignore"):
        ref = _area_index._q(x)
    assert bits(c_of(_masscore.q, x)) == bits(ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_owens_t_signed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20000
    h = np.concatenate([rng.normal(0, 3, n), rng.uniform(-7, 7, n), rng.uniform(-1e-9, 1e-9, n)])
    a = np.concatenate([rng.standard_cauchy(n), rng.uniform(-1, 1, n), rng.normal(0, 1e12, n)])
    # a > 1 with ah in [37.7, 38.6]: subnormal exp results in the reflection's integral.
    hs = rng.uniform(0.5, 6.5, n)
    hs_a = rng.uniform(37.5, 38.7, n) / hs
    h, a = np.concatenate([h, hs, -hs]), np.concatenate([a, hs_a, -hs_a])
    with np.errstate(all="ignore"):
        ref = _area_index._owens_t_signed(h, a)
    assert bits(c_of(_masscore.owens_t_signed, h, a)) == bits(ref)
    # Every element alone or in small groups: numpy's per-call choices (exp or exp_normal).
    for j in range(0, len(h), 997):
        s = slice(j, j + 3)
        with np.errstate(all="ignore"):
            ref = _area_index._owens_t_signed(h[s], a[s])
        assert bits(c_of(_masscore.owens_t_signed, h[s], a[s])) == bits(ref)


def test_owens_t_hostile() -> None:
    h, a = (v.ravel() for v in np.meshgrid(HOSTILE, np.concatenate([HOSTILE, [1.0, -1.0]])))
    with np.errstate(all="ignore"):
        ref = _area_index._owens_t_signed(h, a)
    out = c_of(_masscore.owens_t_signed, h, a)
    # NaN where numpy gives NaN (its payload is not an output of the analysis).
    nan = np.isnan(ref)
    assert np.array_equal(nan, np.isnan(out))
    assert bits(out[~nan]) == bits(ref[~nan])


# --- masses ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_random_points_and_covariances(index: _AreaIndex, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    qx, qy = rng.uniform(-60, 60, n), rng.uniform(-50, 50, n)
    chol = chol_of(rng, n, 0.3, 12.0)
    reach = _area_index.SIGMA_REACH * np.maximum(chol[0], chol[2]) * 2
    mass, _ = both(index, qx, qy, chol, index.edges_within(qx, qy, reach))
    assert np.all(np.isfinite(mass))
    both(index, qx, qy, chol, all_pairs(n, len(index.ax)))


def test_chunks(index: _AreaIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs summed a chunk at a time, in blocks: small chunks and blocks on both sides."""
    monkeypatch.setattr(_area_index, "_PAIR_CHUNK", 37)
    monkeypatch.setattr(_area_index, "_BLOCK", 11)
    rng = np.random.default_rng(9)
    n = 50
    qx, qy = rng.uniform(-20, 20, n), rng.uniform(-20, 20, n)
    chol = chol_of(rng, n, 1.0, 20.0)
    i, k = all_pairs(n, len(index.ax))
    order = rng.permutation(len(i))
    both(index, qx, qy, chol, (i[order], k[order]))


def test_points_on_edges_and_vertices(index: _AreaIndex) -> None:
    ax, ay, bx, by = index.ax, index.ay, index.bx, index.by
    t = np.array([0.0, 0.5, 1.0, 0.25, 1.5, -0.5])  # on the edge, its ends, beyond (flat)
    qx = (ax[:, None] + t * (bx - ax)[:, None]).ravel()
    qy = (ay[:, None] + t * (by - ay)[:, None]).ravel()
    n = len(qx)
    rng = np.random.default_rng(4)
    for chol in [
        (np.ones(n), np.zeros(n), np.ones(n)),  # h == 0 exactly beyond the ends: flat
        chol_of(rng, n, 0.5, 3.0),
        (np.full(n, 1e-8), np.zeros(n), np.full(n, 1e-8)),
    ]:
        _, degenerate = both(index, qx, qy, chol, all_pairs(n, len(ax)))
        assert degenerate.any()


def test_zero_length_and_hostile_edges() -> None:
    index = _AreaIndex(areas(), 64.0, 32)
    e = len(index.ax)
    index.bx[::3] = index.ax[::3]  # zero length
    index.by[::3] = index.ay[::3]
    index.bx[1] = index.ax[1] + 1e-300  # length that whitening makes nil or subnormal
    index.ax[2] = np.nan
    index.by[4] = np.inf
    rng = np.random.default_rng(5)
    n = 200
    qx, qy = rng.uniform(-60, 60, n), rng.uniform(-50, 50, n)
    qx[:20] = index.ax[:20]
    qy[:20] = index.ay[:20]
    with np.errstate(all="ignore"):
        both(index, qx, qy, chol_of(rng, n, 0.5, 10.0), all_pairs(n, e))


@pytest.mark.parametrize("scale", [1e-150, 1e-12, 1e-3, 1e3, 1e9, 1e150])
def test_huge_and_tiny_covariances(index: _AreaIndex, scale: float) -> None:
    rng = np.random.default_rng(6)
    n = 100
    qx, qy = rng.uniform(-60, 60, n), rng.uniform(-50, 50, n)
    with np.errstate(all="ignore"):
        both(index, qx, qy, chol_of(rng, n, scale, 3 * scale), all_pairs(n, len(index.ax)))


def test_not_finite_inputs(index: _AreaIndex) -> None:
    """NaN and inf in points and factors (the caller filters them; both paths agree)."""
    rng = np.random.default_rng(7)
    n = 60
    qx, qy = rng.uniform(-60, 60, n), rng.uniform(-50, 50, n)
    l11, l21, l22 = chol_of(rng, n, 0.5, 10.0)
    qx[0], qy[1], qx[2], qy[3] = np.nan, np.nan, np.inf, -np.inf
    l11[4], l21[5], l22[6], l11[7], l22[8], l11[9] = np.nan, np.nan, np.inf, 0.0, -0.0, -1.0
    with np.errstate(all="ignore"):
        both(index, qx, qy, (l11, l21, l22), all_pairs(n, len(index.ax)))


def test_empty(index: _AreaIndex) -> None:
    z = np.zeros(0)
    none = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
    mass, degenerate = both(index, z, z, (z, z, z), none)
    assert mass.shape == (0, len(index.areas)) and degenerate.shape == (0,)
    one = np.array([1.0])
    both(index, one, one, (one, one * 0, one), none)


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(
        st.tuples(
            st.floats(-70, 70),
            st.floats(-70, 70),
            st.floats(1e-6, 1e4),
            st.floats(-0.99, 0.99),
            st.floats(1e-6, 1e4),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_same_bits(
    index: _AreaIndex, pts: list[tuple[float, float, float, float, float]], seed: int
) -> None:
    qx, qy, s1, rho, s2 = (np.array(v) for v in zip(*pts, strict=True))
    l21 = rho * np.sqrt(s1 * s2)
    i, k = all_pairs(len(qx), len(index.ax))
    order = np.random.default_rng(seed).permutation(len(i))
    with np.errstate(all="ignore"):
        both(index, qx, qy, (s1, l21, s2), (i[order], k[order]))


# --- the kernel refuses what it cannot read ----------------------------------------------


def test_bad_arguments(index: _AreaIndex) -> None:
    n = 3
    f = np.zeros(n)
    ip = np.zeros(2, dtype=np.intp)
    mass, deg = np.zeros(n * 4), np.zeros(n, dtype=bool)
    e = (index.ax, index.ay, index.bx, index.by, index.area)

    def call(*args: Any) -> None:
        _masscore.masses(*args)

    ok = (f, f, np.ones(n), f, np.ones(n), *e, ip, ip, 4, 10, mass, deg)
    call(*ok)
    with pytest.raises(TypeError):
        call(f.astype(np.float32), *ok[1:])
    with pytest.raises(TypeError):
        call(*ok[:5], index.ax[::2], *ok[6:])
    with pytest.raises(ValueError):
        call(np.zeros(n + 1), *ok[1:])
    with pytest.raises(IndexError):
        call(*ok[:10], np.array([0, n], dtype=np.intp), ip, *ok[12:])
    with pytest.raises(IndexError):
        call(*ok[:10], ip, np.array([-1, 0], dtype=np.intp), *ok[12:])
    with pytest.raises(IndexError):
        call(*ok[:12], 3, 10, np.zeros(n * 3), deg)
    with pytest.raises(ValueError):
        call(*ok[:14], np.zeros(n * 3), deg)
    with pytest.raises(TypeError):
        call(*ok[:14], mass, deg.astype(np.int8))
    ro = mass.copy()
    ro.flags.writeable = False
    with pytest.raises(TypeError):
        call(*ok[:14], ro, deg)
    with pytest.raises(TypeError):
        _masscore.exp(np.zeros(2), np.zeros(2, dtype=np.float32))


# --- p_side on both paths ----------------------------------------------------------------


def sample(n: int, rng: np.random.Generator) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = X0 + rng.uniform(-3000, 3000, n)
    y = Y0 + rng.uniform(-15000, 15000, n)
    s1, s2 = rng.uniform(5, 400, n), rng.uniform(5, 400, n)
    th = rng.uniform(0, np.pi, n)
    c, s = np.cos(th), np.sin(th)
    cov = np.empty((n, 2, 2))
    cov[:, 0, 0] = c * c * s1**2 + s * s * s2**2
    cov[:, 1, 1] = s * s * s1**2 + c * c * s2**2
    cov[:, 0, 1] = cov[:, 1, 0] = c * s * (s1**2 - s2**2)
    return x, y, cov


@pytest.mark.parametrize("line", [wiggly_line, lambda: bend_line(30)])
def test_p_side_same_bits(line: Callable[[], FloatArray]) -> None:
    geo = SideGeometry(two_sides(line(), 25_000), FRAME)
    rng = np.random.default_rng(8)
    x, y, cov = sample(3000, rng)
    # Points on the boundary's vertices (the nudged, degenerate case).
    lx, ly = line()[::7].T
    x, y = np.concatenate([x, lx]), np.concatenate([y, ly])
    cov = np.concatenate([cov, np.broadcast_to(np.eye(2) * 100.0, (len(lx), 2, 2))])
    pc = geo.p_side(x, y, cov)
    _area_index.ACCELERATED = False
    try:
        pn = geo.p_side(x, y, cov)
    finally:
        _area_index.ACCELERATED = True
    assert bits(pc) == bits(pn)
    assert ((pc > 0) & (pc < 1)).any()


def test_numpy_path_fixture(numpy_path: None, index: _AreaIndex) -> None:
    """The fixture forces the numpy code (for running other tests on it)."""
    assert not _area_index.ACCELERATED
    z = np.ones(1)
    mass, _ = index.masses(z, z, (z, z * 0, z), all_pairs(1, len(index.ax)))
    assert mass.shape == (1, len(index.areas))


def test_shapely_is_what_masses_start_from(index: _AreaIndex) -> None:
    """The indicator term: a point far from every edge has its area's indicator."""
    qx, qy = np.array([-40.0, 40.0]), np.array([0.0, -35.0])
    z = np.ones(2)
    none = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
    mass, _ = both(index, qx, qy, (z, z * 0, z), none)
    ref = np.stack([shapely.intersects_xy(a, qx, qy) for a in index.areas], axis=1)
    assert np.array_equal(mass, ref.astype(np.float64))
