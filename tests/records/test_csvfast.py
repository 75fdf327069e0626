"""The column-wise fast path of read_records: the same records and problems as pydantic."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasewatch.records import SPECS, LoadResult, Sighting, read_records
from ceasewatch.records import csvio as csvio_module
from ceasewatch.records._csvfast import prevalidate
from ceasewatch.records.base import ORGS_CONTEXT
from ceasewatch.records.csvio import _row_data

from .strategies import ORGS

COLUMNS = (
    "id", "time", "org", "observer", "lat", "lon", "bearing_deg", "bearing_sigma_deg",
    "bearing_ref", "range_min_m", "range_max_m", "kind", "count", "sense", "x_note",
)  # fmt: skip

# Values a user might write in each column: plain ones, and the odd ones where a fast
# check could disagree with pydantic (underscores, signs, exponents, case, padding, ...).
NUMBERS = (
    "0", "1", "-1", "1.5", "-0.0", "00.5", "1.", ".5", "+1.5", "1_0", "1e2", "1E-2", "5e-1",
    "1e400", "nan", "inf", "-inf", " 7 ", "0x10", "", "90", "90.0000001", "-180", "180.5",
    "359.9999", "360", "12,5", "١٢",
)  # fmt: skip
VALUES = {
    "id": ("S1", "S-2.b:c/d", "", "bad id", "x" * 128, "x" * 129, "é"),
    "time": (
        "2026-11-26T14:05:00Z",
        "2026-11-26T14:05:00.5Z",
        "2026-11-26T14:05:00+03:00",
        "2026-11-26T14:05:00",
        "2026-11-26 14:05Z",
        "yesterday",
        "",
        "2026-11-26T14:05:00z",
    ),
    "org": ("un", "osce", "jcc", "nobody", "UN", "", "north"),
    "observer": ("Post 7", "", "p" * 128, "p" * 129, "  padded  ", "é ✓"),
    "lat": NUMBERS,
    "lon": NUMBERS,
    "bearing_deg": (*NUMBERS, "N", "nne", " SW ", "NNNE", "north"),
    "bearing_sigma_deg": NUMBERS,
    "bearing_ref": ("", "true", "magnetic", "grid", "TRUE", "Grid", "compass"),
    "range_min_m": NUMBERS,
    "range_max_m": NUMBERS,
    "kind": ("explosion", "shot", "burst", "Shot", "", "bang"),
    "count": ("", "1", "3", "03", "0", "+3", "3.0", "100000", "100001", "1_0", "-1", "1e1"),
    "sense": ("", "seen", "heard", "both", "Heard", "smelt"),
    "x_note": ("", "anything, at all", "  "),
}
CONTEXT = {ORGS_CONTEXT: ORGS}


def _slow(row: list[str]) -> Sighting | None:
    try:
        return Sighting.model_validate(_row_data(list(COLUMNS), row), context=CONTEXT)
    except ValueError:
        return None


# Mostly values the fast path takes, so that most rows exercise it and some do not.
GOOD = {
    "id": ("S1", "S-2.b:c/d"), "time": ("2026-11-26T14:05:00Z",), "org": ("un", "jcc"),
    "observer": ("Post 7",), "lat": ("48.1", "-0.0"), "lon": ("37.7", "1e1"),
    "bearing_deg": ("45", "NNE", "w"), "bearing_sigma_deg": ("", "2"),
    "bearing_ref": ("", "magnetic"), "range_min_m": ("", "500"), "range_max_m": ("", "3000"),
    "kind": ("shot",), "count": ("", "3"), "sense": ("", "heard"), "x_note": ("", "n"),
}  # fmt: skip
rows = st.lists(
    st.tuples(*(st.sampled_from(GOOD[c] * 30 + VALUES[c]) for c in COLUMNS)).map(list),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows)
def test_fast_records_equal_what_pydantic_builds(rows: list[list[str]]) -> None:
    fast = prevalidate(Sighting, list(COLUMNS), rows, ORGS)
    for row, got in zip(rows, fast, strict=True):
        if got is None:
            continue  # left to pydantic
        want = _slow(row)
        assert want is not None, row
        assert got == want
        assert got.model_fields_set == want.model_fields_set
        assert list(got.__dict__) == list(want.__dict__)
        assert got.canonical() == want.canonical()
        assert got.model_dump() == want.model_dump()


def test_plain_rows_take_the_fast_path() -> None:
    row = ["S1", "2026-11-26T14:05:00Z", "un", "Post 7", "48.1", "37.7", "NNE", "", "magnetic"]
    row += ["500", "3000", "shot", "3", "heard", "note"]
    got = prevalidate(Sighting, list(COLUMNS), [row, ["S2", *row[1:]]], ORGS)
    assert all(isinstance(r, Sighting) for r in got)
    assert got[0] == _slow(row)


def _with_and_without_fast_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[LoadResult, LoadResult]:
    fast = read_records(path, SPECS["sightings"], ORGS, on_error="skip")
    with monkeypatch.context() as m:
        m.setattr(csvio_module, "prevalidate", lambda _r, _h, rows, _o: [None] * len(rows))
        slow = read_records(path, SPECS["sightings"], ORGS, on_error="skip")
    return fast, slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows)
def test_read_records_gives_the_same_records_and_problems_either_way(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fast") / "sightings.csv"
    text = ",".join(COLUMNS) + "\n"
    text += "".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        fast, slow = _with_and_without_fast_path(path, mp)
    assert fast.records == slow.records
    assert [r.model_fields_set for r in fast.records] == [r.model_fields_set for r in slow.records]
    assert fast.skipped == slow.skipped
    assert fast.rows_read == slow.rows_read
