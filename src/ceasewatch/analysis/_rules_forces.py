"""The force, zone, movement and overflight rule kinds of `ceasewatch.analysis.violations`:
weapon_in_zone, presence_after_handover, movement_across_line, overflight.

See that module's docstring for what each finds and how probably.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import shapely
from shapely.geometry.base import BaseGeometry

from ceasewatch.analysis._rules_common import (
    Cov,
    _Context,
    _declared_side,
    _iso,
    _make,
    _p_inside,
    best_side,
)
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import (
    MovementAcrossLineParams,
    OverflightParams,
    PresenceAfterHandoverParams,
    Rule,
    WeaponInZoneParams,
)
from ceasewatch.geo.features import FeatureKind, ZoneType
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Detection


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
