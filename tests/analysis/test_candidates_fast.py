"""`candidate_pairs` skips pairs early and sorts on fewer keys, its tests in numpy or in C
(`_paircore`): the same pairs, in the same order, with the same z² bits, as the plain
computation over every pair of each time window (kept here as the reference), on a
simulated day and on hostile rows (bands reversed, NaN, infinite)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ceasewatch.analysis import _candidates
from ceasewatch.analysis._candidates import (
    CLOCK_SIGMA_S,
    JITTER_S,
    SPEED_OF_SOUND_M_S,
    TIME_Z,
    Ctx,
    Pairs,
    Static,
    candidate_pairs,
)
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import Obs, normalise
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import default_window, simulate


def _reference(ctx: Ctx) -> Pairs:
    """Every pair of each row's window tested at once; sorted by (other, z², i, j)."""
    st = ctx.static
    n = len(ctx.obs)
    offsets = [abs(v) for v in ctx.offset.values()]
    reach = (
        st.max_delay
        + 2 * TIME_Z * math.hypot(JITTER_S, CLOCK_SIGMA_S)
        + 2 * max(offsets, default=0.0)
    )
    end = np.searchsorted(st.t, st.t + reach, side="right")
    heard = ctx.heard.astype(np.float64)
    x, y, sn, cs = ctx.table.x, ctx.table.y, ctx.table.s, ctx.table.c
    who, what, lo, hi, has_band, mid = st.who, st.what, st.lo, st.hi, st.has_band, st.mid
    rows = np.arange(n)
    counts = np.maximum(end - rows - 1, 0)
    i = np.repeat(rows, counts)
    j = i + 1 + (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
    keep = (who[i] != who[j]) & (what[i] == what[j])
    i, j = i[keep], j[keep]
    den = sn[i] * cs[j] - cs[i] * sn[j]
    dx, dy = x[j] - x[i], y[j] - y[i]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        da = (dx * cs[j] - dy * sn[j]) / den
        db = (dx * cs[i] - dy * sn[i]) / den
        crossed = (np.abs(den) >= math.sin(math.radians(2.0))) & (da > 0) & (db > 0)
        crossed &= (lo[i] <= da) & (da <= hi[i]) & (lo[j] <= db) & (db <= hi[j])
        for a, b in ((i, j), (j, i)):
            pa_x, pa_y = x[a] + mid[a] * sn[a], y[a] + mid[a] * cs[a]
            vx, vy = pa_x - x[b], pa_y - y[b]
            dist_b = np.sqrt(vx * vx + vy * vy)
            sin_err = np.abs(sn[b] * vy - cs[b] * vx) / dist_b
            near = ~crossed & has_band[a] & (sn[b] * vx + cs[b] * vy > 0)
            near &= (sin_err <= st.tol_sin[b]) & (lo[b] <= dist_b) & (dist_b <= hi[b])
            if a is i:
                da, db = np.where(near, mid[a], da), np.where(near, dist_b, db)
            else:
                da, db = np.where(near, dist_b, da), np.where(near, mid[a], db)
            crossed |= near
        i, j, da, db = i[crossed], j[crossed], da[crossed], db[crossed]
        dt = (ctx.corr[i] - heard[i] * da / SPEED_OF_SOUND_M_S) - (
            ctx.corr[j] - heard[j] * db / SPEED_OF_SOUND_M_S
        )
        z2 = dt * dt / (ctx.tvar[i] + ctx.tvar[j])
    keep = z2 <= TIME_Z * TIME_Z
    z2, i, j = z2[keep], i[keep], j[keep]
    other = st.kind[i] != st.kind[j]
    order = np.lexsort((j, i, z2, other))
    return Pairs(i[order], j[order], len(other) - int(other.sum()))


def _same(a: Pairs, b: Pairs) -> bool:
    return np.array_equal(a.i, b.i) and np.array_equal(a.j, b.j) and a.same == b.same


@pytest.fixture(params=["numpy", "c"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "c" and not _candidates.ACCELERATED:
        pytest.skip("_paircore not built")
    monkeypatch.setattr(_candidates, "ACCELERATED", request.param == "c")
    return str(request.param)


@pytest.fixture(scope="module")
def day(demo_theater: Theater) -> list[Obs]:
    start, _ = default_window(demo_theater)
    scenario = simulate(demo_theater, 5, start, 6, fire_rate_per_h=30)
    obs, _ = normalise(scenario.observations.sightings, demo_theater)
    return obs


@pytest.mark.parametrize("offsets", [False, True])
@pytest.mark.parametrize("chunk", [4096, 7])
def test_pairs_are_those_of_every_pair(
    day: list[Obs], offsets: bool, chunk: int, path: str
) -> None:
    st = Static.of(day)
    off = {o: (k % 7 - 3) * 1.7 for k, o in enumerate(st.observers)} if offsets else {}
    ctx = Ctx(day, off, ObsTable.of(day), st)
    want = _reference(ctx)
    assert len(want.i) > 100
    assert _same(candidate_pairs(ctx, 1, chunk), want)


def _hostile(seed: int, n: int) -> list[Obs]:
    rng = np.random.default_rng(seed)
    odd = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-300, 1e300, -500.0]
    kinds = ["shot", "explosion", "burst", "flare", "drone"]
    out = []
    t = 1.7e9
    for k in range(n):
        t += float(rng.exponential(2.0))
        band: tuple[float | None, float | None] = (None, None)
        u = rng.random()
        if u < 0.5:
            lo = float(rng.uniform(0, 6000))
            band = (lo, lo + float(rng.uniform(0, 6000)))
        elif u < 0.6:
            band = (float(rng.uniform(3000, 9000)), float(rng.uniform(0, 3000)))  # reversed
        elif u < 0.75:
            band = (
                odd[int(rng.integers(len(odd)))] if rng.random() < 0.5 else None,
                odd[int(rng.integers(len(odd)))],
            )
        out.append(
            Obs(
                id=f"h{k:05d}",
                t_s=t,
                observer=f"o{int(rng.integers(12))}",
                org="x",
                x_m=float(rng.uniform(0, 8000)),
                y_m=float(rng.uniform(0, 8000)),
                theta=float(rng.uniform(0, 2 * math.pi)),
                sigma=float(rng.uniform(0.01, 0.2)),
                rmin_m=band[0],
                rmax_m=band[1],
                kind=kinds[int(rng.integers(len(kinds)))],
                n_reported=1,
                heard=bool(rng.random() < 0.6),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(4))
def test_pairs_on_hostile_rows(seed: int, path: str) -> None:
    obs = _hostile(seed, 1500)
    with np.errstate(all="ignore"):
        st = Static.of(obs)
        table = ObsTable.of(obs)
        for off in ({}, {o: (k % 5 - 2) * 2.5 for k, o in enumerate(st.observers)}):
            ctx = Ctx(obs, off, table, st)
            want = _reference(ctx)
            assert len(want.i) > 50
            assert _same(candidate_pairs(ctx, 1, 64), want)


def _found(ctx: Ctx) -> tuple[np.ndarray, ...]:
    st = ctx.static
    end = np.searchsorted(st.t, st.t + 60.0, side="right")
    heard = ctx.heard.astype(np.float64)
    spans = [(a, min(a + 97, len(end))) for a in range(0, len(end), 97)]
    bounds = _candidates._emission_bounds(ctx)
    by_np = [_candidates._pairs_in(ctx, end, heard, a, b, bounds=bounds) for a, b in spans]
    by_c = _candidates._pairs_c(ctx, end, heard, spans)
    return tuple(np.concatenate([f[k] for f in found]) for found in (by_np, by_c) for k in range(3))


@pytest.mark.skipif(not _candidates.ACCELERATED, reason="_paircore not built")
@pytest.mark.parametrize("seed", range(3))
def test_c_gives_the_bits_of_numpy(seed: int) -> None:
    obs = _hostile(100 + seed, 1200)
    with np.errstate(all="ignore"):
        ctx = Ctx(obs, {}, ObsTable.of(obs), Static.of(obs))
        z_np, i_np, j_np, z_c, i_c, j_c = _found(ctx)
    assert len(i_np) > 20
    assert z_np.tobytes() == z_c.tobytes()
    assert np.array_equal(i_np, i_c) and np.array_equal(j_np, j_c)


@pytest.mark.skipif(not _candidates.ACCELERATED, reason="_paircore not built")
def test_c_checks_its_inputs() -> None:
    from ceasewatch.analysis import _paircore

    n = 4
    f, k = np.zeros(n), np.zeros(n, dtype=np.intp)
    good = [k, k, k, np.zeros(n, dtype=bool), *([f] * 11), np.zeros(8), k[:0].repeat(0)]
    with pytest.raises(ValueError, match="differ"):
        _paircore.pairs(
            0, n, 0.1, 9.0, *good[:-1], np.zeros(8, dtype=np.intp), np.zeros(3, dtype=np.intp)
        )
    out = [np.zeros(8), np.zeros(8, dtype=np.intp), np.zeros(8, dtype=np.intp)]
    with pytest.raises(TypeError, match="float64"):
        _paircore.pairs(0, n, 0.1, 9.0, k, k, k, good[3], k, *([f] * 10), *out)
    with pytest.raises(ValueError, match="rows"):
        _paircore.pairs(0, n + 1, 0.1, 9.0, *good[:15], *out)
    with pytest.raises(ValueError, match="beyond"):
        _paircore.pairs(0, n, 0.1, 9.0, np.full(n, 9, dtype=np.intp), *good[1:15], *out)
    with pytest.raises(ValueError, match="may come"):
        _paircore.pairs(
            0,
            n,
            0.1,
            9.0,
            np.full(n, n, dtype=np.intp),
            *good[1:15],
            *out[:0],
            np.zeros(2),
            np.zeros(2, dtype=np.intp),
            np.zeros(2, dtype=np.intp),
        )
    assert _paircore.pairs(0, n, 0.1, 9.0, *good[:15], *out) == 0
