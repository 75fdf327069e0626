"""QGroundControl .plan files and the routes GeoJSON: the structure QGC loads, waypoints
equal to the route, the same bytes for the same plan."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ceasewatch.analysis.planning import Plan, plan_sorties
from ceasewatch.geo.theater import Theater
from ceasewatch.report.plan_files import (
    FIRMWARE_PX4,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    plan_file_name,
    qgc_plan,
    routes_geojson,
    write_plan_files,
)

AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan(demo_theater: Theater) -> Plan:
    return plan_sorties(demo_theater, None, [], at=AT, hours=3.0)


def check_structure(doc: dict[str, Any]) -> None:
    """The keys and types QGroundControl's plan loader (MissionController,
    MissionItem::load) requires, with the values this writer promises."""
    assert set(doc) == {
        "fileType",
        "version",
        "groundStation",
        "mission",
        "geoFence",
        "rallyPoints",
    }
    assert (doc["fileType"], doc["version"], doc["groundStation"]) == ("Plan", 1, "QGroundControl")
    assert doc["geoFence"] == {"version": 2, "circles": [], "polygons": []}
    assert doc["rallyPoints"] == {"version": 2, "points": []}
    m = doc["mission"]
    assert m["version"] == 2
    assert m["firmwareType"] in (3, 12)
    assert m["vehicleType"] == 2
    assert isinstance(m["cruiseSpeed"], float) and isinstance(m["hoverSpeed"], float)
    home = m["plannedHomePosition"]
    assert isinstance(home, list) and len(home) == 3
    assert all(isinstance(v, float) for v in home)
    assert m["items"], "a plan must hold at least one mission item"
    for n, item in enumerate(m["items"], start=1):
        assert item["type"] == "SimpleItem"
        assert item["doJumpId"] == n
        assert item["frame"] == 3
        assert item["autoContinue"] is True
        assert item["command"] in (16, 20, 22)
        params = item["params"]
        assert len(params) == 7
        assert all(p is None or isinstance(p, int | float) for p in params)


def test_plan_json_structure_and_waypoints(plan: Plan) -> None:
    assert plan.sorties
    for s in plan.sorties:
        doc = qgc_plan(s)
        check_structure(doc)
        items = doc["mission"]["items"]
        assert [i["command"] for i in items] == [
            MAV_CMD_NAV_TAKEOFF,
            *[MAV_CMD_NAV_WAYPOINT] * (len(s.route) - 2),
            MAV_CMD_NAV_RETURN_TO_LAUNCH,
        ]
        # Takeoff at the base, a waypoint at every point of the route, home by RTL.
        lat_lon = [(i["params"][4], i["params"][5]) for i in items[:-1]]
        route = [(lat, lon) for lon, lat in s.route[:-1]]
        for (a, b), (c, d) in zip(lat_lon, route, strict=True):
            assert a == pytest.approx(c, abs=1e-7) and b == pytest.approx(d, abs=1e-7)
        assert all(i["params"][6] == s.altitude_m for i in items[:-1])
        assert doc["mission"]["plannedHomePosition"][:2] == [
            items[0]["params"][4],
            items[0]["params"][5],
        ]
        assert doc["mission"]["cruiseSpeed"] == s.cruise_mps
    assert qgc_plan(plan.sorties[0], firmware_type=FIRMWARE_PX4)["mission"]["firmwareType"] == 12


def test_routes_geojson(plan: Plan) -> None:
    doc = routes_geojson(plan)
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == len(plan.sorties)
    for f, s in zip(doc["features"], plan.sorties, strict=True):
        assert f["geometry"]["type"] == "LineString"
        assert len(f["geometry"]["coordinates"]) == len(s.route)
        p = f["properties"]
        assert (p["drone"], p["sortie"], p["file"]) == (s.drone, s.number, plan_file_name(s))
        assert p["takeoff"] == s.takeoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert p["landing"] == s.landing.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert math.isclose(p["flight_h"], s.flight_h, abs_tol=5e-4)
        assert math.isclose(p["km"], s.km, abs_tol=0.05)
        assert math.isclose(p["gain"], s.gain, abs_tol=0.05)


def test_write_plan_files_same_bytes(plan: Plan, tmp_path: Path) -> None:
    a = write_plan_files(plan, tmp_path / "a")
    b = write_plan_files(plan, tmp_path / "b")
    assert [p.name for p in a] == [*(plan_file_name(s) for s in plan.sorties), "routes.geojson"]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
    for p in a[:-1]:
        check_structure(json.loads(p.read_text(encoding="utf-8")))
