"""Canonical JSON (RFC 8785) and the content hash that identifies a record in the ledger."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.records import Record, Sighting, canonical_json

from .strategies import STRATEGIES
from .test_kinds import EXAMPLES, KIND_IDS, SIGHTING, make

# RFC 8785 itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # ECMAScript Number serialisation (RFC 8785 section 3.2.2.3)
        (1.0, "1"),
        (-1.0, "-1"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (5e-324, "5e-324"),
        (123456789012345680000.0, "123456789012345680000"),
        (9007199254740991, "9007199254740991"),
        # strings: only what must be escaped is, in lower-case hex; "/" and non-ASCII raw
        ('\x1f\n\t"\\/é\u2028', '"\\u001f\\n\\t\\"\\\\/é\u2028"'),
        (True, "true"),
        (None, "null"),
    ],
)
def test_rfc8785_values(value: Any, text: str) -> None:
    assert canonical_json(value) == text.encode("utf-8")


def test_rfc8785_sorts_keys_by_utf16_code_units_without_whitespace() -> None:
    # U+1D11E is D834 DD1E in UTF-16, so it sorts before U+E000 (by code point it is after).
    out = canonical_json({"b": [1, {"z": 1, "a": 2}], "a": 1, "B": 0, "\ue000": 3, "𝄞": 4})
    assert out == '{"B":0,"a":1,"b":[1,{"a":2,"z":1}],"𝄞":4,"\ue000":3}'.encode()


# Records --------------------------------------------------------------------------------

FULL_SIGHTING = {
    **SIGHTING,
    "bearing_deg": "NE",
    "range_min_m": 1000,
    "range_max_m": 4000.5,
    "count": 3,
    "sense": "both",
    "extra": {"x_weather": "fog"},
}
GOLDEN = (
    b'{"bearing_compass":"NE","bearing_deg":45,"bearing_ref":"true","count":3,'
    b'"extra":{"x_weather":"fog"},"id":"S1","kind":"explosion","lat":48.1,"lon":37.7,'
    b'"observer":"Post 7","org":"un","range_max_m":4000.5,"range_min_m":1000,"sense":"both",'
    b'"time":"2026-11-26T14:05:00Z","type":"sighting"}'
)


def test_sighting_canonical_bytes_are_pinned() -> None:
    s = make(Sighting, FULL_SIGHTING)
    assert s.canonical() == GOLDEN
    # The ledger identity: changing this constant breaks every stored hash.
    assert s.content_hash() == hashlib.sha256(GOLDEN).hexdigest()
    assert s.content_hash() == "743be7ff7b2d4b62710dc8c65a24ed15b86fe3cc5aec82e697b01b7b8f044fdd"


@pytest.mark.parametrize(("model", "data"), EXAMPLES, ids=KIND_IDS)
def test_canonical_form(model: type[Record], data: dict[str, Any]) -> None:
    rec = make(model, data)
    text = rec.canonical()
    doc = json.loads(text)
    assert doc["type"] == model.record_type
    assert list(doc) == sorted(doc)
    assert b" " not in text.replace(b"Post 7", b"")
    assert b"\n" not in text
    assert None not in doc.values()
    assert "extra" not in doc  # empty extra is left out
    assert text == canonical_json(doc)  # already canonical
    assert rec.content_hash() == hashlib.sha256(text).hexdigest()
    assert len(rec.content_hash()) == 64


def test_none_fields_are_omitted_and_do_not_change_the_hash() -> None:
    s = make(Sighting, SIGHTING)
    doc = json.loads(s.canonical())
    for name in ("bearing_compass", "bearing_sigma_deg", "range_min_m", "range_max_m", "sense"):
        assert name not in doc
    explicit_none = Sighting.model_validate({**SIGHTING, "sense": None, "range_max_m": None})
    assert explicit_none.content_hash() == s.content_hash()


def test_same_report_written_differently_hashes_the_same() -> None:
    base = make(Sighting, SIGHTING).content_hash()
    assert make(Sighting, SIGHTING, time="2026-11-26T17:05:00+03:00").content_hash() == base
    assert make(Sighting, SIGHTING, lat="48.10", lon=" 37.7").content_hash() == base
    assert make(Sighting, SIGHTING, observer=" Post 7 ").content_hash() == base
    assert make(Sighting, SIGHTING, extra={"x_a": ""}).content_hash() == base
    whole = make(Sighting, SIGHTING, bearing_deg=45)
    assert make(Sighting, SIGHTING, bearing_deg=45.0).content_hash() == whole.content_hash()
    assert b'"bearing_deg":45,' in whole.canonical()


def test_hash_is_stable_across_calls_and_copies() -> None:
    s = make(Sighting, FULL_SIGHTING)
    again = Sighting.model_validate(s.model_dump())
    assert {s.content_hash(), s.content_hash(), again.content_hash()} == {s.content_hash()}


CHANGES = [
    ("id", "S2"),
    ("time", "2026-11-26T14:05:00.000001Z"),
    ("org", "osce"),
    ("observer", "Post 8"),
    ("lat", 48.10000000000001),  # the next double after 48.1
    ("lon", -37.7),
    ("bearing_deg", "ENE"),
    ("bearing_sigma_deg", 5),
    ("bearing_ref", "magnetic"),
    ("range_min_m", 999),
    ("range_max_m", 4000.25),
    ("kind", "shot"),
    ("count", 4),
    ("sense", "seen"),
    ("extra", {"x_weather": "rain"}),
    ("extra", {"x_weather": "fog", "x_b": "1"}),
]


@pytest.mark.parametrize(("field", "value"), CHANGES, ids=[f"{f}={v!r}" for f, v in CHANGES])
def test_hash_changes_when_any_field_changes(field: str, value: Any) -> None:
    base = make(Sighting, FULL_SIGHTING)
    changed = make(Sighting, FULL_SIGHTING, **{field: value})
    assert changed != base
    assert changed.content_hash() != base.content_hash()


def test_every_sighting_field_is_covered_by_the_change_test() -> None:
    # bearing_compass changes with bearing_deg ("ENE") above.
    assert {f for f, _ in CHANGES} | {"bearing_compass"} == set(Sighting.model_fields)


def test_the_type_is_part_of_the_hash() -> None:
    # Two kinds with the same fields must not collide.
    class Other(Sighting):
        record_type = "other"

    s = make(Sighting, SIGHTING)
    o = Other.model_validate(SIGHTING)
    assert o.as_json() | {"type": "sighting"} == s.as_json()
    assert o.content_hash() != s.content_hash()


# Round trips (Hypothesis) ---------------------------------------------------------------


def _json_round_trip(rec: Record) -> None:
    doc = json.loads(rec.canonical())
    assert doc.pop("type") == rec.record_type
    back = type(rec).model_validate(doc)
    assert back == rec
    assert back.content_hash() == rec.content_hash()
    assert back.canonical() == rec.canonical()


@pytest.mark.parametrize("model", list(STRATEGIES), ids=lambda m: m.__name__)
@settings(max_examples=150)
@given(data=st.data())
def test_canonical_json_round_trips(model: type[Record], data: st.DataObject) -> None:
    _json_round_trip(data.draw(STRATEGIES[model]))


@given(st.one_of(*STRATEGIES.values()))
def test_as_json_is_canonical_json_of_itself(rec: Record) -> None:
    assert canonical_json(json.loads(rec.canonical())) == rec.canonical()
    assert json.loads(rec.canonical()) == rec.as_json()
