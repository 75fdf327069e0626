"""The rules' numpy paths agree with the plain loops they replaced."""

from __future__ import annotations

import bisect
import dataclasses
import math
import random
from datetime import timedelta

import pytest

from ceasewatch.analysis._rules_common import best_side
from ceasewatch.analysis._rules_fire import _pair_shots, _shot_choice, _shot_choices
from ceasewatch.analysis.model import Event, Violation, violation_of, violation_values
from ceasewatch.analysis.rules import FireAcrossLineParams, RuleKind, load_rules
from ceasewatch.analysis.violations import apply_rules
from ceasewatch.geo.theater import Theater
from ceasewatch.records.types import posix_us
from tests.analysis.common import T0
from tests.analysis.test_violations import _scene


def _events(rng: random.Random, kind: str, n: int) -> list[Event]:
    out = []
    for i in range(n):
        # Few distinct times and a coarse grid of places: ties in time and in distance.
        t = T0 + timedelta(seconds=rng.randint(0, 600) // 7 * 7, microseconds=rng.choice([0, 1]))
        x, y = rng.randint(-20, 20) * 500.0, rng.randint(-20, 20) * 500.0
        eid = f"{kind[0]}-{rng.randint(0, 10**6):07d}-{i}"
        out.append(Event(eid, t, kind, 1, x, y, 0.0, 0.0, ((1.0, 0.0), (0.0, 1.0)), 1.0))
    return sorted(out, key=lambda e: (e.time, e.id))


def _pair_by_loop(
    shots: list[Event], explosions: list[Event], p: FireAcrossLineParams
) -> dict[int, list[int]]:
    """The pairing as a loop per explosion (what `_pair_shots` replaced)."""
    times = [posix_us(s.time) for s in shots]
    delay_us = timedelta(seconds=p.max_delay_s) // timedelta(microseconds=1)
    paired: dict[int, list[int]] = {}
    for j, ex in enumerate(explosions):
        t = posix_us(ex.time)
        best: tuple[float, float, str, int] | None = None
        for k in range(bisect.bisect_left(times, t - delay_us), bisect.bisect_right(times, t)):
            dist = math.hypot(ex.x_m - shots[k].x_m, ex.y_m - shots[k].y_m)
            if dist <= p.max_range_m:
                cand = ((t - times[k]) / 1_000_000, dist, shots[k].id, k)
                if best is None or cand < best:
                    best = cand
        if best is not None:
            paired.setdefault(best[3], []).append(j)
    return dict(sorted(paired.items()))


@pytest.mark.parametrize("seed", range(20))
def test_shots_pair_as_the_loop_pairs_them(seed: int) -> None:
    rng = random.Random(seed)
    shots = _events(rng, "shot", rng.randint(0, 60))
    explosions = _events(rng, "explosion", rng.randint(0, 120))
    p = FireAcrossLineParams(max_delay_s=rng.choice([1, 7, 60, 120]), max_range_m=4000)
    assert _pair_shots(shots, explosions, p) == _pair_by_loop(shots, explosions, p)


@pytest.mark.parametrize("seed", range(30))
def test_shots_choose_sides_as_the_loop_chooses_them(seed: int) -> None:
    rng = random.Random(seed)
    values = [0.5, 0.25, 0.75, 1.0, 1.0 / 3.0, 0.0, -0.0, math.nan]
    sides = "AB" if seed % 3 else "ABC"

    def p_side() -> dict[str, float]:
        # Mostly what the pipeline gives (positive p of two sides), sometimes anything.
        odd = rng.random() < 0.1
        n = rng.randint(0, len(sides) if odd else 2)
        return {
            s: rng.choice(values) if odd else rng.choice([rng.random(), 0.5, 1.0])
            for s in rng.sample(sides, n)
        }

    shots = [dataclasses.replace(e, p_side=p_side()) for e in _events(rng, "shot", 40)]
    explosions = [dataclasses.replace(e, p_side=p_side()) for e in _events(rng, "explosion", 120)]
    paired = _pair_shots(shots, explosions, FireAcrossLineParams(max_delay_s=60, max_range_m=4000))
    assert paired
    want = []
    for k, exs in paired.items():
        choice = _shot_choice(shots[k], [explosions[i] for i in exs])
        if choice is not None:
            want.append((k, *choice))
    got = _shot_choices(shots, explosions, paired)
    # repr: NaN equals itself, and -0.0 is not 0.0.
    assert repr(got) == repr(want)


def test_best_side_is_the_least_of_minus_p_then_name() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        p_side = {rng.choice("ABCD"): rng.choice([0.0, -0.0, 0.25, 0.5, rng.random(), math.nan])
                  for _ in range(rng.randint(0, 4))}  # fmt: skip
        ranked = sorted((-p, s) for s, p in p_side.items() if p > 0.0)
        assert best_side(p_side) == ((ranked[0][1], -ranked[0][0]) if ranked else (None, 0.0))


def test_forked_parts_give_the_same_violations(demo_theater: Theater) -> None:
    events, detections, impacts = _scene(demo_theater)
    rules = load_rules(None)
    one = apply_rules(rules, demo_theater, events, detections, impacts=impacts)
    two = apply_rules(rules, demo_theater, events, detections, impacts=impacts, workers=2)
    assert {v.kind for v in one} == {k.value for k in RuleKind}
    assert two == one
    # Field for field, in the dataclass's order (what repr, pickle and vars see).
    assert [list(vars(v).items()) for v in two] == [list(vars(v).items()) for v in one]
    assert [repr(v) for v in two] == [repr(v) for v in one]


def test_a_violation_built_from_its_values_is_the_same() -> None:
    v = Violation("V-1", "r", "overflight", None, 0.5, "high", T0, 1.0, 2.0, "d", ("e",), ())
    again = violation_of(violation_values(v))
    assert again == v and vars(again) == vars(v) and list(vars(again)) == list(vars(v))
