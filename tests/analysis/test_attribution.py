"""Attribution: side, distance to the contact line and p_side, against shapely and against
brute-force integration of the Gaussian over the actual polygons.

Theaters are drawn in the local plane (EPSG:32638, metres) and handed to `SideGeometry`
in WGS84, as `Theater.at` would. References use `frame.to_local_geometry` of the same
WGS84 geometry, which is what `SideGeometry` works on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from ceasewatch.analysis.attribution import Attribution, SideGeometry
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import Theater, TheaterState

FRAME = LocalFrame("EPSG:32638")
X0, Y0 = 500_000.0, 4_400_000.0
#: The demo theater after the Karsol handover: its contact line is in three pieces.
AFTER_HANDOVERS = datetime(2026, 12, 2, tzinfo=UTC)


def state(areas: Mapping[str, BaseGeometry], line: BaseGeometry) -> TheaterState:
    """A TheaterState from geometry drawn in the local plane."""

    def wgs(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(FRAME.to_wgs84(*xy.T)))

    return TheaterState(
        start=None,
        end=None,
        areas={k: wgs(g) for k, g in areas.items()},
        contact_line=wgs(line),
        zones=(),
        posts=(),
        bases=(),
    )


def two_sides(line_xy: FloatArray, half_width: float) -> TheaterState:
    """side-w west and side-e east of a south-to-north line (vertices <= 400 m apart, so
    the WGS84 round trip adds none and the line stays the areas' common boundary)."""
    y_s, y_n = line_xy[0, 1], line_xy[-1, 1]
    pts = [tuple(p) for p in line_xy]
    west = Polygon([*pts, (X0 - half_width, y_n), (X0 - half_width, y_s)])
    east = Polygon([*pts[::-1], (X0 + half_width, y_s), (X0 + half_width, y_n)])
    assert west.is_valid and east.is_valid
    return state({"side-w": west, "side-e": east}, LineString(line_xy))


def wiggly_line() -> FloatArray:
    y = np.linspace(Y0 - 20_000, Y0 + 20_000, 401)
    x = X0 + 2000 * np.sin(y / 5000) + 700 * np.sin(y / 1300 + 1) + 60 * np.sin(y / 170)
    return np.column_stack([x, y])


def bend_line(angle_deg: float) -> FloatArray:
    """Two straight arms meeting at (X0, Y0), pointing east, `angle_deg` apart."""
    half = math.radians(angle_deg) / 2
    arm = np.linspace(20_000, 0, 101)[:, None] * np.array([-math.cos(half), math.sin(half)])
    south = arm * [1, -1]
    out: FloatArray = np.vstack([south, arm[::-1][1:]]) + np.array([X0, Y0])
    return out


@pytest.fixture(scope="module")
def wiggly() -> tuple[TheaterState, SideGeometry]:
    s = two_sides(wiggly_line(), 25_000)
    return s, SideGeometry(s, FRAME)


@pytest.fixture(scope="module")
def bend() -> tuple[TheaterState, SideGeometry]:
    s = two_sides(bend_line(60), 25_000)
    return s, SideGeometry(s, FRAME)


@pytest.fixture(scope="module")
def straight() -> SideGeometry:
    """A straight north-south line at x = X0, 40 km long, vertices every 200 m."""
    y = np.linspace(Y0 - 20_000, Y0 + 20_000, 201)
    return SideGeometry(two_sides(np.column_stack([np.full_like(y, X0), y]), 25_000), FRAME)


def local(s: TheaterState) -> tuple[dict[str, BaseGeometry], BaseGeometry]:
    areas = {k: FRAME.to_local_geometry(g) for k, g in s.areas.items()}
    for g in areas.values():
        shapely.prepare(g)
    return areas, FRAME.to_local_geometry(s.contact_line)


def reference_side(
    geo: SideGeometry, areas: Mapping[str, BaseGeometry], x: FloatArray, y: FloatArray
) -> npt.NDArray[np.intp]:
    """What `side_of` should say: the first side (in `geo.sides`) whose area covers."""
    out = np.full(len(x), -1, dtype=np.intp)
    for i, side in reversed(list(enumerate(geo.sides))):
        out[shapely.intersects_xy(areas[side], x, y)] = i
    return out


def iso(sigma_m: float, n: int = 1) -> FloatArray:
    return np.broadcast_to(np.eye(2) * sigma_m**2, (n, 2, 2)).copy()


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def brute_p(areas: list[BaseGeometry], x: float, y: float, cov: FloatArray) -> FloatArray:
    """p_side by integrating the Gaussian on an 801 x 801 grid over +-6 sigma (whitened)."""
    chol = np.linalg.cholesky(cov)
    u = np.linspace(-6.0, 6.0, 801)
    uu, vv = np.meshgrid(u, u)
    w = np.exp(-(uu**2 + vv**2) / 2).ravel()
    dx, dy = chol @ np.vstack([uu.ravel(), vv.ravel()])
    m = np.array([(w * shapely.contains_xy(a, x + dx, y + dy)).sum() for a in areas]) / w.sum()
    out: FloatArray = m / m.sum()
    return out


# --- side and distance against shapely --------------------------------------------------


def test_side_and_distance_match_shapely(wiggly: tuple[TheaterState, SideGeometry]) -> None:
    s, geo = wiggly
    areas, line = local(s)
    rng = np.random.default_rng(1)
    # Over the theater and well beyond it (outside the index: the fallback path).
    x = np.r_[rng.uniform(X0 - 30_000, X0 + 30_000, 20_000), X0 + 2e6, X0 - 9e5]
    y = np.r_[rng.uniform(Y0 - 26_000, Y0 + 26_000, 20_000), Y0, Y0 + 3e6]
    ref = shapely.distance(line, shapely.points(x, y))
    d = geo.d_line_m(x, y)
    assert np.all(np.abs(d - ref) <= 1e-6 * ref + 1e-9)
    assert np.array_equal(geo.side_of(x, y), reference_side(geo, areas, x, y))


def test_distance_near_the_line_matches_shapely(
    wiggly: tuple[TheaterState, SideGeometry],
) -> None:
    s, geo = wiggly
    _, line = local(s)
    rng = np.random.default_rng(2)
    at = shapely.line_interpolate_point(line, rng.uniform(0, line.length, 5000))
    x = shapely.get_x(at) + rng.normal(0, 30, 5000)
    y = shapely.get_y(at) + rng.normal(0, 30, 5000)
    ref = shapely.distance(line, shapely.points(x, y))
    assert np.all(np.abs(geo.d_line_m(x, y) - ref) <= 1e-6 * ref + 1e-9)


def test_signed_distance_is_positive_toward_the_first_side(
    wiggly: tuple[TheaterState, SideGeometry],
) -> None:
    _, geo = wiggly
    assert geo.sides == ("side-e", "side-w")
    rng = np.random.default_rng(3)
    x = rng.uniform(X0 - 24_000, X0 + 24_000, 20_000)
    y = rng.uniform(Y0 - 19_000, Y0 + 19_000, 20_000)
    a = geo.attribute(x, y)
    assert np.all((a.signed_distance_m > 0) == (a.side == 0))
    assert np.array_equal(a.d_line_m, geo.d_line_m(x, y))
    assert np.array_equal(a.signed_distance_m, geo.signed_distance_m(x, y))
    assert np.array_equal(a.side, geo.side_of(x, y))
    assert a.p_side is None


@pytest.mark.parametrize("angle_deg", [60.0, 10.0, 2.0])
def test_sign_is_right_outside_a_sharp_bend(angle_deg: float) -> None:
    """Outside a hairpin, the nearest point is the apex, and one arm's side test alone
    would call points on the wrong side."""
    geo = SideGeometry(two_sides(bend_line(angle_deg), 25_000), FRAME)
    cone = (math.pi - math.radians(angle_deg)) / 2 * 0.999  # where the apex is nearest
    ang = np.linspace(-cone, cone, 181)
    x, y = X0 + 50 * np.cos(ang), Y0 + 50 * np.sin(ang)
    a = geo.attribute(x, y)
    assert np.all(a.side == 0)  # side-e
    assert np.allclose(a.signed_distance_m, 50.0)


def test_threads_do_not_change_the_answers(wiggly: tuple[TheaterState, SideGeometry]) -> None:
    s, _ = wiggly
    one, two = SideGeometry(s, FRAME, workers=1), SideGeometry(s, FRAME, workers=2)
    rng = np.random.default_rng(4)
    x = rng.uniform(X0 - 30_000, X0 + 30_000, 140_000)  # three chunks
    y = rng.uniform(Y0 - 26_000, Y0 + 26_000, 140_000)
    cov = iso(80.0, len(x))
    a, b = one.attribute(x, y, cov), two.attribute(x, y, cov)
    assert a.p_side is not None and b.p_side is not None
    assert np.array_equal(a.side, b.side)
    assert np.array_equal(a.signed_distance_m, b.signed_distance_m)
    assert np.array_equal(a.p_side, b.p_side)


# --- p_side --------------------------------------------------------------------------------


def test_p_side_rows_sum_to_one(wiggly: tuple[TheaterState, SideGeometry]) -> None:
    _, geo = wiggly
    rng = np.random.default_rng(5)
    n = 30_000
    x = rng.uniform(X0 - 27_000, X0 + 27_000, n)
    y = rng.uniform(Y0 - 22_000, Y0 + 22_000, n)
    s1, s2, th = rng.uniform(1, 400, n), rng.uniform(1, 400, n), rng.uniform(0, math.pi, n)
    c, s = np.cos(th), np.sin(th)
    cov = np.empty((n, 2, 2))
    cov[:, 0, 0] = c * c * s1**2 + s * s * s2**2
    cov[:, 1, 1] = s * s * s1**2 + c * c * s2**2
    cov[:, 0, 1] = cov[:, 1, 0] = c * s * (s1**2 - s2**2)
    p = geo.p_side(x, y, cov)
    assert p.shape == (n, 2)
    assert np.all((p >= 0) & (p <= 1))
    total = p.sum(axis=1)
    zero = total == 0
    assert np.allclose(total[~zero], 1.0, atol=1e-12)
    # All zeros only where the error distribution misses both areas.
    assert np.all(geo.side_of(x[zero], y[zero]) == -1)


def test_on_a_straight_line_it_is_a_coin_toss(straight: SideGeometry) -> None:
    y = Y0 + np.linspace(-15_000, 15_000, 301)  # on vertices and halfway between them
    for sigma in (0.01, 1.0, 50.0, 500.0):
        p = straight.p_side(np.full_like(y, X0), y, iso(sigma, len(y)))
        assert np.allclose(p, 0.5, atol=1e-6)


@pytest.mark.parametrize("sigma", [5.0, 100.0, 1000.0])
def test_straight_line_is_exactly_phi(straight: SideGeometry, sigma: float) -> None:
    d = np.linspace(-4, 4, 33) * sigma
    p = straight.p_side(X0 + d, np.full_like(d, Y0), iso(sigma, len(d)))
    expected = [phi(v / sigma) for v in d]  # side-e is east: x > X0
    assert np.allclose(p[:, 0], expected, atol=1e-6)
    assert np.all(np.diff(p[:, 0]) > 0)  # monotone in distance


def test_far_from_the_line_it_is_certain(wiggly: tuple[TheaterState, SideGeometry]) -> None:
    _, geo = wiggly
    x = np.array([X0 - 15_000, X0 + 15_000])
    y = np.array([Y0, Y0])
    assert np.array_equal(geo.p_side(x, y, iso(100.0, 2)), [[0.0, 1.0], [1.0, 0.0]])


def test_larger_error_is_closer_to_a_coin_toss(straight: SideGeometry) -> None:
    sigmas = np.geomspace(10, 10_000, 30)
    x, y = np.full(30, X0 + 200.0), np.full(30, Y0)
    cov = np.eye(2) * sigmas[:, None, None] ** 2
    p_east = straight.p_side(x, y, cov)[:, 0]
    assert np.all(np.diff(p_east) <= 0)
    assert np.all(np.diff(p_east[p_east < 1.0]) < 0)
    assert p_east[0] > 0.999 and abs(p_east[-1] - 0.5) < 0.01


def test_huge_covariance(straight: SideGeometry) -> None:
    """An error far larger than the theater: every edge is in reach, memory stays bounded."""
    n = 400
    x, y = np.full(n, X0 + 100.0), np.linspace(Y0 - 1000, Y0 + 1000, n)
    p = straight.p_side(x, y, iso(200_000.0, n))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.all(np.abs(p - 0.5) < 0.01)


def test_tiny_and_degenerate_covariances(straight: SideGeometry) -> None:
    x, y = np.array([X0 + 1.0, X0 - 1.0, X0 + 3.0]), np.full(3, Y0)
    assert np.array_equal(straight.p_side(x[:2], y[:2], np.zeros((2, 2))), [[1, 0], [0, 1]])
    # Rank 1, along the x axis with sigma 3: the point 3 m east is 1 sigma from the line.
    p = straight.p_side(x[2:], y[2:], np.array([[9.0, 0.0], [0.0, 0.0]]))
    assert p[0, 0] == pytest.approx(phi(1.0), abs=1e-6)
    # Rank 1 along the line: no error across it.
    assert np.array_equal(straight.p_side(x, y, np.diag([0.0, 1e6])), [[1, 0], [0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("dx", "dy", "sx", "sy", "rho"),
    [
        (0.0, 0.0, 300.0, 300.0, 0.0),  # on the apex
        (-150.0, 0.0, 200.0, 120.0, 0.6),  # inside the 60 degree wedge
        (120.0, 40.0, 250.0, 80.0, -0.8),  # outside the bend
        (-60.0, 90.0, 40.0, 400.0, 0.3),  # near one arm, long error along it
    ],
)
def test_p_side_matches_brute_force_near_a_bend(
    bend: tuple[TheaterState, SideGeometry],
    *,
    dx: float,
    dy: float,
    sx: float,
    sy: float,
    rho: float,
) -> None:
    s, geo = bend
    areas, _ = local(s)
    cov = np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])
    p = geo.p_side(np.array([X0 + dx]), np.array([Y0 + dy]), cov[None])[0]
    expected = brute_p([areas[k] for k in geo.sides], X0 + dx, Y0 + dy, cov)
    # The brute force itself is good to ~1e-3; the brief allows 0.02.
    assert np.abs(p - expected).max() < 0.005


def test_enclave_with_a_hole_and_a_multipolygon() -> None:
    """side-e holds the east and an enclave inside side-w (a hole in side-w's area)."""
    hole = Polygon([(X0 - 8000, Y0 - 1000), (X0 - 6000, Y0 - 1000), (X0 - 7000, Y0 + 1500)])
    west = Polygon(
        [
            (X0, Y0 - 10_000),
            (X0, Y0 + 10_000),
            (X0 - 20_000, Y0 + 10_000),
            (X0 - 20_000, Y0 - 10_000),
        ],
        [hole.exterior.coords],
    )
    east = shapely.union(
        Polygon(
            [
                (X0, Y0 - 10_000),
                (X0 + 20_000, Y0 - 10_000),
                (X0 + 20_000, Y0 + 10_000),
                (X0, Y0 + 10_000),
            ]
        ),
        hole,
    )
    line = shapely.union(LineString([(X0, Y0 - 10_000), (X0, Y0 + 10_000)]), hole.exterior)
    s = state({"side-w": west, "side-e": east}, shapely.line_merge(line))
    geo = SideGeometry(s, FRAME)
    areas, local_line = local(s)
    rng = np.random.default_rng(8)
    x, y = rng.uniform(X0 - 9000, X0 - 5000, 20_000), rng.uniform(Y0 - 2000, Y0 + 2500, 20_000)
    assert np.array_equal(geo.side_of(x, y), reference_side(geo, areas, x, y))
    ref = shapely.distance(local_line, shapely.points(x, y))
    assert np.all(np.abs(geo.d_line_m(x, y) - ref) <= 1e-6 * ref + 1e-9)
    for px, py, sigma in [
        (X0 - 7000, Y0, 400.0),
        (X0 - 6000, Y0 - 1000, 150.0),
        (X0 - 7000, Y0 + 1700, 300.0),
    ]:
        cov = np.diag([sigma**2, (0.7 * sigma) ** 2])
        p = geo.p_side(np.array([px]), np.array([py]), cov[None])[0]
        expected = brute_p([areas[k] for k in geo.sides], px, py, cov)
        assert np.abs(p - expected).max() < 0.005


def test_one_side_theater() -> None:
    area = Polygon([(X0 - 5000, Y0 - 5000), (X0 + 5000, Y0 - 5000), (X0, Y0 + 5000)])
    geo = SideGeometry(state({"side-e": area}, LineString()), FRAME, sides=["side-e", "side-w"])
    x = np.array([X0, X0, X0, X0 + 3e5])
    y = np.array([Y0, Y0 - 4990, Y0 - 5100, Y0])
    p = geo.p_side(x, y, iso(50.0, 4))
    # Inside, near the edge (mass beyond it dropped), just outside (renormalised), far.
    assert np.array_equal(p, [[1, 0], [1, 0], [1, 0], [0, 0]])
    assert np.array_equal(geo.side_of(x, y), [0, 0, -1, -1])
    assert np.all(np.isinf(geo.d_line_m(x, y)))
    assert np.all(np.isnan(geo.signed_distance_m(x, y)))
    assert np.all(np.isinf(geo.attribute(x, y).d_line_m))


def test_no_areas() -> None:
    geo = SideGeometry(state({}, LineString([(X0, Y0), (X0, Y0 + 1000)])), FRAME)
    a = geo.attribute(np.array([X0 + 10.0]), np.array([Y0]), iso(10.0))
    assert geo.sides == () and np.array_equal(a.side, [-1])
    assert a.p_side is not None and a.p_side.shape == (1, 0)
    # No side on either hand: the sign follows the line (north), positive on its left.
    assert a.signed_distance_m[0] == -10.0 and a.d_line_m[0] == 10.0


def test_not_finite_points() -> None:
    geo = SideGeometry(two_sides(bend_line(90), 25_000), FRAME)
    x, y = np.array([np.nan, X0, np.inf]), np.array([Y0, np.nan, Y0])
    a = geo.attribute(x, y, iso(10.0, 3))
    assert np.array_equal(a.side, [-1, -1, -1])
    assert np.all(np.isnan(a.signed_distance_m))
    assert a.p_side is not None and np.array_equal(a.p_side, np.zeros((3, 2)))


def test_empty_input(straight: SideGeometry) -> None:
    e = np.zeros(0)
    a = straight.attribute(e, e, np.zeros((0, 2, 2)))
    assert a.side.shape == (0,) and a.signed_distance_m.shape == (0,)
    assert a.p_side is not None and a.p_side.shape == (0, 2)


@pytest.mark.parametrize(
    "cov",
    [
        np.array([[-1.0, 0.0], [0.0, 1.0]]),
        np.array([[1.0, 2.0], [2.0, 1.0]]),
        np.array([[np.nan, 0.0], [0.0, 1.0]]),
        np.zeros((3, 2, 2)),
    ],
)
def test_bad_covariance_is_refused(straight: SideGeometry, cov: FloatArray) -> None:
    with pytest.raises(InvalidInput, match="cov_m2"):
        straight.p_side(np.array([X0, X0]), np.array([Y0, Y0]), cov)


def test_sides_can_be_given(wiggly: tuple[TheaterState, SideGeometry]) -> None:
    s, geo = wiggly
    other = SideGeometry(s, FRAME, sides=["side-w", "side-x", "side-e"])
    x, y = np.array([X0 - 15_000, X0 + 200.0]), np.array([Y0, Y0])
    p, q = other.p_side(x, y, iso(300.0, 2)), geo.p_side(x, y, iso(300.0, 2))
    assert np.array_equal(p, q[:, [1, 1, 0]] * [1, 0, 1])
    to_other = np.array([2, 0])  # side-e, side-w in `geo` -> in `other`
    assert np.array_equal(other.side_of(x, y), to_other[geo.side_of(x, y)])
    with pytest.raises(InvalidInput):
        SideGeometry(s, FRAME, sides=["side-e", "side-e"])


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    d=st.floats(-3000, 3000),
    along=st.floats(-10_000, 10_000),
    sx=st.floats(0.5, 1500),
    sy=st.floats(0.5, 1500),
    rho=st.floats(-0.99, 0.99),
)
def test_mirror_image_swaps_the_sides(
    straight: SideGeometry, *, d: float, along: float, sx: float, sy: float, rho: float
) -> None:
    cov = np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])
    mirrored = cov * [[1, -1], [-1, 1]]  # x -> -x across the line x = X0
    p = straight.p_side(
        np.array([X0 + d, X0 - d]), np.full(2, Y0 + along), np.stack([cov, mirrored])
    )
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p[0], p[1, ::-1], atol=1e-6)
    # Across a straight line only the spread across it matters: Phi(d / sigma_x).
    assert p[0, 0] == pytest.approx(phi(d / math.sqrt(sx * sx + 1e-6)), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0, 1), off=st.floats(-500, 500), sigma=st.floats(1, 800))
def test_wiggly_p_side_is_a_probability_consistent_with_the_side(
    wiggly: tuple[TheaterState, SideGeometry], t: float, off: float, sigma: float
) -> None:
    s, geo = wiggly
    _, line = local(s)
    q = line.interpolate(t, normalized=True)
    x, y = np.array([q.x + off]), np.array([q.y])
    p = geo.p_side(x, y, iso(sigma))[0]
    assert p.sum() == pytest.approx(1.0)
    side = geo.side_of(x, y)[0]
    if side >= 0 and geo.d_line_m(x, y)[0] > 8 * sigma:
        assert p[side] == pytest.approx(1.0, abs=1e-9)


# --- the demo theater, after handovers -----------------------------------------------------


@pytest.fixture(scope="module")
def demo_after(demo_theater: Theater) -> tuple[TheaterState, SideGeometry]:
    s = demo_theater.at(AFTER_HANDOVERS)
    assert s.contact_line.geom_type == "MultiLineString"
    return s, SideGeometry(s, demo_theater.frame)


def test_demo_after_handovers_matches_shapely(
    demo_after: tuple[TheaterState, SideGeometry],
) -> None:
    s, geo = demo_after
    areas, line = local(s)
    minx, miny, maxx, maxy = line.bounds
    rng = np.random.default_rng(7)
    x = rng.uniform(minx - 30_000, maxx + 30_000, 50_000)
    y = rng.uniform(miny - 5_000, maxy + 5_000, 50_000)
    ref = shapely.distance(line, shapely.points(x, y))
    assert np.all(np.abs(geo.d_line_m(x, y) - ref) <= 1e-6 * ref + 1e-9)
    assert np.array_equal(geo.side_of(x, y), reference_side(geo, areas, x, y))
    # And the same answer as the theater's own (WGS84) lookup, away from boundaries.
    x, y = x[:5000], y[:5000]
    lon, lat = FRAME.to_wgs84(x, y)
    boundary = shapely.union_all([a.boundary for a in areas.values()])
    clear = shapely.distance(boundary, shapely.points(x, y)) > 1.0
    theirs = s.sides_of(lon[clear], lat[clear])
    ours = [None if i < 0 else geo.sides[i] for i in geo.side_of(x[clear], y[clear])]
    assert ours == theirs


def test_demo_after_handovers_shared_edges_are_a_coin_toss(
    demo_after: tuple[TheaterState, SideGeometry],
) -> None:
    """On the edges a handed-over district now shares with the other side, far from any
    corner, a small error leaves each side half the mass."""
    s, geo = demo_after
    areas, _ = local(s)
    shared = shapely.intersection(areas["side-e"].boundary, areas["side-w"].boundary)
    mids = []
    for part in shapely.get_parts(shared):
        if part.geom_type == "LineString":
            xy = shapely.get_coordinates(part)
            a, b = xy[:-1], xy[1:]
            mids.append(((a + b) / 2)[np.hypot(*(b - a).T) > 200])
    mid = np.vstack(mids)
    assert len(mid) > 10
    p = geo.p_side(mid[:, 0], mid[:, 1], iso(10.0, len(mid)))
    assert np.allclose(p, 0.5, atol=1e-4)


def test_demo_after_handovers_p_side_matches_brute_force(
    demo_after: tuple[TheaterState, SideGeometry],
) -> None:
    """Near corners of the boundary between the sides (side-w's area is a MultiPolygon)."""
    s, geo = demo_after
    areas, _ = local(s)
    shared = shapely.intersection(areas["side-e"].boundary, areas["side-w"].boundary)
    corners = []
    for part in shapely.get_parts(shapely.line_merge(shared)):
        xy = shapely.get_coordinates(part)
        heading = np.unwrap(np.arctan2(*np.diff(xy, axis=0).T[::-1]))
        corners.append(xy[1:-1][np.abs(np.diff(heading)) > math.radians(20)])
    picked = np.vstack(corners)[:5]
    assert len(picked) >= 3
    cov = np.array([[300.0**2, 0.5 * 300 * 200], [0.5 * 300 * 200, 200.0**2]])
    for px, py in picked + np.array([60.0, -40.0]):
        p = geo.p_side(np.array([px]), np.array([py]), cov[None])[0]
        expected = brute_p([areas[k] for k in geo.sides], px, py, cov)
        assert np.abs(p - expected).max() < 0.005


def test_attribution_result_is_frozen() -> None:
    a = Attribution(np.zeros(1, np.intp), np.ones(1), np.ones(1))
    with pytest.raises(AttributeError):
        a.side = np.zeros(1, np.intp)  # type: ignore[misc]
