"""A theater DEM: small GeoTIFFs written here, read back as elevation at local points.

Planes tilted in a known way are interpolated exactly (bilinear reproduces a plane, and
dyadic cell sizes keep every step exact); voids and points off the raster take the
fallback; bad files are refused with what to do; footprints over a hill shrink.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ceasewatch.analysis.footprint import GimbalFrame, footprints
from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import InvalidInput, NotFound
from ceasewatch.geo import dem as dem_module
from ceasewatch.geo.dem import Dem, load_dem
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import Theater, load_theater
from ceasewatch.report.coverage import build_coverage_report, camera_of
from tests.analysis.test_sortie import T0, line_track

rasterio: Any = pytest.importorskip("rasterio", reason="the DEM needs the extra ceasewatch[dem]")

UTM = "EPSG:32638"  # the demo theater's plane
X0, Y0 = 400_000.0, 4_400_000.0  # the test rasters' upper-left corner
CELL = 8.0  # a power of two: the cell indices of dyadic points are exact


def write_tif(
    path: Path,
    z: FloatArray,
    *,
    crs: str | None = UTM,
    origin: tuple[float, float] = (X0, Y0),
    cell: tuple[float, float] = (CELL, -CELL),
    nodata: float | None = None,
    driver: str = "GTiff",
    dtype: str = "float32",
) -> Path:
    """Write z (rows north to south) as a one-band raster; return its path."""
    a, e = cell
    transform = rasterio.transform.Affine(a, 0.0, origin[0], 0.0, e, origin[1])
    with rasterio.open(
        path,
        "w",
        driver=driver,
        width=z.shape[1],
        height=z.shape[0],
        count=1,
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(z.astype(dtype), 1)
    return path


def plane(rows: int, cols: int) -> FloatArray:
    """100 m at the first cell's centre, +0.5 m a column east, -0.25 m a row south."""
    j, i = np.mgrid[0:rows, 0:cols]
    return np.asarray(100.0 + 0.5 * i - 0.25 * j, dtype=np.float64)


def test_a_tilted_plane_in_the_theater_crs_is_interpolated_exactly(tmp_path: Path) -> None:
    dem = load_dem(write_tif(tmp_path / "p.tif", plane(40, 50)), LocalFrame(UTM))
    assert not dem.reprojected and dem.shape == (40, 50) and dem.fallback_m == 0.0
    # Cell index u of a point x: (x - X0) / CELL - 0.5, so z = 100 + u / 2 - v / 4.
    u = np.array([0.0, 3.25, 7.5, 12.0, 48.875, 49.0])
    v = np.array([0.0, 0.75, 38.5, 2.125, 20.0, 39.0])
    x, y = X0 + (u + 0.5) * CELL, Y0 - (v + 0.5) * CELL
    assert dem(x, y).tolist() == (100.0 + u / 2.0 - v / 4.0).tolist()
    # Any shape: the (4, n) corner arrays of the footprints come in as they are.
    grid = dem(x.reshape(2, 3), y.reshape(2, 3))
    assert grid.shape == (2, 3) and grid.ravel().tolist() == dem(x, y).tolist()
    # Between the outermost cell centres and the raster's edge, the edge values hold.
    edge = dem(np.array([X0, X0 + 50 * CELL]), np.array([Y0, Y0 - 40 * CELL]))
    assert edge.tolist() == [100.0, 100.0 + 49 / 2.0 - 39 / 4.0]


def test_a_dem_in_wgs84_is_reprojected_to_it(tmp_path: Path) -> None:
    step = 2.0**-10  # degrees
    lon0, lat0 = 46.5, 39.75
    z = 200.0 + np.mgrid[0:64, 0:64][1] + 2.0 * np.mgrid[0:64, 0:64][0]
    path = write_tif(
        tmp_path / "geo.tif", z, crs="EPSG:4326", origin=(lon0, lat0), cell=(step, -step)
    )
    frame = LocalFrame(UTM)
    dem = load_dem(path, frame, fallback_m=-1.0)
    assert dem.reprojected and "WGS 84" in dem.crs
    u = np.array([1.0, 10.25, 30.5, 62.75])
    v = np.array([2.0, 40.5, 0.25, 61.0])
    x, y = frame.to_local(lon0 + (u + 0.5) * step, lat0 - (v + 0.5) * step)
    got = dem(x, y)
    # The round trip through the plane moves a point by ~1e-9 of a cell: micrometres.
    assert got == pytest.approx(200.0 + u + 2.0 * v, abs=1e-6)
    # Point by point: a value does not depend on the batch it came in.
    assert [dem(x[k : k + 1], y[k : k + 1])[0] for k in range(len(x))] == got.tolist()
    far_x, far_y = frame.to_local(np.array([46.4]), np.array([39.75]))
    assert dem(far_x, far_y).tolist() == [-1.0]


def test_voids_and_points_off_the_raster_take_the_fallback(tmp_path: Path) -> None:
    z = plane(6, 6)
    z[2, 2] = -9999.0  # one void cell
    z[4:6, 4:6] = -9999.0  # a void block
    dem = load_dem(
        write_tif(tmp_path / "v.tif", z, nodata=-9999.0), LocalFrame(UTM), fallback_m=450.0
    )

    def at(u: float, v: float) -> float:
        return float(dem(np.array([X0 + (u + 0.5) * CELL]), np.array([Y0 - (v + 0.5) * CELL]))[0])

    # Around the void cell (2, 2): the weighted mean of the three others.
    w = {(1, 1): 0.75 * 0.5, (2, 1): 0.25 * 0.5, (1, 2): 0.75 * 0.5}  # (u, v): weight
    mean = sum(wk * (100.0 + i / 2.0 - j / 4.0) for (i, j), wk in w.items()) / sum(w.values())
    assert at(1.25, 1.5) == pytest.approx(mean, abs=1e-12)
    assert at(2.0, 1.0) == 100.0 + 1.0 - 0.25  # on a cell centre next to the void
    assert at(4.5, 4.5) == 450.0  # all four cells void
    assert at(-1.0, 2.0) == 450.0 and at(2.0, 6.5) == 450.0  # off the raster
    assert dem(np.array([np.nan]), np.array([Y0])).tolist() == [450.0]
    # A NaN cell (a float raster without a nodata value) is a void as well.
    z2 = plane(3, 3)
    z2[:, :] = np.nan
    nan_dem = load_dem(write_tif(tmp_path / "n.tif", z2), LocalFrame(UTM), fallback_m=7.0)
    assert nan_dem(np.array([X0 + 12.0]), np.array([Y0 - 12.0])).tolist() == [7.0]


def _refusal(path: Path) -> str:
    with pytest.raises(InvalidInput) as exc:
        load_dem(path, LocalFrame(UTM))
    return exc.value.diagnostics()


def test_files_that_are_no_usable_geotiff_are_refused_with_what_to_do(tmp_path: Path) -> None:
    text = tmp_path / "dem.tif"
    text.write_text("elevation,450\n", encoding="utf-8")
    msg = _refusal(text)
    assert "dem.tif: not a raster rasterio can read" in msg and "GeoTIFF" in msg
    png = write_tif(tmp_path / "dem.png", plane(4, 4), driver="PNG", dtype="uint8")
    assert "a PNG raster, not a GeoTIFF" in _refusal(png)
    assert "gdal_translate -of GTiff dem.png" in _refusal(png)
    no_crs = write_tif(tmp_path / "nocrs.tif", plane(4, 4), crs=None)
    msg = _refusal(no_crs)
    assert "nocrs.tif: the GeoTIFF has no CRS" in msg and "gdal_edit.py -a_srs" in msg
    rotated = tmp_path / "rot.tif"
    with rasterio.open(
        rotated,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=rasterio.transform.Affine(8.0, 2.0, X0, 2.0, -8.0, Y0),
    ) as dst:
        dst.write(plane(4, 4).astype("float32"), 1)
    assert "rotated or sheared" in _refusal(rotated) and "gdalwarp" in _refusal(rotated)
    with pytest.raises(NotFound, match="no such DEM file"):
        load_dem(tmp_path / "missing.tif", LocalFrame(UTM))


def test_a_dem_too_large_for_memory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tif(tmp_path / "big.tif", plane(10, 10))
    monkeypatch.setattr(dem_module, "MAX_DEM_BYTES", 799)  # 10 x 10 float64 cells: 800
    msg = _refusal(path)
    assert "10 x 10 cells" in msg and "crop it to the theater" in msg


def test_without_rasterio_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tif(tmp_path / "p.tif", plane(4, 4))
    monkeypatch.setitem(sys.modules, "rasterio", None)  # import rasterio: ImportError
    assert "pip install 'ceasewatch[dem]'" in _refusal(path)


def hill(frame: LocalFrame, lon: float, lat: float, tmp_path: Path) -> tuple[Dem, float, float]:
    """A hill centred on (lon, lat): a 400 m plateau of radius 1.5 km, sloping (0.2) to
    100 m plains from 3 km; the raster 6 km square, 100 m beyond (its fallback)."""
    x, y = frame.to_local(np.array([lon]), np.array([lat]))
    cx, cy = float(np.round(x[0])), float(np.round(y[0]))
    n = 301  # cells of 20 m, the centre cell on the hill's top
    j, i = np.mgrid[0:n, 0:n]
    r = np.hypot((i - 150) * 20.0, (j - 150) * 20.0)
    z = np.clip(400.0 - 0.2 * (r - 1500.0), 100.0, 400.0)
    origin = (cx - 150.5 * 20.0, cy + 150.5 * 20.0)
    path = write_tif(tmp_path / "hill.tif", z, crs=frame.crs, origin=origin, cell=(20.0, -20.0))
    return load_dem(path, frame, fallback_m=100.0), cx, cy


def test_a_footprint_over_a_hill_is_smaller_than_over_the_plain(
    demo_theater: Theater, tmp_path: Path
) -> None:
    frame = demo_theater.frame
    dem, cx, cy = hill(frame, 46.5, 39.75, tmp_path)
    # Over the top, looking down; from 2.8 km east of it, looking west at the slope.
    lon, lat = frame.to_wgs84(np.array([cx, cx + 2800.0]), np.array([cy, cy]))

    def cast(ground: float | Dem) -> list[float]:
        fp = footprints(
            lat,
            lon,
            1100.0,
            yaw_deg=0.0,
            pitch_deg=0.0,
            roll_deg=0.0,
            gimbal_yaw_deg=np.array([0.0, 270.0]),
            gimbal_pitch_deg=np.array([-90.0, -45.0]),
            gimbal_roll_deg=0.0,
            hfov_deg=30.0,
            vfov_deg=17.0,
            frame=frame,
            gimbal_frame=GimbalFrame.EARTH,
            ground_elev_m=ground,
            max_slant_m=3000.0,
        )
        assert fp.valid.all()
        return [p.area for p in fp.polygons()]

    on_dem, plain, top = cast(dem), cast(100.0), cast(400.0)
    assert on_dem[0] == top[0]  # the plateau is flat at 400 m, exactly
    assert on_dem[0] < 0.5 * plain[0]  # (700 / 1000)² of it
    assert top[1] < on_dem[1] < plain[1]  # the slope rises towards the camera


def test_the_theater_dem_reaches_the_coverage_report(demo_theater: Theater, tmp_path: Path) -> None:
    """[coverage] dem = "dem.tif": ground above the drone (800 m) sees nothing; the
    summary names the DEM it was computed on."""
    root = tmp_path / "theater"
    shutil.copytree(demo_theater_dir(), root)
    toml = root / "theater.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[coverage]\ndem = "dem.tif"\n', encoding="utf-8"
    )
    frame = demo_theater.frame
    tr = line_track(demo_theater, length_km=2.0)
    x, y = frame.to_local(tr.lon_deg, tr.lat_deg)
    x0, y0 = float(np.floor(x.min())) - 2000.0, float(np.ceil(y.max())) + 2000.0
    cols = int((x.max() + 2000.0 - x0) // 64.0) + 1
    rows = int((y0 - (y.min() - 2000.0)) // 64.0) + 1
    write_tif(root / "dem.tif", np.full((rows, cols), 900.0), origin=(x0, y0), cell=(64.0, -64.0))
    theater = load_theater(root)
    tracks = [("a", camera_of(theater, "uav-a1"), tr)]
    end = T0 + timedelta(hours=1)
    over_dem = build_coverage_report(theater, tracks, T0, end, size_px=(200, 200))
    flat = build_coverage_report(demo_theater, tracks, T0, end, size_px=(200, 200))
    assert flat.summary["line"]["observed_share"] > 0.0
    assert over_dem.summary["line"]["observed_share"] == 0.0
    dem_in = over_dem.summary["inputs"]["dem"]
    assert dem_in["file"] == "dem.tif" and len(dem_in["sha256"]) == 64
    assert "dem" not in flat.summary["inputs"]
    json.dumps(over_dem.summary)  # the summary stays JSON
