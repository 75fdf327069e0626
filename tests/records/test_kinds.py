"""The record kinds: valid examples, impossible values refused with a clear message."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from ceasewatch.geo.bearings import COMPASS_POINTS, COMPASS_SIGMA_DEG, BearingRef
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

from .strategies import ORGS

T0 = datetime(2026, 11, 26, 14, 5, tzinfo=UTC)

SIGHTING: dict[str, Any] = {
    "id": "S1",
    "time": "2026-11-26T14:05:00Z",
    "org": "un",
    "observer": "Post 7",
    "lat": 48.1,
    "lon": 37.7,
    "bearing_deg": 45.5,
    "kind": "explosion",
}
DETECTION: dict[str, Any] = {
    "id": "D1",
    "time": "2026-11-26T14:05:00Z",
    "org": "osce",
    "source": "uav-3",
    "lat": 48.1,
    "lon": 37.7,
    "error_m": 15,
    "class": "mlrs",
}
CRATER: dict[str, Any] = {
    "id": "C1",
    "time": "2026-11-26T14:05:00Z",
    "org": "un",
    "lat": 48.1,
    "lon": 37.7,
    "direction_deg": 270,
}
ALLEGATION: dict[str, Any] = {
    "id": "A1",
    "time": "2026-11-26T14:05:00Z",
    "by": "north",
    "against": "south",
    "lat": 48.1,
    "lon": 37.7,
    "radius_m": 2000,
}
ASSESSMENT: dict[str, Any] = {
    "id": "X1",
    "time": "2026-11-26T14:05:00Z",
    "org": "un",
    "incident": "I-2026-0001",
    "verdict": "confirm",
}
EXAMPLES: list[tuple[type[Record], dict[str, Any]]] = [
    (Sighting, SIGHTING),
    (Detection, DETECTION),
    (Crater, CRATER),
    (Allegation, ALLEGATION),
    (Assessment, ASSESSMENT),
]
KIND_IDS = [m.__name__ for m, _ in EXAMPLES]


def make(model: type[Record], data: dict[str, Any], **changes: Any) -> Record:
    """Validate `data` with `changes` (a value of None removes the key) against ORGS."""
    merged = {**data, **changes}
    merged = {k: v for k, v in merged.items() if v is not None}
    return model.model_validate(merged, context={ORGS_CONTEXT: ORGS})


def refusal(model: type[Record], data: dict[str, Any], **changes: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        make(model, data, **changes)
    return info.value


def locs(exc: ValidationError) -> list[tuple[int | str, ...]]:
    return [e["loc"] for e in exc.errors()]


# Valid examples ------------------------------------------------------------------------


def test_sighting_valid_minimal_and_defaults() -> None:
    s = make(Sighting, SIGHTING)
    assert isinstance(s, Sighting)
    assert s.time == T0
    assert s.bearing_deg == 45.5
    assert s.bearing_ref is BearingRef.TRUE
    assert s.kind is SightingKind.EXPLOSION
    assert s.count == 1
    assert (s.bearing_compass, s.bearing_sigma_deg, s.sigma_deg, s.sense) == (None,) * 4
    assert (s.range_min_m, s.range_max_m) == (None, None)
    assert s.extra == {}


def test_sighting_valid_full() -> None:
    s = make(
        Sighting,
        SIGHTING,
        bearing_sigma_deg=3,
        bearing_ref="magnetic",
        range_min_m=0,
        range_max_m=3000,
        count=12,
        sense="heard",
        extra={"x_note": "windy"},
    )
    assert isinstance(s, Sighting)
    assert s.sigma_deg == 3
    assert s.bearing_ref is BearingRef.MAGNETIC
    assert (s.range_min_m, s.range_max_m, s.count) == (0, 3000, 12)
    assert s.sense is Sense.HEARD
    assert s.extra == {"x_note": "windy"}


def test_detection_valid_with_class_alias_or_name() -> None:
    by_alias = make(Detection, DETECTION, sortie="S-12", image="img/0001.jpg", count=3)
    by_name = make(
        Detection, {**{k: v for k, v in DETECTION.items() if k != "class"}}, class_="mlrs"
    )
    assert isinstance(by_alias, Detection)
    assert by_alias.class_ is DetectionClass.MLRS
    assert by_name == by_alias.model_copy(update={"sortie": None, "image": None, "count": 1})
    assert by_alias.as_json()["class"] == "mlrs"
    assert "class_" not in by_alias.as_json()


def test_crater_valid() -> None:
    c = make(Crater, CRATER, direction_sigma_deg=10, caliber_mm=122, weapon="BM-21")
    assert isinstance(c, Crater)
    assert (c.direction_deg, c.caliber_mm, c.weapon) == (270, 122, "BM-21")


def test_allegation_valid() -> None:
    a = make(Allegation, ALLEGATION, text="shelling of the village", source="press release")
    assert isinstance(a, Allegation)
    assert (a.by, a.against, a.radius_m) == ("north", "south", 2000)
    assert make(Allegation, ALLEGATION, by="jcc").as_json()["by"] == "jcc"  # "both": a side too


def test_assessment_valid() -> None:
    a = make(Assessment, ASSESSMENT, side="south", p_side=0.8, rationale="crater analysis")
    assert isinstance(a, Assessment)
    assert a.verdict is Verdict.CONFIRM
    assert (a.side, a.p_side) == ("south", 0.8)
    assert make(Assessment, ASSESSMENT, verdict="need_info", org="jcc").as_json()["org"] == "jcc"


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
def test_records_are_frozen(model: type[Record], data: dict[str, Any]) -> None:
    rec = make(model, data)
    with pytest.raises(ValidationError, match="frozen"):
        rec.id = "other"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
def test_unknown_field_refused(model: type[Record], data: dict[str, Any]) -> None:
    exc = refusal(model, data, colour="red")
    assert ("colour",) in locs(exc)
    assert "Extra inputs are not permitted" in str(exc)


# Times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
def test_naive_time_refused(model: type[Record], data: dict[str, Any]) -> None:
    exc = refusal(model, data, time="2026-11-26T14:05:00")
    assert locs(exc) == [("time",)]
    assert "has no UTC offset; a local time is ambiguous: add Z (UTC) or +HH:MM" in str(exc)


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
def test_offset_time_converted_to_utc(model: type[Record], data: dict[str, Any]) -> None:
    rec = make(model, data, time="2026-11-26T17:05:00+03:00")
    assert rec.time == T0  # type: ignore[attr-defined]
    assert rec.time.tzinfo is UTC  # type: ignore[attr-defined]
    assert rec.as_json()["time"] == "2026-11-26T14:05:00Z"
    assert rec == make(model, data)


# Impossible values ---------------------------------------------------------------------

IMPOSSIBLE: list[tuple[type[Record], dict[str, Any], str, Any, str]] = [
    # model, example, field, value, what the message must say
    (Sighting, SIGHTING, "bearing_deg", 360, "less than 360"),
    (Sighting, SIGHTING, "bearing_deg", -1, "greater than or equal to 0"),
    (Sighting, SIGHTING, "bearing_deg", "north-east", "neither degrees in [0, 360) nor one"),
    (Sighting, SIGHTING, "bearing_deg", float("nan"), "finite number"),
    (Sighting, SIGHTING, "lat", 91, "less than or equal to 90"),
    (Sighting, SIGHTING, "lat", -90.5, "greater than or equal to -90"),
    (Sighting, SIGHTING, "lon", 181, "less than or equal to 180"),
    (Sighting, SIGHTING, "count", 0, "greater than or equal to 1"),
    (Sighting, SIGHTING, "count", -3, "greater than or equal to 1"),
    (Sighting, SIGHTING, "count", 2.5, "valid integer"),
    (Sighting, SIGHTING, "bearing_sigma_deg", 0, "greater than 0"),
    (Sighting, SIGHTING, "bearing_sigma_deg", 200, "less than or equal to 180"),
    (Sighting, SIGHTING, "bearing_ref", "compass", "'true', 'magnetic' or 'grid'"),
    (Sighting, SIGHTING, "range_min_m", -5, "greater than or equal to 0"),
    (Sighting, SIGHTING, "range_max_m", 0, "greater than 0"),
    (Sighting, SIGHTING, "kind", "boom", "Input should be 'explosion', 'burst'"),
    (Sighting, SIGHTING, "sense", "smelt", "'seen', 'heard' or 'both'"),
    (Sighting, SIGHTING, "observer", "   ", "at least 1 character"),
    (Sighting, SIGHTING, "id", "S 1", "should match pattern"),
    (Sighting, SIGHTING, "org", "UN", "not an org id"),
    (Detection, DETECTION, "error_m", 0, "greater than 0"),
    (Detection, DETECTION, "class", "spaceship", "Input should be 'tank', 'artillery'"),
    (Detection, DETECTION, "count", 0, "greater than or equal to 1"),
    (Detection, DETECTION, "lon", -180.01, "greater than or equal to -180"),
    (Crater, CRATER, "direction_deg", 360, "less than 360"),
    (Crater, CRATER, "caliber_mm", 0, "greater than 0"),
    (Crater, CRATER, "caliber_mm", 1500, "less than or equal to 1000"),
    (Crater, CRATER, "direction_sigma_deg", -1, "greater than 0"),
    (Allegation, ALLEGATION, "radius_m", -1, "greater than 0"),
    (Allegation, ALLEGATION, "text", "x" * 4001, "at most 4000 characters"),
    (Allegation, ALLEGATION, "against", "north", "allegation by 'north' against itself"),
    (Assessment, ASSESSMENT, "p_side", 1.5, "less than or equal to 1"),
    (Assessment, ASSESSMENT, "p_side", -0.1, "greater than or equal to 0"),
    (Assessment, ASSESSMENT, "verdict", "maybe", "'confirm', 'dispute' or 'need_info'"),
    (Assessment, ASSESSMENT, "incident", "", "at least 1 character"),
]


@pytest.mark.parametrize(
    ("model", "data", "field", "value", "fragment"),
    IMPOSSIBLE,
    ids=[f"{m.__name__}-{f}-{v!r:.20}" for m, _, f, v, _ in IMPOSSIBLE],
)
def test_impossible_value_refused_naming_field_and_reason(
    model: type[Record], data: dict[str, Any], field: str, value: Any, fragment: str
) -> None:
    exc = refusal(model, data, **{field: value})
    assert [e["loc"] for e in exc.errors()] == [(field,)]
    assert fragment in str(exc)


def test_range_min_greater_than_max_names_the_column_and_the_fix() -> None:
    exc = refusal(Sighting, SIGHTING, range_min_m=5000, range_max_m=100)
    assert locs(exc) == [("range_max_m",)]
    assert "range_min_m 5000 is greater than range_max_m 100; swap them" in str(exc)
    # equal bounds are a single range, not an error
    assert make(Sighting, SIGHTING, range_min_m=100, range_max_m=100).range_min_m == 100  # type: ignore[attr-defined]


def test_every_bad_field_is_reported_at_once() -> None:
    exc = refusal(Sighting, SIGHTING, lat=91, lon=200, count=0, time="2026-01-01T00:00:00")
    assert sorted(str(loc[0]) for loc in locs(exc)) == ["count", "lat", "lon", "time"]


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
@pytest.mark.parametrize("bad", ["nul\x00byte", "lone \ud800 surrogate"])
def test_text_that_cannot_be_stored_is_refused(
    model: type[Record], data: dict[str, Any], bad: str
) -> None:
    # NUL cannot go into PostgreSQL text; a lone surrogate cannot be canonicalised.
    exc = refusal(model, data, extra={"x_note": bad})
    assert "NUL" in str(exc) or "surrogate" in str(exc)


def test_text_is_stripped() -> None:
    s = make(Sighting, SIGHTING, observer="  Post 7 \t", kind=" shot ", extra={" x_a ": " b "})
    assert isinstance(s, Sighting)
    assert (s.observer, s.kind, s.extra) == ("Post 7", SightingKind.SHOT, {"x_a": "b"})


def test_text_keeps_inner_line_breaks_and_formula_characters() -> None:
    a = make(Allegation, ALLEGATION, text="=cmd|' /C calc'!A0\nsecond line")
    assert a.text == "=cmd|' /C calc'!A0\nsecond line"  # type: ignore[attr-defined]


# Orgs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Sighting, SIGHTING, "org"),
        (Detection, DETECTION, "org"),
        (Crater, CRATER, "org"),
        (Allegation, ALLEGATION, "by"),
        (Allegation, ALLEGATION, "against"),
        (Assessment, ASSESSMENT, "org"),
        (Assessment, ASSESSMENT, "side"),
    ],
)
def test_unknown_org_refused_listing_the_known_ones(
    model: type[Record], data: dict[str, Any], field: str
) -> None:
    exc = refusal(model, data, **{field: "nato"})
    assert locs(exc) == [(field,)]
    assert "unknown org 'nato'; the theater's orgs are: jcc, north, osce, south, un" in str(exc)


def test_without_a_theater_any_well_formed_org_is_accepted() -> None:
    s = Sighting.model_validate({**SIGHTING, "org": "nato"})
    assert s.org == "nato"
    a = Allegation.model_validate({**ALLEGATION, "by": "un"})
    assert a.by == "un"


def test_empty_theater_says_none() -> None:
    with pytest.raises(ValidationError, match="the theater's orgs are: none"):
        Sighting.model_validate(SIGHTING, context={ORGS_CONTEXT: {}})


@pytest.mark.parametrize(
    ("model", "data", "field", "org", "expected"),
    [
        (Allegation, ALLEGATION, "by", "un", "side or both"),
        (Allegation, ALLEGATION, "against", "osce", "side or both"),
        (Assessment, ASSESSMENT, "org", "north", "monitor or both"),
        (Assessment, ASSESSMENT, "side", "un", "side or both"),
    ],
)
def test_org_with_the_wrong_role_refused(
    model: type[Record], data: dict[str, Any], field: str, org: str, expected: str
) -> None:
    exc = refusal(model, data, **{field: org})
    assert locs(exc) == [(field,)]
    assert f"org {org!r} has role {ORGS[org]!r}; expected {expected}" in str(exc)


def test_any_role_may_report_a_sighting() -> None:
    for org in ORGS:
        assert make(Sighting, SIGHTING, org=org).org == org  # type: ignore[attr-defined]


# Compass bearings ----------------------------------------------------------------------


@pytest.mark.parametrize(("i", "point"), list(enumerate(COMPASS_POINTS)))
def test_compass_point_as_bearing(i: int, point: str) -> None:
    s = make(Sighting, SIGHTING, bearing_deg=point)
    assert isinstance(s, Sighting)
    assert s.bearing_deg == i * 22.5
    assert s.bearing_compass == point
    assert s.bearing_sigma_deg is None
    assert s.sigma_deg == COMPASS_SIGMA_DEG
    assert math.isclose(COMPASS_SIGMA_DEG, 22.5 / math.sqrt(12))
    assert s.as_json()["bearing_compass"] == point


def test_compass_point_is_case_and_space_insensitive_and_normalised() -> None:
    s = make(Sighting, SIGHTING, bearing_deg=" sse ")
    assert isinstance(s, Sighting)
    assert (s.bearing_deg, s.bearing_compass) == (157.5, "SSE")
    t = make(Sighting, SIGHTING, bearing_deg=157.5, bearing_compass="sse")
    assert t == s


def test_stated_sigma_wins_over_the_compass_sector() -> None:
    s = make(Sighting, SIGHTING, bearing_deg="E", bearing_sigma_deg=5)
    assert isinstance(s, Sighting)
    assert s.sigma_deg == 5


def test_compass_and_degrees_that_disagree_are_refused() -> None:
    exc = refusal(Sighting, SIGHTING, bearing_deg=10, bearing_compass="NE")
    assert locs(exc) == [("bearing_compass",)]
    assert "compass point NE is 45.0 degrees, not bearing_deg 10.0" in str(exc)


@pytest.mark.parametrize("bad", ["NNNE", "north", "NE/E", "0x10"])
def test_not_a_compass_point(bad: str) -> None:
    exc = refusal(Sighting, SIGHTING, bearing_deg=45, bearing_compass=bad)
    assert "is not one of the 16 compass points (N, NNE, ... NNW)" in str(exc)
    exc = refusal(Sighting, SIGHTING, bearing_deg=bad)
    assert "is neither degrees in [0, 360) nor one of the 16 compass points" in str(exc)


def test_numeric_bearing_text_is_degrees() -> None:
    assert make(Sighting, SIGHTING, bearing_deg=" 045 ").bearing_deg == 45  # type: ignore[attr-defined]


# Extra fields --------------------------------------------------------------------------


def test_extra_keys_must_start_with_x() -> None:
    exc = refusal(Sighting, SIGHTING, extra={"note": "a"})
    assert "extra field 'note' must start with x_" in str(exc)


def test_extra_drops_empty_values() -> None:
    s = make(Sighting, SIGHTING, extra={"x_a": "", "x_b": "  ", "x_c": "1"})
    assert s.extra == {"x_c": "1"}
    assert s == make(Sighting, SIGHTING, extra={"x_c": "1"})
