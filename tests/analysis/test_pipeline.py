"""The analysis end to end on simulated days: contract, determinism, honesty."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis import OUTPUT_FILES, Analysis, analyse, analyse_files, write_analysis
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater
from ceasewatch.records import SPECS, Allegation, parse_time, write_records
from ceasewatch.sim import Scenario, default_window, simulate
from tests.analysis.common import association_scores

EVENT_PROPERTIES = (
    "id", "time", "kind", "count", "sightings", "outliers", "craters", "cov_m2",
    "semi_major_m", "semi_minor_m", "orientation_deg", "crlb_m", "p_side", "d_line_m",
)  # fmt: skip


@pytest.fixture(scope="module")
def day(demo_theater: Theater) -> Scenario:
    start, _ = default_window(demo_theater)
    return simulate(demo_theater, 21, start, 8)


@pytest.fixture(scope="module")
def result(demo_theater: Theater, day: Scenario) -> Analysis:
    o = day.observations
    return analyse(demo_theater, o.sightings, o.detections, o.craters, o.allegations)


def _bytes(result: Analysis, out: Path) -> dict[str, bytes]:
    paths = write_analysis(result, out)
    return {name: paths[name].read_bytes() for name in OUTPUT_FILES}


def test_every_sighting_is_in_exactly_one_event(day: Scenario, result: Analysis) -> None:
    seen = Counter(s for e in result.events for s in e.sightings)
    assert set(seen) == {s.id for s in day.observations.sightings}
    assert set(seen.values()) == {1}
    for e in result.events:
        assert set(e.outliers) <= set(e.sightings)


def test_events_contract(result: Analysis, tmp_path: Path) -> None:
    paths = write_analysis(result, tmp_path)
    events = json.loads(paths["events.geojson"].read_text())
    feats = events["features"]
    assert feats and [(f["properties"]["time"], f["properties"]["id"]) for f in feats] == sorted(
        (f["properties"]["time"], f["properties"]["id"]) for f in feats
    )
    for f in feats:
        p = f["properties"]
        assert set(EVENT_PROPERTIES) <= set(p)
        assert p["semi_major_m"] >= p["semi_minor_m"] >= 0
        assert 0 <= p["orientation_deg"] < 180
        if p["p_side"]:
            assert abs(sum(p["p_side"].values()) - 1) < 1e-3
        assert p["time"].endswith("Z")
    assert any(f["properties"]["kind"] == "firing_position" for f in feats)
    header = paths["violations.csv"].read_text().splitlines()[0]
    assert header == "id,rule,side,p,severity,time,event_ids,detection_ids,lon,lat,description"
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["inputs"]["sightings"] > 0 and summary["skipped"] == []


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_any_input_order_gives_byte_identical_output(
    demo_theater: Theater,
    day: Scenario,
    result: Analysis,
    seed: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    o = day.observations
    shuffled = [list(x) for x in (o.sightings, o.detections, o.craters, o.allegations)]
    rnd = random.Random(seed)
    for x in shuffled:
        rnd.shuffle(x)
    again = analyse(demo_theater, *shuffled)  # type: ignore[arg-type]
    base = tmp_path_factory.mktemp("a")
    assert _bytes(again, base / "shuffled") == _bytes(result, base / "original")


def test_association_is_mostly_right(day: Scenario, result: Analysis) -> None:
    """A small, loose version of benchmarks/accuracy.py (which holds the real targets)."""
    precision, recall = association_scores(day.observations.sighting_truth, result.events)
    assert precision > 0.9 and recall > 0.85


def test_rows_outside_the_theater_are_reported_not_guessed(
    demo_theater: Theater, day: Scenario
) -> None:
    s = day.observations.sightings[0]
    far = s.model_copy(update={"id": "far", "lat": 10.0, "lon": 10.0})
    r = analyse(demo_theater, [s, far])
    assert [p.where for p in r.skipped] == ["sighting far"]
    assert "outside the theater" in r.skipped[0].what
    assert {i for e in r.events for i in e.sightings} == {s.id}


def test_demo_day_yields_violations_of_several_rules(result: Analysis) -> None:
    rules = {v.rule for v in result.violations}
    assert "fire-across-line" in rules
    for v in result.violations:
        assert 0 <= v.p <= 1 and v.time >= parse_time("2026-11-25T00:00:00Z")


def test_observed_hook_reaches_the_allegations(demo_theater: Theater, tmp_path: Path) -> None:
    """A place no post watches is no_coverage, unless the `observed` hook says it was seen."""
    alg = Allegation(
        id="AL-far",
        time=parse_time("2026-11-26T12:00:00Z"),
        by="side-e",
        against="side-w",
        lat=39.9,
        lon=46.15,  # some 30 km west of the nearest post
        radius_m=500.0,
    )
    calls: list[tuple[float, float, str]] = []

    def watched(x_m: float, y_m: float, t: datetime) -> bool:
        calls.append((x_m, y_m, t.isoformat()))
        return True

    unseen = analyse(demo_theater, [], allegations=[alg])
    seen = analyse(demo_theater, [], allegations=[alg], observed=watched)
    assert [f.status for f in unseen.findings] == ["no_coverage"]
    assert [f.status for f in seen.findings] == ["not_supported"]
    assert seen.findings[0].extra["observed_by_coverage"] is True
    assert [t for *_, t in calls] == ["2026-11-26T12:00:00+00:00"]
    files = {name: tmp_path / f"{name}.csv" for name in ("sightings", "allegations")}
    write_records(files["sightings"], SPECS["sightings"], [])
    write_records(files["allegations"], SPECS["allegations"], [alg])
    from_files = analyse_files(
        demo_theater_dir(),
        sightings=files["sightings"],
        allegations=files["allegations"],
        observed=watched,
    )
    assert [f.status for f in from_files.findings] == ["not_supported"]
