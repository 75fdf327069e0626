"""Allegations against violations and fire events: supported, not supported, no coverage."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from ceasewatch.analysis.allegations import match_allegations
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import load_rules
from ceasewatch.analysis.violations import apply_rules
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records.kinds import Allegation
from tests.analysis.common import EAST, POST_A07, T0, WEST, E, W, event, offset

#: In side-e's area, more than 40 km from any post.
REMOTE_EAST = (47.35, 39.95)


def allegation(
    aid: str,
    lonlat: tuple[float, float],
    t: datetime = T0,
    *,
    by: str = "side-e",
    against: str = "side-w",
    radius_m: float = 500.0,
) -> Allegation:
    return Allegation(
        id=aid, time=t, by=by, against=against, lon=lonlat[0], lat=lonlat[1], radius_m=radius_m
    )


def shelling() -> list[Event]:
    """side-w fires from WEST onto EAST."""
    return [
        event("shot-1", "shot", WEST, W),
        event("exp-1", "explosion", EAST, E, T0 + timedelta(seconds=40)),
    ]


def violations(theater: Theater, events: list[Event]) -> list[Violation]:
    return apply_rules(load_rules(None), theater, events, [])


def test_supported_by_a_violation(demo_theater: Theater) -> None:
    events = shelling()
    vs = violations(demo_theater, events)
    (f,) = match_allegations(
        [allegation("a-1", offset(EAST, 300, 0), T0 + timedelta(minutes=20))],
        events,
        vs,
        demo_theater,
    )
    assert f.status == "supported"
    assert f.violation_ids == tuple(v.id for v in vs) and len(vs) == 1
    assert f.event_ids == ("exp-1", "shot-1")


def test_supported_by_a_fire_event_alone(demo_theater: Theater) -> None:
    boom = event("exp-1", "explosion", EAST, E, sigma_m=400)
    # 1 km away: outside radius_m (500 m) but within radius_m + 2 sigma (1300 m).
    (f,) = match_allegations([allegation("a-1", offset(EAST, 1000, 0))], [boom], [], demo_theater)
    assert (f.status, f.event_ids, f.violation_ids) == ("supported", ("exp-1",), ())
    assert "no rule violation" in f.note


def test_fire_from_the_accuser_does_not_support(demo_theater: Theater) -> None:
    # An explosion in side-w's area: fired by side-e, the accuser, not by side-w.
    boom = event("exp-1", "explosion", WEST, W)
    (f,) = match_allegations([allegation("a-1", WEST)], [boom], [], demo_theater)
    assert f.status == "not_supported"
    assert f.extra["other_side_event_ids"] == ["exp-1"]
    assert (f.event_ids, f.violation_ids) == ((), ())


def test_ambiguous_attribution_supports_clear_one_does_not(demo_theater: Theater) -> None:
    alg = allegation("a-1", REMOTE_EAST)
    maybe = event("b-1", "burst", REMOTE_EAST, {"side-e": 0.6, "side-w": 0.4})
    (f,) = match_allegations([alg], [maybe], [], demo_theater)
    assert (f.status, f.event_ids) == ("supported", ("b-1",))
    assert f.extra["p_accused"] == {"b-1": 0.4}
    clear = event("b-1", "burst", REMOTE_EAST, {"side-e": 0.9, "side-w": 0.1})
    (f,) = match_allegations([alg], [clear], [], demo_theater)
    assert (f.status, f.extra["other_side_event_ids"]) == ("not_supported", ["b-1"])
    (f,) = match_allegations([alg], [clear], [], demo_theater, min_p_accused=0.05)
    assert f.status == "supported"


def test_not_supported_where_a_post_watched(demo_theater: Theater) -> None:
    late = event("exp-1", "explosion", offset(POST_A07, 2000, 0), W, T0 + timedelta(hours=3))
    (f,) = match_allegations(
        [allegation("a-1", offset(POST_A07, 2000, 0), against="side-e", by="side-w")],
        [late],
        [],
        demo_theater,
    )
    assert f.status == "not_supported"
    assert "A-07" in f.extra["observed_by"]


def test_no_coverage_unless_observed(demo_theater: Theater) -> None:
    alg = allegation("a-1", REMOTE_EAST, against="side-e", by="side-w")
    (f,) = match_allegations([alg], shelling(), [], demo_theater)
    assert (f.status, f.event_ids, f.violation_ids) == ("no_coverage", (), ())
    seen: list[tuple[float, float, datetime]] = []

    def observed(x: float, y: float, t: datetime) -> bool:
        seen.append((x, y, t))
        return True

    (f,) = match_allegations([alg], shelling(), [], demo_theater, observed=observed)
    assert f.status == "not_supported" and f.extra["observed_by_coverage"] is True
    assert seen and seen[0][2] == T0


def test_window_and_radius(demo_theater: Theater) -> None:
    events = shelling()
    vs = violations(demo_theater, events)
    far_in_time = allegation("a-1", EAST, T0 + timedelta(hours=2))
    far_away = allegation("a-2", offset(EAST, 5000, 0))
    found = match_allegations([far_away, far_in_time], events, vs, demo_theater)
    assert [f.allegation for f in found] == ["a-1", "a-2"]
    assert all(f.status != "supported" for f in found)
    (wide,) = match_allegations([far_in_time], events, vs, demo_theater, window_s=3 * 3600)
    assert wide.status == "supported"


def test_order_independent(demo_theater: Theater) -> None:
    events = [*shelling(), event("exp-2", "explosion", WEST, W)]
    vs = violations(demo_theater, events)
    algs = [
        allegation("a-3", EAST),
        allegation("a-1", offset(POST_A07, 1000, 0)),
        allegation("a-2", REMOTE_EAST, against="side-e", by="side-w"),
    ]
    expected = match_allegations(algs, events, vs, demo_theater)
    assert [f.status for f in expected] == ["not_supported", "no_coverage", "supported"]
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(algs)
        rng.shuffle(events)
        rng.shuffle(vs)
        assert match_allegations(algs, events + events, vs, demo_theater) == expected


def test_conflicting_event_ids_refused(demo_theater: Theater) -> None:
    a, b = event("x", "shot", WEST, W), event("x", "shot", EAST, E)
    with pytest.raises(InvalidInput, match="'x'"):
        match_allegations([], [a, b], [], demo_theater)
