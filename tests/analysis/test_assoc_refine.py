"""Moves between groups (`_assoc_refine`): a sighting that paired with a sighting of
another occurrence first goes to the group of its own occurrence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ceasewatch.analysis import _assoc_refine
from ceasewatch.analysis import associate as associate_module
from ceasewatch.analysis._assoc_group import Grouped, group
from ceasewatch.analysis._batchfit import IntArray
from ceasewatch.analysis._candidates import Ctx, Static, candidate_pairs
from ceasewatch.analysis.associate import associate
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import Obs, normalise
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import default_window, simulate


def _ob(
    name: str,
    x: float,
    y: float,
    target: tuple[float, float],
    t_s: float,
    *,
    band: tuple[float, float] | None = None,
) -> Obs:
    theta = math.atan2(target[0] - x, target[1] - y)
    lo, hi = band if band is not None else (None, None)
    return Obs(
        name, t_s, name, "mon-a", x, y, theta, math.radians(2.0), lo, hi, "explosion", 1, False
    )


# Two explosions 12 s apart, 3.6 km apart, each seen by three posts of its own. Post e
# saw the first one 6 s late and post f the second one 6 s early: their bearings cross
# at a ghost point (8000, 8000) inside their bands' slack, and their report times agree
# exactly, so the pair e-f comes first and binds them before either meets its group; the
# pair then joins the first group with f as its one allowed gross bearing, and f is
# lost to the second occurrence.
FIRST, SECOND = (5000.0, 5000.0), (7000.0, 3000.0)
SCENE = [
    _ob("a", 0.0, 0.0, FIRST, 0.0),
    _ob("b", 10000.0, 0.0, FIRST, 0.0),
    _ob("c", 0.0, 10000.0, FIRST, 0.0),
    _ob("e", 10000.0, 10000.0, FIRST, 6.0, band=(5000.0, 8000.0)),
    _ob("f", 8600.0, 11000.0, SECOND, 6.0, band=(5000.0, 8000.0)),
    _ob("p", 14000.0, 3000.0, SECOND, 12.0),
    _ob("q", 7000.0, -4000.0, SECOND, 12.0),
    _ob("r", 14000.0, -4000.0, SECOND, 12.0),
]


def test_a_sighting_bound_to_a_ghost_pair_moves_to_its_occurrence() -> None:
    groups = associate(SCENE).groups
    assert groups == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_without_the_moves_the_ghost_pair_splits_the_second_occurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(associate_module, "reassign", lambda ctx, grouped: grouped)
    assert associate(SCENE).groups == [[0, 1, 2, 3, 4], [5, 6, 7]]


def test_the_moves_do_not_depend_on_the_input_order() -> None:
    """Groups as sorted indices: the same sightings for any order of the scene given
    sorted by (time, id), as `associate` takes it."""
    ids = [[SCENE[k].id for k in g] for g in associate(SCENE).groups]
    again = sorted(reversed(SCENE), key=lambda o: (o.t_s, o.id))
    assert [[again[k].id for k in g] for g in associate(again).groups] == ids


def _targets_loop(ctx: Ctx, grouped: Grouped) -> tuple[list[int], ...]:
    """`_targets`'s last step one try at a time (the reference): the tries before it
    come from `_targets` with every try allowed and no relabelling."""
    st = ctx.static
    s, g_from, g_to, _ = _targets_all(ctx, grouped)
    who, kind = st.who_list, st.kind_list
    m, p = grouped.members.tolist(), grouped.ptr.tolist()
    out: tuple[list[int], ...] = ([], [], [], [])
    for k_, a_, b_ in zip(s.tolist(), g_from.tolist(), g_to.tolist(), strict=True):
        gb = m[p[b_] : p[b_ + 1]]
        if who[k_] in {who[j] for j in gb}:
            continue
        in_b = kind[k_] in {kind[j] for j in gb}
        in_a = kind[k_] in {kind[j] for j in m[p[a_] : p[a_ + 1]] if j != k_}
        for lst, v in zip(out, (k_, a_, b_, int(not in_b) - int(not in_a)), strict=True):
            lst.append(v)
    return out


def _targets_all(ctx: Ctx, grouped: Grouped) -> tuple[IntArray, ...]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_assoc_refine, "_count_of", lambda keys, asked: np.zeros(len(asked), int))
        return _assoc_refine._targets(ctx, grouped)


def test_targets_are_those_of_the_loop(demo_theater: Theater) -> None:
    start, _ = default_window(demo_theater)
    scenario = simulate(demo_theater, 5, start, 6, fire_rate_per_h=30)
    obs, _ = normalise(scenario.observations.sightings, demo_theater)
    ctx = Ctx(obs, {}, ObsTable.of(obs), Static.of(obs))
    grouped = group(ctx, candidate_pairs(ctx))
    got = _assoc_refine._targets(ctx, grouped)
    want = _targets_loop(ctx, grouped)
    assert len(want[0]) > 50 and len(set(want[3])) >= 2
    for g, w in zip(got, want, strict=True):
        assert g.tolist() == w
