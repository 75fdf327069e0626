"""Sortie planning on the demo theater: feasible routes, the same plan every time, the
stalest and most violent stretches first, no stretch planned by two bases."""

from __future__ import annotations

import copy
import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.planning import (
    Plan,
    PlanSettings,
    coverage_from_last_seen,
    plan_sorties,
    segment_priority,
)
from ceasewatch.analysis.planning_eval import compare, naive_patrol
from ceasewatch.analysis.planning_geometry import camera_standoff
from ceasewatch.analysis.segments import Segments, theater_segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater

AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def with_drones(theater: Theater, keep: list[str], **changes: Any) -> Theater:
    """A copy of the theater with only the drones `keep`, their fields changed."""
    th = copy.copy(theater)
    th.drones = {k: dataclasses.replace(theater.drones[k], **changes) for k in keep}
    return th


def seen_coverage(segs: Segments, last_seen: dict[int, datetime]) -> Coverage:
    """Coverage of `segs` that saw segment k once, at last_seen[k]."""
    seen = np.zeros(len(segs), dtype=bool)
    times = np.zeros(len(segs))
    for k, t in last_seen.items():
        seen[k] = True
        times[k] = t.timestamp()
    offsets = np.concatenate([[0], np.cumsum(seen)]).astype(np.intp)
    return Coverage(segs, 5.0, 1000.0, offsets, times[seen], times[seen])


def line(theater: Theater) -> Segments:
    return theater_segments(theater.at(AT), theater.frame, PlanSettings().segment_m, zones=False)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


@pytest.fixture(scope="module")
def demo_plan(demo_theater: Theater) -> Plan:
    return plan_sorties(demo_theater, None, [], at=AT, hours=6.0)


def test_routes_respect_endurance_range_and_horizon(demo_theater: Theater) -> None:
    th = with_drones(demo_theater, ["uav-a1", "uav-b1"], endurance_h=1.0, max_range_km=40.0)
    settings = PlanSettings(reserve=0.25, turnaround_h=0.5)
    plan = plan_sorties(th, None, [], at=AT, hours=8.0, settings=settings)
    assert len(plan.sorties) >= 4
    last_landing: dict[str, datetime] = {}
    for s in plan.sorties:
        assert s.flight_h <= 0.75 + 1e-9
        assert (s.landing - s.takeoff).total_seconds() == pytest.approx(s.flight_h * 3600, abs=1)
        assert s.takeoff >= AT and s.landing <= AT + timedelta(hours=8)
        base = s.route_m[0]
        assert s.route_m[-1] == base
        assert max(distance_m(p, base) for p in s.route_m) <= 40_000.0 + 1.0
        km = math.fsum(distance_m(p, q) for p, q in zip(s.route_m, s.route_m[1:], strict=False))
        assert km / 1000.0 == pytest.approx(s.km)
        assert s.km * 1000.0 / s.cruise_mps / 3600.0 == pytest.approx(s.flight_h)
        if s.drone in last_landing:
            assert s.takeoff - last_landing[s.drone] >= timedelta(hours=0.5)
        last_landing[s.drone] = s.landing


def test_plan_is_deterministic(demo_theater: Theater, demo_plan: Plan) -> None:
    again = plan_sorties(demo_theater, None, [], at=AT, hours=6.0)
    assert again.sorties == demo_plan.sorties
    assert again.claimed_by == demo_plan.claimed_by
    np.testing.assert_array_equal(again.priority, demo_plan.priority)


def test_plan_does_not_depend_on_the_order_of_violations(demo_theater: Theater) -> None:
    segs = line(demo_theater)
    viol = [
        (float(segs.mid_x[k]), float(segs.mid_y[k]), AT - timedelta(hours=k % 7))
        for k in range(0, len(segs), 37)
    ]
    a = plan_sorties(demo_theater, None, viol, at=AT, hours=2.0)
    b = plan_sorties(demo_theater, None, viol[::-1], at=AT, hours=2.0)
    assert a.sorties == b.sorties
    np.testing.assert_array_equal(a.priority, b.priority)


def test_drones_never_plan_the_same_stretch(demo_plan: Plan) -> None:
    sorties = demo_plan.sorties
    assert len({s.drone for s in sorties}) >= 2
    for i, a in enumerate(sorties):
        for b in sorties[i + 1 :]:
            assert not set(a.segments) & set(b.segments), (a.drone, b.drone)
            if a.base != b.base:
                assert not set(a.swept) & set(b.swept), (a.drone, b.drone)
    for s in sorties:
        assert all(demo_plan.claimed_by[k] == s.base for k in s.swept)


def test_stale_stretch_is_flown_first(demo_theater: Theater) -> None:
    th = with_drones(demo_theater, ["uav-a1"])
    segs = line(th)
    # Everything was seen an hour ago but 20 km some way from base-a, never seen.
    never = set(range(60, 100))
    cov = seen_coverage(
        segs, {k: AT - timedelta(hours=1) for k in range(len(segs)) if k not in never}
    )
    plan = plan_sorties(th, cov, [], at=AT, hours=12.0)
    first = plan.sorties[0]
    assert never <= set(first.segments)
    assert plan.priority[sorted(never)].min() == pytest.approx(24.0)
    assert plan.priority[[k for k in range(len(segs)) if k not in never]].max() == pytest.approx(
        1.0
    )
    # A stretch seen 10 h ago comes before one seen an hour ago.
    older = set(range(150, 170))
    cov = seen_coverage(
        segs,
        {k: AT - timedelta(hours=10 if k in older else 1) for k in range(len(segs))},
    )
    plan = plan_sorties(th, cov, [], at=AT, hours=12.0)
    assert older <= set(plan.sorties[0].segments)


def test_violent_stretch_is_flown_first(demo_theater: Theater) -> None:
    th = with_drones(demo_theater, ["uav-a1"])
    segs = line(th)
    k0 = 200
    x, y = float(segs.mid_x[k0]), float(segs.mid_y[k0])
    violations = [(x, y, AT - timedelta(hours=h)) for h in (1, 2, 3)]
    prio = segment_priority(segs, None, violations, AT)
    near = np.flatnonzero(prio > 24.0)
    assert k0 in near
    # 3 violations of ages 1-3 h in a 48 h window: density 3 - 6/48.
    assert prio[k0] == pytest.approx(24.0 * (1.0 + 3.0 - 6.0 / 48.0))
    # Nothing seen yet: without violations every stretch is alike; with them, the
    # violent one is in the first sortie, even with a horizon too short for the rest.
    plan = plan_sorties(th, None, violations, at=AT, hours=1.0)
    assert set(near.tolist()) <= set(plan.sorties[0].segments)
    assert np.isnan(plan.first_visit_s).sum() > 0
    # Violations older than the window, or after `at`, do not count.
    late = [(x, y, AT + timedelta(hours=1)), (x, y, AT - timedelta(hours=49))]
    assert segment_priority(segs, None, late, AT).max() == pytest.approx(24.0)


def test_coverage_from_last_seen_matches(demo_theater: Theater) -> None:
    segs = line(demo_theater)
    lines = []
    for k in range(len(segs)):
        a, b = int(segs.offsets[k]), int(segs.offsets[k + 1])
        lon, lat = demo_theater.frame.to_wgs84(segs.vx[a:b], segs.vy[a:b])
        last = AT - timedelta(hours=3) if k % 2 else None
        lines.append(("line", list(zip(lon.tolist(), lat.tolist(), strict=True)), last))
    cov = coverage_from_last_seen(demo_theater.frame, lines)
    prio = segment_priority(segs, cov, [], AT)
    assert prio[1::2] == pytest.approx(3.0)
    assert prio[0::2] == pytest.approx(24.0)


def test_plan_beats_naive_patrol_under_the_camera_model(
    demo_theater: Theater, demo_plan: Plan
) -> None:
    cmp = compare(demo_theater, demo_plan)
    # The camera model sees (nearly) what the planner expected.
    assert cmp.plan.gain == pytest.approx(demo_plan.gain, rel=0.05)
    assert cmp.plan.flight_h == pytest.approx(demo_plan.flight_h)
    assert cmp.naive.flight_h == pytest.approx(cmp.plan.flight_h, abs=0.01)
    assert cmp.ratio > 1.5
    naive = naive_patrol(demo_theater, demo_plan)
    assert [(s.drone, s.takeoff) for s in naive] == [
        (s.drone, s.takeoff) for s in demo_plan.sorties
    ]
    for s in naive:
        reach_m = demo_theater.drones[s.drone].max_range_km * 1000.0
        assert max(distance_m(p, s.route_m[0]) for p in s.route_m) <= reach_m + 1.0
        assert s.route_m[-1] == s.route_m[0]


def test_clear_errors(demo_theater: Theater) -> None:
    with pytest.raises(InvalidInput, match="no drones"):
        plan_sorties(with_drones(demo_theater, []), None, [], at=AT, hours=6.0)
    with pytest.raises(InvalidInput, match="positive"):
        plan_sorties(demo_theater, None, [], at=AT, hours=0.0)
    far = with_drones(demo_theater, ["uav-a1"], max_range_km=5.0)
    with pytest.raises(InvalidInput, match=r"uav-a1: its base base-a is .* km .* max range"):
        plan_sorties(far, None, [], at=AT, hours=6.0)
    with pytest.raises(InvalidInput, match="timezone"):
        plan_sorties(demo_theater, None, [], at=AT.replace(tzinfo=None), hours=6.0)


def test_standoff_puts_the_line_in_the_footprint(demo_theater: Theater) -> None:
    cam = demo_theater.cameras["eo-30"]
    st = camera_standoff(cam, 1000.0)
    assert st.near_m < st.standoff_m < st.far_m
    assert math.hypot(st.far_m, 1000.0) == pytest.approx(0.95 * cam.max_slant_m)
    with pytest.raises(InvalidInput, match="altitude"):
        camera_standoff(cam, 5000.0)
