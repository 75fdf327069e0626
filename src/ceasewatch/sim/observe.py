"""What the monitors report of the truth: noisy sightings, detections, craters; and what
the sides allege.

The noise is the field's: each post has its own bearing sigma and clock offset; some
posts report magnetic or grid bearings, some only compass points; about 4% of bearings
are gross errors; distances come as bands; heard events arrive late by the speed of
sound; detection probability falls with distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ceasewatch.geo.bearings import (
    BearingRef,
    compass_to_deg,
    deg_to_compass,
    magnetic_declination_deg,
)
from ceasewatch.geo.geodesy import forward, inverse
from ceasewatch.geo.theater import Site, Theater
from ceasewatch.records import Allegation, Crater, Detection, Sighting
from ceasewatch.sim.truth import SPEED_OF_SOUND_M_S, Occurrence, Truth

__all__ = ["PostProfile", "observe", "post_profiles"]

#: Detection range (m at which half are reported) and whether it can be seen / heard.
VISIBILITY = {
    "explosion": (9000.0, True, True),
    "shot": (7000.0, True, True),
    "burst": (3000.0, False, True),
    "flare": (12000.0, True, False),
    "movement": (2500.0, True, False),
}
RANGE_BANDS_M = (0.0, 500.0, 1000.0, 2000.0, 3000.0, 5000.0, 8000.0, 12000.0, 20000.0)
GROSS_ERROR_RATE = 0.04


@dataclass(frozen=True)
class PostProfile:
    """How one post reports: its instrument and habits."""

    post: str
    org: str
    lon: float
    lat: float
    sigma_deg: float
    ref: BearingRef
    compass: bool
    states_sigma: bool
    clock_offset_s: float
    reach: float  # multiplies the detection ranges


def post_profiles(posts: tuple[Site, ...], rng: np.random.Generator) -> list[PostProfile]:
    out = []
    for site in sorted(posts, key=lambda s: s.id):
        u = rng.random()
        ref = BearingRef.MAGNETIC if u < 0.2 else (BearingRef.GRID if u < 0.3 else BearingRef.TRUE)
        compass = bool(ref is BearingRef.TRUE and rng.random() < 0.12)
        out.append(
            PostProfile(
                post=site.id, org=site.org, lon=site.lon, lat=site.lat,
                sigma_deg=round(float(rng.uniform(1.5, 4.0)), 1), ref=ref, compass=compass,
                states_sigma=bool(rng.random() < 0.7), clock_offset_s=float(rng.normal(0, 4.0)),
                reach=float(rng.uniform(0.75, 1.25)),
            )
        )  # fmt: skip
    return out


@dataclass
class Observations:
    sightings: list[Sighting]
    sighting_truth: dict[str, str]  # sighting id -> occurrence id
    detections: list[Detection]
    detection_truth: dict[str, str]  # detection id -> site id
    craters: list[Crater]
    crater_truth: dict[str, dict[str, str]]  # crater id -> impact, origin occurrence ids
    allegations: list[Allegation]
    allegation_truth: dict[str, dict[str, object]]


def _band(est_m: float) -> tuple[float, float]:
    i = int(np.searchsorted(RANGE_BANDS_M, est_m, side="right")) - 1
    i = min(max(i, 0), len(RANGE_BANDS_M) - 2)
    return RANGE_BANDS_M[i], RANGE_BANDS_M[i + 1]


def _reported_bearing(
    p: PostProfile, true_deg: float, t: datetime, theater: Theater
) -> tuple[float, str | None]:
    if p.compass:
        point = deg_to_compass(true_deg)
        return float(compass_to_deg(point) or 0.0), point
    if p.ref is BearingRef.MAGNETIC:
        b = true_deg - magnetic_declination_deg(p.lat, p.lon, t)
    elif p.ref is BearingRef.GRID:
        b = true_deg - float(theater.frame.grid_north_deg(p.lon, p.lat)[0])
    else:
        b = true_deg
    return round(b % 360.0, 1) % 360.0, None


def _sightings(
    truth: Truth,
    theater: Theater,
    profiles: list[PostProfile],
    rng: np.random.Generator,
    gross_error_rate: float,
) -> tuple[list[Sighting], dict[str, str]]:
    plon = np.array([p.lon for p in profiles])
    plat = np.array([p.lat for p in profiles])
    raw: list[tuple[datetime, str, Occurrence, dict[str, object]]] = []
    for occ in truth.occurrences:
        d50, can_see, can_hear = VISIBILITY[occ.kind]
        az, _, dist = inverse(plon, plat, occ.lon, occ.lat)
        active = {s.id for s in theater.at(occ.time).posts}
        for j, p in enumerate(profiles):
            if p.post not in active:
                continue
            d = float(dist[j])
            if d > 2.0 * d50 * p.reach:  # nothing is seen or heard that far
                continue
            p_detect = 0.95 / (1.0 + (d / (d50 * p.reach)) ** 4)
            if rng.random() >= p_detect:
                continue
            seen = can_see and (not can_hear or (d < 6000 and rng.random() < 0.7))
            heard = can_hear and (not seen or rng.random() < 0.4)
            sense = "both" if seen and heard else ("seen" if seen else "heard")
            delay = d / SPEED_OF_SOUND_M_S if sense == "heard" else 0.0
            t_rep = occ.time + timedelta(
                seconds=round(delay + p.clock_offset_s + rng.normal(0, 1.5))
            )
            t_rep = t_rep.replace(microsecond=0)
            err = rng.normal(0.0, p.sigma_deg)
            if rng.random() < gross_error_rate:
                err = float(rng.choice([-1, 1]) * rng.uniform(20, 90))
            bearing, compass = _reported_bearing(p, (float(az[j]) + err) % 360.0, occ.time, theater)
            band = (
                _band(d * float(np.exp(rng.normal(0, 0.25))))
                if rng.random() < 0.8
                else (None, None)
            )
            kind = occ.kind
            if kind in ("shot", "explosion") and rng.random() < 0.05:
                kind = "explosion" if kind == "shot" else "shot"
            count = max(1, occ.count + (int(rng.integers(-1, 2)) if occ.count > 1 else 0))
            fields: dict[str, object] = {
                "org": p.org, "observer": p.post, "lat": p.lat, "lon": p.lon,
                "bearing_deg": bearing, "bearing_compass": compass,
                "bearing_sigma_deg": p.sigma_deg if p.states_sigma and not compass else None,
                "bearing_ref": p.ref, "range_min_m": band[0], "range_max_m": band[1],
                "kind": kind, "count": count, "sense": sense,
            }  # fmt: skip
            raw.append((t_rep, p.post, occ, fields))
    raw.sort(key=lambda r: (r[0], r[1], r[2].id))
    out, link = [], {}
    for i, (t, _, occ, fields) in enumerate(raw):
        sid = f"S{i + 1:06d}"
        out.append(Sighting.model_validate({"id": sid, "time": t, **fields}))
        link[sid] = occ.id
    return out, link


def _detections(
    truth: Truth, theater: Theater, rng: np.random.Generator
) -> tuple[list[Detection], dict[str, str]]:
    monitors = theater.monitors
    end = truth.start + timedelta(hours=truth.hours)
    raw = []
    for site in truth.sites:
        lo = max(truth.start, site.seen_after) if site.seen_after else truth.start
        if lo >= end:
            continue
        for _ in range(int(rng.poisson(1.2))):
            t = lo + timedelta(seconds=round(float(rng.uniform(0, (end - lo).total_seconds()))))
            org = monitors[int(rng.integers(len(monitors)))]
            err = float(rng.uniform(8, 40))
            lon, lat = forward(site.lon, site.lat, rng.uniform(0, 360), abs(rng.normal(0, err / 2)))
            raw.append((t, site, org, err, round(float(lon[0]), 6), round(float(lat[0]), 6)))
    raw.sort(key=lambda r: (r[0], r[1].id))
    out, link = [], {}
    for i, (t, site, org, err, d_lon, d_lat) in enumerate(raw):
        did = f"D{i + 1:05d}"
        sortie = f"SRT-{org[-1].upper()}-{t:%m%d}-{t.hour // 6 + 1}"
        out.append(Detection.model_validate({
            "id": did, "time": t, "org": org, "source": "drone", "lat": d_lat, "lon": d_lon,
            "error_m": round(err, 1), "class": site.cls, "count": site.count,
            "sortie": sortie, "image": f"{sortie}/{did}.jpg",
        }))  # fmt: skip
        link[did] = site.id
    return out, link


def _craters(
    truth: Truth, theater: Theater, rng: np.random.Generator
) -> tuple[list[Crater], dict[str, dict[str, str]]]:
    by_id = {o.id: o for o in truth.occurrences}
    monitors = theater.monitors
    raw = []
    for occ in truth.occurrences:
        if occ.kind != "explosion" or occ.origin is None or rng.random() >= 0.35:
            continue
        src = by_id[occ.origin]
        az = float(inverse(occ.lon, occ.lat, src.lon, src.lat)[0][0])
        sigma = round(float(rng.uniform(4, 10)), 1)
        lon, lat = forward(occ.lon, occ.lat, rng.uniform(0, 360), abs(rng.normal(0, 4)))
        org = monitors[int(rng.integers(len(monitors)))]
        raw.append(
            (
                occ,
                src,
                org,
                sigma,
                round((az + rng.normal(0, sigma)) % 360.0, 1) % 360.0,
                float(lon[0]),
                float(lat[0]),
            )
        )
    raw.sort(key=lambda r: (r[0].time, r[0].id))
    out, link = [], {}
    for i, (occ, src, org, sigma, direction, c_lon, c_lat) in enumerate(raw):
        cid = f"C{i + 1:04d}"
        out.append(Crater.model_validate({
            "id": cid, "time": occ.time.replace(second=0, microsecond=0), "org": org,
            "lat": round(c_lat, 6), "lon": round(c_lon, 6), "direction_deg": direction,
            "direction_sigma_deg": sigma, "caliber_mm": occ.caliber_mm, "weapon": occ.weapon,
        }))  # fmt: skip
        link[cid] = {"impact": occ.id, "origin": src.id}
    return out, link


def _allegations(
    truth: Truth, theater: Theater, rng: np.random.Generator
) -> tuple[list[Allegation], dict[str, dict[str, object]]]:
    by_id = {o.id: o for o in truth.occurrences}
    raw: list[tuple[datetime, str, str, float, float, float, str, dict[str, object]]] = []
    for ep in truth.episodes:
        if ep.target is None or ep.type in ("flare", "movement") or rng.random() >= 0.6:
            continue
        hits = [by_id[o] for o in ep.occurrences if by_id[o].kind in ("explosion", "burst")]
        ref = hits[0] if hits else by_id[ep.occurrences[0]]
        lon, lat = forward(ref.lon, ref.lat, rng.uniform(0, 360), rng.uniform(0, 1500))
        t = ep.start.replace(second=0, microsecond=0) - timedelta(minutes=ep.start.minute % 5)
        text = f"{ep.type.replace('_', ' ')} fire on our positions by {ep.shooter}"
        raw.append(
            (
                t,
                ep.target,
                ep.shooter,
                float(lon[0]),
                float(lat[0]),
                float(rng.choice([1000.0, 2000.0, 3000.0])),
                text,
                {"true": True, "episode": ep.id},
            )
        )
    end_s = truth.hours * 3600.0
    for _ in range(int(rng.poisson(max(truth.hours / 6.0, 0.5)))):
        t = truth.start + timedelta(minutes=int(rng.uniform(0, end_s / 60)))
        state = theater.at(t)
        sides = sorted(state.areas)
        if len(sides) < 2:
            continue
        by = sides[int(rng.integers(len(sides)))]
        against = next(s for s in sides if s != by)
        minx, miny, maxx, maxy = state.areas[by].bounds
        for _ in range(100):
            lon_f, lat_f = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if state.side_at(lon_f, lat_f) == by:
                break
        raw.append(
            (
                t,
                by,
                against,
                lon_f,
                lat_f,
                2000.0,
                f"shelling by {against}",
                {"true": False, "episode": None},
            )
        )
    raw.sort(key=lambda r: (r[0], r[1], r[3]))
    out, link = [], {}
    for i, (t, by, against, a_lon, a_lat, radius, text, info) in enumerate(raw):
        aid = f"AL{i + 1:04d}"
        out.append(Allegation.model_validate({
            "id": aid, "time": t, "by": by, "against": against, "lat": round(a_lat, 6),
            "lon": round(a_lon, 6), "radius_m": radius, "text": text,
            "source": f"statement of {by}",
        }))  # fmt: skip
        link[aid] = info
    return out, link


def observe(
    truth: Truth,
    theater: Theater,
    profiles: list[PostProfile],
    rng: np.random.Generator,
    gross_error_rate: float = GROSS_ERROR_RATE,
) -> Observations:
    """Everything the monitors and the sides report of one truth."""
    sightings, s_link = _sightings(truth, theater, profiles, rng, gross_error_rate)
    detections, d_link = _detections(truth, theater, rng)
    craters, c_link = _craters(truth, theater, rng)
    allegations, a_link = _allegations(truth, theater, rng)
    return Observations(sightings, s_link, detections, d_link, craters, c_link, allegations, a_link)
