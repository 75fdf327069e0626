"""Where the joint analysis goes wrong on simulated scenarios, case by case.

Uses the simulator's truth (`sighting_truth`, `truth.occurrences`) to list:
- split occurrences: sightings of one occurrence spread over several events, with each
  piece's sightings (observer, kind, sense, time, bearing error, band vs true distance)
  and why the pieces were not fused (no candidate pair between them, or which test of
  the grouping rejects their union);
  (a `*` marks a sighting in some candidate pair);
- merged events: events holding sightings of several occurrences;
- confident wrong sides: events beyond 1.5 km whose top p_side >= 0.95 is not the true
  side, with their sightings, whether a bearing is gross, and the fix's Mahalanobis
  distance to the truth.

    .venv/bin/python benchmarks/accuracy_errors.py [--seed 1] [--rate 4] [--gross 0.04]
        [--hours 24] [--show 20]
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter

import numpy as np
from accuracy import _true_d_line  # benchmarks/accuracy.py: run from this directory's parent

from ceasewatch.analysis import analyse
from ceasewatch.analysis._assoc_group import consistent_many
from ceasewatch.analysis._candidates import Ctx, Static, candidate_pairs
from ceasewatch.analysis.associate import associate
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import normalise
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater
from ceasewatch.sim import default_window, simulate

_CHI2_95 = 5.991464547107979


def _pair_failure(ctx: Ctx, i: int, j: int) -> str:
    """Which test of `candidate_pairs` a pair fails (i < j or not)."""
    i, j = min(i, j), max(i, j)
    st, t = ctx.static, ctx.table
    if st.what[i] != st.what[j]:
        return "class"
    den = t.s[i] * t.c[j] - t.c[i] * t.s[j]
    dx, dy = t.x[j] - t.x[i], t.y[j] - t.y[i]
    if abs(den) < math.sin(math.radians(2.0)):
        return "parallel"
    da = (dx * t.c[j] - dy * t.s[j]) / den
    db = (dx * t.c[i] - dy * t.s[i]) / den
    if not (da > 0 and db > 0):
        return "behind"
    if not (st.lo[i] <= da <= st.hi[i] and st.lo[j] <= db <= st.hi[j]):
        return "band"
    hi_, hj = float(ctx.heard[i]), float(ctx.heard[j])
    dt = (ctx.corr[i] - hi_ * da / 343.0) - (ctx.corr[j] - hj * db / 343.0)
    return f"time(z={abs(dt) / math.sqrt(ctx.tvar[i] + ctx.tvar[j]):.1f})"


def _why(ctx: Ctx, pieces: list[list[int]], pair_set: set[tuple[int, int]]) -> str:
    """Why the pieces of one occurrence were not fused."""
    a, b = pieces[0], pieces[1]
    linked = any((min(i, j), max(i, j)) in pair_set for i in a for j in b)
    who = [ctx.static.who[k] for k in a + b]
    if len(set(who)) < len(who):
        return "same observer twice"
    if not linked:
        return "no candidate pair: " + ",".join(
            sorted({_pair_failure(ctx, i, j) for i in a for j in b})
        )
    fix = consistent_many(ctx, [sorted(a + b)], [math.nan], [math.nan])[0]
    if fix is None:
        return "union fails consistency"
    return "union consistent (pair order, cross-kind rule, leftover choice)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=4.0)
    ap.add_argument("--gross", type=float, default=0.04)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--show", type=int, default=20)
    ap.add_argument("--cause", default="", help="show only splits whose cause starts so")
    args = ap.parse_args()
    theater = load_theater(demo_theater_dir())
    start, _ = default_window(theater)
    sc = simulate(
        theater, args.seed, start, args.hours, fire_rate_per_h=args.rate,
        gross_error_rate=args.gross,
    )  # fmt: skip
    ol = sc.observations
    result = analyse(theater, ol.sightings, ol.detections, ol.craters, ol.allegations)
    link = ol.sighting_truth
    occ = {o.id: o for o in sc.truth.occurrences}
    obs, _ = normalise(ol.sightings, theater)
    idx = {o.id: k for k, o in enumerate(obs)}
    table, static = ObsTable.of(obs), Static.of(obs)
    assoc = associate(obs)
    ctx = Ctx(obs, assoc.offsets, table, static)
    pairs = candidate_pairs(ctx)
    pair_ends = set(pairs.i.tolist()) | set(pairs.j.tolist())
    pair_set = set(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True))
    truth_gid: dict[str, int] = {}
    pos: dict[str, tuple[float, float]] = {}
    for o in occ.values():
        lx, ly = theater.frame.to_local(o.lon, o.lat)
        pos[o.id] = (float(lx[0]), float(ly[0]))
    event_of: dict[str, int] = {}
    for n, e in enumerate(result.events):
        for s in e.sightings:
            event_of[s] = n
    del truth_gid

    def describe(sid: str) -> str:
        k = idx[sid]
        o = obs[k]
        tx, ty = pos[link[sid]]
        true_b = math.atan2(tx - o.x_m, ty - o.y_m)
        err = (o.theta - true_b + math.pi) % (2 * math.pi) - math.pi
        d = math.hypot(tx - o.x_m, ty - o.y_m)
        t0 = occ[link[sid]].time.timestamp()
        delay = d / 343.0 if o.heard else 0.0
        off = ctx.offset.get(o.observer, 0.0)
        band = f"{o.rmin_m:.0f}-{o.rmax_m:.0f}" if o.rmax_m is not None else "none"
        mark = "*" if k in pair_ends else " "
        return (
            f"{mark}{sid} {o.observer:>8} {o.kind:>10} {'H' if o.heard else 'S'} "
            f"dt={o.t_s - off - delay - t0:+6.1f}s err={err / o.sigma:+6.1f}sd "
            f"d={d:6.0f} band={band}"
        )

    groups: dict[str, list[str]] = {}
    for sid, oid in link.items():
        groups.setdefault(oid, []).append(sid)
    causes: Counter[str] = Counter()
    lost_pairs: Counter[str] = Counter()
    shown = 0
    for oid, sids in sorted(groups.items()):
        pieces: dict[int, list[int]] = {}
        for s in sids:
            pieces.setdefault(event_of[s], []).append(idx[s])
        if len(pieces) < 2:
            continue
        parts = sorted(pieces.values(), key=len, reverse=True)
        why = _why(ctx, parts[:2], pair_set)
        key = re.sub(r"\(z=[^)]*\)", "", why)
        causes[key] += 1
        n = len(sids)
        lost = n * (n - 1) // 2 - sum(len(p) * (len(p) - 1) // 2 for p in parts)
        lost_pairs[key] += lost
        if shown < args.show and why.startswith(args.cause):
            shown += 1
            o = occ[oid]
            print(f"SPLIT {oid} {o.kind} pieces={[len(p) for p in parts]} lost={lost}: {why}")
            for p in parts:
                ev = result.events[event_of[obs[p[0]].id]]
                mixed = {link[s] for s in ev.sightings} - {oid}
                print(
                    f"  piece (event {ev.id} at {ev.x_m:.0f},{ev.y_m:.0f}, "
                    f"also {sorted(mixed)}, outliers {list(ev.outliers)})"
                )
                for k in p:
                    print("    " + describe(obs[k].id))
    print("split causes (occurrences):", dict(causes))
    print("split causes (lost pairs):", dict(lost_pairs))
    merged = 0
    for e in result.events:
        if len({link[s] for s in e.sightings}) > 1:
            merged += 1
    print("merged events:", merged)
    # Confident wrong sides beyond 1.5 km.
    wrong = 0
    for e in result.events:
        if not e.sightings or not e.p_side:
            continue
        votes = Counter(link[i] for i in e.sightings)
        oid = min(votes, key=lambda k: (-votes[k], k))
        o = occ[oid]
        true_side = theater.at(o.time).side_at(o.lon, o.lat)
        top = max(e.p_side, key=lambda k: (e.p_side[k], k))
        if true_side is None or top == true_side or e.p_side[top] < 0.95:
            continue
        tx, ty = pos[oid]
        if _true_d_line(theater, o.time, np.array([tx]), np.array([ty])) <= 1500:
            continue
        wrong += 1
        ex, ey = tx - e.x_m, ty - e.y_m
        (cee, cen), (_, cnn) = e.cov_m2
        det = cee * cnn - cen * cen
        m2 = (cnn * ex * ex - 2 * cen * ex * ey + cee * ey * ey) / det if det > 0 else math.inf
        print(
            f"WRONG SIDE {e.id} p={e.p_side[top]:.3f} n={len(e.sightings)} "
            f"outliers={len(e.outliers)} err={math.hypot(ex, ey):.0f}m m2={m2:.1f} "
            f"d_line_est={e.d_line_m} occ={sorted(votes)}"
        )
        for s in e.sightings:
            print("    " + describe(s) + (" OUT" if s in e.outliers else ""))
    print("confident wrong sides beyond 1.5 km:", wrong)


if __name__ == "__main__":
    main()
