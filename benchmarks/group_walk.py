"""Association's grouping walk: in C (`_groupcore`) against the Python walk, same run.

Builds the candidate pairs of the simulated day `analyze_scale.py` uses (repeated to
--size sightings), then times `_assoc_group.group` (first grouping pass, one process)
with the walk in C and in Python, checks that both give the same groups, and prints
the seconds and the ratio. The fits are numpy in both: the ratio is the walk's share.

    .venv/bin/python benchmarks/group_walk.py [--size 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from analyze_scale import dense_day, sightings

from ceasewatch.analysis import _assoc_group
from ceasewatch.analysis._candidates import Ctx, Static, candidate_pairs
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import normalise
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not _assoc_group.ACCELERATED:
        raise SystemExit("ceasewatch.analysis._groupcore is not built: nothing to compare")
    theater = load_theater(demo_theater_dir())
    obs, _ = normalise(sightings(args.size, dense_day()), theater)
    ctx = Ctx(obs, {}, ObsTable.of(obs), Static.of(obs))
    pairs = candidate_pairs(ctx)
    print(f"{len(obs)} sightings, {len(pairs.i)} candidate pairs")
    best: dict[bool, float] = {}
    out = {}
    for _ in range(args.repeat):
        for accelerated in (True, False):
            _assoc_group.ACCELERATED = accelerated
            t0 = time.perf_counter()
            out[accelerated] = _assoc_group.group(ctx, pairs)
            dt = time.perf_counter() - t0
            best[accelerated] = min(best.get(accelerated, dt), dt)
    c, py = out[True], out[False]
    same = all(
        np.array_equal(a, b)
        for a, b in zip(
            (c.members, c.ptr, c.fx, c.fy, c.has_fix),
            (py.members, py.ptr, py.fx, py.fy, py.has_fix),
            strict=True,
        )
    )
    ratio = best[False] / best[True]
    print(
        f"group(): C walk {best[True]:.2f} s, Python walk {best[False]:.2f} s "
        f"(best of {args.repeat}); ratio {ratio:.2f}; same groups: {same}"
    )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
