"""The file-based front of analysis: read the contract CSV files, then `analyse`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ceasewatch._gc import paused_gc
from ceasewatch.analysis.allegations import Observed
from ceasewatch.analysis.pipeline import Analysis, analyse_table
from ceasewatch.analysis.rules import load_rules
from ceasewatch.errors import Problem
from ceasewatch.geo.theater import load_theater
from ceasewatch.records import SPECS, Record, read_records
from ceasewatch.records.csvio import read_sighting_table
from ceasewatch.records.table import SightingTable

__all__ = ["analyse_files"]


def analyse_files(
    theater_dir: Path,
    *,
    sightings: Path,
    detections: Path | None = None,
    craters: Path | None = None,
    allegations: Path | None = None,
    strict: bool = False,
    observed: Observed | None = None,
    workers: int = 1,
) -> Analysis:
    """Read the contract files and analyse them on the theater.

    With `strict`, the first bad row refuses its file (InvalidInput); otherwise bad rows
    are skipped and listed in the result's `skipped`, and the rest is analysed.
    `observed` is passed to the allegation matching (see `analyse`); `workers` > 1 runs
    what splits into independent chunks on that many forked processes (same result).
    """
    with paused_gc():
        return _analyse_files(
            theater_dir,
            {"sightings": sightings, "detections": detections, "craters": craters,
             "allegations": allegations},
            strict=strict,
            observed=observed,
            workers=workers,
        )  # fmt: skip


def _analyse_files(
    theater_dir: Path,
    paths: dict[str, Path | None],
    *,
    strict: bool,
    observed: Observed | None,
    workers: int,
) -> Analysis:
    theater = load_theater(theater_dir)
    rules = load_rules(theater.root)
    orgs = theater.org_roles()
    on_error: Literal["raise", "skip"] = "raise" if strict else "skip"
    loaded: dict[str, list[Record]] = {}
    skipped: list[Problem] = []
    table = SightingTable.of([])
    for name, path in paths.items():
        if path is None:
            loaded[name] = []
        elif name == "sightings":
            # Sightings are many: read as columns, never as one record per row (a plain
            # file straight from its bytes: about as long as forking would take).
            table, result = read_sighting_table(path, orgs, on_error)
            skipped += result.skipped
        else:
            result = read_records(path, SPECS[name], orgs, on_error)
            loaded[name] = result.records
            skipped += result.skipped
    analysis = analyse_table(
        theater,
        table,
        loaded["detections"],  # type: ignore[arg-type]
        loaded["craters"],  # type: ignore[arg-type]
        loaded["allegations"],  # type: ignore[arg-type]
        rules=rules,
        observed=observed,
        workers=workers,
    )
    analysis.skipped[:0] = skipped
    return analysis
