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
from pathlib import Path
from typing import Any, cast

from ceasewatch._fork import fork_map, spans
from ceasewatch._gc import paused_gc
from ceasewatch.analysis._output_text import event_lines, time_text, violation_texts
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


def _r(x: float, nd: int) -> float:
    v = round(x, nd)
    return 0.0 if v == 0 else v  # no "-0.0"


def _event_feature(e: Event) -> dict[str, Any]:
    """One event as a GeoJSON feature (the dict `_event_line` writes as text)."""
    (cee, cen), (_, cnn) = e.cov_m2
    major, minor, orient = ellipse(cee, cen, cnn)
    props: dict[str, Any] = {
        "id": e.id,
        "time": time_text(e.time),
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
        "time": time_text(v.time),
        "event_ids": list(v.event_ids),
        "detection_ids": list(v.detection_ids),
        "lon": _r(v.lon, 6),
        "lat": _r(v.lat, 6),
        "description": v.description,
    }


def _write_lines(path: Path, chunks: list[bytes]) -> None:
    """A FeatureCollection of the features in chunks (each joined by ",\n", UTF-8), one
    per line, written a chunk at a time (no copy of the whole file in memory)."""
    with path.open("wb") as fh:
        fh.write(b'{"type":"FeatureCollection","features":[\n')
        for i, chunk in enumerate(chunks):
            if i:
                fh.write(b",\n")
            fh.write(chunk)
        fh.write(b"\n]}\n")


#: Events (or violations) formatted per task when the output is written on several CPUs.
_MIN_PER_TASK = 20_000


def write_analysis(result: Analysis, out: Path, *, workers: int = 1) -> dict[str, Path]:
    """Write the output files into `out` (created if needed); return their paths.

    `workers` > 1 formats the events and violations on that many forked processes (see
    `ceasewatch._fork`); the files are byte-identical to those of one worker.
    """
    with paused_gc():
        return _write(result, out, workers)


#: A write's tasks: ("events" or "violations", start, stop) of those rows, or ("summary",).
_Task = tuple[str, int, int]


def _task(job: tuple[Analysis, list[_Task]], i: int) -> str | bytes | tuple[bytes, bytes]:
    """Task i's text: a chunk of events.geojson's features (joined by ",\n"), a chunk of
    violations as GeoJSON features and CSV rows (UTF-8 bytes: encoded where they are
    made, they are written as they come back), or summary.json."""
    result, tasks = job
    what, a, b = tasks[i]
    if what == "events":
        return ",\n".join(event_lines(result.events[a:b])).encode("utf-8")
    if what == "violations":
        features, rows = violation_texts(result.violations[a:b])
        return features.encode("utf-8"), rows.encode("utf-8")
    return json.dumps(result.summary(), indent=1, ensure_ascii=False) + "\n"


def _tasks(result: Analysis, workers: int) -> list[_Task]:
    """Consecutive chunks of the events and of the violations (one each with one worker,
    several per worker with more), and the summary."""
    tasks: list[_Task] = [("summary", 0, 0)]
    for what, n in (("events", len(result.events)), ("violations", len(result.violations))):
        parts = max(1, n // _MIN_PER_TASK) if workers > 1 else 1
        tasks += [(what, a, b) for a, b in spans(n, parts)]
    return tasks


def _write(result: Analysis, out: Path, workers: int) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    tasks = _tasks(result, workers)
    # One pool for every chunk and the summary: they run side by side.
    texts = fork_map(_task, (result, tasks), len(tasks), workers)
    summary = cast(str, texts[0])
    events = [cast(bytes, t) for (what, _, _), t in zip(tasks, texts, strict=True)
              if what == "events"]  # fmt: skip
    parts = [cast(tuple[bytes, bytes], t) for (what, _, _), t in zip(tasks, texts, strict=True)
             if what == "violations"]  # fmt: skip
    _write_lines(paths["events.geojson"], events)
    _write_lines(paths["violations.geojson"], [f for f, _ in parts])
    header = io.StringIO(newline="")
    csv.writer(header, lineterminator="\n").writerow(VIOLATION_COLUMNS)
    with paths["violations.csv"].open("wb") as fh:
        fh.write(header.getvalue().encode("utf-8"))
        for _, rows in parts:
            fh.write(rows)
    with paths["allegations.csv"].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["allegation", "status", "event_ids", "violation_ids", "note"])
        for f in result.findings:
            w.writerow(
                [f.allegation, f.status, ";".join(f.event_ids), ";".join(f.violation_ids), f.note]
            )
    paths["summary.json"].write_text(summary, encoding="utf-8")
    return paths
