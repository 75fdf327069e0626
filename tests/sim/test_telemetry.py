from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.ingest import inspect_telemetry
from ceasewatch.records import parse_time
from ceasewatch.sim import Scenario, simulate, write_scenario, write_telemetry
from ceasewatch.sim.telemetry import MANIFEST_COLUMNS, default_klv_drones

START = parse_time("2026-11-26T06:00:00Z")
SEED, HOURS, RATE_HZ = 21, 2.0, 0.1


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def scenario(demo_theater: Theater) -> Scenario:
    return simulate(demo_theater, SEED, START, HOURS)


@pytest.fixture(scope="module")
def written(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("scenario")
    return write_scenario(scenario, out, telemetry=True, telemetry_hz=RATE_HZ)


def test_telemetry_files_are_byte_identical_for_one_seed(
    demo_theater: Theater, written: dict[str, Path], tmp_path: Path
) -> None:
    again = simulate(demo_theater, SEED, START, HOURS)
    paths = write_scenario(again, tmp_path, telemetry=True, telemetry_hz=RATE_HZ)
    assert paths["sorties"] == tmp_path / "telemetry" / "sorties.csv"
    a, b = _files(written["telemetry"]), _files(paths["telemetry"])
    assert a == b
    assert {n.rsplit(".", 1)[1] for n in a} == {"csv", "tlog", "klv"}
    # Without telemetry the scenario's files are what they always were.
    plain = write_scenario(again, tmp_path / "plain")
    assert "telemetry" not in plain
    assert _files(tmp_path / "plain") == _files(written["truth"].parent)


def test_manifest_lists_every_sortie_and_file(
    demo_theater: Theater, scenario: Scenario, written: dict[str, Path]
) -> None:
    with written["sorties"].open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    by_takeoff = sorted(scenario.sorties, key=lambda s: (s.takeoff, s.id))
    assert [r["sortie"] for r in rows] == [s.id for s in by_takeoff]
    klv = set(default_klv_drones(demo_theater))
    for row, sortie in zip(rows, by_takeoff, strict=True):
        path = written["telemetry"] / row["file"]
        assert inspect_telemetry(path)["kind"] == ("klv" if row["drone"] in klv else "tlog")
        assert parse_time(row["start"]) == sortie.takeoff < parse_time(row["end"])
        drone = demo_theater.drones[row["drone"]]
        assert (row["org"], row["camera"]) == (drone.org, drone.camera)


def test_the_rate_is_checked(demo_theater: Theater, scenario: Scenario, tmp_path: Path) -> None:
    for bad in (0.0, -1.0, 1000.0):
        with pytest.raises(InvalidInput, match="rate"):
            write_telemetry(demo_theater, scenario.sorties, tmp_path, rate_hz=bad)
