"""End-to-end speed of `analyze` (read CSV, analyse, write results) as the input grows.

A dense simulated day (about one episode of fire a minute, ~13k sightings) is repeated
on following days to reach each size, written as sightings.csv, and analysed as the CLI
does (`analyse_files` + `write_analysis`). Prints sightings/s per size and the growth of
time per sighting relative to N log N. Target (issue "Joint analysis"): >= 50k
sightings/s end to end on 2 cores, growth no worse than N log N.

    .venv/bin/python benchmarks/analyze_scale.py [--sizes 10000,100000,1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ceasewatch._fork import available_cpus
from ceasewatch.analysis import analyse_files, write_analysis
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater
from ceasewatch.records import SPECS, Sighting, write_records
from ceasewatch.sim import default_window, simulate


def sightings(n: int, base: list[Sighting]) -> list[Sighting]:
    out: list[Sighting] = []
    day = 0
    while len(out) < n:
        shift = timedelta(days=day)
        for s in base:
            if len(out) == n:
                break
            out.append(s.model_copy(update={"id": f"{s.id}-d{day}", "time": s.time + shift}))
        day += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--workers", type=int, default=available_cpus(), help="as `analyze`")
    args = ap.parse_args()
    theater_dir = demo_theater_dir()
    theater = load_theater(theater_dir)
    start, _ = default_window(theater)
    base = list(simulate(theater, 1, start, 24, fire_rate_per_h=60).observations.sightings)
    print(f"base day: {len(base)} sightings")
    cols = ("sightings", "seconds", "sightings/s", "time/N vs 1st", "NlogN ratio")
    print(" ".join(f"{c:>13}" for c in cols))
    first: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"s{n}.csv"
            write_records(path, SPECS["sightings"], sightings(n, base))
            t0 = time.perf_counter()
            result = analyse_files(theater_dir, sightings=path, workers=args.workers)
            write_analysis(result, Path(tmp) / f"out{n}", workers=args.workers)
            dt = time.perf_counter() - t0
            if first is None:
                first = (n, dt)
            per = (dt / n) / (first[1] / first[0])
            nlogn = math.log(n) / math.log(first[0])
            print(f"{n:>13} {dt:>13.1f} {n / dt:>13.0f} {per:>13.2f} {nlogn:>13.2f}")


if __name__ == "__main__":
    main()
