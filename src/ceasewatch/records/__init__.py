"""Record kinds (pydantic models), canonical JSON and the CSV contract files."""

from ceasewatch.records.base import Record, canonical_json
from ceasewatch.records.csvio import SPECS, CsvSpec, LoadResult, read_records, write_records
from ceasewatch.records.kinds import (
    Allegation,
    Assessment,
    Crater,
    Detection,
    DetectionClass,
    Sense,
    Sighting,
    SightingKind,
    Sortie,
    Verdict,
)
from ceasewatch.records.types import format_time, parse_time

__all__ = [
    "SPECS",
    "Allegation",
    "Assessment",
    "Crater",
    "CsvSpec",
    "Detection",
    "DetectionClass",
    "LoadResult",
    "Record",
    "Sense",
    "Sighting",
    "SightingKind",
    "Sortie",
    "Verdict",
    "canonical_json",
    "format_time",
    "parse_time",
    "read_records",
    "write_records",
]
