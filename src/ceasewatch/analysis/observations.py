"""Sightings made ready for geometry: true bearings, sigmas, local positions, seconds.

Every conversion an analyst would do by hand happens here, once: magnetic and grid
bearings to true (World Magnetic Model, grid convergence), compass points to their
sector's centre and sigma, a default sigma per kind when none was given, the observer's
position to the theater's local plane. A sighting that cannot be placed (observer outside
the theater, no geometry in force at its time) is reported, not guessed at.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.bearings import BearingRef, to_true_bearing
from ceasewatch.geo.theater import Theater
from ceasewatch.records import Sighting
from ceasewatch.records.kinds import Sense, SightingKind

__all__ = ["DEFAULT_SIGMA_DEG", "EPOCH", "MAX_RANGE_M", "Obs", "normalise"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Bearing sigma (degrees) assumed per kind when a sighting gives none.
DEFAULT_SIGMA_DEG = {
    "explosion": 4.0,
    "shot": 4.0,
    "projectile": 4.0,
    "burst": 5.0,
    "flare": 4.0,
    "movement": 4.0,
    "aircraft": 5.0,
    "drone": 5.0,
    "other": 5.0,
}
#: Farthest distance (m) at which each kind is plausibly observed: bounds the search.
MAX_RANGE_M = {
    "explosion": 20000.0,
    "shot": 20000.0,
    "projectile": 15000.0,
    "burst": 8000.0,
    "flare": 25000.0,
    "movement": 8000.0,
    "aircraft": 20000.0,
    "drone": 8000.0,
    "other": 15000.0,
}
_KIND_VALUE = {k: k.value for k in SightingKind}
#: How far (m) outside every control area an observer may stand and still be "in" the theater.
THEATER_MARGIN_M = 2000.0


class Obs(NamedTuple):
    """One usable sighting, in the local plane, with its bearing in radians true.

    A named tuple rather than a frozen dataclass: as immutable, and half the cost to build
    (an analysis builds one per sighting, a million of them for a large input).
    """

    id: str
    t_s: float  # report time, seconds since 1970 UTC
    observer: str
    org: str
    x_m: float
    y_m: float
    theta: float  # radians clockwise from true north
    sigma: float  # radians
    rmin_m: float | None
    rmax_m: float | None
    kind: str
    n_reported: int  # how many the observer reported (the sighting's count)
    heard: bool  # arrives late by the distance over the speed of sound

    @property
    def max_range_m(self) -> float:
        return self.rmax_m if self.rmax_m is not None else MAX_RANGE_M.get(self.kind, 15000.0)


def _footprint(theater: Theater) -> BaseGeometry:
    """Everything any side controls at any time, in local metres, widened by a margin."""
    parts: list[BaseGeometry] = []
    for start, end in theater.intervals():
        t = start or (end if end else EPOCH)
        parts.extend(theater.at(t).areas.values())
    if not parts:
        parts = [f.geometry.envelope for f in theater.features]
    return theater.frame.to_local_geometry(shapely.union_all(parts)).buffer(THEATER_MARGIN_M)


def normalise(sightings: Sequence[Sighting], theater: Theater) -> tuple[list[Obs], list[Problem]]:
    """Turn sightings into `Obs` sorted by (time, id); list the ones that cannot be used."""
    ordered = sorted(sightings, key=lambda s: (s.time, s.id))
    if not ordered:
        return [], []
    lon = np.array([s.lon for s in ordered])
    lat = np.array([s.lat for s in ordered])
    x, y = theater.frame.to_local(lon, lat)
    inside = shapely.contains_xy(_footprint(theater), x, y)
    grid = [i for i, s in enumerate(ordered) if s.bearing_ref is BearingRef.GRID]
    grid_north = dict(zip(grid, theater.frame.grid_north_deg(lon[grid], lat[grid]), strict=True))
    out: list[Obs] = []
    skipped: list[Problem] = []
    # The geometry changes only at the theater's change times: ask once per period.
    has_areas: dict[int, bool] = {}
    changes = theater.change_times
    xs, ys, inside_l = x.tolist(), y.tolist(), inside.tolist()
    for i, s in enumerate(ordered):
        if not inside_l[i]:
            skipped.append(
                Problem(
                    f"sighting {s.id}",
                    f"observer {s.observer} at lat {s.lat}, lon {s.lon} "
                    "lies outside the theater; check the position (lat/lon swapped?)",
                )
            )
            continue
        period = bisect.bisect_right(changes, s.time)
        if period not in has_areas:
            has_areas[period] = bool(theater.at(s.time).areas)
        if not has_areas[period]:
            skipped.append(
                Problem(
                    f"sighting {s.id}",
                    f"no control areas are in force at {s.time.isoformat()}; "
                    "check the time or the theater's valid_from/valid_to",
                )
            )
            continue
        ref = s.bearing_ref
        if ref is BearingRef.TRUE and math.isfinite(s.bearing_deg):
            # What to_true_bearing does for a true bearing, without its checks.
            true_deg = s.bearing_deg % 360.0
            true_deg = 0.0 if true_deg >= 360.0 else true_deg
        elif i in grid_north:
            true_deg = (s.bearing_deg + float(grid_north[i])) % 360.0
        else:
            try:
                true_deg = to_true_bearing(s.bearing_deg, ref, s.lat, s.lon, s.time)
            except InvalidInput as exc:
                skipped.append(Problem(f"sighting {s.id}", exc.message))
                continue
        kind = _KIND_VALUE[s.kind]
        sigma_deg = s.sigma_deg or DEFAULT_SIGMA_DEG.get(kind, 5.0)
        out.append(
            Obs(
                s.id,
                (s.time - EPOCH).total_seconds(),
                s.observer,
                s.org,
                xs[i],
                ys[i],
                math.radians(true_deg),
                math.radians(sigma_deg),
                s.range_min_m,
                s.range_max_m,
                kind,
                s.count,
                s.sense is Sense.HEARD,
            )
        )
    return out, skipped
