"""Drone sorties along the contact line: when each drone flies, where, what its camera sees.

Each drone of the theater (theater.toml `[[drones]]`) flies sorties from its base during
the simulated window: it takes off, flies to a stretch of the contact line within its
max range, patrols that stretch back and forth 1-2 km on its own side of the line (the
side its base lies on) at 800-1200 m above the ground, its stabilised gimbal turned
toward the nearest point of the line, and heads home once the flight time left, less a
reserve, only just covers the way back. On the ground it is turned around in 1-2.5 hours
and now and then stays down longer (maintenance, weather): not every hour or stretch is
watched, which is what a coverage map must show.

Random draws (`draw_sorties`, from the scenario's one Generator, after the observations
so that adding drones changes no other file) fix each sortie's plan: takeoff, time
budget, height, offset and the stretch patrolled. Flying a plan (`fly`) draws nothing: a
waypoint follower with a bank-limited turn rate is integrated at a fixed step of
`STEP_S`, so the path does not depend on the sample rate asked for, then sampled by
linear interpolation. Heights are above flat ground at `ground_elev_m` (MSL).

Angles follow `analysis.footprint`: platform yaw degrees true, pitch nose up, roll right
wing down; gimbal angles in the HORIZON frame (roll and pitch from the horizon, yaw
relative to the platform's heading; pitch -90 looks straight down).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from ceasewatch.geo.fleet import Drone
from ceasewatch.geo.theater import Theater, TheaterState
from ceasewatch.records.types import posix_us

__all__ = ["GIMBAL_HORIZON", "STEP_S", "Flight", "Sortie", "draw_sorties", "fly"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Gimbal frame code of `Flight` angles (`analysis.footprint.GimbalFrame.HORIZON`).
GIMBAL_HORIZON = 1
#: Integration step of the flight path (seconds).
STEP_S = 1.0
_G = 9.80665
_MAX_BANK_DEG = 25.0
_CLIMB_MPS = 3.0
_SPACING_M = 500.0  # between the patrol's waypoints
_ACCEPT_M = 200.0  # a waypoint closer than this is reached
_LANDED_M = 60.0
_LOOK_MAX_M = 4000.0  # farther from the line, the camera looks ahead and down
_LOOK_MIN_AGL_M = 200.0
_MIN_PATROL_S = 1800.0
_RANGE_MARGIN_M = 2000.0


@dataclass(frozen=True, slots=True)
class Sortie:
    """The plan of one flight: drawn at random, flown deterministically by `fly`.

    Attributes:
        id: "<drone>-<takeoff as YYYYmmddTHHMM>", unique in a scenario.
        drone, org, camera, base: from the theater's fleet.
        side: the side of the line the drone patrols on (its base's).
        takeoff: UTC.
        budget_s: flight time allowed (endurance less a 15-30% reserve).
        agl_m: patrol height above the ground.
        offset_m: the patrol's distance from the contact line.
        cruise_mps: ground speed.
        base_xy: the base, in the theater's local plane (metres).
        patrol_xy: the waypoints of the stretch patrolled, in the local plane.
        away_xy: per waypoint, the unit normal pointing away from the line.
        ground_elev_m: elevation (MSL) of the flat ground under the flight.
    """

    id: str
    drone: str
    org: str
    camera: str
    base: str
    side: str
    takeoff: datetime
    budget_s: float
    agl_m: float
    offset_m: float
    cruise_mps: float
    base_xy: tuple[float, float]
    patrol_xy: tuple[tuple[float, float], ...]
    away_xy: tuple[tuple[float, float], ...]
    ground_elev_m: float = 0.0


@dataclass(frozen=True, slots=True)
class Flight:
    """The true samples of a flown sortie, every array of length N, in time order.

    Attributes:
        t_us: UTC, microseconds since 1970.
        lat_deg, lon_deg, alt_m: camera (= platform) position, WGS84, metres MSL.
        vn_mps, ve_mps, vd_mps: velocity north, east, down.
        yaw_deg, pitch_deg, roll_deg: platform attitude (yaw degrees true, [0, 360)).
        gimbal_yaw_deg, gimbal_pitch_deg, gimbal_roll_deg: HORIZON frame.
        hfov_deg, vfov_deg: the camera's full fields of view.
        x_m, y_m: position in the theater's local plane.
    """

    sortie: Sortie
    t_us: NDArray[np.int64]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    vn_mps: FloatArray
    ve_mps: FloatArray
    vd_mps: FloatArray
    yaw_deg: FloatArray
    pitch_deg: FloatArray
    roll_deg: FloatArray
    gimbal_yaw_deg: FloatArray
    gimbal_pitch_deg: FloatArray
    gimbal_roll_deg: FloatArray
    hfov_deg: FloatArray
    vfov_deg: FloatArray
    x_m: FloatArray
    y_m: FloatArray

    def __len__(self) -> int:
        return len(self.t_us)

    @property
    def start(self) -> datetime:
        return _EPOCH + timedelta(microseconds=int(self.t_us[0]))

    @property
    def end(self) -> datetime:
        return _EPOCH + timedelta(microseconds=int(self.t_us[-1]))


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


# --- plans --------------------------------------------------------------------------------


def _parts(line: BaseGeometry) -> list[BaseGeometry]:
    if line.is_empty:
        return []
    if line.geom_type == "LineString":
        return [line]
    return [g for g in getattr(line, "geoms", []) if g.geom_type == "LineString"]


def _offset_points(
    part: BaseGeometry,
    s: FloatArray,
    offset_m: float,
    *,
    own: BaseGeometry,
    line: BaseGeometry,
    base_xy: tuple[float, float],
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Points `offset_m` off the line at positions `s` of `part`, on the `own` area's side.

    Returns (xy, away unit normals, ok): ok is False where neither normal (or both) lands
    in the own area, where the point comes closer to another stretch of the line, or
    where the straight way from the base to it passes near the line.
    """
    length = float(part.length)
    p = shapely.get_coordinates(shapely.line_interpolate_point(part, s))
    q = shapely.get_coordinates(shapely.line_interpolate_point(part, np.minimum(s + 50, length)))
    r = shapely.get_coordinates(shapely.line_interpolate_point(part, np.maximum(s - 50, 0.0)))
    t = q - r
    norm = np.hypot(t[:, 0], t[:, 1])
    norm[norm == 0] = 1.0
    n = np.column_stack([-t[:, 1] / norm, t[:, 0] / norm])  # left of the line's direction
    left, right = p + offset_m * n, p - offset_m * n
    in_left = shapely.contains_xy(own, left[:, 0], left[:, 1])
    in_right = shapely.contains_xy(own, right[:, 0], right[:, 1])
    xy = np.where(in_left[:, None], left, right)
    away = np.where(in_left[:, None], n, -n)
    clear = shapely.distance(shapely.points(xy), line) >= 0.8 * offset_m
    # The way there and back, straight from and to the base, must not cross the line.
    legs = shapely.linestrings(
        np.stack([np.broadcast_to(np.asarray(base_xy), xy.shape), xy], axis=1)
    )
    clear &= shapely.distance(legs, line) >= 0.5 * offset_m
    return xy, away, (in_left != in_right) & clear


def _patrol(
    state: TheaterState,
    theater: Theater,
    drone: Drone,
    *,
    base_xy: tuple[float, float],
    budget_s: float,
    offset_m: float,
    stretch_m: float,
    rng: np.random.Generator,
) -> tuple[str, tuple[tuple[float, float], ...], tuple[tuple[float, float], ...]] | None:
    """(side, waypoints, away normals) of a stretch the drone can patrol, or None."""
    base = next(b for b in state.bases if b.id == drone.base)
    side = state.side_at(base.lon, base.lat)
    if side is None or side not in state.areas:
        return None
    frame = theater.frame
    line = frame.to_local_geometry(state.contact_line)
    own = frame.to_local_geometry(state.areas[side])
    bx, by = base_xy
    reach = min(
        drone.max_range_km * 1000.0 - _RANGE_MARGIN_M,
        (budget_s - _MIN_PATROL_S) * drone.cruise_mps / 2.0,
    )
    cands: list[tuple[int, float]] = []
    parts = _parts(line)
    for k, part in enumerate(parts):
        s = np.arange(0.0, float(part.length), 1000.0)
        xy, _, ok = _offset_points(part, s, offset_m, own=own, line=line, base_xy=base_xy)
        ok &= np.hypot(xy[:, 0] - bx, xy[:, 1] - by) <= reach
        cands += [(k, float(v)) for v in s[ok]]
    draw = rng.random()  # drawn whatever happens, so the draws stay in step
    if not cands:
        return None
    k, centre = cands[min(int(draw * len(cands)), len(cands) - 1)]
    part = parts[k]
    s = np.arange(
        max(centre - stretch_m / 2, 0.0), min(centre + stretch_m / 2, part.length), _SPACING_M
    )
    xy, away, ok = _offset_points(part, s, offset_m, own=own, line=line, base_xy=base_xy)
    ok &= np.hypot(xy[:, 0] - bx, xy[:, 1] - by) <= reach
    # The contiguous run of good waypoints around the centre.
    i = int(np.argmin(np.abs(s - centre)))
    if not ok[i]:
        return None
    lo, hi = i, i
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(s) - 1 and ok[hi + 1]:
        hi += 1
    if hi == lo:
        return None
    pts = tuple((float(x), float(y)) for x, y in xy[lo : hi + 1])
    normals = tuple((float(x), float(y)) for x, y in away[lo : hi + 1])
    return side, pts, normals


def draw_sorties(
    theater: Theater,
    start: datetime,
    hours: float,
    rng: np.random.Generator,
    *,
    ground_elev_m: float = 0.0,
) -> list[Sortie]:
    """Draw the plans of every theater drone's sorties that take off within the window.

    Drones go in id order, each drawing the same numbers whatever happens, so a seed
    gives one set of sorties. A sortie may land after the window's end.
    """
    sorties: list[Sortie] = []
    end_s = hours * 3600.0
    for drone_id in sorted(theater.drones):
        drone = theater.drones[drone_id]
        t_s = float(rng.uniform(0.0, 3.0)) * 3600.0
        while t_s < end_s:
            budget_s = drone.endurance_h * 3600.0 * float(rng.uniform(0.70, 0.85))
            agl_m = float(rng.uniform(800.0, 1200.0))
            offset_m = float(rng.uniform(1200.0, 1700.0))
            stretch_m = float(rng.uniform(8000.0, 25000.0))
            takeoff = start + timedelta(seconds=round(t_s))
            state = theater.at(takeoff)
            base = next((b for b in state.bases if b.id == drone.base), None)
            plan = None
            if base is not None:
                bxy = theater.frame.to_local(base.lon, base.lat)
                base_xy = (float(bxy[0][0]), float(bxy[1][0]))
                plan = _patrol(
                    state,
                    theater,
                    drone,
                    base_xy=base_xy,
                    budget_s=budget_s,
                    offset_m=offset_m,
                    stretch_m=stretch_m,
                    rng=rng,
                )
            if plan is not None:
                side, pts, normals = plan
                sorties.append(
                    Sortie(
                        id=f"{drone.id}-{takeoff:%Y%m%dT%H%M}",
                        drone=drone.id,
                        org=drone.org,
                        camera=drone.camera,
                        base=drone.base,
                        side=side,
                        takeoff=takeoff,
                        budget_s=round(budget_s, 3),
                        agl_m=round(agl_m, 1),
                        offset_m=round(offset_m, 1),
                        cruise_mps=drone.cruise_mps,
                        base_xy=base_xy,
                        patrol_xy=pts,
                        away_xy=normals,
                        ground_elev_m=ground_elev_m,
                    )
                )
            t_s += budget_s + float(rng.uniform(1.0, 2.5)) * 3600.0
            if rng.random() < 0.3:
                t_s += float(rng.uniform(2.0, 5.0)) * 3600.0
    return sorties


# --- flying -------------------------------------------------------------------------------


def _wrap180(a: float) -> float:
    return (a + 180.0) % 360.0 - 180.0


def _route(s: Sortie) -> list[tuple[float, float, float, float]]:
    """Waypoints (x, y, away normal) of one lap: along the stretch and back."""
    fwd = [(*p, *n) for p, n in zip(s.patrol_xy, s.away_xy, strict=True)]
    return fwd + fwd[-2:0:-1]


def _path(s: Sortie) -> tuple[FloatArray, ...]:
    """(t_s, x, y, unwrapped grid heading, roll) of the flight at `STEP_S`, until it lands."""
    v, dt = s.cruise_mps, STEP_S
    max_turn = math.degrees(_G * math.tan(math.radians(_MAX_BANK_DEG)) / v) * dt
    bx, by = s.base_xy
    route = _route(s)
    x, y = bx, by
    px, py = route[0][:2]
    heading = math.degrees(math.atan2(px - x, py - y))
    ts, xs, ys, hs, rs = [0.0], [x], [y], [heading], [0.0]
    i, home, t = 0, False, 0.0
    while True:
        to_base = math.hypot(bx - x, by - y)
        if not home and t + to_base / v + 120.0 >= s.budget_s:
            home = True
        if home:
            tx, ty, nx, ny = bx, by, 0.0, 0.0
            if to_base < _LANDED_M or t > s.budget_s + 3600.0:
                break
        else:
            tx, ty, nx, ny = route[i % len(route)]
            if math.hypot(tx - x, ty - y) < _ACCEPT_M:
                i += 1
                tx, ty, nx, ny = route[i % len(route)]
        err = _wrap180(math.degrees(math.atan2(tx - x, ty - y)) - heading)
        if abs(err) > 120.0 and (nx or ny):
            # Turn around away from the line, not across it.
            h = math.radians(heading)
            right = math.cos(h) * nx - math.sin(h) * ny
            err = abs(err) if right > 0 else -abs(err)
        turn = max(-max_turn, min(max_turn, err))
        heading += turn
        h = math.radians(heading)
        x += v * dt * math.sin(h)
        y += v * dt * math.cos(h)
        t += dt
        roll = math.degrees(math.atan(v * math.radians(turn / dt) / _G))
        ts.append(t)
        xs.append(x)
        ys.append(y)
        hs.append(heading)
        rs.append(roll)
    return tuple(np.array(a, dtype=np.float64) for a in (ts, xs, ys, hs, rs))


def _each(fn: Callable[..., float], *arrays: FloatArray) -> FloatArray:
    """fn (a `math` function) applied element by element: same bits on every CPU."""
    f = np.frompyfunc(fn, len(arrays), 1)
    return np.asarray(f(*arrays), dtype=np.float64)


def fly(sortie: Sortie, theater: Theater, rate_hz: float = 1.0) -> Flight:
    """Fly a sortie's plan and sample it `rate_hz` times a second from takeoff, and at
    landing.

    Raises:
        ValueError: `rate_hz` is not positive.
        KeyError: the sortie's camera is not one of the theater's.
    """
    if not rate_hz > 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    camera = theater.cameras[sortie.camera]
    t_path, xp, yp, hp, rp = _path(sortie)
    duration = float(t_path[-1])
    k = np.arange(int(duration * rate_hz) + 1, dtype=np.int64)
    dt_us = np.round(k * (1e6 / rate_hz)).astype(np.int64)
    landing_us = round(duration * 1e6)
    if dt_us[-1] < landing_us:  # the last sample is the landing
        dt_us = np.append(dt_us, landing_us)
    t = dt_us / 1e6
    x, y = np.interp(t, t_path, xp), np.interp(t, t_path, yp)
    heading_grid, roll = np.interp(t, t_path, hp), np.interp(t, t_path, rp)
    climb = _CLIMB_MPS * np.minimum(t, duration - t)
    agl = np.minimum(sortie.agl_m, climb)
    vz = np.where(agl < sortie.agl_m, _CLIMB_MPS, 0.0) * np.where(t < duration / 2, 1.0, -1.0)
    v = sortie.cruise_mps
    lon, lat = theater.frame.to_wgs84(x, y)
    yaw = np.mod(heading_grid + theater.frame.grid_north_deg(lon, lat), 360.0)
    pitch = _each(math.degrees, _each(math.atan2, vz, np.full_like(vz, v)))
    rad = yaw * (math.pi / 180.0)
    vn, ve = v * _each(math.cos, rad), v * _each(math.sin, rad)
    # The gimbal looks at the nearest point of the line (the one in force at takeoff).
    # Only the line near the flight matters (beyond `_LOOK_MAX_M` the camera looks ahead).
    line = shapely.clip_by_rect(
        theater.frame.to_local_geometry(theater.at(sortie.takeoff).contact_line),
        float(x.min()) - 2 * _LOOK_MAX_M,
        float(y.min()) - 2 * _LOOK_MAX_M,
        float(x.max()) + 2 * _LOOK_MAX_M,
        float(y.max()) + 2 * _LOOK_MAX_M,
    )
    if line.is_empty:
        dx = dy = np.zeros_like(x)
        dist = np.full_like(x, np.inf)
    else:
        shapely.prepare(line)
        near = shapely.get_coordinates(shapely.shortest_line(shapely.points(x, y), line))[1::2]
        dx, dy = near[:, 0] - x, near[:, 1] - y
        dist = np.hypot(dx, dy)
    look = (dist <= _LOOK_MAX_M) & (agl >= _LOOK_MIN_AGL_M)
    az = _each(math.degrees, _each(math.atan2, dx, dy))
    g_yaw = np.where(look, np.mod(az - heading_grid + 180.0, 360.0) - 180.0, 0.0)
    g_pitch = np.where(
        look, -_each(math.degrees, _each(math.atan2, agl, np.maximum(dist, 1.0))), -45.0
    )
    n = len(t)
    return Flight(
        sortie=sortie,
        t_us=posix_us(sortie.takeoff) + dt_us,
        lat_deg=lat,
        lon_deg=lon,
        alt_m=sortie.ground_elev_m + agl,
        vn_mps=vn,
        ve_mps=ve,
        vd_mps=-vz,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
        gimbal_yaw_deg=g_yaw,
        gimbal_pitch_deg=g_pitch,
        gimbal_roll_deg=np.zeros(n),
        hfov_deg=np.full(n, camera.hfov_deg),
        vfov_deg=np.full(n, camera.vfov_deg),
        x_m=x,
        y_m=y,
    )
