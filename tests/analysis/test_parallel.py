"""The analysis on several processes gives the bytes it gives on one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasewatch._fork import available_cpus, fork_map, spans
from ceasewatch.analysis import (
    OUTPUT_FILES,
    analyse_files,
    attribution,
    output,
    write_analysis,
)
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater
from ceasewatch.records import SPECS, write_records
from ceasewatch.sim import default_window, simulate


def _square(shared: list[int], i: int) -> int:
    return shared[i] * shared[i]


def _fail(shared: list[int], i: int) -> int:
    if i == 2:
        raise ValueError(f"task {i} failed")
    return i


def test_fork_map_keeps_task_order() -> None:
    data = list(range(50))
    want = [v * v for v in data]
    assert fork_map(_square, data, len(data), 1) == want
    assert fork_map(_square, data, len(data), 3) == want
    assert fork_map(_square, data, 0, 3) == []


def test_fork_map_raises_a_task_error() -> None:
    with pytest.raises(ValueError, match="task 2 failed"):
        fork_map(_fail, [], 4, 2)


def _nested(shared: list[int], i: int) -> list[int]:
    return fork_map(_square, shared, len(shared), 2)


def test_fork_map_in_a_forked_task_runs_serially() -> None:
    data = [1, 2, 3]
    assert fork_map(_nested, data, 2, 2) == [[1, 4, 9], [1, 4, 9]]


def test_spans_cover_the_range_in_order() -> None:
    assert spans(0, 3) == []
    assert spans(5, 1) == [(0, 5)]
    assert spans(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert spans(2, 5) == [(0, 1), (1, 2)]
    assert available_cpus() >= 1


@pytest.fixture(scope="module")
def sightings_csv(demo_theater: Theater, tmp_path_factory: pytest.TempPathFactory) -> Path:
    start, _ = default_window(demo_theater)
    day = simulate(demo_theater, 5, start, 6, fire_rate_per_h=30)
    path = tmp_path_factory.mktemp("parallel") / "sightings.csv"
    write_records(path, SPECS["sightings"], day.observations.sightings)
    return path


def test_processes_give_the_same_bytes(
    sightings_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks and batches, so that a small day is cut into many tasks (the same
    # chunks alone).
    monkeypatch.setattr(attribution, "CHUNK", 64)
    monkeypatch.setattr(attribution, "_NEAR_BATCH", 16)
    monkeypatch.setattr(output, "_MIN_PER_TASK", 7)
    files = {}
    for workers in (1, 2, 3):
        result = analyse_files(demo_theater_dir(), sightings=sightings_csv, workers=workers)
        assert len(result.events) > 3 * 64 and len(result.violations) > 3 * 7
        paths = write_analysis(result, tmp_path / str(workers), workers=workers)
        files[workers] = {name: paths[name].read_bytes() for name in OUTPUT_FILES}
    assert files[2] == files[1]
    assert files[3] == files[1]
