"""The theater's drones and their cameras, from theater.toml.

    [[cameras]]
    id = "eo-30"             # a name telemetry ingest can refer to (--camera)
    hfov_deg = 30.0          # full horizontal field of view
    vfov_deg = 17.0          # full vertical field of view
    image_width_px = 1920    # optional: for the ground sample distance
    max_slant_m = 3000.0     # beyond this slant range a footprint does not count as observed
    max_gsd_m = 0.5          # optional (needs image_width_px): nor when pixels are coarser

    [[drones]]
    id = "uav-a1"
    org = "mon-a"            # a monitor org of the theater
    base = "base-a"          # a drone base (a `base` feature) of that org
    camera = "eo-30"         # the camera it carries unless ingest says otherwise
    endurance_h = 6.0        # flight time on one charge or tank
    cruise_mps = 28.0        # cruise ground speed
    max_range_km = 60.0      # how far from its base it may fly (link, rules)

Every problem is collected with its table and number, as the rest of theater.toml is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ceasewatch.errors import Problem

__all__ = ["Camera", "Drone", "read_fleet"]

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True, slots=True)
class Camera:
    """A drone camera: its field of view and the range within which it observes."""

    id: str
    hfov_deg: float
    vfov_deg: float
    max_slant_m: float = 3000.0
    image_width_px: int | None = None
    max_gsd_m: float | None = None


@dataclass(frozen=True, slots=True)
class Drone:
    """A drone of a monitor org, flying from one of its bases."""

    id: str
    org: str
    base: str
    camera: str
    endurance_h: float
    cruise_mps: float
    max_range_km: float


def _number(
    raw: Mapping[str, Any],
    key: str,
    where: str,
    problems: list[Problem],
    *,
    low: float = 0.0,
    high: float = math.inf,
    default: float | None = None,
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(Problem(where, f"needs {key} = a number in ({low:g}, {high:g})"))
        return math.nan
    if not low < float(value) < high:
        problems.append(Problem(where, f"{key} = {value} must lie in ({low:g}, {high:g})"))
        return math.nan
    return float(value)


def _ident(raw: Mapping[str, Any], where: str, problems: list[Problem]) -> str | None:
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident or not set(ident) <= _ID_CHARS:
        problems.append(Problem(where, f"id {ident!r} must match [a-z0-9._-]+"))
        return None
    return ident


def _tables(
    settings: Mapping[str, Any], name: str, where: str, problems: list[Problem]
) -> list[Any]:
    raw = settings.get(name, [])
    if not isinstance(raw, list):
        problems.append(Problem(where, f"{name} must be an array of tables ([[{name}]])"))
        return []
    return raw


def _cameras(settings: Mapping[str, Any], where: str, problems: list[Problem]) -> dict[str, Camera]:
    out: dict[str, Camera] = {}
    for i, raw in enumerate(_tables(settings, "cameras", where, problems)):
        w = f"{where} [[cameras]] #{i + 1}"
        if not isinstance(raw, dict):
            problems.append(Problem(w, "must be a table with id, hfov_deg, vfov_deg"))
            continue
        before = len(problems)
        ident = _ident(raw, w, problems)
        hfov = _number(raw, "hfov_deg", w, problems, high=180.0)
        vfov = _number(raw, "vfov_deg", w, problems, high=180.0)
        slant = _number(raw, "max_slant_m", w, problems, default=3000.0)
        width = raw.get("image_width_px")
        if width is not None and (
            isinstance(width, bool) or not isinstance(width, int) or width < 1
        ):
            problems.append(Problem(w, f"image_width_px = {width!r} must be a positive integer"))
        gsd = None
        if "max_gsd_m" in raw:
            gsd = _number(raw, "max_gsd_m", w, problems, high=1000.0)
            if width is None:
                problems.append(Problem(w, "max_gsd_m needs image_width_px = <pixels>"))
        if ident is not None and ident in out:
            problems.append(Problem(w, f"camera id {ident!r} is defined twice"))
        if ident is None or len(problems) > before:
            continue
        out[ident] = Camera(ident, hfov, vfov, slant, width, gsd)
    return out


def read_fleet(
    settings: Mapping[str, Any],
    where: str,
    monitors: set[str],
    bases: Mapping[str, str],
) -> tuple[dict[str, Camera], dict[str, Drone], list[Problem]]:
    """The cameras and drones of theater.toml's settings.

    Args:
        settings: theater.toml's tables other than [theater] and [[orgs]].
        where: theater.toml's path, for the problems.
        monitors: the monitor orgs' ids.
        bases: {base id: org} of the theater's `base` features.

    Returns:
        ({camera id: Camera}, {drone id: Drone}, problems).
    """
    problems: list[Problem] = []
    cameras = _cameras(settings, where, problems)
    drones: dict[str, Drone] = {}
    for i, raw in enumerate(_tables(settings, "drones", where, problems)):
        w = f"{where} [[drones]] #{i + 1}"
        if not isinstance(raw, dict):
            problems.append(Problem(w, "must be a table with id, org, base, camera, ..."))
            continue
        before = len(problems)
        ident = _ident(raw, w, problems)
        org, base, camera = raw.get("org"), raw.get("base"), raw.get("camera")
        if org not in monitors:
            problems.append(Problem(w, f"org {org!r} is not a monitor org of the theater"))
        if not isinstance(base, str) or base not in bases:
            known = ", ".join(sorted(bases)) or "none"
            problems.append(Problem(w, f"base {base!r} is not a base feature (bases: {known})"))
        elif bases[base] != org:
            problems.append(Problem(w, f"base {base!r} belongs to {bases[base]}, not {org!r}"))
        if camera not in cameras:
            known = ", ".join(sorted(cameras)) or "none"
            problems.append(Problem(w, f"camera {camera!r} is not in [[cameras]] ({known})"))
        endurance = _number(raw, "endurance_h", w, problems, high=100.0)
        cruise = _number(raw, "cruise_mps", w, problems, high=300.0)
        reach = _number(raw, "max_range_km", w, problems, high=5000.0)
        if ident is not None and ident in drones:
            problems.append(Problem(w, f"drone id {ident!r} is defined twice"))
        if ident is None or len(problems) > before:
            continue
        drones[ident] = Drone(ident, str(org), str(base), str(camera), endurance, cruise, reach)
    return cameras, drones, problems
