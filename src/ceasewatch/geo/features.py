"""GeoJSON features of a theater (RFC 7946), read with every problem located.

Each feature carries `properties.kind`: contact_line, control_area, zone, post, base.
Positions are [longitude, latitude] in WGS84. Problems name the feature by its index in
the file and its `id` when it has one, and say what would be right. Properties that
ceasewatch does not know are kept, not rejected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import Problem
from ceasewatch.records.types import parse_time

__all__ = ["ALLOWED_GEOMETRY", "Feature", "FeatureKind", "ZoneType", "read_features"]


class FeatureKind(StrEnum):
    CONTACT_LINE = "contact_line"
    CONTROL_AREA = "control_area"
    ZONE = "zone"
    POST = "post"
    BASE = "base"


class ZoneType(StrEnum):
    CORRIDOR = "corridor"
    WITHDRAWAL = "withdrawal"
    BUFFER = "buffer"
    NO_FLY = "no_fly"
    DISTRICT = "district"


ALLOWED_GEOMETRY: Mapping[FeatureKind, tuple[str, ...]] = {
    FeatureKind.CONTACT_LINE: ("LineString", "MultiLineString"),
    FeatureKind.CONTROL_AREA: ("Polygon", "MultiPolygon"),
    FeatureKind.ZONE: ("Polygon",),
    FeatureKind.POST: ("Point",),
    FeatureKind.BASE: ("Point",),
}


@dataclass(frozen=True)
class Feature:
    """One theater feature: WGS84 geometry, kind, validity interval and all properties."""

    index: int
    kind: FeatureKind
    geometry: BaseGeometry
    properties: Mapping[str, Any] = field(default_factory=dict)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def id(self) -> str | None:
        value = self.properties.get("id")
        return None if value is None else str(value)

    @property
    def label(self) -> str:
        """How problems name this feature: "feature 3 (id 'area-w')"."""
        return f"feature {self.index}" + (f" (id {self.id!r})" if self.id else "")

    def active(self, t: datetime) -> bool:
        """Whether the feature is in force at t: valid_from <= t < valid_to."""
        return (self.valid_from is None or self.valid_from <= t) and (
            self.valid_to is None or t < self.valid_to
        )

    def time(self, key: str) -> datetime | None:
        """A property parsed as a UTC time (already validated when read)."""
        value = self.properties.get(key)
        return None if value is None else parse_time(value)


def _label(index: int, props: Mapping[str, Any]) -> str:
    fid = props.get("id")
    return f"feature {index}" + (f" (id {_brief(fid)})" if fid is not None else "")


def _positions(coords: Any, depth: int) -> list[list[Any]] | None:
    """All positions of a coordinates array of the given nesting depth, or None if malformed."""
    if depth == 0:
        return [coords] if isinstance(coords, list) else None
    if not isinstance(coords, list):
        return None
    out: list[list[Any]] = []
    for item in coords:
        sub = _positions(item, depth - 1)
        if sub is None:
            return None
        out.extend(sub)
    return out


_DEPTH = {"Point": 0, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _text(v: Any) -> str:
    """A property value for an enum lookup; a non-string never matches (and never raises)."""
    return v if isinstance(v, str) else f"<{type(v).__name__}>"


def _brief(value: Any) -> str:
    """repr, cut short: a problem must stay readable whatever the file holds."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(v: Any) -> bool:
    """A finite JSON number. An int too large for a float (JSON allows 1000 digits) is not."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _check_coordinates(where: str, gtype: str, coords: Any) -> list[Problem]:
    positions = _positions(coords, _DEPTH[gtype])
    if positions is None or (gtype != "Point" and not positions):
        return [Problem(where, f"coordinates are not a well-formed {gtype} array")]
    problems: list[Problem] = []
    for pos in positions:
        if len(pos) not in (2, 3) or not all(_is_number(v) for v in pos):
            return [Problem(where, f"position {_brief(pos)} is not [longitude, latitude] numbers")]
        lon, lat = pos[0], pos[1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            hint = (
                "; it looks like [latitude, longitude]: GeoJSON order is [longitude, latitude]"
                if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
                else ""
            )
            problems.append(
                Problem(where, f"position [{lon}, {lat}] is outside WGS84 ranges{hint}")
            )
            break
    rings: list[Any] = []
    if gtype == "Polygon":
        rings = coords
    elif gtype == "MultiPolygon":
        rings = [r for poly in coords for r in poly]
    for i, ring in enumerate(rings):
        if len(ring) < 4:
            problems.append(Problem(where, f"ring {i} has {len(ring)} positions; a ring needs 4+"))
        elif ring[0][:2] != ring[-1][:2]:
            problems.append(
                Problem(where, f"ring {i} is not closed: repeat its first position {ring[0]} last")
            )
    if gtype in ("LineString", "MultiLineString"):
        lines = [coords] if gtype == "LineString" else coords
        for i, line in enumerate(lines):
            if len(line) < 2:
                problems.append(Problem(where, f"line {i} has {len(line)} position(s); needs 2+"))
    return problems


def _geometry_problems(where: str, geom: BaseGeometry) -> list[Problem]:
    if geom.geom_type in ("LineString", "MultiLineString"):
        if not geom.is_simple:
            return [Problem(where, "the line intersects itself; remove the loop or crossing")]
        return []
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        return [Problem(where, f"invalid geometry: {reason}; fix the ring (e.g. in QGIS)")]
    return []


def _parse_feature(
    index: int, raw: Any, orgs: Mapping[str, str]
) -> tuple[Feature | None, list[Problem]]:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        return None, [Problem(f"feature {index}", 'not a GeoJSON Feature ({"type": "Feature"})')]
    props = raw.get("properties")
    if not isinstance(props, dict):
        return None, [Problem(f"feature {index}", "has no properties object; add properties.kind")]
    where = _label(index, props)
    try:
        kind = FeatureKind(_text(props.get("kind")))
    except ValueError:
        allowed = ", ".join(k.value for k in FeatureKind)
        return None, [
            Problem(where, f"properties.kind {_brief(props.get('kind'))} is not one of {allowed}")
        ]
    gj = raw.get("geometry")
    # isinstance first: `"type": [...]` is unhashable and would raise in the dict lookup.
    if not isinstance(gj, dict) or not isinstance(gj.get("type"), str) or gj["type"] not in _DEPTH:
        got = gj.get("type") if isinstance(gj, dict) else gj
        want = " or ".join(ALLOWED_GEOMETRY[kind])
        return None, [Problem(where, f"{kind} needs a {want} geometry, got {_brief(got)}")]
    gtype = str(gj["type"])
    problems: list[Problem] = []
    if gtype not in ALLOWED_GEOMETRY[kind]:
        want = " or ".join(ALLOWED_GEOMETRY[kind])
        problems.append(Problem(where, f"{kind} needs a {want} geometry, got {gtype}"))
    problems += _check_coordinates(where, gtype, gj.get("coordinates"))
    problems += _check_properties(where, kind, props, orgs)
    times: dict[str, datetime | None] = {}
    for key in ("valid_from", "valid_to"):
        times[key] = None
        if props.get(key) is not None:
            try:
                times[key] = parse_time(props[key])
            except ValueError as exc:
                problems.append(Problem(where, f"{key}: {exc}"))
    vf, vt = times["valid_from"], times["valid_to"]
    if vf is not None and vt is not None and vf >= vt:
        problems.append(Problem(where, f"valid_from {props['valid_from']} is not before valid_to"))
    if any(p.severity == "error" for p in problems):
        return None, problems
    geom = shape(gj)
    problems += _geometry_problems(where, geom)
    return Feature(index, kind, geom, dict(props), vf, vt), problems


def _check_properties(
    where: str, kind: FeatureKind, props: Mapping[str, Any], orgs: Mapping[str, str]
) -> list[Problem]:
    problems: list[Problem] = []

    def org_ref(key: str, roles: tuple[str, ...], required: bool = True) -> None:
        value = props.get(key)
        if value is None:
            if required:
                problems.append(Problem(where, f"{kind} needs properties.{key} (an org id)"))
            return
        if not isinstance(value, str) or value not in orgs:
            known = ", ".join(sorted(orgs)) or "none"
            problems.append(
                Problem(
                    where,
                    f"properties.{key} {_brief(value)} is not an org of the theater ({known})",
                )
            )
        elif orgs[value] not in roles:
            problems.append(
                Problem(
                    where,
                    f"properties.{key} {value!r} has role {orgs[value]!r}, "
                    f"expected {' or '.join(roles)}",
                )
            )

    if "id" in props and not isinstance(props["id"], str | int):
        problems.append(Problem(where, "properties.id must be a string"))
    if kind is FeatureKind.CONTROL_AREA:
        org_ref("side", ("side", "both"))
    elif kind in (FeatureKind.POST, FeatureKind.BASE):
        if not props.get("id"):
            problems.append(Problem(where, f"a {kind} needs properties.id"))
        org_ref("org", ("monitor", "both"))
    elif kind is FeatureKind.ZONE:
        try:
            ztype: ZoneType | None = ZoneType(_text(props.get("zone")))
        except ValueError:
            allowed = ", ".join(z.value for z in ZoneType)
            problems.append(
                Problem(
                    where, f"properties.zone {_brief(props.get('zone'))} is not one of {allowed}"
                )
            )
            ztype = None
        restr = props.get("restrictions", [])
        if not isinstance(restr, list) or not all(isinstance(r, str) for r in restr):
            problems.append(Problem(where, "properties.restrictions must be a list of strings"))
        org_ref("handover_to", ("side", "both"), required=False)
        if props.get("handover_by") is not None:
            try:
                parse_time(props["handover_by"])
            except ValueError as exc:
                problems.append(Problem(where, f"handover_by: {exc}"))
        has_to, has_by = props.get("handover_to") is not None, props.get("handover_by") is not None
        if has_to != has_by:
            problems.append(Problem(where, "give both handover_to and handover_by, or neither"))
        if has_to and ztype is not ZoneType.DISTRICT:
            problems.append(Problem(where, "only a district zone can be handed over"))
    return problems


def read_features(path: Path, orgs: Mapping[str, str]) -> tuple[list[Feature], list[Problem]]:
    """Read a theater's GeoJSON FeatureCollection.

    Returns:
        The features that parsed, and every problem found (errors and warnings). A
        feature with an error is left out of the list.
    """
    where = str(path)
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        return [], [Problem(where, f"cannot read the geometry file ({exc.strerror})")]
    except UnicodeDecodeError:
        return [], [Problem(where, "not UTF-8; GeoJSON must be UTF-8 (RFC 7946)")]
    except json.JSONDecodeError as exc:
        return [], [
            Problem(f"{where}:{exc.lineno}", f"not valid JSON: {exc.msg} (column {exc.colno})")
        ]
    except RecursionError:
        return [], [Problem(where, "JSON nested too deeply to be GeoJSON")]
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return [], [
            Problem(
                where,
                "expected a GeoJSON FeatureCollection "
                '({"type": "FeatureCollection", "features": [...]})',
            )
        ]
    raw_features = data.get("features")
    if not isinstance(raw_features, list):
        return [], [Problem(where, "features must be a list")]
    features: list[Feature] = []
    problems: list[Problem] = []
    for i, raw in enumerate(raw_features):
        feat, probs = _parse_feature(i, raw, orgs)
        problems += [Problem(f"{where} {p.where}", p.what, p.severity) for p in probs]
        if feat is not None:
            features.append(feat)
    problems += _swapped_warnings(where, features)
    return features, problems


def _swapped_warnings(where: str, features: list[Feature]) -> list[Problem]:
    """Warn about features that sit far from the rest but would fit if lat/lon were swapped."""
    if len(features) < 3:
        return []
    pts = [f.geometry.representative_point() for f in features]
    xs = sorted(p.x for p in pts)
    ys = sorted(p.y for p in pts)
    mx, my = xs[len(xs) // 2], ys[len(ys) // 2]
    spread = max(xs[-1] - xs[0], ys[-1] - ys[0], 0.01)
    # Spread of the typical features (inter-quartile), so one swapped outlier does not hide.
    q = max(xs[3 * len(xs) // 4] - xs[len(xs) // 4], ys[3 * len(ys) // 4] - ys[len(ys) // 4], 0.05)
    out = []
    for f, p in zip(features, pts, strict=True):
        far = math.hypot(p.x - mx, p.y - my) > 5 * q
        fits_swapped = math.hypot(p.y - mx, p.x - my) <= 2 * q
        if far and fits_swapped and spread > 0:
            out.append(
                Problem(
                    f"{where} {f.label}",
                    f"lies at lon {p.x:.4f}, lat {p.y:.4f}, far from the rest; with longitude and "
                    "latitude swapped it would fit: GeoJSON order is [longitude, latitude]",
                    "warning",
                )
            )
    return out
