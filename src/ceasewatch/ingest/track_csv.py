"""The plain CSV track: a camera track for drones that export neither MAVLink nor KLV.

UTF-8 text (a BOM is allowed), a header row, one sample per row; column order is free::

    time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_pitch_deg,gimbal_frame,hfov_deg
    2026-11-26T10:00:00.000Z,40.01234,46.51234,612.5,271.0,-45.0,horizon,62.0

Required: `time` (ISO 8601 with a UTC offset or Z), `lat_deg`, `lon_deg` (WGS84), `alt_msl_m`
(camera altitude above mean sea level, metres). Optional, empty meaning unknown: `yaw_deg`,
`pitch_deg`, `roll_deg` (platform attitude, yaw from true north), `gimbal_yaw_deg`,
`gimbal_pitch_deg`, `gimbal_roll_deg` (pitch -90 looks straight down), `gimbal_frame`
(body, horizon or earth: how the gimbal angles are read, see `analysis.footprint`; needed
on a row that gives a gimbal angle), `hfov_deg`, `vfov_deg` (full fields of view, in
(0, 180)). Columns whose name starts with `x_` are the user's and are ignored.

A bad row refuses the file, with every problem listed as file:line column and what to
write instead (as the contract CSV files do); a last row cut off by the end of the file
(no line end, too few fields or a broken value) is dropped and counted as truncated.
Rows whose time goes backwards are dropped and counted. docs/telemetry.md describes the
format for users.
"""

from __future__ import annotations

import csv
import math
import re
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Final

import numpy as np

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.ingest.track import GIMBAL_BODY, GIMBAL_EARTH, GIMBAL_HORIZON, Track
from ceasewatch.ingest.track_align import build_track
from ceasewatch.records.types import parse_time

__all__ = ["OPTIONAL", "REQUIRED", "csv_track", "looks_like_track_csv"]

REQUIRED: Final = ("time", "lat_deg", "lon_deg", "alt_msl_m")
#: Optional numeric columns and their (low, high, ends allowed) bounds.
_NUMBERS: Final = {
    "yaw_deg": (-360.0, 360.0, True),
    "pitch_deg": (-180.0, 180.0, True),
    "roll_deg": (-180.0, 180.0, True),
    "gimbal_yaw_deg": (-360.0, 360.0, True),
    "gimbal_pitch_deg": (-180.0, 180.0, True),
    "gimbal_roll_deg": (-180.0, 180.0, True),
    "hfov_deg": (0.0, 180.0, False),
    "vfov_deg": (0.0, 180.0, False),
}
OPTIONAL: Final = (*_NUMBERS, "gimbal_frame")
_COLUMNS: Final = (*REQUIRED, *OPTIONAL)
_FRAMES: Final = {"body": GIMBAL_BODY, "horizon": GIMBAL_HORIZON, "earth": GIMBAL_EARTH}
_GIMBAL: Final = ("gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
#: Problems listed before the rest are only counted.
MAX_PROBLEMS: Final = 100


def looks_like_track_csv(head: bytes) -> bool:
    """Whether the first bytes of a file start with a text line (UTF-8, after any blank
    lines) that is a header naming at least one CSV track column."""
    for raw in head.splitlines():
        if raw.strip():
            if b"\x00" in raw:
                return False
            try:
                line = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return False
            names = {cell.strip() for cell in next(csv.reader([line]), [])}
            return bool(names & set(_COLUMNS))
    return False


class _Lines:
    """The file's physical lines as text (LF, CRLF or CR ends, as the csv module reads
    them), remembering whether the last one had a line end; a line that is not UTF-8
    refuses the file, naming the line."""

    def __init__(self, source: IO[bytes], where: str) -> None:
        self._source = source
        self._where = where
        self.ended = True
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for raw in self._source:
            try:
                text = raw.decode("utf-8-sig" if first else "utf-8")
            except UnicodeDecodeError as exc:
                at = f"{self._where}:{self.line + 1 + raw[: exc.start].count(13)}"
                raise InvalidInput(
                    f"{at}: not UTF-8 text; nothing was read",
                    [Problem(at, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save as UTF-8 CSV")],
                ) from None
            first = False
            for line in _CR.split(text) if "\r" in text[:-2] else (text,):
                if line:
                    self.line += 1
                    self.ended = line.endswith(("\n", "\r"))
                    yield line


_CR: Final = re.compile(r"(?<=\r)(?!\n)")


def _number(cell: str, col: str) -> tuple[float, str | None]:
    try:
        value = float(cell)
    except ValueError:
        return math.nan, f"{cell[:40]!r} is not a number"
    if not math.isfinite(value):
        return math.nan, f"{cell[:40]!r} is not a finite number"
    if col == "lat_deg" and not -90.0 <= value <= 90.0:
        return math.nan, f"{value:g} is not a latitude in [-90, 90]"
    if col == "lon_deg" and not -180.0 <= value <= 180.0:
        return math.nan, f"{value:g} is not a longitude in [-180, 180]"
    if col in _NUMBERS:
        lo, hi, ends = _NUMBERS[col]
        inside = lo <= value <= hi if ends else lo < value < hi
        if not inside:
            bounds = f"[{lo:g}, {hi:g}]" if ends else f"({lo:g}, {hi:g})"
            return math.nan, f"{value:g} is outside {bounds}"
    return value, None


def _header(where: str, header: list[str]) -> None:
    problems = []
    for name in sorted({h for h in header if h and header.count(h) > 1}):
        problems.append(Problem(f"{where} {name}", f"column {name!r} appears more than once"))
    for i, name in enumerate(header, start=1):
        if not name:
            problems.append(Problem(where, f"column {i} has no name; name it or delete it"))
        elif name not in _COLUMNS and not name.startswith("x_"):
            problems.append(
                Problem(
                    f"{where} {name}",
                    f"unknown column {name!r}; a CSV track has {','.join(_COLUMNS)} "
                    "(prefix your own columns with x_)",
                )
            )
    for name in REQUIRED:
        if name not in header:
            problems.append(Problem(f"{where} {name}", f"missing required column {name!r}; add it"))
    if problems:
        raise InvalidInput(
            f"{where.rsplit(':', 1)[0]}: the CSV track header is wrong; nothing was read",
            problems,
        )


class _Rows:
    """Columns gathered row by row (compact arrays: 8 bytes a value)."""

    def __init__(self) -> None:
        self.t = array("q")
        self.cols = {c: array("d") for c in (*REQUIRED[1:], *_NUMBERS)}
        self.frame = array("b")

    def add(self, t_us: int, values: dict[str, float], frame: int) -> None:
        self.t.append(t_us)
        for c, a in self.cols.items():
            a.append(values.get(c, math.nan))
        self.frame.append(frame)


def _row(
    header: list[str], row: list[str], where: str
) -> tuple[int, dict[str, float], int, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, float] = {}
    t_us = 0
    frame_text = ""
    for name, raw in zip(header, row, strict=True):
        cell = raw.strip()
        if name.startswith("x_"):
            continue
        if "\x00" in cell:
            problems.append(Problem(f"{where} {name}", "contains a NUL character; not text"))
            continue
        if not cell:
            if name in REQUIRED:
                problems.append(
                    Problem(f"{where} {name}", "is empty; this column needs a value on every row")
                )
            continue
        if name == "time":
            try:
                t_us = (parse_time(cell) - _EPOCH) // _US
            except ValueError as exc:
                problems.append(Problem(f"{where} time", str(exc)))
        elif name == "gimbal_frame":
            frame_text = cell.lower()
            if frame_text not in _FRAMES:
                problems.append(
                    Problem(f"{where} gimbal_frame", f"{cell[:40]!r}: write body, horizon or earth")
                )
        else:
            value, bad = _number(cell, name)
            if bad is not None:
                problems.append(Problem(f"{where} {name}", bad))
            values[name] = value
    if any(g in values for g in _GIMBAL) and not frame_text:
        problems.append(
            Problem(
                f"{where} gimbal_frame",
                "is empty on a row with gimbal angles; write body, horizon or earth",
            )
        )
    return t_us, values, _FRAMES.get(frame_text, GIMBAL_BODY), problems


def csv_track(source: IO[bytes], where: str) -> Track:
    """The track of a CSV track file (see the module docstring).

    Raises:
        InvalidInput: not UTF-8 text, a wrong header, a bad row (every problem listed,
            file:line column), or no row at all.
    """
    lines = _Lines(source, where)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    rows = _Rows()
    problems: list[Problem] = []
    n_problems = 0
    last_bad: list[Problem] = []  # problems of the row just read (maybe cut off)
    truncated = 0
    while True:
        line = lines.line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput(
                f"{where}:{line}: not valid CSV; nothing was read",
                [Problem(f"{where}:{line}", f"{exc}; a quote inside a field must be doubled")],
            ) from None
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            _header(f"{where}:{line}", header)
            continue
        problems.extend(last_bad[: max(0, MAX_PROBLEMS - len(problems))])
        n_problems += len(last_bad)
        rw = f"{where}:{line}"
        if len(row) != len(header):
            last_bad = [
                Problem(
                    rw,
                    f"{len(row)} fields, but the header has {len(header)}; a value that "
                    "contains a comma must be in double quotes",
                )
            ]
            continue
        t_us, values, frame, last_bad = _row(header, row, rw)
        if not last_bad:
            rows.add(t_us, values, frame)
    if last_bad and not lines.ended:
        truncated = 1
        last_bad = [Problem(p.where, f"{p.what} (the file ends here: cut off?)", "warning")
                    for p in last_bad[:1]]  # fmt: skip
        problems.extend(last_bad)
    else:
        problems.extend(last_bad[: max(0, MAX_PROBLEMS - len(problems))])
        n_problems += len(last_bad)
    if header is None:
        raise InvalidInput(
            f"{where}: no header row; nothing was read",
            [Problem(f"{where}:1", f"expected a header such as {','.join(REQUIRED)}")],
        )
    if n_problems:
        raise InvalidInput(
            f"{where}: {n_problems} problem(s) in its rows; nothing was read (fix them and "
            "read the file again)",
            [p for p in problems if p.severity == "error"],
        )
    t = np.frombuffer(rows.t, dtype=np.int64).copy() if len(rows.t) else np.empty(0, np.int64)
    columns = {c: np.frombuffer(a, dtype=np.float64).copy() for c, a in rows.cols.items()}
    columns["alt_m"] = columns.pop("alt_msl_m")
    return build_track(
        where,
        "csv",
        t,
        columns,
        counts={"truncated_rows": truncated},
        problems=problems,
        gimbal_frame=np.frombuffer(rows.frame, dtype=np.int8).copy(),
        why_empty="the file has a header but no data row",
    )
