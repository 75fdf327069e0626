"""The CSV contract files: sightings.csv, detections.csv, craters.csv, allegations.csv.

Reading is strict about structure and precise about blame: every problem names the file,
the line and the column, says what is wrong and what would be right. A file with a
structural problem (encoding, header) is refused whole; a bad row either refuses the
whole file (`on_error="raise"`, nothing is loaded) or is skipped and listed
(`on_error="skip"`), never half-stored. Column order is free; a column that is not in the
contract is an error unless its name starts with `x_` (kept in the record's `extra`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.records._csvfast import (
    check_cells,
    check_sightings,
    fast_path_fits,
    prevalidate,
)
from ceasewatch.records._csvtext import blank, decode, parse_rows, read_grid
from ceasewatch.records.base import ORGS_CONTEXT, Record
from ceasewatch.records.kinds import Allegation, Crater, Detection, Sighting
from ceasewatch.records.table import SightingTable
from ceasewatch.records.types import format_time

__all__ = [
    "SPECS",
    "CsvSpec",
    "LoadResult",
    "read_records",
    "read_sighting_table",
    "write_records",
]


@dataclass(frozen=True, slots=True)
class CsvSpec:
    """One contract file: its record type and its columns in their canonical order."""

    name: str
    record: type[Record]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    #: The columns in the order the contract lists them; empty: required, then optional.
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.order and sorted(self.order) != sorted(self.required + self.optional):
            raise ValueError(f"{self.name}: order must list the required and optional columns")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column, in the contract's order (the order `write_records` writes)."""
        return self.order or self.required + self.optional


# The order the contract (and so a hand-written file) lists them: kind after the geometry.
_SIGHTING_COLUMNS = (
    "id", "time", "org", "observer", "lat", "lon", "bearing_deg", "bearing_sigma_deg",
    "bearing_ref", "range_min_m", "range_max_m", "kind", "count", "sense",
)  # fmt: skip

SPECS: Mapping[str, CsvSpec] = {
    "sightings": CsvSpec(
        "sightings",
        Sighting,
        ("id", "time", "org", "observer", "lat", "lon", "bearing_deg", "kind"),
        ("bearing_sigma_deg", "bearing_ref", "range_min_m", "range_max_m", "count", "sense"),
        order=_SIGHTING_COLUMNS,
    ),
    "detections": CsvSpec(
        "detections",
        Detection,
        ("id", "time", "org", "source", "lat", "lon", "error_m", "class"),
        ("count", "sortie", "image"),
    ),
    "craters": CsvSpec(
        "craters",
        Crater,
        ("id", "time", "org", "lat", "lon", "direction_deg"),
        ("direction_sigma_deg", "caliber_mm", "weapon"),
    ),
    "allegations": CsvSpec(
        "allegations",
        Allegation,
        ("id", "time", "by", "against", "lat", "lon", "radius_m"),
        ("text", "source"),
    ),
}


@dataclass
class LoadResult:
    """Records read from one file, and every row that was skipped (with why)."""

    path: Path
    records: list[Record] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    rows_read: int = 0


def _row_data(header: list[str], row: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for name, cell in zip(header, row, strict=True):
        value = cell.strip()
        if name.startswith("x_"):
            if value:
                extra[name] = value
        elif value:
            data[name] = value
    if extra:
        data["extra"] = extra
    # A compass point in bearing_deg is turned into bearing_compass by Sighting itself.
    return data


def _field_of(loc: tuple[int | str, ...]) -> str:
    if len(loc) > 1 and loc[0] == "extra":
        return str(loc[1])
    name = str(loc[0]) if loc else "row"
    return {"bearing_compass": "bearing_deg", "class_": "class"}.get(name, name)


def _problems(where: str, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        if err["type"] == "missing":
            msg = "is empty; this column needs a value on every row"
        elif err["type"] != "value_error" and isinstance(given, str | int | float):
            msg = f"{msg} (got {str(given)[:40]!r})"
        col = _field_of(err["loc"])
        out.append(Problem(f"{where} {col}" if err["loc"] else where, msg))
    return out


def read_records(
    path: Path,
    spec: CsvSpec,
    orgs: Mapping[str, str] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> LoadResult:
    """Read one contract CSV file into records.

    Args:
        path: the file (UTF-8, with or without a BOM; LF, CRLF or CR line ends).
        spec: which contract file it is (`SPECS["sightings"]`, ...).
        orgs: {org id: role} of the theater; org columns are checked against it.
        on_error: "raise" refuses the whole file at any bad row (listing all of them);
            "skip" leaves bad rows out and lists them in `LoadResult.skipped`.

    Raises:
        InvalidInput: the file cannot be read as this contract file at all (encoding,
            CSV syntax, header), or a row is bad and on_error is "raise". Nothing is
            returned in that case; `InvalidInput.problems` lists every problem found.
    """
    return _read(Path(path), spec, orgs, on_error)


def _empty(path: Path, spec: CsvSpec) -> InvalidInput:
    return InvalidInput(
        f"{path}: empty file; nothing was loaded",
        [Problem(f"{path}:1", f"no header row; expected e.g.: {','.join(spec.columns)}")],
    )


def _width_problem(path: Path, line: int, cells: int, width: int) -> Problem:
    return Problem(
        f"{path}:{line}",
        f"{cells} fields, but the header has {width}; "
        "a value that contains a comma must be in double quotes",
    )


def _refuse(path: Path, result: LoadResult, on_error: Literal["raise", "skip"]) -> None:
    if result.skipped and on_error == "raise":
        raise InvalidInput(
            f"{path}: {len(result.skipped)} problem(s); nothing was loaded from this file",
            result.skipped,
        )


def _read(
    path: Path,
    spec: CsvSpec,
    orgs: Mapping[str, str] | None,
    on_error: Literal["raise", "skip"],
) -> LoadResult:
    rows = parse_rows(path, decode(path))
    start = next((i for i, (_, row) in enumerate(rows) if not blank(row)), None)
    if start is None:
        raise _empty(path, spec)
    header_line, header = rows[start]
    header = [h.strip() for h in header]
    _check_header(f"{path}:{header_line}", spec, header)
    context = {ORGS_CONTEXT: orgs} if orgs is not None else None
    result = LoadResult(path=path)
    seen: dict[str, int] = {}
    # (A row whose first cell holds text is not blank: the usual case, tested first.)
    body = [
        (line, row)
        for line, row in rows[start + 1 :]
        if (row and row[0] and not row[0].isspace()) or not blank(row)
    ]
    # Rows the column-wise checks accept come back as records; the rest (None) are
    # validated here one by one, which names every problem.
    fits = [row for _, row in body if len(row) == len(header)]
    ready: Iterator[Record | None] = iter(prevalidate(spec.record, header, fits, orgs))
    width = len(header)
    for line, row in body:
        if len(row) != width:
            result.skipped.append(_width_problem(path, line, len(row), width))
            continue
        record = next(ready)
        if record is None:
            try:
                record = spec.record.model_validate(_row_data(header, row), context=context)
            except ValidationError as exc:
                result.skipped.extend(_problems(f"{path}:{line}", exc))
                continue
        rid = str(getattr(record, "id", ""))
        first = seen.setdefault(rid, line)
        if first != line:
            result.skipped.append(
                Problem(f"{path}:{line} id", f"id {rid!r} is already used on line {first}")
            )
            continue
        result.records.append(record)
    result.rows_read = len(body)
    _refuse(path, result, on_error)
    return result


def read_sighting_table(
    path: Path,
    orgs: Mapping[str, str] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> tuple[SightingTable, LoadResult]:
    """Read a sightings.csv file as a `SightingTable` (rows in no particular order).

    The same rows as `read_records(path, SPECS["sightings"], ...)` accepts, with the
    same problems and errors; the `LoadResult` lists them (its `records` stay empty).
    The file is read as columns (`_csvtext.split_columns`); rows the column checks of
    `_csvfast` accept never become `Sighting` records, the others are validated one by
    one as `read_records` validates them.
    """
    path = Path(path)
    spec = SPECS["sightings"]
    grid = read_grid(path)
    if grid is None:
        raise _empty(path, spec)
    header = [h.strip() for h in grid.header]
    _check_header(f"{path}:{grid.header_line}", spec, header)
    result = LoadResult(path=path, rows_read=grid.rows_read)
    n = len(grid.lines)
    if n and fast_path_fits():
        if grid.cells is not None:
            checked = check_cells(header, grid.cells, orgs)
        else:
            checked = check_sightings(header, grid.columns, orgs, plain=grid.plain)
        fast, ok, unique = checked.table(), checked.ok, checked.unique_ids
    else:
        fast, ok, unique = SightingTable.of([]), np.zeros(n, dtype=bool), False
    # Each row's problems, by line: a row's width, its values, its id (a later copy of an
    # id some accepted row has already).
    problems: list[tuple[int, list[Problem]]] = [
        (line, [_width_problem(path, line, cells, len(header))]) for line, cells in grid.misfits
    ]
    slow: list[tuple[int, Sighting]] = []
    if ok is not None:
        context = {ORGS_CONTEXT: orgs} if orgs is not None else None
        for k in np.flatnonzero(~ok).tolist():
            line = grid.lines[k]
            row = grid.row(k)
            try:
                record = Sighting.model_validate(_row_data(header, row), context=context)
            except ValidationError as exc:
                problems.append((line, _problems(f"{path}:{line}", exc)))
            else:
                slow.append((k, record))
    fast_rows = range(n) if ok is None else np.flatnonzero(ok).tolist()
    keep_fast, keep_slow = None, None
    ids = [] if unique else [*fast.id, *(s.id for _, s in slow)]
    if not unique and len(set(ids)) != len(ids):
        keep_fast, keep_slow = _first_of_each_id(path, grid.lines, fast_rows, fast.id, slow)
        problems += keep_fast[1] + keep_slow[1]
    problems.sort(key=lambda p: p[0])
    result.skipped = [p for _, row_problems in problems for p in row_problems]
    _refuse(path, result, on_error)
    if keep_fast is not None:
        fast = fast.take(keep_fast[0])
    if keep_slow is not None:
        slow = [slow[i] for i in keep_slow[0]]
    return SightingTable.join([fast, SightingTable.of(s for _, s in slow)]), result


def _first_of_each_id(
    path: Path,
    lines: Sequence[int],
    fast_rows: Sequence[int],
    fast_ids: Sequence[str],
    slow: Sequence[tuple[int, Sighting]],
) -> tuple[tuple[list[int], list[tuple[int, list[Problem]]]], ...]:
    """The accepted rows to keep (indexes into the fast and the slow ones) and a problem
    for each later row of an id already used, as `read_records` finds them: in line order."""
    accepted = [
        (lines[k], True, j, rid) for j, (k, rid) in enumerate(zip(fast_rows, fast_ids, strict=True))
    ]
    accepted += [(lines[k], False, j, s.id) for j, (k, s) in enumerate(slow)]
    accepted.sort()
    seen: dict[str, int] = {}
    keep: dict[bool, list[int]] = {True: [], False: []}
    dupes: dict[bool, list[tuple[int, list[Problem]]]] = {True: [], False: []}
    for line, is_fast, j, rid in accepted:
        first = seen.setdefault(rid, line)
        if first != line:
            where, what = f"{path}:{line} id", f"id {rid!r} is already used on line {first}"
            dupes[is_fast].append((line, [Problem(where, what)]))
        else:
            keep[is_fast].append(j)
    return (keep[True], dupes[True]), (keep[False], dupes[False])


def _check_header(where: str, spec: CsvSpec, header: list[str]) -> None:
    problems = []
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    for name in dupes:
        problems.append(Problem(f"{where} {name}", f"column {name!r} appears more than once"))
    for i, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(where, f"column {i} has no name; name it or delete it (a stray comma?)")
            )
        elif name not in spec.columns and not name.startswith("x_"):
            problems.append(
                Problem(
                    f"{where} {name}",
                    f"unknown column {name!r}; the {spec.name} columns are "
                    f"{','.join(spec.columns)} (prefix your own columns with x_)",
                )
            )
    for name in spec.required:
        if name not in header:
            problems.append(Problem(f"{where} {name}", f"missing required column {name!r}; add it"))
    if problems:
        raise InvalidInput(
            f"{where.rsplit(':', 1)[0]}: the header is wrong; nothing was loaded", problems
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return format_time(value)
    if isinstance(value, float):
        return repr(value)
    return str(value.value if hasattr(value, "value") else value)


def write_records(path: Path, spec: CsvSpec, records: Iterable[Record]) -> int:
    """Write records as a contract CSV file (canonical column order, x_ columns last).

    Returns:
        The number of rows written.
    """
    rows = list(records)
    for rec in rows:
        if not isinstance(rec, spec.record):
            raise TypeError(f"{spec.name} holds {spec.record.__name__} records, not {rec!r}")
    extras = sorted({k for r in rows for k in r.extra})
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        plain = csv.writer(fh, lineterminator="\n")
        # With an LF line terminator the csv writer does not quote a bare CR, which every
        # reader takes as a line break: a text holding one would split its row in two.
        # Such rows are written with every field quoted.
        quoted = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)

        def put(values: list[str]) -> None:
            (quoted if any("\r" in v for v in values) else plain).writerow(values)

        put([*spec.columns, *extras])
        for rec in rows:
            values = []
            for col in spec.columns:
                attr = {"class": "class_"}.get(col, col)
                value = getattr(rec, attr, None)
                if col == "bearing_deg" and getattr(rec, "bearing_compass", None):
                    value = rec.bearing_compass  # type: ignore[attr-defined]
                values.append(_cell(value))
            values.extend(rec.extra.get(k, "") for k in extras)
            put(values)
    return len(rows)
