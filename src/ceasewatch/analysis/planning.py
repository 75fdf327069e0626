"""Sortie planning: which stretches of the contact line each drone should fly next.

Priority. The line in force at `at` is cut into segments; each gets

    priority = staleness_h x (1 + violation_weight x density)

- staleness_h: hours from the segment's last observation (a `Coverage`) to `at`, capped
  at `stale_cap_h` (24 h); a segment never seen, or with no coverage given, gets the cap;
- density: every violation within `violation_radius_km` (5 km) of the segment's midpoint
  and at most `violation_window_h` (48 h) before `at` adds 1 - age / window (a fresh one
  counts 1, one at the window's edge 0); `violation_weight` is 1.

The gain of covering a segment is its priority x its length in km ("priority-km"). A
segment gains once per planning horizon: a plan closes the gaps it finds; to plan
revisits, plan again later with the new coverage.

Sorties. A drone takes off from its base, flies straight to the track beside the line
(on its base's side, at the camera's standoff: `planning_geometry`), sweeps along the
track from abeam segment i to abeam segment j, and flies straight home. It must land
within its endurance less a reserve (20 %) and within the horizon, never go farther from
its base than its max range, and is turned around in `turnaround_h` before it flies again.

Heuristic: greedy orienteering on a line. On a line a sortie's best use is one
contiguous sweep (doubling back sees nothing new), so for one sortie every (i, j) of
every reachable run of segments is tried with prefix sums, O(n^2) per run, which is
exact; the approximation is the greedy across sorties. In time order, the drone free
first (ties: its id) takes the sweep with the highest gain per flight hour among those it
can fly, and starts it at the end where the gain is concentrated; this repeats until no
drone has a sweep that gains. The stalest, most violent stretches are therefore flown
first. OR-Tools' routing would need the line cut into prize nodes and a prize-collecting
VRP with time windows solved per horizon: a heavy dependency, and no better than exact
sweeps on a 1-D line (within the greedy's choice of order).

Deconfliction. A segment swept by a drone of one base is claimed by that base for the
horizon: drones of other bases (so of other orgs) never fly over it; drones of the same
base may cross it on their way (gaining nothing there).

Pure and deterministic: no wall clock; inputs sorted; only + - * / sqrt and comparisons
on arrays, sums of output numbers with `math.fsum`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.planning_geometry import (
    LineTrack,
    Standoff,
    base_side,
    camera_standoff,
    line_parts,
    line_track,
)
from ceasewatch.analysis.planning_priority import (
    PlanSettings,
    ViolationXYT,
    coverage_from_last_seen,
    segment_priority,
    violations_xy_t,
)
from ceasewatch.analysis.segments import BoolArray, Segments, theater_segments
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.fleet import Drone
from ceasewatch.geo.geodesy import FloatArray
from ceasewatch.geo.theater import Theater

__all__ = [
    "DroneTracks",
    "Plan",
    "PlanSettings",
    "Sortie",
    "ViolationXYT",
    "coverage_from_last_seen",
    "drone_tracks",
    "plan_sorties",
    "segment_priority",
    "violations_xy_t",
]


_PAIRS = 1 << 20  # sweeps (i, j) evaluated at once: the arrays stay small


@dataclass(frozen=True, slots=True)
class Sortie:
    """One planned flight of one drone.

    Attributes:
        drone, org, base: who flies it, from where.
        number: the drone's sorties in the plan, from 1.
        takeoff, landing: UTC, whole seconds.
        route_m: waypoints in the local plane, from the base back to the base.
        route: the same as (lon, lat).
        look_deg: per leg (len(route) - 1), the camera's yaw from the heading: +90
            right, -90 left, 0 in transit (not observing).
        altitude_m, depression_deg: flight height over the ground, camera pitch down.
        cruise_mps: ground speed.
        segments: indexes (into `Plan.segments`) of the segments first covered by it.
        swept: indexes of every segment it sweeps, in flight order.
        flight_h, km: flight time and distance.
        line_km: length of line swept.
        gain: priority-km of `segments` (the expected gain).
    """

    drone: str
    org: str
    base: str
    number: int
    takeoff: datetime
    landing: datetime
    route_m: tuple[tuple[float, float], ...]
    route: tuple[tuple[float, float], ...]
    look_deg: tuple[float, ...]
    altitude_m: float
    depression_deg: float
    cruise_mps: float
    segments: tuple[int, ...]
    swept: tuple[int, ...]
    flight_h: float
    km: float
    line_km: float
    gain: float


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """Sorties for the horizon [at, at + hours].

    Attributes:
        segments: the line in force at `at`, cut into segments.
        priority: per segment.
        first_visit_s: per segment, seconds after `at` it is first swept (NaN: never).
        claimed_by: per segment, the base whose drones sweep it ("" none).
        sorties: in order of takeoff, then drone.
        standoff: per drone, how its camera looks at the line.
    """

    at: datetime
    hours: float
    settings: PlanSettings
    segments: Segments
    priority: FloatArray
    first_visit_s: FloatArray
    claimed_by: tuple[str, ...]
    sorties: tuple[Sortie, ...]
    standoff: dict[str, Standoff] = field(default_factory=dict)

    @property
    def gain(self) -> float:
        return math.fsum(s.gain for s in self.sorties)

    @property
    def flight_h(self) -> float:
        return math.fsum(s.flight_h for s in self.sorties)


@dataclass(frozen=True, slots=True, eq=False)
class DroneTracks:
    """A drone's tracks beside each line part and how far each abeam point is from its
    base (`dist_m[i][k]`, metres)."""

    drone: Drone
    base_xy: tuple[float, float]
    standoff: Standoff
    tracks: tuple[LineTrack, ...]
    dist_m: tuple[FloatArray, ...]


def drone_tracks(
    theater: Theater, segs: Segments, at: datetime, settings: PlanSettings
) -> dict[str, DroneTracks]:
    """Every drone's tracks along the line of `segs`, checked against its range.

    Raises:
        InvalidInput: no drones; a drone's base or camera is unknown at `at`; its base
            lies beyond its max range, or beyond half its usable endurance, of its track.
    """
    if not theater.drones:
        raise InvalidInput("the theater has no drones: add [[drones]] to its theater.toml")
    bases = {b.id: b for b in theater.at(at).bases}
    parts = line_parts(segs)
    if not parts:
        raise InvalidInput(f"no contact line in force at {at.isoformat()}")
    out: dict[str, DroneTracks] = {}
    for did in sorted(theater.drones):
        d = theater.drones[did]
        if d.base not in bases:
            raise InvalidInput(f"drone {did}: its base {d.base} is not in force at {at}")
        camera = theater.cameras.get(d.camera)
        if camera is None:
            raise InvalidInput(f"drone {did}: no camera {d.camera!r} in the theater")
        bx, by = theater.frame.to_local([bases[d.base].lon], [bases[d.base].lat])
        b = (float(bx[0]), float(by[0]))
        st = camera_standoff(camera, settings.altitude_m)
        tracks, dists = [], []
        for part, idx, line in parts:
            tr = line_track(
                part, idx, line, segs, side=base_side(line, *b), standoff_m=st.standoff_m
            )
            dx, dy = tr.x_m - b[0], tr.y_m - b[1]
            tracks.append(tr)
            dists.append(np.sqrt(dx * dx + dy * dy))
        nearest_km = min(float(x.min()) for x in dists) / 1000.0
        if nearest_km > d.max_range_km:
            raise InvalidInput(
                f"drone {did}: its base {d.base} is {nearest_km:.1f} km from its track along "
                f"the contact line, beyond its max range of {d.max_range_km:g} km"
            )
        usable_h = d.endurance_h * (1.0 - settings.reserve)
        if 2.0 * nearest_km * 1000.0 / d.cruise_mps > usable_h * 3600.0:
            raise InvalidInput(
                f"drone {did}: the round trip to the line ({2 * nearest_km:.1f} km) takes "
                f"longer than its endurance less the reserve ({usable_h:.2f} h)"
            )
        out[did] = DroneTracks(d, b, st, tuple(tracks), tuple(dists))
    return out


@dataclass(frozen=True, slots=True)
class _Sweep:
    rate: float
    gain: float
    track: int
    i: int
    j: int


def plan_sorties(
    theater: Theater,
    coverage: Coverage | None,
    violations_xy_t: Sequence[ViolationXYT],
    *,
    at: datetime,
    hours: float,
    settings: PlanSettings | None = None,
) -> Plan:
    """Plan every drone's sorties for [at, at + hours] (see the module docstring).

    Args:
        theater: its drones, cameras, bases and the line in force at `at`.
        coverage: what was observed so far (None: nothing).
        violations_xy_t: violations as (x, y, time) in the theater's plane.
        at: the start of the horizon (aware).
        hours: its length.
        settings: priorities' weights, altitude, reserve, turnaround (default:
            `PlanSettings()`).

    Raises:
        InvalidInput: hours <= 0, a naive time, and what `drone_tracks` refuses.
    """
    settings = settings if settings is not None else PlanSettings()
    if at.tzinfo is None:
        raise InvalidInput("plan needs a timezone-aware time (--at with an offset)")
    if not hours > 0.0:
        raise InvalidInput(f"the planning horizon must be positive, not {hours} h")
    if not 0.0 <= settings.reserve < 1.0:
        raise InvalidInput(f"reserve must lie in [0, 1), not {settings.reserve}")
    segs = theater_segments(theater.at(at), theater.frame, settings.segment_m, zones=False)
    fleet = drone_tracks(theater, segs, at, settings)
    prio = segment_priority(segs, coverage, violations_xy_t, at, settings)
    worth = prio * segs.length_m / 1000.0
    covered = np.zeros(len(segs), dtype=bool)
    first = np.full(len(segs), np.nan)
    claim = [""] * len(segs)
    end_s = hours * 3600.0
    sorties: list[Sortie] = []
    count = dict.fromkeys(fleet, 0)
    queue = [(0.0, did) for did in sorted(fleet)]
    while queue:
        ready_s, did = heapq.heappop(queue)
        dt = fleet[did]
        d = dt.drone
        takeoff_s = float(math.ceil(ready_s))
        budget_s = min(d.endurance_h * (1.0 - settings.reserve) * 3600.0, end_s - takeoff_s) - 1.0
        gain_k = np.where(covered, 0.0, worth)
        blocked = np.array([c not in ("", d.base) for c in claim], dtype=bool)
        best = _best_sweep(dt, gain_k, blocked, budget_s)
        if best is None or best.rate <= settings.min_gain_per_h:
            continue
        count[did] += 1
        sortie = _make_sortie(
            theater, dt, best, gain_k=gain_k, covered=covered, first=first, number=count[did],
            settings=settings, at=at, takeoff_s=takeoff_s, prio=prio, segs=segs,
        )  # fmt: skip
        for k in dt.tracks[best.track].seg[min(best.i, best.j) : max(best.i, best.j) + 1]:
            if not claim[k]:
                claim[k] = d.base
        sorties.append(sortie)
        landing_s = (sortie.landing - at).total_seconds()
        heapq.heappush(queue, (landing_s + settings.turnaround_h * 3600.0, did))
    sorties.sort(key=lambda s: (s.takeoff, s.drone))
    return Plan(
        at=at,
        hours=hours,
        settings=settings,
        segments=segs,
        priority=prio,
        first_visit_s=first,
        claimed_by=tuple(claim),
        sorties=tuple(sorties),
        standoff={did: dt.standoff for did, dt in fleet.items()},
    )


def _runs(ok: BoolArray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edge = np.diff(np.r_[0, ok.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _best_sweep(
    dt: DroneTracks, gain_k: FloatArray, blocked: BoolArray, budget_s: float
) -> _Sweep | None:
    """The reachable sweep of highest gain per flight hour within budget_s (ties: more
    gain, then the first found)."""
    best: _Sweep | None = None
    if budget_s <= 0.0:
        return None
    v = dt.drone.cruise_mps
    reach_m = dt.drone.max_range_km * 1000.0
    for ti, tr in enumerate(dt.tracks):
        dist = dt.dist_m[ti]
        ok = (dist <= reach_m) & ~blocked[tr.seg]
        g = gain_k[tr.seg]
        for a, b in _runs(ok):
            u, db, gg = tr.u_m[a:b], dist[a:b], g[a:b]
            cum = np.concatenate([[0.0], np.cumsum(gg)])
            n = b - a
            rows = max(1, _PAIRS // n)  # (start i, end j) pairs per block
            for r in range(0, n, rows):
                i0 = np.arange(r, min(n, r + rows))
                t_s = (db[i0, None] + (u[None, :] - u[i0, None]) + db[None, :]) / v
                gain = cum[None, 1:] - cum[i0, None]
                valid = (i0[:, None] <= np.arange(n)[None, :]) & (t_s <= budget_s)
                valid &= gain > 0.0
                if not valid.any():
                    continue
                rate = np.where(valid, gain / np.where(valid, t_s, 1.0) * 3600.0, -np.inf)
                i, j = divmod(int(np.argmax(rate)), n)
                cand = _Sweep(float(rate[i, j]), float(gain[i, j]), ti, a + r + i, a + j)
                if best is None or (cand.rate, cand.gain) > (best.rate, best.gain):
                    best = cand
    return best


def _make_sortie(
    theater: Theater,
    dt: DroneTracks,
    sw: _Sweep,
    *,
    gain_k: FloatArray,
    covered: BoolArray,
    first: FloatArray,
    number: int,
    settings: PlanSettings,
    at: datetime,
    takeoff_s: float,
    prio: FloatArray,
    segs: Segments,
) -> Sortie:
    """The sortie of sweep `sw`: its route, times and gain; marks what it covers."""
    d = dt.drone
    tr = dt.tracks[sw.track]
    pos = np.arange(sw.i, sw.j + 1)
    g = gain_k[tr.seg[pos]]
    centre = math.fsum((g * pos).tolist()) / math.fsum(g.tolist())
    forward = centre - sw.i <= sw.j - centre
    start, stop = (sw.i, sw.j) if forward else (sw.j, sw.i)
    sweep = tr.path(start, stop, settings.simplify_m)
    bx, by = dt.base_xy
    pts = np.vstack([[bx, by], sweep, [bx, by]])
    legs = pts[1:] - pts[:-1]
    leg_m = np.sqrt(legs[:, 0] * legs[:, 0] + legs[:, 1] * legs[:, 1])
    km = math.fsum(leg_m.tolist()) / 1000.0
    flight_s = km * 1000.0 / d.cruise_mps
    look = tr.look_deg(forward)
    look_deg = (0.0, *([look] * (len(sweep) - 1)), 0.0)
    to_start = float(dt.dist_m[sw.track][start])
    new = []
    for p in range(sw.i, sw.j + 1):
        k = int(tr.seg[p])
        if not covered[k] and gain_k[k] > 0.0:
            covered[k] = True
            first[k] = takeoff_s + (to_start + abs(float(tr.u_m[p] - tr.u_m[start]))) / d.cruise_mps
            new.append(k)
    lon, lat = theater.frame.to_wgs84(pts[:, 0], pts[:, 1])
    return Sortie(
        drone=d.id,
        org=d.org,
        base=d.base,
        number=number,
        takeoff=at + timedelta(seconds=takeoff_s),
        landing=at + timedelta(seconds=takeoff_s + math.ceil(flight_s)),
        route_m=tuple((float(x), float(y)) for x, y in pts.tolist()),
        route=tuple((float(a), float(b)) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)),
        look_deg=look_deg,
        altitude_m=dt.standoff.altitude_m,
        depression_deg=dt.standoff.depression_deg,
        cruise_mps=d.cruise_mps,
        segments=tuple(sorted(new)),
        swept=tuple(int(k) for k in (tr.seg[pos] if forward else tr.seg[pos][::-1]).tolist()),
        flight_h=flight_s / 3600.0,
        km=km,
        line_km=math.fsum(segs.length_m[tr.seg[pos]].tolist()) / 1000.0,
        gain=math.fsum((prio[new] * segs.length_m[new] / 1000.0).tolist()),
    )
