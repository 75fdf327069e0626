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

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from ceasewatch.analysis._rules_common import _Context, best_side
from ceasewatch.analysis._rules_fire import (
    _fire_near_post,
    _firing_positions_across_line,
    _shots_across_line,
)
from ceasewatch.analysis._rules_forces import (
    _movement_across_line,
    _overflight,
    _presence_after_handover,
    _weapon_in_zone,
)
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import (
    FireAcrossLineParams,
    FireNearPostParams,
    MovementAcrossLineParams,
    OverflightParams,
    PresenceAfterHandoverParams,
    Rule,
    RuleParams,
    WeaponInZoneParams,
)
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Detection

__all__ = ["apply_rules", "best_side"]


_TIME_ID = attrgetter("time", "id")


def _unique(items: Iterable[Any], what: str) -> list[Any]:
    items = list(items)
    if len({item.id for item in items}) == len(items):  # no id twice: nothing to check
        return sorted(items, key=_TIME_ID)
    by_id: dict[str, Any] = {}
    for item in items:
        old = by_id.setdefault(item.id, item)
        if old is not item and old != item:
            raise InvalidInput(f"two different {what} have the id {item.id!r}")
    return sorted(by_id.values(), key=_TIME_ID)


def apply_rules(
    rules: Sequence[Rule],
    theater: Theater,
    events: Iterable[Event],
    detections: Iterable[Detection],
    *,
    impacts: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    workers: int = 1,
) -> list[Violation]:
    """Apply rules to events and detections.

    Args:
        rules: from `load_rules`.
        theater: geometry over time.
        events: fused events with `p_side` computed.
        detections: detection records.
        impacts: firing_position event id -> impact positions (x_m, y_m), local plane.
        workers: the CPUs the caller may use (the rules run on one; see below).

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
    # The parts run here, whatever `workers`: on forked processes (one part each) they
    # took longer, at 100k and 1M sightings alike (a child pays a page fault for each page
    # of the parent's events it touches, and the largest part, shots across the line,
    # bounds the gain anyway).
    out = [v for rule in rules for fn in _parts_of(rule.params) for v in fn(rule, rule.params, ctx)]
    # p is rounded: what rounds to 0 was not there.
    return sorted([v for v in out if v.p > 0.0], key=_TIME_ID)


_Part = Callable[[Rule, Any, _Context], Iterable[Violation]]

#: What each kind of rule checks, in parts that run alone (in this order).
_PARTS: dict[type[RuleParams], tuple[_Part, ...]] = {
    FireAcrossLineParams: (_firing_positions_across_line, _shots_across_line),
    FireNearPostParams: (_fire_near_post,),
    WeaponInZoneParams: (_weapon_in_zone,),
    PresenceAfterHandoverParams: (_presence_after_handover,),
    MovementAcrossLineParams: (_movement_across_line,),
    OverflightParams: (_overflight,),
}


def _parts_of(params: RuleParams) -> tuple[_Part, ...]:
    for kind, parts in _PARTS.items():
        if isinstance(params, kind):
            return parts
    return _PARTS[OverflightParams]
