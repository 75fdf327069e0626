"""Firing positions from crater analyses.

A crater's direction of fire is a ray from the impact toward the origin; its calibre
bounds how far away the origin can be (the weapon's range). Craters of one fire mission
(close in time and place, same calibre) cross-fix the firing position exactly as bearings
from observers do, so the same estimator is used with each crater as an "observer".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ceasewatch.analysis.observations import EPOCH, Obs
from ceasewatch.geo.theater import Theater
from ceasewatch.records import Crater

__all__ = ["DEFAULT_DIRECTION_SIGMA_DEG", "crater_groups", "crater_obs", "max_range_m"]

DEFAULT_DIRECTION_SIGMA_DEG = 10.0
#: Craters of one fire mission: within this time (s) and distance (m) of each other.
MISSION_WINDOW_S = 1800.0
MISSION_RADIUS_M = 3000.0
# Maximum ranges (m) by calibre (mm): mortars and light guns, tube artillery, rockets.
_RANGES = ((60.0, 2000.0), (82.0, 4300.0), (120.0, 7200.0), (122.0, 15400.0), (152.0, 24000.0))


def max_range_m(caliber_mm: float | None) -> float:
    """The farthest a weapon of this calibre fires (conservative); 20 km when unknown."""
    if caliber_mm is None:
        return 20000.0
    for cal, rng in _RANGES:
        if caliber_mm <= cal:
            return rng
    return 40000.0


def crater_obs(craters: Sequence[Crater], theater: Theater) -> list[Obs]:
    """Craters as bearing observations from the impact toward the origin, sorted by (time, id).

    Their `theta` is the direction in the local plane (grid), not degrees true."""
    ordered = sorted(craters, key=lambda c: (c.time, c.id))
    if not ordered:
        return []
    lon = np.array([c.lon for c in ordered])
    lat = np.array([c.lat for c in ordered])
    x, y = theater.frame.to_local(lon, lat)
    # A direction is degrees true; the fix works in the local plane, whose grid north
    # lies grid_north_deg east of true north (the grid convergence: about a degree in a
    # UTM zone's outer parts).
    convergence = theater.frame.grid_north_deg(lon, lat).tolist()
    out = []
    for i, c in enumerate(ordered):
        reach = max_range_m(c.caliber_mm)
        out.append(
            Obs(
                id=c.id, t_s=(c.time - EPOCH).total_seconds(), observer=c.id, org=c.org,
                x_m=float(x[i]), y_m=float(y[i]),
                theta=math.radians(c.direction_deg - convergence[i]),
                sigma=math.radians(c.direction_sigma_deg or DEFAULT_DIRECTION_SIGMA_DEG),
                rmin_m=0.1 * reach, rmax_m=reach, kind="firing_position", n_reported=1, heard=False,
            )
        )  # fmt: skip
    return out


def _same_mission(a: Obs, b: Obs, cal: dict[str, float | None]) -> bool:
    ca, cb = cal[a.id], cal[b.id]
    return (
        abs(a.t_s - b.t_s) <= MISSION_WINDOW_S
        and math.hypot(a.x_m - b.x_m, a.y_m - b.y_m) <= MISSION_RADIUS_M
        and (ca is None or cb is None or ca == cb)
    )


def crater_groups(obs: Sequence[Obs], craters: Sequence[Crater]) -> list[list[int]]:
    """Craters grouped into fire missions (single linkage within the window and radius)."""
    cal = {c.id: c.caliber_mm for c in craters}
    parent = list(range(len(obs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(obs):
        for j in range(i + 1, len(obs)):
            b = obs[j]
            if b.t_s - a.t_s > MISSION_WINDOW_S:
                break
            if _same_mission(a, b, cal):
                ri, rj = root(i), root(j)
                parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(obs)):
        groups.setdefault(root(i), []).append(i)
    return [groups[k] for k in sorted(groups)]
