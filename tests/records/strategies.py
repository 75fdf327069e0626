"""Hypothesis strategies for valid records of every kind, shared by the records tests.

Each strategy builds the input a user could give (a compass point as `bearing_deg`, a time
with a +03:00 offset, text with commas, quotes, line breaks and formula look-alikes) and
validates it against `ORGS`, so what it yields is a record the library accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import strategies as st

from ceasewatch.geo.bearings import COMPASS_POINTS
from ceasewatch.records import (
    Allegation,
    Assessment,
    Crater,
    Detection,
    DetectionClass,
    Record,
    Sense,
    Sighting,
    SightingKind,
    Verdict,
)
from ceasewatch.records.base import ORGS_CONTEXT

__all__ = [
    "ORGS",
    "STRATEGIES",
    "allegations",
    "assessments",
    "craters",
    "detections",
    "sightings",
]

R = TypeVar("R", bound=Record)

#: The theater's orgs for these tests: {org id: role}.
ORGS = {"un": "monitor", "osce": "monitor", "north": "side", "south": "side", "jcc": "both"}
MONITORS = ("un", "osce", "jcc")
SIDES = ("north", "south", "jcc")

# Any text a record may hold: no NUL, no lone surrogates (both refused by Record).
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
_NASTY = (
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2",
    "@SUM(A1)",
    'he said "fire", then left',
    "line one\nline two",
    "carriage\rreturn",
    "crlf\r\ninside",
    "é ✓ 𝄞 \u202e right-to-left",
    "a,b,c",
    "\ufeffbom",
)


def text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Text as a record keeps it: stripped, `min_size` to `max_size` characters."""
    raw = st.one_of(st.text(_CHARS, max_size=max_size), st.sampled_from(_NASTY))
    return raw.map(str.strip).filter(lambda s: min_size <= len(s) <= max_size)


def _floats(lo: float, hi: float, **kw: Any) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, **kw)


times = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=9, minutes=30))]
    ),
)
ids = st.from_regex(r"\A[A-Za-z0-9._:/-]{1,24}\Z")
lats = _floats(-90.0, 90.0)
lons = _floats(-180.0, 180.0)
positive = _floats(0.0, 1e7, exclude_min=True)
sigmas = _floats(0.0, 180.0, exclude_min=True)
counts = st.integers(1, 100_000)
extras = st.dictionaries(
    text(max_size=8).map(lambda s: ("x_" + s).strip()), text(max_size=20), max_size=3
)


def _validated(model: type[R]) -> Callable[[dict[str, Any]], R]:
    def build(data: dict[str, Any]) -> R:
        return model.model_validate(data, context={ORGS_CONTEXT: ORGS})

    return build


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@st.composite
def _sighting_data(draw: st.DrawFn) -> dict[str, Any]:
    lo, hi = sorted([draw(_floats(0.0, 1e6)), draw(_floats(1.0, 1e6))])
    ranges = draw(st.sampled_from(["none", "min", "max", "both"]))
    return _without_none(
        {
            "id": draw(ids),
            "time": draw(times),
            "org": draw(st.sampled_from(sorted(ORGS))),
            "observer": draw(text(1)),
            "lat": draw(lats),
            "lon": draw(lons),
            "bearing_deg": draw(
                st.one_of(_floats(0.0, 360.0, exclude_max=True), st.sampled_from(COMPASS_POINTS))
            ),
            "bearing_sigma_deg": draw(st.none() | sigmas),
            "bearing_ref": draw(st.none() | st.sampled_from(["true", "magnetic", "grid"])),
            "range_min_m": lo if ranges in ("min", "both") else None,
            "range_max_m": hi if ranges in ("max", "both") else None,
            "kind": draw(st.sampled_from(list(SightingKind))),
            "count": draw(st.none() | counts),
            "sense": draw(st.none() | st.sampled_from(list(Sense))),
            "extra": draw(extras),
        }
    )


@st.composite
def _detection_data(draw: st.DrawFn) -> dict[str, Any]:
    return _without_none(
        {
            "id": draw(ids),
            "time": draw(times),
            "org": draw(st.sampled_from(sorted(ORGS))),
            "source": draw(text(1)),
            "lat": draw(lats),
            "lon": draw(lons),
            "error_m": draw(positive),
            "class": draw(st.sampled_from(list(DetectionClass))),
            "count": draw(st.none() | counts),
            "sortie": draw(st.none() | text(1)),
            "image": draw(st.none() | text(1)),
            "extra": draw(extras),
        }
    )


@st.composite
def _crater_data(draw: st.DrawFn) -> dict[str, Any]:
    return _without_none(
        {
            "id": draw(ids),
            "time": draw(times),
            "org": draw(st.sampled_from(sorted(ORGS))),
            "lat": draw(lats),
            "lon": draw(lons),
            "direction_deg": draw(_floats(0.0, 360.0, exclude_max=True)),
            "direction_sigma_deg": draw(st.none() | sigmas),
            "caliber_mm": draw(st.none() | _floats(0.0, 1000.0, exclude_min=True)),
            "weapon": draw(st.none() | text(1)),
            "extra": draw(extras),
        }
    )


@st.composite
def _allegation_data(draw: st.DrawFn) -> dict[str, Any]:
    by, against = draw(st.permutations(SIDES))[:2]
    return _without_none(
        {
            "id": draw(ids),
            "time": draw(times),
            "by": by,
            "against": against,
            "lat": draw(lats),
            "lon": draw(lons),
            "radius_m": draw(positive),
            "text": draw(st.none() | text(max_size=200)),
            "source": draw(st.none() | text(1)),
            "extra": draw(extras),
        }
    )


@st.composite
def _assessment_data(draw: st.DrawFn) -> dict[str, Any]:
    return _without_none(
        {
            "id": draw(ids),
            "time": draw(times),
            "org": draw(st.sampled_from(MONITORS)),
            "incident": draw(ids),
            "verdict": draw(st.sampled_from(list(Verdict))),
            "side": draw(st.none() | st.sampled_from(SIDES)),
            "p_side": draw(st.none() | _floats(0.0, 1.0)),
            "rationale": draw(st.none() | text(max_size=200)),
            "extra": draw(extras),
        }
    )


sightings = _sighting_data().map(_validated(Sighting))
detections = _detection_data().map(_validated(Detection))
craters = _crater_data().map(_validated(Crater))
allegations = _allegation_data().map(_validated(Allegation))
assessments = _assessment_data().map(_validated(Assessment))

#: Strategy of valid records for each record type.
STRATEGIES: dict[type[Record], st.SearchStrategy[Any]] = {
    Sighting: sightings,
    Detection: detections,
    Crater: craters,
    Allegation: allegations,
    Assessment: assessments,
}
