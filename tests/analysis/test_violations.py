"""Violations: each rule kind on hand-built cases, and the same output for any input order."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import (
    Rule,
    RuleKind,
    Severity,
    WeaponInZoneParams,
    load_rules,
    parse_rules,
)
from ceasewatch.analysis.violations import apply_rules
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Detection
from tests.analysis.common import (
    EAST,
    FRAME,
    POST_A07,
    T0,
    WEST,
    E,
    W,
    detection,
    event,
    local,
    offset,
)


def one_rule(kind: RuleKind) -> list[Rule]:
    return [r for r in load_rules(None) if r.kind is kind]


def run(
    theater: Theater,
    kind: RuleKind,
    events: Sequence[Event] = (),
    detections: Sequence[Detection] = (),
    impacts: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> list[Violation]:
    """The default rule of one kind, applied."""
    return apply_rules(one_rule(kind), theater, events, detections, impacts=impacts)


# --- fixtures, empty and duplicate rule lists ---------------------------------------------


def test_fixtures_match_the_demo_theater(demo_theater: Theater) -> None:
    assert demo_theater.frame.crs == FRAME.crs
    post = next(p for p in demo_theater.at(T0).posts if p.id == "A-07")
    assert (post.lon, post.lat) == pytest.approx(POST_A07, abs=1e-9)


def test_empty_rule_list_checks_nothing(demo_theater: Theater) -> None:
    rules = parse_rules("rule = []\n")
    assert rules == []
    assert apply_rules(rules, demo_theater, [event("s", "shot", WEST, W)], []) == []


def test_duplicate_rule_ids_refused_in_code(demo_theater: Theater) -> None:
    rule = one_rule(RuleKind.OVERFLIGHT)[0]
    with pytest.raises(InvalidInput, match="overflight"):
        apply_rules([rule, rule], demo_theater, [], [])


# --- fire_across_line ---------------------------------------------------------------------


def test_shot_across_line(demo_theater: Theater) -> None:
    shot = event("shot-1", "shot", WEST, W)
    boom = event("exp-1", "explosion", EAST, E, T0 + timedelta(seconds=40))
    (v,) = run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [shot, boom])
    assert v.side == "side-w"
    assert v.p == pytest.approx(0.98 * 0.97)
    assert v.event_ids == ("exp-1", "shot-1")
    assert (v.rule, v.kind, v.severity, v.time) == (
        "fire-across-line",
        "fire_across_line",
        "high",
        T0,
    )
    assert (v.lon, v.lat) == WEST
    assert v.id.startswith("V-") and len(v.id) == 18


def test_shot_not_across_line(demo_theater: Theater) -> None:
    shot = event("shot-1", "shot", WEST, W)
    own = event("exp-1", "explosion", offset(WEST, 3000, 0), W)
    late = event("exp-2", "explosion", EAST, E, T0 + timedelta(seconds=500))
    early = event("exp-3", "explosion", EAST, E, T0 - timedelta(seconds=5))
    far = event("exp-4", "explosion", (47.4, 39.84), E, T0 + timedelta(seconds=9))
    assert run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [shot, own, late, early, far]) == []


def test_explosion_paired_with_nearest_shot(demo_theater: Theater) -> None:
    s1 = event("s-early", "shot", WEST, W, T0)
    s2 = event("s-late", "shot", offset(EAST, 2000, 0), E, T0 + timedelta(seconds=20))
    boom = event("exp-1", "explosion", EAST, E, T0 + timedelta(seconds=30))
    # The explosion goes with s-late (10 s before it), in its own side's area: no violation.
    assert run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [s1, s2, boom]) == []
    (v,) = run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [s1, boom])
    assert v.event_ids == ("exp-1", "s-early")


def test_firing_position_across_line(demo_theater: Theater) -> None:
    fp = event("fp-1", "firing_position", WEST, W, craters=("c1", "c2"))
    impacts = {"fp-1": [local(EAST), local(offset(WEST, 500, 0))]}
    (v,) = run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [fp], impacts=impacts)
    assert (v.side, v.p, v.event_ids) == ("side-w", 0.98, ("fp-1",))
    assert "1 of 2 impact(s) in side-e" in v.description and "c1, c2" in v.description
    own = {"fp-1": [local(offset(WEST, 500, 0))]}
    assert run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [fp], impacts=own) == []
    assert run(demo_theater, RuleKind.FIRE_ACROSS_LINE, [fp]) == []


# --- fire_near_post -----------------------------------------------------------------------


def test_fire_near_post(demo_theater: Theater) -> None:
    burst = event("b-1", "burst", offset(POST_A07, 0, 300), W)
    (v,) = run(demo_theater, RuleKind.FIRE_NEAR_POST, [burst])
    assert (v.side, v.p, v.severity) == ("side-w", 1.0, "critical")
    assert "A-07" in v.description and "300 m" in v.description


def test_explosion_near_post_blames_the_other_side(demo_theater: Theater) -> None:
    boom = event("x-1", "explosion", offset(POST_A07, 0, -200), W)
    (v,) = run(demo_theater, RuleKind.FIRE_NEAR_POST, [boom])
    assert v.side == "side-e"
    assert "inferred" in v.description


def test_fire_near_post_probability_at_the_edge(demo_theater: Theater) -> None:
    # Exactly distance_m away: as likely inside as outside.
    burst = event("b-1", "burst", offset(POST_A07, 0, 1000), W, sigma_m=200)
    (v,) = apply_rules([_lenient(RuleKind.FIRE_NEAR_POST)], demo_theater, [burst], [])
    assert v.p == pytest.approx(0.5, abs=1e-3)


def test_fire_far_from_posts(demo_theater: Theater) -> None:
    burst = event("b-1", "burst", WEST, W)
    flare = event("f-1", "flare", offset(POST_A07, 0, 100), W)
    assert run(demo_theater, RuleKind.FIRE_NEAR_POST, [burst, flare]) == []


def _lenient(kind: RuleKind) -> Rule:
    rule = one_rule(kind)[0]
    return Rule(rule.id, rule.severity, rule.params, 0.01)


# --- weapon_in_zone -----------------------------------------------------------------------

IN_WITHDRAWAL = (46.62, 39.90)


def test_weapon_in_zone(demo_theater: Theater) -> None:
    tank = detection("d-tank", "tank", IN_WITHDRAWAL)
    (v,) = run(demo_theater, RuleKind.WEAPON_IN_ZONE, detections=[tank])
    assert (v.side, v.p, v.detection_ids) == ("side-w", 1.0, ("d-tank",))
    assert "withdrawal-1" in v.description
    declared = detection("d-tank", "tank", IN_WITHDRAWAL, side="side-e")
    (v,) = run(demo_theater, RuleKind.WEAPON_IN_ZONE, detections=[declared])
    assert v.side == "side-e" and "x_side" in v.description


def test_weapon_in_zone_innocent(demo_theater: Theater) -> None:
    truck = detection("d-truck", "truck", IN_WITHDRAWAL)
    tank_out = detection("d-tank", "tank", WEST)
    assert run(demo_theater, RuleKind.WEAPON_IN_ZONE, detections=[truck, tank_out]) == []
    rule = Rule("trucks", Severity.LOW, WeaponInZoneParams(classes=("truck",)))
    (v,) = apply_rules([rule], demo_theater, [], [truck, tank_out])
    assert v.detection_ids == ("d-truck",)


def test_weapon_in_zone_uncertain_position(demo_theater: Theater) -> None:
    zone = next(z for z in demo_theater.at(T0).zones if z.id == "withdrawal-1")
    edge = zone.geometry.exterior.coords[0]
    near_edge = detection("d-tank", "tank", (edge[0], edge[1]), error_m=2000)
    (v,) = apply_rules([_lenient(RuleKind.WEAPON_IN_ZONE)], demo_theater, [], [near_edge])
    assert 0.3 < v.p < 0.7


# --- presence_after_handover --------------------------------------------------------------

IN_TALIGOR = (47.3, 39.77)
TALIGOR_BY = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_presence_after_handover(demo_theater: Theater) -> None:
    apc = detection("d-apc", "apc", IN_TALIGOR, TALIGOR_BY + timedelta(hours=3))
    (v,) = run(demo_theater, RuleKind.PRESENCE_AFTER_HANDOVER, detections=[apc])
    assert (v.side, v.p) == ("side-e", 1.0)
    assert "district-taligor" in v.description
    assert "inferred from the previous control" in v.description


def test_presence_before_handover_or_by_new_owner(demo_theater: Theater) -> None:
    before = detection("d-1", "apc", IN_TALIGOR, TALIGOR_BY - timedelta(seconds=1))
    owner = detection("d-2", "tank", IN_TALIGOR, TALIGOR_BY + timedelta(hours=1), side="side-w")
    drone = detection("d-3", "drone", IN_TALIGOR, TALIGOR_BY + timedelta(hours=1))
    outside = detection("d-4", "apc", EAST, TALIGOR_BY + timedelta(hours=1))
    found = run(
        demo_theater, RuleKind.PRESENCE_AFTER_HANDOVER, detections=[before, owner, drone, outside]
    )
    assert found == []


def test_presence_declared_side(demo_theater: Theater) -> None:
    # Veshan (handed to side-w on 2026-11-15): a tank declared side-e inside it afterwards.
    tank = detection(
        "d-1", "tank", (46.7, 39.65), datetime(2026, 11, 16, tzinfo=UTC), side="side-e"
    )
    (v,) = run(demo_theater, RuleKind.PRESENCE_AFTER_HANDOVER, detections=[tank])
    assert v.side == "side-e" and "district-veshan" in v.description


# --- movement_across_line -----------------------------------------------------------------


def test_movement_across_line(demo_theater: Theater) -> None:
    a = event("m-1", "movement", WEST, W)
    b = event(
        "m-2",
        "movement",
        offset(WEST, 1500, 0),
        E,
        T0 + timedelta(seconds=300),
    )
    (v,) = run(demo_theater, RuleKind.MOVEMENT_ACROSS_LINE, [a, b])
    assert (v.side, v.event_ids, v.time) == ("side-w", ("m-1", "m-2"), b.time)
    assert v.p == pytest.approx(0.98 * 0.97)


def test_movement_not_across_line(demo_theater: Theater) -> None:
    a = event("m-1", "movement", WEST, W)
    same = event(
        "m-2",
        "movement",
        offset(WEST, 1500, 0),
        W,
        T0 + timedelta(seconds=300),
    )
    late = event(
        "m-3",
        "movement",
        offset(WEST, 1500, 0),
        E,
        T0 + timedelta(hours=3),
    )
    far = event("m-4", "movement", EAST, E, T0 + timedelta(seconds=60))
    assert run(demo_theater, RuleKind.MOVEMENT_ACROSS_LINE, [a, same, late, far]) == []


# --- overflight ---------------------------------------------------------------------------

IN_NOFLY = (46.40, 40.0)


def test_overflight_no_fly(demo_theater: Theater) -> None:
    drone_ev = event("e-drone", "drone", IN_NOFLY, {})
    drone_det = detection("d-drone", "drone", IN_NOFLY)
    found = run(demo_theater, RuleKind.OVERFLIGHT, [drone_ev], [drone_det])
    evidence = sorted((v.event_ids, v.detection_ids) for v in found)
    assert evidence == [((), ("d-drone",)), (("e-drone",), ())]
    assert all(v.side is None and "nofly-1" in v.description for v in found)
    declared = detection("d-drone", "drone", IN_NOFLY, side="side-e")
    (v,) = run(demo_theater, RuleKind.OVERFLIGHT, detections=[declared])
    assert v.side == "side-e"


def test_overflight_of_other_side(demo_theater: Theater) -> None:
    over_w = detection("d-1", "aircraft", WEST, side="side-e")
    (v,) = run(demo_theater, RuleKind.OVERFLIGHT, detections=[over_w])
    assert (v.side, v.p) == ("side-e", 1.0) and "over side-w's area" in v.description


def test_overflight_innocent(demo_theater: Theater) -> None:
    own = detection("d-1", "aircraft", EAST, side="side-e")
    unknown = detection("d-2", "drone", WEST)
    tank = detection("d-3", "tank", IN_NOFLY)
    ev = event("e-1", "aircraft", WEST, W)
    assert run(demo_theater, RuleKind.OVERFLIGHT, [ev], [own, unknown, tank]) == []


# --- determinism --------------------------------------------------------------------------


def _scene(
    theater: Theater,
) -> tuple[list[Event], list[Detection], dict[str, list[tuple[float, float]]]]:
    t1 = T0 + timedelta(seconds=40)
    events = [
        event("shot-1", "shot", WEST, W),
        event("shot-2", "shot", offset(WEST, 0, 800), W),
        event("exp-1", "explosion", EAST, E, t1),
        event("exp-2", "explosion", offset(EAST, 300, 0), E, t1),
        event("fp-1", "firing_position", WEST, W, craters=("c1",)),
        event("b-1", "burst", offset(POST_A07, 0, 300), W),
        event("m-1", "movement", WEST, W),
        event(
            "m-2",
            "movement",
            offset(WEST, 1500, 0),
            E,
            T0 + timedelta(seconds=300),
        ),
        event(
            "m-3",
            "movement",
            offset(WEST, 1000, 0),
            E,
            T0 + timedelta(seconds=300),
        ),
        event("e-drone", "drone", IN_NOFLY, {}),
    ]
    detections = [
        detection("d-tank", "tank", IN_WITHDRAWAL),
        detection("d-apc", "apc", IN_TALIGOR, TALIGOR_BY + timedelta(hours=3)),
        detection("d-drone", "drone", IN_NOFLY, side="side-e"),
        detection("d-air", "aircraft", WEST, side="side-e"),
    ]
    impacts = {"fp-1": [local(EAST), local(offset(EAST, 100, 100))]}
    return events, detections, impacts


def test_scene_finds_every_kind(demo_theater: Theater) -> None:
    events, detections, impacts = _scene(demo_theater)
    found = apply_rules(load_rules(None), demo_theater, events, detections, impacts=impacts)
    assert {v.kind for v in found} == {k.value for k in RuleKind}
    assert found == sorted(found, key=lambda v: (v.time, v.id))
    assert len({v.id for v in found}) == len(found)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_input_order_same_output(demo_theater: Theater, seed: int) -> None:
    events, detections, impacts = _scene(demo_theater)
    rules = load_rules(None)
    expected = apply_rules(rules, demo_theater, events, detections, impacts=impacts)
    rng = random.Random(seed)
    rng.shuffle(events)
    rng.shuffle(detections)
    rng.shuffle(rules)
    shuffled = {k: list(reversed(v)) for k, v in reversed(list(impacts.items()))}
    again = apply_rules(rules, demo_theater, events + events[:2], detections, impacts=shuffled)
    assert again == expected


def test_conflicting_duplicate_ids_refused(demo_theater: Theater) -> None:
    a = event("same", "shot", WEST, W)
    b = event("same", "shot", EAST, E)
    with pytest.raises(InvalidInput, match="same"):
        apply_rules(load_rules(None), demo_theater, [a, b], [])
