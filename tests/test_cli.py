"""The command line as a user meets it: help everywhere, clear errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ceasewatch.cli import app
from tests.cli_helpers import run_cli

runner = CliRunner()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of a (click-style) group, as argument paths."""
    out: list[tuple[str, ...]] = []
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        out += _commands(cmd, path) if hasattr(cmd, "commands") else [path]
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_the_commands_of_this_issue_exist() -> None:
    assert {("demo",), ("sim",), ("theater", "check")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_demo_runs_into_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    env_dir = tmp_path / "from-env"
    r = run_cli("demo", cwd=tmp_path, env={"CEASEWATCH_DATA": str(env_dir)})
    assert r.returncode == 0, r.stderr
    assert (env_dir / "demo" / "scenario" / "sightings.csv").is_file()
    assert (env_dir / "demo" / "theater" / "theater.toml").is_file()
    assert "sightings.csv" in r.stdout and str(env_dir) in r.stdout
    # Two monitor nodes synced and derived byte-identical results from the joint record.
    assert "same events, violations and coverage: yes" in r.stdout
    demo = env_dir / "demo"
    for name in ("events.geojson", "violations.csv", "summary.json", "allegations.csv"):
        assert (demo / "analysis-mon-a" / name).read_bytes() == (
            demo / "analysis-mon-b" / name
        ).read_bytes()
        assert (demo / "analysis-mon-a" / name).read_bytes() == (
            demo / "analysis" / name
        ).read_bytes()
    # Each node logged its own drones' sorties, synced the other's, and mapped them all.
    manifest = (demo / "scenario" / "telemetry" / "sorties.csv").read_text().splitlines()
    assert len(manifest) > 4 and "drone sorties" in r.stdout
    for name in ("coverage.geojson", "coverage_summary.json", "coverage.png"):
        assert (demo / "coverage-mon-a" / name).read_bytes() == (
            demo / "coverage-mon-b" / name
        ).read_bytes()
    summary = json.loads((demo / "coverage-mon-a" / "coverage_summary.json").read_text())
    share = summary["line"]["observed_share"]
    assert 0.0 < share < 1.0 and f"{100.0 * share:.1f}% of the contact line" in r.stdout


def test_theater_check_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("theater", "check", "demo", cwd=tmp_path)
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "theater.toml").write_text(
        '[theater]\nname = "x"\ngeometry = "g.geojson"\n[[orgs]]\nid = "A"\n'
    )
    (bad / "g.geojson").write_text("{not json")
    r = run_cli("theater", "check", str(bad), cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr + r.stdout
    assert "[a-z0-9-]+" in r.stderr


def test_sim_writes_the_contract_files_and_refuses_a_local_time(tmp_path: Path) -> None:
    r = run_cli("sim", "demo", "--seed", "5", "--hours", "2", "--out", "scn", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "scn").iterdir()) == [
        "allegations.csv", "craters.csv", "detections.csv", "sightings.csv", "truth.json",
    ]  # fmt: skip
    r = run_cli("sim", "demo", "--start", "2026-11-26T00:00:00", "--out", "x", cwd=tmp_path)
    assert r.returncode == 1
    assert "no UTC offset" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("sim", "no-such-dir", "--out", "x", cwd=tmp_path)
    assert r.returncode == 1 and "no such directory" in r.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and "ceasewatch" in result.output


def test_analyze_skips_bad_rows_exits_2_and_strict_aborts(tmp_path: Path) -> None:
    assert run_cli("sim", "demo", "--hours", "3", "--out", "scn", cwd=tmp_path).returncode == 0
    rows = (tmp_path / "scn" / "sightings.csv").read_text().splitlines()
    rows.insert(2, rows[1].replace("Z,", ",", 1))  # a time without an offset
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    r = run_cli(
        "analyze",
        "demo",
        "--sightings",
        str(bad),
        "--craters",
        "scn/craters.csv",
        "--out",
        "res",
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    assert f"{bad}:3 time" in r.stderr and "Traceback" not in r.stderr
    summary = (tmp_path / "res" / "summary.json").read_text()
    assert "no UTC offset" in summary
    assert (tmp_path / "res" / "events.geojson").is_file()
    r = run_cli(
        "analyze", "demo", "--sightings", str(bad), "--out", "res2", "--strict", cwd=tmp_path
    )
    assert r.returncode == 1 and "nothing was loaded" in r.stderr
    assert not (tmp_path / "res2").exists()


def test_telemetry_inspect_tells_kind_by_content(tmp_path: Path, samples_dir: Path) -> None:
    r = run_cli(
        "telemetry",
        "inspect",
        str(samples_dir / "mavlink" / "ardusub_small.tlog"),
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert '"messages_total": 35916' in r.stdout
    fake = tmp_path / "notes.tlog"
    fake.write_text("# not telemetry\n")
    r = run_cli("telemetry", "inspect", str(fake), cwd=tmp_path)
    assert r.returncode == 1 and "not a MAVLink telemetry log" in r.stderr
    assert "Traceback" not in r.stderr
