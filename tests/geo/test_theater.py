"""Theater: reading theater.toml + GeoJSON, and the geometry in force at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from shapely.geometry import LineString, Point

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.features import FeatureKind, ZoneType
from ceasewatch.geo.theater import OrgRole, Theater, TheaterState, load_theater, read_theater
from ceasewatch.records.types import parse_time
from tests.geo.conftest import HANDOVER, MakeTheater, box, clean_features, feature

US = timedelta(microseconds=1)
VESHAN = parse_time("2026-11-15T00:00:00Z")
TALIGOR = parse_time("2026-11-26T12:00:00Z")
KARSOL = parse_time("2026-12-01T00:00:00Z")


def district(theater: Theater, zone_id: str) -> Point:
    (z,) = [z for z in theater.at(datetime(2026, 1, 1, tzinfo=UTC)).zones if z.id == zone_id]
    return z.geometry


def parts(geom: object) -> int:
    return len(getattr(geom, "geoms", [geom]))


# --- The demo theater -------------------------------------------------------------------


def test_demo_theater_reads(demo_theater: Theater) -> None:
    assert demo_theater.crs == "EPSG:32638"
    assert demo_theater.sides == ["side-e", "side-w"]
    assert demo_theater.monitors == ["mon-a", "mon-b"]
    assert demo_theater.orgs["side-w"].role is OrgRole.SIDE
    assert demo_theater.org_roles()["mon-a"] == "monitor"
    assert demo_theater.change_times == (VESHAN, TALIGOR, KARSOL)
    assert len(demo_theater.intervals()) == 4
    state = demo_theater.at(VESHAN - US)
    assert len(state.posts) == 24
    assert {b.id for b in state.bases} == {"base-a", "base-b"}
    assert {z.id for z in state.zones_of(ZoneType.DISTRICT)} == {
        "district-veshan",
        "district-taligor",
        "district-karsol",
    }
    (withdrawal,) = state.zones_of(ZoneType.WITHDRAWAL)
    assert withdrawal.restrictions == ("artillery", "mlrs", "tank")


@pytest.mark.parametrize(
    ("when", "zone_id"),
    [(VESHAN, "district-veshan"), (TALIGOR, "district-taligor"), (KARSOL, "district-karsol")],
)
def test_each_handover_moves_the_district_and_the_line(
    demo_theater: Theater, when: datetime, zone_id: str
) -> None:
    d = district(demo_theater, zone_id)
    before, after = demo_theater.at(when - US), demo_theater.at(when)
    assert before.end == when and after.start == when
    # Before: the district is side-e's; after: side-w's, and none of it side-e's.
    assert before.areas["side-e"].intersection(d).area == pytest.approx(d.area, rel=1e-6)
    assert before.areas["side-w"].intersection(d).area == pytest.approx(0.0, abs=1e-9)
    assert after.areas["side-w"].intersection(d).area == pytest.approx(d.area, rel=1e-6)
    assert after.areas["side-e"].intersection(d).area == pytest.approx(0.0, abs=1e-9)
    # Nothing but the district changed hands.
    total = before.areas["side-w"].area + before.areas["side-e"].area
    assert after.areas["side-w"].area + after.areas["side-e"].area == pytest.approx(total)
    assert after.areas["side-w"].area == pytest.approx(before.areas["side-w"].area + d.area)
    # The line changed, and now runs along the district's edge facing side-e.
    assert not after.contact_line.equals(before.contact_line)
    facing = d.boundary.intersection(after.areas["side-e"])
    assert facing.length > 0
    assert after.contact_line.buffer(1e-7).covers(facing)
    # ...and no longer runs through the district's inside.
    assert after.contact_line.intersection(d.buffer(-1e-4)).length == pytest.approx(0.0)


def test_veshan_keeps_the_line_one_connected_linestring(demo_theater: Theater) -> None:
    before, after = demo_theater.at(VESHAN - US), demo_theater.at(VESHAN)
    assert before.contact_line.geom_type == "LineString"
    assert after.contact_line.geom_type == "LineString"
    # Same ends: the line was rerouted around the district, not cut.
    b0, b1 = before.contact_line.coords[0], before.contact_line.coords[-1]
    a0, a1 = after.contact_line.coords[0], after.contact_line.coords[-1]
    assert {b0, b1} == {a0, a1}
    assert after.contact_line.length > before.contact_line.length


def test_taligor_and_karsol_become_exclaves_with_their_own_line(demo_theater: Theater) -> None:
    after_veshan = demo_theater.at(VESHAN)
    after_taligor = demo_theater.at(TALIGOR)
    after_karsol = demo_theater.at(KARSOL)
    assert after_veshan.areas["side-w"].geom_type == "Polygon"
    assert after_taligor.areas["side-w"].geom_type == "MultiPolygon"
    assert parts(after_taligor.contact_line) == 2
    assert parts(after_karsol.contact_line) == 3
    # The Taligor piece of line is the district's edges facing side-e only, not the
    # theater's outer edges, which face no one.
    taligor = district(demo_theater, "district-taligor")
    piece = after_taligor.contact_line.intersection(taligor.boundary.buffer(1e-7))
    assert piece.length < taligor.boundary.length * 0.6


def test_states_are_cached_per_interval(demo_theater: Theater) -> None:
    a = demo_theater.at(VESHAN + timedelta(hours=1))
    b = demo_theater.at(TALIGOR - US)
    assert a is b
    assert demo_theater.at(TALIGOR) is not a


def test_non_utc_times_are_the_same_instant(demo_theater: Theater) -> None:
    local = TALIGOR.astimezone(__import__("datetime").timezone(timedelta(hours=4)))
    assert demo_theater.at(local) is demo_theater.at(TALIGOR)


def test_naive_time_is_refused(demo_theater: Theater) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        demo_theater.at(datetime(2026, 11, 20))


def test_side_at_and_sides_of_agree(demo_theater: Theater) -> None:
    state = demo_theater.at(VESHAN - US)
    lon = np.array([p.lon for p in state.posts] + [0.0])
    lat = np.array([p.lat for p in state.posts] + [0.0])
    assert state.sides_of(lon, lat) == [state.side_at(x, y) for x, y in zip(lon, lat, strict=True)]
    assert state.side_at(0.0, 0.0) is None
    # Posts sit on both sides of the line.
    assert {state.side_at(p.lon, p.lat) for p in state.posts} == {"side-w", "side-e"}


def test_extra_properties_are_kept(demo_theater: Theater) -> None:
    state = demo_theater.at(VESHAN)
    (corridor,) = state.zones_of(ZoneType.CORRIDOR)
    assert corridor.properties["escort"] == "peacekeepers"
    (withdrawal,) = state.zones_of(ZoneType.WITHDRAWAL)
    assert withdrawal.properties["distance_m"] == 10000.0
    (line,) = [f for f in demo_theater.features if f.kind is FeatureKind.CONTACT_LINE]
    assert line.properties["west"] == "side-w"
    post = next(p for p in state.posts if p.id == "A-01")
    assert post.properties["name"] == "Orlen ridge"
    assert "escort" not in line.properties


# --- Small theaters built in tests/geo/conftest.py -------------------------------------


def test_clean_fixture_handover_keeps_one_line(make_theater: MakeTheater) -> None:
    th = load_theater(make_theater())
    when = parse_time(HANDOVER)
    before, after = th.at(when - US), th.at(when)
    assert before.contact_line.equals(LineString([(46.5, 39.5), (46.5, 40.0)]))
    assert after.contact_line.geom_type == "LineString"
    # Around the district's three edges facing side-e: 0.5 - 0.1 + 0.1 + 0.1 + 0.1 degrees.
    assert after.contact_line.length == pytest.approx(0.7)
    assert after.side_at(46.55, 39.75) == "side-w"
    assert before.side_at(46.55, 39.75) == "side-e"


def test_valid_from_and_valid_to_filter_features(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats.append(
        feature(
            "post",
            "Point",
            [46.4, 39.6],
            id="P-temp",
            org="mon-b",
            valid_from="2026-01-01T00:00:00Z",
            valid_to="2026-02-01T00:00:00+01:00",  # any offset, kept as UTC
        )
    )
    th = load_theater(make_theater(feats))
    start, end = parse_time("2026-01-01T00:00:00Z"), parse_time("2026-01-31T23:00:00Z")
    assert start in th.change_times and end in th.change_times

    def posts(t: datetime) -> set[str]:
        return {p.id for p in th.at(t).posts}

    assert "P-temp" not in posts(start - US)
    assert "P-temp" in posts(start)  # valid_from is inclusive
    assert "P-temp" in posts(end - US)
    assert "P-temp" not in posts(end)  # valid_to is exclusive


def test_control_area_replaced_over_time(make_theater: MakeTheater) -> None:
    feats = clean_features()
    cut = "2026-06-01T00:00:00Z"
    feats[0]["properties"]["valid_to"] = cut
    feats[1]["properties"]["valid_to"] = cut
    feats[2]["properties"]["valid_to"] = cut
    # From June the line moves 0.1 degree east.
    feats += [
        feature(
            "control_area", "Polygon", box(46.0, 39.5, 46.6, 40.0), id="area-w2", side="side-w",
            valid_from=cut,
        ),
        feature(
            "control_area", "Polygon", box(46.6, 39.5, 47.0, 40.0), id="area-e2", side="side-e",
            valid_from=cut,
        ),
        feature(
            "contact_line", "LineString", [[46.6, 39.5], [46.6, 40.0]], id="line-2",
            valid_from=cut,
        ),
    ]  # fmt: skip
    th = load_theater(make_theater(feats))
    t = parse_time(cut)
    assert th.at(t - US).side_at(46.55, 39.6) == "side-e"
    assert th.at(t).side_at(46.55, 39.6) == "side-w"
    assert th.at(t).contact_line.equals(LineString([(46.6, 39.5), (46.6, 40.0)]))


def test_handover_holds_after_the_district_expires(make_theater: MakeTheater) -> None:
    # A district often ends the day it is handed over; the handover must stay.
    feats = clean_features()
    feats[3]["properties"]["valid_to"] = HANDOVER
    th = load_theater(make_theater(feats))
    after = th.at(parse_time(HANDOVER) + timedelta(days=30))
    assert after.side_at(46.55, 39.75) == "side-w"
    assert after.zones_of(ZoneType.DISTRICT) == ()
    assert after.contact_line.length == pytest.approx(0.7)


def test_district_not_in_force_at_its_handover_is_not_handed_over(
    make_theater: MakeTheater,
) -> None:
    feats = clean_features()
    feats[3]["properties"]["valid_from"] = "2027-01-01T00:00:00Z"
    th = load_theater(make_theater(feats))
    assert th.at(parse_time("2027-02-01T00:00:00Z")).side_at(46.55, 39.75) == "side-e"


def test_two_handovers_apply_in_time_order(make_theater: MakeTheater) -> None:
    feats = clean_features()
    # A second district: back to side-e a month later (same place).
    feats.append(
        feature(
            "zone", "Polygon", box(46.5, 39.7, 46.6, 39.8), id="district-2", zone="district",
            handover_to="side-e", handover_by="2026-12-15T00:00:00Z",
        )
    )  # fmt: skip
    th = load_theater(make_theater(feats))
    assert th.at(parse_time("2026-12-01T00:00:00Z")).side_at(46.55, 39.75) == "side-w"
    back = th.at(parse_time("2026-12-15T00:00:00Z"))
    assert back.side_at(46.55, 39.75) == "side-e"
    assert back.contact_line.length == pytest.approx(0.5)


def test_handover_by_on_another_kind_is_only_an_extra_property(
    make_theater: MakeTheater,
) -> None:
    # Only zones hand over; on a post, handover_by is an unknown property, kept as is
    # even when it is not a time (this used to crash Theater()).
    feats = clean_features()
    feats[4]["properties"]["handover_by"] = "next tuesday"
    th, problems = read_theater(make_theater(feats))
    assert th is not None, problems
    assert th.change_times == (parse_time(HANDOVER),)
    post = next(p for p in th.at(parse_time(HANDOVER)).posts if p.id == "P-1")
    assert post.properties["handover_by"] == "next tuesday"


def test_unknown_properties_kept_on_every_kind(make_theater: MakeTheater) -> None:
    feats = clean_features()
    for i, f in enumerate(feats):
        f["properties"]["x_note"] = {"n": i, "tags": ["a", "b"]}
    th = load_theater(make_theater(feats))
    assert [f.properties["x_note"]["n"] for f in th.features] == list(range(len(feats)))
    state = th.at(parse_time(HANDOVER) - US)
    assert state.zones[0].properties["x_note"]["tags"] == ["a", "b"]
    assert state.bases[0].properties["x_note"]["n"] == 6


@pytest.mark.parametrize(
    ("shift_lon", "shift_lat", "crs"),
    [
        (0.0, 0.0, "EPSG:32638"),  # centre 46.5 E, 39.75 N
        (-10.0, -80.0, "EPSG:32737"),  # centre 36.5 E, 40.25 S
        (-93.0, 0.0, "EPSG:32623"),  # centre 46.5 W: zone 23 is 48-42 W
    ],
)
def test_default_crs_is_the_utm_zone_of_the_centre(
    make_theater: MakeTheater, shift_lon: float, shift_lat: float, crs: str
) -> None:
    feats = clean_features()
    for f in feats:
        g = f["geometry"]
        g["coordinates"] = _shift(g["coordinates"], shift_lon, shift_lat)
    th = load_theater(make_theater(feats))
    assert th.crs == crs
    assert th.frame.crs == crs


def _shift(coords: object, dlon: float, dlat: float) -> object:
    if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
        return [coords[0] + dlon, coords[1] + dlat]
    assert isinstance(coords, list)
    return [_shift(c, dlon, dlat) for c in coords]


def test_crs_given_is_used(make_theater: MakeTheater) -> None:
    th = load_theater(make_theater(crs="EPSG:32639"))
    assert th.crs == "EPSG:32639"


def test_load_refuses_with_every_error(make_theater: MakeTheater) -> None:
    feats = clean_features()
    feats[4]["properties"]["org"] = "nobody"
    feats[5]["properties"]["org"] = "side-w"  # a side, not a monitor
    root = make_theater(feats)
    with pytest.raises(InvalidInput) as info:
        load_theater(root)
    assert len(info.value.problems) == 2
    assert "theater check" in info.value.diagnostics()
    theater, problems = read_theater(root)
    assert theater is None
    assert [p.severity for p in problems] == ["error", "error"]


def test_read_theater_accepts_the_toml_path(make_theater: MakeTheater) -> None:
    root = make_theater()
    th, problems = read_theater(root / "theater.toml")
    assert th is not None and problems == []
    assert th.root == root
    assert th.name == "Test theater t"


def test_state_type(demo_theater: Theater) -> None:
    assert isinstance(demo_theater.at(KARSOL), TheaterState)
