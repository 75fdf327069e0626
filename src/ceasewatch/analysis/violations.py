"""Violations: what each rule kind finds in events and detections, and how probably.

The rules themselves (their file format, kinds and parameters) are in
`ceasewatch.analysis.rules`; `apply_rules` here checks records against them.

What each kind finds, and the probability p it reports (the geometry's; a violation's p
is rounded to 6 decimals so that platforms agree byte for byte):

- `fire_across_line`: (a) a `firing_position` event (from crater cross-fixes) in side
  X's area with at least one impact (the `impacts=` mapping, local metres) in another
  side's area: p = p_X(firing position). Impacts are measured points, so one impact
  across the line is enough (not a mean over impacts). (b) a `shot` event and the
  `explosion` events paired with it: each explosion is paired with at most one shot,
  the one before it within `max_delay_s` and `max_range_m`, nearest in time (then in
  distance, then by id); p = p_X(shot) * max over its explosions of P(explosion outside
  X's area). X is the side that maximises p.
- `fire_near_post`: an event of `kinds` within `distance_m` of a post in force at its
  time: p = P(true distance <= distance_m) = Phi((distance_m - d) / sigma), sigma the
  event's standard deviation along the direction to the post (the nearest post by p).
  Side: for an explosion, the side across from the area the impact lies in (inferred,
  and said so); for any other kind (shot, burst...), the most probable side of its area.
- `weapon_in_zone`: a detection whose class is in the rule's `classes` (default: the
  zone's `restrictions`) inside a zone of `zone_types` (default withdrawal) in force:
  p = P(inside), error_m read as a 95% radius (sigma = error_m / 2.448). Side: the
  record's `x_side` if it names a side, else the side whose area holds the detection.
- `presence_after_handover`: a detection of `classes` inside a district at or after its
  `handover_by` (+ `grace_s`, and within `max_after_s` when given): p = P(inside).
  Side: the record's `x_side` (no violation when that is the new owner), else the side
  that held most of the district just before the handover (inferred, and said so).
- `movement_across_line`: a `movement` event paired with the movement just before it
  (0 < gap <= `max_gap_s`, distance <= `max_distance_m`; nearest in time, then in
  distance, then by id) when their most probable sides differ: p = p_X(earlier) *
  p_Y(later); side X; placed at the later event.
- `overflight`: an event of `kinds` or a detection of `classes` inside a no-fly zone
  (`no_fly`), or a detection over a side's area other than its own `x_side`
  (`over_other_side`): p = the larger P(inside). Side: `x_side` when the record gives a
  side, else None (events carry no declared side).

P(inside) of a region is Phi(s / sigma): s the signed distance (inside positive) to the
nearest boundary point, sigma the position's standard deviation toward that point (a
half-plane approximation, fine while the region is much larger than sigma).

Violation ids are "V-" + the first 16 hex digits of the SHA-256 of the rule id and the
sorted evidence ids; inputs are sorted and deduplicated by id, so the output does not
depend on their order.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import (
    FireAcrossLineParams,
    FireNearPostParams,
    MovementAcrossLineParams,
    OverflightParams,
    PresenceAfterHandoverParams,
    Rule,
    WeaponInZoneParams,
)
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.features import FeatureKind, ZoneType
from ceasewatch.geo.theater import Site, Theater
from ceasewatch.records.kinds import Detection

__all__ = ["apply_rules", "best_side"]

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
    ranked = sorted(((-p, s) for s, p in p_side.items() if p > 0.0))
    return (ranked[0][1], -ranked[0][0]) if ranked else (None, 0.0)


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
        return [e for e in self.events if e.kind in kinds]


def _unique(items: Iterable[Any], what: str) -> list[Any]:
    by_id: dict[str, Any] = {}
    for item in items:
        old = by_id.setdefault(item.id, item)
        if old is not item and old != item:
            raise InvalidInput(f"two different {what} have the id {item.id!r}")
    return sorted(by_id.values(), key=lambda item: (item.time, item.id))


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
    ev, det = tuple(sorted(set(event_ids))), tuple(sorted(set(detection_ids)))
    key = "\x1f".join([rule.id, *(f"e:{e}" for e in ev), *(f"d:{d}" for d in det)])
    if rule.provision:
        description += f" [{rule.provision}]"
    return Violation(
        id="V-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        rule=rule.id,
        kind=rule.kind.value,
        side=side,
        p=round(min(1.0, max(0.0, p)), 6),
        severity=rule.severity.value,
        time=time,
        lon=lon,
        lat=lat,
        description=description,
        event_ids=ev,
        detection_ids=det,
    )


# --- the rule kinds ---------------------------------------------------------------------


def _fire_across_line(rule: Rule, p: FireAcrossLineParams, ctx: _Context) -> Iterator[Violation]:
    th = ctx.theater
    for fp in ctx.of_kind("firing_position"):
        pts = sorted(ctx.impacts.get(fp.id, ()))
        if not pts:
            continue
        lon, lat = th.frame.to_wgs84([x for x, _ in pts], [y for _, y in pts])
        impact_sides = th.at(fp.time).sides_of(lon, lat)
        # The side X with the highest p_X among those with an impact outside X's area.
        ranked = sorted(
            (-p_x, side)
            for side, p_x in fp.p_side.items()
            if p_x > 0.0 and any(s is not None and s != side for s in impact_sides)
        )
        if not ranked or -ranked[0][0] < rule.min_p:
            continue
        p_x, side = -ranked[0][0], ranked[0][1]
        across = sorted({s for s in impact_sides if s is not None and s != side})
        n_across = sum(1 for s in impact_sides if s is not None and s != side)
        yield _make(
            rule,
            side=side,
            p=p_x,
            time=fp.time,
            lon=fp.lon,
            lat=fp.lat,
            description=(
                f"firing position in {side}'s area (p {p_x:.2f}) with {n_across} of "
                f"{len(pts)} impact(s) in {' and '.join(across)}'s area"
                + (f"; craters {', '.join(sorted(fp.craters))}" if fp.craters else "")
            ),
            event_ids=[fp.id],
        )
    yield from _shots_across_line(rule, p, ctx)


def _shots_across_line(rule: Rule, p: FireAcrossLineParams, ctx: _Context) -> Iterator[Violation]:
    shots = ctx.of_kind("shot")
    times = [s.time for s in shots]
    paired: dict[str, list[Event]] = {}
    for ex in ctx.of_kind("explosion"):
        lo = bisect.bisect_left(times, ex.time - timedelta(seconds=p.max_delay_s))
        hi = bisect.bisect_right(times, ex.time)
        cands = []
        for shot in shots[lo:hi]:
            dist = math.hypot(ex.x_m - shot.x_m, ex.y_m - shot.y_m)
            if dist <= p.max_range_m:
                cands.append(((ex.time - shot.time).total_seconds(), dist, shot.id))
        if cands:
            paired.setdefault(min(cands)[2], []).append(ex)
    for shot in shots:
        exs = paired.get(shot.id)
        if not exs:
            continue
        ranked = []
        for side, p_x in shot.p_side.items():
            p_out = max(math.fsum(q for s, q in ex.p_side.items() if s != side) for ex in exs)
            ranked.append((-(p_x * p_out), side, p_x))
        if not ranked:
            continue
        neg_p, side, p_x = min(ranked)
        if -neg_p < rule.min_p:
            continue
        n_across = sum(1 for ex in exs if best_side(ex.p_side)[0] not in (None, side))
        yield _make(
            rule,
            side=side,
            p=-neg_p,
            time=shot.time,
            lon=shot.lon,
            lat=shot.lat,
            description=(
                f"shot in {side}'s area (p {p_x:.2f}); {n_across} of {len(exs)} explosion(s) "
                f"paired with it (within {p.max_delay_s:g} s and {p.max_range_m:g} m) most "
                "probably in another side's area"
            ),
            event_ids=[shot.id, *(ex.id for ex in exs)],
        )


def _z_of(p: float) -> float:
    """The normal quantile of p (bisection on `_phi`; -inf for 0)."""
    if p <= 0.0:
        return -math.inf
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
    return lo


def _near_posts(
    events: Sequence[Event], ctx: _Context, distance_m: float, min_p: float
) -> list[list[Site]]:
    """For each event, the posts that may be its nearest by p (none when no post can
    reach min_p).

    p = Phi(z), z = (distance_m - d) / sigma along the direction to the post: z is
    computed for every event and post at once (+ - * / sqrt), and only the posts within
    0.01 of the best z (of z >= 5.99 when the best exceeds 6, where Phi rounds to 1 and
    ties are broken by distance) are left for the exact, per-post test.
    """
    out: list[list[Site]] = [[] for _ in events]
    z_min = _z_of(min_p) - 0.01
    by_period: dict[int, list[int]] = {}
    for i, ev in enumerate(events):
        by_period.setdefault(bisect.bisect_right(ctx.theater.change_times, ev.time), []).append(i)
    for idx in by_period.values():
        posts = ctx.theater.at(events[idx[0]].time).posts
        if not posts:
            continue
        px, py = (np.array(v) for v in zip(*(ctx.site_xy(p) for p in posts), strict=True))
        ex = np.array([events[i].x_m for i in idx])[:, None]
        ey = np.array([events[i].y_m for i in idx])[:, None]
        cov = np.array([events[i].cov_m2 for i in idx], dtype=np.float64)
        cxx, cxy, cyx, cyy = (cov[:, a, b][:, None] for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)))
        smax = np.array([_sigma_max(events[i].cov_m2) for i in idx])[:, None]
        dx, dy = px[None, :] - ex, py[None, :] - ey
        d = np.sqrt(dx * dx + dy * dy)
        with np.errstate(divide="ignore", invalid="ignore"):
            ux, uy = dx / d, dy / d
            along = ux * ux * cxx + ux * uy * (cxy + cyx) + uy * uy * cyy
            sigma = np.where(d > 0.0, np.sqrt(np.maximum(along, 0.0)), smax)
            z = np.where(
                sigma > 0.0, (distance_m - d) / sigma, np.where(d <= distance_m, np.inf, -np.inf)
            )
        best = z.max(axis=1)
        cand = (z >= np.minimum(best, 6.0)[:, None] - 0.01) & (best >= z_min)[:, None]
        for row, col in zip(*np.nonzero(cand), strict=True):
            out[idx[int(row)]].append(posts[int(col)])
    return out


def _fire_near_post(rule: Rule, p: FireNearPostParams, ctx: _Context) -> Iterator[Violation]:
    th = ctx.theater
    events = ctx.of_kind(*p.kinds)
    for ev, posts in zip(events, _near_posts(events, ctx, p.distance_m, rule.min_p), strict=True):
        if not posts:
            continue
        best: tuple[float, float, str, Site] | None = None
        for post in posts:
            px, py = ctx.site_xy(post)
            d = math.hypot(px - ev.x_m, py - ev.y_m)
            sigma = (
                _sigma_along(ev.cov_m2, (px - ev.x_m) / d, (py - ev.y_m) / d)
                if d > 0.0
                else _sigma_max(ev.cov_m2)
            )
            if sigma > 0.0:
                prob = _phi((p.distance_m - d) / sigma)
            else:
                prob = 1.0 if d <= p.distance_m else 0.0
            cand = (-prob, d, post.id, post)
            if best is None or cand[:3] < best[:3]:
                best = cand
        if best is None or -best[0] < rule.min_p:
            continue
        prob, d, post = -best[0], best[1], best[3]
        area_side, p_area = best_side(ev.p_side)
        if ev.kind == "explosion":
            side = _other_side(th, area_side)
            who = (
                f"the explosion lies in {area_side}'s area (p {p_area:.2f}); the firing side "
                f"is inferred to be the other side, {side}"
                if area_side is not None
                else "the area of the explosion is unknown, so is the firing side"
            )
        else:
            side = area_side
            who = (
                f"the {ev.kind} lies in {side}'s area (p {p_area:.2f})"
                if side is not None
                else f"the {ev.kind} lies in no side's area"
            )
        yield _make(
            rule,
            side=side,
            p=prob,
            time=ev.time,
            lon=ev.lon,
            lat=ev.lat,
            description=(
                f"{ev.kind} {d:.0f} m from post {post.id} ({post.org}); p {prob:.2f} that it "
                f"was within {p.distance_m:g} m; {who}"
            ),
            event_ids=[ev.id],
        )


def _weapon_in_zone(rule: Rule, p: WeaponInZoneParams, ctx: _Context) -> Iterator[Violation]:
    th = ctx.theater
    for det in ctx.detections:
        x, y = ctx.det_xy[det.id]
        state = th.at(det.time)
        best: tuple[float, str] | None = None
        for zone in state.zones:
            banned = p.classes if p.classes is not None else zone.restrictions
            if zone.type not in p.zone_types or det.class_.value not in banned:
                continue
            prob = _p_inside(ctx.region(zone.geometry), x, y, _iso(det.error_m))
            if best is None or (-prob, zone.id) < (-best[0], best[1]):
                best = (prob, zone.id)
        if best is None or best[0] < rule.min_p:
            continue
        declared = _declared_side(det, th)
        side = declared or state.side_at(det.lon, det.lat)
        whose = (
            "side from the record's x_side"
            if declared
            else ("side: the area it lies in" if side else "in no side's area")
        )
        yield _make(
            rule,
            side=side,
            p=best[0],
            time=det.time,
            lon=det.lon,
            lat=det.lat,
            description=(
                f"{det.count} {det.class_.value} in {best[1]} (p {best[0]:.2f} inside, error "
                f"{det.error_m:g} m); {whose}"
            ),
            detection_ids=[det.id],
        )


@dataclass(frozen=True)
class _District:
    id: str
    geometry: BaseGeometry
    handover_to: str
    handover_by: datetime
    holder: str | None  # who held most of it just before the handover


def _districts(theater: Theater) -> list[_District]:
    out = []
    for f in theater.features:
        props = f.properties
        by = f.time("handover_by") if f.kind is FeatureKind.ZONE else None
        if by is None or props.get("zone") != ZoneType.DISTRICT.value:
            continue
        # As Theater does: a handover holds if the district was in force up to it.
        if (f.valid_from is not None and f.valid_from > by) or (
            f.valid_to is not None and by > f.valid_to
        ):
            continue
        before = theater.at(by - timedelta(microseconds=1))
        shares = sorted(
            (-float(shapely.area(area.intersection(f.geometry))), side)
            for side, area in before.areas.items()
        )
        holder = shares[0][1] if shares and shares[0][0] < 0.0 else None
        fid = f.id or f"feature-{f.index}"
        out.append(_District(fid, f.geometry, str(props["handover_to"]), by, holder))
    return sorted(out, key=lambda d: (d.handover_by, d.id))


def _presence_after_handover(
    rule: Rule, p: PresenceAfterHandoverParams, ctx: _Context
) -> Iterator[Violation]:
    th = ctx.theater
    districts = _districts(th)
    for det in ctx.detections:
        if det.class_ not in p.classes:
            continue
        x, y = ctx.det_xy[det.id]
        declared = _declared_side(det, th)
        best: tuple[float, str, _District, str] | None = None
        for dist in districts:
            after_s = (det.time - dist.handover_by).total_seconds()
            if after_s < p.grace_s or (p.max_after_s is not None and after_s > p.max_after_s):
                continue
            side = declared or dist.holder
            if side is None or side == dist.handover_to:
                continue
            prob = _p_inside(ctx.region(dist.geometry), x, y, _iso(det.error_m))
            if best is None or (-prob, dist.id) < (-best[0], best[1]):
                best = (prob, dist.id, dist, side)
        if best is None or best[0] < rule.min_p:
            continue
        prob, _, dist, side = best
        whose = (
            "side from the record's x_side"
            if declared
            else f"allegiance inferred from the previous control: {side} held the district "
            "before the handover"
        )
        yield _make(
            rule,
            side=side,
            p=prob,
            time=det.time,
            lon=det.lon,
            lat=det.lat,
            description=(
                f"{det.count} {det.class_.value} in {dist.id} (p {prob:.2f} inside) after its "
                f"handover to {dist.handover_to} on {dist.handover_by.isoformat()}; {whose}"
            ),
            detection_ids=[det.id],
        )


def _movement_across_line(
    rule: Rule, p: MovementAcrossLineParams, ctx: _Context
) -> Iterator[Violation]:
    moves = ctx.of_kind("movement")
    times = [m.time for m in moves]
    for b in moves:
        lo = bisect.bisect_left(times, b.time - timedelta(seconds=p.max_gap_s))
        hi = bisect.bisect_left(times, b.time)  # strictly earlier: an order must be known
        cands = []
        for a in moves[lo:hi]:
            dist = math.hypot(b.x_m - a.x_m, b.y_m - a.y_m)
            if dist <= p.max_distance_m:
                cands.append(((b.time - a.time).total_seconds(), dist, a.id, a))
        if not cands:
            continue
        gap, dist, _, a = min(cands, key=lambda c: c[:3])
        (sx, px), (sy, py) = best_side(a.p_side), best_side(b.p_side)
        if sx is None or sy is None or sx == sy or px * py < rule.min_p:
            continue
        yield _make(
            rule,
            side=sx,
            p=px * py,
            time=b.time,
            lon=b.lon,
            lat=b.lat,
            description=(
                f"movement from {sx}'s area (p {px:.2f}) to {sy}'s area (p {py:.2f}), "
                f"{dist:.0f} m in {gap:g} s; side: where it came from"
            ),
            event_ids=[a.id, b.id],
        )


def _overflight(rule: Rule, p: OverflightParams, ctx: _Context) -> Iterator[Violation]:
    th = ctx.theater
    # (largest p, what was found, record): one violation per record.
    found: list[tuple[float, list[str], Event | Detection]] = []
    for ev in ctx.of_kind(*p.kinds):
        hits = _no_fly(ctx, ev.time, ev.x_m, ev.y_m, ev.cov_m2) if p.no_fly else []
        found.append((max((h[0] for h in hits), default=0.0), [h[1] for h in hits], ev))
    for det in ctx.detections:
        if det.class_ not in p.classes:
            continue
        x, y = ctx.det_xy[det.id]
        cov = _iso(det.error_m)
        hits = _no_fly(ctx, det.time, x, y, cov) if p.no_fly else []
        declared = _declared_side(det, th)
        if p.over_other_side and declared is not None:
            for owner, area in sorted(th.at(det.time).areas.items()):
                if owner != declared:
                    prob = _p_inside(ctx.region(area), x, y, cov)
                    hits.append((prob, f"over {owner}'s area (p {prob:.2f})"))
        found.append((max((h[0] for h in hits), default=0.0), [h[1] for h in hits], det))
    for prob, labels, rec in found:
        if prob < rule.min_p or prob == 0.0:
            continue
        is_event = isinstance(rec, Event)
        side: str | None = None
        if isinstance(rec, Event):
            what = rec.kind
        else:
            what, side = f"{rec.count} {rec.class_.value}", _declared_side(rec, th)
        whose = "side from the record's x_side" if side else "side unknown"
        yield _make(
            rule,
            side=side,
            p=prob,
            time=rec.time,
            lon=rec.lon,
            lat=rec.lat,
            description=f"{what} {'; '.join(labels)}; {whose}",
            event_ids=[rec.id] if is_event else [],
            detection_ids=[] if is_event else [rec.id],
        )


def _no_fly(ctx: _Context, t: datetime, x: float, y: float, cov: Cov) -> list[tuple[float, str]]:
    out = []
    for zone in sorted(ctx.theater.at(t).zones_of(ZoneType.NO_FLY), key=lambda z: z.id):
        prob = _p_inside(ctx.region(zone.geometry), x, y, cov)
        if prob > 0.0:
            out.append((prob, f"in no-fly zone {zone.id} (p {prob:.2f})"))
    return out


def apply_rules(
    rules: Sequence[Rule],
    theater: Theater,
    events: Iterable[Event],
    detections: Iterable[Detection],
    *,
    impacts: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> list[Violation]:
    """Apply rules to events and detections.

    Args:
        rules: from `load_rules`.
        theater: geometry over time.
        events: fused events with `p_side` computed.
        detections: detection records.
        impacts: firing_position event id -> impact positions (x_m, y_m), local plane.

    Returns:
        The violations, sorted by (time, id). Same inputs in any order, same output.
    """
    evs: list[Event] = _unique(events, "events")
    dets: list[Detection] = _unique(detections, "detections")
    xs, ys = theater.frame.to_local([d.lon for d in dets], [d.lat for d in dets])
    ctx = _Context(
        theater=theater,
        events=evs,
        detections=dets,
        det_xy={d.id: (float(x), float(y)) for d, x, y in zip(dets, xs, ys, strict=True)},
        impacts=impacts or {},
    )
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidInput(f"rule ids must be unique; given more than once: {', '.join(twice)}")
    out: list[Violation] = []
    for rule in rules:
        params = rule.params
        if isinstance(params, FireAcrossLineParams):
            out += _fire_across_line(rule, params, ctx)
        elif isinstance(params, FireNearPostParams):
            out += _fire_near_post(rule, params, ctx)
        elif isinstance(params, WeaponInZoneParams):
            out += _weapon_in_zone(rule, params, ctx)
        elif isinstance(params, PresenceAfterHandoverParams):
            out += _presence_after_handover(rule, params, ctx)
        elif isinstance(params, MovementAcrossLineParams):
            out += _movement_across_line(rule, params, ctx)
        else:
            out += _overflight(rule, params, ctx)
    # p is rounded: what rounds to 0 was not there.
    return sorted((v for v in out if v.p > 0.0), key=lambda v: (v.time, v.id))
