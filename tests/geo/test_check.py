"""`check_theater`: every problem kind is found, located, explained, and never raised."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import Problem
from ceasewatch.geo.check import DEFAULT_TOLERANCE_M, CheckReport, check_theater
from tests.geo.conftest import (
    ORGS,
    Json,
    MakeTheater,
    WriteFiles,
    box,
    clean_features,
    feature,
    toml_text,
)

GOOD_TOML = toml_text({"name": "t", "geometry": "geometry.geojson"}, ORGS)
GOOD_GEOJSON = json.dumps({"type": "FeatureCollection", "features": clean_features()})


def only(report: CheckReport, text: str, severity: str = "error") -> Problem:
    """The one problem whose text contains `text`; fails listing all problems if not one."""
    hits = [p for p in report.problems if text in p.what and p.severity == severity]
    assert len(hits) == 1, "\n".join(map(str, report.problems))
    return hits[0]


def matching(report: CheckReport, text: str) -> list[Problem]:
    return [p for p in report.problems if text in p.what]


# --- Clean theaters ---------------------------------------------------------------------


def test_demo_theater_is_clean() -> None:
    report = check_theater(demo_theater_dir())
    assert report.problems == []
    assert report.ok
    assert report.theater is not None


def test_clean_fixture_is_clean(make_theater: MakeTheater) -> None:
    report = check_theater(make_theater())
    assert report.problems == [], "\n".join(map(str, report.problems))
    assert report.ok and report.errors == [] and report.warnings == []


def test_multi_geometries_are_fine(make_theater: MakeTheater) -> None:
    feats = clean_features()
    # side-w's area with an island to the west, the line in two pieces. (Two halves
    # sharing an edge would be an invalid MultiPolygon, rightly reported.)
    feats[0]["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [box(46.0, 39.5, 46.5, 40.0), box(45.5, 39.6, 45.6, 39.7)],
    }
    feats[2]["geometry"] = {
        "type": "MultiLineString",
        "coordinates": [[[46.5, 39.5], [46.5, 39.7]], [[46.5, 39.7], [46.5, 40.0]]],
    }
    report = check_theater(make_theater(feats))
    assert report.problems == [], "\n".join(map(str, report.problems))


# --- One fixture per problem kind -------------------------------------------------------


def test_self_intersecting_polygon(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[0]["geometry"]["coordinates"] = [
        [[46.0, 39.5], [46.5, 40.0], [46.5, 39.5], [46.0, 40.0], [46.0, 39.5]]
    ]  # a bow tie
    report = check_theater(make_theater(feats))
    p = only(report, "Self-intersection")
    assert "feature 0 (id 'area-w')" in p.where
    assert "fix the ring" in p.what
    assert not report.ok


def test_self_intersecting_line(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[2]["geometry"]["coordinates"] = [[46.5, 39.5], [46.5, 40.0], [46.4, 39.7], [46.6, 39.7]]
    p = only(check_theater(make_theater(feats)), "intersects itself")
    assert "feature 2 (id 'line-1')" in p.where


def test_invalid_zone_with_a_hole_outside(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[3]["geometry"]["coordinates"] = [
        *box(46.5, 39.7, 46.6, 39.8),
        *box(47.5, 39.0, 47.6, 39.1),
    ]
    p = only(check_theater(make_theater(feats)), "invalid geometry")
    assert "feature 3 (id 'district-1')" in p.where


def test_unclosed_ring(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[1]["geometry"]["coordinates"][0].pop()
    p = only(check_theater(make_theater(feats)), "is not closed")
    assert "feature 1 (id 'area-e')" in p.where
    assert "repeat its first position [46.5, 39.5] last" in p.what


def test_ring_too_short(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[1]["geometry"]["coordinates"] = [[[46.5, 39.5], [47.0, 39.5], [46.5, 39.5]]]
    p = only(check_theater(make_theater(feats)), "a ring needs 4+")
    assert "feature 1 (id 'area-e')" in p.where


def test_line_of_one_position(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[2]["geometry"]["coordinates"] = [[46.5, 39.5]]
    p = only(check_theater(make_theater(feats)), "needs 2+")
    assert "feature 2 (id 'line-1')" in p.where


@pytest.mark.parametrize(
    ("position", "hint"),
    [
        ([46.3, 139.7], True),  # latitude over 90, but swapped it is a position
        ([190.0, 39.7], False),
        ([-46.3, -95.0], True),
        ([200.0, 100.0], False),
    ],
)
def test_coordinates_outside_wgs84(make_theater: MakeTheater, position: Any, hint: bool) -> None:
    feats = clean_features()
    feats[4]["geometry"]["coordinates"] = position
    p = only(check_theater(make_theater(feats)), "outside WGS84 ranges")
    assert "feature 4 (id 'P-1')" in p.where
    assert ("looks like [latitude, longitude]" in p.what) is hint


def test_swapped_lat_lon_is_a_warning(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[4]["geometry"]["coordinates"] = [39.7, 46.3]  # P-1 written [lat, lon]
    report = check_theater(make_theater(feats))
    p = only(report, "swapped", severity="warning")
    assert "feature 4 (id 'P-1')" in p.where
    assert "[longitude, latitude]" in p.what
    assert report.ok  # a warning only
    assert str(p).count("warning: ") == 1


def test_swapped_area_is_a_warning(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats.append(
        feature("zone", "Polygon", box(39.6, 46.2, 39.7, 46.3), id="nofly-1", zone="no_fly")
    )
    p = only(check_theater(make_theater(feats)), "swapped", severity="warning")
    assert "feature 7 (id 'nofly-1')" in p.where


def test_far_feature_that_does_not_fit_swapped_is_not_warned(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[4]["geometry"]["coordinates"] = [10.0, 10.0]
    report = check_theater(make_theater(feats))
    assert matching(report, "swapped") == []


def _swap(coords: Any) -> Any:
    if isinstance(coords[0], int | float):
        return [coords[1], coords[0], *coords[2:]]
    return [_swap(c) for c in coords]


def test_whole_file_swapped_is_a_warning_when_the_crs_says_where(
    make_theater: MakeTheater,
) -> None:
    # Every feature agrees with the others, so only the CRS's area of use can tell.
    feats = clean_features()
    for f in feats:
        f["geometry"]["coordinates"] = _swap(f["geometry"]["coordinates"])
    report = check_theater(make_theater(feats, crs="EPSG:32638"))
    p = only(report, "with longitude and latitude swapped it would fit", severity="warning")
    assert p.where.endswith("theater.toml [theater] crs")
    assert "EPSG:32638 is meant for lon 42 to 48" in p.what
    assert report.ok


def test_crs_far_from_the_geometry_is_a_warning(make_theater: MakeTheater) -> None:
    report = check_theater(make_theater(crs="EPSG:32633"))
    p = only(report, "give the CRS of the theater's area", severity="warning")
    assert "lon 46.5000, lat 39.7500" in p.what
    assert check_theater(make_theater(crs="EPSG:32638", name="right")).problems == []


def test_overlapping_control_areas(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[1]["geometry"]["coordinates"] = box(46.45, 39.5, 47.0, 40.0)  # 0.05 deg into side-w
    report = check_theater(make_theater(feats))
    hits = matching(report, "overlap by")
    assert len(hits) == 2  # before and after the handover
    for p in hits:
        assert "side-e and side-w" in p.where
        assert "feature 0 (id 'area-w')" in p.where
        assert "feature 1 (id 'area-e')" in p.where
        assert "fix the polygons or their validity" in p.what
    assert "before 2026-11-15T00:00:00Z" in hits[0].what
    # About 0.05 x 0.5 degrees at 39.75 N: 4.28 km x 55.5 km.
    assert "overlap by 237." in hits[0].what


def test_overlap_only_while_both_are_valid(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats.append(
        feature(
            "control_area", "Polygon", box(46.4, 39.5, 46.5, 39.6), id="area-e-bridgehead",
            side="side-e", valid_from="2026-03-01T00:00:00Z", valid_to="2026-04-01T00:00:00Z",
        )
    )  # fmt: skip
    report = check_theater(make_theater(feats))
    (p,) = matching(report, "overlap by")
    assert "from 2026-03-01T00:00:00Z to 2026-04-01T00:00:00Z" in p.what
    assert "feature 7 (id 'area-e-bridgehead')" in p.where
    assert "feature 0 (id 'area-w')" in p.where
    assert "feature 1 (id 'area-e')" not in p.where


def test_areas_touching_along_an_edge_do_not_overlap(make_theater: MakeTheater) -> None:
    feats = clean_features()
    # A sliver well under tolerance squared (50 m x 50 m): the edges only nearly match.
    feats[1]["geometry"]["coordinates"] = [
        [[46.4999995, 39.5], [47.0, 39.5], [47.0, 40.0], [46.5, 40.0], [46.4999995, 39.5]]
    ]
    assert matching(check_theater(make_theater(feats)), "overlap") == []


def test_contact_line_off_the_boundary(make_theater: MakeTheater) -> None:
    feats = clean_features()
    # Bulges ~1.7 km east of the boundary in the middle.
    feats[2]["geometry"]["coordinates"] = [[46.5, 39.5], [46.52, 39.75], [46.5, 40.0]]
    root = make_theater(feats)
    report = check_theater(root)
    off = matching(report, "does not follow the boundary")
    assert len(off) == 2
    assert "contact line (feature 2 (id 'line-1'))" in off[0].where
    assert f"more than {DEFAULT_TOLERANCE_M:g} m away" in off[0].what
    assert "raise the tolerance" in off[0].what
    # The tolerance is configurable: as an argument, or in theater.toml's [check].
    assert check_theater(root, tolerance_m=2000.0).problems == []
    assert matching(check_theater(root, tolerance_m=1000.0), "does not follow")
    configured = make_theater(
        feats, tables={"check": {"contact_line_tolerance_m": 2000}}, name="configured"
    )
    assert check_theater(configured).problems == []
    # The argument wins over the file.
    assert matching(check_theater(configured, tolerance_m=50.0), "does not follow")


def test_contact_line_short_of_the_boundary(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[2]["geometry"]["coordinates"] = [[46.5, 39.5], [46.5, 39.7]]
    report = check_theater(make_theater(feats))
    missing = matching(report, "is missing along part of the boundary")
    assert missing
    assert "feature 2 (id 'line-1')" in missing[0].where
    assert "extend the contact line" in missing[0].what
    assert matching(report, "does not follow") == []


def test_no_contact_line_at_all(make_theater: MakeTheater) -> None:
    feats = clean_features()
    del feats[2]
    report = check_theater(make_theater(feats))
    p = only(report, "there is none")
    assert "add a contact_line feature" in p.what


def test_areas_that_do_not_meet_leave_the_line_nothing_to_follow(
    make_theater: MakeTheater,
) -> None:
    feats = clean_features()
    feats[1]["geometry"]["coordinates"] = box(46.55, 39.5, 47.0, 40.0)  # a 4 km gap
    del feats[3]
    p = only(check_theater(make_theater(feats)), "has no boundary to follow")
    assert "feature 2 (id 'line-1')" in p.where
    assert "no two sides' areas come within 50 m" in p.what
    assert "inf" not in p.what


def test_contact_line_not_updated_for_a_handover_is_fine(make_theater: MakeTheater) -> None:
    # The line follows the handover by itself: no need to redraw it in the file.
    report = check_theater(make_theater())
    assert matching(report, "contact line") == []


@pytest.mark.parametrize(
    ("index", "key", "value", "text"),
    [
        (0, "side", "side-x", "properties.side 'side-x' is not an org of the theater"),
        (0, "side", "mon-a", "has role 'monitor', expected side or both"),
        (4, "org", "mon-z", "properties.org 'mon-z' is not an org of the theater"),
        (4, "org", "side-w", "has role 'side', expected monitor or both"),
        (6, "org", "nobody", "properties.org 'nobody' is not an org"),
        (3, "handover_to", "side-q", "properties.handover_to 'side-q' is not an org"),
        (0, "side", ["side-w"], "properties.side ['side-w'] is not an org"),  # unhashable
        (0, "side", None, "needs properties.side"),
    ],
)
def test_unknown_or_wrong_org_ids(
    make_theater: MakeTheater, index: int, key: str, value: Any, text: str
) -> None:
    feats = clean_features()
    feats[index]["properties"][key] = value
    report = check_theater(make_theater(feats))
    p = only(report, text)
    fid = feats[index]["properties"]["id"]
    assert f"feature {index} (id {fid!r})" in p.where
    assert "mon-a, mon-b, side-e, side-w" in p.what or "expected" in p.what or "needs" in p.what


def test_overlapping_validity_of_one_id(make_theater: MakeTheater) -> None:
    feats = clean_features()
    moved = copy.deepcopy(feats[4])  # P-1 again, somewhere else, from March
    moved["geometry"]["coordinates"] = [46.35, 39.65]
    moved["properties"]["valid_from"] = "2026-03-01T00:00:00Z"
    feats.append(moved)
    report = check_theater(make_theater(feats))
    p = only(report, "one id must be valid once at a time")
    assert p.where == "feature 4 and feature 7 (id 'P-1')"
    assert "both are valid from 2026-03-01T00:00:00Z" in p.what
    # Closing the first one when the second starts fixes it.
    feats[4]["properties"]["valid_to"] = "2026-03-01T00:00:00Z"
    assert check_theater(make_theater(feats, name="fixed")).problems == []


def test_overlapping_validity_both_unbounded(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats.append(copy.deepcopy(feats[6]))
    p = only(check_theater(make_theater(feats)), "one id must be valid once at a time")
    assert p.where == "feature 6 and feature 7 (id 'B-1')"
    assert "both are valid at all times" in p.what


def test_valid_from_after_valid_to(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[5]["properties"].update(valid_from="2026-05-01T00:00:00Z", valid_to="2026-04-01T00:00Z")
    p = only(check_theater(make_theater(feats)), "is not before valid_to")
    assert "feature 5 (id 'P-2')" in p.where


@pytest.mark.parametrize("value", ["2026-05-01T00:00:00", "yesterday", 20260501])
def test_bad_times(make_theater: MakeTheater, value: Any) -> None:
    feats = clean_features()
    feats[5]["properties"]["valid_from"] = value
    p = only(check_theater(make_theater(feats)), "valid_from:")
    assert "feature 5 (id 'P-2')" in p.where


def test_handover_problems(make_theater: MakeTheater) -> None:
    feats = clean_features()
    del feats[3]["properties"]["handover_by"]
    feats.append(
        feature(
            "zone", "Polygon", box(46.1, 39.6, 46.2, 39.7), id="buffer-1", zone="buffer",
            handover_to="side-e", handover_by="2026-12-01T00:00:00Z",
        )
    )  # fmt: skip
    report = check_theater(make_theater(feats))
    assert "feature 3 (id 'district-1')" in only(report, "give both handover_to").where
    assert "feature 7 (id 'buffer-1')" in only(report, "only a district").where


def test_many_problems_are_all_reported(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[0]["geometry"]["coordinates"][0].pop()
    feats[4]["properties"]["org"] = "nobody"
    feats[5]["geometry"]["coordinates"] = [500.0, 39.0]
    report = check_theater(make_theater(feats))
    assert len(report.errors) == 3
    assert [p.where.rsplit(" ", 3)[-3:][0] for p in report.errors] == ["0", "4", "5"]


# --- Garbage in, problems out -----------------------------------------------------------


def _with_crs(crs: str) -> str:
    return GOOD_TOML.replace(
        'geometry = "geometry.geojson"', f'geometry = "geometry.geojson"\ncrs = {crs}'
    )


GARBAGE: list[tuple[str, dict[str, str | bytes], str]] = [
    ("not-json", {"geometry_geojson": "{nope"}, "not valid JSON"),
    ("not-utf8", {"geometry_geojson": b'{"type": "Feature\xff"}'}, "not UTF-8"),
    ("json-list", {"geometry_geojson": "[]"}, "expected a GeoJSON FeatureCollection"),
    (
        "a-feature",
        {"geometry_geojson": json.dumps(clean_features()[0])},
        "expected a GeoJSON FeatureCollection",
    ),
    ("deep", {"geometry_geojson": "[" * 100_000 + "]" * 100_000}, "nested too deeply"),
    (
        "empty",
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": []})},
        "has no features",
    ),
    (
        "features-not-list",
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": {}})},
        "features must be a list",
    ),
    ("no-geojson", {}, "cannot read the geometry file"),
    ("no-toml", {"theater_toml": None}, "needs theater.toml"),  # type: ignore[dict-item]
    ("bad-toml", {"theater_toml": "[theater\nname ="}, "not valid TOML"),
    ("toml-not-utf8", {"theater_toml": b"\xff\xfe[theater]"}, "cannot read as UTF-8"),
    ("no-theater-table", {"theater_toml": '[[orgs]]\nid = "a"\n'}, "needs a [theater] table"),
    (
        "no-name",
        {"theater_toml": GOOD_TOML.replace('name = "t"\n', "")},
        'needs name = "..."',
    ),
    (
        "geometry-not-string",
        {"theater_toml": GOOD_TOML.replace('"geometry.geojson"', "5")},
        'needs geometry = "..."',
    ),
    (
        "geometry-a-directory",
        {"theater_toml": GOOD_TOML.replace('"geometry.geojson"', '"."')},
        "cannot read the geometry file",
    ),
    (
        "no-orgs",
        {"theater_toml": '[theater]\nname = "t"\ngeometry = "geometry.geojson"\n'},
        "needs [[orgs]] entries",
    ),
    (
        "bad-role",
        {"theater_toml": GOOD_TOML.replace('role = "monitor"', 'role = "observer"', 1)},
        "role 'observer' must be monitor, side or both",
    ),
    (
        "role-not-string",
        {"theater_toml": GOOD_TOML.replace('role = "monitor"', "role = [1]", 1)},
        "must be monitor, side or both",
    ),
    (
        "duplicate-org",
        {"theater_toml": GOOD_TOML + '\n[[orgs]]\nid = "side-w"\nname = "Again"\nrole = "side"\n'},
        "org id 'side-w' is defined twice",
    ),
    (
        "bad-org-id",
        {"theater_toml": GOOD_TOML.replace('id = "mon-a"', 'id = "Mon A"')},
        "must match [a-z0-9-]+",
    ),
    (
        "org-not-table",
        {"theater_toml": GOOD_TOML.replace("[[orgs]]", "orgs = [1, 2]\n[[nope]]", 1)},
        "",
    ),
    ("crs-unknown", {"theater_toml": _with_crs('"EPSG:999999"')}, "is not a CRS pyproj knows"),
    ("crs-garbage", {"theater_toml": _with_crs('"utm please"')}, "is not a CRS pyproj knows"),
    ("crs-geographic", {"theater_toml": _with_crs('"EPSG:4326"')}, "is not projected"),
    ("crs-feet", {"theater_toml": _with_crs('"EPSG:2222"')}, "has axes in foot"),
    ("crs-not-string", {"theater_toml": _with_crs("32638")}, "crs must be a string"),
    (
        "check-not-table",
        {"theater_toml": "check = 5\n" + GOOD_TOML},
        "[check]: must be a table",
    ),
    (
        "tolerance-not-number",
        {"theater_toml": GOOD_TOML + '\n[check]\ncontact_line_tolerance_m = "wide"\n'},
        "'wide' is not a positive number of metres",
    ),
    (
        "tolerance-negative",
        {"theater_toml": GOOD_TOML + "\n[check]\ncontact_line_tolerance_m = -5\n"},
        "-5 is not a positive number of metres",
    ),
]


@pytest.mark.parametrize(("name", "files", "text"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_gives_problems_not_exceptions(
    write_files: WriteFiles, name: str, files: dict[str, str | bytes | None], text: str
) -> None:
    texts = {"theater_toml": GOOD_TOML, "geometry_geojson": GOOD_GEOJSON}
    if name == "no-geojson":
        del texts["geometry_geojson"]
    texts.update(files)  # type: ignore[arg-type]
    root = write_files(name, **{k: v for k, v in texts.items() if v is not None})
    report = check_theater(root)
    assert not report.ok
    assert report.theater is None or text.startswith(("[check]", "'wide'", "-5"))
    assert any(text in str(p) for p in report.errors), "\n".join(map(str, report.problems))
    for p in report.problems:
        assert p.where and p.what
        assert len(str(p)) < 600


def test_missing_directory(tmp_path: Path) -> None:
    report = check_theater(tmp_path / "nowhere")
    assert not report.ok
    assert "needs theater.toml" in report.errors[0].what


def test_toml_path_instead_of_directory(make_theater: MakeTheater) -> None:
    assert check_theater(make_theater() / "theater.toml").problems == []


@pytest.mark.parametrize("tolerance", [0.0, -1.0, math.nan, math.inf])
def test_bad_tolerance_argument(make_theater: MakeTheater, tolerance: float) -> None:
    report = check_theater(make_theater(), tolerance_m=tolerance)
    assert "is not a positive number of metres" in only(report, "metres").what


def test_org_without_name_is_a_warning(write_files: WriteFiles) -> None:
    toml = GOOD_TOML.replace('name = "Monitor A"\n', "")
    report = check_theater(write_files("x", theater_toml=toml, geometry_geojson=GOOD_GEOJSON))
    assert report.ok
    assert "has no name" in only(report, "has no name", severity="warning").what
    assert report.theater is not None
    assert report.theater.orgs["mon-a"].name == "mon-a"


BROKEN_FEATURES: list[tuple[str, Any, str]] = [
    ("not-an-object", 5, 'not a GeoJSON Feature ({"type": "Feature"})'),
    ("no-properties", {"type": "Feature", "geometry": None}, "has no properties object"),
    (
        "unknown-kind",
        feature("trench", "LineString", [[46.5, 39.5], [46.5, 40.0]]),
        "properties.kind 'trench' is not one of",
    ),
    (
        "kind-not-string",
        feature({"a": 1}, "Point", [46.3, 39.7]),  # type: ignore[arg-type]
        "properties.kind {'a': 1} is not one of",
    ),
    ("no-geometry", {"type": "Feature", "properties": {"kind": "post"}}, "needs a Point geometry"),
    (
        "geometry-type-list",  # unhashable: once a TypeError
        {"type": "Feature", "properties": {"kind": "post"}, "geometry": {"type": ["Point"]}},
        "needs a Point geometry, got ['Point']",
    ),
    (
        "wrong-geometry",
        feature("post", "LineString", [[46.5, 39.5], [46.5, 40.0]], id="P-9", org="mon-a"),
        "post needs a Point geometry, got LineString",
    ),
    ("coords-garbage", feature("post", "Point", "46.3,39.7", id="P-9", org="mon-a"), "well-formed"),
    (
        "coords-strings",
        feature("post", "Point", ["46.3", "39.7"], id="P-9", org="mon-a"),
        "is not [longitude, latitude] numbers",
    ),
    (
        "coords-huge-int",  # int too large for a float: once an OverflowError
        {
            "type": "Feature",
            "properties": {"kind": "post", "id": "P-9", "org": "mon-a"},
            "geometry": {"type": "Point", "coordinates": [10**400, 39.7]},
        },
        "is not [longitude, latitude] numbers",
    ),
    (
        "coords-bool",
        feature("post", "Point", [True, 39.7], id="P-9", org="mon-a"),
        "is not [longitude, latitude] numbers",
    ),
    (
        "coords-4d",
        feature("post", "Point", [46.3, 39.7, 0.0, 1.0], id="P-9", org="mon-a"),
        "is not [longitude, latitude] numbers",
    ),
    ("post-no-id", feature("post", "Point", [46.3, 39.7], org="mon-a"), "needs properties.id"),
    (
        "id-not-string",
        feature("post", "Point", [46.3, 39.7], id={"x": 1}, org="mon-a"),
        "properties.id must be a string",
    ),
    (
        "zone-unknown",
        feature("zone", "Polygon", box(46.1, 39.6, 46.2, 39.7), id="z", zone="demilitarised"),
        "properties.zone 'demilitarised' is not one of",
    ),
    (
        "restrictions-not-list",
        feature(
            "zone",
            "Polygon",
            box(46.1, 39.6, 46.2, 39.7),
            id="z",
            zone="buffer",
            restrictions="tank",
        ),
        "restrictions must be a list of strings",
    ),
    (
        "handover-by-garbage",
        feature(
            "zone",
            "Polygon",
            box(46.1, 39.6, 46.2, 39.7),
            id="z",
            zone="district",
            handover_to="side-e",
            handover_by="soon",
        ),
        "handover_by:",
    ),
    (
        "zone-multipolygon",
        {
            "type": "Feature",
            "properties": {"kind": "zone", "id": "z", "zone": "buffer"},
            "geometry": {"type": "MultiPolygon", "coordinates": [box(46.1, 39.6, 46.2, 39.7)]},
        },
        "zone needs a Polygon geometry, got MultiPolygon",
    ),
]


@pytest.mark.parametrize(
    ("name", "raw", "text"), BROKEN_FEATURES, ids=[b[0] for b in BROKEN_FEATURES]
)
def test_broken_feature_is_located(
    make_theater: MakeTheater, name: str, raw: Any, text: str
) -> None:
    feats: list[Any] = clean_features()
    feats.append(raw)
    report = check_theater(make_theater(feats))
    p = only(report, text)
    assert "feature 7" in p.where
    assert p.where.startswith(str(report.directory))


# --- Never a traceback ------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(
        ["side-w", "mon-a", "district", "post", "Polygon", "2026-11-15T00:00:00Z", "zone"]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
keys = st.sampled_from(
    ["kind", "id", "side", "org", "zone", "restrictions", "handover_to", "handover_by",
     "valid_from", "valid_to", "type", "coordinates", "geometry", "properties"]
)  # fmt: skip


def _mutate(feats: list[Json], index: int, key: str, value: Any, where: str) -> list[Any]:
    out: list[Any] = copy.deepcopy(feats)
    target = out[index % len(out)]
    if where != "feature":
        # An earlier mutation may have replaced the object itself; then this one is moot.
        target = target.get("properties" if where == "properties" else "geometry")
    if isinstance(target, dict):
        target[key] = value
    return out


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), keys, json_values, st.sampled_from(["feature", "properties", "geo"])
        ),
        min_size=1,
        max_size=3,
    )
)
def test_check_never_raises_on_mangled_features(
    mutations: list[tuple[int, str, Any, str]],
) -> None:
    feats: list[Any] = clean_features()
    for index, key, value, where in mutations:
        feats = _mutate(feats, index, key, value, where)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "theater.toml").write_text(GOOD_TOML, encoding="utf-8")
        text = json.dumps({"type": "FeatureCollection", "features": feats})
        (root / "geometry.geojson").write_text(text, encoding="utf-8")
        report = check_theater(root)
    for p in report.problems:
        assert isinstance(p.where, str) and isinstance(p.what, str)
        assert p.severity in ("error", "warning")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_check_never_raises_on_random_toml(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "theater.toml").write_text(text, encoding="utf-8")
        (root / "geometry.geojson").write_text(GOOD_GEOJSON, encoding="utf-8")
        report = check_theater(root)
    assert report.problems  # never valid: no [theater] table with name and geometry


region_points = st.tuples(
    st.floats(45.9, 47.1, allow_nan=False).map(lambda v: round(v, 3)),
    st.floats(39.4, 40.1, allow_nan=False).map(lambda v: round(v, 3)),
).map(list)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(
    st.lists(region_points, min_size=3, max_size=7),
    st.lists(region_points, min_size=3, max_size=7),
    st.lists(region_points, min_size=2, max_size=5),
    st.sampled_from([0, 1, 3]),
)
def test_check_never_raises_on_random_shapes(
    ring_a: list[list[float]],
    ring_b: list[list[float]],
    line: list[list[float]],
    replaced: int,
) -> None:
    """Random (often self-intersecting, overlapping, off-line) areas and lines."""
    feats = clean_features()
    feats[replaced]["geometry"]["coordinates"] = [[*ring_a, ring_a[0]]]
    feats[2]["geometry"]["coordinates"] = line
    feats.append(
        feature("control_area", "Polygon", [[*ring_b, ring_b[0]]], id="area-x", side="side-e")
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "theater.toml").write_text(GOOD_TOML, encoding="utf-8")
        text = json.dumps({"type": "FeatureCollection", "features": feats})
        (root / "geometry.geojson").write_text(text, encoding="utf-8")
        report = check_theater(root)
    for p in report.problems:
        assert p.severity in ("error", "warning")
