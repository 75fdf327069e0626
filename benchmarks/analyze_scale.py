"""End-to-end speed of `analyze` (read CSV, analyse, write results) as the input grows.

A dense simulated day (about one episode of fire a minute, ~13k sightings) is repeated
on following days to reach each size, written as sightings.csv, and analysed as the CLI
does (`analyse_files` + `write_analysis`). Prints sightings/s per size and the growth of
time per sighting relative to N log N. Target (issue "Joint analysis"): >= 50k
sightings/s end to end on 2 cores, growth no worse than N log N.

    .venv/bin/python benchmarks/analyze_scale.py [--sizes 10000,100000,1000000] [--workers 2]
        [--phases]

--phases also prints, per size, the wall seconds of each step (read, normalise,
associate, events, attribute, rules, allegations, write; "other" is the rest).
"""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from ceasewatch._fork import available_cpus
from ceasewatch.analysis import analyse_files, files, output, pipeline, write_analysis
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import load_theater
from ceasewatch.records import SPECS, Sighting, write_records
from ceasewatch.sim import default_window, simulate


def dense_day() -> list[Sighting]:
    """The simulated day the inputs repeat: the demo theater, seed 1, 60 episodes an hour."""
    theater = load_theater(demo_theater_dir())
    start, _ = default_window(theater)
    return list(simulate(theater, 1, start, 24, fire_rate_per_h=60).observations.sightings)


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


#: The steps --phases times: (module, function, label); each is timed where it is called.
PHASES = (
    (files, "read_sighting_table", "read"),
    (files, "read_records", "read"),
    (pipeline, "normalise_table", "normalise"),
    (pipeline, "associate", "associate"),
    (pipeline, "events_from_sightings", "events"),
    (pipeline, "attribute", "attribute"),
    (pipeline, "apply_rules", "rules"),
    (pipeline, "match_allegations", "allegations"),
    (output, "_write", "write"),
)


@contextmanager
def timed_phases(seconds: dict[str, float]) -> Iterator[None]:
    """Add each step's wall seconds to `seconds` while the block runs."""

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - t0

        return run

    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in PHASES]
    for mod, name, label in PHASES:
        setattr(mod, name, wrap(getattr(mod, name), label))
    try:
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--workers", type=int, default=available_cpus(), help="as `analyze`")
    ap.add_argument("--phases", action="store_true", help="time each step too")
    args = ap.parse_args()
    theater_dir = demo_theater_dir()
    base = dense_day()
    print(f"base day: {len(base)} sightings")
    cols = ("sightings", "seconds", "sightings/s", "time/N vs 1st", "NlogN ratio")
    print(" ".join(f"{c:>13}" for c in cols))
    first: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"s{n}.csv"
            write_records(path, SPECS["sightings"], sightings(n, base))
            seconds: dict[str, float] = defaultdict(float)
            with timed_phases(seconds) if args.phases else nullcontext():
                t0 = time.perf_counter()
                result = analyse_files(theater_dir, sightings=path, workers=args.workers)
                write_analysis(result, Path(tmp) / f"out{n}", workers=args.workers)
                dt = time.perf_counter() - t0
            if first is None:
                first = (n, dt)
            per = (dt / n) / (first[1] / first[0])
            nlogn = math.log(n) / math.log(first[0])
            print(f"{n:>13} {dt:>13.1f} {n / dt:>13.0f} {per:>13.2f} {nlogn:>13.2f}")
            if args.phases:
                seconds["other"] = dt - sum(seconds.values())
                print("    " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
