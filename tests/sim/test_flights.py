from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
import shapely

from ceasewatch.analysis.footprint import GimbalFrame, footprints
from ceasewatch.geo.theater import Theater
from ceasewatch.records import parse_time
from ceasewatch.sim import Flight, Sortie, draw_sorties, fly, simulate
from ceasewatch.sim.flights import GIMBAL_HORIZON

START = parse_time("2026-11-26T00:00:00Z")
HOURS = 24.0


def _draw(theater: Theater, seed: int) -> list[Sortie]:
    return draw_sorties(theater, START, HOURS, np.random.Generator(np.random.PCG64(seed)))


@pytest.fixture(scope="module")
def sorties(demo_theater: Theater) -> list[Sortie]:
    return _draw(demo_theater, 5)


@pytest.fixture(scope="module")
def flights(demo_theater: Theater, sorties: list[Sortie]) -> list[Flight]:
    return [fly(s, demo_theater, 0.1) for s in sorties]


def test_same_seed_same_sorties(demo_theater: Theater, sorties: list[Sortie]) -> None:
    assert _draw(demo_theater, 5) == sorties
    assert _draw(demo_theater, 6) != sorties
    assert {s.drone for s in sorties} == set(demo_theater.drones)
    assert len({s.id for s in sorties}) == len(sorties)


def test_each_drone_flies_from_its_base_within_its_limits(
    demo_theater: Theater, flights: list[Flight]
) -> None:
    for f in flights:
        s, drone = f.sortie, demo_theater.drones[f.sortie.drone]
        assert (s.org, s.base, s.camera) == (drone.org, drone.base, drone.camera)
        assert START <= s.takeoff < START + timedelta(hours=HOURS)
        assert f.start == s.takeoff
        bx, by = s.base_xy
        from_base = np.hypot(f.x_m - bx, f.y_m - by)
        assert from_base[0] == 0.0 and from_base[-1] < 100.0, s.id
        assert float(from_base.max()) <= drone.max_range_km * 1000.0
        assert f.alt_m[0] == s.ground_elev_m and f.alt_m[-1] < s.ground_elev_m + 5.0
        # Home within endurance, with at least 15% left in reserve.
        flown_s = (f.end - f.start).total_seconds()
        assert flown_s <= s.budget_s <= 0.85 * drone.endurance_h * 3600.0
        assert np.all(np.diff(f.t_us) > 0)


def test_sorties_of_a_drone_do_not_overlap_and_leave_gaps(flights: list[Flight]) -> None:
    by_drone: dict[str, list[Flight]] = {}
    for f in flights:
        by_drone.setdefault(f.sortie.drone, []).append(f)
    for fl in by_drone.values():
        fl.sort(key=lambda f: f.start)
        gaps = [(b.start - a.end).total_seconds() for a, b in itertools.pairwise(fl)]
        assert all(g >= 3600.0 for g in gaps)
        airborne = sum((f.end - f.start).total_seconds() for f in fl)
        assert airborne < 0.8 * HOURS * 3600.0


def test_patrol_is_on_the_own_side_1_to_2_km_off_the_line(
    demo_theater: Theater, flights: list[Flight]
) -> None:
    for f in flights:
        s = f.sortie
        state = demo_theater.at(s.takeoff)
        line = demo_theater.frame.to_local_geometry(state.contact_line)
        pts = shapely.points(f.x_m, f.y_m)
        patrol = shapely.distance(pts, shapely.LineString(s.patrol_xy)) < 500.0
        patrol &= f.alt_m - s.ground_elev_m == s.agl_m
        assert 800.0 <= s.agl_m <= 1200.0 and patrol.sum() > 0.3 * len(f), s.id
        d = shapely.distance(pts[patrol], line)
        assert float(np.median(d)) == pytest.approx(s.offset_m, abs=150.0)
        assert float(np.mean((d >= 900.0) & (d <= 2100.0))) > 0.95, s.id
        sides = state.sides_of(f.lon_deg, f.lat_deg)
        assert set(sides) == {s.side}, s.id  # never crosses the line


def test_gimbal_looks_at_the_line_while_on_patrol(
    demo_theater: Theater, flights: list[Flight]
) -> None:
    for f in flights[:4]:
        s = f.sortie
        assert np.all(f.gimbal_roll_deg == 0.0)
        fp = footprints(
            f.lat_deg,
            f.lon_deg,
            f.alt_m,
            yaw_deg=f.yaw_deg,
            pitch_deg=f.pitch_deg,
            roll_deg=f.roll_deg,
            gimbal_yaw_deg=f.gimbal_yaw_deg,
            gimbal_pitch_deg=f.gimbal_pitch_deg,
            gimbal_roll_deg=f.gimbal_roll_deg,
            hfov_deg=f.hfov_deg,
            vfov_deg=f.vfov_deg,
            frame=demo_theater.frame,
            gimbal_frame=GimbalFrame(GIMBAL_HORIZON),
            ground_elev_m=s.ground_elev_m,
        )
        patrol = shapely.distance(shapely.points(f.x_m, f.y_m), shapely.LineString(s.patrol_xy))
        patrol = (patrol < 500.0) & (f.alt_m - s.ground_elev_m == s.agl_m)
        camera = demo_theater.cameras[s.camera]
        usable = fp.usable(max_slant_m=camera.max_slant_m)
        line = demo_theater.frame.to_local_geometry(demo_theater.at(s.takeoff).contact_line)
        polys = fp.polygons()
        sees = np.array([p is not None and p.intersects(line) for p in polys])
        assert float(np.mean(sees[patrol] & usable[patrol])) > 0.9, s.id


def test_the_path_does_not_depend_on_the_rate(demo_theater: Theater, sorties: list[Sortie]) -> None:
    s = replace(sorties[0], budget_s=2400.0)
    slow, fast = fly(s, demo_theater, 0.5), fly(s, demo_theater, 2.0)
    i = np.searchsorted(fast.t_us, slow.t_us)
    assert np.array_equal(fast.t_us[i], slow.t_us)  # landing included
    for name in ("lat_deg", "lon_deg", "alt_m", "yaw_deg", "gimbal_pitch_deg"):
        assert np.allclose(getattr(fast, name)[i], getattr(slow, name), rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="rate_hz"):
        fly(s, demo_theater, 0.0)


def test_simulate_draws_the_sorties_last(demo_theater: Theater) -> None:
    start = parse_time("2026-11-26T06:00:00Z")
    a = simulate(demo_theater, 4, start, 3)
    b = simulate(demo_theater, 4, start, 3)
    assert a.sorties and a.sorties == b.sorties
    assert all(start <= s.takeoff < start + timedelta(hours=3) for s in a.sorties)
    bare = Theater(
        demo_theater.name,
        demo_theater.root,
        list(demo_theater.orgs.values()),
        demo_theater.features,
        demo_theater.crs,
        settings=demo_theater.settings,
        cameras=demo_theater.cameras,
    )
    c = simulate(bare, 4, start, 3)
    assert c.sorties == []
    assert c.observations == a.observations  # the fleet changes nothing else
