"""A theater: its organisations and its geometry over time.

A theater is a directory with `theater.toml` and the GeoJSON file it names. Geometry
changes with time in two ways: any feature may carry `valid_from`/`valid_to`, and a
district zone with `handover_to`/`handover_by` passes to that side at that time, which
moves the control areas and the contact line. `Theater.at(t)` resolves both into the
`TheaterState` in force at t. States are constant between change times, so each is
computed once and cached.
"""

from __future__ import annotations

import bisect
import itertools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.features import Feature, FeatureKind, ZoneType, read_features
from ceasewatch.geo.fleet import Camera, Drone, read_fleet
from ceasewatch.geo.geodesy import FloatArray, LocalFrame, utm_crs_for

__all__ = [
    "Org",
    "OrgRole",
    "Site",
    "Theater",
    "TheaterState",
    "Zone",
    "load_theater",
    "read_theater",
]

_ORG_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


class OrgRole(StrEnum):
    MONITOR = "monitor"
    SIDE = "side"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    role: OrgRole

    @property
    def is_side(self) -> bool:
        return self.role in (OrgRole.SIDE, OrgRole.BOTH)

    @property
    def is_monitor(self) -> bool:
        return self.role in (OrgRole.MONITOR, OrgRole.BOTH)


@dataclass(frozen=True)
class Zone:
    """A restricted area in force: corridor, withdrawal, buffer, no-fly or district."""

    id: str
    type: ZoneType
    geometry: BaseGeometry
    restrictions: tuple[str, ...] = ()
    handover_to: str | None = None
    handover_by: datetime | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Site:
    """A point of an org: an observation post or a drone base."""

    id: str
    org: str
    lon: float
    lat: float
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TheaterState:
    """The geometry in force during [start, end) (None: unbounded)."""

    start: datetime | None
    end: datetime | None
    areas: Mapping[str, BaseGeometry]
    contact_line: BaseGeometry
    zones: tuple[Zone, ...]
    posts: tuple[Site, ...]
    bases: tuple[Site, ...]

    def side_at(self, lon: float, lat: float) -> str | None:
        """The side whose area contains the point, or None."""
        pt = Point(lon, lat)
        for side in sorted(self.areas):
            if self.areas[side].covers(pt):
                return side
        return None

    def sides_of(self, lon: FloatArray, lat: FloatArray) -> list[str | None]:
        """`side_at` for arrays of points."""
        out: list[str | None] = [None] * len(lon)
        for side in sorted(self.areas):
            inside = shapely.intersects_xy(self.areas[side], lon, lat)
            for i in np.flatnonzero(inside):
                if out[i] is None:
                    out[i] = side
        return out

    def zones_of(self, zone_type: ZoneType) -> tuple[Zone, ...]:
        return tuple(z for z in self.zones if z.type is zone_type)


class Theater:
    """Orgs and geometry of a monitored area; `at(t)` gives the geometry in force at t."""

    def __init__(
        self,
        name: str,
        root: Path,
        orgs: Sequence[Org],
        features: Sequence[Feature],
        crs: str | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
        cameras: Mapping[str, Camera] | None = None,
        drones: Mapping[str, Drone] | None = None,
    ) -> None:
        self.name = name
        self.root = root
        self.orgs: dict[str, Org] = {o.id: o for o in orgs}
        self.features: tuple[Feature, ...] = tuple(features)
        self.settings: Mapping[str, Any] = dict(settings or {})
        self.cameras: dict[str, Camera] = dict(cameras or {})
        self.drones: dict[str, Drone] = dict(drones or {})
        if crs is None:
            minx, miny, maxx, maxy = unary_union([f.geometry for f in self.features]).bounds
            crs = utm_crs_for((minx + maxx) / 2, (miny + maxy) / 2)
        self.crs = crs
        self.frame = LocalFrame(crs)
        times: set[datetime] = set()
        for f in self.features:
            times.update(t for t in (f.valid_from, f.valid_to) if t)
        # Only zones' handover_by is validated when read; on any other kind it is an
        # unknown property, kept but meaningless (and possibly not a time at all).
        # A handover holds from handover_by on, also after the district zone itself
        # expires (a district often ends the moment it is handed over: valid_to ==
        # handover_by), if the district was in force up to its handover.
        handovers: list[tuple[datetime, Zone]] = []
        for f in self.features:
            if f.kind is FeatureKind.ZONE and f.properties.get("handover_to") is not None:
                zone = _zone(f)
                by = zone.handover_by
                if (
                    by is not None
                    and (f.valid_from is None or f.valid_from <= by)
                    and (f.valid_to is None or by <= f.valid_to)
                ):
                    handovers.append((by, zone))
        handovers.sort(key=lambda hz: (hz[0], hz[1].id))
        self._handovers: tuple[Zone, ...] = tuple(z for _, z in handovers)
        times.update(t for t, _ in handovers)
        self.change_times: tuple[datetime, ...] = tuple(sorted(times))
        self._states: dict[int, TheaterState] = {}

    @property
    def sides(self) -> list[str]:
        return sorted(o.id for o in self.orgs.values() if o.is_side)

    @property
    def monitors(self) -> list[str]:
        return sorted(o.id for o in self.orgs.values() if o.is_monitor)

    def org_roles(self) -> dict[str, str]:
        """{org id: role}: the validation context records are checked against."""
        return {o.id: o.role.value for o in self.orgs.values()}

    def intervals(self) -> list[tuple[datetime | None, datetime | None]]:
        """The periods during which the geometry does not change, in time order."""
        bounds: list[datetime | None] = [None, *self.change_times, None]
        return list(itertools.pairwise(bounds))

    def at(self, t: datetime) -> TheaterState:
        """The geometry in force at t (valid_from <= t < valid_to; handovers at handover_by)."""
        if t.tzinfo is None:
            raise InvalidInput("Theater.at needs a timezone-aware time")
        i = bisect.bisect_right(self.change_times, t)
        state = self._states.get(i)
        if state is None:
            start = self.change_times[i - 1] if i > 0 else None
            end = self.change_times[i] if i < len(self.change_times) else None
            state = self._build_state(t, start, end)
            self._states[i] = state
        return state

    def _build_state(
        self, t: datetime, start: datetime | None, end: datetime | None
    ) -> TheaterState:
        active = [f for f in self.features if f.active(t)]
        areas: dict[str, BaseGeometry] = {}
        for side in self.sides:
            parts = [
                f.geometry
                for f in active
                if f.kind is FeatureKind.CONTROL_AREA and f.properties["side"] == side
            ]
            if parts:
                areas[side] = unary_union(parts)
        line = unary_union([f.geometry for f in active if f.kind is FeatureKind.CONTACT_LINE])
        zones = tuple(_zone(f) for f in active if f.kind is FeatureKind.ZONE)
        for zone in self._handovers:
            if zone.handover_by is not None and zone.handover_by <= t:
                areas, line = _hand_over(areas, line, zone)
        return TheaterState(
            start=start,
            end=end,
            areas=areas,
            contact_line=_merge_lines(line),
            zones=zones,
            posts=tuple(_site(f) for f in active if f.kind is FeatureKind.POST),
            bases=tuple(_site(f) for f in active if f.kind is FeatureKind.BASE),
        )


def _zone(f: Feature) -> Zone:
    p = f.properties
    return Zone(
        id=f.id or f"feature-{f.index}",
        type=ZoneType(p["zone"]),
        geometry=f.geometry,
        restrictions=tuple(p.get("restrictions") or ()),
        handover_to=p.get("handover_to"),
        handover_by=f.time("handover_by"),
        properties=p,
    )


def _site(f: Feature) -> Site:
    pt = f.geometry
    return Site(
        id=str(f.properties["id"]),
        org=str(f.properties["org"]),
        lon=pt.x,
        lat=pt.y,
        properties=f.properties,
    )


def _hand_over(
    areas: dict[str, BaseGeometry], line: BaseGeometry, zone: Zone
) -> tuple[dict[str, BaseGeometry], BaseGeometry]:
    """Give a district to its new side: the areas change, and so does the contact line.

    The line loses what lies inside the district and gains the district's edges that now
    face another side's area.
    """
    owner = zone.handover_to
    assert owner is not None
    d = zone.geometry
    new = {side: (geom.difference(d) if side != owner else geom) for side, geom in areas.items()}
    new[owner] = unary_union([areas.get(owner, d), d])
    facing = [d.boundary.intersection(geom) for side, geom in new.items() if side != owner]
    kept = line.difference(d) if not line.is_empty else line
    return new, unary_union([kept, *facing])


def _merge_lines(geom: BaseGeometry) -> BaseGeometry:
    """Only the linear parts, merged into as few lines as possible."""
    parts = [
        g
        for g in getattr(geom, "geoms", [geom])
        if g.geom_type in ("LineString", "MultiLineString") and not g.is_empty
    ]
    lines: list[BaseGeometry] = []
    for g in parts:
        lines.extend(getattr(g, "geoms", [g]))
    if not lines:
        return MultiLineString()
    return linemerge(lines)


@dataclass
class _Parsed:
    name: str = ""
    geometry: Path | None = None
    crs: str | None = None
    orgs: list[Org] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def _read_toml(path: Path) -> tuple[_Parsed, list[Problem]]:
    where = str(path)
    parsed = _Parsed()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return parsed, [Problem(where, "not found; a theater directory needs theater.toml")]
    except (OSError, UnicodeDecodeError) as exc:
        return parsed, [Problem(where, f"cannot read as UTF-8 text ({exc})")]
    except tomllib.TOMLDecodeError as exc:
        return parsed, [Problem(where, f"not valid TOML: {exc}")]
    problems: list[Problem] = []
    th = data.get("theater")
    if not isinstance(th, dict):
        return parsed, [Problem(where, "needs a [theater] table with name and geometry")]
    for key in ("name", "geometry"):
        if not isinstance(th.get(key), str) or not th[key].strip():
            problems.append(Problem(f"{where} [theater]", f'needs {key} = "..." (a string)'))
    parsed.name = str(th.get("name", ""))
    if isinstance(th.get("geometry"), str):
        parsed.geometry = path.parent / th["geometry"]
    if "crs" in th:
        if not isinstance(th["crs"], str):
            problems.append(
                Problem(f"{where} [theater]", 'crs must be a string such as "EPSG:32638"')
            )
        else:
            parsed.crs = th["crs"]
    raw_orgs = data.get("orgs", [])
    if not isinstance(raw_orgs, list) or not raw_orgs:
        problems.append(Problem(where, "needs [[orgs]] entries (id, name, role)"))
        raw_orgs = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_orgs):
        w = f"{where} [[orgs]] #{i + 1}"
        if not isinstance(raw, dict):
            problems.append(Problem(w, "must be a table with id, name, role"))
            continue
        oid, name, role = raw.get("id"), raw.get("name", raw.get("id")), raw.get("role")
        if not isinstance(oid, str) or not oid or not set(oid) <= _ORG_ID_CHARS:
            problems.append(Problem(w, f"id {oid!r} must match [a-z0-9-]+"))
            continue
        if oid in seen:
            problems.append(Problem(w, f"org id {oid!r} is defined twice"))
            continue
        try:
            org_role = OrgRole(role if isinstance(role, str) else f"<{type(role).__name__}>")
        except ValueError:
            problems.append(Problem(w, f"role {role!r} must be monitor, side or both"))
            continue
        seen.add(oid)
        if not isinstance(raw.get("name"), str) or not raw["name"].strip():
            problems.append(Problem(w, f'has no name = "..."; {oid!r} is shown instead', "warning"))
            name = oid
        parsed.orgs.append(Org(oid, str(name), org_role))
    parsed.settings = {k: v for k, v in data.items() if k not in ("theater", "orgs")}
    return parsed, problems


def read_theater(directory: Path) -> tuple[Theater | None, list[Problem]]:
    """Read a theater directory, collecting every problem instead of stopping at the first.

    Returns:
        The theater (None when an error prevents building it) and all problems found.
    """
    toml_path = directory / "theater.toml" if directory.is_dir() else directory
    parsed, problems = _read_toml(toml_path)
    if parsed.geometry is None or any(p.severity == "error" for p in problems):
        return None, problems
    orgs = {o.id: o.role.value for o in parsed.orgs}
    features, feature_problems = read_features(parsed.geometry, orgs)
    problems += feature_problems
    if any(p.severity == "error" for p in problems):
        return None, problems
    if not features:
        return None, [*problems, Problem(str(parsed.geometry), "has no features")]
    bases = {
        str(f.properties["id"]): str(f.properties["org"])
        for f in features
        if f.kind is FeatureKind.BASE
    }
    monitors = {o.id for o in parsed.orgs if o.role in (OrgRole.MONITOR, OrgRole.BOTH)}
    cameras, drones, fleet_problems = read_fleet(parsed.settings, str(toml_path), monitors, bases)
    problems += fleet_problems
    if fleet_problems:
        return None, problems
    try:
        theater = Theater(
            parsed.name,
            toml_path.parent,
            parsed.orgs,
            features,
            parsed.crs,
            settings=parsed.settings,
            cameras=cameras,
            drones=drones,
        )
    except InvalidInput as exc:
        return None, [*problems, Problem(f"{toml_path} [theater]", exc.message)]
    return theater, problems


def load_theater(directory: Path) -> Theater:
    """Read a theater directory; refuse it with every problem listed if it has errors.

    Geometry checks that need the whole theater over time (overlapping areas, the contact
    line against the areas' boundary) are `ceasewatch.geo.check.check_theater`'s.

    Raises:
        InvalidInput: theater.toml or the GeoJSON has errors.
    """
    theater, problems = read_theater(directory)
    errors = [p for p in problems if p.severity == "error"]
    if theater is None or errors:
        raise InvalidInput(
            f"theater {directory} has {len(errors)} error(s); "
            f"run `ceasewatch theater check {directory}`",
            errors,
        )
    return theater
