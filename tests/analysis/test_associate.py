"""Association's fast paths against plain references, and the same groups for any cut.

The grouping runs in rounds, over components, in tasks that may go to other processes;
the leftovers' candidates are found in numpy; the columns are built in one pass. Each is
checked here against the plain thing it stands for, on one simulated day.
"""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from ceasewatch.analysis import _assoc_group, _candidates
from ceasewatch.analysis._assoc_group import XY, Grouped, consistent_many, group
from ceasewatch.analysis._assoc_leftovers import attach_leftovers
from ceasewatch.analysis._candidates import Ctx, Pairs, Static, candidate_pairs
from ceasewatch.analysis.associate import _clock_offsets, associate
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import Obs, normalise
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import default_window, simulate


@pytest.fixture(scope="module")
def day(demo_theater: Theater) -> list[Obs]:
    start, _ = default_window(demo_theater)
    scenario = simulate(demo_theater, 5, start, 6, fire_rate_per_h=30)
    obs, _ = normalise(scenario.observations.sightings, demo_theater)
    assert len(obs) > 2000
    return obs


@pytest.fixture(scope="module")
def first_ctx(day: list[Obs]) -> Ctx:
    return Ctx(day, {}, ObsTable.of(day), Static.of(day))


def _one_by_one(ctx: Ctx, pairs: Pairs) -> list[tuple[list[int], XY | None]]:
    """The grouping as `associate` describes it: every pair in turn, best first."""
    who = ctx.static.who_list
    group_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    fix_of: dict[int, XY] = {}
    for n, (i, j) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True)):
        gi, gj = group_of.get(i), group_of.get(j)
        if (gi is not None and gi == gj) or (n >= pairs.same and None not in (gi, gj)):
            continue  # one group already; or confusable kinds that would join two groups
        a = groups[gi] if gi is not None else [i]
        b = groups[gj] if gj is not None else [j]
        merged = sorted({*a, *b})
        xy = None
        if len(merged) > 2:
            if len({who[k] for k in merged}) < len(merged):
                continue
            bigger = gi if len(a) >= len(b) else gj
            start = fix_of.get(bigger) if bigger is not None else None
            sx, sy = start if start is not None else (math.nan, math.nan)
            xy = consistent_many(ctx, [merged], [sx], [sy])[0]
            if xy is None:
                continue
        for g in (gi, gj):
            if g is not None:
                del groups[g]
                fix_of.pop(g, None)
        groups[merged[0]] = merged
        if xy is not None:
            fix_of[merged[0]] = xy
        for k in merged:
            group_of[k] = merged[0]
    return [(groups[g], fix_of.get(g)) for g in sorted(groups)]


def _listed(grouped: Grouped) -> list[tuple[list[int], XY | None]]:
    return list(zip(grouped.lists(), grouped.fixes(), strict=True))


@pytest.fixture(params=["c", "python"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with the grouping walk in C (`_groupcore`, skipped where it is not
    built) and in Python (`_assoc_group._run`)."""
    if request.param == "c" and not _assoc_group.ACCELERATED:
        pytest.skip("ceasewatch.analysis._groupcore is not built")
    monkeypatch.setattr(_assoc_group, "ACCELERATED", request.param == "c")
    return str(request.param)


def test_grouping_is_that_of_one_pair_at_a_time(
    first_ctx: Ctx, monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    pairs = candidate_pairs(first_ctx)
    assert 0 < pairs.same < len(pairs.i)
    want = _one_by_one(first_ctx, pairs)
    assert sum(1 for m, xy in want if len(m) >= 4 and xy is not None) > 10
    assert _listed(group(first_ctx, pairs)) == want
    # Other cuts into tasks, and rounds that hold back every pair after a pending one
    # (or none): the same groups, on one process or three.
    monkeypatch.setattr(_assoc_group, "TASK_PAIRS", 97)
    monkeypatch.setattr(_assoc_group, "CROSS_TASK_PAIRS", 13)
    for waiting, workers in ((1, 1), (10**9, 3)):
        monkeypatch.setattr(_assoc_group, "SCAN_WAITING", waiting)
        assert _listed(group(first_ctx, pairs, workers=workers)) == want


def test_candidate_pairs_do_not_depend_on_the_cut(
    first_ctx: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = candidate_pairs(first_ctx)
    monkeypatch.setattr(_candidates, "TASK_ROWS", 300)
    for workers, chunk in ((1, 4096), (2, 64), (3, 7)):
        got = candidate_pairs(first_ctx, workers, chunk)
        assert got.same == want.same
        assert got.i.tolist() == want.i.tolist() and got.j.tolist() == want.j.tolist()


def test_columns_are_those_of_each_observation(day: list[Obs]) -> None:
    st = Static.of(day)
    slack_lo, slack_hi = _candidates._RANGE_SLACK
    for k in range(0, len(day), 7):
        o = day[k]
        assert st.t[k] == o.t_s and st.heard[k] == o.heard and st.reach[k] == o.max_range_m
        assert st.lo[k] == (o.rmin_m or 0.0) * slack_lo
        hi = o.rmax_m * slack_hi if o.rmax_m is not None else o.max_range_m * 1.2
        assert st.hi[k] == hi and st.has_band[k] == (o.rmax_m is not None)
        assert st.mid[k] == 0.5 * ((o.rmin_m or 0.0) + (o.rmax_m or 0.0))
        assert st.tol_sin[k] == math.sin(min(3.0 * o.sigma, math.pi / 2))
        assert st.observers[st.who_list[k]] == o.observer
    same_who = [(a.observer == b.observer) for a, b in itertools.pairwise(day)]
    assert (st.who[:-1] == st.who[1:]).tolist() == same_who
    classes = [_candidates.compatible(a.kind, b.kind) for a, b in zip(day, day[3:], strict=False)]
    assert (st.what[:-3] == st.what[3:]).tolist() == classes
    heard = [o.max_range_m / 343.0 for o in day if o.heard]
    assert st.max_delay == max(heard)
    empty = Static.of([])
    assert len(empty.t) == 0 and empty.max_delay == 0.0


def test_clock_offsets_are_medians_of_residuals(day: list[Obs], first_ctx: Ctx) -> None:
    grouped = group(first_ctx, candidate_pairs(first_ctx))
    offsets = _clock_offsets(first_ctx, grouped)
    residuals: dict[str, list[float]] = {}
    for members, xy in _listed(grouped):
        if len(members) < 3 or xy is None:
            continue
        at = [math.hypot(xy[0] - day[k].x_m, xy[1] - day[k].y_m) for k in members]
        e = [first_ctx.emission(k, d) for k, d in zip(members, at, strict=True)]
        for k, r in zip(members, e, strict=True):
            residuals.setdefault(day[k].observer, []).append(r - statistics.median(e))
    want = {o: statistics.median(r) for o, r in sorted(residuals.items()) if len(r) >= 3}
    assert list(offsets) == list(want)
    assert offsets == pytest.approx(want, abs=1e-9)
    assert len(want) > 5


def test_leftovers_join_as_the_loop_joins_them(day: list[Obs], first_ctx: Ctx) -> None:
    offsets = _clock_offsets(first_ctx, group(first_ctx, candidate_pairs(first_ctx)))
    ctx = Ctx(day, offsets, first_ctx.table, first_ctx.static)
    grouped = group(ctx, candidate_pairs(ctx))
    fast = attach_leftovers(ctx, grouped)
    assert fast == attach_leftovers(ctx, grouped, serial=True)
    joined = sum(len(g) for g in fast) - len(grouped.members) - sum(len(g) == 1 for g in fast)
    assert joined > 20  # the day has leftovers that join groups
    assert sorted(k for g in fast for k in g) == list(range(len(day)))


def test_the_same_association_on_any_number_of_processes(
    day: list[Obs], monkeypatch: pytest.MonkeyPatch
) -> None:
    want = associate(day)
    monkeypatch.setattr(_assoc_group, "TASK_PAIRS", 211)
    monkeypatch.setattr(_assoc_group, "CROSS_TASK_PAIRS", 29)
    monkeypatch.setattr(_candidates, "TASK_ROWS", 500)
    for workers in (2, 3):
        got = associate(day, workers=workers)
        assert got.groups == want.groups
        assert repr(got.offsets) == repr(want.offsets)
    assert len(want.offsets) > 5 and max(map(len, want.groups)) >= 5


def test_few_sightings() -> None:
    none = associate([], workers=2)
    assert (none.groups, none.offsets) == ([], {})
    one = Obs("a", 0.0, "p", "mon-a", 0.0, 0.0, 0.0, 0.05, None, None, "shot", 1, True)
    assert associate([one]).groups == [[0]]
    far = one._replace(id="b", t_s=1e5, observer="q")
    assert associate([one, far], workers=2).groups == [[0], [1]]
    assert np.array_equal(Grouped.of([], []).first, np.zeros(0, dtype=np.intp))


def test_distinct_is_unique() -> None:
    rng = np.random.default_rng(5)
    for n, m in ((1, 0), (10, 3), (1000, 5000), (50, 1)):
        v = rng.integers(0, n, m).astype(np.intp)
        got = _assoc_group._distinct(v, n)
        assert got.dtype == np.unique(v).dtype and np.array_equal(got, np.unique(v))
