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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.bearings import compass_to_deg
from ceasewatch.records.base import ORGS_CONTEXT, Record
from ceasewatch.records.kinds import Allegation, Crater, Detection, Sighting
from ceasewatch.records.types import format_time

__all__ = ["SPECS", "CsvSpec", "LoadResult", "read_records", "write_records"]

#: Largest CSV file read in one go (bytes); a larger one is refused with advice.
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class CsvSpec:
    """One contract file: its record type and its columns in their canonical order."""

    name: str
    record: type[Record]
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SPECS: Mapping[str, CsvSpec] = {
    "sightings": CsvSpec(
        "sightings",
        Sighting,
        ("id", "time", "org", "observer", "lat", "lon", "bearing_deg", "kind"),
        ("bearing_sigma_deg", "bearing_ref", "range_min_m", "range_max_m", "count", "sense"),
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


def _decode(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: {size} bytes is larger than {MAX_FILE_BYTES}; split it")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{path}:{line}: not UTF-8 (byte {exc.start}); save the file as UTF-8 CSV"
        ) from None


def _row_data(spec: CsvSpec, header: list[str], row: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for name, value in zip(header, row, strict=True):
        value = value.strip()
        if name.startswith("x_"):
            if value:
                extra[name] = value
        elif value:
            data[name] = value
    if extra:
        data["extra"] = extra
    if spec.record is Sighting and "bearing_deg" in data:
        centre = compass_to_deg(data["bearing_deg"])
        if centre is not None:
            data["bearing_compass"] = data["bearing_deg"].upper()
            data["bearing_deg"] = centre
    return data


def _field_of(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "row"
    return {"bearing_compass": "bearing_deg", "class_": "class"}.get(name, name)


def _problems(where: str, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        if err["type"] != "value_error" and isinstance(given, str | int | float):
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
        path: the file.
        spec: which contract file it is (`SPECS["sightings"]`, ...).
        orgs: {org id: role} of the theater; org columns are checked against it.
        on_error: "raise" refuses the whole file at any bad row (listing all of them);
            "skip" leaves bad rows out and lists them in `LoadResult.skipped`.

    Raises:
        InvalidInput: the file cannot be read as this contract file at all, or a row is
            bad and on_error is "raise". Nothing is returned in that case.
    """
    text = _decode(path)
    result = LoadResult(path=path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(f"{path}:1: the header row is not valid CSV ({exc})") from None
    if header is None or not any(h.strip() for h in header):
        raise InvalidInput(
            f"{path}: empty file; expected a header row such as: {','.join(spec.columns)}"
        )
    header = [h.strip() for h in header]
    _check_header(path, spec, header)
    context = {ORGS_CONTEXT: orgs} if orgs is not None else None
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.skipped.append(Problem(f"{path}:{line}", f"not valid CSV: {exc}"))
            if on_error == "raise":
                break  # the csv reader cannot resynchronise safely; report what we have
            line = reader.line_num + 1
            continue
        where = f"{path}:{line}"
        line = reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        result.rows_read += 1
        if len(row) != len(header):
            result.skipped.append(
                Problem(where, f"{len(row)} fields, but the header has {len(header)}")
            )
            continue
        try:
            record = spec.record.model_validate(_row_data(spec, header, row), context=context)
        except ValidationError as exc:
            result.skipped.extend(_problems(where, exc))
            continue
        rid = str(getattr(record, "id", ""))
        if rid in seen:
            result.skipped.append(
                Problem(f"{where} id", f"id {rid!r} is already used on line {seen[rid]}")
            )
            continue
        seen[rid] = int(where.rsplit(":", 1)[1])
        result.records.append(record)
    if result.skipped and on_error == "raise":
        raise InvalidInput(
            f"{path}: {len(result.skipped)} problem(s); nothing was loaded from this file",
            result.skipped,
        )
    return result


def _check_header(path: Path, spec: CsvSpec, header: list[str]) -> None:
    problems = []
    dupes = sorted({h for h in header if header.count(h) > 1})
    for name in dupes:
        problems.append(Problem(f"{path}:1", f"column {name!r} appears more than once"))
    for name in header:
        if name not in spec.columns and not name.startswith("x_"):
            problems.append(
                Problem(
                    f"{path}:1",
                    f"unknown column {name!r}; the {spec.name} columns are "
                    f"{','.join(spec.columns)} (prefix your own columns with x_)",
                )
            )
    for name in spec.required:
        if name not in header:
            problems.append(Problem(f"{path}:1", f"missing required column {name!r}"))
    if problems:
        raise InvalidInput(f"{path}: the header is wrong; nothing was loaded", problems)


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
    extras = sorted({k for r in rows for k in r.extra})
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*spec.columns, *extras])
        for rec in rows:
            values = []
            for col in spec.columns:
                attr = {"class": "class_"}.get(col, col)
                value = getattr(rec, attr, None)
                if col == "bearing_deg" and getattr(rec, "bearing_compass", None):
                    value = rec.bearing_compass  # type: ignore[attr-defined]
                values.append(_cell(value))
            values.extend(rec.extra.get(k, "") for k in extras)
            writer.writerow(values)
    return len(rows)
