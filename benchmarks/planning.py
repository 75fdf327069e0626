"""Quality of sortie planning: priority gained per flight hour, plan against naive patrol.

On the demo theater (line in force at --at, 4 drones at 2 bases), for several starting
coverage states, `plan_sorties` plans the horizon and, in the same run, its peer flies
the same drones at the same takeoffs for the same flight hours as a naive back-and-forth
patrol of a fixed stretch nearest each base (`naive_patrol`). Both are judged alike
(`planning_eval.evaluate`): routes sampled at --hz, camera footprints, `Coverage.compute`,
priority-km of the segments covered within the horizon. Printed per state: sorties,
flight hours, gain per flight hour of each and the ratio; and the planner's time.

States (priority = staleness h, capped at 24, x (1 + violation density)):

- nothing-seen: every stretch maximally stale;
- halves: the half of the line nearest base-a seen 2 h ago, the rest 20 h ago;
- gaps: all seen 1 h ago but five 5 km gaps, never seen;
- violent: nothing seen, and 12 violations in the last day around two places.

    .venv/bin/python benchmarks/planning.py [--hours 3] [--at 2026-11-27T06:00:00Z]
        [--hz 1]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.planning import PlanSettings, ViolationXYT, plan_sorties
from ceasewatch.analysis.planning_eval import compare
from ceasewatch.analysis.segments import Segments, theater_segments
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater, load_theater


def seen(segs: Segments, hours_ago: np.ndarray, at: datetime) -> Coverage:
    """Coverage that saw segment k once, hours_ago[k] before `at` (NaN: never)."""
    ok = np.isfinite(hours_ago)
    t = at.timestamp() - hours_ago[ok] * 3600.0
    offsets = np.concatenate([[0], np.cumsum(ok)]).astype(np.intp)
    return Coverage(segs, 5.0, 1000.0, offsets, t, t.copy())


def states(
    th: Theater, segs: Segments, at: datetime
) -> list[tuple[str, Coverage | None, list[ViolationXYT]]]:
    n = len(segs)
    out: list[tuple[str, Coverage | None, list[ViolationXYT]]] = [("nothing-seen", None, [])]
    base = next(b for b in th.at(at).bases if b.id == "base-a")
    bx, by = th.frame.to_local([base.lon], [base.lat])
    dx, dy = segs.mid_x - bx[0], segs.mid_y - by[0]
    near_a = np.argsort(dx * dx + dy * dy, kind="stable")[: n // 2]
    ago = np.full(n, 20.0)
    ago[near_a] = 2.0
    out.append(("halves", seen(segs, ago, at), []))
    ago = np.full(n, 1.0)
    for start in np.linspace(0, n - 10, 5).astype(int).tolist():
        ago[start : start + 10] = np.nan
    out.append(("gaps", seen(segs, ago, at), []))
    viol: list[ViolationXYT] = []
    for k, h in [(n // 5, 2.0), (3 * n // 4, 6.0)]:
        for i in range(6):
            x, y = float(segs.mid_x[k + i]), float(segs.mid_y[k + i])
            viol.append((x, y, at - timedelta(hours=h + 3 * i)))
    out.append(("violent", None, sorted(viol)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--at", default="2026-11-27T06:00:00Z")
    ap.add_argument("--hz", type=float, default=1.0)
    args = ap.parse_args()
    at = datetime.fromisoformat(args.at.replace("Z", "+00:00")).astimezone(UTC)
    th = load_theater(demo_theater_dir())
    segs = theater_segments(th.at(at), th.frame, PlanSettings().segment_m, zones=False)
    print(
        f"demo theater at {at:%Y-%m-%dT%H:%MZ}: {segs.length_m.sum() / 1000:.1f} km of line in "
        f"{len(segs)} segments, {len(th.drones)} drones; horizon {args.hours:g} h"
    )
    head = f"{'state':<13}{'sorties':>8}{'flight h':>9}{'plan/h':>10}{'naive/h':>10}"
    print(head + f"{'ratio':>8}{'plan km':>9}{'naive km':>9}{'plan s':>8}")
    ratios = []
    for name, cov, viol in states(th, segs, at):
        t0 = time.perf_counter()
        plan = plan_sorties(th, cov, viol, at=at, hours=args.hours)
        dt = time.perf_counter() - t0
        c = compare(th, plan, hz=args.hz)
        ratios.append(c.ratio)
        print(
            f"{name:<13}{len(plan.sorties):>8}{c.plan.flight_h:>9.2f}{c.plan.gain_per_h:>10.1f}"
            f"{c.naive.gain_per_h:>10.1f}{c.ratio:>7.2f}x{c.plan.covered_km:>9.1f}"
            f"{c.naive.covered_km:>9.1f}{dt:>8.2f}"
        )
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"geometric mean ratio (plan / naive gain per flight hour): {geo:.2f}x")


if __name__ == "__main__":
    main()
