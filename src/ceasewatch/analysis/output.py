"""The analysis output files (a contract: users and other tools read them).

- events.geojson: one Point per event, sorted by (time, id);
- violations.geojson and violations.csv: one violation per row;
- allegations.csv: one finding per allegation;
- summary.json: counts, inputs read, skipped rows with reasons.

Numbers are rounded to what they mean (positions 1e-6 degree, metres 0.1, probabilities
1e-4, times 1 ms, written fixed-width so that they sort as text), so the files are
byte-identical whenever the analysis is.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceasewatch._fork import fork_map, spans
from ceasewatch._gc import paused_gc
from ceasewatch.analysis.events import ellipse
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.pipeline import Analysis

__all__ = ["OUTPUT_FILES", "VIOLATION_COLUMNS", "write_analysis"]

OUTPUT_FILES = (
    "events.geojson",
    "violations.geojson",
    "violations.csv",
    "allegations.csv",
    "summary.json",
)
VIOLATION_COLUMNS = (
    "id",
    "rule",
    "side",
    "p",
    "severity",
    "time",
    "event_ids",
    "detection_ids",
    "lon",
    "lat",
    "description",
)


def _time(t: datetime) -> str:
    """UTC to the millisecond, fixed width, so the text sorts as the times do."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _r(x: float, nd: int) -> float:
    v = round(x, nd)
    return 0.0 if v == 0 else v  # no "-0.0"


def _num(x: float) -> str:
    """A float as json.dumps writes it."""
    if x - x == 0.0:  # finite
        return float.__repr__(x)
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


_FIXED = {nd: f"%.{nd}f" for nd in range(1, 7)}


def _rn(x: float, nd: int) -> str:
    """`_r(x, nd)` as json.dumps writes it (1 <= nd <= 6).

    Between 1e-4 and 1e9 the correctly rounded fixed-point text, less trailing zeros, is
    that repr (at most 15 significant digits name one double, and repr writes the
    shortest text that does), at a third of the cost of round() and repr().
    """
    if 1e-4 <= abs(x) < 1e9:
        text = (_FIXED[nd] % x).rstrip("0")
        if text.endswith("."):
            text += "0"
        return "0.0" if text == "-0.0" else text
    v = round(x, nd)
    return "0.0" if v == 0 else _num(v)


def _r1(x: float) -> str:
    """`_rn(x, 1)`: with one decimal, the fixed-point text has no trailing zero to drop
    (but "-0.0")."""
    if 1e-4 <= abs(x) < 1e9:
        text = "%.1f" % x  # noqa: UP031 (the fastest of the formatting calls)
        return "0.0" if text == "-0.0" else text
    return _rn(x, 1)


# Ids, kinds and org ids use only these characters, which JSON writes as they are; any
# other string goes through the json module.
_PLAIN = re.compile(r"[A-Za-z0-9._:/ -]*")


def _str(s: str) -> str:
    return f'"{s}"' if _PLAIN.fullmatch(s) else json.dumps(s, ensure_ascii=False)


def _strs(items: Sequence[str]) -> str:
    if not items:
        return "[]"
    if _PLAIN.fullmatch("".join(items)):
        return '["' + '","'.join(items) + '"]'
    return "[" + ",".join(map(_str, items)) + "]"


def _ms(t: datetime) -> str:
    """`_time(t)`, from isoformat (several times faster than strftime)."""
    if t.tzinfo is not UTC:
        return _time(t)
    return t.isoformat(timespec="milliseconds")[:-6] + "Z"


def _event_line(e: Event) -> str:
    """One event as a GeoJSON feature: the text of json.dumps(_event_feature(e), compact),
    written directly (json.dumps of a nested dict costs ten times more)."""
    (cee, cen), (_, cnn) = e.cov_m2
    major, minor, orient = ellipse(cee, cen, cnn)
    ee, en, nn = _r1(cee), _r1(cen), _r1(cnn)
    p_side = ",".join([f"{_str(k)}:{_rn(v, 4)}" for k, v in sorted(e.p_side.items())])
    d_line = "null" if e.d_line_m is None else _r1(e.d_line_m)
    return (
        '{"type":"Feature","geometry":{"type":"Point","coordinates":'
        f"[{_rn(e.lon, 6)},{_rn(e.lat, 6)}]}},"
        f'"properties":{{"id":{_str(e.id)},"time":"{_ms(e.time)}","kind":{_str(e.kind)},'
        f'"count":{e.count},"sightings":{_strs(e.sightings)},'
        f'"outliers":{_strs(e.outliers)},"craters":{_strs(e.craters)},'
        f'"cov_m2":[[{ee},{en}],[{en},{nn}]],"semi_major_m":{_r1(major)},'
        f'"semi_minor_m":{_r1(minor)},"orientation_deg":{_r1(orient)},'
        f'"crlb_m":{_r1(e.crlb_m)},"p_side":{{{p_side}}},"d_line_m":{d_line},'
        f'"observers":{_strs(e.observers)}}}}}'
    )


def _event_feature(e: Event) -> dict[str, Any]:
    """One event as a GeoJSON feature (the dict `_event_line` writes as text)."""
    (cee, cen), (_, cnn) = e.cov_m2
    major, minor, orient = ellipse(cee, cen, cnn)
    props: dict[str, Any] = {
        "id": e.id,
        "time": _time(e.time),
        "kind": e.kind,
        "count": e.count,
        "sightings": list(e.sightings),
        "outliers": list(e.outliers),
        "craters": list(e.craters),
        "cov_m2": [[_r(cee, 1), _r(cen, 1)], [_r(cen, 1), _r(cnn, 1)]],
        "semi_major_m": _r(major, 1),
        "semi_minor_m": _r(minor, 1),
        "orientation_deg": _r(orient, 1),
        "crlb_m": _r(e.crlb_m, 1),
        "p_side": {k: _r(v, 4) for k, v in sorted(e.p_side.items())},
        "d_line_m": None if e.d_line_m is None else _r(e.d_line_m, 1),
        "observers": list(e.observers),
    }
    return _point(e.lon, e.lat, props)


def _point(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [_r(lon, 6), _r(lat, 6)]},
        "properties": props,
    }


def _violation_row(v: Violation) -> dict[str, Any]:
    return {
        "id": v.id,
        "rule": v.rule,
        "side": v.side,
        "p": _r(v.p, 4),
        "severity": v.severity,
        "time": _time(v.time),
        "event_ids": list(v.event_ids),
        "detection_ids": list(v.detection_ids),
        "lon": _r(v.lon, 6),
        "lat": _r(v.lat, 6),
        "description": v.description,
    }


def _write_lines(path: Path, chunks: list[str]) -> None:
    """A FeatureCollection of the features in chunks (each joined by ",\n"), one per
    line, written a chunk at a time (no copy of the whole file in memory)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write('{"type":"FeatureCollection","features":[\n')
        for i, chunk in enumerate(chunks):
            if i:
                fh.write(",\n")
            fh.write(chunk)
        fh.write("\n]}\n")


#: Events (or violations) formatted per task when the output is written on several CPUs.
_MIN_PER_TASK = 20_000


def write_analysis(result: Analysis, out: Path, *, workers: int = 1) -> dict[str, Path]:
    """Write the output files into `out` (created if needed); return their paths.

    `workers` > 1 formats the events and violations on that many forked processes (see
    `ceasewatch._fork`); the files are byte-identical to those of one worker.
    """
    with paused_gc():
        return _write(result, out, workers)


_Chunks = tuple[Sequence[Any], list[tuple[int, int]]]


def _event_text(job: _Chunks, i: int) -> str:
    """Chunk i of the events as GeoJSON features, joined by ",\n"."""
    events, chunks = job
    a, b = chunks[i]
    return ",\n".join([_event_line(e) for e in events[a:b]])


def _violation_text(job: _Chunks, i: int) -> tuple[str, str]:
    """Chunk i of the violations as GeoJSON features (joined by ",\n") and as CSV rows."""
    violations, chunks = job
    a, b = chunks[i]
    rows = [_violation_row(v) for v in violations[a:b]]
    features = ",\n".join(
        json.dumps(_point(r["lon"], r["lat"], r), ensure_ascii=False, separators=(",", ":"))
        for r in rows
    )
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(
            [
                ";".join(r[c]) if isinstance(r[c], list) else ("" if r[c] is None else r[c])
                for c in VIOLATION_COLUMNS
            ]
        )
    return features, buf.getvalue()


def _chunked(fn: Any, items: Sequence[Any], workers: int) -> list[Any]:
    """fn over consecutive chunks of items: one chunk alone, several per worker with more."""
    parts = max(1, len(items) // _MIN_PER_TASK) if workers > 1 else 1
    chunks = spans(len(items), parts)
    return fork_map(fn, (items, chunks), len(chunks), workers)


def _write(result: Analysis, out: Path, workers: int) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    events, violations = result.events, result.violations
    texts: list[str] = _chunked(_event_text, events, workers)
    _write_lines(paths["events.geojson"], texts)
    parts: list[tuple[str, str]] = _chunked(_violation_text, violations, workers)
    _write_lines(paths["violations.geojson"], [f for f, _ in parts])
    with paths["violations.csv"].open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(VIOLATION_COLUMNS)
        for _, rows in parts:
            fh.write(rows)
    with paths["allegations.csv"].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["allegation", "status", "event_ids", "violation_ids", "note"])
        for f in result.findings:
            w.writerow(
                [f.allegation, f.status, ";".join(f.event_ids), ";".join(f.violation_ids), f.note]
            )
    paths["summary.json"].write_text(
        json.dumps(result.summary(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return paths
