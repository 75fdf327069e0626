"""Bearings: compass points, WMM declination, magnetic and grid bearings to true."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Proj

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.bearings import (
    COMPASS_POINTS,
    COMPASS_SIGMA_DEG,
    BearingRef,
    compass_to_deg,
    deg_to_compass,
    magnetic_declination_deg,
    to_true_bearing,
)
from ceasewatch.geo.geodesy import LocalFrame

NOV_2026 = datetime(2026, 11, 1, tzinfo=UTC)
LAT, LON = 39.9, 46.8  # the Caucasus
FRAME = LocalFrame("EPSG:32638")


def test_sixteen_points_clockwise_from_north() -> None:
    assert len(COMPASS_POINTS) == 16
    assert [compass_to_deg(p) for p in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")] == [
        0.0,
        45.0,
        90.0,
        135.0,
        180.0,
        225.0,
        270.0,
        315.0,
    ]
    assert compass_to_deg("NNE") == 22.5
    assert compass_to_deg("WNW") == 292.5
    for i, point in enumerate(COMPASS_POINTS):
        assert compass_to_deg(point) == i * 22.5
        assert deg_to_compass(i * 22.5) == point


@pytest.mark.parametrize("text", ["  nne ", "Nne", "NNE"])
def test_compass_is_case_and_space_insensitive(text: str) -> None:
    assert compass_to_deg(text) == 22.5


@pytest.mark.parametrize("text", ["", "NORTH", "NNNE", "X", "N E"])
def test_not_a_compass_point(text: str) -> None:
    assert compass_to_deg(text) is None


@pytest.mark.parametrize(
    ("deg", "point"),
    [
        (11.2499, "N"),
        (11.25, "NNE"),  # a sector boundary belongs to the sector clockwise of it
        (348.75, "N"),
        (348.7499, "NNW"),
        (359.99, "N"),
        (360.0, "N"),
        (-22.5, "NNW"),
        (405.0, "NE"),
    ],
)
def test_deg_to_compass_sectors(deg: float, point: str) -> None:
    assert deg_to_compass(deg) == point


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_compass_centre_is_within_half_a_sector(deg: float) -> None:
    centre = compass_to_deg(deg_to_compass(deg))
    assert centre is not None
    assert abs((deg - centre + 180.0) % 360.0 - 180.0) <= 11.25 + 1e-9


@pytest.mark.parametrize("deg", [math.nan, math.inf, -math.inf])
def test_deg_to_compass_refuses_non_finite(deg: float) -> None:
    with pytest.raises(InvalidInput, match="finite"):
        deg_to_compass(deg)


def test_compass_sigma_is_a_uniform_sector() -> None:
    assert pytest.approx(6.495, abs=1e-3) == COMPASS_SIGMA_DEG


# --- Magnetic declination ---------------------------------------------------------------


def test_declination_in_the_caucasus() -> None:
    # WMM2025 at 39.9 N 46.8 E, November 2026: about +6.4 degrees (east).
    assert magnetic_declination_deg(LAT, LON, NOV_2026) == pytest.approx(6.4, abs=0.1)


def test_magnetic_to_true_adds_the_declination() -> None:
    d = magnetic_declination_deg(LAT, LON, NOV_2026)
    assert to_true_bearing(100.0, BearingRef.MAGNETIC, LAT, LON, NOV_2026) == pytest.approx(
        100.0 + d
    )
    # Wraps past north.
    assert to_true_bearing(358.0, BearingRef.MAGNETIC, LAT, LON, NOV_2026) == pytest.approx(
        358.0 + d - 360.0
    )


def test_declination_changes_slowly_and_models_join() -> None:
    # Across the 2025 model change the value moves, but by well under a degree.
    end_2020 = magnetic_declination_deg(LAT, LON, datetime(2024, 12, 31, 23, tzinfo=UTC))
    start_2025 = magnetic_declination_deg(LAT, LON, datetime(2025, 1, 1, 1, tzinfo=UTC))
    assert abs(end_2020 - start_2025) < 0.5


@pytest.mark.parametrize(
    "t",
    [
        datetime(2014, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=UTC),
        datetime(2031, 6, 1, tzinfo=UTC),
        datetime(1990, 6, 1, tzinfo=UTC),
    ],
)
def test_no_model_covers_the_date(t: datetime) -> None:
    with pytest.raises(InvalidInput, match="no World Magnetic Model covers"):
        magnetic_declination_deg(LAT, LON, t)
    with pytest.raises(InvalidInput, match="report this bearing as true or grid"):
        to_true_bearing(10.0, BearingRef.MAGNETIC, LAT, LON, t)


@pytest.mark.parametrize(
    "t",
    [
        datetime(2015, 1, 1, tzinfo=UTC),
        datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC),  # rounds to 2030.000: still 2025's
        datetime(2019, 12, 31, 23, 0, tzinfo=UTC),
    ],
)
def test_model_edges_are_covered(t: datetime) -> None:
    assert math.isfinite(magnetic_declination_deg(LAT, LON, t))


def test_declination_is_the_same_in_any_timezone() -> None:
    # 2026-01-01T02:00+04:00 is 2025-12-31T22:00Z: the decimal year is counted in UTC.
    local = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=4)))
    assert magnetic_declination_deg(LAT, LON, local) == magnetic_declination_deg(
        LAT, LON, local.astimezone(UTC)
    )


def test_declination_needs_an_aware_time() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        magnetic_declination_deg(LAT, LON, datetime(2026, 11, 1))


@pytest.mark.parametrize(("lat", "lon"), [(95.0, 46.8), (39.9, 200.0), (math.nan, 46.8)])
def test_declination_refuses_non_positions(lat: float, lon: float) -> None:
    with pytest.raises(InvalidInput, match="WGS84"):
        magnetic_declination_deg(lat, lon, NOV_2026)


# --- Grid bearings ----------------------------------------------------------------------


@pytest.mark.parametrize(("lat", "lon"), [(39.9, 46.8), (39.9, 43.2), (-33.0, 47.5)])
def test_grid_to_true_adds_pyprojs_convergence(lat: float, lon: float) -> None:
    conv = Proj("EPSG:32638").get_factors(lon, lat).meridian_convergence
    got = to_true_bearing(90.0, BearingRef.GRID, lat, lon, NOV_2026, frame=FRAME)
    assert got == pytest.approx(90.0 + conv, abs=1e-5)


def test_grid_north_east_of_the_central_meridian_is_east_of_true_north() -> None:
    # 46.8 E is east of zone 38's central meridian (45 E), in the northern hemisphere:
    # grid north points east of true north, so a grid bearing is a larger true bearing.
    assert to_true_bearing(0.0, BearingRef.GRID, LAT, LON, NOV_2026, frame=FRAME) > 1.0
    assert to_true_bearing(0.0, BearingRef.GRID, LAT, 43.5, NOV_2026, frame=FRAME) > 359.0


def test_grid_needs_a_frame() -> None:
    with pytest.raises(InvalidInput, match="CRS"):
        to_true_bearing(10.0, BearingRef.GRID, LAT, LON, NOV_2026)


def test_true_is_unchanged_and_needs_no_model() -> None:
    # A true bearing outside WMM coverage is fine: no model is asked.
    t = datetime(1990, 1, 1, tzinfo=UTC)
    assert to_true_bearing(123.4, BearingRef.TRUE, LAT, LON, t) == 123.4
    assert to_true_bearing(-10.0, BearingRef.TRUE, LAT, LON, t) == 350.0
    assert to_true_bearing(720.0, BearingRef.TRUE, LAT, LON, t) == 0.0


@pytest.mark.parametrize("ref", ["true", "magnetic", "grid"])
def test_plain_strings_are_the_same_as_the_enum(ref: str) -> None:
    # A plain "magnetic" once fell through `is BearingRef.MAGNETIC` and was taken as grid.
    want = to_true_bearing(50.0, BearingRef(ref), LAT, LON, NOV_2026, frame=FRAME)
    assert to_true_bearing(50.0, ref, LAT, LON, NOV_2026, frame=FRAME) == want


def test_unknown_reference_is_refused() -> None:
    with pytest.raises(InvalidInput, match="true, magnetic, grid"):
        to_true_bearing(50.0, "compass", LAT, LON, NOV_2026, frame=FRAME)


@pytest.mark.parametrize("bearing", [math.nan, math.inf])
def test_non_finite_bearing_is_refused(bearing: float) -> None:
    with pytest.raises(InvalidInput, match="finite"):
        to_true_bearing(bearing, BearingRef.TRUE, LAT, LON, NOV_2026)


@given(
    st.floats(-1e4, 1e4, allow_nan=False),
    st.sampled_from(list(BearingRef)),
)
def test_true_bearing_is_in_0_360(bearing: float, ref: BearingRef) -> None:
    got = to_true_bearing(bearing, ref, LAT, LON, NOV_2026, frame=FRAME)
    assert 0.0 <= got < 360.0


def test_tiny_negative_bearing_is_not_360() -> None:
    # (-1e-17) % 360.0 == 360.0 in floating point.
    assert to_true_bearing(-1e-17, BearingRef.TRUE, LAT, LON, NOV_2026) == 0.0
