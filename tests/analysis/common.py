"""Hand-built events, detections and places on the demo theater, shared by the tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from ceasewatch.analysis.model import Event
from ceasewatch.geo.geodesy import LocalFrame
from ceasewatch.records.kinds import Detection

__all__ = [
    "EAST",
    "FRAME",
    "POST_A07",
    "T0",
    "WEST",
    "E",
    "W",
    "association_scores",
    "detection",
    "event",
    "local",
    "offset",
]

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
W = {"side-w": 0.98, "side-e": 0.02}
E = {"side-e": 0.97, "side-w": 0.03}
#: The demo theater's plane (theater.toml: crs = "EPSG:32638").
FRAME = LocalFrame("EPSG:32638")
#: Where post A-07 stands.
POST_A07 = (46.617208, 39.920712)
#: In side-w's area, far from posts and zones.
WEST = (46.45, 39.90)
#: In side-e's area, far from posts and zones.
EAST = (46.80, 39.84)


def event(
    eid: str,
    kind: str,
    lonlat: tuple[float, float],
    p_side: dict[str, float],
    t: datetime = T0,
    *,
    sigma_m: float = 50.0,
    craters: tuple[str, ...] = (),
) -> Event:
    x, y = local(lonlat)
    return Event(
        id=eid,
        time=t,
        kind=kind,
        count=1,
        x_m=x,
        y_m=y,
        lon=lonlat[0],
        lat=lonlat[1],
        cov_m2=((sigma_m**2, 0.0), (0.0, sigma_m**2)),
        crlb_m=sigma_m,
        craters=craters,
        p_side=p_side,
    )


def detection(
    did: str,
    cls: str,
    lonlat: tuple[float, float],
    t: datetime = T0,
    *,
    error_m: float = 20.0,
    side: str | None = None,
) -> Detection:
    return Detection.model_validate(
        {
            "id": did,
            "time": t,
            "org": "mon-a",
            "source": "drone-1",
            "lon": lonlat[0],
            "lat": lonlat[1],
            "error_m": error_m,
            "class": cls,
            "extra": {"x_side": side} if side else {},
        }
    )


def local(lonlat: tuple[float, float]) -> tuple[float, float]:
    x, y = FRAME.to_local(*lonlat)
    return float(x[0]), float(y[0])


def offset(lonlat: tuple[float, float], dx: float, dy: float) -> tuple[float, float]:
    """The point dx m east, dy m north of lonlat (in the local plane)."""
    x, y = local(lonlat)
    lon, lat = FRAME.to_wgs84(x + dx, y + dy)
    return float(lon[0]), float(lat[0])


def association_scores(link: Mapping[str, str], events: Sequence[Event]) -> tuple[float, float]:
    """Pairwise precision and recall of the events' sightings against the truth.

    ``link`` maps each sighting id to the id of the occurrence it saw (the simulator's
    ``sighting_truth``); a pair is two sightings in one event (got) or of one occurrence
    (want), as in benchmarks/accuracy.py.
    """

    def pairs(groups: Sequence[Sequence[str]]) -> set[tuple[str, str]]:
        return {(a, b) for g in groups for a, b in itertools.combinations(sorted(g), 2)}

    truth: dict[str, list[str]] = {}
    for sid, oid in link.items():
        truth.setdefault(oid, []).append(sid)
    got = pairs([e.sightings for e in events])
    want = pairs(list(truth.values()))
    tp = len(got & want)
    return tp / len(got), tp / len(want)
