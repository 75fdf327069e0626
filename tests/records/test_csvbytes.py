"""The byte-level reading of plain sightings files: the same table and problems as ever.

`read_sighting_table` reads a plain file (ASCII, no quote, every row fitting) from its
bytes (`_csvbytes`), any other through `str.split` or the csv module (`_csvtext`). Each
way must give the table and the problems `read_records` gives: checked here on generated
files, on the edge cases of each fast reading (decimals, times, words, ids) and on
malformed and hostile files.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput
from ceasewatch.records import SPECS, Sighting, _csvtext, read_records
from ceasewatch.records._csvbytes import codes, decimals
from ceasewatch.records._csvtime import from_chars
from ceasewatch.records.csvio import read_sighting_table
from ceasewatch.records.table import SightingTable
from ceasewatch.records.types import parse_time, posix_us

from .strategies import ORGS
from .test_csvfast import COLUMNS, GOOD, VALUES

HEADER = ",".join(COLUMNS)


def _rows_of(table: SightingTable) -> list[tuple[object, ...]]:
    cols = [getattr(table, f.name) for f in fields(SightingTable)]
    return sorted(zip(*cols, strict=True), key=lambda r: str(r[0]))


def _columns(table: SightingTable) -> list[list[object]]:
    return [getattr(table, f.name) for f in fields(SightingTable)]


def _same_floats(a: list[object], b: list[object]) -> bool:
    """Equal, and the same sign of each zero (-0.0 == 0.0 would hide a wrong sign)."""
    signs = [math.copysign(1, x) if isinstance(x, float) else x for x in a]
    return a == b and signs == [math.copysign(1, x) if isinstance(x, float) else x for x in b]


def _compare(path: Path, monkeypatch: pytest.MonkeyPatch) -> SightingTable:
    """Read `path` as a table (each way) and as records: the same outcome, or the same
    refusal. Returns the table."""
    try:
        want = read_records(path, SPECS["sightings"], ORGS, on_error="skip")
    except InvalidInput as exc:
        with pytest.raises(InvalidInput) as got:
            read_sighting_table(path, ORGS, on_error="skip")
        assert (got.value.message, got.value.problems) == (exc.message, exc.problems)
        return SightingTable.of([])
    table, result = read_sighting_table(path, ORGS, on_error="skip")
    assert result.skipped == want.skipped
    assert result.rows_read == want.rows_read
    records = [r for r in want.records if isinstance(r, Sighting)]
    assert _rows_of(table) == _rows_of(SightingTable.of(records))
    # Read without the byte-level path (str.split or csv): the very same table.
    with monkeypatch.context() as m:
        m.setattr(_csvtext, "_plain_grid", lambda _text: None)
        slow, again = read_sighting_table(path, ORGS, on_error="skip")
    assert again.skipped == result.skipped
    for column, ref in zip(_columns(table), _columns(slow), strict=True):
        assert _same_floats(column, ref)
    # Refused whole with on_error="raise" exactly when read_records refuses it.
    if want.skipped:
        with pytest.raises(InvalidInput) as refused:
            read_sighting_table(path, ORGS)
        assert refused.value.problems == want.skipped
    return table


def _plain(value: str) -> bool:
    return value.isascii() and "," not in value and value == value.strip()


# Values of each column that keep a file plain (so it is read from its bytes).
PLAIN = {c: tuple(v for v in VALUES[c] + GOOD[c] if _plain(v)) for c in COLUMNS}
plain_rows = st.lists(
    st.tuples(*(st.sampled_from(GOOD[c] * 10 + PLAIN[c]) for c in COLUMNS)).map(list),
    min_size=1,
    max_size=40,
)
any_rows = st.lists(
    st.tuples(*(st.sampled_from(GOOD[c] * 10 + VALUES[c]) for c in COLUMNS)).map(list),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=plain_rows, ids=st.booleans(), end=st.sampled_from(["\n", "\r\n", ""]))  # fmt: skip
def test_plain_files_read_from_bytes_as_records_read(
    rows: list[list[str]], ids: bool, end: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if ids:  # mostly distinct ids, as real files have
        for k, row in enumerate(rows):
            row[0] = row[0] and f"{row[0]}-{k}"
    text = HEADER + "\n" + "\n".join(",".join(row) for row in rows) + end[-1:]
    path = tmp_path_factory.mktemp("plain") / "sightings.csv"
    path.write_bytes(text.replace("\n", end or "\n").encode())
    grid = _csvtext.split_columns(path, _csvtext.decode(path))
    blank_row = any(not "".join(row) for row in rows)
    assert grid is not None and (grid.cells is not None or blank_row)
    with pytest.MonkeyPatch.context() as mp:
        _compare(path, mp)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=any_rows)
def test_unquoted_files_of_any_values_read_as_records_read(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Commas, quotes and blanks in values: rows of other widths, csv quoting, stripping.
    text = HEADER + "\n" + "\n".join(",".join(row) for row in rows) + "\n"
    path = tmp_path_factory.mktemp("any") / "sightings.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        _compare(path, mp)


ROW = "S1,2026-11-26T14:05:00Z,un,Post 7,48.1,37.7,45,2,true,,,explosion,1,seen,n"
TAB, US = "\t", "\x1f"
ROW2 = "S2,2026-11-26T14:06:00Z,osce,P9,48.2,37.8,NNE,,magnetic,500,3000,shot,3,heard,"


@pytest.mark.parametrize(
    "text",
    [
        f"{HEADER}\n{ROW}\n{ROW2}\n",
        f"\ufeff{HEADER}\n{ROW}\n{ROW2}\n",  # BOM
        f"{HEADER}\r\n{ROW}\r\n{ROW2}\r\n",  # CRLF
        f"{HEADER}\r{ROW}\r{ROW2}\r",  # CR
        f"{HEADER}\n{ROW}\n{ROW2}",  # no final line break
        f"{HEADER}\n",  # header only
        f"{HEADER}",
        f"\n\n{HEADER}\n{ROW}\n",  # blank lines before the header
        f"{HEADER}\n\n{ROW}\n\n\n{ROW2}\n\n",  # blank lines between
        f"{HEADER}\n{ROW}\n,,,,,,,,,,,,,,\n   \n{ROW2}\n",  # all-empty and blank rows
        f"{HEADER}\n{ROW},\n{ROW2}\n",  # a trailing comma: one field too many
        f"{HEADER}\n{ROW[:-2]}\n{ROW2}\n",  # one field too few
        f"{HEADER}\n{ROW} \n{ROW2}\n",  # a blank at a cell's end
        f"{HEADER}\n {ROW}\n{ROW2}\n",
        f"{HEADER}\n{ROW.replace('un,', 'un' + TAB + ',')}\n{ROW2.replace(',P9', ',' + US)}\n",
        f"{HEADER}\n{ROW.replace('Post 7', 'Post' + TAB + '7')}\n{ROW2}\n",  # a blank inside
        f"{HEADER} \n{ROW}\n{ROW2}\n",  # a blank in the header
        f"{HEADER}\n{ROW}\r\n{ROW2}\n",  # one CRLF among LFs
        f"{HEADER}\n{ROW}\n{ROW2.replace('P9', 'Posté 9')}\n",  # not ASCII
        f"{HEADER}\n{ROW}\n{ROW2.replace('P9', chr(34) + 'P,9' + chr(34))}\n",  # quoted
        f"{HEADER}\n{ROW}\n{ROW2.replace('P9', chr(34) + 'P9')}\n",  # unclosed quote
        f"{HEADER}\n{ROW}\n{ROW}\n{ROW2}\n{ROW2}\n",  # ids used twice
        f"{HEADER}\n{ROW.replace('48.1', '1e1')}\n{ROW2.replace('37.8', '-0')}\n",
        f"{HEADER}\n{ROW.replace('48.1', '1_0')}\n{ROW2.replace('37.8', 'inf')}\n",
        f"{HEADER}\n{ROW.replace('48.1', '-0.0')}\n{ROW2.replace('48.2', '+48.2')}\n",
        f"{HEADER}\n{ROW.replace('48.1', '.5')}\n{ROW2.replace('48.2', '48.')}\n",
        f"{HEADER}\n{ROW.replace('48.1', '48.1000000000000000001')}\n{ROW2}\n",
        f"{HEADER}\n{ROW.replace('45,2', '360,0')}\n{ROW2.replace('NNE', 'nne')}\n",
        f"{HEADER}\n{ROW.replace('45,2', 'E,180.0000001')}\n{ROW2.replace('NNE', 'NNNE')}\n",
        f"{HEADER}\n{ROW.replace(',,,', ',3000,500,')}\n{ROW2}\n",  # min above max
        f"{HEADER}\n{ROW.replace('S1', 'S' * 129)}\n{ROW2.replace('S2', 'S 2')}\n",
        f"{HEADER}\n{ROW.replace('Post 7', 'P' * 129)}\n{ROW2.replace('P9', 'P' * 128)}\n",
        f"{HEADER}\n{ROW.replace('explosion', 'Explosion')}\n{ROW2.replace('shot', '')}\n",
        f"{HEADER}\n{ROW.replace('14:05:00Z', '14:05:00.5Z')}\n{ROW2.replace('Z', '+03:00')}\n",
        f"{HEADER}\n{ROW.replace('2026-11-26', '2026-02-29')}\n{ROW2.replace('T14', 'T24')}\n",
        f"{HEADER}\n{ROW.replace('2026-11-26', '2024-02-29')}\n{ROW2.replace('Z', 'z')}\n",
        f"{HEADER}\n{ROW.replace(',1,seen', ',03,seen')}\n{ROW2.replace(',3,', ',100001,')}\n",
        f"{HEADER}\n{ROW.replace('un', 'nobody')}\n{ROW2.replace('osce', 'OSCE')}\n",
        f"{HEADER}\n{ROW.replace('true', 'TRUE')}\n{ROW2.replace('heard', 'smelt')}\n",
        f"{HEADER}\n{ROW}\n{ROW2.replace('500', 'x' * 200_000)}\n",  # past the csv limit
        "id,time\nS1,2026-11-26T14:05:00Z\n",  # a header without the required columns
        "id,time,org,observer,lat,lon,bearing_deg,kind\nS1,2026-11-26T14:05:00Z,un,P,1,2,3,shot\n",
    ],
)
def test_edge_and_hostile_files_read_as_records_read(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sightings.csv"
    path.write_bytes(text.encode("utf-8"))
    _compare(path, monkeypatch)


def test_a_plain_file_is_read_from_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sightings.csv"
    path.write_text(f"{HEADER}\n{ROW}\n{ROW2}\n", encoding="utf-8")
    grid = _csvtext.split_columns(path, _csvtext.decode(path))
    assert grid is not None and grid.cells is not None
    table = _compare(path, monkeypatch)
    assert table.id == ["S1", "S2"]
    assert table.bearing_deg == [45.0, 22.5]
    assert table.range_max_m == [None, 3000.0]


def _text_of(chars: np.ndarray) -> list[str]:
    return [bytes(row).rstrip(b"\0").decode() for row in chars]


def _chars(texts: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((len(texts), width), dtype=np.uint8)
    for i, t in enumerate(texts):
        raw = t.encode()[:width]
        out[i, : len(raw)] = list(raw)
    return out, np.array([len(t) for t in texts], dtype=np.int64)


decimal_text = st.one_of(
    st.from_regex(r"-?[0-9]{1,16}(\.[0-9]{1,16})?", fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["-0", "-0.0", "00.5", "1.", ".5", "+1", "1e3", "-", ".", "1.2.3", ""]),
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(decimal_text, min_size=1, max_size=30))
def test_decimals_read_as_float_reads_them(texts: list[str]) -> None:
    chars, lengths = _chars(texts, 17)
    values, form = decimals(chars, lengths)
    for text, value, ok in zip(texts, values.tolist(), form.tolist(), strict=True):
        if ok:
            assert value == float(text) and math.copysign(1, value) == math.copysign(1, float(text))
            digits = sum(c.isdigit() for c in text)
            assert digits <= 15 and "e" not in text.lower() and "+" not in text
        else:
            plain = re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text)
            assert not plain or sum(c.isdigit() for c in text) > 15 or len(text) > 17, text


time_text = st.one_of(
    st.datetimes().map(lambda t: t.replace(microsecond=0).isoformat() + "Z"),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True),
    st.sampled_from(
        ["0000-01-01T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
         "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2026-11-26T23:59:60Z",
         "2026-11-26T14:05:00z", "2026-11-26 14:05:00Z", "9999-12-31T23:59:59Z"]
    ),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(time_text, min_size=1, max_size=30))
def test_times_read_as_parse_time_reads_them(texts: list[str]) -> None:
    chars, _ = _chars(texts, 20)
    us, good = from_chars(chars)
    for text, u, ok in zip(texts, us.tolist(), good.tolist(), strict=True):
        try:
            want = posix_us(parse_time(text))
        except ValueError:
            assert not ok, text
        else:
            if len(text) == 20 and text.endswith("Z") and text[10] == "T":
                assert ok, text
            if ok:
                assert u == want, text


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(alphabet="abAB-_ 09", max_size=20), min_size=1, max_size=200))
def test_codes_are_equal_exactly_for_equal_bytes(texts: list[str]) -> None:
    width = max(1, *map(len, texts))
    chars, _ = _chars(texts, width)
    code, first = codes(chars)
    assert _text_of(chars[first]) == [texts[i] for i in first]
    for i, text in enumerate(texts):
        assert texts[first[code[i]]] == text
    assert len(first) == len(set(texts))


def test_codes_of_many_distinct_values() -> None:
    texts = [f"observer {i % 300}" for i in range(2000)]
    chars, _ = _chars(texts, 16)
    code, first = codes(chars)
    assert len(first) == 300
    assert [texts[first[c]] for c in code.tolist()] == texts


def test_codes_past_the_first_rows_and_past_the_small_table() -> None:
    # Values the first rows do not hold, and more than the hash table takes.
    texts = [f"{i % 20000:05d}" for i in range(5000)] + [f"v{i}" for i in range(30000)]
    chars, _ = _chars(texts, 6)
    code, first = codes(chars)
    assert len(first) == len(set(texts))
    assert [texts[first[c]] for c in code.tolist()] == texts
