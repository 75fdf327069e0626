"""Speed of the C kernels of `_batchfit` (`_fitcore`) against their numpy code.

Runs the analysis once on a simulated input (`analyze_scale`'s dense day, repeated to
--size sightings, one worker) and records every call of `fit_many`, `fisher` and
`bearing_z` it makes: the real groups of the association and the event steps. Then
replays those calls on the numpy code and on the C code in the same run, checks that
they give the same bits (a NaN is a NaN), and prints the seconds and the ratio.

    .venv/bin/python benchmarks/fit_kernel.py [--size 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from analyze_scale import dense_day, sightings

from ceasewatch.analysis import _assoc_group, _assoc_leftovers, _consensus, analyse, localise
from ceasewatch.analysis import _batchfit as bf
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater

NAMES = ("fit_many", "fisher", "bearing_z")
Call = tuple[tuple[Any, ...], dict[str, Any]]


def record(size: int) -> dict[str, list[Call]]:
    """The calls of the kernels in one analysis of `size` sightings."""
    calls: dict[str, list[Call]] = {name: [] for name in NAMES}
    patched: list[tuple[Any, str, Any]] = []
    for name in NAMES:
        real = getattr(bf, name)

        def spy(*a: Any, _real: Callable[..., Any] = real, _name: str = name, **k: Any) -> Any:
            calls[_name].append((a, k))
            return _real(*a, **k)

        for mod in (bf, _assoc_group, _assoc_leftovers, _consensus, localise):
            for attr, value in list(vars(mod).items()):
                if value is real:
                    patched.append((mod, attr, value))
                    setattr(mod, attr, spy)
    try:
        analyse(load_theater(demo_theater_dir()), sightings(size, dense_day()), workers=1)
    finally:
        for mod, attr, value in reversed(patched):
            setattr(mod, attr, value)
    return calls


def _canonical(v: Any) -> list[bytes]:
    arrays = [getattr(v, f) for f in bf.Fits.__slots__] if isinstance(v, bf.Fits) else v
    arrays = arrays if isinstance(arrays, (tuple, list)) else [arrays]
    return [np.where(np.isnan(a), np.nan, a).tobytes() if a.dtype == np.float64 else a.tobytes()
            for a in arrays]  # fmt: skip


def replay(fn: Callable[..., Any], calls: list[Call], repeat: int) -> tuple[float, list[Any]]:
    """Best time of `repeat` replays, and the results of the last."""
    best = float("inf")
    out: list[Any] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = [fn(*a, **k) for a, k in calls]
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=20000, help="sightings analysed")
    ap.add_argument("--repeat", type=int, default=3, help="replays (best time kept)")
    args = ap.parse_args()
    if not bf.ACCELERATED:
        sys.exit("ceasewatch.analysis._fitcore is not built")
    calls = record(args.size)
    total_py = total_c = 0.0
    for name in NAMES:
        cs = calls[name]
        groups = sum(len(a[2]) - 1 if name != "bearing_z" else len(a[1]) for a, _ in cs)
        t_py, r_py = replay(getattr(bf, f"py_{name}"), cs, args.repeat)
        t_c, r_c = replay(getattr(bf, name), cs, args.repeat)
        same = all(_canonical(a) == _canonical(b) for a, b in zip(r_py, r_c, strict=True))
        total_py += t_py
        total_c += t_c
        unit = "rows" if name == "bearing_z" else "groups"
        print(f"{name:10s} {len(cs):5d} calls {groups:8d} {unit:6s}  numpy {t_py:7.3f} s  "
              f"C {t_c:7.3f} s  ratio {t_py / t_c:6.1f}x  same bits: {same}")  # fmt: skip
    print(f"{'all':10s} numpy {total_py:.3f} s  C {total_c:.3f} s  ratio {total_py / total_c:.1f}x")


if __name__ == "__main__":
    main()
