"""Bearings as observers report them, turned into degrees true.

Monitors report a bearing in degrees or as a 16-point compass direction (N, NNE, ...),
true, magnetic or grid. A magnetic bearing is converted with the World Magnetic Model
(coefficients shipped with pygeomag, offline), a grid bearing with the grid convergence
of the theater's CRS. Ignoring a 6 degree declination moves a fix at 8 km by ~0.8 km.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from itertools import repeat

import numpy as np
from pygeomag import GeoMag

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import LocalFrame

__all__ = [
    "COMPASS_POINTS",
    "COMPASS_SIGMA_DEG",
    "BearingRef",
    "compass_to_deg",
    "deg_to_compass",
    "magnetic_declination_deg",
    "magnetic_declinations_deg",
    "to_true_bearing",
]

COMPASS_POINTS = (
    "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
    "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW",
)  # fmt: skip
#: Standard deviation of a uniform error across one 22.5 degree compass sector.
COMPASS_SIGMA_DEG = 22.5 / math.sqrt(12.0)

# WMM releases and the years each is valid for (a model is valid for five years).
_WMM_FILES = (
    (2015.0, 2020.0, "wmm/WMM_2015v2.COF"),
    (2020.0, 2025.0, "wmm/WMM_2020.COF"),
    (2025.0, 2030.0, "wmm/WMM_2025.COF"),
)


class BearingRef(StrEnum):
    """What north a reported bearing is measured from."""

    TRUE = "true"
    MAGNETIC = "magnetic"
    GRID = "grid"


def compass_to_deg(point: str) -> float | None:
    """Degrees true at the centre of a 16-point compass direction, or None if not one."""
    try:
        return COMPASS_POINTS.index(point.strip().upper()) * 22.5
    except ValueError:
        return None


def deg_to_compass(bearing_deg: float) -> str:
    """The 16-point compass direction whose sector contains `bearing_deg`.

    Raises:
        InvalidInput: the bearing is NaN or infinite.
    """
    if not math.isfinite(bearing_deg):
        raise InvalidInput(f"bearing {bearing_deg!r} is not a finite number of degrees")
    return COMPASS_POINTS[math.floor((bearing_deg % 360.0) / 22.5 + 0.5) % 16]


def _decimal_year(t: datetime) -> float:
    t = t.astimezone(UTC)  # the year starts at midnight UTC, not local midnight
    start = datetime(t.year, 1, 1, tzinfo=UTC)
    end = datetime(t.year + 1, 1, 1, tzinfo=UTC)
    return t.year + (t - start).total_seconds() / (end - start).total_seconds()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@cache
def _model(path: str) -> GeoMag:
    return GeoMag(coefficients_file=path)


@lru_cache(maxsize=65536)
def _declination(path: str, lat_c: float, lon_c: float, year_c: float) -> float:
    return float(_model(path).calculate(glat=lat_c, glon=lon_c, alt=0.0, time=year_c).d)


def magnetic_declination_deg(lat: float, lon: float, t: datetime) -> float:
    """Magnetic declination (degrees, east positive) at sea level, from the WMM.

    Inputs are rounded to 0.01 degree and 0.001 year before the model is evaluated:
    the declination changes by well under 0.01 degree over such steps, and the cache
    makes a day of sightings from a few dozen posts cost a few dozen evaluations.

    Raises:
        InvalidInput: t is naive, (lat, lon) is not a WGS84 position, or no WMM release
            covers t.
    """
    if t.tzinfo is None or t.utcoffset() is None:
        raise InvalidInput("magnetic declination needs a timezone-aware time")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InvalidInput(f"({lat}, {lon}) is not a WGS84 latitude, longitude")
    year = _decimal_year(t)
    for start, end, path in _WMM_FILES:
        # The model is chosen on the exact time, then the rounded time is kept inside
        # the model's span: rounding 2029.9996 up to 2030.0 would leave every model.
        if start <= year < end:
            year_c = min(max(round(year, 3), start), end - 0.001)
            return _declination(path, round(lat, 2), round(lon, 2), year_c)
    first, last = _WMM_FILES[0][0], _WMM_FILES[-1][1]
    raise InvalidInput(
        f"no World Magnetic Model covers {year:.2f} (models cover {first:.0f}-{last:.0f}); "
        "report this bearing as true or grid"
    )


def magnetic_declinations_deg(
    lat: Sequence[float], lon: Sequence[float], t_us: Sequence[int]
) -> list[float | None]:
    """`magnetic_declination_deg` of many (lat, lon, time) at once (time in exact
    microseconds since 1970 UTC), None where it would raise (outside WGS84 or any WMM).

    The decimal year is the same arithmetic in numpy (the microseconds to the year's start
    and end, each exact as a double below 2**53, divided as timedelta.total_seconds
    divides); round() per element; the model once per distinct rounded input.
    """
    n = len(t_us)
    if n == 0:
        return []
    us = np.array(t_us, dtype=np.int64)
    if not (np.abs(us) < 2**52).all():  # past 2112: one at a time
        return [
            _declination_or_none(a, o, _utc_from_us(u))
            for a, o, u in zip(lat, lon, t_us, strict=True)
        ]
    years = us.astype("datetime64[us]").astype("datetime64[Y]")
    start = years.astype("datetime64[us]").astype(np.int64)
    end = (years + 1).astype("datetime64[us]").astype(np.int64)
    year = (years.astype(np.int64) + 1970).astype(np.float64) + (
        (us - start).astype(np.float64) / 1e6
    ) / ((end - start).astype(np.float64) / 1e6)
    model = np.full(n, -1)
    for j, (first, last, _) in enumerate(_WMM_FILES):
        model[(year >= first) & (year < last)] = j
    keys = list(zip(lat, lon, map(round, year.tolist(), repeat(3)), model.tolist(), strict=True))
    values = {key: _declination_at(*key) for key in dict.fromkeys(keys)}
    return list(map(values.__getitem__, keys))


def _declination_at(lat: float, lon: float, year_c: float, model: int) -> float | None:
    """The declination of WMM release `model` (-1: none) at (lat, lon) and the rounded
    year, as `magnetic_declination_deg` evaluates it (None where that would raise)."""
    if model < 0 or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    first, last, path = _WMM_FILES[model]
    return _declination(path, round(lat, 2), round(lon, 2), min(max(year_c, first), last - 0.001))


def _declination_or_none(lat: float, lon: float, t: datetime) -> float | None:
    try:
        return magnetic_declination_deg(lat, lon, t)
    except InvalidInput:
        return None


def to_true_bearing(
    bearing_deg: float,
    ref: BearingRef | str,
    lat: float,
    lon: float,
    t: datetime,
    *,
    frame: LocalFrame | None = None,
) -> float:
    """Convert a bearing measured from `ref` north at (lat, lon, t) to degrees true.

    Magnetic: true = magnetic + declination (east positive). Grid: true = grid + the
    true azimuth of grid north (the convergence), which is positive east of the CRS's
    central meridian in the northern hemisphere.

    Returns:
        Degrees true in [0, 360).

    Raises:
        InvalidInput: the bearing is not a finite number, `ref` is not true, magnetic or
            grid, no WMM covers t (magnetic), or a grid bearing comes without a frame.
    """
    if not math.isfinite(bearing_deg):
        raise InvalidInput(f"bearing {bearing_deg!r} is not a finite number of degrees")
    try:
        # A plain "magnetic" must not fall through the `is` tests below to grid.
        ref = BearingRef(ref)
    except ValueError:
        allowed = ", ".join(r.value for r in BearingRef)
        raise InvalidInput(f"bearing reference {ref!r} is not one of {allowed}") from None
    if ref is BearingRef.TRUE:
        out = bearing_deg
    elif ref is BearingRef.MAGNETIC:
        out = bearing_deg + magnetic_declination_deg(lat, lon, t)
    else:
        if frame is None:
            raise InvalidInput("a grid bearing needs the theater's CRS to convert it to true")
        out = bearing_deg + float(frame.grid_north_deg(lon, lat)[0])
    out %= 360.0
    return 0.0 if out >= 360.0 else out  # (-1e-17) % 360.0 == 360.0
