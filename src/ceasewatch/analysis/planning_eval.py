"""Judging a plan: its routes flown through the camera model, against a naive patrol.

`evaluate` flies sorties at `hz` samples a second along their routes at cruise speed,
at the plan's altitude, the camera square to the heading towards the line at the plan's
depression (stabilised: roll and pitch from the horizon), and computes their footprints
(`analysis.footprint.footprints`) and the coverage of the plan's segments
(`Coverage.compute`); only sweep legs observe, transit legs do not. The gain is the
priority-km of the segments covered at least once within the horizon, the same measure
the planner maximises, so a plan and its peer are judged alike.

`naive_patrol` is the peer: each planned sortie's drone, at the same takeoff and for the
same flight time, flies instead to the point of its track nearest its base and shuttles
back and forth along a fixed stretch centred there (by default the line's length shared
equally among the drones), then flies home when it must.

Deterministic: the same plan gives the same numbers (sums with `math.fsum`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import shapely

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.footprint import GimbalFrame, footprints
from ceasewatch.analysis.planning import DroneTracks, Plan, Sortie, drone_tracks
from ceasewatch.analysis.planning_geometry import LineTrack
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, forward
from ceasewatch.geo.theater import Theater

__all__ = ["Comparison", "Evaluation", "compare", "evaluate", "naive_patrol", "sortie_samples"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What sorties achieve under the camera model.

    Attributes:
        sorties: how many.
        flight_h: their total flight time.
        covered_km: length of line covered at least once within the horizon.
        gain: priority-km of the segments covered.
        gain_per_h: gain per flight hour (0 with no flight).
    """

    sorties: int
    flight_h: float
    covered_km: float
    gain: float
    gain_per_h: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """The plan and the naive patrol, judged alike; ratio = plan's gain per flight hour
    over the patrol's (inf when only the plan gains, NaN when neither does)."""

    plan: Evaluation
    naive: Evaluation
    ratio: float


def evaluate(
    theater: Theater, plan: Plan, sorties: Sequence[Sortie], *, hz: float = 1.0
) -> Evaluation:
    """Fly `sorties` through the camera model and measure their gain on `plan`."""
    if not hz > 0.0:
        raise InvalidInput(f"hz must be positive, not {hz}")
    corners, times, usable, track = [], [], [], []
    for n, s in enumerate(sorties):
        camera = theater.cameras[theater.drones[s.drone].camera]
        x, y, t, yaw, look = sortie_samples(theater, s, hz)
        if not len(t):
            continue
        lon, lat = theater.frame.to_wgs84(x, y)
        fp = footprints(
            lat, lon, s.altitude_m,
            yaw_deg=yaw, pitch_deg=0.0, roll_deg=0.0,
            gimbal_yaw_deg=look, gimbal_pitch_deg=-s.depression_deg, gimbal_roll_deg=0.0,
            hfov_deg=camera.hfov_deg, vfov_deg=camera.vfov_deg, frame=theater.frame,
            gimbal_frame=GimbalFrame.HORIZON, max_slant_m=camera.max_slant_m, xy_m=(x, y),
        )  # fmt: skip
        corners.append(fp.corners_m)
        times.append(t)
        usable.append(fp.usable(camera.max_slant_m) & (look != 0.0))
        track.append(np.full(len(t), n))
    at_s = plan.at.timestamp()
    flight_h = math.fsum(s.flight_h for s in sorties)
    if not corners:
        return Evaluation(len(sorties), flight_h, 0.0, 0.0, 0.0)
    cov = Coverage.compute(
        plan.segments,
        np.concatenate(corners),
        np.concatenate(times),
        np.concatenate(usable),
        track=np.concatenate(track),
    )
    seen = cov.seen_between(at_s, at_s + plan.hours * 3600.0)
    length_km = plan.segments.length_m[seen] / 1000.0
    gain = math.fsum((plan.priority[seen] * length_km).tolist())
    return Evaluation(
        sorties=len(sorties),
        flight_h=flight_h,
        covered_km=math.fsum(length_km.tolist()),
        gain=gain,
        gain_per_h=gain / flight_h if flight_h > 0.0 else 0.0,
    )


def sortie_samples(
    theater: Theater, s: Sortie, hz: float = 1.0
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """A sortie flown: every 1/hz s from takeoff, its local x, y (m), time (POSIX s),
    heading (degrees true) and camera yaw from the heading (`Sortie.look_deg`)."""
    pts = np.asarray(s.route_m, dtype=np.float64)
    d = pts[1:] - pts[:-1]
    leg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(leg)])
    dur_s = (s.landing - s.takeoff).total_seconds()
    t_rel = np.arange(0.0, dur_s, 1.0 / hz)
    along = np.minimum(t_rel * s.cruise_mps, cum[-1])
    k = np.clip(np.searchsorted(cum, along, side="right") - 1, 0, len(leg) - 1)
    f = np.where(leg[k] > 0.0, (along - cum[k]) / np.where(leg[k] > 0.0, leg[k], 1.0), 0.0)
    x = pts[k, 0] + f * d[k, 0]
    y = pts[k, 1] + f * d[k, 1]
    yaw_leg = np.array([_true_azimuth(theater, p, q) for p, q in itertools.pairwise(pts)])
    look_leg = np.asarray(s.look_deg, dtype=np.float64)
    t = s.takeoff.timestamp() + t_rel
    return x, y, t, yaw_leg[k], look_leg[k]


def _true_azimuth(theater: Theater, p: FloatArray, q: FloatArray) -> float:
    """Degrees true of the leg p -> q (grid azimuth plus the convergence at its middle)."""
    mx, my = (p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0
    lon, lat = theater.frame.to_wgs84([mx], [my])
    lon1, lat1 = forward(lon, lat, 0.0, 10.0)
    nx, ny = theater.frame.to_local(lon1, lat1)
    north_grid = math.degrees(math.atan2(float(nx[0]) - mx, float(ny[0]) - my))
    grid = math.degrees(math.atan2(float(q[0] - p[0]), float(q[1] - p[1])))
    return (grid - north_grid) % 360.0


def naive_patrol(
    theater: Theater, plan: Plan, *, stretch_km: float | None = None
) -> tuple[Sortie, ...]:
    """The peer: each planned sortie flown as a back-and-forth patrol of a fixed stretch
    nearest the drone's base (same drone, takeoff and flight time)."""
    fleet = drone_tracks(theater, plan.segments, plan.at, plan.settings)
    if stretch_km is None:
        total_km = math.fsum(plan.segments.length_m.tolist()) / 1000.0
        stretch_km = total_km / len(fleet)
    if not stretch_km > 0.0:
        raise InvalidInput(f"stretch_km must be positive, not {stretch_km}")
    return tuple(
        _patrol(theater, fleet[s.drone], s, stretch_km * 1000.0, plan.settings.simplify_m)
        for s in plan.sorties
    )


def _patrol(
    theater: Theater, dt: DroneTracks, s: Sortie, stretch_m: float, simplify_m: float
) -> Sortie:
    ti = min(range(len(dt.tracks)), key=lambda i: float(dt.dist_m[i].min()))
    tr, dist = dt.tracks[ti], dt.dist_m[ti]
    c = int(np.argmin(dist))
    reach = dist <= dt.drone.max_range_km * 1000.0
    lo_i, hi_i = c, c
    while lo_i > 0 and reach[lo_i - 1]:
        lo_i -= 1
    while hi_i < len(reach) - 1 and reach[hi_i + 1]:
        hi_i += 1
    uc = float(tr.u_m[c])
    lo = max(float(tr.u_m[lo_i]), uc - stretch_m / 2.0)
    hi = min(float(tr.u_m[hi_i]), uc + stretch_m / 2.0)
    budget = s.flight_h * 3600.0 * dt.drone.cruise_mps
    bx, by = dt.base_xy
    base = np.array([[bx, by]])
    pts = [base, tr.path_u(uc, uc, 0.0)[:1]]
    looks: list[float] = [0.0]
    used = float(dist[c])
    cur, target = uc, hi
    while hi > lo:
        leg = abs(target - cur)
        if used + leg + _home(tr, target, dt) <= budget:
            stop = target
        else:
            stop = _furthest(tr, dt, cur, target, budget - used)
        path = tr.path_u(cur, stop, simplify_m)
        pts.append(path[1:])
        looks += [tr.look_deg(stop >= cur)] * (len(path) - 1)
        used += abs(stop - cur)
        if stop != target:
            break
        cur, target = target, (lo if target == hi else hi)
    pts.append(base)
    looks.append(0.0)
    route_m = np.vstack(pts)
    d = route_m[1:] - route_m[:-1]
    km = math.fsum(np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]).tolist()) / 1000.0
    lon, lat = theater.frame.to_wgs84(route_m[:, 0], route_m[:, 1])
    return replace(
        s,
        route_m=tuple((float(a), float(b)) for a, b in route_m.tolist()),
        route=tuple((float(a), float(b)) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)),
        look_deg=tuple(looks),
        segments=(),
        swept=(),
        km=km,
        line_km=(hi - lo) / 1000.0,
        gain=0.0,
        landing=s.takeoff + timedelta(seconds=math.ceil(km * 1000.0 / s.cruise_mps)),
        flight_h=km * 1000.0 / s.cruise_mps / 3600.0,
    )


def _home(tr: LineTrack, u: float, dt: DroneTracks) -> float:
    p = shapely.get_coordinates(shapely.line_interpolate_point(tr.curve, u))[0]
    dx, dy = float(p[0]) - dt.base_xy[0], float(p[1]) - dt.base_xy[1]
    return math.sqrt(dx * dx + dy * dy)


def _furthest(tr: LineTrack, dt: DroneTracks, cur: float, target: float, left_m: float) -> float:
    """How far from `cur` towards `target` the drone can go and still get home within
    `left_m` metres of flight (by bisection: the cost grows along the way)."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2.0
        u = cur + mid * (target - cur)
        if abs(u - cur) + _home(tr, u, dt) <= left_m:
            lo = mid
        else:
            hi = mid
    return cur + lo * (target - cur)


def compare(
    theater: Theater, plan: Plan, *, hz: float = 1.0, stretch_km: float | None = None
) -> Comparison:
    """The plan against the naive patrol of the same flight hours, judged alike."""
    mine = evaluate(theater, plan, plan.sorties, hz=hz)
    peer = evaluate(theater, plan, naive_patrol(theater, plan, stretch_km=stretch_km), hz=hz)
    if peer.gain_per_h > 0.0:
        ratio = mine.gain_per_h / peer.gain_per_h
    else:
        ratio = math.inf if mine.gain_per_h > 0.0 else math.nan
    return Comparison(mine, peer, ratio)
