"""Digests of `analyze`'s output on a fixed simulated input: the safety net of speed work.

Speed work on the analysis must not change a byte of its output. This writes the same
simulated sightings.csv as `analyze_scale.py` (a dense day repeated to --size sightings),
analyses it as the CLI does with each number of --workers, and prints the sha256 of
every output file, checking that all worker counts agree. Run it on the commit before a
change and after it, and compare the lines (`diff`):

    .venv/bin/python benchmarks/output_digest.py [--size 100000] [--workers 1,2] > after.txt

Exits 1 if two worker counts disagree.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from analyze_scale import dense_day, sightings

from ceasewatch.analysis import analyse_files, write_analysis
from ceasewatch.demo import demo_theater_dir
from ceasewatch.records import SPECS, write_records


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=100_000, help="sightings (default 100000)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    args = ap.parse_args()
    theater_dir = demo_theater_dir()
    base = dense_day()
    found: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sightings.csv"
        write_records(path, SPECS["sightings"], sightings(args.size, base))
        for w in (int(x) for x in args.workers.split(",")):
            t0 = time.perf_counter()
            result = analyse_files(theater_dir, sightings=path, workers=w)
            write_analysis(result, Path(tmp) / f"out{w}", workers=w)
            print(f"# workers {w}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            found[w] = digests(Path(tmp) / f"out{w}")
    first = next(iter(found.values()))
    for name, digest in first.items():
        print(f"{digest}  {name}  ({args.size} sightings)")
    split = [w for w, d in found.items() if d != first]
    if split:
        print(f"workers {split} differ from workers {next(iter(found))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
