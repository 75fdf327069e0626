"""Camera footprints: geometry against hand-worked cases, clipping, validity, determinism."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis.footprint import (
    MIN_AREA_M2,
    Footprints,
    GimbalFrame,
    convex_quads,
    footprints,
    from_corners,
    sincos_deg,
)
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame

#: A plane centred on the drone: no grid convergence and unit scale there, so ground
#: offsets in metres east/north are plane offsets (to well under a millimetre).
LAT0, LON0 = 40.0, 46.0
FRAME = LocalFrame(f"+proj=tmerc +lat_0={LAT0} +lon_0={LON0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
UTM = LocalFrame("EPSG:32638")


def nadir(**kw: Any) -> dict[str, Any]:
    """Arguments of a camera straight down from 1000 m, nose north, 40 x 30 degrees."""
    args: dict[str, Any] = {
        "yaw_deg": 0.0,
        "pitch_deg": 0.0,
        "roll_deg": 0.0,
        "gimbal_yaw_deg": 0.0,
        "gimbal_pitch_deg": -90.0,
        "gimbal_roll_deg": 0.0,
        "hfov_deg": 40.0,
        "vfov_deg": 30.0,
        "frame": FRAME,
    }
    args.update(kw)
    return args


def one(alt_m: float = 1000.0, **kw: Any) -> Footprints:
    return footprints(LAT0, LON0, alt_m, **nadir(**kw))


def offsets(fp: Footprints, i: int = 0) -> FloatArray:
    out: FloatArray = fp.corners_m[i] - fp.nadir_m[i]
    return out


def rotate_compass(xy: FloatArray, deg: float) -> FloatArray:
    """Turn plane vectors clockwise (as a compass heading turns) by deg."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.column_stack([xy[:, 0] * c + xy[:, 1] * s, -xy[:, 0] * s + xy[:, 1] * c])


# -- sines and cosines ---------------------------------------------------------------------


def test_sincos_matches_math_and_is_exact_at_quadrants() -> None:
    a = np.linspace(-360.0, 360.0, 72001)
    s, c = sincos_deg(a)
    ms = np.array([math.sin(math.radians(v)) for v in a])
    mc = np.array([math.cos(math.radians(v)) for v in a])
    # math's own error grows with the angle (radians(360) is rounded): 1e-15 covers both.
    assert np.abs(s - ms).max() < 1e-15
    assert np.abs(c - mc).max() < 1e-15
    small = np.abs(a) <= 45.0
    assert np.abs(s - ms)[small].max() < 2.5e-16
    s, c = sincos_deg(np.array([0.0, 90.0, 180.0, 270.0, -90.0, 360.0]))
    assert s.tolist() == [0.0, 1.0, 0.0, -1.0, -1.0, 0.0]
    assert c.tolist() == [1.0, 0.0, -1.0, 0.0, 0.0, 1.0]


# -- geometry -------------------------------------------------------------------------------


def test_nadir_is_the_rectangle_under_the_drone() -> None:
    fp = one()
    w = 1000.0 * math.tan(math.radians(20.0))
    h = 1000.0 * math.tan(math.radians(15.0))
    # ST 0601 order: upper left, upper right, lower right, lower left; image up = north.
    want = np.array([[-w, h], [w, h], [w, -h], [-w, -h]])
    assert fp.valid.tolist() == [True]
    assert np.abs(offsets(fp) - want).max() < 1e-4
    assert fp.slant_m[0] == pytest.approx(1000.0)
    assert not fp.clipped[0] and not fp.reordered[0]
    assert np.abs(fp.nadir_m[0]).max() < 1e-6  # the plane's origin is the drone


def test_gsd_at_nadir() -> None:
    fp = one(image_width_px=1920)
    assert fp.gsd_m[0] == pytest.approx(2000.0 * math.tan(math.radians(20.0)) / 1920)
    assert np.isnan(one().gsd_m[0])


@pytest.mark.parametrize("yaw", [30.0, 90.0, -135.0, 400.0])
def test_yaw_rotates_it(yaw: float) -> None:
    base = offsets(one())
    turned = offsets(one(yaw_deg=yaw))
    assert np.abs(turned - rotate_compass(base, yaw)).max() < 1e-4


def test_gimbal_yaw_in_each_frame_is_the_same_turn() -> None:
    want = offsets(one(yaw_deg=40.0))
    for fp in (
        one(gimbal_yaw_deg=40.0),
        one(yaw_deg=10.0, gimbal_yaw_deg=30.0, gimbal_frame=GimbalFrame.HORIZON),
        one(yaw_deg=-70.0, gimbal_yaw_deg=40.0, gimbal_frame=GimbalFrame.EARTH),
    ):
        assert np.abs(offsets(fp) - want).max() < 1e-4


def test_pitch_moves_it_forward() -> None:
    fp = one(gimbal_pitch_deg=-60.0)  # boresight 30 degrees off the vertical, ahead
    o = offsets(fp)
    assert o[0, 1] == pytest.approx(1000.0 * math.tan(math.radians(45.0)), abs=1e-4)  # far
    assert o[1, 1] == pytest.approx(o[0, 1], abs=1e-6)
    assert o[3, 1] == pytest.approx(1000.0 * math.tan(math.radians(15.0)), abs=1e-4)  # near
    assert o[0, 0] == pytest.approx(-o[1, 0], abs=1e-6) and o[3, 0] == pytest.approx(-o[2, 0])
    assert fp.slant_m[0] == pytest.approx(1000.0 / math.cos(math.radians(30.0)))
    # The far edge is wider than the near one: a trapezoid.
    assert o[1, 0] - o[0, 0] > o[2, 0] - o[3, 0]


def test_platform_attitude_counts_in_the_body_frame_only() -> None:
    want = offsets(one(gimbal_pitch_deg=-60.0))
    # Nose down 30 and the gimbal at -60 from the nose: the camera looks straight down.
    assert (
        np.abs(offsets(one(pitch_deg=-30.0, gimbal_pitch_deg=-60.0)) - offsets(one())).max() < 1e-4
    )
    # A stabilised gimbal's pitch and roll are from the horizon: the platform's do not count.
    horizon = one(
        pitch_deg=-30.0, roll_deg=12.0, gimbal_pitch_deg=-60.0, gimbal_frame=GimbalFrame.HORIZON
    )
    assert np.abs(offsets(horizon) - want).max() < 1e-4
    earth = one(
        pitch_deg=7.0, roll_deg=-9.0, gimbal_pitch_deg=-60.0, gimbal_frame=GimbalFrame.EARTH
    )
    assert np.abs(offsets(earth) - want).max() < 1e-4


def test_roll_is_symmetric() -> None:
    for roll in (5.0, 20.0, 35.0):
        right, left = offsets(one(roll_deg=roll)), offsets(one(roll_deg=-roll))
        mirrored = left[[1, 0, 3, 2]] * np.array([-1.0, 1.0])  # east-west mirror, UL <-> UR
        assert np.abs(right - mirrored).max() < 1e-4
        # Right wing down tilts the belly, and a camera fixed to it, to the left (west).
        assert right.mean(axis=0)[0] < 0.0


def test_per_sample_gimbal_frames() -> None:
    kw = nadir(yaw_deg=25.0, pitch_deg=8.0, roll_deg=-6.0, gimbal_yaw_deg=15.0)
    kw["gimbal_pitch_deg"] = -50.0
    each = [footprints(LAT0, LON0, 900.0, **{**kw, "gimbal_frame": g}) for g in GimbalFrame]
    mixed = footprints([LAT0] * 3, [LON0] * 3, 900.0, **{**kw, "gimbal_frame": [2, 0, 1]})
    for i, g in enumerate([2, 0, 1]):
        assert np.array_equal(mixed.corners_m[i], each[g].corners_m[0])
    assert not np.array_equal(each[0].corners_m, each[1].corners_m)


def test_grid_convergence_turns_the_footprint_in_utm() -> None:
    # 1.5 degrees east of the central meridian of zone 38 at 40 N: grid north is about
    # 0.96 degrees east of true north, so a north-looking footprint leans west in the grid.
    lat, lon = 40.0, 46.5
    fp = footprints(lat, lon, 1000.0, **nadir(frame=UTM, gimbal_pitch_deg=-45.0))
    centre_dir = np.degrees(np.arctan2(*offsets(fp).mean(axis=0)))
    convergence = float(UTM.grid_north_deg(lon, lat)[0])
    assert centre_dir == pytest.approx(-convergence, abs=0.02)


# -- clipping and validity ---------------------------------------------------------------------


def test_horizon_looking_camera_gives_a_clipped_valid_polygon() -> None:
    fp = one(gimbal_pitch_deg=0.0, max_slant_m=5000.0)
    assert fp.valid[0] and fp.clipped[0]
    assert fp.slant_m[0] == math.inf
    reach = math.sqrt(5000.0**2 - 1000.0**2)
    d = np.hypot(*offsets(fp).T)
    assert d.max() <= reach * (1 + 1e-12)
    poly = shapely.Polygon(fp.corners_m[0])
    assert poly.is_valid and poly.area > 1e5
    # The near edge is where the lower rays meet the ground, 15 degrees below the horizon.
    assert offsets(fp)[2:, 1] == pytest.approx(
        [1000.0 / math.tan(math.radians(15.0))] * 2, abs=1e-3
    )


def test_no_ground_within_reach_is_no_footprint() -> None:
    for kw in (
        {"gimbal_pitch_deg": 20.0},  # every ray above the horizon
        {"gimbal_pitch_deg": 10.0, "max_slant_m": 3000.0},  # ground only far beyond reach
        {"gimbal_pitch_deg": 0.0, "max_slant_m": 3000.0},
    ):
        fp = one(**kw)
        assert not fp.valid[0], kw
        assert np.isnan(fp.corners_m[0]).all() and np.isnan(fp.slant_m[0])
    assert not one(alt_m=-5.0).valid[0]  # below the ground
    assert not one(alt_m=6000.0, max_slant_m=5000.0).valid[0]  # higher than it can see
    assert not one(hfov_deg=180.0).valid[0]
    assert not one(vfov_deg=0.0).valid[0]
    assert not footprints(math.nan, LON0, 1000.0, **nadir()).valid[0]


def test_a_wide_lens_seeing_the_nadir_keeps_its_clipped_footprint() -> None:
    fp = one(hfov_deg=170.0, vfov_deg=170.0, max_slant_m=3000.0)
    assert fp.valid[0] and fp.clipped[0]
    assert np.hypot(*offsets(fp).T) == pytest.approx([math.sqrt(3000.0**2 - 1000.0**2)] * 4)


angles = st.floats(-180.0, 180.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    yaw=angles,
    pitch=st.floats(-90.0, 90.0),
    roll=angles,
    gyaw=angles,
    gpitch=st.floats(-120.0, 30.0),
    groll=angles,
    hfov=st.floats(1.0, 175.0),
    vfov=st.floats(1.0, 175.0),
    alt=st.floats(5.0, 3000.0),
    mode=st.sampled_from(list(GimbalFrame)),
)
def test_every_footprint_is_convex_clockwise_and_within_reach(
    *,
    yaw: float,
    pitch: float,
    roll: float,
    gyaw: float,
    gpitch: float,
    groll: float,
    hfov: float,
    vfov: float,
    alt: float,
    mode: GimbalFrame,
) -> None:
    max_slant = 4000.0
    fp = one(
        alt,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
        gimbal_yaw_deg=gyaw,
        gimbal_pitch_deg=gpitch,
        gimbal_roll_deg=groll,
        hfov_deg=hfov,
        vfov_deg=vfov,
        gimbal_frame=mode,
        max_slant_m=max_slant,
    )
    if not fp.valid[0]:
        assert np.isnan(fp.corners_m[0]).all()
        return
    o = offsets(fp)
    assert np.isfinite(o).all()
    reach = math.sqrt(max_slant**2 - alt**2)
    assert np.hypot(*o.T).max() <= reach * (1 + 1e-9) + 1e-6
    # Convex and clockwise: every turn is to the right (a repeated vertex turns by 0).
    e = np.roll(o, -1, axis=0) - o
    turns = np.roll(e, 1, axis=0)[:, 0] * e[:, 1] - np.roll(e, 1, axis=0)[:, 1] * e[:, 0]
    assert (turns <= 1e-9 * reach * reach).all()
    poly = shapely.Polygon(o)
    assert poly.is_valid and poly.area >= MIN_AREA_M2 * (1 - 1e-9)
    assert fp.slant_m[0] >= alt * (1 - 1e-12)
    if not fp.clipped[0]:
        assert fp.slant_m[0] <= max_slant or fp.slant_m[0] == math.inf


def _reference_corner(
    alt: float, attitude: tuple[float, float, float], u: float, v: float
) -> tuple[float, float] | None:
    """A corner on flat ground, by rotating the ray one axis at a time (earth frame)."""
    yaw, pitch, roll = attitude
    d = [1.0, u, v]  # camera: forward, right, down
    r = math.radians
    x, y, z = d
    y, z = (
        y * math.cos(r(roll)) - z * math.sin(r(roll)),
        y * math.sin(r(roll)) + z * math.cos(r(roll)),
    )
    x, z = (
        x * math.cos(r(pitch)) + z * math.sin(r(pitch)),
        -x * math.sin(r(pitch)) + z * math.cos(r(pitch)),
    )
    x, y = x * math.cos(r(yaw)) - y * math.sin(r(yaw)), x * math.sin(r(yaw)) + y * math.cos(r(yaw))
    if z <= 0:
        return None
    return (alt / z * y, alt / z * x)  # east, north


@settings(max_examples=200, deadline=None)
@given(
    yaw=angles,
    pitch=st.floats(-89.0, -20.0),
    roll=st.floats(-30.0, 30.0),
    hfov=st.floats(5.0, 60.0),
    vfov=st.floats(5.0, 60.0),
)
def test_unclipped_corners_match_a_reference(
    yaw: float, pitch: float, roll: float, hfov: float, vfov: float
) -> None:
    fp = one(
        700.0,
        gimbal_yaw_deg=yaw,
        gimbal_pitch_deg=pitch,
        gimbal_roll_deg=roll,
        hfov_deg=hfov,
        vfov_deg=vfov,
        gimbal_frame=GimbalFrame.EARTH,
        max_slant_m=1e9,
    )
    th, tv = math.tan(math.radians(hfov / 2)), math.tan(math.radians(vfov / 2))
    want = [
        _reference_corner(700.0, (yaw, pitch, roll), u * th, v * tv)
        for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    if any(w is None for w in want) or fp.reordered[0]:
        return
    scale = max(1.0, float(np.abs(offsets(fp)).max()))
    assert np.abs(offsets(fp) - np.array(want)).max() < 1e-6 * scale


# -- KLV corners ------------------------------------------------------------------------------


def test_from_corners_keeps_clockwise_corners_and_turns_others() -> None:
    w, h = 300.0, 200.0
    xy = np.array([[-w, h], [w, h], [w, -h], [-w, -h]])  # clockwise from upper left
    lon, lat = FRAME.to_wgs84(xy[:, 0], xy[:, 1])
    fp = from_corners([lat, lat[::-1]], [lon, lon[::-1]], FRAME, slant_m=1500.0)
    assert fp.valid.tolist() == [True, True]
    assert np.abs(fp.corners_m[0] - xy).max() < 1e-6
    assert not fp.reordered[0] and fp.reordered[1]
    assert shapely.Polygon(fp.corners_m[1]).equals_exact(shapely.Polygon(xy), 1e-6) or (
        shapely.Polygon(fp.corners_m[1]).symmetric_difference(shapely.Polygon(xy)).area < 1e-3
    )
    assert fp.usable(max_slant_m=2000.0).tolist() == [True, True]
    assert fp.usable(max_slant_m=1000.0).tolist() == [False, False]
    bad = from_corners([[lat[0], lat[1], math.nan, lat[3]]], [lon], FRAME)
    assert not bad.valid[0]
    with pytest.raises(InvalidInput):
        from_corners(lat, lon, FRAME)


def test_convex_quads_repairs_a_bow_tie_and_a_dart() -> None:
    x = np.array([[0.0, 10.0, 10.0, 0.0], [0.0, 10.0, 3.0, 0.0]])
    y = np.array([[0.0, 10.0, 0.0, 10.0], [0.0, 0.0, 3.0, 10.0]])
    qx, qy, fixed = convex_quads(x, y)
    assert fixed.tolist() == [True, True]
    bow = shapely.Polygon(np.column_stack([qx[0], qy[0]]))
    assert bow.is_valid and bow.area == pytest.approx(100.0)
    dart = shapely.Polygon(np.column_stack([qx[1], qy[1]]))  # (3, 3) lies inside the rest
    assert dart.is_valid and dart.area == pytest.approx(50.0)
    assert shapely.Polygon(np.column_stack([qx[0], qy[0]])).exterior.is_ccw is False


# -- a DEM ------------------------------------------------------------------------------------


def test_a_flat_dem_is_flat_ground() -> None:
    def dem(x: FloatArray, y: FloatArray) -> FloatArray:
        return np.full(np.shape(x), 250.0)

    kw = {"gimbal_pitch_deg": -55.0, "yaw_deg": 33.0}
    a = one(1250.0, ground_elev_m=dem, **kw)
    b = one(1250.0, ground_elev_m=250.0, **kw)
    assert np.abs(a.corners_m - b.corners_m).max() < 1e-9
    assert a.slant_m[0] == pytest.approx(b.slant_m[0])


def test_a_sloping_dem_moves_the_corners_onto_the_slope() -> None:
    slope = 0.1  # the ground rises 10 m per 100 m northward

    def dem(x: FloatArray, y: FloatArray) -> FloatArray:
        return np.asarray(slope * np.asarray(y), dtype=np.float64)

    fp = one(1000.0, ground_elev_m=dem, gimbal_pitch_deg=-60.0, dem_iterations=30)
    flat = one(1000.0, gimbal_pitch_deg=-60.0)
    o, of = offsets(fp), offsets(flat)
    # Each corner lies on its ray (same direction as on flat ground) and on the slope:
    # the ray drops 1000 - slope * y over the horizontal distance it covers.
    for p, q in zip(o, of, strict=True):
        assert p[0] * q[1] == pytest.approx(p[1] * q[0], abs=1e-3)
        k = np.hypot(*p) / np.hypot(*q)
        assert k * 1000.0 == pytest.approx(1000.0 - slope * p[1], rel=1e-6)
    assert o[0, 1] < of[0, 1]  # the far edge comes nearer on rising ground


# -- shapes, order, determinism -------------------------------------------------------------------


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="has shape"):
        footprints([LAT0, LAT0], [LON0, LON0], 1000.0, **nadir(yaw_deg=[0.0, 1.0, 2.0]))
    with pytest.raises(InvalidInput, match="gimbal_frame"):
        one(gimbal_frame=7)
    with pytest.raises(InvalidInput, match="max_slant_m"):
        one(max_slant_m=0.0)


def _batch(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "lat_deg": 39.9 + rng.random(n) * 0.4,
        "lon_deg": 46.3 + rng.random(n) * 0.5,
        "alt_m": rng.uniform(200.0, 2000.0, n),
        "yaw_deg": rng.uniform(-180.0, 540.0, n),
        "pitch_deg": rng.normal(0.0, 10.0, n),
        "roll_deg": rng.normal(0.0, 10.0, n),
        "gimbal_yaw_deg": rng.uniform(-180.0, 180.0, n),
        "gimbal_pitch_deg": rng.uniform(-100.0, 10.0, n),
        "gimbal_roll_deg": rng.normal(0.0, 3.0, n),
        "hfov_deg": rng.uniform(5.0, 90.0, n),
        "vfov_deg": rng.uniform(5.0, 70.0, n),
        "gimbal_frame": rng.integers(0, 3, n),
    }


def test_same_answer_in_any_batch_and_any_number_of_threads() -> None:
    b = _batch(20_000, 7)
    whole = footprints(**b, frame=UTM, workers=1, image_width_px=1280)
    threads = footprints(**b, frame=UTM, workers=2, image_width_px=1280)
    half = 7_777
    parts = [
        footprints(**{k: v[s] for k, v in b.items()}, frame=UTM, image_width_px=1280)
        for s in (slice(0, half), slice(half, None))
    ]
    for name in ("corners_m", "valid", "slant_m", "clipped", "reordered", "gsd_m", "nadir_m"):
        a = getattr(whole, name)
        assert np.array_equal(a, getattr(threads, name), equal_nan=True), name
        joined = np.concatenate([getattr(p, name) for p in parts])
        assert np.array_equal(a, joined, equal_nan=True), name
    assert 0.3 < whole.valid.mean() < 1.0 and whole.clipped.any()


def test_polygons_for_export() -> None:
    b = _batch(50, 3)
    fp = footprints(**b, frame=UTM)
    polys = fp.polygons()
    assert [p is None for p in polys] == (~fp.valid).tolist()
    assert all(p.is_valid for p in polys if p is not None)
    assert len(fp) == 50
