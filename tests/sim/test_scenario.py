from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.bearings import BearingRef, to_true_bearing
from ceasewatch.geo.features import ZoneType
from ceasewatch.geo.geodesy import inverse
from ceasewatch.geo.theater import Theater
from ceasewatch.records import SPECS, Detection, Sighting, parse_time, read_records
from ceasewatch.sim import CONTRACT_FILES, Scenario, default_window, simulate, write_scenario


@pytest.fixture(scope="module")
def day(demo_theater: Theater) -> Scenario:
    start, hours = default_window(demo_theater)
    return simulate(demo_theater, 3, start, hours)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_same_bytes_other_seed_other_scenario(
    demo_theater: Theater, tmp_path: Path
) -> None:
    start = parse_time("2026-11-26T06:00:00Z")
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        write_scenario(simulate(demo_theater, seed, start, 6), tmp_path / name)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert sorted(a) == sorted([*(f"{n}.csv" for n in CONTRACT_FILES), "truth.json"])
    assert a["sightings.csv"] != c["sightings.csv"]


def test_contract_files_read_back_strictly(
    demo_theater: Theater, day: Scenario, tmp_path: Path
) -> None:
    files = write_scenario(day, tmp_path)
    for name in CONTRACT_FILES:
        loaded = read_records(files[name], SPECS[name], demo_theater.org_roles(), on_error="raise")
        assert loaded.records == day.records(name), name
    header = files["sightings"].read_text().splitlines()[0]
    assert header == (
        "id,time,org,observer,lat,lon,bearing_deg,bearing_sigma_deg,bearing_ref,"
        "range_min_m,range_max_m,kind,count,sense"
    )


def test_every_sighting_traces_to_one_occurrence(day: Scenario, tmp_path: Path) -> None:
    truth = json.loads(write_scenario(day, tmp_path)["truth"].read_text())
    ids = {s.id for s in day.observations.sightings}
    assert set(truth["sightings"]) == ids
    occ = {o["id"] for o in truth["occurrences"]}
    assert set(truth["sightings"].values()) <= occ


def test_reporting_habits_and_noise_are_realistic(demo_theater: Theater, day: Scenario) -> None:
    obs = day.observations
    refs = Counter(s.bearing_ref for s in obs.sightings)
    assert refs[BearingRef.MAGNETIC] > 0 and refs[BearingRef.GRID] > 0 and refs[BearingRef.TRUE] > 0
    assert any(s.bearing_compass for s in obs.sightings)
    assert any(s.range_min_m is None for s in obs.sightings)
    assert any(s.bearing_sigma_deg is None and not s.bearing_compass for s in obs.sightings)
    occ = {o.id: o for o in day.truth.occurrences}
    profiles = {p.post: p for p in day.profiles}
    errors, late = [], []
    for s in obs.sightings:
        o = occ[obs.sighting_truth[s.id]]
        true_az, _, dist = inverse(s.lon, s.lat, o.lon, o.lat)
        got = to_true_bearing(
            s.bearing_deg, s.bearing_ref, s.lat, s.lon, s.time, frame=demo_theater.frame
        )
        err = (got - float(true_az[0]) + 180.0) % 360.0 - 180.0
        sigma = s.sigma_deg or profiles[s.observer].sigma_deg
        errors.append(abs(err) / sigma)
        if s.sense == "heard":
            late.append((s.time - o.time).total_seconds() - float(dist[0]) / 343.0)
    z = np.array(errors)
    # Most bearings within 3 sigma once converted to true; a few percent are gross errors.
    assert 0.85 < float(np.mean(z < 3)) < 0.995
    assert float(np.mean(z > 6)) > 0.01
    # Heard events arrive late by the speed of sound, up to clock noise.
    assert abs(float(np.median(late))) < 10


def test_violations_are_seeded_into_the_detections(demo_theater: Theater, day: Scenario) -> None:
    obs = day.observations
    sites = {s.id: s for s in day.truth.sites}
    notes = Counter(sites[obs.detection_truth[d.id]].note for d in obs.detections)
    assert any(n == "in withdrawal zone" for n in notes)
    lingering = [
        d
        for d in obs.detections
        if sites[obs.detection_truth[d.id]].note.startswith("after handover")
    ]
    assert lingering, "the demo day hands over a district: the old side should linger"
    for d in lingering:
        assert isinstance(d, Detection)
        zone = next(
            z
            for z in demo_theater.at(d.time).zones_of(ZoneType.DISTRICT)
            if z.id in sites[obs.detection_truth[d.id]].note
        )
        assert zone.handover_by is not None and d.time >= zone.handover_by
        assert zone.geometry.buffer(0.001).contains(Point(d.lon, d.lat))


def test_fire_comes_from_the_shooters_area(demo_theater: Theater, day: Scenario) -> None:
    shots = [o for o in day.truth.occurrences if o.kind == "shot"]
    assert shots
    for o in shots:
        assert demo_theater.at(o.time).side_at(o.lon, o.lat) == o.side


def test_craters_point_back_at_the_firing_position(day: Scenario) -> None:
    occ = {o.id: o for o in day.truth.occurrences}
    assert day.observations.craters
    for c in day.observations.craters:
        origin = occ[str(day.observations.crater_truth[c.id]["origin"])]
        az = float(inverse(c.lon, c.lat, origin.lon, origin.lat)[0][0])
        assert abs((c.direction_deg - az + 180) % 360 - 180) < 5 * (c.direction_sigma_deg or 10)


def test_allegations_true_and_false(day: Scenario) -> None:
    truth = day.observations.allegation_truth
    assert {bool(v["true"]) for v in truth.values()} == {True, False}


def test_sightings_sorted_and_within_the_window(day: Scenario) -> None:
    s: list[Sighting] = day.observations.sightings
    assert [x.time for x in s] == sorted(x.time for x in s)
    lo = day.truth.start - timedelta(minutes=1)
    hi = day.truth.start + timedelta(hours=day.truth.hours, minutes=5)
    assert all(lo <= x.time <= hi for x in s)


def test_window_needs_a_start(demo_theater: Theater) -> None:
    bare = Theater(
        "bare",
        demo_theater.root,
        list(demo_theater.orgs.values()),
        demo_theater.features,
        demo_theater.crs,
    )
    with pytest.raises(InvalidInput, match="no \\[sim\\] start"):
        default_window(bare)
    with pytest.raises(InvalidInput, match="hours"):
        simulate(demo_theater, 1, parse_time("2026-11-26T00:00:00Z"), 0)
