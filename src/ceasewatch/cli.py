"""The `ceasewatch` command: one Typer app, thin shells over library functions.

Every command's docstring is its --help and carries an example. Errors meant for a user
are `CeasewatchError`s, caught in exactly one place (`main`) and printed without a
traceback.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ceasewatch import __version__
from ceasewatch.cli_args import theater_dir, time_arg
from ceasewatch.cli_coverage import register as register_coverage
from ceasewatch.cli_ledger import register as register_ledger
from ceasewatch.cli_plan import register as register_plan
from ceasewatch.config import Settings
from ceasewatch.errors import CeasewatchError, InvalidInput, NotFound

if TYPE_CHECKING:  # imported lazily at run time: `ceasewatch --help` stays fast
    from ceasewatch.analysis import Analysis
    from ceasewatch.sim import Scenario

__all__ = ["app", "main"]

app = typer.Typer(
    name="ceasewatch",
    help="Joint ceasefire monitoring: locate, attribute and jointly record violations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
theater_app = typer.Typer(help="Describe and check a theater.", no_args_is_help=True)
app.add_typer(theater_app, name="theater")
register_ledger(app)
register_coverage(app)
register_plan(app)
telemetry_app = typer.Typer(
    help="Drone telemetry: MAVLink tlog, DataFlash, MISB KLV.", no_args_is_help=True
)
app.add_typer(telemetry_app, name="telemetry")

out = Console()
err = Console(stderr=True)

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory [default: $CEASEWATCH_DATA or ./ceasewatch-data]."),
]


def _settings(data: Path | None) -> Settings:
    return Settings(data=data) if data is not None else Settings()


def _time(value: str | None, name: str) -> datetime | None:
    return None if value is None else time_arg(value, name)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"ceasewatch {__version__}")
        raise typer.Exit()


@theater_app.command("check")
def theater_check(
    directory: Annotated[
        str, typer.Argument(help="Theater directory (with theater.toml), or `demo`.")
    ],
    tolerance_m: Annotated[
        float | None,
        typer.Option(
            "--tolerance-m", help="How far the contact line may stray from the areas' boundary (m)."
        ),
    ] = None,
) -> None:
    """Check a theater and explain every problem; exit 1 if there is any error.

    Example: ceasewatch theater check ./my-theater --tolerance-m 100
    """
    from ceasewatch.geo.check import check_theater

    report = check_theater(theater_dir(directory), tolerance_m)
    for p in report.problems:
        (err if p.severity == "error" else out).print(str(p), markup=False, highlight=False)
    th = report.theater
    if report.ok and th is not None:
        out.print(
            f"[green]ok[/green] {th.name}: {len(th.orgs)} orgs, {len(th.features)} features, "
            f"{len(th.change_times)} change time(s), CRS {th.crs}"
            + (f", {len(report.warnings)} warning(s)" if report.warnings else "")
        )
        return
    err.print(f"[red]{len(report.errors)} error(s)[/red] in {directory}")
    raise typer.Exit(1)


@telemetry_app.command("inspect")
def telemetry_inspect(
    file: Annotated[Path, typer.Argument(help="A .tlog, DataFlash .bin or MISB ST 0601 KLV file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a telemetry file without storing anything.

    Messages or packets by type, CRC / bad-data / error-value counts, time span, position
    bounds and the camera geometry the file can give. The kind is told from the content,
    never the file name.

    Example: ceasewatch telemetry inspect flight.tlog --json
    """
    import json

    from ceasewatch.ingest import inspect_telemetry

    if not file.is_file():
        raise NotFound(f"{file}: no such file")
    summary = inspect_telemetry(file)
    if as_json:
        print(json.dumps(summary, indent=1, sort_keys=True, default=str))
        return
    table = Table(title=f"{file} ({summary.get('kind', '?')})", show_header=False)
    for key, value in summary.items():
        text = (
            json.dumps(value, sort_keys=True, default=str)
            if isinstance(value, dict | list)
            else str(value)
        )
        table.add_row(str(key), text if len(text) < 400 else text[:400] + " ...")
    out.print(table)


@app.command("sim")
def sim(
    theater: Annotated[str, typer.Argument(help="Theater directory, or `demo`.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    seed: Annotated[int, typer.Option(help="Random seed: one seed, one scenario.")] = 1,
    hours: Annotated[
        float | None, typer.Option(help="Hours to simulate [default: theater's [sim] hours].")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Start time, ISO 8601 with offset [default: theater's [sim] start]."),
    ] = None,
    telemetry: Annotated[
        bool, typer.Option(help="Also write the drones' sorties: telemetry/*.tlog|.klv.")
    ] = False,
    telemetry_hz: Annotated[float, typer.Option(help="Telemetry samples per second.")] = 1.0,
) -> None:
    """Simulate a scenario with ground truth: sightings, detections, craters, allegations.

    Writes sightings.csv, detections.csv, craters.csv, allegations.csv and truth.json;
    with --telemetry also telemetry/<sortie>.tlog (or .klv) and telemetry/sorties.csv.
    The same theater, seed, start and hours give byte-identical files.

    Example: ceasewatch sim demo --seed 7 --hours 6 --out ./scenario --telemetry
    """
    from ceasewatch.geo.theater import load_theater
    from ceasewatch.sim import default_window, simulate, write_scenario

    th = load_theater(theater_dir(theater))
    t0, h = default_window(th, _time(start, "--start"), hours)
    scenario = simulate(th, seed, t0, h)
    files = write_scenario(scenario, out_dir, telemetry=telemetry, telemetry_hz=telemetry_hz)
    _print_scenario(scenario, files)
    if telemetry:
        out.print(f"{len(scenario.sorties)} sorties: {files['sorties']}")


def _print_scenario(scenario: Scenario, files: dict[str, Path]) -> None:
    obs = scenario.observations
    table = Table(title="Simulated", show_header=True)
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("what")
    kinds = Counter(s.kind.value for s in obs.sightings)
    table.add_row(
        "sightings.csv",
        str(len(obs.sightings)),
        ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
    )
    table.add_row("detections.csv", str(len(obs.detections)), "drone imagery of weapons and forces")
    table.add_row("craters.csv", str(len(obs.craters)), "crater analyses with direction of fire")
    n_true = sum(1 for v in obs.allegation_truth.values() if v["true"])
    table.add_row(
        "allegations.csv",
        str(len(obs.allegations)),
        f"{n_true} true, {len(obs.allegations) - n_true} false",
    )
    table.add_row(
        "truth.json",
        str(len(scenario.truth.occurrences)),
        f"occurrences in {len(scenario.truth.episodes)} episodes",
    )
    out.print(table)
    out.print(f"written to {files['truth'].parent}")


@app.command("analyze")
def analyze(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the results into.")],
    theater: Annotated[
        str | None, typer.Argument(help="Theater directory, or `demo` (not with --data).")
    ] = None,
    sightings: Annotated[Path | None, typer.Option("--sightings", help="sightings.csv")] = None,
    detections: Annotated[Path | None, typer.Option("--detections", help="detections.csv")] = None,
    craters: Annotated[Path | None, typer.Option("--craters", help="craters.csv")] = None,
    allegations: Annotated[
        Path | None, typer.Option("--allegations", help="allegations.csv")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Analyse every record a node holds (its log and its peers')."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Abort at the first bad row.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Processes to use (default: every CPU); same output."
        ),
    ] = None,
) -> None:
    """Locate, attribute and judge: events, violations and allegation findings.

    From files (THEATER and --sightings at least) or from a node (--data: its own log and
    every peer log it mirrors). Writes events.geojson, violations.geojson, violations.csv,
    allegations.csv and summary.json. A malformed row is reported (file, line, field),
    skipped and the rest analysed; the command then exits 2 and summary.json lists the
    skipped rows. --strict aborts instead. The output is the same for any order of the
    input rows, and the same on every node holding the same entries.

    Example: ceasewatch analyze demo --sightings s.csv --craters c.csv --out results
    """
    from ceasewatch._fork import available_cpus
    from ceasewatch.analysis import analyse_files, write_analysis

    result: Analysis
    procs = workers or available_cpus()
    if data is not None:
        if theater is not None or sightings is not None:
            raise InvalidInput("give either --data (a node) or THEATER with --sightings, not both")
        from ceasewatch.ledger.node import open_node
        from ceasewatch.ledger.records import analyse_node

        with open_node(data) as node:
            result = analyse_node(node)
    else:
        if theater is None or sightings is None:
            raise InvalidInput("give THEATER and --sightings (files), or --data (a node)")
        result = analyse_files(
            theater_dir(theater), sightings=sightings, detections=detections,
            craters=craters, allegations=allegations, strict=strict, workers=procs,
        )  # fmt: skip
    write_analysis(result, out_dir, workers=procs)
    _print_analysis(result)
    out.print(f"written to {out_dir}")
    if result.skipped:
        for p in result.skipped:
            err.print(f"skipped {p}", markup=False, highlight=False)
        err.print(f"[yellow]{len(result.skipped)} row(s) skipped[/yellow]; see summary.json")
        raise typer.Exit(2)


def _print_analysis(result: Analysis) -> None:
    s = result.summary()
    table = Table(title="Analysis", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("detail")
    ev = s["events"]
    table.add_row(
        "events", str(ev["total"]), ", ".join(f"{k} {n}" for k, n in ev["by_kind"].items())
    )
    vi = s["violations"]
    table.add_row(
        "violations", str(vi["total"]), ", ".join(f"{k} {n}" for k, n in vi["by_rule"].items())
    )
    table.add_row("  by side", "", ", ".join(f"{k} {n}" for k, n in vi["by_side"].items()))
    al = s["allegations"]
    table.add_row(
        "allegations", str(sum(al.values())), ", ".join(f"{k} {n}" for k, n in al.items())
    )
    out.print(table)


@app.command("demo")
def demo(
    data: DataOption = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated day.")] = 1,
) -> None:
    """Run everything ceasewatch does on the bundled demo theater, on a simulated day.

    Writes into DATA/demo (rewritten on each run): a copy of the theater, the day's
    contract files with their ground truth and the drones' telemetry (scenario/), the
    analysis of that day (analysis/), and two monitor nodes (nodes/) that log their own
    observations and sorties, serve them on loopback, sync and cosign each other's logs,
    analyse the joint record (analysis-<org>/) and map the drones' coverage of the line
    (coverage-<org>/), which must come out byte-identical on both.

    Example: ceasewatch demo --data /tmp/cw
    """
    from ceasewatch.demo import run_demo
    from ceasewatch.demo.run import STEPS

    settings = _settings(data)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("demo", total=len(STEPS))

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        result = run_demo(settings.data, seed, step)
    th = result.scenario.theater
    n_posts = len(th.at(result.scenario.truth.start).posts)
    out.print(
        f"[bold]{th.name}[/bold]: {len(th.sides)} sides, "
        f"{len(th.monitors)} monitor orgs, {n_posts} posts"
    )
    _print_scenario(result.scenario, result.files)
    _print_analysis(result.analysis)
    out.print(f"analysis: {result.analysis_files['events.geojson'].parent}")
    joint = result.joint
    for org, n in sorted(joint.appended.items()):
        out.print(
            f"node {org}: {n} entries in its signed log, {joint.sorties[org]} of them drone "
            f"sorties ({joint.nodes[org]})"
        )
    for report in joint.syncs:
        out.print(f"  sync: {report.summary()}", markup=False, highlight=False)
    same = "[green]yes[/green]" if joint.agree else "[red]NO[/red]"
    digest = next(iter(joint.digests.values()))[:16]
    out.print(
        f"both nodes derived the same events, violations and coverage: {same} (sha256 {digest}...)"
    )
    first = min(joint.coverage)
    out.print(
        f"drones observed {100.0 * joint.line_observed:.1f}% of the contact line during the "
        f"day; map: {joint.coverage[first] / 'coverage.png'}"
    )
    out.print(f"theater copy: {result.theater_dir}")


def main() -> None:
    """Entry point: run the app; print a user-facing error, never a traceback, for ours."""
    try:
        app()
    except CeasewatchError as exc:
        text = exc.diagnostics(limit=25)
        err.print("[red]error:[/red] ", end="", highlight=False)
        err.print(text, markup=False, highlight=False)
        sys.exit(1)
