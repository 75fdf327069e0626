"""Tracks to footprints to coverage: a drone flying along the demo line sees what is under
it, when it is there, and nothing when its camera looks at the horizon."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.footprint import footprints
from ceasewatch.analysis.segments import theater_segments
from ceasewatch.analysis.sortie import (
    CoverageSettings,
    coverage_ground,
    coverage_of,
    coverage_settings,
    geometry_at,
    geometry_changes,
    observed_hook,
    track_footprints,
)
from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.fleet import Camera
from ceasewatch.geo.geodesy import FloatArray
from ceasewatch.geo.theater import Theater, load_theater
from ceasewatch.ingest.track import GIMBAL_EARTH, Track, TrackReport

#: Before the demo theater's handover (2026-11-26T12:00Z): its line is one LineString.
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SEGMENT_M = 250.0


def line_track(
    theater: Theater,
    t0: datetime = T0,
    *,
    start_km: float = 20.0,
    length_km: float = 10.0,
    alt_m: float = 800.0,
    speed_mps: float = 30.0,
    hz: float = 10.0,
    gimbal_pitch_deg: float = -90.0,
    hfov_deg: float = np.nan,
    along: datetime = T0,
) -> Track:
    """A drone flying from t0 along the contact line in force at `along` (from start_km
    for length_km), its camera looking straight down (or at gimbal_pitch_deg, yaw along
    the flight)."""
    frame = theater.frame
    line = frame.to_local_geometry(theater.at(along).contact_line)
    assert isinstance(line, LineString)
    n = round(length_km * 1000.0 / speed_mps * hz) + 1
    s = start_km * 1000.0 + np.arange(n) * (speed_mps / hz)
    xy = np.array([line.interpolate(v).coords[0] for v in s])
    lon, lat = frame.to_wgs84(xy[:, 0], xy[:, 1])
    d = np.diff(xy, axis=0, append=xy[-1:] + (xy[-1:] - xy[-2:-1]))
    yaw = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0
    t_us = round(t0.timestamp() * 1e6) + np.arange(n, dtype=np.int64) * round(1e6 / hz)
    nan = np.full(n, np.nan)
    return Track(
        t_us=t_us,
        lat_deg=lat,
        lon_deg=lon,
        alt_m=np.full(n, alt_m),
        yaw_deg=yaw,
        pitch_deg=np.zeros(n),
        roll_deg=np.zeros(n),
        gimbal_yaw_deg=yaw,
        gimbal_pitch_deg=np.full(n, gimbal_pitch_deg),
        gimbal_roll_deg=np.zeros(n),
        gimbal_frame=np.full(n, GIMBAL_EARTH, dtype=np.int8),
        hfov_deg=np.full(n, hfov_deg),
        vfov_deg=nan.copy(),
        report=TrackReport(source="synthetic", format="csv", samples=n),
    )


def camera(theater: Theater) -> Camera:
    return theater.cameras["eo-30"]


def test_a_nadir_camera_takes_the_theater_camera_fov_where_the_track_has_none(
    demo_theater: Theater,
) -> None:
    tr = line_track(demo_theater, length_km=1.0)
    fp = track_footprints(tr, demo_theater.frame, camera(demo_theater))
    assert fp.valid.all() and fp.usable(3000.0).all()
    assert fp.slant_m == pytest.approx(800.0)
    # 30 x 17 degrees from 800 m: 428.7 m by 239.2 m.
    area = np.array([p.area for p in fp.polygons()])
    assert area == pytest.approx(
        2 * 800 * np.tan(np.radians(15)) * 2 * 800 * np.tan(np.radians(8.5)), rel=2e-3
    )
    wide = track_footprints(
        dataclasses.replace(tr, hfov_deg=np.full(len(tr), 60.0)),
        demo_theater.frame,
        camera(demo_theater),
    )
    assert (np.array([p.area for p in wide.polygons()]) > 2.0 * area).all()


def test_klv_corners_are_used_as_given(demo_theater: Theater) -> None:
    tr = line_track(demo_theater, length_km=0.5)
    frame = demo_theater.frame
    fp = track_footprints(tr, frame, camera(demo_theater))
    c = fp.corners_m
    lon, lat = frame.to_wgs84(c[:, :, 0].ravel(), c[:, :, 1].ravel())
    n = len(tr)
    nan = np.full(n, np.nan)
    klv = dataclasses.replace(
        tr,
        yaw_deg=nan,
        gimbal_pitch_deg=nan,
        corners_lat_deg=lat.reshape(n, 4),
        corners_lon_deg=lon.reshape(n, 4),
    )
    kfp = track_footprints(klv, frame, camera(demo_theater))
    assert kfp.valid.all()
    assert kfp.corners_m == pytest.approx(fp.corners_m, abs=1e-3)
    assert kfp.slant_m == pytest.approx(800.0, abs=0.01)  # camera over the centroid
    # A sample without corners falls back to the angles (here NaN: no footprint).
    lat_some = klv.corners_lat_deg
    assert lat_some is not None
    lat_some[0, 2] = np.nan
    assert not track_footprints(klv, frame, camera(demo_theater)).valid[0]


def test_the_ground_elevation_is_taken_off_the_altitude(demo_theater: Theater) -> None:
    tr = line_track(demo_theater, length_km=0.2, alt_m=1300.0)
    fp = track_footprints(tr, demo_theater.frame, camera(demo_theater), ground_elev_m=500.0)
    assert fp.slant_m == pytest.approx(800.0)


def test_segments_under_the_flight_are_seen_when_the_drone_is_over_them(
    demo_theater: Theater,
) -> None:
    tr = line_track(demo_theater)  # 20 km to 30 km along the line, 30 m/s from T0
    end = T0 + timedelta(hours=2)
    cov = coverage_of(
        demo_theater, [("s1", camera(demo_theater), tr)], segment_m=SEGMENT_M, start=T0, end=end
    )
    sg = cov.segments
    line = sg.in_group("line")
    mid_km = (sg.start_m + sg.length_m / 2.0) / 1000.0
    st = cov.stats(T0.timestamp(), end.timestamp())
    under = line & (mid_km > 20.2) & (mid_km < 29.8)
    away = line & ((mid_km < 19.5) | (mid_km > 30.5))
    assert under.sum() >= 38
    assert (st.visits[under] == 1).all()
    assert (st.visits[away] == 0).all()
    # Seen when the drone passes: at (s - 20 km) / 30 m/s after T0, within the
    # footprint's half depth (120 m: 4 s).
    expect = T0.timestamp() + (mid_km[under] - 20.0) * 1000.0 / 30.0
    assert np.abs((st.first_seen_s[under] + st.last_seen_s[under]) / 2.0 - expect).max() < 5.0
    assert (st.longest_gap_s[away] == 7200.0).all()


def test_pixels_coarser_than_the_camera_max_gsd_do_not_count(demo_theater: Theater) -> None:
    # Nadir from 800 m with a 30 deg, 1920 px wide image: 0.22 m per pixel.
    tr = line_track(demo_theater)
    end = T0 + timedelta(hours=2)
    seen = {}
    for gsd in (0.1, 0.5):
        cam = dataclasses.replace(camera(demo_theater), max_gsd_m=gsd)
        cov = coverage_of(demo_theater, [("s1", cam, tr)], segment_m=SEGMENT_M, start=T0, end=end)
        seen[gsd] = int((cov.stats(T0.timestamp(), end.timestamp()).visits > 0).sum())
    assert seen[0.1] == 0
    assert seen[0.5] >= 38


def test_a_camera_at_the_horizon_counts_nothing(demo_theater: Theater) -> None:
    tr = line_track(demo_theater, gimbal_pitch_deg=0.0)
    fp = track_footprints(tr, demo_theater.frame, camera(demo_theater))
    assert not fp.usable(camera(demo_theater).max_slant_m).any()
    cov = coverage_of(
        demo_theater,
        [("s1", camera(demo_theater), tr)],
        segment_m=SEGMENT_M,
        start=T0,
        end=T0 + timedelta(hours=1),
    )
    assert len(cov.start_s) == 0


def test_samples_outside_the_period_are_left_out(demo_theater: Theater) -> None:
    tr = line_track(demo_theater)  # 333 s of flight
    cam = camera(demo_theater)
    cut = T0 + timedelta(seconds=100)
    early = coverage_of(demo_theater, [("s", cam, tr)], segment_m=SEGMENT_M, start=T0, end=cut)
    assert len(early.end_s) and early.end_s.max() < cut.timestamp()
    assert len(early.start_s) < len(
        coverage_of(
            demo_theater, [("s", cam, tr)], segment_m=SEGMENT_M, start=T0, end=T0 + timedelta(1)
        ).start_s
    )


def test_two_tracks_in_any_order_give_the_same_visits(demo_theater: Theater) -> None:
    cam = camera(demo_theater)
    a = line_track(demo_theater, length_km=3.0)
    b = line_track(demo_theater, T0 + timedelta(minutes=30), start_km=40.0, length_km=3.0)

    def cover(tracks: list[tuple[str, Camera, Track]]) -> Coverage:
        end = T0 + timedelta(hours=1)
        return coverage_of(demo_theater, tracks, segment_m=SEGMENT_M, start=T0, end=end)

    one = cover([("a", cam, a), ("b", cam, b)])
    two = cover([("b", cam, b), ("a", cam, a)])
    assert one.start_s.tolist() == two.start_s.tolist() and len(one.start_s) > 0
    assert one.offsets.tolist() == two.offsets.tolist()
    with pytest.raises(InvalidInput, match="more than once"):
        cover([("a", cam, a), ("a", cam, b)])


def test_a_period_across_the_handover_is_reported_on_the_geometry_at_its_end(
    demo_theater: Theater,
) -> None:
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    end = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    handover = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert geometry_changes(demo_theater, start, end) == [handover]
    assert geometry_at(demo_theater, start, end) is demo_theater.at(handover)
    assert geometry_at(demo_theater, start, handover) is demo_theater.at(start)
    cov = coverage_of(demo_theater, [], segment_m=1000.0, start=start, end=end)
    expect = theater_segments(demo_theater.at(handover), demo_theater.frame, 1000.0)
    assert cov.segments.ids == expect.ids
    assert cov.segments.length_m.tolist() == expect.length_m.tolist()
    before = coverage_of(demo_theater, [], segment_m=1000.0, start=start, end=end, at=start)
    assert before.segments.length_m.sum() != pytest.approx(expect.length_m.sum())


def test_bad_periods_are_refused(demo_theater: Theater) -> None:
    with pytest.raises(InvalidInput, match="give --from before --to"):
        coverage_of(demo_theater, [], segment_m=SEGMENT_M, start=T0, end=T0)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        geometry_changes(demo_theater, T0.replace(tzinfo=None), T0)


def _with_settings(theater: Theater, coverage: object) -> Theater:
    return Theater(
        theater.name,
        theater.root,
        list(theater.orgs.values()),
        theater.features,
        theater.crs,
        settings={**theater.settings, "coverage": coverage},
        cameras=theater.cameras,
        drones=theater.drones,
    )


def test_coverage_settings_default_and_read(demo_theater: Theater) -> None:
    assert coverage_settings(demo_theater) == CoverageSettings()
    assert CoverageSettings().ground_elev_m == 0.0
    th = _with_settings(demo_theater, {"ground_elev_m": 450, "segment_m": 100.0, "window_h": 12})
    assert coverage_settings(th) == CoverageSettings(450.0, 100.0, 12.0, 5.0)


def test_bad_coverage_settings_say_where_and_what(demo_theater: Theater) -> None:
    th = _with_settings(demo_theater, {"segment_m": 0, "window_h": "6", "grund_elev_m": 1.0})
    with pytest.raises(InvalidInput) as exc:
        coverage_settings(th)
    text = exc.value.diagnostics()
    assert "theater.toml [coverage]" in text
    assert "segment_m = 0 must lie in (0, 100000]" in text
    assert "window_h = '6' must be a number" in text
    assert "unknown key 'grund_elev_m'" in text
    with pytest.raises(InvalidInput, match="must be a table"):
        coverage_settings(_with_settings(demo_theater, 5))


def test_footprints_of_the_helper_match_the_library(demo_theater: Theater) -> None:
    """The helper's track is what `footprints` would be given directly."""
    tr = line_track(demo_theater, length_km=0.1)
    cam = camera(demo_theater)
    direct = footprints(
        tr.lat_deg,
        tr.lon_deg,
        tr.alt_m,
        yaw_deg=tr.yaw_deg,
        pitch_deg=0.0,
        roll_deg=0.0,
        gimbal_yaw_deg=tr.gimbal_yaw_deg,
        gimbal_pitch_deg=-90.0,
        gimbal_roll_deg=0.0,
        hfov_deg=cam.hfov_deg,
        vfov_deg=cam.vfov_deg,
        frame=demo_theater.frame,
        gimbal_frame=GIMBAL_EARTH,
        max_slant_m=cam.max_slant_m,
        image_width_px=cam.image_width_px,
    )
    fp = track_footprints(tr, demo_theater.frame, cam)
    assert fp.corners_m.tolist() == direct.corners_m.tolist()
    assert fp.gsd_m.tolist() == direct.gsd_m.tolist()


def test_unknown_gimbal_roll_is_level_and_platform_angles_matter_only_in_body_frame(
    demo_theater: Theater,
) -> None:
    tr = line_track(demo_theater, length_km=0.1)
    cam = camera(demo_theater)
    n = len(tr)
    nan = np.full(n, np.nan)
    sparse = dataclasses.replace(tr, gimbal_roll_deg=nan, pitch_deg=nan, roll_deg=nan)
    fp = track_footprints(sparse, demo_theater.frame, cam)
    assert fp.corners_m.tolist() == track_footprints(tr, demo_theater.frame, cam).corners_m.tolist()
    body = dataclasses.replace(sparse, gimbal_frame=np.zeros(n, dtype=np.int8))
    assert not track_footprints(body, demo_theater.frame, cam).valid.any()


def test_a_dem_named_in_the_settings_must_be_a_file_there(demo_theater: Theater) -> None:
    with pytest.raises(InvalidInput) as exc:
        coverage_settings(_with_settings(demo_theater, {"dem": "nope.tif", "segment_m": 100}))
    text = exc.value.diagnostics()
    assert "dem = 'nope.tif': no such file" in text
    assert "relative to the theater directory" in text
    with pytest.raises(InvalidInput) as exc:
        coverage_settings(_with_settings(demo_theater, {"dem": 5}))
    assert "dem = 5 must be a file name" in exc.value.diagnostics()
    with pytest.raises(InvalidInput) as exc:
        coverage_settings(_with_settings(demo_theater, {"dme": "dem.tif"}))
    assert "dem, ground_elev_m, merge_s, segment_m, window_h" in exc.value.diagnostics()


def test_without_a_dem_the_ground_is_flat(demo_theater: Theater) -> None:
    assert coverage_ground(demo_theater) == 0.0
    assert coverage_ground(_with_settings(demo_theater, {"ground_elev_m": 450})) == 450.0
    assert coverage_ground(demo_theater, CoverageSettings(ground_elev_m=12.0)) == 12.0


def test_klv_corners_take_the_camera_height_over_the_dem(demo_theater: Theater) -> None:
    tr = line_track(demo_theater, length_km=0.2)  # at 800 m
    frame = demo_theater.frame
    fp = track_footprints(tr, frame, camera(demo_theater))
    lon, lat = frame.to_wgs84(fp.corners_m[:, :, 0].ravel(), fp.corners_m[:, :, 1].ravel())
    n = len(tr)
    klv = dataclasses.replace(
        tr, corners_lat_deg=lat.reshape(n, 4), corners_lon_deg=lon.reshape(n, 4)
    )

    def ground(x_m: FloatArray, y_m: FloatArray) -> FloatArray:
        return np.full(np.shape(x_m), 500.0)

    kfp = track_footprints(klv, frame, camera(demo_theater), ground_elev_m=ground)
    assert kfp.slant_m == pytest.approx(300.0, abs=0.01)


def _theater_with_dem(tmp_path: Path, demo_theater: Theater, elev_m: float) -> Theater:
    """The demo theater with `[coverage] dem`: a DEM at elev_m over the first 3 km of
    `line_track`'s flight (and 2 km around), ground_elev_m = 0 beyond it."""
    rasterio = pytest.importorskip("rasterio", reason="the DEM needs ceasewatch[dem]")
    root = tmp_path / "theater"
    shutil.copytree(demo_theater_dir(), root)
    toml = root / "theater.toml"
    extra = '\n[coverage]\nground_elev_m = 0.0\ndem = "dem.tif"\n'
    toml.write_text(toml.read_text(encoding="utf-8") + extra, encoding="utf-8")
    tr = line_track(demo_theater, length_km=3.0)
    x, y = demo_theater.frame.to_local(tr.lon_deg, tr.lat_deg)
    x0, y0 = float(np.floor(x.min())) - 2000.0, float(np.ceil(y.max())) + 2000.0
    cols = int((x.max() + 2000.0 - x0) // 64.0) + 1
    rows = int((y0 - (y.min() - 2000.0)) // 64.0) + 1
    with rasterio.open(
        root / "dem.tif",
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=demo_theater.frame.crs,
        transform=rasterio.transform.Affine(64.0, 0.0, x0, 0.0, -64.0, y0),
    ) as dst:
        dst.write(np.full((rows, cols), elev_m, dtype="float32"), 1)
    return load_theater(root)


def test_the_theater_dem_is_the_ground_of_coverage_and_of_the_hook(
    demo_theater: Theater, tmp_path: Path
) -> None:
    """Ground at 900 m under a drone at 800 m: nothing is seen there, on the DEM."""
    th = _theater_with_dem(tmp_path, demo_theater, 900.0)
    assert coverage_settings(th).dem == th.root / "dem.tif"
    ground = coverage_ground(th)
    assert callable(ground)
    cam = camera(th)
    tracks = [("s1", cam, line_track(th, length_km=3.0))]
    end = T0 + timedelta(hours=1)
    flat = coverage_of(th, tracks, segment_m=SEGMENT_M, start=T0, end=end)
    hilly = coverage_of(th, tracks, segment_m=SEGMENT_M, start=T0, end=end, ground_elev_m=ground)
    assert len(flat.start_s) > 0 and len(hilly.start_s) == 0
    # The hook: a place under the flight, 30 s in (900 m along).
    tr = tracks[0][2]
    x, y = th.frame.to_local(tr.lon_deg[300:301], tr.lat_deg[300:301])
    when = T0 + timedelta(seconds=30)
    on_dem = observed_hook(th, tracks)
    given = observed_hook(th, tracks, ground=0.0)
    assert on_dem is not None and given is not None
    assert not on_dem(float(x[0]), float(y[0]), when)
    assert given(float(x[0]), float(y[0]), when)


def test_a_dem_below_the_drone_shrinks_what_it_sees(demo_theater: Theater, tmp_path: Path) -> None:
    th = _theater_with_dem(tmp_path, demo_theater, 600.0)
    tr = line_track(th, length_km=1.0)
    cam = camera(th)
    flat = track_footprints(tr, th.frame, cam)
    hilly = track_footprints(tr, th.frame, cam, ground_elev_m=coverage_ground(th))
    assert hilly.valid.all()
    assert hilly.slant_m == pytest.approx(200.0)
    ratio = np.array(
        [a.area / b.area for a, b in zip(hilly.polygons(), flat.polygons(), strict=True)]
    )
    assert ratio == pytest.approx((200.0 / 800.0) ** 2)
