"""Plan files: one QGroundControl `.plan` mission per sortie, and the routes as GeoJSON.

The `.plan` format is QGroundControl's JSON plan file, version 1 (QGC developer guide,
"Plan File Format"; read by `MissionController::_loadJsonMissionFileV2` and
`MissionItem::load`), which QGroundControl and Mission Planner load:

    {"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",
     "mission": {"version": 2, "firmwareType": 3 (MAV_AUTOPILOT: 3 ArduPilot, 12 PX4),
                 "vehicleType": 2 (MAV_TYPE), "cruiseSpeed": m/s, "hoverSpeed": m/s,
                 "globalPlanAltitudeMode": 1 (relative to home),
                 "plannedHomePosition": [lat, lon, AMSL alt],
                 "items": [SimpleItem, ...]},
     "geoFence": {"version": 2, "circles": [], "polygons": []},
     "rallyPoints": {"version": 2, "points": []}}

A SimpleItem is one MAVLink MISSION_ITEM: `command` (MAV_CMD), `frame` (MAV_FRAME: 3 =
GLOBAL_RELATIVE_ALT), `params` = param1..4, latitude, longitude, altitude (null where
the command leaves a parameter unset: QGC writes NaN so), `autoContinue`, `doJumpId`
(numbered from 1), and for items with a position QGC's own `Altitude`, `AltitudeMode`
(1: relative) and `AMSLAltAboveTerrain`. A sortie is: NAV_TAKEOFF (22) at the base,
NAV_WAYPOINT (16) at each point of its route between the base and the base, then
RETURN_TO_LAUNCH (20). Positions are rounded to 1e-7 degree (MAVLink's int32 degE7).

routes.geojson: one LineString per sortie (lon, lat, 1e-6 degree) with drone, org,
base, sortie, takeoff, landing (UTC), flight_h, km, line_km and the expected gain.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceasewatch.analysis.planning import Plan, Sortie

__all__ = [
    "FIRMWARE_ARDUPILOT",
    "FIRMWARE_PX4",
    "MAV_CMD_NAV_RETURN_TO_LAUNCH",
    "MAV_CMD_NAV_TAKEOFF",
    "MAV_CMD_NAV_WAYPOINT",
    "MAV_FRAME_GLOBAL_RELATIVE_ALT",
    "plan_file_name",
    "qgc_plan",
    "routes_geojson",
    "write_plan_files",
]

FIRMWARE_ARDUPILOT = 3  # MAV_AUTOPILOT_ARDUPILOTMEGA
FIRMWARE_PX4 = 12  # MAV_AUTOPILOT_PX4
MAV_TYPE_QUADROTOR = 2
MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20
MAV_CMD_NAV_TAKEOFF = 22
MAV_FRAME_GLOBAL_RELATIVE_ALT = 3
_ALT_MODE_RELATIVE = 1  # QGroundControlQmlGlobal::AltitudeModeRelative


def _item(command: int, n: int, params: list[float | None], alt_m: float | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "autoContinue": True,
        "command": command,
        "doJumpId": n,
        "frame": MAV_FRAME_GLOBAL_RELATIVE_ALT,
        "params": params,
        "type": "SimpleItem",
    }
    if alt_m is not None:
        item |= {"AMSLAltAboveTerrain": None, "Altitude": alt_m, "AltitudeMode": _ALT_MODE_RELATIVE}
    return item


def qgc_plan(
    sortie: Sortie,
    *,
    firmware_type: int = FIRMWARE_ARDUPILOT,
    vehicle_type: int = MAV_TYPE_QUADROTOR,
    home_amsl_m: float = 0.0,
    hover_mps: float = 5.0,
) -> dict[str, Any]:
    """A sortie as a QGroundControl plan (the JSON object; see the module docstring).

    Args:
        sortie: the sortie; its route begins and ends at its base.
        firmware_type: MAV_AUTOPILOT of the drone (3 ArduPilot, 12 PX4).
        vehicle_type: MAV_TYPE (2 quadrotor, 1 fixed wing).
        home_amsl_m: the base's altitude above mean sea level.
        hover_mps: QGC's default multirotor speed.
    """
    alt = round(sortie.altitude_m, 1)
    lon0, lat0 = sortie.route[0]
    items = [_item(MAV_CMD_NAV_TAKEOFF, 1, [0, 0, 0, None, _deg(lat0), _deg(lon0), alt], alt)]
    for lon, lat in sortie.route[1:-1]:
        n = len(items) + 1
        items.append(
            _item(MAV_CMD_NAV_WAYPOINT, n, [0, 0, 0, None, _deg(lat), _deg(lon), alt], alt)
        )
    items.append(_item(MAV_CMD_NAV_RETURN_TO_LAUNCH, len(items) + 1, [0] * 7, None))
    return {
        "fileType": "Plan",
        "geoFence": {"circles": [], "polygons": [], "version": 2},
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": round(sortie.cruise_mps, 2),
            "firmwareType": firmware_type,
            "globalPlanAltitudeMode": _ALT_MODE_RELATIVE,
            "hoverSpeed": hover_mps,
            "items": items,
            "plannedHomePosition": [_deg(lat0), _deg(lon0), round(home_amsl_m, 1)],
            "vehicleType": vehicle_type,
            "version": 2,
        },
        "rallyPoints": {"points": [], "version": 2},
        "version": 1,
    }


def _deg(v: float) -> float:
    return round(v, 7)


def plan_file_name(sortie: Sortie) -> str:
    """`<drone>-<sortie number, 2 digits>.plan`."""
    return f"{sortie.drone}-{sortie.number:02d}.plan"


def _time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def routes_geojson(plan: Plan) -> dict[str, Any]:
    """The plan's routes as a GeoJSON FeatureCollection (see the module docstring)."""
    features = []
    for s in plan.sorties:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(a, 6), round(b, 6)] for a, b in s.route],
                },
                "properties": {
                    "drone": s.drone,
                    "org": s.org,
                    "base": s.base,
                    "sortie": s.number,
                    "takeoff": _time(s.takeoff),
                    "landing": _time(s.landing),
                    "flight_h": round(s.flight_h, 3),
                    "km": round(s.km, 1),
                    "line_km": round(s.line_km, 1),
                    "gain": round(s.gain, 1),
                    "altitude_m": round(s.altitude_m, 1),
                    "file": plan_file_name(s),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_plan_files(
    plan: Plan,
    out: Path,
    *,
    firmware_type: int = FIRMWARE_ARDUPILOT,
    vehicle_type: int = MAV_TYPE_QUADROTOR,
    home_amsl_m: float = 0.0,
) -> list[Path]:
    """Write one `.plan` per sortie and routes.geojson into `out` (created); return the
    paths, the GeoJSON last. The same plan gives the same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in plan.sorties:
        doc = qgc_plan(
            s, firmware_type=firmware_type, vehicle_type=vehicle_type, home_amsl_m=home_amsl_m
        )
        path = out / plan_file_name(s)
        path.write_text(json.dumps(doc, indent=4, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    path = out / "routes.geojson"
    path.write_text(json.dumps(routes_geojson(plan), indent=1) + "\n", encoding="utf-8")
    paths.append(path)
    return paths
