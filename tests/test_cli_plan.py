"""`ceasewatch plan` through the real command on the demo theater."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from ceasewatch.analysis.planning import plan_sorties
from ceasewatch.analysis.planning_eval import sortie_samples
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater
from ceasewatch.records import parse_time
from tests.cli_helpers import run_cli

AT = "2026-11-27T06:00:00Z"


def test_plan_from_theater_writes_files_and_compares(tmp_path: Path) -> None:
    violations = tmp_path / "violations.csv"
    violations.write_text(
        "id,rule,side,p,severity,time,event_ids,detection_ids,lon,lat,description\n"
        "v1,fire,side-w,0.9,high,2026-11-27T04:00:00.000Z,e1,,46.9,40.0,test\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan"
    r = run_cli(
        "plan", "--for", "3", "--at", AT, "--theater", "demo", "--out", str(out),
        "--violations", str(violations), cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    plans = sorted(out.glob("*.plan"))
    assert plans
    routes = json.loads((out / "routes.geojson").read_text(encoding="utf-8"))
    assert len(routes["features"]) == len(plans)
    for f in routes["features"]:
        assert f["properties"]["drone"] in r.stdout
    ratio = re.search(r"ratio: ([0-9.]+)x", r.stdout)
    assert ratio is not None and float(ratio.group(1)) > 1.0
    assert re.search(r"plan: +[0-9.]+ priority-km per flight hour", r.stdout)
    assert re.search(r"naive: +[0-9.]+ priority-km per flight hour", r.stdout)
    doc = json.loads(plans[0].read_text(encoding="utf-8"))
    assert doc["fileType"] == "Plan" and doc["mission"]["items"]


def edited_theater(tmp_path: Path, edit: str) -> Path:
    """A copy of the demo theater, its theater.toml changed by `edit`."""
    th = tmp_path / "theater"
    shutil.copytree(demo_theater_dir(), th)
    toml = th / "theater.toml"
    text = toml.read_text(encoding="utf-8")
    if edit == "no drones":
        text = text[: text.index("[[drones]]")]
    elif edit == "short range":
        text = text.replace("max_range_km = 80.0", "max_range_km = 5.0")
    toml.write_text(text, encoding="utf-8")
    return th


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--for", "0", "--theater", "demo"], "--for must be a positive"),
        (["--for", "3"], "give either --theater"),
        (["--for", "3", "--theater", "no drones"], "the theater has no drones"),
        (["--for", "3", "--theater", "short range"], "uav-a1: its base base-a is"),
    ],
)
def test_plan_errors(tmp_path: Path, args: list[str], message: str) -> None:
    if args[-1] in ("no drones", "short range"):
        args = [*args[:-1], str(edited_theater(tmp_path, args[-1]))]
    r = run_cli("plan", *args, "--at", AT, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 1
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_plan_help_has_an_example(tmp_path: Path) -> None:
    r = run_cli("plan", "--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "Example: ceasewatch plan" in r.stdout


def flown_track_csv(theater: Theater, path: Path) -> None:
    """uav-a1's first planned sortie of the night before, flown, as a CSV track."""
    at = parse_time(AT) - timedelta(hours=4)
    sortie = plan_sorties(theater, None, [], at=at, hours=3.0).sorties[0]
    assert sortie.drone == "uav-a1"
    x, y, t, yaw, look = sortie_samples(theater, sortie, hz=0.5)
    lon, lat = theater.frame.to_wgs84(x, y)
    rows = ["time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_yaw_deg,gimbal_pitch_deg,gimbal_frame"]
    for i in range(len(t)):
        if look[i] == 0.0:
            continue
        when = datetime.fromtimestamp(float(t[i]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(
            f"{when},{lat[i]:.7f},{lon[i]:.7f},{sortie.altitude_m},{yaw[i]:.3f},"
            f"{look[i]},{-sortie.depression_deg:.3f},horizon"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def total_gain(routes: Path) -> float:
    doc = json.loads(routes.read_text(encoding="utf-8"))
    return float(sum(f["properties"]["gain"] for f in doc["features"]))


def test_plan_from_node_uses_its_tracks(tmp_path: Path, demo_theater: Theater) -> None:
    node = tmp_path / "node"
    r = run_cli(
        "node", "init", "--org", "mon-a", "--theater", str(demo_theater_dir()),
        "--data", str(node), cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    args = ["plan", "--for", "3", "--at", AT, "--data", str(node)]
    r = run_cli(*args, "--out", str(tmp_path / "before"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    track = tmp_path / "track.csv"
    flown_track_csv(demo_theater, track)
    r = run_cli(
        "ingest", "telemetry", str(track), "--sortie", "a1-night", "--drone", "uav-a1",
        "--data", str(node), cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli(*args, "--out", str(tmp_path / "after"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # The stretch flown four hours ago is worth 4 priority-hours a km, not 24.
    before = total_gain(tmp_path / "before" / "routes.geojson")
    after = total_gain(tmp_path / "after" / "routes.geojson")
    assert after < before - 1000.0


def test_plan_with_coverage_geojson(tmp_path: Path, demo_theater: Theater) -> None:
    from ceasewatch.analysis.coverage import Coverage
    from ceasewatch.analysis.coverage_report import coverage_geojson
    from ceasewatch.analysis.segments import theater_segments

    at = parse_time(AT)
    segs = theater_segments(demo_theater.at(at), demo_theater.frame, 250.0, zones=False)
    # The whole line was seen two hours ago: every stretch is worth 2, not 24.
    t = np.full(len(segs), (at - timedelta(hours=2)).timestamp())
    offsets = np.arange(len(segs) + 1, dtype=np.intp)
    cov = Coverage(segs, 5.0, 1000.0, offsets, t, t.copy())
    path = tmp_path / "coverage.geojson"
    path.write_text(
        coverage_geojson(cov, demo_theater.frame, at - timedelta(hours=24), at), encoding="utf-8"
    )
    base = ["plan", "--for", "3", "--at", AT, "--theater", "demo"]
    r = run_cli(*base, "--coverage", str(path), "--out", str(tmp_path / "cov"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    gain = total_gain(tmp_path / "cov" / "routes.geojson")
    fresh = plan_sorties(demo_theater, None, [], at=at, hours=3.0)
    assert gain == pytest.approx(fresh.gain * 2.0 / 24.0, rel=0.05)
