"""Drones and cameras in theater.toml: read, and every mistake named where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasewatch.geo.fleet import Camera, Drone, read_fleet
from ceasewatch.geo.theater import Theater, read_theater
from tests.geo.conftest import MakeTheater

CAMERA = """
[[cameras]]
id = "eo"
hfov_deg = 30.0
vfov_deg = 17.0
"""

DRONE = """
[[drones]]
id = "uav-1"
org = "mon-a"
base = "B-1"
camera = "eo"
endurance_h = 6.0
cruise_mps = 28.0
max_range_km = 80.0
"""


def _with(root: Path, text: str) -> Path:
    toml = root / "theater.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + text, encoding="utf-8")
    return root


def test_demo_theater_has_two_drones_per_monitor(demo_theater: Theater) -> None:
    by_org = sorted((d.org, d.id) for d in demo_theater.drones.values())
    assert by_org == [
        ("mon-a", "uav-a1"),
        ("mon-a", "uav-a2"),
        ("mon-b", "uav-b1"),
        ("mon-b", "uav-b2"),
    ]
    assert demo_theater.cameras["eo-30"].max_slant_m == 3000.0


def test_fleet_is_read(make_theater: MakeTheater) -> None:
    theater, problems = read_theater(_with(make_theater(), CAMERA + DRONE))
    assert problems == [] and theater is not None
    assert theater.cameras == {"eo": Camera("eo", 30.0, 17.0, 3000.0, None)}
    assert theater.drones == {"uav-1": Drone("uav-1", "mon-a", "B-1", "eo", 6.0, 28.0, 80.0)}


def test_a_theater_without_drones_has_none(make_theater: MakeTheater) -> None:
    theater, problems = read_theater(make_theater())
    assert problems == [] and theater is not None and theater.drones == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('org = "mon-a"', 'org = "side-w"', "org 'side-w' is not a monitor org"),
        ('base = "B-1"', 'base = "B-9"', "base 'B-9' is not a base feature (bases: B-1)"),
        ('org = "mon-a"', 'org = "mon-b"', "base 'B-1' belongs to mon-a, not 'mon-b'"),
        ('camera = "eo"', 'camera = "ir"', "camera 'ir' is not in [[cameras]] (eo)"),
        ("cruise_mps = 28.0", 'cruise_mps = "fast"', "needs cruise_mps = a number"),
        ("endurance_h = 6.0", "endurance_h = -1", "endurance_h = -1 must lie in (0, 100)"),
        ('id = "uav-1"', 'id = "UAV 1"', "id 'UAV 1' must match"),
        ("hfov_deg = 30.0", "hfov_deg = 200", "hfov_deg = 200 must lie in (0, 180)"),
        ("vfov_deg = 17.0", "vfov_deg = 17.0\nmax_gsd_m = 0.3", "max_gsd_m needs image_width_px"),
    ],
)
def test_each_mistake_is_named(make_theater: MakeTheater, old: str, new: str, message: str) -> None:
    text = (CAMERA + DRONE).replace(old, new, 1)
    theater, problems = read_theater(_with(make_theater(), text))
    assert theater is None
    assert len(problems) >= 1
    assert message in problems[0].what
    assert "theater.toml [[" in problems[0].where and "#1" in problems[0].where


def test_a_drone_defined_twice_is_refused(make_theater: MakeTheater) -> None:
    theater, problems = read_theater(_with(make_theater(), CAMERA + DRONE + DRONE))
    assert theater is None
    assert [p.where.rsplit(" ", 1)[-1] for p in problems] == ["#2"]
    assert "defined twice" in problems[0].what


def test_drones_must_be_an_array_of_tables() -> None:
    _, drones, problems = read_fleet({"drones": "uav-1"}, "theater.toml", {"mon-a"}, {})
    assert drones == {}
    assert [str(p) for p in problems] == [
        "theater.toml: drones must be an array of tables ([[drones]])"
    ]
