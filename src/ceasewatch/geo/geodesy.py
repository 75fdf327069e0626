"""Geodesy on WGS84 and the theater's local plane, vectorised over numpy arrays.

Geodesic problems use pyproj's `Geod` (Karney's algorithms, GeographicLib). Planar work
uses one local projected CRS per theater (its UTM zone by default), through `LocalFrame`.
Bearings are degrees true, clockwise from north, in [0, 360). Distances are metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import InvalidInput

__all__ = [
    "DENSIFY_DEG",
    "GEOD",
    "FloatArray",
    "LocalFrame",
    "azimuth_deg",
    "distance_m",
    "forward",
    "inverse",
    "utm_crs_for",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | FloatArray | list[float]

GEOD = Geod(ellps="WGS84")
#: Longest edge (degrees) projected as a chord: at 40 N such a chord is ~3 mm off its curve.
DENSIFY_DEG = 0.005


def _arr(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _norm_deg(a: FloatArray) -> FloatArray:
    out: FloatArray = np.mod(a, 360.0)
    out[out >= 360.0] = 0.0  # np.mod(-1e-17, 360) == 360.0
    return out


def inverse(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Inverse geodesic problem.

    Returns:
        (azimuth at 1 toward 2 in degrees true [0, 360), azimuth at 2 back toward 1 in
        degrees true [0, 360), distance in metres), each an array.
    """
    lo1, la1, lo2, la2 = np.broadcast_arrays(_arr(lon1), _arr(lat1), _arr(lon2), _arr(lat2))
    az12, az21, dist = GEOD.inv(lo1, la1, lo2, la2)
    return _norm_deg(np.atleast_1d(az12)), _norm_deg(np.atleast_1d(az21)), np.atleast_1d(dist)


def azimuth_deg(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> FloatArray:
    """Forward azimuth from point 1 to point 2, degrees true in [0, 360)."""
    return inverse(lon1, lat1, lon2, lat2)[0]


def distance_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> FloatArray:
    """Geodesic distance in metres."""
    return inverse(lon1, lat1, lon2, lat2)[2]


def forward(
    lon: ArrayLike, lat: ArrayLike, azimuth: ArrayLike, dist_m: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Direct geodesic problem: the point `dist_m` metres from (lon, lat) along `azimuth`."""
    lo, la, az, d = np.broadcast_arrays(_arr(lon), _arr(lat), _arr(azimuth), _arr(dist_m))
    lon2, lat2, _ = GEOD.fwd(lo, la, az, d)
    return np.atleast_1d(lon2), np.atleast_1d(lat2)


def utm_crs_for(lon: float, lat: float) -> str:
    """The EPSG code of the UTM zone that contains (lon, lat), e.g. "EPSG:32638"."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(f"({lon}, {lat}) is not a WGS84 longitude, latitude")
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True)
class LocalFrame:
    """The theater's local projected plane (metres east, north) and the way back.

    Attributes:
        crs: any CRS string pyproj understands, projected, in metres.
    """

    crs: str
    _fwd: Any = field(init=False, repr=False, compare=False)
    _inv: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            crs = CRS.from_user_input(self.crs)
        except CRSError as exc:
            raise InvalidInput(f"crs {self.crs!r} is not a CRS pyproj knows: {exc}") from exc
        if not crs.is_projected:
            raise InvalidInput(
                f"crs {self.crs!r} is not projected; give a projected CRS in metres "
                "(e.g. the theater's UTM zone, EPSG:326xx) or leave it out"
            )
        # Tolerances and distances in the plane are metres: a CRS in feet would silently
        # make every one of them 3.3 times too strict.
        units = {a.unit_name for a in crs.axis_info[:2]}
        if units != {"metre"}:
            raise InvalidInput(
                f"crs {self.crs!r} has axes in {', '.join(sorted(units))}; give a projected "
                "CRS in metres (e.g. the theater's UTM zone, EPSG:326xx) or leave it out"
            )
        object.__setattr__(self, "_fwd", Transformer.from_crs(4326, crs, always_xy=True))
        object.__setattr__(self, "_inv", Transformer.from_crs(crs, 4326, always_xy=True))

    def to_local(self, lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """WGS84 lon, lat (degrees) to local x (east), y (north) in metres."""
        x, y = self._fwd.transform(_arr(lon), _arr(lat))
        return np.atleast_1d(np.asarray(x, dtype=np.float64)), np.atleast_1d(
            np.asarray(y, dtype=np.float64)
        )

    def to_wgs84(self, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Local x, y in metres to WGS84 lon, lat in degrees."""
        lon, lat = self._inv.transform(_arr(x), _arr(y))
        return np.atleast_1d(np.asarray(lon, dtype=np.float64)), np.atleast_1d(
            np.asarray(lat, dtype=np.float64)
        )

    def to_local_geometry(
        self, geom: BaseGeometry, max_segment_deg: float | None = DENSIFY_DEG
    ) -> BaseGeometry:
        """A shapely geometry in WGS84 lon/lat, projected to the local plane (metres).

        GeoJSON edges are straight in lon/lat (RFC 7946 3.1.1), and a straight edge in
        lon/lat is curved in the plane: a 55 km edge along a parallel at 40 N bows ~50 m
        from its chord. So edges are first split into pieces of at most
        `max_segment_deg` degrees (None: project the vertices only). Without this, two
        areas that share an edge in the file, one with an extra vertex on it, overlap
        by hectares in the plane.
        """
        if max_segment_deg is not None and not geom.is_empty:
            geom = shapely.segmentize(geom, max_segment_deg)

        def fwd(xy: FloatArray) -> FloatArray:
            x, y = self._fwd.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, fwd)

    def grid_north_deg(self, lon: ArrayLike, lat: ArrayLike) -> FloatArray:
        """Azimuth (degrees true) of grid north at each point: the grid convergence.

        A grid bearing G is the true bearing G + grid_north_deg. Computed from the
        projection itself (a short geodesic step north), so it holds for any CRS.
        """
        lo, la = _arr(lon), _arr(lat)
        x0, y0 = self.to_local(lo, la)
        lon1, lat1 = forward(lo, la, 0.0, 10.0)
        x1, y1 = self.to_local(lon1, lat1)
        # Grid azimuth of true north; grid north is then at minus that angle, true.
        # math.atan2 per point, not np.arctan2: numpy's transcendental functions differ
        # between SIMD code paths, and two nodes must derive the same bits.
        dx, dy = np.atleast_1d(x1 - x0).ravel(), np.atleast_1d(y1 - y0).ravel()
        az = [
            -math.degrees(math.atan2(a, b)) for a, b in zip(dx.tolist(), dy.tolist(), strict=True)
        ]
        return np.asarray(az, dtype=np.float64).reshape(np.shape(x1 - x0))
