"""Accuracy of association and localisation: the cases behind benchmarks/accuracy.py, and a
small, loose version of it (the benchmark holds the real targets)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from ceasewatch.analysis import Analysis, analyse
from ceasewatch.analysis.associate import associate
from ceasewatch.analysis.attribution import SideGeometry
from ceasewatch.analysis.localise import (
    gross_share,
    robust_fit,
    robust_fit_groups,
    single_fix,
    singles_share,
)
from ceasewatch.analysis.observations import Obs
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import Scenario, default_window, simulate
from tests.analysis.common import association_scores


def ob(
    name: str,
    x: float,
    y: float,
    target: tuple[float, float],
    *,
    err_deg: float = 0.0,
    kind: str = "explosion",
    t_s: float = 0.0,
    sigma_deg: float = 2.0,
) -> Obs:
    theta = math.atan2(target[0] - x, target[1] - y) + math.radians(err_deg)
    return Obs(
        name, t_s, name, "mon-a", x, y, theta, math.radians(sigma_deg), None, None, kind, 1, False
    )


RING = [(0.0, 0.0), (10000.0, 0.0), (0.0, 10000.0), (10000.0, 10000.0), (5000.0, -3000.0),
        (-3000.0, 5000.0)]  # fmt: skip


def test_two_gross_bearings_do_not_mask_each_other() -> None:
    """Leave-one-out alone drops good bearings here: the two gross ones drag the full fit."""
    errors = [0.0, 35.0, 0.0, -40.0, 0.0, 0.0]
    group = [
        ob(str(i), x, y, (5000.0, 5000.0), err_deg=e)
        for i, ((x, y), e) in enumerate(zip(RING, errors, strict=True))
    ]
    f, inliers, outliers = robust_fit(group)
    assert outliers == [1, 3] and inliers == [0, 2, 4, 5]
    assert math.hypot(f.x - 5000.0, f.y - 5000.0) < 20.0  # the kind's reach pulls a little


def test_a_clean_group_keeps_every_bearing() -> None:
    rng = np.random.default_rng(3)
    group = [
        ob(str(i), x, y, (5000.0, 5000.0), err_deg=float(rng.normal(0, 2.0)))
        for i, (x, y) in enumerate(RING)
    ]
    _, inliers, outliers = robust_fit(group)
    assert outliers == [] and inliers == list(range(6))


def test_gross_share_is_estimated_from_groups_of_four_or_more() -> None:
    groups = [[0, 1, 2, 3]] * 100 + [[0, 1]] * 50
    outliers = [[0]] * 100 + [[0]] * 50  # groups of two say nothing
    share = gross_share(groups, outliers)
    assert 0.2 < share < 0.25  # 100 of 400, shrunk a little toward the 4% prior
    assert math.isclose(gross_share([], []), 0.04)


def test_gross_share_follows_the_data_to_zero() -> None:
    groups = [[0, 1, 2, 3]] * 100
    assert gross_share(groups, [[]] * 100) < 0.001  # no outlier in 400 members
    assert 0.079 < gross_share(groups, [[0]] * 32 + [[]] * 68) < 0.081  # 32 in 400


def test_lone_sightings_hold_the_gross_errors_the_groups_did_not_find() -> None:
    # 1000 sightings at 4%: 40 gross; groups found 20, pairs' 200 members hold about 8
    assert math.isclose(singles_share(0.04, 1000, 20, 200, 100), 0.12)
    assert singles_share(0.04, 1000, 40, 200, 100) == 0.04  # never below the input's share
    assert singles_share(0.0, 1000, 0, 200, 100) == 0.0
    assert singles_share(0.5, 1000, 0, 0, 10) == 1.0


def test_a_single_sightings_ellipse_widens_with_the_gross_share() -> None:
    o = ob("a", 0.0, 0.0, (0.0, 4000.0))  # due north: across the bearing is east
    assert single_fix(o, 0.10).cee > 2.0 * single_fix(o, 0.01).cee
    assert math.isclose(single_fix(o, 0.10).cnn, single_fix(o, 0.01).cnn)


def test_singles_in_a_batch_use_the_batchs_gross_share() -> None:
    gross = [ob(str(i), x, y, (5000.0, 5000.0), err_deg=40.0 * (i == 0)) for i, (x, y) in
             enumerate(RING[:4])]  # fmt: skip
    lone = ob("lone", 0.0, 0.0, (0.0, 4000.0))
    obs = [*gross, lone]
    alone = robust_fit_groups(obs, [[4]])[0][0]
    with_gross = robust_fit_groups(obs, [[0, 1, 2, 3], [4]])[1][0]
    assert with_gross.cee > alone.cee  # one outlier in four members: a higher share


def test_a_sighting_reported_as_another_confusable_kind_joins_its_occurrence() -> None:
    """A shot reported as an explosion still points at the shot and was made with it."""
    target = (5000.0, 5000.0)
    obs = [
        ob("a", 0.0, 0.0, target, kind="shot"),
        ob("b", 10000.0, 0.0, target, kind="shot"),
        ob("c", 0.0, 10000.0, target, kind="shot"),
        ob("d", 10000.0, 10000.0, target, kind="explosion"),
    ]
    assert associate(obs).groups == [[0, 1, 2, 3]]


def test_confusable_kinds_do_not_join_two_groups() -> None:
    """A round's report (shot) and its impact (explosion) come seconds apart: two groups."""
    shot, impact = (2000.0, 8000.0), (8000.0, 2000.0)
    obs = [
        ob("a", 0.0, 0.0, shot, kind="shot"),
        ob("b", 10000.0, 10000.0, shot, kind="shot"),
        ob("c", 0.0, 10000.0, shot, kind="shot"),
        ob("d", 0.0, 0.0, impact, kind="explosion", t_s=2.0, sigma_deg=1.0),
        ob("e", 10000.0, 10000.0, impact, kind="explosion", t_s=2.0),
        ob("f", 10000.0, 0.0, impact, kind="explosion", t_s=2.0),
    ]
    assert associate(obs).groups == [[0, 1, 2], [3, 4, 5]]


@pytest.fixture(scope="module")
def dense(demo_theater: Theater) -> tuple[Scenario, Analysis]:
    start, _ = default_window(demo_theater)
    day = simulate(demo_theater, 5, start, 10, fire_rate_per_h=4.0)
    o = day.observations
    return day, analyse(demo_theater, o.sightings, o.detections, o.craters, o.allegations)


def test_dense_fire_is_associated_located_and_attributed(
    demo_theater: Theater, dense: tuple[Scenario, Analysis]
) -> None:
    """Loose bounds on one dense simulated day (F1, coverage, side beyond 1.5 km)."""
    day, result = dense
    link = day.observations.sighting_truth
    precision, recall = association_scores(link, result.events)
    assert 2 * precision * recall / (precision + recall) > 0.95

    occ = {o.id: o for o in day.truth.occurrences}
    covered = n = side_ok = side_n = 0
    for e in result.events:
        if not e.sightings:
            continue
        votes = Counter(link[i] for i in e.sightings)
        o = occ[min(votes, key=lambda k: (-votes[k], k))]
        tx, ty = demo_theater.frame.to_local(o.lon, o.lat)
        ex, ey = float(tx[0]) - e.x_m, float(ty[0]) - e.y_m
        (cee, cen), (_, cnn) = e.cov_m2
        m2 = (cnn * ex * ex - 2 * cen * ex * ey + cee * ey * ey) / (cee * cnn - cen * cen)
        n += 1
        covered += m2 <= 5.991
        state = demo_theater.at(o.time)
        side = state.side_at(o.lon, o.lat)
        far = SideGeometry(state, demo_theater.frame, workers=1).d_line_m(tx, ty)[0] > 1500
        if far and side and e.p_side and len(e.sightings) - len(e.outliers) >= 2:
            side_n += 1
            side_ok += max(e.p_side, key=lambda k: (e.p_side[k], k)) == side
    assert 0.88 <= covered / n <= 0.99
    assert side_ok / side_n >= 0.95  # about 60 events: one or two wrong pairs are chance
