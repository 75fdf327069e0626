"""From groups of sightings (or craters) to events: fix, time, kind, ids, ellipse."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from ceasewatch.analysis._batchfit import ragged
from ceasewatch.analysis._event_columns import columns
from ceasewatch.analysis.associate import Association
from ceasewatch.analysis.localise import (
    Fix,
    ObsTable,
    crlb_groups,
    crlb_rows,
    robust_fit_arrays,
    robust_fit_groups,
)
from ceasewatch.analysis.model import Event, event_of
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


def events_from_sightings(
    obs: Sequence[Obs], assoc: Association, theater: Theater, *, workers: int = 1
) -> list[Event]:
    """One event per group: robust fix, time from the inliers, majority kind.

    Every group's numbers are computed per array (`_event_columns`); what remains per
    event is making its strings, tuples and the `Event`. `workers` > 1 fits the groups
    on that many forked processes (`robust_fit_arrays`: the same result).
    """
    if not assoc.groups:
        return []
    table = assoc.table if assoc.table is not None else ObsTable.of(obs)
    flat, ptr = ragged(assoc.groups)
    fit = robust_fit_arrays(table, flat, ptr, workers=workers)
    f = fit.fits
    c = columns(obs, assoc, fit)
    # The inliers' Cramér-Rao bound (its RMS).
    cee, _, cnn = crlb_rows(table, c.inl, c.iptr, f.x, f.y)
    crlb_m = np.sqrt(np.maximum(cee + cnn, 0.0)).tolist()
    lon, lat = theater.frame.to_wgs84(f.x, f.y)
    ms = np.rint(c.times * 1000.0).astype(np.int64).tolist()
    out = []
    ids, iptr = c.ids, c.id_ptr.tolist()
    observers, optr = c.observers, c.obs_ptr.tolist()
    for g, (x, y, xx, en, nn, la, lo, kind, count, t_ms, rms) in enumerate(
        zip(f.x.tolist(), f.y.tolist(), f.cee.tolist(), f.cen.tolist(), f.cnn.tolist(),
            lat.tolist(), lon.tolist(), c.kinds, c.counts, ms, crlb_m, strict=True)
    ):  # fmt: skip
        sightings = tuple(ids[iptr[g] : iptr[g + 1]])
        digest = hashlib.sha256("\n".join(sightings).encode("utf-8")).hexdigest()
        out.append(
            event_of({
                "id": f"EV-{digest[:16]}", "time": EPOCH + timedelta(0, 0, 0, t_ms),
                "kind": kind, "count": count, "x_m": x, "y_m": y, "lon": lo, "lat": la,
                "cov_m2": ((xx, en), (en, nn)), "crlb_m": rms, "sightings": sightings,
                "outliers": c.outliers.get(g, ()), "craters": (), "p_side": {},
                "d_line_m": None, "observers": tuple(observers[optr[g] : optr[g + 1]]),
            })
        )  # fmt: skip
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
