"""`ceasewatch coverage` as a user runs it: from telemetry files, from a node, and its
errors."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater
from ceasewatch.ingest.track import Track
from tests.analysis.test_sortie import T0, line_track
from tests.cli_helpers import run_cli

FROM, TO = "2026-11-26T02:00:00Z", "2026-11-26T06:00:00Z"


def write_csv_track(path: Path, track: Track) -> Path:
    """A track as the plain CSV track format (docs/telemetry.md)."""
    rows = ["time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_yaw_deg,gimbal_pitch_deg,gimbal_frame"]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for i in range(len(track)):
        t = epoch + timedelta(microseconds=int(track.t_us[i]))
        rows.append(
            f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z,{track.lat_deg[i]:.7f},"
            f"{track.lon_deg[i]:.7f},{track.alt_m[i]:.1f},{track.yaw_deg[i]:.2f},"
            f"{track.gimbal_yaw_deg[i]:.2f},{track.gimbal_pitch_deg[i]:.1f},earth"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def flights(demo_theater: Theater, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two CSV tracks along the demo line: 20-30 km at 02:00, 60-66 km at 03:00."""
    d = tmp_path_factory.mktemp("flights")
    a = line_track(demo_theater, start_km=20.0, length_km=10.0)
    b = line_track(demo_theater, T0 + timedelta(hours=1), start_km=60.0, length_km=6.0)
    return [write_csv_track(d / "a1.csv", a), write_csv_track(d / "b1.csv", b)]


def _files_args(flights: list[Path], out: Path) -> list[str]:
    return [
        "coverage",
        "--from",
        FROM,
        "--to",
        TO,
        "--theater",
        "demo",
        "--telemetry",
        str(flights[0]),
        "--drone",
        "uav-a1",
        "--telemetry",
        str(flights[1]),
        "--drone",
        "uav-b1",
        "--segment-m",
        "500",
        "--window-h",
        "3",
        "--out",
        str(out),
    ]


def test_coverage_from_files_writes_the_three_files(flights: list[Path], tmp_path: Path) -> None:
    r = run_cli(*_files_args(flights, tmp_path / "cov"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "observed in the period:" in r.stdout and "Longest stretches" in r.stdout
    out = tmp_path / "cov"
    summary = json.loads((out / "coverage_summary.json").read_text(encoding="utf-8"))
    line = summary["line"]
    # 16 km flown over a 138.9 km line: about 11.5% of it seen.
    assert 0.10 < line["observed_share"] < 0.13
    # In the 3 h before 06:00 only the second flight (03:00-03:03) counts: 6 km.
    assert 0.035 < line["observed_share_window"] < 0.05
    assert (
        len(summary["hourly"]) == 4 and summary["hourly"][0]["time"] == "2026-11-26T03:00:00.000Z"
    )
    assert [t["id"] for t in summary["inputs"]["tracks"]] == [str(p) for p in flights]
    assert summary["inputs"]["segment_m"] == 500.0
    features = json.loads((out / "coverage.geojson").read_text(encoding="utf-8"))["features"]
    seen = [f for f in features if f["properties"]["visits"] > 0]
    assert {f["properties"]["group"] for f in features} >= {"line", "zone:corridor-lachar"}
    assert seen and all(f["properties"]["first_seen"] < "2026-11-26T03:04" for f in seen)
    png = (out / "coverage.png").read_bytes()
    assert struct.unpack(">II", png[16:24]) == (1600, 1200)
    # The same command again: the same bytes.
    again = run_cli(*_files_args(flights, tmp_path / "again"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for name in ("coverage.geojson", "coverage.png", "coverage_summary.json"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_coverage_from_a_node_uses_the_sorties_it_holds(
    flights: list[Path], tmp_path: Path
) -> None:
    node = tmp_path / "node"
    steps = [
        [
            "node",
            "init",
            "--org",
            "mon-a",
            "--theater",
            str(demo_theater_dir()),
            "--data",
            str(node),
        ],
        ["ingest", "telemetry", str(flights[0]), "--sortie", "a1-1", "--drone", "uav-a1"],
    ]
    for args in steps:
        r = run_cli(*args, cwd=tmp_path, env={"CEASEWATCH_DATA": str(node)})
        assert r.returncode == 0, r.stderr
    r = run_cli(
        "coverage", "--from", FROM, "--to", TO, "--data", str(node), "--out", str(tmp_path / "c"),
        "--segment-m", "500", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "c" / "coverage_summary.json").read_text(encoding="utf-8"))
    assert [t["id"] for t in summary["inputs"]["tracks"]] == ["mon-a/a1-1"]
    assert 0.065 < summary["line"]["observed_share"] < 0.08  # 10 km of 138.9
    empty = run_cli(
        "coverage", "--from", "2026-11-20T00:00Z", "--to", "2026-11-21T00:00Z", "--data",
        str(node), "--out", str(tmp_path / "e"), cwd=tmp_path,
    )  # fmt: skip
    assert empty.returncode == 1 and "no telemetry in the period" in empty.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--from": TO, "--to": FROM}, "is not before --to"),
        ({"--from": "2026-11-27T00:00:00Z", "--to": "2026-11-28T00:00:00Z"}, "no telemetry in"),
        ({"--drone": "uav-zz"}, "unknown drone 'uav-zz'"),
        ({"--from": "2026-11-26T02:00:00"}, "--from"),
    ],
)
def test_clear_errors(
    flights: list[Path], tmp_path: Path, change: dict[str, str], message: str
) -> None:
    args = [
        "coverage", "--from", FROM, "--to", TO, "--theater", "demo",
        "--telemetry", str(flights[0]), "--drone", "uav-a1", "--out", str(tmp_path / "x"),
    ]  # fmt: skip
    for flag, value in change.items():
        args[args.index(flag) + 1] = value
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 1, r.stdout
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_files_and_node_are_not_mixed(tmp_path: Path) -> None:
    r = run_cli(
        "coverage", "--from", FROM, "--to", TO, "--theater", "demo", "--out", str(tmp_path),
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1 and "--drone" in r.stderr
    r = run_cli(
        "coverage", "--from", FROM, "--to", TO, "--data", str(tmp_path), "--theater", "demo",
        "--out", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1 and "not both" in r.stderr
