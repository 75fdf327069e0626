"""The CSV contract files: hostile and malformed input, blame, and write -> read round trips."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.records import (
    SPECS,
    Allegation,
    Crater,
    CsvSpec,
    Detection,
    Record,
    Sighting,
    read_records,
    write_records,
)

from .strategies import ORGS, STRATEGIES

HEADER = (
    "id,time,org,observer,lat,lon,bearing_deg,bearing_sigma_deg,bearing_ref,"
    "range_min_m,range_max_m,kind,count,sense"
)
GOOD = [
    "S1,2026-11-26T14:05:00Z,un,Post 7,48.1,37.7,45,2,true,,,explosion,1,seen",
    "S2,2026-11-26T14:06:00+03:00,osce,Post 9,48.2,37.8,NNE,,magnetic,500,3000,shot,3,heard",
    "S3,2026-11-26T14:07:00Z,jcc,Post 7,48.1,37.7,359.5,,,,,flare,,",
]
SIGHTINGS = SPECS["sightings"]


def put(tmp_path: Path, content: str | bytes, name: str = "sightings.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def lines(*rows: str, header: str = HEADER) -> str:
    return "".join(f"{r}\n" for r in (header, *rows))


def read(path: Path, spec: CsvSpec = SIGHTINGS, **kw: Any) -> list[Record]:
    return read_records(path, spec, ORGS, **kw).records


def refused(path: Path, spec: CsvSpec = SIGHTINGS, **kw: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        read_records(path, spec, ORGS, **kw)
    assert info.value.problems, "every refusal lists its problems"
    return info.value


def wheres(exc: InvalidInput | list[Problem]) -> list[str]:
    problems = exc.problems if isinstance(exc, InvalidInput) else exc
    return [p.where for p in problems]


# Well-formed files ----------------------------------------------------------------------


def test_good_file_loads_every_row(tmp_path: Path) -> None:
    path = put(tmp_path, lines(*GOOD))
    result = read_records(path, SIGHTINGS, ORGS)
    assert result.path == path
    assert result.rows_read == 3
    assert result.skipped == []
    s1, s2, s3 = result.records
    assert isinstance(s1, Sighting) and isinstance(s2, Sighting) and isinstance(s3, Sighting)
    assert (s1.id, s1.bearing_deg, s1.bearing_sigma_deg, s1.count) == ("S1", 45, 2, 1)
    assert s2.time.isoformat() == "2026-11-26T11:06:00+00:00"
    assert (s2.bearing_deg, s2.bearing_compass, s2.range_max_m) == (22.5, "NNE", 3000)
    assert (s3.count, s3.sense, s3.bearing_ref.value) == (1, None, "true")


def test_header_only_is_zero_records(tmp_path: Path) -> None:
    for text in (HEADER, HEADER + "\n", HEADER + "\n\n\n"):
        result = read_records(put(tmp_path, text), SIGHTINGS, ORGS)
        assert (result.records, result.skipped, result.rows_read) == ([], [], 0)


@pytest.mark.parametrize("content", ["", "\n", "  \n\n", "\ufeff", ",,,\n"])
def test_empty_file_refused_with_the_expected_header(tmp_path: Path, content: str) -> None:
    exc = refused(put(tmp_path, content))
    assert "empty file" in exc.message
    assert "nothing was loaded" in exc.message
    assert "expected e.g.: id,time,org,observer" in exc.diagnostics()


def test_bom_is_ignored(tmp_path: Path) -> None:
    plain = read(put(tmp_path, lines(*GOOD)))
    assert read(put(tmp_path, b"\xef\xbb\xbf" + lines(*GOOD).encode())) == plain


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends_read_the_same(tmp_path: Path, newline: str) -> None:
    plain = read(put(tmp_path, lines(*GOOD)))
    assert read(put(tmp_path, lines(*GOOD).replace("\n", newline))) == plain


def test_crlf_file_reports_the_right_lines(tmp_path: Path) -> None:
    text = lines(GOOD[0], GOOD[1].replace("48.2", "91"), GOOD[2]).replace("\n", "\r\n")
    assert wheres(refused(put(tmp_path, text))) == [f"{tmp_path / 'sightings.csv'}:3 lat"]


def test_blank_and_all_empty_rows_are_ignored(tmp_path: Path) -> None:
    plain = read(put(tmp_path, lines(*GOOD)))
    padded = "\n\n" + lines(GOOD[0], "", "   ", GOOD[1], ",,,,,,,,,,,,,", GOOD[2]) + "\n,,\n"
    result = read_records(put(tmp_path, padded), SIGHTINGS, ORGS)
    assert result.records == plain
    assert result.rows_read == 3


def test_blank_lines_before_the_header_shift_its_line(tmp_path: Path) -> None:
    exc = refused(put(tmp_path, "\n\n" + HEADER + ",bogus\n"))
    assert wheres(exc) == [f"{tmp_path / 'sightings.csv'}:3 bogus"]


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(range(len(HEADER.split(",")))))
def test_shuffled_column_order_reads_the_same(order: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain = read(put(Path(tmp), lines(*GOOD)))
        rows = [r.split(",") for r in (HEADER, *GOOD)]
        shuffled = [",".join(row[i] for i in order) for row in rows]
        assert read(put(Path(tmp), lines(*shuffled[1:], header=shuffled[0]))) == plain


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    header = "kind,bearing_deg,lon,lat,observer,org,time,id"
    path = put(
        tmp_path, lines("shot,SW,37.7,48.1,Post 7,un,2026-11-26T14:05:00Z,S1", header=header)
    )
    (s,) = read(path)
    assert isinstance(s, Sighting)
    assert (s.bearing_deg, s.bearing_compass, s.count, s.bearing_ref.value) == (
        225,
        "SW",
        1,
        "true",
    )


def test_multi_line_quoted_rows_keep_line_numbers_right(tmp_path: Path) -> None:
    rows = [
        'S1,2026-11-26T14:05:00Z,un,"Post\n7\n(north)",48.1,37.7,45,,,,,shot,,',
        "S2,2026-11-26T14:05:00Z,un,Post 8,48.1,37.7,45,,,,,shot,0,",
        'S3,2026-11-26T14:05:00Z,un,"Post\r\n9",48.1,37.7,45,,,,,shot,,',
        "S4,2026-11-26T14:05:00Z,un,Post 8,95,37.7,45,,,,,shot,,",
    ]
    path = put(tmp_path, lines(*rows))
    assert wheres(refused(path)) == [f"{path}:5 count", f"{path}:8 lat"]
    result = read_records(path, SIGHTINGS, ORGS, on_error="skip")
    assert [r.observer for r in result.records] == ["Post\n7\n(north)", "Post\r\n9"]  # type: ignore[attr-defined]


# Encoding and CSV syntax: the whole file is refused, whatever on_error says ----------------


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_latin1_bytes_refused_naming_the_line(tmp_path: Path, on_error: str) -> None:
    body = lines(GOOD[0], "S2,2026-11-26T14:05:00Z,un,Poste Fr\xe9d\xe9ric,48,37,45,,,,,shot,,")
    path = put(tmp_path, body.encode("latin-1"))
    exc = refused(path, on_error=on_error)
    assert wheres(exc) == [f"{path}:3"]
    assert f"{path}:3" in str(exc)
    assert "byte 0xe9" in exc.diagnostics()
    assert "is not UTF-8; save the file as UTF-8 CSV" in exc.diagnostics()


def test_latin1_line_counts_cr_line_ends(tmp_path: Path) -> None:
    body = lines(GOOD[0], GOOD[1], "S3,2026-11-26T14:05:00Z,un,\xe9,48,37,45,,,,,shot,,")
    path = put(tmp_path, body.replace("\n", "\r").encode("latin-1"))
    assert wheres(refused(path)) == [f"{path}:4"]


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_nul_byte_refused_naming_the_line(tmp_path: Path, on_error: str) -> None:
    path = put(tmp_path, lines(GOOD[0], GOOD[1].replace("Post 9", "Post\x009")))
    exc = refused(path, on_error=on_error)
    assert wheres(exc) == [f"{path}:3"]
    assert "NUL" in exc.diagnostics()
    assert "save it as UTF-8 CSV" in exc.diagnostics()


def test_utf16_file_refused_as_not_utf8(tmp_path: Path) -> None:
    exc = refused(put(tmp_path, lines(*GOOD).encode("utf-16")))  # with its BOM
    assert "not UTF-8" in exc.diagnostics()
    exc = refused(put(tmp_path, lines(*GOOD).encode("utf-16-le")))  # without: NULs
    assert "NUL" in exc.diagnostics()
    assert "UTF-16" in exc.diagnostics()


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_unterminated_quote_at_end_of_file_refuses_the_file(tmp_path: Path, on_error: str) -> None:
    # A truncated transfer: the last row opens a quote and the file ends.
    truncated = lines(*GOOD) + 'S4,2026-11-26T14:05:00Z,un,"Post 7,48.1,37.7,45'
    path = put(tmp_path, truncated)
    exc = refused(path, on_error=on_error)
    assert wheres(exc) == [f"{path}:5"]
    assert "never closed (is the file truncated?)" in exc.diagnostics()
    assert "nothing was loaded" in exc.message


def test_stray_quote_inside_a_quoted_field_refuses_the_file(tmp_path: Path) -> None:
    path = put(
        tmp_path, lines(GOOD[0], 'S2,2026-11-26T14:05:00Z,un,"Post "7"",48,37,45,,,,,shot,,')
    )
    exc = refused(path, on_error="skip")
    assert wheres(exc) == [f"{path}:3"]
    assert 'must be doubled ("")' in exc.diagnostics()


def test_field_beyond_the_csv_limit_refuses_the_file(tmp_path: Path) -> None:
    # Past csv.field_size_limit() the reader restarts mid-field: rows read after that
    # could be text smuggled inside the quoted field, so nothing is loaded.
    smuggled = "\n".join(GOOD)
    long_text = "A" * (csv.field_size_limit() + 1)
    huge = f'S9,2026-11-26T14:05:00Z,un,"{long_text}\n{smuggled}",1,2,3,,,,,shot,,'
    path = put(tmp_path, lines(huge))
    exc = refused(path, on_error="skip")
    assert wheres(exc) == [f"{path}:2"]
    assert "field is too long" in exc.diagnostics()


def test_long_field_within_the_csv_limit_is_a_row_error(tmp_path: Path) -> None:
    row = f'A1,2026-11-26T14:05:00Z,north,south,48,37,1000,"{"x" * 5000}",'
    path = put(tmp_path, lines(row, header="id,time,by,against,lat,lon,radius_m,text,source"))
    exc = refused(path, SPECS["allegations"])
    assert wheres(exc) == [f"{path}:2 text"]
    assert "at most 4000 characters" in exc.diagnostics()


# Header ---------------------------------------------------------------------------------


def test_duplicate_column_refused(tmp_path: Path) -> None:
    path = put(tmp_path, lines(GOOD[0] + ",46", header=HEADER + ",bearing_deg"))
    exc = refused(path)
    assert wheres(exc) == [f"{path}:1 bearing_deg"]
    assert "column 'bearing_deg' appears more than once" in exc.diagnostics()
    assert "the header is wrong; nothing was loaded" in exc.message


def test_unknown_column_refused_listing_the_contract(tmp_path: Path) -> None:
    path = put(tmp_path, lines(GOOD[0] + ",x", header=HEADER + ",weather"))
    exc = refused(path, on_error="skip")
    assert wheres(exc) == [f"{path}:1 weather"]
    text = exc.diagnostics()
    assert "unknown column 'weather'" in text
    assert "prefix your own columns with x_" in text
    assert "id,time,org,observer,lat,lon,bearing_deg" in text


def test_unnamed_column_refused(tmp_path: Path) -> None:
    exc = refused(put(tmp_path, lines(GOOD[0] + ",", header=HEADER + ",")))
    assert "column 15 has no name" in exc.diagnostics()


def test_x_columns_kept_in_extra(tmp_path: Path) -> None:
    path = put(
        tmp_path,
        lines(GOOD[0] + ", fog ,", GOOD[1] + ",,7", header=HEADER + ",x_weather,x_Post ID"),
    )
    s1, s2 = read(path)
    assert s1.extra == {"x_weather": "fog"}
    assert s2.extra == {"x_Post ID": "7"}


def test_missing_required_columns_refused_each_named(tmp_path: Path) -> None:
    header = HEADER.replace("lat,lon,", "").replace(",kind", "")
    path = put(tmp_path, lines(header=header))
    exc = refused(path)
    assert wheres(exc) == [f"{path}:1 {c}" for c in ("lat", "lon", "kind")]
    assert "missing required column 'lat'" in exc.diagnostics()


def test_header_names_are_case_sensitive(tmp_path: Path) -> None:
    exc = refused(put(tmp_path, lines(header=HEADER.replace("lat", "LAT"))))
    assert "unknown column 'LAT'" in exc.diagnostics()
    assert "missing required column 'lat'" in exc.diagnostics()


# Bad rows -------------------------------------------------------------------------------

BAD = [
    # row, column blamed, what the message says
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,45,,,,,shot,-2,", "count", "greater than or equal to 1"),
    (
        "S9,2026-11-26T14:05:00Z,un,P,91,37,45,,,,,shot,,",
        "lat",
        "less than or equal to 90 (got '91')",
    ),
    ("S9,2026-11-26T14:05:00,un,P,48,37,45,,,,,shot,,", "time", "no UTC offset"),
    ("S9,26.11.2026 14:05,un,P,48,37,45,,,,,shot,,", "time", "write e.g. 2026-11-26T14:05:00Z"),
    ("S9,2026-11-26T14:05:00Z,nato,P,48,37,45,,,,,shot,,", "org", "unknown org 'nato'"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,360,,,,,shot,,", "bearing_deg", "less than 360"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,NEE,,,,,shot,,", "bearing_deg", "16 compass points"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,45,,,500,100,shot,,", "range_max_m", "swap them"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,45,,north,,,shot,,", "bearing_ref", "'magnetic'"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,45,,,,,shot,1.5,", "count", "valid integer"),
    ("S9,2026-11-26T14:05:00Z,un,P,48,37,45,,,,,shot,,loud", "sense", "'seen', 'heard'"),
    ("S9,2026-11-26T14:05:00Z,un,P,nan,37,45,,,,,shot,,", "lat", "finite number"),
    ("S 9,2026-11-26T14:05:00Z,un,P,48,37,45,,,,,shot,,", "id", "should match pattern"),
    ("S9,2026-11-26T14:05:00Z,un,,48,37,45,,,,,shot,,", "observer", "is empty; this column needs"),
]


@pytest.mark.parametrize(("row", "column", "fragment"), BAD, ids=[b[1] for b in BAD])
def test_bad_value_names_file_line_column_and_reason(
    tmp_path: Path, row: str, column: str, fragment: str
) -> None:
    path = put(tmp_path, lines(GOOD[0], row))
    exc = refused(path)
    assert wheres(exc) == [f"{path}:3 {column}"]
    (problem,) = exc.problems
    assert fragment in problem.what
    assert str(problem).startswith(f"{path}:3 {column}: ")


@pytest.mark.parametrize(
    ("row", "count"),
    [(GOOD[0] + ",extra", 15), (GOOD[0].rsplit(",", 3)[0], 11), ("S9", 1)],
)
def test_row_with_too_many_or_too_few_fields(tmp_path: Path, row: str, count: int) -> None:
    path = put(tmp_path, lines(GOOD[1], row))
    exc = refused(path)
    assert wheres(exc) == [f"{path}:3"]
    assert f"{count} fields, but the header has 14" in exc.problems[0].what


def test_duplicate_id_refused_naming_the_first_line(tmp_path: Path) -> None:
    path = put(tmp_path, lines(GOOD[0], GOOD[1], GOOD[0].replace("T14:05", "T15:05")))
    exc = refused(path)
    assert wheres(exc) == [f"{path}:4 id"]
    assert "id 'S1' is already used on line 2" in exc.problems[0].what


def test_formula_looking_text_is_kept_verbatim(tmp_path: Path) -> None:
    formulas = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1:A9)", '=HYPERLINK("http://x")']
    rows = [
        f'S{i},2026-11-26T14:05:00Z,un,"{f.replace(chr(34), chr(34) * 2)}",48,37,45,,,,,shot,,'
        for i, f in enumerate(formulas)
    ]
    path = put(tmp_path, lines(*rows))
    assert [r.observer for r in read(path)] == formulas  # type: ignore[attr-defined]
    out = tmp_path / "out.csv"
    write_records(out, SIGHTINGS, read(path))
    assert [r.observer for r in read(out)] == formulas  # type: ignore[attr-defined]


def test_raise_lists_every_bad_row_and_loads_nothing(tmp_path: Path) -> None:
    rows = [GOOD[0], BAD[0][0], GOOD[1], BAD[1][0].replace("S9", "S8"), "S7", GOOD[2], BAD[2][0]]
    path = put(tmp_path, lines(*rows))
    with pytest.raises(InvalidInput) as info:
        read_records(path, SIGHTINGS, ORGS, on_error="raise")
    exc = info.value
    assert wheres(exc) == [f"{path}:3 count", f"{path}:5 lat", f"{path}:6", f"{path}:8 time"]
    assert exc.message == f"{path}: 4 problem(s); nothing was loaded from this file"
    assert exc.diagnostics().splitlines()[1:] == [f"  {p}" for p in exc.problems]


def test_skip_returns_the_good_rows_and_lists_each_skipped_one(tmp_path: Path) -> None:
    rows = [GOOD[0], BAD[0][0], GOOD[1], BAD[1][0].replace("S9", "S8"), "S7", GOOD[2], GOOD[0]]
    path = put(tmp_path, lines(*rows))
    result = read_records(path, SIGHTINGS, ORGS, on_error="skip")
    assert [r.id for r in result.records] == ["S1", "S2", "S3"]  # type: ignore[attr-defined]
    assert wheres(result.skipped) == [
        f"{path}:3 count",
        f"{path}:5 lat",
        f"{path}:6",
        f"{path}:8 id",
    ]
    assert result.rows_read == 7
    assert result.records == read(put(tmp_path, lines(*GOOD), "good.csv"))


def test_one_row_with_several_problems_lists_each(tmp_path: Path) -> None:
    path = put(tmp_path, lines("S9,2026-11-26T14:05:00,zz,P,91,181,45,,,,,boom,0,"))
    assert sorted(wheres(refused(path))) == sorted(
        f"{path}:2 {c}" for c in ("time", "org", "lat", "lon", "kind", "count")
    )


def test_without_orgs_any_well_formed_org_is_read(tmp_path: Path) -> None:
    path = put(tmp_path, lines(GOOD[0].replace(",un,", ",nato,")))
    (s,) = read_records(path, SIGHTINGS).records
    assert s.org == "nato"  # type: ignore[attr-defined]


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        read_records(tmp_path / "nope.csv", SIGHTINGS)


HEADERS = {
    "detections": "id,time,org,source,lat,lon,error_m,class,count,sortie,image",
    "craters": "id,time,org,lat,lon,direction_deg,direction_sigma_deg,caliber_mm,weapon",
    "allegations": "id,time,by,against,lat,lon,radius_m,text,source",
}


@pytest.mark.parametrize(
    ("spec", "row", "where", "fragment"),
    [
        ("detections", "D1,2026-11-26T14:05:00Z,un,uav,48,37,10,ufo,,,", "class", "'tank'"),
        ("detections", "D1,2026-11-26T14:05:00Z,un,uav,48,37,0,tank,,,", "error_m", "than 0"),
        ("craters", "C1,2026-11-26T14:05:00Z,un,48,37,400,,122,", "direction_deg", "than 360"),
        ("craters", "C1,2026-11-26T14:05:00Z,un,48,37,40,,-1,", "caliber_mm", "than 0"),
        (
            "allegations",
            "A1,2026-11-26T14:05:00Z,north,north,48,37,1000,shelling,",
            "against",
            "against itself",
        ),
        (
            "allegations",
            "A1,2026-11-26T14:05:00Z,un,south,48,37,1000,shelling,",
            "by",
            "expected side or both",
        ),
    ],
)
def test_other_contract_files_blame_the_column(
    tmp_path: Path, spec: str, row: str, where: str, fragment: str
) -> None:
    path = put(tmp_path, lines(row, header=HEADERS[spec]), f"{spec}.csv")
    exc = refused(path, SPECS[spec])
    assert wheres(exc) == [f"{path}:2 {where}"]
    assert fragment in exc.problems[0].what


def test_other_contract_files_read(tmp_path: Path) -> None:
    det = put(
        tmp_path,
        lines(
            "D1,2026-11-26T14:05:00Z,un,uav,48,37,10,mlrs,2,S-1,a.jpg",
            header="id,time,org,source,lat,lon,error_m,class,count,sortie,image",
        ),
    )
    (d,) = read(det, SPECS["detections"])
    assert isinstance(d, Detection)
    assert (d.class_.value, d.count, d.sortie, d.image) == ("mlrs", 2, "S-1", "a.jpg")
    cra = put(
        tmp_path,
        lines("48,37,90,C1,2026-11-26T14:05:00Z,un", header="lat,lon,direction_deg,id,time,org"),
    )
    (c,) = read(cra, SPECS["craters"])
    assert isinstance(c, Crater)
    assert c.direction_deg == 90
    alg = put(
        tmp_path,
        lines(
            'A1,2026-11-26T14:05:00Z,north,south,48,37,1000,"a, b",TV',
            header="id,time,by,against,lat,lon,radius_m,text,source",
        ),
    )
    (a,) = read(alg, SPECS["allegations"])
    assert isinstance(a, Allegation)
    assert (a.text, a.source) == ("a, b", "TV")


# Writing ----------------------------------------------------------------------------------


def test_write_uses_the_contract_columns_then_x_columns(tmp_path: Path) -> None:
    recs = read(put(tmp_path, lines(GOOD[0] + ",b,a", header=HEADER + ",x_b,x_a")))
    out = tmp_path / "out.csv"
    assert write_records(out, SIGHTINGS, recs) == 1
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [*HEADER.split(","), "x_a", "x_b"]  # the contract's order


@pytest.mark.parametrize("name", list(SPECS))
def test_spec_columns_are_the_contract_columns(name: str) -> None:
    spec = SPECS[name]
    contract = HEADER if name == "sightings" else HEADERS[name]
    assert ",".join(spec.columns) == contract
    assert set(spec.required) | set(spec.optional) == set(spec.columns)
    assert not set(spec.required) & set(spec.optional)


def test_spec_order_must_list_every_column() -> None:
    with pytest.raises(ValueError, match="order must list"):
        CsvSpec("x", Sighting, ("id",), ("count",), order=("id",))


def test_write_keeps_the_compass_point(tmp_path: Path) -> None:
    recs = read(put(tmp_path, lines(GOOD[1])))
    out = tmp_path / "out.csv"
    write_records(out, SIGHTINGS, recs)
    assert ",NNE," in out.read_text(encoding="utf-8")
    assert read(out) == recs


def test_write_quotes_a_bare_carriage_return(tmp_path: Path) -> None:
    # Regression: with an LF terminator the csv writer left a CR unquoted (it quotes only
    # the terminator's characters), and every reader takes a CR as a line break: the row
    # was split in two and the file no longer read back.
    (rec,) = read(put(tmp_path, lines(GOOD[0])))
    rec = rec.model_copy(update={"observer": "Post 7\rnorth tower"})
    out = tmp_path / "out.csv"
    write_records(out, SIGHTINGS, [rec])
    assert read(out) == [rec]
    assert out.read_bytes().count(b"\n") == 2  # the LF files stay LF


def test_write_refuses_records_of_another_kind(tmp_path: Path) -> None:
    (rec,) = read(put(tmp_path, lines(GOOD[0])))
    with pytest.raises(TypeError, match="detections holds Detection records"):
        write_records(tmp_path / "out.csv", SPECS["detections"], [rec])


@pytest.mark.parametrize("name", list(SPECS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_write_then_read_round_trips(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    records = data.draw(st.lists(STRATEGIES[spec.record], max_size=6, unique_by=lambda r: r.id))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        assert write_records(path, spec, records) == len(records)
        result = read_records(path, spec, ORGS)
        assert result.records == records
        assert [r.content_hash() for r in result.records] == [r.content_hash() for r in records]
        assert result.skipped == []
        # and again, shuffled rows: order of rows is the file's, nothing else changes
        shuffled = random.Random(len(records)).sample(records, len(records))
        write_records(path, spec, shuffled)
        assert read_records(path, spec, ORGS).records == shuffled
