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

import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.bearings import BearingRef, magnetic_declinations_deg, to_true_bearing
from ceasewatch.geo.geodesy import FloatArray
from ceasewatch.geo.theater import Theater
from ceasewatch.records import Sighting
from ceasewatch.records.table import SightingTable, utc_from_us
from ceasewatch.records.types import posix_us

BoolArray = npt.NDArray[np.bool_]

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
    """`normalise` of the sightings a table holds (in any order).

    Column at a time: positions, periods, declinations and convergences for every row at
    once; the rows that cannot be used (few) are then told apart one by one, in order.
    """
    order = _order(table.id, table.t_us)
    if not order:
        return [], []
    col = _Columns(table, order)
    x, y = theater.frame.to_local(np.array(col.lon), np.array(col.lat))
    inside = shapely.contains_xy(_footprint(theater), x, y)
    # The geometry changes only at the theater's change times: ask once per period.
    changes = np.array([posix_us(t) for t in theater.change_times], dtype=np.int64)
    period = np.searchsorted(changes, np.array(col.t_us, dtype=np.int64), side="right")
    has_areas = np.zeros(len(changes) + 1, dtype=bool)
    for p in np.unique(period).tolist():
        first = col.t_us[int(np.argmax(period == p))]
        has_areas[p] = bool(theater.at(utc_from_us(first)).areas)
    usable = inside & has_areas[period]
    grid_deg, failed = _grid_bearings(col, theater, usable)
    keep = usable.copy()
    keep[list(failed)] = False
    skipped = [_problem(col, k, bool(inside[k]), failed) for k in np.flatnonzero(~keep).tolist()]
    rows = np.flatnonzero(keep).tolist()
    take = _taker(rows)
    theta = list(map(math.radians, _turns(grid_deg[rows]).tolist()))
    kinds = take(col.kind)
    default = {k: DEFAULT_SIGMA_DEG.get(k, 5.0) for k in set(kinds)}
    sigma = list(
        map(
            math.radians, [s or default[k] for s, k in zip(take(col.sigma_deg), kinds, strict=True)]
        )
    )
    t_s = list(map(operator.truediv, take(col.t_us), repeat(1_000_000)))
    fields = zip(
        take(col.id), t_s, take(col.observer), take(col.org), take(x.tolist()),
        take(y.tolist()), theta, sigma, take(col.range_min_m), take(col.range_max_m),
        kinds, take(col.count), take(col.heard), strict=True,
    )  # fmt: skip
    # tuple.__new__ builds each Obs from its fields without a Python call per row.
    out: list[Obs] = list(map(tuple.__new__, repeat(Obs), fields))
    return out, skipped


def _order(ids: list[str], t_us: list[int]) -> list[int]:
    """Row indices sorted by (time, id), stably: by time in numpy, then the runs of equal
    times by id."""
    if not ids:
        return []
    t = np.array(t_us, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    tied = np.flatnonzero(ts[1:] == ts[:-1])
    out: list[int] = order.tolist()
    if len(tied):
        # Runs of equal times: [a, b) where each tied index joins its successor.
        starts = tied[np.r_[True, tied[1:] != tied[:-1] + 1]]
        ends = tied[np.r_[tied[1:] != tied[:-1] + 1, True]] + 2
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            out[a:b] = sorted(out[a:b], key=ids.__getitem__)
    return out


def _taker(rows: list[int]) -> Callable[[Sequence[Any]], list[Any]]:
    """A function giving [values[k] for k in rows]."""
    if not rows:
        return lambda values: []
    get = operator.itemgetter(*rows)
    if len(rows) == 1:
        return lambda values: [get(values)]
    return lambda values: list(get(values))


class _Columns:
    """The table's columns in (time, id) order."""

    def __init__(self, table: SightingTable, order: list[int]) -> None:
        take = _taker(order)
        self.id: list[str] = take(table.id)
        self.t_us: list[int] = take(table.t_us)
        self.org: list[str] = take(table.org)
        self.observer: list[str] = take(table.observer)
        self.lat: list[float] = take(table.lat)
        self.lon: list[float] = take(table.lon)
        self.bearing_deg: list[float] = take(table.bearing_deg)
        self.bearing_ref: list[BearingRef] = take(table.bearing_ref)
        self.sigma_deg: list[float | None] = take(table.sigma_deg)
        self.range_min_m: list[float | None] = take(table.range_min_m)
        self.range_max_m: list[float | None] = take(table.range_max_m)
        self.kind: list[str] = take(table.kind)
        self.count: list[int] = take(table.count)
        self.heard: list[bool] = take(table.heard)


def _turn(deg: float) -> float:
    """deg in [0, 360) (what `% 360.0` leaves, but 360.0 itself)."""
    deg %= 360.0
    return 0.0 if deg >= 360.0 else deg  # (-1e-17) % 360.0 == 360.0


def _turns(deg: FloatArray) -> FloatArray:
    """`_turn` of each: % per element (Python's float %), the 360.0 case in numpy."""
    m = np.array(list(map(float.__mod__, deg.tolist(), repeat(360.0))), dtype=np.float64)
    return np.where(m >= 360.0, 0.0, m)


def _grid_bearings(
    col: _Columns, theater: Theater, usable: BoolArray
) -> tuple[FloatArray, dict[int, str]]:
    """Each row's bearing as a direction in the local plane (degrees, before `_turn`), and
    the usable rows whose bearing cannot be converted (row -> why).

    True: minus the grid convergence at the observer (once per distinct place). Grid
    bearings already are such directions. Magnetic: the declination (per distinct place
    and rounded time, `magnetic_declinations_deg`) added, as `to_true_bearing` adds it,
    then the convergence taken off; `to_true_bearing` itself where that gives None, or
    for anything else (a true bearing that is not finite).
    """
    places = list(dict.fromkeys(zip(col.lon, col.lat, strict=True)))
    at = np.array(places).reshape(-1, 2)
    of_place = dict(
        zip(places, theater.frame.grid_north_deg(at[:, 0], at[:, 1]).tolist(), strict=True)
    )
    conv = np.array(list(map(of_place.__getitem__, zip(col.lon, col.lat, strict=True))))
    bearing, refs = np.array(col.bearing_deg, dtype=np.float64), col.bearing_ref
    # Which north each row's bearing is from, by the identity of the BearingRef member.
    ref_id = np.array(list(map(id, refs)), dtype=np.int64)
    true, grid = ref_id == id(BearingRef.TRUE), ref_id == id(BearingRef.GRID)
    magnetic = ref_id == id(BearingRef.MAGNETIC)
    finite = np.isfinite(bearing)
    out = np.where(true, bearing - conv, bearing)
    rows = np.flatnonzero(magnetic & usable & finite).tolist()
    decl = magnetic_declinations_deg(
        [col.lat[k] for k in rows], [col.lon[k] for k in rows], [col.t_us[k] for k in rows]
    )
    known = [k for k, d in zip(rows, decl, strict=True) if d is not None]
    if known:
        b = bearing[known] + np.array([d for d in decl if d is not None])
        out[known] = _turns(b) - conv[known]
    # to_true_bearing itself: magnetic rows without a declination, a true bearing that is
    # not finite (it says why), a reference that is none of the three.
    slow = {k for k, d in zip(rows, decl, strict=True) if d is None}
    slow.update(np.flatnonzero(usable & ((true & ~finite) | ~(true | grid | magnetic))).tolist())
    slow.update(np.flatnonzero(usable & magnetic & ~finite).tolist())
    failed: dict[int, str] = {}
    for k in sorted(slow):
        try:
            true = to_true_bearing(
                col.bearing_deg[k], refs[k], col.lat[k], col.lon[k], utc_from_us(col.t_us[k])
            )
        except InvalidInput as exc:
            failed[k] = exc.message
        else:
            out[k] = true - conv[k]
    return out, failed


def _problem(col: _Columns, k: int, inside: bool, failed: dict[int, str]) -> Problem:
    """Why row k cannot be used: outside the theater, no areas in force, or its bearing."""
    where = f"sighting {col.id[k]}"
    if not inside:
        return Problem(
            where,
            f"observer {col.observer[k]} at lat {col.lat[k]}, lon {col.lon[k]} "
            "lies outside the theater; check the position (lat/lon swapped?)",
        )
    if k in failed:
        return Problem(where, failed[k])
    return Problem(
        where,
        f"no control areas are in force at {utc_from_us(col.t_us[k]).isoformat()}; "
        "check the time or the theater's valid_from/valid_to",
    )
