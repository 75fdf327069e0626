"""Geodesy: geodesic round trips, GeographicLib's own test set, the local frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Proj
from shapely.geometry import LineString

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import (
    DENSIFY_DEG,
    FloatArray,
    LocalFrame,
    azimuth_deg,
    distance_m,
    forward,
    inverse,
    utm_crs_for,
)

# tests/geo/test_geodesy.py -> parents[2] is the repo root; samples live beside it.
SAMPLES = Path(__file__).resolve().parents[2] / "../shared/data/samples"
GEODTEST = SAMPLES / "geodesy" / "GeodTest-100.dat"

lons = st.floats(-180.0, 180.0, allow_nan=False)
# Away from the poles, where an azimuth is not defined.
lats = st.floats(-89.0, 89.0, allow_nan=False)
azimuths = st.floats(0.0, 360.0, allow_nan=False, exclude_max=True)
# Shorter than any geodesic's conjugate point (~19,970 km): the geodesic is the shortest.
dists = st.floats(1.0, 15_000_000.0, allow_nan=False)


def angle_diff_deg(a: FloatArray | float, b: FloatArray | float) -> FloatArray:
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    out: FloatArray = np.abs((diff + 180.0) % 360.0 - 180.0)
    return out


@given(lons, lats, azimuths, dists)
def test_forward_then_inverse_returns_the_start(
    lon: float, lat: float, az: float, d: float
) -> None:
    lon2, lat2 = forward(lon, lat, az, d)
    az12, az21, back_d = inverse(lon, lat, lon2, lat2)
    assert back_d[0] == pytest.approx(d, abs=1e-6)
    assert angle_diff_deg(az12[0], az)[()] < 1e-7
    # Walking back from the end along az21 comes home.
    lon0, lat0 = forward(lon2, lat2, az21, back_d)
    assert distance_m(lon0, lat0, lon, lat)[0] < 1e-6


@given(lons, lats, lons, lats)
def test_inverse_then_forward_reaches_the_end(
    lon1: float, lat1: float, lon2: float, lat2: float
) -> None:
    az12, _, d = inverse(lon1, lat1, lon2, lat2)
    lon_end, lat_end = forward(lon1, lat1, az12, d)
    assert distance_m(lon_end, lat_end, lon2, lat2)[0] < 1e-6


@given(lons, lats, lons, lats)
def test_azimuths_are_in_0_360(lon1: float, lat1: float, lon2: float, lat2: float) -> None:
    az12, az21, d = inverse(lon1, lat1, lon2, lat2)
    for az in (az12, az21):
        assert 0.0 <= az[0] < 360.0
    assert d[0] >= 0.0
    assert azimuth_deg(lon1, lat1, lon2, lat2)[0] == az12[0]
    assert distance_m(lon1, lat1, lon2, lat2)[0] == d[0]


def test_scalars_give_one_element_arrays() -> None:
    az12, az21, d = inverse(46.8, 39.9, 46.9, 40.0)
    lon, lat = forward(46.8, 39.9, 45.0, 1000.0)
    for a in (az12, az21, d, lon, lat):
        assert isinstance(a, np.ndarray)
        assert a.shape == (1,)
        assert a.dtype == np.float64


def test_arrays_broadcast_like_numpy() -> None:
    lon1 = np.array([[46.0], [46.5]])  # (2, 1)
    lat2 = np.array([39.0, 39.5, 40.0])  # (3,)
    az12, az21, d = inverse(lon1, 39.9, 46.8, lat2)
    assert az12.shape == az21.shape == d.shape == (2, 3)
    # Each element is the scalar answer.
    for i, j in np.ndindex(2, 3):
        one = inverse(float(lon1[i, 0]), 39.9, 46.8, float(lat2[j]))
        assert d[i, j] == one[2][0]
        assert az12[i, j] == one[0][0]
    lon, lat = forward(46.8, 39.9, np.array([0.0, 90.0, 180.0, 270.0]), 1000.0)
    assert lon.shape == lat.shape == (4,)
    assert lat[0] > 39.9 and lon[1] > 46.8 and lat[2] < 39.9 and lon[3] < 46.8


def test_lists_are_accepted_and_inputs_not_modified() -> None:
    lon = np.array([46.0, 47.0])
    before = lon.copy()
    _, _, d = inverse(lon, [39.0, 40.0], 46.5, 39.5)
    assert d.shape == (2,)
    assert np.array_equal(lon, before)


def test_a_known_distance() -> None:
    # One degree of latitude at the equator on WGS84: 110,574.389 m (GeographicLib).
    assert distance_m(0.0, 0.0, 0.0, 1.0)[0] == pytest.approx(110_574.389, abs=1e-3)
    assert azimuth_deg(0.0, 0.0, 0.0, 1.0)[0] == 0.0
    # Due west is 270, not -90.
    assert azimuth_deg(10.0, 0.0, 9.0, 0.0)[0] == pytest.approx(270.0)


def _geodtest() -> np.ndarray:
    if not GEODTEST.is_file():
        pytest.skip(f"GeographicLib test set not found at {GEODTEST.resolve()}")
    data = np.loadtxt(GEODTEST, dtype=np.float64)
    assert data.shape == (100, 10)
    return data


@pytest.mark.samples
def test_inverse_agrees_with_geographiclib_test_set() -> None:
    """GeodTest: lat1 lon1 azi1 lat2 lon2 azi2 s12 a12 m12 S12, exact to ~1e-15."""
    data = _geodtest()
    lat1, lon1, azi1, lat2, lon2, azi2, s12, a12, m12 = data[:, :9].T
    az12, az21, d = inverse(lon1, lat1, lon2, lat2)
    assert np.max(np.abs(d - s12)) < 2e-8  # metres, on distances up to 20,000 km
    # Nearly antipodal pairs (arc > 179 deg) have ill-conditioned azimuths: GeographicLib's
    # own test scores an azimuth error by the distance it moves the end, error * m12.
    ordinary = a12 < 179.0
    assert ordinary.sum() > 40
    assert np.max(angle_diff_deg(az12, azi1)[ordinary]) < 1e-8
    # Ours is the back azimuth (toward point 1); the file's azi2 is forward at point 2.
    assert np.max(angle_diff_deg(az21, azi2 + 180.0)[ordinary]) < 1e-8
    moved_m = np.radians(angle_diff_deg(az12, azi1)) * np.abs(m12)
    assert np.max(moved_m) < 1e-7


@pytest.mark.samples
def test_forward_agrees_with_geographiclib_test_set() -> None:
    data = _geodtest()
    lat1, lon1, azi1, lat2, lon2, _, s12 = data[:, :7].T
    lon, lat = forward(lon1, lat1, azi1, s12)
    assert np.max(distance_m(lon, lat, lon2, lat2)) < 1e-6


# --- UTM zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (46.8, 39.9, "EPSG:32638"),  # the Caucasus
        (45.0, 0.0, "EPSG:32638"),  # the equator counts as north
        (46.8, -39.9, "EPSG:32738"),
        (-180.0, 10.0, "EPSG:32601"),
        (180.0, 10.0, "EPSG:32660"),  # the antimeridian stays in zone 60
        (-0.0001, 51.5, "EPSG:32630"),
        (0.0, 51.5, "EPSG:32631"),
    ],
)
def test_utm_crs_for(lon: float, lat: float, crs: str) -> None:
    assert utm_crs_for(lon, lat) == crs


@pytest.mark.parametrize(("lon", "lat"), [(181.0, 0.0), (0.0, 90.5), (float("nan"), 0.0)])
def test_utm_crs_for_refuses_non_positions(lon: float, lat: float) -> None:
    with pytest.raises(InvalidInput, match="WGS84"):
        utm_crs_for(lon, lat)


# --- Local frame ------------------------------------------------------------------------

FRAME = LocalFrame("EPSG:32638")
near_lons = st.floats(43.0, 50.0, allow_nan=False)
near_lats = st.floats(35.0, 45.0, allow_nan=False)


@given(near_lons, near_lats)
def test_local_frame_round_trip(lon: float, lat: float) -> None:
    x, y = FRAME.to_local(lon, lat)
    back_lon, back_lat = FRAME.to_wgs84(x, y)
    assert distance_m(back_lon, back_lat, lon, lat)[0] < 1e-3


def test_local_frame_is_metres_east_north() -> None:
    x0, y0 = FRAME.to_local(46.8, 39.9)
    lon, lat = forward(46.8, 39.9, 0.0, 1000.0)
    x1, y1 = FRAME.to_local(lon, lat)
    # 1 km true north is ~1 km in the plane (UTM scale ~0.9996-1.0004), nearly along +y.
    assert float(np.hypot(x1 - x0, y1 - y0)[0]) == pytest.approx(1000.0, rel=1e-3)
    assert float((y1 - y0)[0]) > 999.0


def test_local_geometry_projects_every_vertex() -> None:
    line = LineString([(46.5, 39.5), (46.6, 39.7), (46.9, 40.0)])
    local = FRAME.to_local_geometry(line, max_segment_deg=None)
    xs, ys = FRAME.to_local([46.5, 46.6, 46.9], [39.5, 39.7, 40.0])
    assert np.allclose(shapely.get_coordinates(local), np.column_stack([xs, ys]))
    assert local.geom_type == "LineString"


def test_local_geometry_keeps_lon_lat_edges_straight_in_lon_lat() -> None:
    # An edge along the 40 N parallel, 0.5 degree (42.6 km) long: in UTM its midpoint
    # lies ~30 m off the chord between its projected ends (RFC 7946 edges are straight
    # in lon/lat). Densified, the projected edge passes through it.
    edge = LineString([(46.5, 40.0), (47.0, 40.0)])
    mx, my = FRAME.to_local(46.75, 40.0)
    mid = shapely.Point(mx[0], my[0])
    chord = FRAME.to_local_geometry(edge, max_segment_deg=None)
    assert 25.0 < chord.distance(mid) < 35.0
    dense = FRAME.to_local_geometry(edge)
    assert dense.distance(mid) < 0.01
    assert len(dense.coords) > 100
    # Polygons too: a shared edge with an extra vertex on one side only overlaps by
    # hectares when only the vertices are projected.
    a = shapely.Polygon([(46.0, 39.5), (46.5, 39.5), (46.5, 39.7), (46.5, 40.0), (46.0, 40.0)])
    b = shapely.box(46.5, 39.5, 47.0, 40.0)

    def overlap_m2(max_segment_deg: float | None) -> float:
        la = FRAME.to_local_geometry(a, max_segment_deg)
        return float(la.intersection(FRAME.to_local_geometry(b, max_segment_deg)).area)

    assert overlap_m2(None) > 30_000.0
    assert overlap_m2(DENSIFY_DEG) < 1.0
    assert FRAME.to_local_geometry(shapely.Point()).is_empty


@pytest.mark.parametrize(
    ("crs", "why"),
    [
        ("EPSG:4326", "not projected"),
        ("EPSG:2222", "foot"),  # projected, but in international feet
        ("no such crs", "not a CRS"),
        ("", "not a CRS"),
        ("EPSG:999999", "not a CRS"),
    ],
)
def test_local_frame_refuses_non_metric_or_unknown_crs(crs: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        LocalFrame(crs)


@given(st.floats(39.0, 51.0), st.floats(-60.0, 60.0))
def test_grid_north_is_pyprojs_meridian_convergence(lon: float, lat: float) -> None:
    conv = Proj("EPSG:32638").get_factors(lon, lat).meridian_convergence
    assert FRAME.grid_north_deg(lon, lat)[0] == pytest.approx(conv, abs=1e-5)


def test_grid_north_sign() -> None:
    # Zone 38's central meridian is 45 E. East of it in the north, grid north lies east
    # of true north (positive); west of it, west; in the south, the other way round.
    assert FRAME.grid_north_deg(46.8, 39.9)[0] > 1.0
    assert FRAME.grid_north_deg(43.5, 39.9)[0] < -0.5
    assert FRAME.grid_north_deg(46.8, -39.9)[0] < -1.0
    assert abs(FRAME.grid_north_deg(45.0, 39.9)[0]) < 1e-6
    assert FRAME.grid_north_deg([44.0, 46.0], [39.9, 39.9]).shape == (2,)
