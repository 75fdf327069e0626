"""`ceasewatch demo`: a simulated day on the bundled demo theater, end to end.

Later work extends the chain (analysis, two nodes and their ledger, report, dashboard);
this stays the one command that shows everything ceasewatch does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ceasewatch.analysis import Analysis, analyse, write_analysis
from ceasewatch.analysis.sortie import observed_hook
from ceasewatch.demo.nodes import JointRun, run_nodes
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.check import check_theater
from ceasewatch.ingest.track import read_track
from ceasewatch.sim import Scenario, default_window, simulate, write_scenario, write_telemetry

__all__ = ["DemoResult", "demo_theater_dir", "run_demo"]

#: The demo's steps, in order, for progress display.
STEPS = (
    "check theater",
    "simulate",
    "write files and drone telemetry",
    "analyse",
    "two nodes: ingest, sync, cosign, coverage",
)
#: Telemetry samples per second in the demo's files: one every 4 s keeps the day's files
#: (about 12 MB) and the run short; a footprint stays over a segment for tens of seconds.
DEMO_TELEMETRY_HZ = 0.25


def demo_theater_dir() -> Path:
    """The bundled demo theater's directory (inside the installed package)."""
    return Path(__file__).resolve().parent / "theater"


@dataclass
class DemoResult:
    data_dir: Path
    theater_dir: Path
    scenario: Scenario
    analysis: Analysis
    joint: JointRun
    files: dict[str, Path] = field(default_factory=dict)
    analysis_files: dict[str, Path] = field(default_factory=dict)


def run_demo(
    data_dir: Path, seed: int = 1, step: Callable[[str], None] | None = None
) -> DemoResult:
    """Simulate the demo theater's default day into `data_dir/demo` and analyse it, then
    run it through two monitor nodes that sync, cosign and analyse the joint record.

    The demo folder is rewritten on each run (its content is a pure function of the
    seed); nothing else in `data_dir` is touched.
    """
    report = check_theater(demo_theater_dir())
    if step:
        step(STEPS[0])
    if not report.ok or report.theater is None:
        raise InvalidInput("the bundled demo theater does not check out", report.errors)
    theater = report.theater
    start, hours = default_window(theater)
    scenario = simulate(theater, seed, start, hours)
    if step:
        step(STEPS[1])
    out = data_dir / "demo"
    theater_copy = out / "theater"
    if theater_copy.exists():
        shutil.rmtree(theater_copy)
    shutil.copytree(demo_theater_dir(), theater_copy)
    files = write_scenario(scenario, out / "scenario")
    telemetry = write_telemetry(
        theater, scenario.sorties, out / "scenario" / "telemetry", rate_hz=DEMO_TELEMETRY_HZ
    )
    files["sorties"] = telemetry["sorties"]
    if step:
        step(STEPS[2])
    obs = scenario.observations
    tracks = [
        (f"{s.org}/{s.id}", theater.cameras[s.camera], read_track(telemetry[s.id]))
        for s in scenario.sorties
    ]
    result = analyse(
        theater,
        obs.sightings,
        obs.detections,
        obs.craters,
        obs.allegations,
        observed=observed_hook(theater, tracks),
    )
    analysis_files = write_analysis(result, out / "analysis")
    if step:
        step(STEPS[3])
    joint = run_nodes(scenario, theater_copy, out, telemetry)
    if step:
        step(STEPS[4])
    return DemoResult(data_dir, theater_copy, scenario, result, joint, files, analysis_files)
