"""Candidate pairs by numpy and by `_paircore` on the same day, in one run: seconds and ratio.

../.venv/bin/python paircore_ratio.py --size 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from analyze_scale import dense_day, sightings

from ceasewatch._gc import paused_gc
from ceasewatch.analysis import _candidates
from ceasewatch.analysis._candidates import Ctx, Static, candidate_pairs
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import normalise
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=2)
    n = ap.parse_args().size
    theater = load_theater(demo_theater_dir())
    obs, _ = normalise(sightings(n, dense_day()), theater)
    ctx = Ctx(obs, {}, ObsTable.of(obs), Static.of(obs))
    best = {False: float("inf"), True: float("inf")}
    got = {}
    with paused_gc():
        for _ in range(ap.parse_args().repeat):
            for c in (False, True):
                _candidates.ACCELERATED = c
                t = time.perf_counter()
                got[c] = candidate_pairs(ctx)
                best[c] = min(best[c], time.perf_counter() - t)
    a, b = got[False], got[True]
    same = np.array_equal(a.i, b.i) and np.array_equal(a.j, b.j) and a.same == b.same
    print(
        f"{n} sightings: numpy {best[False]:.2f} s, C {best[True]:.2f} s, "
        f"ratio {best[False] / best[True]:.1f}x, same pairs: {same}"
    )


if __name__ == "__main__":
    main()
