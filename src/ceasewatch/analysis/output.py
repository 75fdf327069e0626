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
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def _event_feature(e: Event) -> dict[str, Any]:
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


def _collection(features: list[dict[str, Any]]) -> str:
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def write_analysis(result: Analysis, out: Path) -> dict[str, Path]:
    """Write the output files into `out` (created if needed); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    paths["events.geojson"].write_text(
        _collection([_event_feature(e) for e in result.events]), encoding="utf-8"
    )
    rows = [_violation_row(v) for v in result.violations]
    paths["violations.geojson"].write_text(
        _collection([_point(r["lon"], r["lat"], r) for r in rows]), encoding="utf-8"
    )
    with paths["violations.csv"].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(VIOLATION_COLUMNS)
        for r in rows:
            w.writerow(
                [
                    ";".join(r[c]) if isinstance(r[c], list) else ("" if r[c] is None else r[c])
                    for c in VIOLATION_COLUMNS
                ]
            )
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
