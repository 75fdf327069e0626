"""Ground truth of a simulated scenario: what really happened along the contact line.

Episodes of fire start at random times at random points of the contact line in force;
each produces occurrences (explosions, shots, bursts, flares, movements) at positions
drawn in the shooter's or the target's area. Weapon sites stand in each side's area,
a few inside withdrawal zones or left in districts after their handover. Everything is
drawn from one seeded numpy Generator, in a fixed order, so a seed gives one scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ceasewatch.geo.features import ZoneType
from ceasewatch.geo.theater import Theater, TheaterState

__all__ = ["Episode", "Occurrence", "Truth", "WeaponSite", "draw_truth"]

SPEED_OF_SOUND_M_S = 343.0


@dataclass(frozen=True)
class EpisodeSpec:
    """One type of episode: how often, how deep behind the line, how many rounds."""

    weight: float
    fire_m: tuple[float, float]  # depth of the shooter's position behind the line
    rounds: tuple[int, int]
    hit_m: tuple[float, float] | None = None  # depth of the impact area beyond the line
    weapons: tuple[tuple[str, float], ...] = ()  # (name, calibre in mm)


EPISODES: dict[str, EpisodeSpec] = {
    "artillery": EpisodeSpec(0.22, (3000, 8000), (2, 8), (500, 4000),
                             (("howitzer D-30", 122.0), ("howitzer 2A65", 152.0))),
    "mortar": EpisodeSpec(0.2, (800, 2500), (2, 6), (300, 1800),
                          (("mortar 2B14", 82.0), ("mortar 2S12", 120.0))),
    "small_arms": EpisodeSpec(0.38, (200, 1200), (2, 6)),
    "flare": EpisodeSpec(0.1, (300, 2000), (1, 3)),
    "movement": EpisodeSpec(0.1, (400, 3000), (1, 2)),
}  # fmt: skip


@dataclass(frozen=True)
class Occurrence:
    """One physical occurrence: what, where, when, by which side."""

    id: str
    episode: str
    time: datetime
    kind: str  # explosion, shot, burst, flare, movement
    lon: float
    lat: float
    side: str
    count: int = 1
    weapon: str | None = None
    caliber_mm: float | None = None
    origin: str | None = None  # for an impact: the id of the shot that caused it


@dataclass(frozen=True)
class Episode:
    id: str
    type: str
    start: datetime
    shooter: str
    target: str | None
    lon: float  # where along the contact line it happened
    lat: float
    occurrences: tuple[str, ...]


@dataclass(frozen=True)
class WeaponSite:
    """Heavy equipment or forces standing somewhere, seen by drones."""

    id: str
    side: str
    cls: str
    lon: float
    lat: float
    count: int
    note: str  # why it is there: "rear", "in withdrawal zone", "after handover of ..."
    seen_after: datetime | None = None  # drones can see it only after this time


@dataclass
class Truth:
    start: datetime
    hours: float
    episodes: list[Episode] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    sites: list[WeaponSite] = field(default_factory=list)


def _line_point(
    state: TheaterState, theater: Theater, rng: np.random.Generator
) -> tuple[float, float, float, float] | None:
    """A random point on the contact line, with its unit normal, in local metres."""
    line = theater.frame.to_local_geometry(state.contact_line)
    if line.is_empty or line.length == 0:
        return None
    s = rng.uniform(0.02, 0.98) * line.length
    p = shapely.line_interpolate_point(line, s)
    q = shapely.line_interpolate_point(line, min(s + 50.0, line.length))
    r = shapely.line_interpolate_point(line, max(s - 50.0, 0.0))
    tx, ty = q.x - r.x, q.y - r.y
    norm = float(np.hypot(tx, ty)) or 1.0
    return p.x, p.y, -ty / norm, tx / norm


def _side_of_local(theater: Theater, state: TheaterState, x: float, y: float) -> str | None:
    lon, lat = theater.frame.to_wgs84(x, y)
    return state.side_at(float(lon[0]), float(lat[0]))


def _to_lonlat(theater: Theater, x: float, y: float) -> tuple[float, float]:
    lon, lat = theater.frame.to_wgs84(x, y)
    return round(float(lon[0]), 6), round(float(lat[0]), 6)


def draw_truth(
    theater: Theater,
    start: datetime,
    hours: float,
    rng: np.random.Generator,
    fire_rate_per_h: float = 1.5,
) -> Truth:
    """Draw the ground truth of a scenario."""
    truth = Truth(start=start, hours=hours)
    n_episodes = int(rng.poisson(fire_rate_per_h * hours))
    starts = np.sort(rng.uniform(0.0, hours * 3600.0, n_episodes))
    types = list(EPISODES)
    weights = np.array([EPISODES[t].weight for t in types])
    for k, t0_s in enumerate(starts):
        t0 = start + timedelta(seconds=round(float(t0_s), 3))
        etype = types[int(rng.choice(len(types), p=weights / weights.sum()))]
        _draw_episode(truth, theater, rng, eid=f"E{k + 1:04d}", etype=etype, t0=t0)
    _draw_sites(truth, theater, rng)
    truth.occurrences.sort(key=lambda o: (o.time, o.id))
    return truth


def _draw_episode(
    truth: Truth, theater: Theater, rng: np.random.Generator, *, eid: str, etype: str, t0: datetime
) -> None:
    state = theater.at(t0)
    spec = EPISODES[etype]
    for _ in range(20):  # find a stretch of line with a side on each hand
        lp = _line_point(state, theater, rng)
        if lp is None:
            return
        x, y, nx, ny = lp
        hands = [
            _side_of_local(theater, state, x + sgn * 2500 * nx, y + sgn * 2500 * ny)
            for sgn in (1, -1)
        ]
        if hands[0] and hands[1] and hands[0] != hands[1]:
            break
    else:
        return
    sgn = 1 if rng.random() < 0.5 else -1
    shooter = hands[0] if sgn == 1 else hands[1]
    target = hands[1] if sgn == 1 else hands[0]
    assert shooter is not None and target is not None
    lo, hi = spec.fire_m
    n = int(rng.integers(spec.rounds[0], spec.rounds[1] + 1))
    along = rng.normal(0.0, 400.0)
    tx, ty = ny, -nx  # tangent
    depth = rng.uniform(lo, hi)
    fx, fy = x + sgn * depth * nx + along * tx, y + sgn * depth * ny + along * ty
    if _side_of_local(theater, state, fx, fy) != shooter:
        return
    occ_ids: list[str] = []

    def add(kind: str, t: datetime, px: float, py: float, side: str, **kw: object) -> str:
        oid = f"{eid}-{len(occ_ids) + 1:02d}"
        lon, lat = _to_lonlat(theater, px, py)
        truth.occurrences.append(Occurrence(oid, eid, t, kind, lon, lat, side, **kw))  # type: ignore[arg-type]
        occ_ids.append(oid)
        return oid

    if spec.hit_m is not None:
        weapon, cal = spec.weapons[int(rng.integers(len(spec.weapons)))]
        hit_depth = rng.uniform(*spec.hit_m)
        ax = x - sgn * hit_depth * nx + rng.normal(0, 600) * tx
        ay = y - sgn * hit_depth * ny + rng.normal(0, 600) * ty
        t = t0
        for _ in range(n):
            gx, gy = fx + rng.normal(0, 60), fy + rng.normal(0, 60)
            shot = add("shot", t, gx, gy, shooter, weapon=weapon, caliber_mm=cal)
            ix, iy = ax + rng.normal(0, 120), ay + rng.normal(0, 120)
            flight_s = float(np.hypot(ix - gx, iy - gy)) / 300.0
            add(
                "explosion",
                t + timedelta(seconds=round(flight_s, 3)),
                ix,
                iy,
                shooter,
                weapon=weapon,
                caliber_mm=cal,
                origin=shot,
            )
            t += timedelta(seconds=round(float(rng.uniform(25, 120)), 3))
    else:
        kind = {"small_arms": "burst", "flare": "flare", "movement": "movement"}[etype]
        t = t0
        for _ in range(n):
            px, py = fx + rng.normal(0, 80), fy + rng.normal(0, 80)
            count = int(rng.integers(1, 6)) if kind != "flare" else 1
            add(kind, t, px, py, shooter, count=count)
            t += timedelta(seconds=round(float(rng.uniform(20, 240)), 3))
    lon, lat = _to_lonlat(theater, x, y)
    truth.episodes.append(Episode(eid, etype, t0, shooter, target, lon, lat, tuple(occ_ids)))


def _random_point_in(
    geom: BaseGeometry, rng: np.random.Generator, avoid: BaseGeometry | None = None
) -> tuple[float, float] | None:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(200):
        px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        pt = Point(px, py)
        if geom.contains(pt) and (avoid is None or not avoid.contains(pt)):
            return round(px, 6), round(py, 6)
    return None


def _draw_sites(truth: Truth, theater: Theater, rng: np.random.Generator) -> None:
    """Heavy weapons and forces: most in the rear, some where they must not be."""
    mid = truth.start + timedelta(hours=truth.hours / 2)
    state = theater.at(mid)
    withdrawal = shapely.union_all([z.geometry for z in state.zones_of(ZoneType.WITHDRAWAL)])
    n = 0

    def add(
        side: str,
        cls: str,
        pt: tuple[float, float] | None,
        count: int,
        note: str,
        *,
        after: datetime | None = None,
    ) -> None:
        nonlocal n
        if pt is not None:
            n += 1
            truth.sites.append(WeaponSite(f"W{n:03d}", side, cls, pt[0], pt[1], count, note, after))

    for side in theater.sides:
        area = state.areas.get(side)
        if area is None:
            continue
        for _ in range(6):
            cls = ("tank", "artillery", "mlrs", "truck", "apc")[int(rng.integers(5))]
            add(
                side,
                cls,
                _random_point_in(area, rng, avoid=withdrawal),
                int(rng.integers(1, 5)),
                "rear",
            )
        inside = area.intersection(withdrawal)
        if not inside.is_empty:
            for _ in range(2):
                cls = ("tank", "artillery", "mlrs")[int(rng.integers(3))]
                add(
                    side,
                    cls,
                    _random_point_in(inside, rng),
                    int(rng.integers(1, 4)),
                    "in withdrawal zone",
                )
    # Districts handed over shortly before or during the scenario: the old side lingers.
    end = truth.start + timedelta(hours=truth.hours)
    before = theater.at(truth.start - timedelta(days=7))
    for zone in before.zones_of(ZoneType.DISTRICT):
        if zone.handover_by is None or not (
            truth.start - timedelta(days=7) <= zone.handover_by < end
        ):
            continue
        rep = zone.geometry.representative_point()
        old = before.side_at(rep.x, rep.y)
        if old is None or old == zone.handover_to:
            continue
        for _ in range(2):
            add(
                old,
                ("personnel", "apc")[int(rng.integers(2))],
                _random_point_in(zone.geometry, rng),
                int(rng.integers(2, 12)),
                f"after handover of {zone.id}",
                after=zone.handover_by,
            )
