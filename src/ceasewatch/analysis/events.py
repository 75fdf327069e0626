"""From groups of sightings (or craters) to events: fix, time, kind, ids, ellipse."""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from ceasewatch.analysis.associate import Association
from ceasewatch.analysis.localise import Fix, crlb, robust_fit
from ceasewatch.analysis.model import Event
from ceasewatch.analysis.observations import EPOCH, Obs
from ceasewatch.geo.theater import Theater

__all__ = ["CHI2_2D_95", "ellipse", "event_id", "events_from_craters", "events_from_sightings"]

#: Chi-square quantile with 2 degrees of freedom at 95%: the 95% ellipse's scale.
CHI2_2D_95 = 5.991464547107979


def event_id(prefix: str, evidence: Sequence[str]) -> str:
    """An id derived from the evidence alone: stable across runs and input orders."""
    digest = hashlib.sha256("\n".join(sorted(evidence)).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"


def ellipse(cee: float, cen: float, cnn: float) -> tuple[float, float, float]:
    """95% ellipse of a covariance: (semi-major m, semi-minor m, major axis azimuth deg)."""
    half_tr, det = 0.5 * (cee + cnn), cee * cnn - cen * cen
    disc = math.sqrt(max(half_tr * half_tr - det, 0.0))
    l1, l2 = half_tr + disc, max(half_tr - disc, 0.0)
    # Eigenvector of l1 in (east, north); azimuth clockwise from north = atan2(east, north).
    az = (
        math.degrees(math.atan2(l1 - cnn, cen))
        if abs(cen) > 1e-12
        else (90.0 if cee >= cnn else 0.0)
    )
    return math.sqrt(CHI2_2D_95 * l1), math.sqrt(CHI2_2D_95 * l2), az % 180.0


def _rms(cov: tuple[float, float, float]) -> float:
    return math.sqrt(max(cov[0] + cov[2], 0.0))


def _time(t_s: float) -> datetime:
    return EPOCH + timedelta(milliseconds=round(t_s * 1000.0))


def _event(
    theater: Theater,
    *,
    eid: str,
    kind: str,
    t_s: float,
    fix: Fix,
    crlb_m: float,
    count: int,
    sightings: tuple[str, ...] = (),
    outliers: tuple[str, ...] = (),
    craters: tuple[str, ...] = (),
    observers: tuple[str, ...] = (),
) -> Event:
    lon, lat = theater.frame.to_wgs84(fix.x, fix.y)
    return Event(
        id=eid,
        time=_time(t_s),
        kind=kind,
        count=count,
        x_m=fix.x,
        y_m=fix.y,
        lon=float(lon[0]),
        lat=float(lat[0]),
        cov_m2=((fix.cee, fix.cen), (fix.cen, fix.cnn)),
        crlb_m=crlb_m,
        sightings=sightings,
        outliers=outliers,
        craters=craters,
        observers=observers,
    )


def events_from_sightings(obs: Sequence[Obs], assoc: Association, theater: Theater) -> list[Event]:
    """One event per group: robust fix, time from the inliers, majority kind."""
    out = []
    for members in assoc.groups:
        group = [obs[k] for k in members]
        fix, inl, outl = robust_fit(group)
        inliers = [group[i] for i in inl]
        times = [assoc.emission_time(o, math.hypot(fix.x - o.x_m, fix.y - o.y_m)) for o in inliers]
        kinds = Counter(o.kind for o in inliers)
        kind = min(kinds, key=lambda k: (-kinds[k], k))
        ids = tuple(sorted(o.id for o in group))
        out.append(
            _event(
                theater,
                eid=event_id("EV", ids),
                kind=kind,
                t_s=statistics.median(times),
                fix=fix,
                crlb_m=_rms(crlb(inliers, fix.x, fix.y)),
                count=round(statistics.median(o.count for o in inliers)),
                sightings=ids,
                outliers=tuple(sorted(group[i].id for i in outl)),
                observers=tuple(sorted({o.observer for o in group})),
            )
        )
    return out


def events_from_craters(
    obs: Sequence[Obs], groups: Sequence[Sequence[int]], theater: Theater
) -> tuple[list[Event], dict[str, list[tuple[float, float]]]]:
    """Firing-position events from crater groups, and each one's impact points (local m)."""
    events, impacts = [], {}
    for members in groups:
        group = [obs[k] for k in members]
        fix, inl, outl = robust_fit(group)
        ids = tuple(sorted(o.id for o in group))
        ev = _event(
            theater,
            eid=event_id("FP", ids),
            kind="firing_position",
            t_s=min(o.t_s for o in group),
            fix=fix,
            crlb_m=_rms(crlb([group[i] for i in inl], fix.x, fix.y)),
            count=len(group),
            craters=ids,
            outliers=tuple(sorted(group[i].id for i in outl)),
        )
        events.append(ev)
        impacts[ev.id] = [(o.x_m, o.y_m) for o in sorted(group, key=lambda o: o.id)]
    return events, impacts
