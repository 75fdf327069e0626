"""Generate the bundled demo theater (``src/ceasewatch/demo/theater/``).

Why this exists: the demo theater is the fixture that the README's first run, the
simulator and many tests lean on. Drawing it by hand would leave slivers and gaps where
areas meet, so it is built here from a few formulas in a local plane (UTM 38N, metres),
with every shared edge built once as one vertex list and reused by every polygon that
touches it. After transformation to WGS84 and rounding to 6 decimals, neighbouring
polygons therefore carry bit-identical vertices along their common edges, and shapely's
union/difference between them is exact.

The geometry is ILLUSTRATIVE and FICTIONAL: it imitates the structure of the November
2020 Nagorno-Karabakh arrangement (a contact line, districts handed over on fixed dates,
a 5-km corridor under peacekeepers) with invented names. It is not a boundary.

Rerun after changing anything below (the output is deterministic, byte for byte)::

    .venv/bin/python scripts/make_demo_theater.py

It writes ``theater.toml`` and ``geometry.geojson``, reads them back, checks them with
shapely and prints a summary; a failing check raises (non-zero exit, with the line).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from pyproj import Geod, Transformer
from shapely.geometry import LineString, Polygon, box, shape
from shapely.ops import unary_union

OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "ceasewatch" / "demo" / "theater"
LOCAL_CRS = "EPSG:32638"  # UTM zone 38N: the theater's planar CRS
ORIGIN_LON_DEG, ORIGIN_LAT_DEG = 46.8, 39.9
DECIMALS = 6  # ~0.1 m: finer than any position ceasewatch reports

# The box, in km from the origin (x east, y north).
X_MIN_KM, X_MAX_KM = -60.0, 60.0
Y_MIN_KM, Y_MAX_KM = -50.0, 50.0
LINE_STEP_KM = 0.5
WITHDRAWAL_KM = 10.0
WITHDRAWAL_SIMPLIFY_M = 50.0
LINE_LENGTH_RANGE_KM = (80.0, 150.0)

KM = tuple[float, float]  # a vertex in km from the origin
LonLat = tuple[float, float]

_TO_LOCAL = Transformer.from_crs("EPSG:4326", LOCAL_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(LOCAL_CRS, "EPSG:4326", always_xy=True)
X0_M, Y0_M = _TO_LOCAL.transform(ORIGIN_LON_DEG, ORIGIN_LAT_DEG)


def contact_x_km(y_km: float) -> float:
    """The contact line as x = f(y), both in km from the origin."""
    return -15.0 + 8.0 * math.sin(y_km / 13.0) + 3.0 * math.sin(y_km / 5.3)


def to_local_m(p: KM) -> tuple[float, float]:
    """A vertex in km from the origin to UTM 38N metres."""
    return X0_M + p[0] * 1000.0, Y0_M + p[1] * 1000.0


def to_lonlat_m(x_m: float, y_m: float) -> LonLat:
    """UTM 38N metres to (lon, lat) rounded to DECIMALS."""
    lon, lat = _TO_WGS84.transform(x_m, y_m)
    return round(lon, DECIMALS), round(lat, DECIMALS)


def to_lonlat(points_km: Sequence[KM]) -> list[LonLat]:
    """Vertices in km to rounded (lon, lat); the same input always gives the same floats."""
    return [to_lonlat_m(*to_local_m(p)) for p in points_km]


def ring(*parts: Sequence[LonLat]) -> list[LonLat]:
    """Join vertex runs into a closed ring, counter-clockwise as RFC 7946 asks.

    Consecutive duplicates (where one run ends on the vertex the next begins with) are
    dropped. Reversing keeps the vertices themselves, so shared edges stay shared.
    """
    out: list[LonLat] = []
    for part in parts:
        for v in part:
            if not out or out[-1] != v:
                out.append(v)
    if out[0] != out[-1]:
        out.append(out[0])
    signed = sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(out))
    return out if signed > 0 else out[::-1]


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """A GeoJSON Feature with kind, id and name first."""
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def polygon(r: list[LonLat]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(v) for v in r]]}


def point(p: KM) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(to_lonlat([p])[0])}


def snap_to_box_m(x_m: float, y_m: float) -> tuple[float, float]:
    """Put a vertex that GEOS left within a millimetre of the box edge exactly on it."""
    xs = (to_local_m((X_MIN_KM, 0.0))[0], to_local_m((X_MAX_KM, 0.0))[0])
    ys = (to_local_m((0.0, Y_MIN_KM))[1], to_local_m((0.0, Y_MAX_KM))[1])
    for edge in xs:
        if abs(x_m - edge) < 1e-3:
            x_m = edge
    for edge in ys:
        if abs(y_m - edge) < 1e-3:
            y_m = edge
    return x_m, y_m


def insert_pins(
    vertices_m: list[tuple[float, float]], pins_m: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Insert each pin between the two consecutive vertices whose axis-parallel edge holds it."""
    out = [vertices_m[0]]
    for a, b in pairwise(vertices_m):
        for p in pins_m:
            on_h = a[1] == b[1] == p[1] and min(a[0], b[0]) < p[0] < max(a[0], b[0])
            on_v = a[0] == b[0] == p[0] and min(a[1], b[1]) < p[1] < max(a[1], b[1])
            if on_h or on_v:
                out.append(p)
        out.append(b)
    return out


def build() -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the feature collection and a summary of facts the checks need."""
    n = round((Y_MAX_KM - Y_MIN_KM) / LINE_STEP_KM)
    line_km: list[KM] = [
        (contact_x_km(Y_MIN_KM + i * LINE_STEP_KM), Y_MIN_KM + i * LINE_STEP_KM)
        for i in range(n + 1)
    ]
    line = to_lonlat(line_km)  # the one shared vertex list of the contact line

    # Withdrawal zone: computed in metres; its crossings of the top and bottom box edges
    # become explicit vertices of the control areas, so the zone lies inside them exactly.
    line_m = LineString([to_local_m(p) for p in line_km])
    box_m = box(*to_local_m((X_MIN_KM, Y_MIN_KM)), *to_local_m((X_MAX_KM, Y_MAX_KM)))
    zone_m = line_m.buffer(WITHDRAWAL_KM * 1000.0).intersection(box_m)
    zone_m = zone_m.simplify(WITHDRAWAL_SIMPLIFY_M, preserve_topology=True)
    assert zone_m.geom_type == "Polygon" and not zone_m.interiors
    zone_vertices_m = [snap_to_box_m(x, y) for x, y in zone_m.exterior.coords]
    crossings: dict[str, list[float]] = {"top": [], "bottom": []}
    top_m, bottom_m = to_local_m((0.0, Y_MAX_KM))[1], to_local_m((0.0, Y_MIN_KM))[1]
    for x_m, y_m in zone_vertices_m[:-1]:
        if y_m == top_m:
            crossings["top"].append((x_m - X0_M) / 1000.0)
        elif y_m == bottom_m:
            crossings["bottom"].append((x_m - X0_M) / 1000.0)
    assert len(crossings["top"]) == 2 and len(crossings["bottom"]) == 2, crossings
    top_w, top_e = sorted(crossings["top"])
    bottom_w, bottom_e = sorted(crossings["bottom"])
    # A straight box edge in metres is slightly curved in lon/lat, so the zone's edge along
    # the box must also pass through the line's end vertex that the control areas carry.
    pins_m = [to_local_m(line_km[0]), to_local_m(line_km[-1])]
    withdrawal = ring([to_lonlat_m(x, y) for x, y in insert_pins(zone_vertices_m, pins_m)])

    # Shared vertices on the box edge and on the district/corridor edges.
    nw, sw = to_lonlat([(X_MIN_KM, Y_MAX_KM), (X_MIN_KM, Y_MIN_KM)])
    ne, se = to_lonlat([(X_MAX_KM, Y_MAX_KM), (X_MAX_KM, Y_MIN_KM)])
    top_20, bottom_20 = to_lonlat([(20.0, Y_MAX_KM), (20.0, Y_MIN_KM)])
    east_275, east_225 = to_lonlat([(X_MAX_KM, 27.5), (X_MAX_KM, 22.5)])
    mid_20_275, mid_20_225 = to_lonlat([(20.0, 27.5), (20.0, 22.5)])
    mid_10_275, mid_10_225 = to_lonlat([(10.0, 27.5), (10.0, 22.5)])
    (w_top_cross, w_bottom_cross) = to_lonlat([(top_w, Y_MAX_KM), (bottom_w, Y_MIN_KM)])
    (e_top_cross, e_bottom_cross) = to_lonlat([(top_e, Y_MAX_KM), (bottom_e, Y_MIN_KM)])

    area_w = ring(line, [w_top_cross, nw, sw, w_bottom_cross])
    area_e = ring(
        line,
        [e_top_cross, top_20, ne, east_275, east_225, se, bottom_20, e_bottom_cross],
    )

    i_lo = round((-40.0 - Y_MIN_KM) / LINE_STEP_KM)
    i_hi = round((-20.0 - Y_MIN_KM) / LINE_STEP_KM)
    d1_west = line[i_lo : i_hi + 1]
    d1_east = to_lonlat([(x + 12.0, y) for x, y in line_km[i_lo : i_hi + 1]])
    district_veshan = ring(d1_west, d1_east[::-1])
    district_taligor = ring([bottom_20, se, east_225, mid_20_225])
    district_karsol = ring([mid_20_275, east_275, ne, top_20])
    corridor = ring([mid_10_225, mid_20_225, east_225, east_275, mid_20_275, mid_10_275])

    nofly_centre_km, nofly_radius_km = (-35.0, 10.0), 4.0
    nofly = ring(
        to_lonlat(
            [
                (
                    nofly_centre_km[0] + nofly_radius_km * math.cos(2 * math.pi * k / 64),
                    nofly_centre_km[1] + nofly_radius_km * math.sin(2 * math.pi * k / 64),
                )
                for k in range(64)
            ]
        )
    )

    features: list[dict[str, Any]] = [
        feature(
            polygon(area_w),
            kind="control_area",
            id="area-w",
            name="Western Forces area",
            side="side-w",
        ),
        feature(
            polygon(area_e),
            kind="control_area",
            id="area-e",
            name="Eastern Forces area",
            side="side-e",
        ),
        feature(
            {"type": "LineString", "coordinates": [list(v) for v in line]},
            kind="contact_line",
            id="line-1",
            name="Contact line",
            west="side-w",
            east="side-e",
        ),
    ]
    districts = [
        ("district-veshan", "Veshan district", district_veshan, "2026-11-15T00:00:00Z"),
        ("district-taligor", "Taligor district", district_taligor, "2026-11-26T12:00:00Z"),
        ("district-karsol", "Karsol district", district_karsol, "2026-12-01T00:00:00Z"),
    ]
    for fid, name, r, by in districts:
        features.append(
            feature(
                polygon(r),
                kind="zone",
                id=fid,
                name=name,
                zone="district",
                handover_to="side-w",
                handover_by=by,
            )
        )
    features += [
        feature(
            polygon(corridor),
            kind="zone",
            id="corridor-lachar",
            name="Lachar corridor",
            zone="corridor",
            restrictions=[],
            escort="peacekeepers",
        ),
        feature(
            polygon(withdrawal),
            kind="zone",
            id="withdrawal-1",
            name="Withdrawal zone",
            zone="withdrawal",
            restrictions=["artillery", "mlrs", "tank"],
            distance_m=WITHDRAWAL_KM * 1000.0,
        ),
        feature(
            polygon(nofly),
            kind="zone",
            id="nofly-1",
            name="Dorvan reservoir",
            zone="no_fly",
            restrictions=[],
        ),
    ]

    a_names = [
        "Orlen ridge",
        "Sarvik hill",
        "Tamber ford",
        "Kelm orchard",
        "Ushan mill",
        "Varda crossroads",
        "Presk quarry",
        "Nolan spring",
        "Gerat bridge",
        "Milda farm",
        "Ostrov gate",
        "Hallin height",
    ]
    b_names = [
        "Dzoran slope",
        "Bekir well",
        "Lusan school",
        "Ferat tower",
        "Zamir pass",
        "Ketra bend",
        "Sulan vineyard",
        "Arpin col",
        "Mereh depot",
        "Tovin ruin",
        "Yasel terrace",
        "Kodar saddle",
    ]
    offsets_km = (2.5, 4.0, 3.0, 5.5)
    posts_km: list[tuple[str, KM]] = []
    for i in range(12):
        y = -46.0 + 8.0 * i
        d = offsets_km[i % len(offsets_km)]
        a_id, b_id = f"A-{i + 1:02d}", f"B-{i + 1:02d}"
        posts_km += [(a_id, (contact_x_km(y) - d, y)), (b_id, (contact_x_km(y) + d, y))]
        features += [
            feature(point(posts_km[-2][1]), kind="post", id=a_id, name=a_names[i], org="mon-a"),
            feature(point(posts_km[-1][1]), kind="post", id=b_id, name=b_names[i], org="mon-b"),
        ]
    bases_km: list[tuple[str, KM]] = [("base-a", (-40.0, -5.0)), ("base-b", (5.0, 30.0))]
    features += [
        feature(
            point(bases_km[0][1]), kind="base", id="base-a", name="Kerin airstrip", org="mon-a"
        ),
        feature(point(bases_km[1][1]), kind="base", id="base-b", name="Tosh field", org="mon-b"),
    ]
    collection = {
        "type": "FeatureCollection",
        "name": "Demo theater (illustrative)",
        "features": features,
    }
    # The box as its own ring, through every vertex any polygon puts on the box edge.
    box_ring = ring(
        [sw, w_bottom_cross, line[0], e_bottom_cross, bottom_20, se, east_225, east_275],
        [ne, top_20, e_top_cross, line[-1], w_top_cross, nw],
    )
    facts = {"posts_km": posts_km, "box_ring": box_ring}
    return collection, facts


def geojson_text(collection: dict[str, Any]) -> str:
    """One feature per line: small diffs, still valid JSON."""
    head = {k: v for k, v in collection.items() if k != "features"}
    lines = [
        json.dumps(f, separators=(",", ":"), ensure_ascii=False) for f in collection["features"]
    ]
    head_text = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    return head_text + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


THEATER_TOML = """\
# Generated by scripts/make_demo_theater.py; edit the script and rerun it, not this file.

[theater]
name = "Demo theater (illustrative)"
geometry = "geometry.geojson"
crs = "EPSG:32638"
note = "Illustrative geometry for demonstration and tests; fictional names; \
not an authoritative boundary."

[[orgs]]
id = "mon-a"
name = "Monitor A"
role = "monitor"

[[orgs]]
id = "mon-b"
name = "Monitor B"
role = "monitor"

[[orgs]]
id = "side-w"
name = "Western Forces"
role = "side"

[[orgs]]
id = "side-e"
name = "Eastern Forces"
role = "side"

# What `ceasewatch sim` and `ceasewatch demo` simulate by default: a day during which the
# Taligor district is handed over (at 12:00).
[sim]
start = "2026-11-26T00:00:00Z"
hours = 24

# The joint center's drones (see src/ceasewatch/geo/fleet.py for the fields). Each
# monitor org flies two from its own base; both carry the same stabilised EO camera.
[[cameras]]
id = "eo-30"
hfov_deg = 30.0
vfov_deg = 17.0
image_width_px = 1920
max_slant_m = 3000.0

[[drones]]
id = "uav-a1"
org = "mon-a"
base = "base-a"
camera = "eo-30"
endurance_h = 6.0
cruise_mps = 28.0
max_range_km = 80.0

[[drones]]
id = "uav-a2"
org = "mon-a"
base = "base-a"
camera = "eo-30"
endurance_h = 6.0
cruise_mps = 28.0
max_range_km = 80.0

[[drones]]
id = "uav-b1"
org = "mon-b"
base = "base-b"
camera = "eo-30"
endurance_h = 5.0
cruise_mps = 32.0
max_range_km = 70.0

[[drones]]
id = "uav-b2"
org = "mon-b"
base = "base-b"
camera = "eo-30"
endurance_h = 5.0
cruise_mps = 32.0
max_range_km = 70.0
"""


def check(facts: dict[str, Any]) -> list[str]:
    """Read the written files back and check them; return the summary lines."""
    import tomllib

    theater = tomllib.loads((OUT_DIR / "theater.toml").read_text(encoding="utf-8"))
    assert [o["id"] for o in theater["orgs"]] == ["mon-a", "mon-b", "side-w", "side-e"]
    assert [d["id"] for d in theater["drones"]] == ["uav-a1", "uav-a2", "uav-b1", "uav-b2"]
    data = json.loads((OUT_DIR / "geometry.geojson").read_text(encoding="utf-8"))
    by_id = {f["properties"]["id"]: shape(f["geometry"]) for f in data["features"]}
    assert len(by_id) == len(data["features"]), "duplicate ids"
    for f in data["features"]:
        p = f["properties"]
        assert p.get("kind") and p.get("id") and p.get("name"), p

    out: list[str] = []
    polys = {k: g for k, g in by_id.items() if isinstance(g, Polygon)}
    for k, g in polys.items():
        assert g.is_valid, k
    out.append(f"polygons valid: {len(polys)}/{len(polys)}")

    w, e = by_id["area-w"], by_id["area-e"]
    both = unary_union([w, e])
    out.append(f"area-w ∩ area-e area: {w.intersection(e).area:.3e} deg²")
    assert w.intersection(e).area == 0.0
    assert both.geom_type == "Polygon" and not both.interiors
    box_ll = Polygon(facts["box_ring"])
    rel = abs(both.area - box_ll.area) / box_ll.area
    rel_sum = abs(w.area + e.area - box_ll.area) / box_ll.area
    out.append(f"union(areas) vs box: rel diff {rel:.1e}; area-w + area-e vs box {rel_sum:.1e}")
    assert rel < 1e-9 and rel_sum < 1e-9 and both.equals(box_ll)
    local = Transformer.from_crs("EPSG:4326", LOCAL_CRS, always_xy=True)
    union_m2 = Polygon([local.transform(*v) for v in both.exterior.coords]).area
    box_m2 = (X_MAX_KM - X_MIN_KM) * (Y_MAX_KM - Y_MIN_KM) * 1e6
    rel_m = abs(union_m2 - box_m2) / box_m2
    out.append(
        f"union(areas) in UTM 38N: {union_m2 / 1e6:.4f} km² vs box {box_m2 / 1e6:.0f} km²"
        f" (rel diff {rel_m:.1e}, from 6-decimal rounding)"
    )
    assert rel_m < 1e-6, rel_m

    tiny = 1e-9
    for k in ("district-veshan", "district-taligor", "district-karsol", "corridor-lachar"):
        assert by_id[k].within(e.buffer(tiny)), k
        assert by_id[k].intersection(w).area == 0.0, k
    out.append("districts and corridor within area-e; zero overlap with area-w")
    assert by_id["district-veshan"].intersection(by_id["line-1"]).length > 0
    for a, b in (
        ("district-taligor", "corridor-lachar"),
        ("corridor-lachar", "district-karsol"),
        ("district-taligor", "district-karsol"),
    ):
        assert by_id[a].intersection(by_id[b]).area == 0.0, (a, b)
    out.append("district/corridor shared edges: zero-area overlaps")
    # Shared edges are exact: unions of neighbours have no holes and no slivers.
    east_parts = unary_union(
        [by_id["district-taligor"], by_id["corridor-lachar"], by_id["district-karsol"]]
    )
    assert east_parts.geom_type == "Polygon" and not east_parts.interiors
    assert e.difference(east_parts).union(east_parts).equals(e)
    wz = by_id["withdrawal-1"]
    assert wz.difference(both).area == 0.0
    out.append(f"withdrawal-1 inside the box exactly; vertices {len(wz.exterior.coords) - 1}")
    nofly = by_id["nofly-1"]
    assert nofly.within(w) and not nofly.intersects(wz)

    for pid, (x, y) in facts["posts_km"]:
        assert X_MIN_KM < x < X_MAX_KM and Y_MIN_KM < y < Y_MAX_KM, pid
        g = by_id[pid]
        assert not nofly.intersects(g), pid
        side = w if pid.startswith("A-") else e
        assert side.contains(g), pid
    out.append(f"posts: {len(facts['posts_km'])}, all strictly inside, on their side, off no-fly")
    assert w.contains(by_id["base-a"]) and not nofly.intersects(by_id["base-a"])
    base_b = by_id["base-b"]
    assert e.contains(base_b)
    for k in ("corridor-lachar", "district-karsol", "district-taligor", "withdrawal-1"):
        assert not by_id[k].intersects(base_b), k
    out.append(
        f"base-b at (5, 30) km: f(30) = {contact_x_km(30.0):.2f} km, east of line; "
        "outside corridor, districts, withdrawal zone"
    )

    geod = Geod(ellps="WGS84")
    lons, lats = zip(*by_id["line-1"].coords, strict=True)
    length_km = geod.line_length(lons, lats) / 1000.0
    lo, hi = LINE_LENGTH_RANGE_KM
    assert lo <= length_km <= hi, length_km
    out.append(f"contact line: {len(lons)} vertices, geodesic length {length_km:.3f} km")
    for k in (
        "district-veshan",
        "district-taligor",
        "district-karsol",
        "corridor-lachar",
        "withdrawal-1",
        "nofly-1",
        "area-w",
        "area-e",
    ):
        poly = by_id[k]
        area_km2 = abs(geod.geometry_area_perimeter(poly)[0]) / 1e6
        out.append(f"  {k:18s} {area_km2:9.1f} km²")
    return out


def main() -> int:
    collection, facts = build()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "geometry.geojson").write_text(geojson_text(collection), encoding="utf-8")
    (OUT_DIR / "theater.toml").write_text(THEATER_TOML, encoding="utf-8")
    print(f"wrote {OUT_DIR / 'theater.toml'}")
    print(f"wrote {OUT_DIR / 'geometry.geojson'} ({len(collection['features'])} features)")
    print(f"origin: lon {ORIGIN_LON_DEG}, lat {ORIGIN_LAT_DEG} -> {X0_M:.3f} E, {Y0_M:.3f} N")
    summary = check(facts)  # an AssertionError here names the failing check
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
