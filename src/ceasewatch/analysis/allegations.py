"""Allegations checked against what the monitors observed: supported, not, or unseen.

An allegation says that side `against` violated the ceasefire near (lon, lat), within
`radius_m`, at `time`. It is matched against violations and fire events (explosion, shot,
burst) within `window_s` of that time:

- a violation matches when its own position, or the position of one of its events, lies
  within radius_m + 2 sigma of the alleged point (sigma: sqrt of the largest eigenvalue
  of the event's covariance; a violation's own position takes the largest sigma of its
  events, 0 when it has none, e.g. one made from detections);
- a fire event matches when it lies within radius_m + 2 sigma of the point.

Evidence *supports* the allegation unless it points at another side. A violation does
when its `side` is known and is not the accused. A fire event does when the probability
that the accused fired it is below `min_p_accused` (default 0.2): for a shot or burst,
P(it lies in the accused's area); for an explosion, with two sides, P(it lies outside
the accused's area), the shell having come from across the line; otherwise it cannot be
told and the event supports. An ambiguous attribution (say 0.4) is consistent with the
allegation: it supports it, and the finding's note and `extra["p_accused"]` say so.

- `supported`: some evidence supports it (violations preferred: they are listed in
  violation_ids; event_ids holds the matching fire events and the supporting violations'
  events);
- `not_supported`: nothing supports it, but the place was observed: an active post within
  `coverage_radius_m` of the alleged point at its time, the `observed(x_m, y_m, time)`
  hook (drone coverage) says so, or the matching evidence there points at another side
  (listed in `extra`);
- `no_coverage`: nothing supports it and nothing was observing there.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from ceasewatch.analysis.model import AllegationFinding, Event, Violation
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Allegation

__all__ = ["FIRE_KINDS", "Observed", "match_allegations"]

#: Event kinds that are fire.
FIRE_KINDS = frozenset({"burst", "explosion", "shot"})

#: Whether (x_m, y_m) in the theater's local plane was watched around the given time.
Observed = Callable[[float, float, datetime], bool]
_T = TypeVar("_T", Event, Violation)


def _sigma_max(cov: tuple[tuple[float, float], tuple[float, float]]) -> float:
    (a, b), (c, d) = cov
    return math.sqrt(max(0.0, (a + d) / 2.0 + math.hypot((a - d) / 2.0, (b + c) / 2.0)))


def _p_fired_by(ev: Event, side: str, sides: list[str]) -> float | None:
    """P(side fired ev), None when it cannot be told.

    A shot or burst was fired from where it lies: p_side[side]. An explosion lies where
    the shell landed; with two sides it was fired by the side whose area it is not in.
    """
    if not ev.p_side:
        return None
    p_in = min(1.0, max(0.0, ev.p_side.get(side, 0.0)))
    if ev.kind != "explosion":
        return p_in
    return 1.0 - p_in if len(sides) == 2 and side in sides else None


def _by_id(items: Iterable[_T], what: str) -> dict[str, _T]:
    """Items by id; a repeated item is dropped, two different items with one id refused."""
    out: dict[str, _T] = {}
    for item in items:
        old = out.setdefault(item.id, item)
        if old is not item and old != item:
            raise InvalidInput(f"two different {what} have the id {item.id!r}")
    return out


def match_allegations(
    allegations: Iterable[Allegation],
    events: Iterable[Event],
    violations: Iterable[Violation],
    theater: Theater,
    *,
    window_s: float = 3600.0,
    coverage_radius_m: float = 8000.0,
    observed: Observed | None = None,
    min_p_accused: float = 0.2,
) -> list[AllegationFinding]:
    """Match each allegation against violations and fire events (see the module docstring).

    Args:
        allegations: the allegation records.
        events: fused events (all kinds; those named by violations give their positions).
        violations: from `apply_rules`.
        theater: geometry over time (posts) and the local plane.
        window_s: how far (seconds) from the alleged time evidence may be.
        coverage_radius_m: how near a post must be to the alleged point to have observed it.
        observed: optional hook: was (x_m, y_m) watched around time (e.g. drone footprints).
        min_p_accused: a fire event whose probability of having been fired by the accused
            side is below this points at another side; at or above it, it supports.

    Returns:
        One finding per allegation, sorted by allegation id.
    """
    frame = theater.frame
    evs: dict[str, Event] = _by_id(events, "events")
    allegations = sorted(allegations, key=lambda a: (a.id, a.content_hash()))
    if not allegations:
        _by_id(violations, "violations")  # refused all the same when two share an id
        return []
    slack = {e.id: 2.0 * _sigma_max(e.cov_m2) for e in evs.values()}
    fire = sorted((e for e in evs.values() if e.kind in FIRE_KINDS), key=lambda e: (e.time, e.id))
    vio = sorted(_by_id(violations, "violations").values(), key=lambda v: (v.time, v.id))
    vx, vy = frame.to_local([v.lon for v in vio], [v.lat for v in vio])
    # Each violation as the points that place it: (x, y, slack).
    places: dict[str, list[tuple[float, float, float]]] = {}
    for v, x, y in zip(vio, vx, vy, strict=True):
        pts = [(evs[i].x_m, evs[i].y_m, slack[i]) for i in v.event_ids if i in evs]
        places[v.id] = [(float(x), float(y), max((s for *_, s in pts), default=0.0)), *pts]
    fire_t, vio_t = [e.time for e in fire], [v.time for v in vio]
    sides = theater.sides
    window = timedelta(seconds=window_s)
    out = []
    for alg in allegations:
        ax_, ay_ = frame.to_local(alg.lon, alg.lat)
        ax, ay = float(ax_[0]), float(ay_[0])
        lo, hi = alg.time - window, alg.time + window
        for_v: list[Violation] = []
        other_v: list[Violation] = []
        for v in vio[bisect.bisect_left(vio_t, lo) : bisect.bisect_right(vio_t, hi)]:
            if any(math.hypot(x - ax, y - ay) <= alg.radius_m + s for x, y, s in places[v.id]):
                (for_v if v.side in (None, alg.against) else other_v).append(v)
        for_e: list[str] = []
        other_e: list[str] = []
        uncertain: dict[str, float] = {}
        for e in fire[bisect.bisect_left(fire_t, lo) : bisect.bisect_right(fire_t, hi)]:
            if math.hypot(e.x_m - ax, e.y_m - ay) <= alg.radius_m + slack[e.id]:
                p = _p_fired_by(e, alg.against, sides)
                if p is None or p >= min_p_accused:
                    for_e.append(e.id)
                    if p is not None and p < 0.5:
                        uncertain[e.id] = round(p, 6)
                else:
                    other_e.append(e.id)
        if for_v or for_e:
            out.append(_supported(alg, for_v, for_e, uncertain))
            continue
        out.append(
            _unsupported(
                alg,
                other_v=other_v,
                other_e=other_e,
                posts=_observers(theater, alg, ax, ay, coverage_radius_m),
                hooked=observed is not None and bool(observed(ax, ay, alg.time)),
            )
        )
    return out


def _observers(
    theater: Theater, alg: Allegation, ax: float, ay: float, radius_m: float
) -> list[str]:
    posts = theater.at(alg.time).posts
    if not posts:
        return []
    px, py = theater.frame.to_local([p.lon for p in posts], [p.lat for p in posts])
    return sorted(
        p.id
        for p, x, y in zip(posts, px, py, strict=True)
        if math.hypot(float(x) - ax, float(y) - ay) <= radius_m
    )


def _supported(
    alg: Allegation, for_v: list[Violation], for_e: list[str], uncertain: dict[str, float]
) -> AllegationFinding:
    event_ids = sorted({*for_e, *(i for v in for_v for i in v.event_ids)})
    unknown = sorted(v.id for v in for_v if v.side is None)
    if for_v:
        note = f"{len(for_v)} violation(s) within the window and radius"
    else:
        note = f"{len(for_e)} fire event(s), no rule violation, within the window and radius"
    if unknown:
        note += f"; side unknown for {', '.join(unknown)}"
    if uncertain:
        note += f"; fire by {alg.against} less likely than not for {len(uncertain)} event(s)"
    return AllegationFinding(
        allegation=alg.id,
        status="supported",
        event_ids=tuple(event_ids),
        violation_ids=tuple(sorted(v.id for v in for_v)),
        note=note,
        extra={"p_accused": dict(sorted(uncertain.items()))} if uncertain else {},
    )


def _unsupported(
    alg: Allegation,
    *,
    other_v: list[Violation],
    other_e: list[str],
    posts: list[str],
    hooked: bool,
) -> AllegationFinding:
    extra: dict[str, object] = {}
    if posts:
        extra["observed_by"] = posts
    if hooked:
        extra["observed_by_coverage"] = True
    if other_v:
        extra["other_side_violation_ids"] = sorted(v.id for v in other_v)
    if other_e:
        extra["other_side_event_ids"] = sorted(other_e)
    if not extra:
        return AllegationFinding(
            allegation=alg.id,
            status="no_coverage",
            note="no post within range and no coverage of the place at the time",
        )
    why = []
    if posts:
        why.append(f"post(s) {', '.join(posts)} in range")
    if hooked:
        why.append("covered by drone imagery")
    if other_v or other_e:
        why.append(f"fire there is attributed to another side than {alg.against}")
    return AllegationFinding(
        allegation=alg.id,
        status="not_supported",
        note="nothing supporting it was observed; " + "; ".join(why),
        extra=extra,
    )
