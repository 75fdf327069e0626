"""From groups of sightings (or craters) to events: fix, time, kind, ids, ellipse."""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from ceasewatch.analysis._batchfit import FloatArray, ragged
from ceasewatch.analysis.associate import SPEED_OF_SOUND_M_S, Association
from ceasewatch.analysis.localise import Fix, ObsTable, crlb_groups, robust_fit_groups
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


def _time(t_s: float) -> datetime:
    return EPOCH + timedelta(milliseconds=round(t_s * 1000.0))


def _event(
    lonlat: tuple[float, float],
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
    lon, lat = lonlat
    return Event(
        id=eid,
        time=_time(t_s),
        kind=kind,
        count=count,
        x_m=fix.x,
        y_m=fix.y,
        lon=lon,
        lat=lat,
        cov_m2=((fix.cee, fix.cen), (fix.cen, fix.cnn)),
        crlb_m=crlb_m,
        sightings=sightings,
        outliers=outliers,
        craters=craters,
        observers=observers,
    )


def _fixes(
    obs: Sequence[Obs], groups: Sequence[Sequence[int]], table: ObsTable | None = None
) -> tuple[list[tuple[Fix, list[int], list[int]]], list[float], list[list[int]]]:
    """Robust fixes of all groups, the RMS of each one's Cramér-Rao bound (inliers), and
    each one's inliers (indices into obs)."""
    table = table if table is not None else ObsTable.of(obs)
    fitted = robust_fit_groups(obs, groups, table)
    x = np.array([f.x for f, _, _ in fitted])
    y = np.array([f.y for f, _, _ in fitted])
    inliers = [
        [members[i] for i in inl] for members, (_, inl, _) in zip(groups, fitted, strict=True)
    ]
    cee, _, cnn = crlb_groups(table, inliers, x, y)
    return fitted, np.sqrt(np.maximum(cee + cnn, 0.0)).tolist(), inliers


def _emission_medians(
    obs: Sequence[Obs],
    assoc: Association,
    groups: Sequence[Sequence[int]],
    x: FloatArray,
    y: FloatArray,
) -> list[float]:
    """The median over each group of its members' emission times at the group's point."""
    if not groups:
        return []
    flat, ptr = ragged(groups)
    n = np.diff(ptr)
    seg = np.repeat(np.arange(len(groups)), n)
    ob = [obs[k] for k in flat.tolist()]
    corr = np.array([o.t_s - assoc.offsets.get(o.observer, 0.0) for o in ob])
    heard = np.array([o.heard for o in ob], dtype=bool)
    dx = x[seg] - np.array([o.x_m for o in ob])
    dy = y[seg] - np.array([o.y_m for o in ob])
    e = corr - np.where(heard, np.sqrt(dx * dx + dy * dy) / SPEED_OF_SOUND_M_S, 0.0)
    # statistics.median of each group: sort within groups, take the middle (or the mean
    # of the two middle values).
    v = e[np.lexsort((e, seg))]
    lo, hi = v[ptr[:-1] + (n - 1) // 2], v[ptr[:-1] + n // 2]
    out: list[float] = np.where(n % 2 == 1, lo, (lo + hi) / 2).tolist()
    return out


def _lonlat(
    theater: Theater, fitted: Sequence[tuple[Fix, list[int], list[int]]]
) -> list[tuple[float, float]]:
    """The fixes in WGS84 (one transform for all)."""
    if not fitted:
        return []
    lon, lat = theater.frame.to_wgs84(
        np.array([f.x for f, _, _ in fitted]), np.array([f.y for f, _, _ in fitted])
    )
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def events_from_sightings(obs: Sequence[Obs], assoc: Association, theater: Theater) -> list[Event]:
    """One event per group: robust fix, time from the inliers, majority kind."""
    out = []
    fitted, crlb_m, inliers = _fixes(obs, assoc.groups, assoc.table)
    places = _lonlat(theater, fitted)
    x = np.array([f.x for f, _, _ in fitted])
    y = np.array([f.y for f, _, _ in fitted])
    times = _emission_medians(obs, assoc, inliers, x, y)
    for members, (fix, _, outl), rms, lonlat, inl, t_s in zip(
        assoc.groups, fitted, crlb_m, places, inliers, times, strict=True
    ):
        if len(members) == 1:
            o = obs[members[0]]
            kind, count, ids, observers = o.kind, o.n_reported, (o.id,), (o.observer,)
        else:
            kinds = Counter(obs[k].kind for k in inl)
            kind = min(kinds, key=lambda k: (-kinds[k], k))
            count = round(statistics.median(obs[k].n_reported for k in inl))
            ids = tuple(sorted(obs[k].id for k in members))
            observers = tuple(sorted({obs[k].observer for k in members}))
        out.append(
            _event(
                lonlat,
                eid=event_id("EV", ids),
                kind=kind,
                t_s=t_s,
                fix=fix,
                crlb_m=rms,
                count=count,
                sightings=ids,
                outliers=tuple(sorted(obs[members[i]].id for i in outl)),
                observers=observers,
            )
        )
    return out


def events_from_craters(
    obs: Sequence[Obs], groups: Sequence[Sequence[int]], theater: Theater
) -> tuple[list[Event], dict[str, list[tuple[float, float]]]]:
    """Firing-position events from crater groups, and each one's impact points (local m)."""
    events, impacts = [], {}
    fitted, crlb_m, _ = _fixes(obs, groups)
    places = _lonlat(theater, fitted)
    for members, (fix, _, outl), rms, lonlat in zip(groups, fitted, crlb_m, places, strict=True):
        group = [obs[k] for k in members]
        ids = tuple(sorted(o.id for o in group))
        ev = _event(
            lonlat,
            eid=event_id("FP", ids),
            kind="firing_position",
            t_s=min(o.t_s for o in group),
            fix=fix,
            crlb_m=rms,
            count=len(group),
            craters=ids,
            outliers=tuple(sorted(group[i].id for i in outl)),
        )
        events.append(ev)
        impacts[ev.id] = [(o.x_m, o.y_m) for o in sorted(group, key=lambda o: o.id)]
    return events, impacts
