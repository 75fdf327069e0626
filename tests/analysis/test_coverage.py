"""Coverage: segments, visits, gaps, shares and the allegation hook, exact and fast."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Polygon

import ceasewatch.analysis.coverage as coverage_module
from ceasewatch.analysis.allegations import match_allegations
from ceasewatch.analysis.coverage import Coverage, segments, theater_segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Allegation
from tests.analysis.common import FRAME, T0

#: A straight 2 km line along x, cut into 100 m segments (midpoints at 50, 150, ...).
LINE = LineString([(0.0, 0.0), (2000.0, 0.0)])


def squares(cx: FloatArray, cy: FloatArray, half: float) -> FloatArray:
    """(N, 4, 2) axis-aligned squares, clockwise from the upper left."""
    sx = np.array([-1.0, 1.0, 1.0, -1.0]) * half
    sy = np.array([1.0, 1.0, -1.0, -1.0]) * half
    return np.stack([cx[:, None] + sx, cy[:, None] + sy], axis=2)


def along(
    t0: float, t1: float, x0: float, x1: float, hz: float = 10.0
) -> tuple[FloatArray, FloatArray]:
    """Times and x positions of a drone flying from x0 to x1 between t0 and t1."""
    t = t0 + np.arange(round((t1 - t0) * hz) + 1) / hz
    return t, x0 + (x1 - x0) * (t - t0) / (t1 - t0)


# -- segments ----------------------------------------------------------------------------------


def test_a_line_is_cut_into_equal_segments_no_longer_than_asked() -> None:
    s = segments(LINE, 100.0)
    assert len(s) == 20
    assert s.ids[:2] == ("line:0:0000", "line:0:0001") and s.ids[-1] == "line:0:0019"
    assert s.mid_x.tolist() == [50.0 + 100.0 * k for k in range(20)]
    assert np.all(s.length_m == 100.0) and s.groups == ("line",)
    odd = segments(LineString([(0.0, 0.0), (1050.0, 0.0)]), 100.0)
    assert len(odd) == 11 and odd.length_m == pytest.approx([1050.0 / 11] * 11)


def test_segments_follow_the_line_through_its_vertices() -> None:
    zigzag = LineString([(0, 0), (300, 0), (300, 400), (700, 400)])  # 1100 m
    s = segments(zigzag, 250.0)
    assert len(s) == 5
    assert s.length_m.sum() == pytest.approx(1100.0)
    for k in range(len(s)):
        g = s.geometry(k)
        assert g.length == pytest.approx(220.0)
        mid = g.interpolate(0.5, normalized=True)
        assert (mid.x, mid.y) == pytest.approx((s.mid_x[k], s.mid_y[k]))
        assert zigzag.distance(g) < 1e-9
    assert shapely.line_merge(MultiLineString([s.geometry(k) for k in range(5)])).equals(zigzag)


def test_polygons_are_cut_along_their_boundary_and_parts_numbered() -> None:
    sq = Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    s = segments(sq, 50.0, group="zone:z")
    assert len(s) == 8 and s.groups == ("zone:z",) and s.ids[0] == "zone:z:0:0000"
    two = segments(MultiLineString([[(0, 0), (100, 0)], [(0, 50), (0, 250)]]), 100.0)
    assert two.ids == ("line:0:0000", "line:1:0000", "line:1:0001")
    with pytest.raises(InvalidInput):
        segments(LINE, 0.0)


def test_theater_segments_hold_the_line_and_every_zone(demo_theater: Theater) -> None:
    state = demo_theater.at(T0)
    s = theater_segments(state, demo_theater.frame, 500.0)
    assert s.groups[0] == "line"
    assert {f"zone:{z.id}" for z in state.zones} == set(s.groups[1:])
    line_km = demo_theater.frame.to_local_geometry(state.contact_line).length / 1000.0
    assert s.length_m[s.in_group("line")].sum() / 1000.0 == pytest.approx(line_km)
    assert s.length_m.max() <= 500.0


# -- visits ------------------------------------------------------------------------------------


def test_a_drone_along_half_the_line_observes_exactly_that_half() -> None:
    # 10 m/s from x = 0 to x = 1000 over [0, 100] s, a 50 m square footprint.
    t, x = along(0.0, 100.0, 0.0, 1000.0)
    cov = Coverage.compute(segments(LINE, 100.0), squares(x, np.zeros_like(x), 25.0), t)
    seen = np.diff(cov.offsets) > 0
    assert seen.tolist() == [True] * 10 + [False] * 10
    for k in range(10):
        # The midpoint 50 + 100 k is inside while the drone is within 25 m of it.
        ((start, end),) = cov.visits(k)
        assert start == pytest.approx((25.0 + 100.0 * k) / 10.0)
        assert end == pytest.approx((75.0 + 100.0 * k) / 10.0)
    stats = cov.stats(0.0, 200.0)
    assert stats.visits.tolist() == [1] * 10 + [0] * 10
    assert stats.longest_gap_s[:10] == pytest.approx([200.0 - (7.5 + 10.0 * k) for k in range(10)])
    assert stats.longest_gap_s[10:].tolist() == [200.0] * 10
    assert np.isnan(stats.revisit_s).all()
    assert stats.observed_s[:10] == pytest.approx([5.0] * 10)
    assert stats.last_seen_s[3] == pytest.approx(37.5) and np.isnan(stats.last_seen_s[15])
    assert cov.share_observed(100.0, 1.0).tolist() == [0.5]
    # The last 20 s before 30 s saw segments 1 and 2; before 100 s, 8 and 9.
    assert cov.share_observed([30.0, 100.0], 20.0 / 3600.0).tolist() == pytest.approx([0.1, 0.1])


def test_gaps_and_revisits_of_a_drone_flying_back_and_forth() -> None:
    # Out and back three times over the first half: each midpoint is seen six times.
    ts, xs = [], []
    for leg in range(6):
        a, b = (0.0, 1000.0) if leg % 2 == 0 else (1000.0, 0.0)
        t, x = along(leg * 200.0, leg * 200.0 + 100.0, a, b)
        ts.append(t)
        xs.append(x)
    t, x = np.concatenate(ts), np.concatenate(xs)
    cov = Coverage.compute(segments(LINE, 100.0), squares(x, 0 * x, 25.0), t)
    k = 4  # midpoint 450: seen at 42.5-47.5 s on the way out, 252.5-257.5 back, ...
    out = [(42.5 + 400.0 * i, 47.5 + 400.0 * i) for i in range(3)]
    back = [(252.5 + 400.0 * i, 257.5 + 400.0 * i) for i in range(3)]
    want = sorted(out + back)
    assert np.array(cov.visits(k)) == pytest.approx(np.array(want))
    stats = cov.stats(0.0, 1200.0)
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(want)]
    assert stats.visits[k] == 6
    assert stats.longest_gap_s[k] == pytest.approx(max([*gaps, want[0][0], 1200.0 - want[-1][1]]))
    assert stats.revisit_s[k] == pytest.approx(float(np.median(gaps)))
    # A window that cuts a visit counts only its part, and gaps are clipped to it.
    part = cov.stats(45.0, 300.0)
    assert part.observed_s[k] == pytest.approx(2.5 + 5.0)
    assert part.longest_gap_s[k] == pytest.approx(252.5 - 47.5)
    assert part.first_seen_s[k] == 45.0 and part.last_seen_s[k] == pytest.approx(257.5)
    assert cov.last_seen_s(100.0)[k] == pytest.approx(47.5)
    assert cov.last_seen_s(255.0)[k] == 255.0  # being watched at that moment
    with pytest.raises(InvalidInput):
        cov.stats(10.0, 5.0)


def test_samples_merge_into_visits_up_to_merge_s_apart() -> None:
    x = np.full(5, 50.0)
    t = np.array([0.0, 5.0, 10.0, 15.0 + 1e-9, 40.0])
    fp = squares(x, 0 * x, 25.0)
    cov = Coverage.compute(segments(LINE, 100.0), fp, t, merge_s=5.0)
    assert cov.visits(0) == [(0.0, 10.0), (15.0 + 1e-9, 15.0 + 1e-9), (40.0, 40.0)]
    assert Coverage.compute(segments(LINE, 100.0), fp, t, merge_s=30.0).visits(0) == [(0.0, 40.0)]


def test_only_observing_finite_convex_footprints_count() -> None:
    t, x = along(0.0, 100.0, 0.0, 1000.0)
    fp = squares(x, 0 * x, 25.0)
    mask = t < 50.0
    cov = Coverage.compute(segments(LINE, 100.0), fp, t, mask)
    assert (np.diff(cov.offsets) > 0).tolist() == [True] * 5 + [False] * 15
    fp[t >= 50.0] = np.nan
    same = Coverage.compute(segments(LINE, 100.0), fp, t)
    assert np.array_equal(same.start_s, cov.start_s)
    ccw = Coverage.compute(segments(LINE, 100.0), fp[:, ::-1], t, mask)
    assert np.array_equal(ccw.start_s, cov.start_s) and np.array_equal(ccw.end_s, cov.end_s)
    dart = fp.copy()
    dart[3, 2] = [x[3] - 10.0, 0.0]  # a corner pushed in past the diagonal: a dart
    with pytest.raises(InvalidInput, match="footprint 3 is not a convex"):
        Coverage.compute(segments(LINE, 100.0), dart, t)
    with pytest.raises(InvalidInput):
        Coverage.compute(segments(LINE, 100.0), fp[:10], t)


def test_a_midpoint_on_a_footprint_edge_is_inside() -> None:
    fp = squares(np.array([75.0]), np.array([0.0]), 25.0)  # its west edge at x = 50
    cov = Coverage.compute(segments(LINE, 100.0), fp, np.array([1.0]))
    assert cov.visits(0) == [(1.0, 1.0)]


# -- the fast path is exact --------------------------------------------------------------------


def _drones(seed: int, n_drones: int, n: int, jitter_deg: float) -> tuple[FloatArray, ...]:
    """Rotating, breathing quadrilaterals drifting over a wiggly line, at 10 Hz."""
    rng = np.random.default_rng(seed)
    corners, times, tracks = [], [], []
    for d in range(n_drones):
        t = np.arange(n) / 10.0 + rng.uniform(0.0, 3.0)
        x0 = rng.uniform(500.0, 3500.0)
        x = np.linspace(x0, x0 + rng.choice([-1.0, 1.0]) * rng.uniform(300.0, 500.0), n)
        y = np.cumsum(rng.normal(0.0, 1.5, n)) + rng.uniform(-150.0, 150.0)
        ang = np.cumsum(rng.normal(0.0, math.radians(jitter_deg), n)) + rng.uniform(0, 6.3)
        w = 150.0 + 60.0 * np.sin(t / rng.uniform(5, 40))
        h = 90.0 + 30.0 * np.cos(t / rng.uniform(5, 40))
        lx = np.stack([-w, w, 0.6 * w, -0.6 * w], axis=1)  # a trapezoid, clockwise
        ly = np.stack([h, h, -h, -h], axis=1)
        ca, sa = np.cos(ang)[:, None], np.sin(ang)[:, None]
        cx = x[:, None] + ca * lx - sa * ly
        cy = y[:, None] + sa * lx + ca * ly
        corners.append(np.stack([cx, cy], axis=2))
        times.append(t)
        tracks.append(np.full(n, d))
    return np.concatenate(corners), np.concatenate(times), np.concatenate(tracks)


WIGGLY = segments(
    LineString([(x, 200.0 * math.sin(x / 300.0)) for x in np.linspace(0.0, 4000.0, 120)]), 40.0
)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    stride=st.one_of(st.none(), st.integers(1, 40)),
    jitter=st.sampled_from([0.0, 0.5, 5.0]),
    merge=st.sampled_from([0.0, 0.35, 5.0]),
)
def test_windows_along_tracks_give_exactly_the_visits_of_every_sample(
    seed: int, stride: int | None, jitter: float, merge: float
) -> None:
    corners, t, track = _drones(seed, 3, 1500, jitter)
    rng = np.random.default_rng(seed)
    mask = rng.random(len(t)) > 0.05
    every = Coverage.compute(WIGGLY, corners, t, mask, merge_s=merge)
    perm = rng.permutation(len(t))
    fast = Coverage.compute(
        WIGGLY, corners[perm], t[perm], mask[perm], track=track[perm], stride=stride, merge_s=merge
    )
    assume(len(every.start_s) >= 10)  # a few drawn tracks barely touch the line: not a test
    assert np.array_equal(every.offsets, fast.offsets)
    assert np.array_equal(every.start_s, fast.start_s)
    assert np.array_equal(every.end_s, fast.end_s)


def test_visits_match_shapely_point_in_polygon() -> None:
    corners, t, _ = _drones(5, 2, 800, 2.0)
    cov = Coverage.compute(WIGGLY, corners, t, merge_s=0.0)
    polys = shapely.polygons(corners)
    tree = shapely.STRtree(shapely.points(WIGGLY.mid_x, WIGGLY.mid_y))
    fi, si = tree.query(polys, predicate="intersects")
    seen = np.zeros(len(WIGGLY), dtype=np.intp)
    np.add.at(seen, si, 1)
    # merge_s = 0 merges only samples at one instant: one visit per distinct time.
    want = [len(np.unique(t[fi[si == k]])) for k in range(len(WIGGLY))]
    assert np.diff(cov.offsets).tolist() == want
    assert (seen > 0).tolist() == (np.diff(cov.offsets) > 0).tolist()


def test_same_answer_for_any_chunking_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    corners, t, track = _drones(11, 4, 3000, 1.0)
    a = Coverage.compute(WIGGLY, corners, t, track=track, workers=1)
    monkeypatch.setattr(coverage_module, "_CHUNK", 300)
    b = Coverage.compute(WIGGLY, corners, t, track=track, workers=2)
    c = Coverage.compute(WIGGLY, corners, t, workers=2)
    for other in (b, c):
        assert np.array_equal(a.offsets, other.offsets)
        assert np.array_equal(a.start_s, other.start_s)
        assert np.array_equal(a.end_s, other.end_s)


# -- points and the allegation hook ----------------------------------------------------------------


def test_observed_asks_the_nearest_segment_within_near_m() -> None:
    t, x = along(0.0, 100.0, 0.0, 1000.0)
    cov = Coverage.compute(segments(LINE, 100.0), squares(x, 0 * x, 25.0), t, near_m=300.0)
    assert cov.observed(450.0, 200.0, 45.0, 1.0)  # segment 4, seen 42.5-47.5
    assert cov.observed(450.0, -200.0, 50.0, 2.5)
    assert not cov.observed(450.0, 0.0, 50.0, 2.0)
    assert not cov.observed(450.0, 301.0, 45.0, 60.0)  # too far from the line
    assert not cov.observed(1500.0, 0.0, 50.0, 1e6)  # never seen there
    k, d = cov.nearest_segment([-30.0, 2040.0, 1000.0], [40.0, 30.0, 5.0])
    assert k.tolist() == [0, 19, 9] and d == pytest.approx([50.0, 50.0, 5.0])
    flags = cov.observed_many([450.0, 1500.0], [0.0, 0.0], [45.0, 45.0], 1.0)
    assert flags.tolist() == [True, False]
    epoch = datetime.fromtimestamp(0.0, UTC)
    assert cov.observed(450.0, 0.0, epoch + timedelta(seconds=45), 1.0)
    with pytest.raises(InvalidInput):
        cov.observed(450.0, 0.0, datetime(1970, 1, 1), 1.0)


def test_an_allegation_nobody_watched_has_no_coverage(demo_theater: Theater) -> None:
    remote = (47.35, 39.95)  # in side-e's area, over 40 km from any post
    ax, ay = FRAME.to_local(*remote)
    line = LineString([(ax[0] - 2000.0, ay[0]), (ax[0] + 2000.0, ay[0])])
    t_s = T0.timestamp()
    cov = Coverage.compute(
        segments(line, 100.0), squares(ax, ay, 400.0), np.array([t_s]), near_m=500.0
    )
    alg = Allegation(
        id="a-1",
        time=T0,
        by="side-e",
        against="side-w",
        lon=remote[0],
        lat=remote[1],
        radius_m=300.0,
    )
    (blind,) = match_allegations([alg], [], [], demo_theater)
    (seen,) = match_allegations([alg], [], [], demo_theater, observed=cov.hook(600.0))
    assert blind.status == "no_coverage"
    assert seen.status == "not_supported" and seen.extra["observed_by_coverage"] is True
    later = alg.model_copy(update={"time": T0 + timedelta(hours=2)})
    (late,) = match_allegations([later], [], [], demo_theater, observed=cov.hook(600.0))
    assert late.status == "no_coverage"


def test_nothing_to_cover() -> None:
    empty = Coverage.compute(segments(LINE, 100.0), np.zeros((0, 4, 2)), np.zeros(0))
    assert len(empty.start_s) == 0 and empty.offsets.tolist() == [0] * 21
    assert empty.stats(0.0, 10.0).longest_gap_s.tolist() == [10.0] * 20
    assert empty.share_observed(5.0, 1.0).tolist() == [0.0]
    assert not empty.observed(50.0, 0.0, 1.0, 10.0)
