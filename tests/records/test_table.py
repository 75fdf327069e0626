"""Sightings read as columns: the values, problems and errors of the records path."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ceasewatch.errors import InvalidInput
from ceasewatch.records import SPECS, Sighting, read_records
from ceasewatch.records.csvio import read_sighting_table
from ceasewatch.records.table import SightingTable, utc_from_us
from ceasewatch.records.types import parse_time, posix_us

from .strategies import ORGS
from .test_csvfast import COLUMNS, rows


def _rows_of(table: SightingTable) -> list[tuple[object, ...]]:
    cols = [getattr(table, f.name) for f in fields(SightingTable)]
    return sorted(zip(*cols, strict=True), key=lambda r: str(r[0]))


def _write(path: Path, rows: list[list[str]]) -> Path:
    text = ",".join(COLUMNS) + "\n"
    text += "".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows)
def test_the_table_holds_what_the_records_hold(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = _write(tmp_path_factory.mktemp("table") / "sightings.csv", rows)
    records = read_records(path, SPECS["sightings"], ORGS, on_error="skip")
    table, result = read_sighting_table(path, ORGS, on_error="skip")
    assert result.skipped == records.skipped
    assert result.rows_read == records.rows_read
    assert result.records == []
    sightings = [r for r in records.records if isinstance(r, Sighting)]
    assert len(sightings) == len(records.records)
    assert _rows_of(table) == _rows_of(SightingTable.of(sightings))


def test_a_bad_row_refuses_the_file_as_read_records_does(tmp_path: Path) -> None:
    good = ["S1", "2026-11-26T14:05:00Z", "un", "Post 7", "48.1", "37.7", "NNE", "", ""]
    good += ["", "", "shot", "", "", ""]
    path = _write(tmp_path / "sightings.csv", [good, ["S2", "yesterday", *good[2:]], good])
    with pytest.raises(InvalidInput) as want:
        read_records(path, SPECS["sightings"], ORGS)
    with pytest.raises(InvalidInput) as got:
        read_sighting_table(path, ORGS)
    assert got.value.message == want.value.message
    assert got.value.problems == want.value.problems
    table, result = read_sighting_table(path, ORGS, on_error="skip")
    assert table.id == ["S1"] and len(result.skipped) == 2


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T14:05:00Z", "2024-02-29T23:59:59Z", "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "2026-11-26T14:05:00.25Z",
        "2026-11-26T14:05:00+03:00",
    ],
)  # fmt: skip
def test_times_are_exact_microseconds(text: str, tmp_path: Path) -> None:
    row = ["S1", text, "un", "Post 7", "48.1", "37.7", "45", "", "", "", "", "shot", "", "", ""]
    table, result = read_sighting_table(_write(tmp_path / "s.csv", [row]), ORGS)
    assert not result.skipped
    assert table.t_us == [posix_us(parse_time(text))]
    assert table.time(0) == parse_time(text) == utc_from_us(table.t_us[0])


@pytest.mark.parametrize(
    "text", ["0000-01-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-26T24:00:00Z",
             "2026-11-26T14:05:60Z", "2026-13-01T00:00:00Z"],
)  # fmt: skip
def test_impossible_times_are_refused_as_pydantic_refuses_them(text: str, tmp_path: Path) -> None:
    row = ["S1", text, "un", "Post 7", "48.1", "37.7", "45", "", "", "", "", "shot", "", "", ""]
    path = _write(tmp_path / "s.csv", [row])
    table, result = read_sighting_table(path, ORGS, on_error="skip")
    assert len(table) == 0
    assert result.skipped == read_records(path, SPECS["sightings"], ORGS, "skip").skipped
    assert result.skipped
