"""Sightings made ready for geometry: bearings in the local plane, sigmas, positions, seconds.

Every conversion an analyst would do by hand happens here, once: magnetic and compass
bearings to true (World Magnetic Model), true bearings to directions in the theater's local
plane (minus the grid convergence at the observer: up to a degree, a bias every bearing
would share otherwise), compass points to their sector's centre and sigma, a default sigma
per kind when none was given, the observer's position to the theater's local plane. A
sighting that cannot be placed (observer outside the theater, no geometry in force at its
time) is reported, not guessed at.
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
from ceasewatch.records.table import SightingTable
from ceasewatch.records.types import posix_us

__all__ = ["DEFAULT_SIGMA_DEG", "EPOCH", "MAX_RANGE_M", "Obs", "normalise", "normalise_table"]

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
#: How far (m) outside every control area an observer may stand and still be "in" the theater.
THEATER_MARGIN_M = 2000.0


class Obs(NamedTuple):
    """One usable sighting, in the local plane, with its bearing as a direction in that plane.

    A named tuple rather than a frozen dataclass: as immutable, and half the cost to build
    (an analysis builds one per sighting, a million of them for a large input).
    """

    id: str
    t_s: float  # report time, seconds since 1970 UTC
    observer: str
    org: str
    x_m: float
    y_m: float
    theta: float  # radians clockwise from the local plane's grid north (true - convergence)
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
    return normalise_table(SightingTable.of(sightings), theater)


def normalise_table(table: SightingTable, theater: Theater) -> tuple[list[Obs], list[Problem]]:
    """`normalise` of the sightings a table holds (in any order)."""
    ids, t_us = table.id, table.t_us
    order = sorted(range(len(ids)), key=lambda i: (t_us[i], ids[i]))
    if not order:
        return [], []
    lon_l = [table.lon[i] for i in order]
    lat_l = [table.lat[i] for i in order]
    lon, lat = np.array(lon_l), np.array(lat_l)
    x, y = theater.frame.to_local(lon, lat)
    inside = shapely.contains_xy(_footprint(theater), x, y)
    refs = [table.bearing_ref[i] for i in order]
    # Grid convergence at each observer (few distinct places: computed once per place). A
    # true bearing becomes a direction in the local plane by subtracting it; a grid bearing
    # (grid north of the theater's own plane) already is one.
    places = list(dict.fromkeys(zip(lon_l, lat_l, strict=True)))
    at = np.array(places).reshape(-1, 2)
    place_conv = theater.frame.grid_north_deg(at[:, 0], at[:, 1]).tolist()
    of_place = dict(zip(places, place_conv, strict=True))
    conv = [of_place[p] for p in zip(lon_l, lat_l, strict=True)]
    grid = {k for k, ref in enumerate(refs) if ref is BearingRef.GRID}
    out: list[Obs] = []
    skipped: list[Problem] = []
    # The geometry changes only at the theater's change times: ask once per period.
    has_areas: dict[int, bool] = {}
    changes = [posix_us(t) for t in theater.change_times]
    xs, ys, inside_l = x.tolist(), y.tolist(), inside.tolist()
    bearing, sigma, observer = table.bearing_deg, table.sigma_deg, table.observer
    for k, i in enumerate(order):
        if not inside_l[k]:
            skipped.append(
                Problem(
                    f"sighting {ids[i]}",
                    f"observer {observer[i]} at lat {lat_l[k]}, lon {lon_l[k]} "
                    "lies outside the theater; check the position (lat/lon swapped?)",
                )
            )
            continue
        period = bisect.bisect_right(changes, t_us[i])
        if period not in has_areas:
            has_areas[period] = bool(theater.at(table.time(i)).areas)
        if not has_areas[period]:
            skipped.append(
                Problem(
                    f"sighting {ids[i]}",
                    f"no control areas are in force at {table.time(i).isoformat()}; "
                    "check the time or the theater's valid_from/valid_to",
                )
            )
            continue
        ref, b = refs[k], bearing[i]
        if ref is BearingRef.TRUE and math.isfinite(b):
            grid_deg = b - conv[k]  # what to_true_bearing does for true, without its checks
        elif k in grid:
            grid_deg = b
        else:
            try:
                grid_deg = to_true_bearing(b, ref, lat_l[k], lon_l[k], table.time(i)) - conv[k]
            except InvalidInput as exc:
                skipped.append(Problem(f"sighting {ids[i]}", exc.message))
                continue
        grid_deg %= 360.0
        grid_deg = 0.0 if grid_deg >= 360.0 else grid_deg
        kind = table.kind[i]
        out.append(
            Obs(
                ids[i],
                t_us[i] / 1_000_000,
                observer[i],
                table.org[i],
                xs[k],
                ys[k],
                math.radians(grid_deg),
                math.radians(sigma[i] or DEFAULT_SIGMA_DEG.get(kind, 5.0)),
                table.range_min_m[i],
                table.range_max_m[i],
                kind,
                table.count[i],
                table.heard[i],
            )
        )
    return out, skipped
