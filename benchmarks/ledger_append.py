"""Durable append speed of a node's log on SQLite (WAL, synchronous=FULL), in batches.

Three ways of writing the same N sightings, in batches of B, each batch one committed
transaction, on a fresh node each:

- ``raw rows``: the floor: pre-built entry rows inserted with executemany, no hashing or
  signing (what the storage alone costs);
- ``append_records``: the library path the CLI uses, records already validated: canonical
  JSON (RFC 8785), leaf hashes, the records projection, duplicate check, a signed checkpoint;
- ``ingest_file``: end to end from a CSV file per batch (parsing and validation included).

Prints entries/s and the ratio to the floor. Target (issue "ledger"): >= 10,000 durable
entries/s in batches.

    .venv/bin/python benchmarks/ledger_append.py [--n 50000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger.append import append_records, ingest_file
from ceasewatch.ledger.node import init_node
from ceasewatch.records import SPECS, Sighting, write_records
from ceasewatch.store import schema as s

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def sightings(n: int) -> list[Sighting]:
    return [
        Sighting.model_validate(
            {
                "id": f"s-{i}",
                "time": T0 + timedelta(seconds=i),
                "org": "mon-a",
                "observer": f"op-{i % 17}",
                "lat": 40.0 + (i % 1000) * 1e-4,
                "lon": 46.5 + (i % 777) * 1e-4,
                "bearing_deg": float(i % 360),
                "bearing_sigma_deg": 2.5,
                "range_min_m": 500.0,
                "range_max_m": 4000.0,
                "kind": "explosion",
            }
        )
        for i in range(n)
    ]


def floor(base: Path, records: list[Sighting], batch: int) -> float:
    node = init_node(base / "raw", "mon-a", demo_theater_dir())
    rows = [
        {"origin": "raw", "idx": i, "leaf_hash": bytes(32), "data": r.canonical()}
        for i, r in enumerate(records)
    ]
    with node.engine.begin() as conn:
        conn.execute(insert(s.logs), {"origin": "raw", "org": "mon-a", "vkey": "-"})
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        with node.engine.begin() as conn:
            conn.execute(insert(s.entries), rows[i : i + batch])
    elapsed = time.perf_counter() - t
    node.close()
    return elapsed


def library(base: Path, records: list[Sighting], batch: int) -> float:
    node = init_node(base / "lib", "mon-a", demo_theater_dir())
    t = time.perf_counter()
    for i in range(0, len(records), batch):
        append_records(node, records[i : i + batch], now=NOW)
    elapsed = time.perf_counter() - t
    assert node.size() == len(records)
    node.close()
    return elapsed


def end_to_end(base: Path, records: list[Sighting], batch: int) -> float:
    node = init_node(base / "e2e", "mon-a", demo_theater_dir())
    files = []
    for i in range(0, len(records), batch):
        path = base / f"batch-{i}.csv"
        write_records(path, SPECS["sightings"], records[i : i + batch])
        files.append(path)
    t = time.perf_counter()
    for path in files:
        ingest_file(node, "sightings", path, now=NOW)
    elapsed = time.perf_counter() - t
    assert node.size() == len(records)
    node.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    records = sightings(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        times = {
            "raw rows": floor(base, records, args.batch),
            "append_records": library(base, records, args.batch),
            "ingest_file": end_to_end(base, records, args.batch),
        }
    print(f"{args.n} entries in batches of {args.batch}, SQLite WAL synchronous=FULL")
    for name, elapsed in times.items():
        ratio = elapsed / times["raw rows"]
        print(f"  {name:15s} {args.n / elapsed:10,.0f} entries/s  ({ratio:5.1f}x the floor)")


if __name__ == "__main__":
    main()
