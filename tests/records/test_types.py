"""UTC times and the constrained field types every record kind is built from."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ceasewatch.records import format_time, parse_time
from ceasewatch.records.types import Bearing, Lat, Lon, OrgId, PositiveM, RecordId, UtcDatetime

from .strategies import times


class Probe(BaseModel):
    """One field of each type, to see how each validates on its own."""

    t: UtcDatetime | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    bearing: Bearing | None = None
    positive: PositiveM | None = None
    org: OrgId | None = None
    rid: RecordId | None = None


def _message(**fields: object) -> str:
    with pytest.raises(ValidationError) as info:
        Probe.model_validate(fields)
    return str(info.value)


# parse_time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T14:05:00Z", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
        ("2026-11-26T14:05:00z", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
        ("2026-11-26T14:05:00+00:00", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
        ("2026-11-26T14:05:00+03:00", datetime(2026, 11, 26, 11, 5, tzinfo=UTC)),
        ("2026-11-26T01:05:00+03:00", datetime(2026, 11, 25, 22, 5, tzinfo=UTC)),
        ("2026-11-26T14:05:00-05:30", datetime(2026, 11, 26, 19, 35, tzinfo=UTC)),
        ("2026-11-26 14:05:00.250Z", datetime(2026, 11, 26, 14, 5, 0, 250_000, tzinfo=UTC)),
        ("  2026-11-26T14:05:00Z\t", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
    ],
)
def test_parse_time_gives_utc(text: str, expected: datetime) -> None:
    t = parse_time(text)
    assert t == expected
    assert t.utcoffset() == timedelta(0)
    assert t.hour == expected.hour  # converted, not just re-labelled


def test_parse_time_converts_an_aware_datetime() -> None:
    t = parse_time(datetime(2026, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=3))))
    assert (t.hour, t.tzinfo) == (0, UTC)


@pytest.mark.parametrize(
    "value", ["2026-11-26T14:05:00", "2026-11-26 14:05", datetime(2026, 11, 26, 14, 5)]
)
def test_parse_time_refuses_a_time_without_offset(value: object) -> None:
    with pytest.raises(ValueError, match=r"no UTC offset.*add Z \(UTC\) or \+HH:MM"):
        parse_time(value)


def test_parse_time_refuses_a_date_alone() -> None:
    # fromisoformat reads "2026-11-26" as naive midnight: refused like any naive time.
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_time("2026-11-26")


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01T00:00:00Z", "26/11/2026 14:05"])
def test_parse_time_refuses_non_iso_text_and_shows_the_right_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an ISO 8601 time; write e\.g\. 2026-11-26T"):
        parse_time(text)


@pytest.mark.parametrize("value", [1_700_000_000, 1.5, None, date(2026, 1, 1)])
def test_parse_time_refuses_other_types(value: object) -> None:
    with pytest.raises(ValueError, match="expected an ISO 8601 time, got"):
        parse_time(value)


@pytest.mark.parametrize("text", ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"])
def test_parse_time_out_of_range_in_utc_is_a_value_error(text: str) -> None:
    # Regression: astimezone() raised OverflowError, which pydantic does not turn into a
    # ValidationError, so one such cell crashed read_records.
    with pytest.raises(ValueError, match="out of range once converted to UTC"):
        parse_time(text)
    assert "out of range" in _message(t=text)


# format_time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (datetime(2026, 11, 26, 14, 5, tzinfo=UTC), "2026-11-26T14:05:00Z"),
        (datetime(2026, 11, 26, 14, 5, 0, 1, tzinfo=UTC), "2026-11-26T14:05:00.000001Z"),
        (
            datetime(2026, 11, 26, 17, 5, tzinfo=timezone(timedelta(hours=3))),
            "2026-11-26T14:05:00Z",
        ),
        # Regression: strftime("%Y") wrote "999-..." (not ISO 8601, not readable back).
        (datetime(999, 1, 2, tzinfo=UTC), "0999-01-02T00:00:00Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
    ],
)
def test_format_time(t: datetime, text: str) -> None:
    assert format_time(t) == text


def test_format_time_refuses_a_naive_datetime() -> None:
    # It used to take it as the machine's local time, silently.
    with pytest.raises(ValueError, match="no UTC offset"):
        format_time(datetime(2026, 11, 26, 14, 5))


@given(times)
def test_format_then_parse_is_the_same_instant(t: datetime) -> None:
    back = parse_time(format_time(t))
    assert back == t
    assert back.tzinfo is UTC
    assert format_time(back) == format_time(t)


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_time_is_fixed_width_iso(t: datetime) -> None:
    text = format_time(t)
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + (r"\.\d{6}" if t.microsecond else "") + "Z"
    assert re.fullmatch(pattern, text)


# The field types ----------------------------------------------------------------------


def test_utc_datetime_field_converts_and_serialises_with_z() -> None:
    p = Probe.model_validate({"t": "2026-11-26T14:05:00+03:00"})
    assert p.t == datetime(2026, 11, 26, 11, 5, tzinfo=UTC)
    assert p.model_dump(mode="json", exclude_none=True) == {"t": "2026-11-26T11:05:00Z"}


def test_utc_datetime_field_refuses_naive_time_with_advice() -> None:
    msg = _message(t="2026-11-26T14:05:00")
    assert "no UTC offset" in msg
    assert "add Z (UTC) or +HH:MM" in msg


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("lat", 90.0001, "less than or equal to 90"),
        ("lat", -91, "greater than or equal to -90"),
        ("lat", float("nan"), "finite number"),
        ("lon", 180.5, "less than or equal to 180"),
        ("lon", float("-inf"), "finite number"),
        ("bearing", 360, "less than 360"),
        ("bearing", -0.001, "greater than or equal to 0"),
        ("positive", 0, "greater than 0"),
        ("org", "UN", "not an org id: use lowercase letters, digits and '-'"),
        ("org", "un monitor", "not an org id"),
        ("org", "x" * 65, "at most 64 characters"),
        ("rid", "", "at least 1 character"),
        ("rid", "S 1", "should match pattern"),
        ("rid", "S1\n", "should match pattern"),
        ("rid", "x" * 129, "at most 128 characters"),
    ],
)
def test_field_types_refuse_impossible_values(field: str, value: object, fragment: str) -> None:
    msg = _message(**{field: value})
    assert field in msg
    assert fragment in msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 90),
        ("lat", -90),
        ("lon", -180),
        ("lon", 180),
        ("bearing", 0),
        ("bearing", 359.999999),
        ("org", "un-1"),
        ("rid", "a.b_c:d/e-1"),
    ],
)
def test_field_types_accept_their_bounds(field: str, value: object) -> None:
    assert getattr(Probe.model_validate({field: value}), field) == value
