"""A theater's digital elevation model (DEM): ground elevation at local-plane points.

`load_dem` reads a GeoTIFF once into memory (rasterio, the optional extra
`pip install 'ceasewatch[dem]'`) and returns a `Dem`, a callable that
`analysis.footprint.footprints` takes as its ground: elevation in metres at the theater's
local (x, y). A theater names it in theater.toml (`[coverage] dem = "dem.tif"`, see
`analysis.sortie`).

Interpolation is bilinear between the centres of the four cells around a point; between
the outermost cell centres and the raster's edge (half a cell) the edge values hold.
Only + - * /, floor and comparisons run on the arrays, so two nodes derive the same bits
(see docs/architecture.md, Determinism). When the DEM's CRS is not the theater's, the
query points are reprojected to it with pyproj, once per call, in bulk: the one
non-elementary step, deterministic for a given PROJ version as everywhere in ceasewatch.

Voids. A point outside the raster, or with all four cells around it void (the file's
nodata value, its mask, or not finite), gets the fallback elevation (`fallback_m`, the
theater's `[coverage] ground_elev_m`); with only some of them void, the weighted mean of
the others. Elevations are in the vertical datum of the tracks' altitudes (metres above
mean sea level for MAVLink and KLV); the file's vertical datum is not converted.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from ceasewatch.errors import InvalidInput, NotFound, Problem
from ceasewatch.geo.geodesy import FloatArray, LocalFrame

__all__ = ["MAX_DEM_BYTES", "Dem", "load_dem"]

#: The largest DEM held in memory (its cells as float64): a theater's, cropped, fits.
MAX_DEM_BYTES = 200_000_000
_INSTALL = "pip install 'ceasewatch[dem]'"


@dataclass(frozen=True, slots=True, eq=False)
class Dem:
    """Ground elevation (metres) at local-plane points: an `ElevationFn`.

    Attributes:
        path: the file read.
        sha256: its SHA-256 (hex), to name the DEM a result was computed on.
        crs: the DEM's horizontal CRS (WKT).
        fallback_m: the elevation outside the raster and where it is void.
        shape: (rows, columns).
        reprojected: whether query points are reprojected (the DEM's CRS is not the
            theater's).
    """

    path: Path
    sha256: str
    crs: str
    fallback_m: float
    shape: tuple[int, int]
    reprojected: bool
    _z: FloatArray = field(repr=False)
    _origin: tuple[float, float] = field(repr=False)
    _cell: tuple[float, float] = field(repr=False)
    _to_dem: Transformer | None = field(repr=False)

    def __call__(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> FloatArray:
        """Elevation at local (x, y), bilinear; the fallback outside and in voids.

        Args:
            x_m, y_m: points in the theater's local plane, any (broadcastable) shape.

        Returns:
            Elevations (metres), of the points' shape.
        """
        x, y = np.broadcast_arrays(np.asarray(x_m, np.float64), np.asarray(y_m, np.float64))
        shape = x.shape
        x, y = x.ravel(), y.ravel()
        if self._to_dem is not None and len(x):
            x, y = (np.asarray(v, np.float64) for v in self._to_dem.transform(x, y))
        return self._bilinear(x, y).reshape(shape)

    def _bilinear(self, x: FloatArray, y: FloatArray) -> FloatArray:
        rows, cols = self.shape
        # Fractional cell indices, 0 at the first cell's centre (a north-up grid).
        u = (x - self._origin[0]) / self._cell[0] - 0.5
        v = (y - self._origin[1]) / self._cell[1] - 0.5
        inside = (u >= -0.5) & (u <= cols - 0.5) & (v >= -0.5) & (v <= rows - 0.5)
        u = np.where(inside, np.clip(u, 0.0, cols - 1.0), 0.0)
        v = np.where(inside, np.clip(v, 0.0, rows - 1.0), 0.0)
        i0 = np.minimum(np.floor(u).astype(np.intp), max(cols - 2, 0))
        j0 = np.minimum(np.floor(v).astype(np.intp), max(rows - 2, 0))
        i1, j1 = np.minimum(i0 + 1, cols - 1), np.minimum(j0 + 1, rows - 1)
        fu, fv = u - i0, v - j0
        z = self._z
        z00, z01, z10, z11 = z[j0, i0], z[j0, i1], z[j1, i0], z[j1, i1]
        top = z00 + fu * (z01 - z00)
        bottom = z10 + fu * (z11 - z10)
        out = top + fv * (bottom - top)
        void = np.flatnonzero(inside & np.isnan(out))
        if len(void):
            out[void] = _partial((z00[void], z01[void], z10[void], z11[void]), fu[void], fv[void])
        return np.where(inside & ~np.isnan(out), out, self.fallback_m)


def _partial(
    corners: tuple[FloatArray, FloatArray, FloatArray, FloatArray], fu: FloatArray, fv: FloatArray
) -> FloatArray:
    """The bilinear weights' mean over the cells that are not void (NaN: all are)."""
    z00, z01, z10, z11 = corners
    weights = ((1.0 - fu) * (1.0 - fv), fu * (1.0 - fv), (1.0 - fu) * fv, fu * fv)
    total = np.zeros(len(fu))
    acc = np.zeros(len(fu))
    for zk, wk in zip((z00, z01, z10, z11), weights, strict=True):
        ok = ~np.isnan(zk) & (wk > 0.0)
        total += np.where(ok, wk, 0.0)
        acc += np.where(ok, zk * wk, 0.0)
    return np.where(total > 0.0, acc / np.where(total > 0.0, total, 1.0), np.nan)


@dataclass(frozen=True, slots=True)
class _Raster:
    """What ceasewatch takes from a GeoTIFF: the typed face of rasterio's dataset."""

    z: FloatArray
    crs_wkt: str
    origin: tuple[float, float]
    cell: tuple[float, float]


def _refusal(path: Path, what: str, todo: str) -> InvalidInput:
    return InvalidInput(f"{path}: {what}", [Problem(str(path), todo)])


def _read(path: Path) -> _Raster:
    """Band 1 of a GeoTIFF with its georeferencing (voids NaN), or a clear refusal."""
    try:
        import rasterio  # type: ignore[import-untyped]
        from rasterio.errors import (  # type: ignore[import-untyped]
            NotGeoreferencedWarning,
            RasterioError,
        )
    except ImportError:
        raise _refusal(
            path,
            "reading a DEM needs rasterio, an optional dependency",
            f"install it with {_INSTALL}, or remove [coverage] dem",
        ) from None
    name = path.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # refused below, clearly
        try:
            src: Any = rasterio.open(path)
        except RasterioError as exc:
            raise _refusal(
                path,
                "not a raster rasterio can read",
                f"{str(exc).rstrip('.')}; give a GeoTIFF DEM "
                "(e.g. gdal_translate -of GTiff in.asc dem.tif)",
            ) from None
        with src:
            driver, crs, t = str(src.driver), src.crs, src.transform
            width, height = int(src.width), int(src.height)
            if driver != "GTiff":
                raise _refusal(
                    path,
                    f"a {driver} raster, not a GeoTIFF",
                    f"convert it: gdal_translate -of GTiff {name} dem.tif",
                )
            if crs is None:
                raise _refusal(
                    path,
                    "the GeoTIFF has no CRS",
                    f"assign the one its coordinates are in, e.g. gdal_edit.py -a_srs EPSG:4326 "
                    f"{name}",
                )
            if t.is_identity:
                raise _refusal(
                    path,
                    "the GeoTIFF has no georeferencing (no geotransform)",
                    "give a georeferenced GeoTIFF (gdalinfo shows its Origin and Pixel Size)",
                )
            a, b, c, d, e, f = (float(v) for v in (t.a, t.b, t.c, t.d, t.e, t.f))
            if b != 0.0 or d != 0.0 or a == 0.0 or e == 0.0:
                raise _refusal(
                    path,
                    "the grid is rotated or sheared",
                    f"warp it north-up: gdalwarp {name} north_up.tif",
                )
            size = width * height * 8
            if size > MAX_DEM_BYTES:
                raise _refusal(
                    path,
                    f"{width} x {height} cells ({size / 1e6:.0f} MB in memory) is more than a "
                    f"theater DEM needs (at most {MAX_DEM_BYTES / 1e6:.0f} MB)",
                    "crop it to the theater and coarsen it, e.g. gdalwarp -te XMIN YMIN XMAX "
                    f"YMAX -tr 30 30 {name} theater_dem.tif",
                )
            band: Any = src.read(1, masked=True)  # nodata and the file's mask: masked
            crs_wkt = str(crs.to_wkt())
    z = np.asarray(band.astype(np.float64).filled(np.nan), dtype=np.float64)
    z[~np.isfinite(z)] = np.nan
    return _Raster(z=z, crs_wkt=crs_wkt, origin=(c, f), cell=(a, e))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_dem(path: str | Path, frame: LocalFrame, *, fallback_m: float = 0.0) -> Dem:
    """Read a GeoTIFF DEM (band 1, metres) for the theater's plane.

    Args:
        path: the GeoTIFF, north-up, with a CRS (any: it need not be the theater's).
        frame: the theater's local plane; the `Dem` takes points in it.
        fallback_m: the elevation outside the raster and in its voids (the theater's
            `[coverage] ground_elev_m`).

    Raises:
        NotFound: no such file.
        InvalidInput: rasterio is not installed, the file is not a GeoTIFF, has no CRS
            or a rotated grid, is larger than `MAX_DEM_BYTES` in memory, or the fallback
            is not finite.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"{p}: no such DEM file")
    if not math.isfinite(fallback_m):
        raise InvalidInput(f"{p}: the fallback elevation must be finite, not {fallback_m}")
    raster = _read(p)
    try:
        crs = CRS.from_wkt(raster.crs_wkt)
    except CRSError as exc:
        raise InvalidInput(
            f"{p}: its CRS is not one pyproj knows",
            [Problem(str(p), f"{exc}; assign a standard one: gdal_edit.py -a_srs EPSG:...")],
        ) from None
    if crs.is_compound:
        crs = crs.sub_crs_list[0]  # the vertical part is not converted (module docstring)
    local = CRS.from_user_input(frame.crs)
    same = crs == local
    to_dem = None if same else Transformer.from_crs(local, crs, always_xy=True)
    rows, cols = raster.z.shape
    return Dem(
        path=p,
        sha256=_sha256(p),
        crs=crs.to_wkt(),
        fallback_m=float(fallback_m),
        shape=(int(rows), int(cols)),
        reprojected=not same,
        _z=raster.z,
        _origin=raster.origin,
        _cell=raster.cell,
        _to_dem=to_dem,
    )
