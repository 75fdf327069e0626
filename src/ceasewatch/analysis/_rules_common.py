"""Shared geometry, context and violation maker for `ceasewatch.analysis.violations`.

See that module's docstring for what each rule kind finds and how probably.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from ceasewatch.analysis.model import Event, Violation, violation_of
from ceasewatch.analysis.rules import Rule
from ceasewatch.geo.theater import Site, Theater
from ceasewatch.records.kinds import Detection

#: sqrt of the 95% quantile of chi-square with 2 degrees of freedom: a 95% radius over this
#: is the sigma of a circular Gaussian.
_R95_PER_SIGMA = math.sqrt(-2.0 * math.log(0.05))


# --- shared geometry --------------------------------------------------------------------

Cov = tuple[tuple[float, float], tuple[float, float]]
#: A polygon in the local plane (prepared) and its boundary.
_Region = tuple[BaseGeometry, BaseGeometry]


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _sigma_along(cov: Cov, ux: float, uy: float) -> float:
    (cxx, cxy), (cyx, cyy) = cov
    return math.sqrt(max(0.0, ux * ux * cxx + ux * uy * (cxy + cyx) + uy * uy * cyy))


def _sigma_max(cov: Cov) -> float:
    """sqrt of the largest eigenvalue of a 2x2 covariance."""
    (a, b), (c, d) = cov
    off = (b + c) / 2.0
    return math.sqrt(max(0.0, (a + d) / 2.0 + math.hypot((a - d) / 2.0, off)))


def _p_inside(region: _Region, x: float, y: float, cov: Cov) -> float:
    """P(the true position lies in the region), half-plane approximation at the nearest edge."""
    geom, boundary = region
    pt = Point(x, y)
    d = float(boundary.distance(pt))
    if d == 0.0:
        return 0.5
    near = nearest_points(boundary, pt)[0]
    sigma = _sigma_along(cov, (near.x - x) / d, (near.y - y) / d)
    inside = bool(geom.covers(pt))
    if sigma <= 0.0:
        return 1.0 if inside else 0.0
    return _phi((d if inside else -d) / sigma)


def _iso(error_m: float) -> Cov:
    var = (error_m / _R95_PER_SIGMA) ** 2
    return ((var, 0.0), (0.0, var))


def best_side(p_side: Mapping[str, float]) -> tuple[str | None, float]:
    """The most probable side and its probability (ties: the first by name)."""
    side, best = None, 0.0
    for s, p in p_side.items():  # the least (-p, s) of p > 0, without sorting
        if p > best or (p == best and side is not None and s < side):
            side, best = s, p
    return side, best


def _other_side(theater: Theater, side: str | None) -> str | None:
    others = [s for s in theater.sides if s != side]
    return others[0] if side is not None and len(others) == 1 else None


def _declared_side(det: Detection, theater: Theater) -> str | None:
    side = det.extra.get("x_side")
    return side if side in theater.sides else None


@dataclass
class _Context:
    theater: Theater
    events: list[Event]
    detections: list[Detection]
    det_xy: dict[str, tuple[float, float]]
    impacts: Mapping[str, Sequence[tuple[float, float]]]
    _regions: dict[int, tuple[BaseGeometry, _Region]] = field(default_factory=dict)
    _sites: dict[tuple[str, float, float], tuple[float, float]] = field(default_factory=dict)
    _by_kind: dict[str, list[int]] | None = None

    def region(self, geom: BaseGeometry) -> _Region:
        """A WGS84 polygon in the local plane, projected once per geometry object."""
        hit = self._regions.get(id(geom))
        if hit is None:
            plane = self.theater.frame.to_local_geometry(geom)
            shapely.prepare(plane)
            # Keep geom itself so that its id() cannot be reused while cached.
            hit = self._regions[id(geom)] = (geom, (plane, plane.boundary))
        return hit[1]

    def site_xy(self, site: Site) -> tuple[float, float]:
        key = (site.id, site.lon, site.lat)
        xy = self._sites.get(key)
        if xy is None:
            x, y = self.theater.frame.to_local(site.lon, site.lat)
            xy = self._sites[key] = (float(x[0]), float(y[0]))
        return xy

    def of_kind(self, *kinds: str) -> list[Event]:
        """The events of these kinds, in their order (indexed by kind on first use)."""
        if self._by_kind is None:
            of = [e.kind for e in self.events]
            every = range(len(of))
            self._by_kind = {
                k: list(itertools.compress(every, map(k.__eq__, of))) for k in dict.fromkeys(of)
            }
        lists = [self._by_kind.get(k, []) for k in dict.fromkeys(kinds)]
        idx = lists[0] if len(lists) == 1 else sorted(itertools.chain(*lists))
        return list(map(self.events.__getitem__, idx))


def _make(
    rule: Rule,
    *,
    side: str | None,
    p: float,
    time: datetime,
    lon: float,
    lat: float,
    description: str,
    event_ids: Iterable[str] = (),
    detection_ids: Iterable[str] = (),
) -> Violation:
    ev = tuple(sorted(set(event_ids))) if event_ids else ()
    det = tuple(sorted(set(detection_ids))) if detection_ids else ()
    # "\x1f".join([rule.id, *("e:" + e for e in ev), *("d:" + d for d in det)]):
    key = rule.id
    if ev:
        key += "\x1fe:" + "\x1fe:".join(ev)
    if det:
        key += "\x1fd:" + "\x1fd:".join(det)
    if rule.provision:
        description += f" [{rule.provision}]"
    return violation_of(
        (
            "V-" + sha256(key.encode()).hexdigest()[:16],
            rule.id,
            rule.kind._value_,  # the member's value (.value is a slow descriptor)
            side,
            round(min(1.0, max(0.0, p)), 6),
            rule.severity._value_,
            time,
            lon,
            lat,
            description,
            ev,
            det,
        )
    )
