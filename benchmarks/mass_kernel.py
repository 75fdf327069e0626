"""p_side's Gaussian masses: the C kernel (`_masscore`) against the numpy code, same run.

The theater of benchmarks/attribution.py (a wiggly contact line of 5,000 vertices across a
100 km box, two sides), random points and anisotropic errors (sigma 10-150 m). Times
`SideGeometry.p_side` on one thread with the C kernel and with the numpy code (best of 3,
alternating), checks that the two give the same bits, and times the pieces of `_p_near` on
the same near points: the STRtree query (`edges_within`), the indicator (shapely
`intersects_xy`) and the edge terms (`masses` less the indicator) by C and by numpy.

    .venv/bin/python benchmarks/mass_kernel.py [--points N] [--seed S]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np
import shapely
from attribution import CRS, SIZE_M, X0, Y0, covariances, theater

from ceasewatch.analysis import _area_index
from ceasewatch.analysis._ieee import hypot
from ceasewatch.analysis.attribution import JITTER_M2, SideGeometry, _covariance
from ceasewatch.geo.geodesy import LocalFrame


def best_of_3(f: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def on_path(accelerated: bool, f: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        _area_index.ACCELERATED = accelerated
        try:
            return f()
        finally:
            _area_index.ACCELERATED = True

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not _area_index.ACCELERATED:
        raise SystemExit("ceasewatch.analysis._masscore is not built: nothing to compare")
    n = args.points
    rng = np.random.default_rng(args.seed)
    frame = LocalFrame(CRS)
    geo = SideGeometry(theater(frame, rng), frame, workers=1)
    x = rng.uniform(X0, X0 + SIZE_M, n)
    y = rng.uniform(Y0, Y0 + SIZE_M, n)
    cov = covariances(rng, n)

    load0 = os.getloadavg()[0]
    p_c, p_np = (
        on_path(True, lambda: geo.p_side(x, y, cov)),
        on_path(False, lambda: geo.p_side(x, y, cov)),
    )
    same = np.asarray(p_c()).tobytes() == np.asarray(p_np()).tobytes()
    t_c, t_np = math.inf, math.inf
    for _ in range(3):  # alternating, so that other load hits both alike
        t0 = time.perf_counter()
        p_c()
        t1 = time.perf_counter()
        p_np()
        t_c, t_np = min(t_c, t1 - t0), min(t_np, time.perf_counter() - t1)

    # The pieces of `_p_near`, on the near points of the run above (as one batch each of
    # attribution's 1,024 points, as `_p_side` makes them).
    areas = geo._areas
    qx, qy = geo._local(x, y)
    c = _covariance(cov, n)
    sxx, sxy, syy = c.T
    reach = 6.0 * np.sqrt((sxx + syy) / 2.0 + hypot((sxx - syy) / 2.0, sxy))
    near = np.flatnonzero(areas.clearance(qx, qy) < reach)
    batches = [near[b : b + 1024] for b in range(0, len(near), 1024)]
    l11 = np.sqrt(sxx)
    l21 = sxy / l11
    l22 = np.sqrt(np.maximum(syy - l21 * l21, JITTER_M2 / 2.0))
    jobs = [
        (qx[i], qy[i], (l11[i], l21[i], l22[i]), areas.edges_within(qx[i], qy[i], reach[i]))
        for i in batches
    ]
    n_pairs = sum(len(j[3][0]) for j in jobs)

    def query() -> None:
        for i in batches:
            areas.edges_within(qx[i], qy[i], reach[i])

    def indicator() -> None:
        for bx, by, _, _ in jobs:
            np.stack([shapely.intersects_xy(a, bx, by) for a in areas.areas], axis=1)

    def masses() -> None:
        for bx, by, chol, pairs in jobs:
            areas.masses(bx, by, chol, pairs)

    t_query, t_ind = best_of_3(query), best_of_3(indicator)
    t_mc, t_mnp = best_of_3(on_path(True, masses)), best_of_3(on_path(False, masses))

    print(
        f"\np_side masses, C kernel vs numpy: {n:,} points, {len(near):,} near a boundary, "
        f"{n_pairs:,} (point, edge) pairs; 1 thread; load (1 min) {load0:.2f} -> "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(f"same bits: {same}")
    print(f"{'':34} {'C':>9} {'numpy':>9} {'numpy / C':>10}")
    print(f"{'p_side (whole, best of 3)':34} {t_c:>7.3f} s {t_np:>7.3f} s {t_np / t_c:>9.2f}x")
    t_tc, t_tnp = t_mc - t_ind, t_mnp - t_ind
    print(
        f"{'masses: edge terms + bincount':34} {t_tc:>7.3f} s {t_tnp:>7.3f} s {t_tnp / t_tc:>9.2f}x"
    )
    print(f"{'masses: indicator (shapely)':34} {t_ind:>7.3f} s")
    print(f"{'edges_within (STRtree query)':34} {t_query:>7.3f} s")
    if not same:
        raise SystemExit("the C kernel and the numpy code disagree")


if __name__ == "__main__":
    main()
