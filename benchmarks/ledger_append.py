"""Durable append speed of a node's log on SQLite (WAL, synchronous=FULL) and PostgreSQL.

Three ways of writing the same N sightings, in batches of B, each batch one committed
transaction, on a fresh node each, on each backend:

- ``raw rows``: the floor: pre-built entry rows inserted with executemany, no hashing or
  signing (what the storage alone costs);
- ``append_records``: the library path the CLI uses, records already validated: canonical
  JSON (RFC 8785), leaf hashes, the records projection, duplicate check, a signed checkpoint;
- ``ingest_file``: end to end from a CSV file per batch (parsing and validation included).

Prints entries/s and the ratio to the floor per backend. Target (issue "ledger"): >= 10,000
durable entries/s on SQLite in batches. PostgreSQL runs on the server at --pg (default the
local one, trust auth), in throwaway databases; when it cannot be reached, the reason is
printed instead.

    .venv/bin/python benchmarks/ledger_append.py [--n 50000] [--batch 5000] [--pg URL|'']
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import make_url

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger.append import append_records, ingest_file
from ceasewatch.ledger.node import init_node
from ceasewatch.records import SPECS, Sighting, write_records
from ceasewatch.store import schema as s
from ceasewatch.store.db import redact

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def sightings(n: int, first: int = 0) -> list[Sighting]:
    """Sightings number ``first`` to ``first + n - 1`` of mon-a (distinct content each)."""
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
        for i in range(first, first + n)
    ]


def floor(base: Path, records: list[Sighting], batch: int, db: str | None) -> float:
    node = init_node(base / "raw", "mon-a", demo_theater_dir(), db_url=db)
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


def library(base: Path, records: list[Sighting], batch: int, db: str | None) -> float:
    node = init_node(base / "lib", "mon-a", demo_theater_dir(), db_url=db)
    t = time.perf_counter()
    for i in range(0, len(records), batch):
        append_records(node, records[i : i + batch], now=NOW)
    elapsed = time.perf_counter() - t
    assert node.size() == len(records)
    node.close()
    return elapsed


def end_to_end(base: Path, records: list[Sighting], batch: int, db: str | None) -> float:
    node = init_node(base / "e2e", "mon-a", demo_theater_dir(), db_url=db)
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


WAYS = {"raw rows": floor, "append_records": library, "ingest_file": end_to_end}


@contextmanager
def pg_databases(admin: str, names: list[str]) -> Iterator[dict[str, str]]:
    """Throwaway databases on the server at ``admin`` (one store per way), dropped after."""
    import psycopg

    info = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:8]
    dbs = {name: f"ceasewatch_bench_{tag}_{i}" for i, name in enumerate(names)}
    with psycopg.connect(info, autocommit=True, connect_timeout=3) as conn:
        for db in dbs.values():
            conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield {
            name: make_url(admin).set(database=db).render_as_string(hide_password=False)
            for name, db in dbs.items()
        }
    finally:
        with psycopg.connect(info, autocommit=True) as conn:
            for db in dbs.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def unreachable(admin: str) -> str | None:
    """None if the PostgreSQL server at ``admin`` answers, else why not."""
    import psycopg

    info = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(info, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__


def run(records: list[Sighting], batch: int, urls: dict[str, str | None]) -> dict[str, float]:
    times = {}
    for name, way in WAYS.items():
        with tempfile.TemporaryDirectory() as tmp:
            times[name] = way(Path(tmp), records, batch, urls[name])
    return times


def report(title: str, n: int, times: dict[str, float]) -> None:
    print(title)
    for name, elapsed in times.items():
        ratio = elapsed / times["raw rows"]
        print(f"  {name:15s} {n / elapsed:10,.0f} entries/s  ({ratio:5.1f}x the floor)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server ('' to skip)")
    args = parser.parse_args()
    records = sightings(args.n)
    head = f"{args.n} entries in batches of {args.batch}"
    report(
        f"{head}, SQLite WAL synchronous=FULL",
        args.n,
        run(records, args.batch, dict.fromkeys(WAYS)),
    )
    if not args.pg:
        print("PostgreSQL: skipped (--pg '')")
        return
    why = unreachable(args.pg)
    if why is not None:
        print(f"PostgreSQL: skipped ({redact(args.pg)}: {why})")
        return
    with pg_databases(args.pg, list(WAYS)) as urls:
        times = run(records, args.batch, dict(urls))
    report(f"{head}, PostgreSQL at {redact(args.pg)}", args.n, times)


if __name__ == "__main__":
    main()
