"""The `coverage` command: which stretches of the contact line the drones watched.

A thin shell over `ceasewatch.report.coverage`: the tracks come from a node (`--data`:
every sortie it holds, its own and its peers') or from telemetry files read directly
(`--theater` with `--telemetry` and `--drone`, for a user without a node).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ceasewatch.cli_args import theater_dir, time_arg
from ceasewatch.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ceasewatch.geo.fleet import Camera
    from ceasewatch.geo.theater import Theater
    from ceasewatch.ingest.track import Track
    from ceasewatch.report.coverage import CoverageReport

__all__ = ["register"]

out = Console()
err = Console(stderr=True)

_TrackList = list[tuple[str, "Camera", "Track"]]


def _from_files(
    theater: Theater, files: list[Path], drones: list[str], camera: str | None
) -> _TrackList:
    from ceasewatch.ingest.track import read_track
    from ceasewatch.report.coverage import camera_of

    if not files:
        raise InvalidInput("give --telemetry FILE (one per flight) with --theater")
    if len(drones) not in (1, len(files)):
        raise InvalidInput(
            f"{len(files)} --telemetry file(s) but {len(drones)} --drone: give one --drone "
            "for all files, or one per file in the same order"
        )
    names = drones * len(files) if len(drones) == 1 else drones
    cameras = [camera_of(theater, d, camera) for d in names]  # unknown drones before reading
    tracks: _TrackList = []
    for path, cam in zip(files, cameras, strict=True):
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        tracks.append((str(path), cam, read_track(path)))
    return tracks


def _from_node(data: Path, start: datetime, end: datetime) -> tuple[Theater, _TrackList]:
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.telemetry import camera_tracks

    with open_node(data) as node:
        return node.theater(), camera_tracks(node, start, end)


def _print(report: CoverageReport, paths: dict[str, Path], limit: int = 5) -> None:
    s = report.summary
    line = s["line"]
    window = report.settings.window_h
    out.print(
        f"contact line: {line['length_m'] / 1000.0:.1f} km in {line['segments']} segments "
        f"of at most {report.settings.segment_m:g} m"
    )
    out.print(
        f"observed in the period: {100.0 * line['observed_share']:.1f}%; "
        f"in the last {window:g} h at {s['period']['to']}: "
        f"{100.0 * line['observed_share_window']:.1f}%; "
        f"never seen: {line['never_seen_length_m'] / 1000.0:.1f} km",
        highlight=False,
    )
    for t in report.changes:
        out.print(
            f"note: the geometry changed at {t.isoformat()} (a handover or validity bound); "
            "the period is reported on the geometry in force at its end",
            highlight=False,
        )
    stretches = s["longest_unobserved"][:limit]
    if stretches:
        table = Table(title="Longest stretches of the line never observed in the period")
        for col in ("from segment", "to segment", "km along the line", "length km"):
            table.add_column(col, justify="right" if "km" in col else "left")
        for st in stretches:
            table.add_row(
                st["first_id"],
                st["last_id"],
                f"{st['from_m'] / 1000.0:.1f}-{st['to_m'] / 1000.0:.1f}",
                f"{st['length_m'] / 1000.0:.1f}",
            )
        out.print(table)
    out.print(f"written to {paths['coverage.geojson'].parent}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""

    @app.command("coverage")
    def coverage(  # noqa: PLR0917 - one parameter per option, as Typer wants
        from_: Annotated[
            str, typer.Option("--from", help="Start of the period, ISO 8601 with offset.")
        ],
        to: Annotated[str, typer.Option("--to", help="End of the period (excluded).")],
        out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the files.")],
        data: Annotated[
            Path | None,
            typer.Option("--data", help="A node: cover with every sortie it holds."),
        ] = None,
        theater: Annotated[
            str | None,
            typer.Option("--theater", help="Theater directory, or `demo` (with --telemetry)."),
        ] = None,
        telemetry: Annotated[
            list[Path] | None,
            typer.Option("--telemetry", help="A telemetry file (.tlog, .bin, KLV, CSV track)."),
        ] = None,
        drone: Annotated[
            list[str] | None,
            typer.Option("--drone", help="The drone that flew it (one, or one per file)."),
        ] = None,
        camera: Annotated[
            str | None, typer.Option("--camera", help="The camera (default: the drone's).")
        ] = None,
        segment_m: Annotated[
            float | None,
            typer.Option("--segment-m", help="Segment length, m (default: theater's, 250)."),
        ] = None,
        window_h: Annotated[
            float | None,
            typer.Option("--window-h", help="'Observed in the last N hours' (default: 6)."),
        ] = None,
    ) -> None:
        """Coverage of the contact line and zones by the drones' cameras over a period.

        Writes coverage.geojson (one segment per feature: visits, time observed, first
        and last seen, longest gap, revisit interval, staleness at --to),
        coverage_summary.json (the share of the line observed in the last --window-h
        hours at each hour of the period, the longest unobserved stretches) and
        coverage.png (the map), and prints the share of the line observed. Tracks come
        from a node (--data) or from files (--theater, --telemetry, --drone). Defaults
        come from the coverage table of theater.toml (ground_elev_m, segment_m, window_h).

        Example: ceasewatch coverage --from 2026-11-26T00:00Z --to 2026-11-27T00:00Z
        --theater demo --telemetry a1.tlog --drone uav-a1 --out cov
        """
        from ceasewatch.geo.theater import load_theater
        from ceasewatch.report.coverage import build_coverage_report, write_coverage_report

        start, end = time_arg(from_, "--from"), time_arg(to, "--to")
        if not start < end:
            raise InvalidInput(f"--from {from_} is not before --to {to}; swap them")
        if data is not None:
            if theater is not None or telemetry:
                raise InvalidInput(
                    "give either --data (a node) or --theater with --telemetry files, not both"
                )
            th, tracks = _from_node(data, start, end)
            if not tracks:
                raise InvalidInput(
                    f"no telemetry in the period: node {data} holds no sortie overlapping "
                    f"{from_} to {to}; ingest flights with `ceasewatch ingest telemetry`"
                )
        else:
            if theater is None:
                raise InvalidInput(
                    "give --data NODE, or --theater DIR with --telemetry FILE --drone ID"
                )
            if not drone:
                raise InvalidInput("give --drone ID: the drone that flew the --telemetry file")
            th = load_theater(theater_dir(theater))
            tracks = _from_files(th, list(telemetry or []), list(drone), camera)
        report = build_coverage_report(
            th, tracks, start, end, segment_m=segment_m, window_h=window_h
        )
        paths = write_coverage_report(report, out_dir)
        _print(report, paths)
