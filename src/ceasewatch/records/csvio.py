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
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ceasewatch._fork import fork_map, spans
from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.records._csvfast import prevalidate, sighting_rows
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

#: Largest CSV file read in one go (bytes); a larger one is refused with advice.
MAX_FILE_BYTES = 1 << 30


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


def _line_at(data: bytes | str, offset: int) -> int:
    """The 1-based line of `offset`, counting CRLF, CR and LF breaks as the csv reader does."""
    head = data[:offset]
    if isinstance(head, bytes):
        return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


def _decode(path: Path) -> str:
    try:
        size = path.stat().st_size
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"{path}: cannot read ({exc.strerror})", [Problem(str(path), "cannot be read")]
        ) from exc
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path}: {size} bytes is larger than {MAX_FILE_BYTES}; split it",
            [Problem(str(path), f"{size} bytes; split it into files under {MAX_FILE_BYTES}")],
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        raise InvalidInput(
            f"{path}:{line}: not UTF-8 (byte {exc.start}); save the file as UTF-8 CSV",
            [
                Problem(
                    f"{path}:{line}",
                    f"byte 0x{data[exc.start]:02x} (offset {exc.start}) is not UTF-8; "
                    "save the file as UTF-8 CSV (Excel: 'CSV UTF-8')",
                )
            ],
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = _line_at(text, nul)
        raise InvalidInput(
            f"{path}:{line}: contains a NUL character; nothing was loaded",
            [
                Problem(
                    f"{path}:{line}",
                    "contains a NUL character: the file is not UTF-8 text (UTF-16? "
                    "a spreadsheet or binary file?); save it as UTF-8 CSV",
                )
            ],
        )
    return text


def _csv_error_text(exc: csv.Error) -> str:
    msg = str(exc)
    if "unexpected end of data" in msg:
        return "a quoted field that starts on this line is never closed (is the file truncated?)"
    if "field larger than field limit" in msg:
        return f"a field is too long ({msg}); is a closing quote missing?"
    return f'not valid CSV ({msg}); a quote inside a quoted field must be doubled ("")'


def _parse(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """Every row with the line it starts on; a CSV syntax error refuses the whole file.

    After a syntax error the csv reader restarts at the next physical line, which may be in
    the middle of a quoted field: rows read after that point cannot be trusted, so a file
    with one is never loaded in part, whatever `on_error` says.
    """
    try:
        every = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        every = None  # read again below, row by row, to find the line
    if every is not None:
        # When there are as many rows as lines, no row spans two: row k is on line k + 1.
        lines = text.count("\n") + text.count("\r") - text.count("\r\n")
        lines += 1 if text and not text.endswith(("\n", "\r")) else 0
        if len(every) == lines:
            return list(enumerate(every, start=1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise InvalidInput(
                f"{path}:{line}: not valid CSV; nothing was loaded",
                [Problem(f"{path}:{line}", _csv_error_text(exc))],
            ) from None
        rows.append((line, row))


def _blank(row: list[str]) -> bool:
    return not "".join(row).strip()


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
    return _read(Path(path), spec, orgs, on_error, as_table=False)[0]


def read_sighting_table(
    path: Path,
    orgs: Mapping[str, str] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    *,
    workers: int = 1,
) -> tuple[SightingTable, LoadResult]:
    """Read a sightings.csv file as a `SightingTable` (rows in no particular order).

    The same rows as `read_records(path, SPECS["sightings"], ...)` accepts, with the
    same problems and errors; the `LoadResult` lists them (its `records` stay empty).
    Rows the column-wise checks accept never become `Sighting` records; `workers` > 1
    checks parts of the rows on forked processes (same table, same problems), which
    pays only on idle CPUs: shipping the columns back costs about what it saves.
    """
    result, table = _read(
        Path(path), SPECS["sightings"], orgs, on_error, as_table=True, workers=workers
    )
    assert table is not None
    return table, result


def _read(
    path: Path,
    spec: CsvSpec,
    orgs: Mapping[str, str] | None,
    on_error: Literal["raise", "skip"],
    *,
    as_table: bool,
    workers: int = 1,
) -> tuple[LoadResult, SightingTable | None]:
    rows = _parse(path, _decode(path))
    start = next((i for i, (_, row) in enumerate(rows) if not _blank(row)), None)
    if start is None:
        raise InvalidInput(
            f"{path}: empty file; nothing was loaded",
            [Problem(f"{path}:1", f"no header row; expected e.g.: {','.join(spec.columns)}")],
        )
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
        if (row and row[0] and not row[0].isspace()) or not _blank(row)
    ]
    # Rows the column-wise checks accept come back built (as records, or as indexes into
    # the table's columns with their ids); the rest (None) are validated here one by
    # one, which names every problem.
    fits = [row for _, row in body if len(row) == len(header)]
    fast_table: SightingTable | None = None
    ids: list[str] = []
    rank: list[int] = []
    if as_table:
        # Rows in parts of at least _ROWS_PER_TASK, one part per process.
        parts = spans(len(fits), min(workers, len(fits) // _ROWS_PER_TASK))
        got = fork_map(_fast_sightings, (header, fits, orgs, parts), len(parts), workers)
        fast_table = SightingTable.join([t for t, _, _ in got] or [SightingTable.of([])])
        fast = [good for _, ok, _ in got for good in ok]
        ids = [rid for _, _, part_ids in got for rid in part_ids]
        rank = list(itertools.accumulate(fast))  # row j is row rank[j] - 1 of fast_table
        ready: Iterator[Record | int | None] = iter(
            [j if good else None for j, good in enumerate(fast)]
        )
    else:
        ready = iter(prevalidate(spec.record, header, fits, orgs))
    width = len(header)
    records = result.records
    taken: list[int] = []
    if fast_table is not None and len(fits) == len(body) == len(fast_table) == len(set(ids)):
        # Every row fits, passed the fast checks and has its own id: nothing to report.
        body, taken = [], list(range(len(fits)))
        result.rows_read = len(fits)
    for line, row in body:
        if len(row) != width:
            result.skipped.append(
                Problem(
                    f"{path}:{line}",
                    f"{len(row)} fields, but the header has {width}; "
                    "a value that contains a comma must be in double quotes",
                )
            )
            continue
        record = next(ready)
        if isinstance(record, int):
            rid = ids[record]
        else:
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
        if isinstance(record, int):
            taken.append(record)
        else:
            records.append(record)
    result.rows_read = result.rows_read or len(body)
    if result.skipped and on_error == "raise":
        raise InvalidInput(
            f"{path}: {len(result.skipped)} problem(s); nothing was loaded from this file",
            result.skipped,
        )
    if fast_table is None:
        return result, None
    slow = SightingTable.of(records)  # type: ignore[arg-type]
    result.records = []
    if len(taken) == len(fast_table):  # every row of the fast table (rank[j] - 1 == j)
        return result, SightingTable.join([fast_table, slow])
    return result, SightingTable.join([fast_table.take([rank[j] - 1 for j in taken]), slow])


#: Rows checked per process at least, when the sightings are read on several.
_ROWS_PER_TASK = 50_000


def _fast_sightings(
    job: tuple[list[str], list[list[str]], Mapping[str, str] | None, list[tuple[int, int]]],
    i: int,
) -> tuple[SightingTable, list[bool], list[str]]:
    header, rows, orgs, parts = job
    a, b = parts[i]
    return sighting_rows(header, rows[a:b], orgs)


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
