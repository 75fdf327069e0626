"""The `plan` command: the next sorties that close the worst coverage gaps.

A thin shell over `analysis.planning` (the plan), `analysis.planning_eval` (the plan
against a naive patrol, judged alike) and `report.plan_files` (the files).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ceasewatch.cli_args import theater_dir, time_arg
from ceasewatch.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ceasewatch.analysis.coverage import Coverage
    from ceasewatch.analysis.planning import Plan, ViolationXYT
    from ceasewatch.geo.theater import Theater

__all__ = ["register"]

out = Console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("plan")(plan)


def plan(  # noqa: PLR0917 - Typer commands take one parameter per option
    hours: Annotated[float, typer.Option("--for", help="Planning horizon (hours).")],
    at: Annotated[str, typer.Option("--at", help="Start of the horizon, ISO 8601 with offset.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the plan into.")],
    theater: Annotated[
        str | None,
        typer.Option("--theater", help="Theater directory, or `demo` (not with --data)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A node: plan from its drones' tracks and its violations."),
    ] = None,
    coverage: Annotated[
        Path | None,
        typer.Option("--coverage", help="coverage.geojson (`ceasewatch coverage`): last seen."),
    ] = None,
    violations: Annotated[
        Path | None,
        typer.Option("--violations", help="violations.csv (`ceasewatch analyze`)."),
    ] = None,
    firmware: Annotated[
        str, typer.Option("--firmware", help="Autopilot of the .plan files: ardupilot or px4.")
    ] = "ardupilot",
) -> None:
    """Plan sorties for the next HOURS: the stalest, most violent stretches first.

    Priority of a stretch of line = hours since last seen (capped at 24) x (1 + recent
    violations near it). Each drone flies from its base within its endurance (less a 20 %
    reserve), speed and range, beside the line at its camera's standoff; drones of
    different bases never plan the same stretch. Writes one QGroundControl .plan per
    sortie and routes.geojson, prints each sortie, and compares the plan's gain per flight
    hour with a naive back-and-forth patrol of the same flight hours.

    From a theater alone nothing has been seen yet (every stretch maximally stale), unless
    --coverage says when each was last seen; --violations adds violations. From a node
    (--data) the node's own tracks and analysed violations are used.

    Example: ceasewatch plan --for 6 --at 2026-11-27T06:00:00Z --theater demo --out plan
    """
    from ceasewatch.analysis.planning import plan_sorties, violations_xy_t
    from ceasewatch.analysis.planning_eval import compare
    from ceasewatch.report.plan_files import FIRMWARE_ARDUPILOT, FIRMWARE_PX4, write_plan_files

    t0 = time_arg(at, "--at")
    if not hours > 0.0:
        raise InvalidInput(f"--for must be a positive number of hours, not {hours}")
    kinds = {"ardupilot": FIRMWARE_ARDUPILOT, "px4": FIRMWARE_PX4}
    if firmware not in kinds:
        raise InvalidInput(f"--firmware must be ardupilot or px4, not {firmware!r}")
    if (theater is None) == (data is None):
        raise InvalidInput(
            "give either --theater (a theater directory or `demo`) or --data (a node)"
        )
    viol: list[ViolationXYT] = []
    cov: Coverage | None = None
    if data is not None:
        th, cov, viol = _from_node(data, t0)
    else:
        assert theater is not None
        from ceasewatch.geo.theater import load_theater

        th = load_theater(theater_dir(theater))
    if coverage is not None:
        cov = _read_coverage(th, coverage)
    if violations is not None:
        viol = sorted([*viol, *violations_xy_t(th, _read_violations(violations))])
    result = plan_sorties(th, cov, viol, at=t0, hours=hours)
    written = write_plan_files(result, out_dir, firmware_type=kinds[firmware])
    _print_sorties(result)
    if result.sorties:
        cmp = compare(th, result)
        out.print(
            f"plan:  {cmp.plan.gain_per_h:.1f} priority-km per flight hour "
            f"({cmp.plan.gain:.1f} over {cmp.plan.flight_h:.2f} h, {cmp.plan.covered_km:.1f} km "
            "of line covered)"
        )
        out.print(
            f"naive: {cmp.naive.gain_per_h:.1f} priority-km per flight hour "
            f"({cmp.naive.gain:.1f} over {cmp.naive.flight_h:.2f} h, "
            f"{cmp.naive.covered_km:.1f} km covered; back-and-forth near each base)"
        )
        out.print(f"ratio: {cmp.ratio:.2f}x")
    else:
        out.print("no sortie gains anything: every stretch the drones reach is fresh")
    out.print(f"{len(written) - 1} .plan file(s) and routes.geojson written to {out_dir}")


def _from_node(data: Path, at: datetime) -> tuple[Theater, Coverage, list[ViolationXYT]]:
    """The node's theater, the coverage of its drones' tracks over the day before `at`
    (what is older only caps staleness), and the violations analysed from its records."""
    from ceasewatch.analysis.planning import PlanSettings, violations_xy_t
    from ceasewatch.analysis.sortie import coverage_ground, coverage_of, coverage_settings
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.records import analyse_node
    from ceasewatch.ledger.telemetry import camera_tracks

    with open_node(data) as node:
        th = node.theater()
        start = at - timedelta(hours=PlanSettings().stale_cap_h)
        tracks = camera_tracks(node, start, at)
        cs = coverage_settings(th)
        cov = coverage_of(
            th, tracks, segment_m=cs.segment_m, start=start, end=at,
            ground_elev_m=coverage_ground(th, cs), merge_s=cs.merge_s, zones=False, at=at,
        )  # fmt: skip
        result = analyse_node(node)
    past = [v for v in result.violations if v.time <= at]
    return th, cov, violations_xy_t(th, past)


def _read_coverage(th: Theater, path: Path) -> Coverage:
    """coverage.geojson (`analysis.coverage_report`): each segment's group and last seen."""
    from ceasewatch.analysis.planning import coverage_from_last_seen
    from ceasewatch.records import parse_time

    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        lines = []
        for i, f in enumerate(doc["features"]):
            p, g = f["properties"], f["geometry"]
            if g["type"] != "LineString":
                raise ValueError(f"feature {i} is a {g['type']}, not a LineString")
            last = p.get("last_seen")
            lines.append((str(p["group"]), [(float(a), float(b)) for a, b in g["coordinates"]],
                          None if last is None else parse_time(last)))  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"{path}: not a coverage.geojson of `ceasewatch coverage` ({exc})"
        ) from None
    return coverage_from_last_seen(th.frame, lines)


class _Violation:
    __slots__ = ("lat", "lon", "time")

    def __init__(self, lon: float, lat: float, time: datetime) -> None:
        self.lon, self.lat, self.time = lon, lat, time


def _read_violations(path: Path) -> list[_Violation]:
    """violations.csv of `ceasewatch analyze`: lon, lat and time of each row."""
    from ceasewatch.records import parse_time

    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                rows.append(
                    _Violation(float(row["lon"]), float(row["lat"]), parse_time(row["time"]))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"{path}:{n}: needs lon, lat and time (as `ceasewatch analyze` writes): {exc}"
                ) from None
    return rows


def _print_sorties(result: Plan) -> None:
    table = Table(
        title=f"Sorties {result.at:%Y-%m-%d %H:%M}Z + {result.hours:g} h", show_header=True
    )
    for name in ("drone", "sortie", "takeoff", "landing", "flight h", "line km", "gain"):
        table.add_column(name, justify="left" if name == "drone" else "right")
    for s in result.sorties:
        table.add_row(
            s.drone, str(s.number), f"{s.takeoff:%m-%d %H:%M}", f"{s.landing:%m-%d %H:%M}",
            f"{s.flight_h:.2f}", f"{s.line_km:.1f}", f"{s.gain:.1f}",
        )  # fmt: skip
    out.print(table)
