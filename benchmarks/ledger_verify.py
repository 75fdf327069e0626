"""Speed of `verify` over a whole log against raw SHA-256 of the same leaf bytes.

Builds a node whose log holds N sightings (appended in batches, each batch signing a
checkpoint), then times, in the same run and on one core:

- ``hashlib``: the floor: SHA-256 of each stored entry's leaf bytes (0x00 || entry),
  nothing else;
- ``verify``: `verify_store`: every entry re-hashed against its stored hash, the Merkle
  tree rebuilt and its root compared with every checkpoint (Ed25519 checked once per
  checkpoint), every raw file an entry names looked for, every blob re-hashed; entries
  parsed only where no matching signed root covers them (none here);
- ``verify deep``: `verify_store(deep=True)`, every entry parsed as well (JSON, RFC 8785
  form, fields); timed once, for scale;
- ``verify, pure Python``: `verify_store` with the pure-Python fallback of its hot loops
  (`ceasewatch.ledger._bulk`), as on a machine without the C extension or without SHA-NI.

Target (issue "joint record"): verify >= 50% of raw hashing (Ed25519 is checked per
checkpoint, not per entry). The entries are written as an ingest writes them: one raw file
per batch, each entry naming it and its line.

    .venv/bin/python benchmarks/ledger_verify.py [--n 100000] [--batch 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest.mock import patch

from ledger_append import NOW, sightings  # benchmarks/ is the script's own folder
from sqlalchemy import select

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger import _bulk, merkle, verify
from ceasewatch.ledger.append import append_records
from ceasewatch.ledger.node import init_node
from ceasewatch.ledger.verify import verify_store
from ceasewatch.store import schema


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    records = sightings(args.n)
    with (
        tempfile.TemporaryDirectory() as tmp,
        init_node(Path(tmp) / "node", "mon-a", demo_theater_dir()) as node,
    ):
        for i in range(0, args.n, args.batch):
            batch = records[i : i + args.batch]
            # as an ingest writes them: each batch from one raw file, each entry its line
            raw = b"\n".join(r.canonical() for r in batch)
            lines = list(range(1, len(batch) + 1))
            append_records(node, batch, now=NOW, blob=raw, lines=lines)
        with node.engine.connect() as conn:
            data = [bytes(r.data) for r in conn.execute(select(schema.entries.c.data))]
        best_hash = best_verify = best_python = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for d in data:
                hashlib.sha256(b"\x00" + d).digest()
            best_hash = min(best_hash, time.perf_counter() - t0)
            t0 = time.perf_counter()
            report = verify_store(node.engine)
            best_verify = min(best_verify, time.perf_counter() - t0)
            assert report.ok, report.summary()
            with _pure_python():
                t0 = time.perf_counter()
                assert verify_store(node.engine).ok
                best_python = min(best_python, time.perf_counter() - t0)
        t0 = time.perf_counter()
        deep = verify_store(node.engine, deep=True)
        deep_s = time.perf_counter() - t0
        assert deep.ok and deep.parsed == len(data), deep.summary()
    n = len(data)
    print(f"{n} entries, {report.checkpoints} checkpoints (best of 3)")
    print(f"hashlib leaf SHA-256   {best_hash:8.3f} s  {n / best_hash:12,.0f} entries/s")
    print(f"ceasewatch verify      {best_verify:8.3f} s  {n / best_verify:12,.0f} entries/s")
    print(f"ceasewatch verify deep {deep_s:8.3f} s  {n / deep_s:12,.0f} entries/s")
    print(f"verify, pure Python    {best_python:8.3f} s  {n / best_python:12,.0f} entries/s")
    hot = "C (SHA-NI)" if _bulk.ACCELERATED else "pure Python (no C extension or no SHA-NI)"
    print(f"verify's hot loops: {hot}")
    print(f"verify / raw hashing: {best_hash / best_verify:.1%} (target >= 50%)")
    print(f"verify, pure Python / raw hashing: {best_hash / best_python:.1%}")
    print(f"verify deep / raw hashing: {best_hash / deep_s:.1%}; load {_load()}")


@contextmanager
def _pure_python() -> Iterator[None]:
    """verify with the pure-Python fallback of its hot loops (`ceasewatch.ledger._bulk`)."""
    with ExitStack() as stack:
        for module in (merkle, verify):
            for name in _HOT:
                if hasattr(module, name):
                    fallback = getattr(_bulk, f"py_{name}")
                    stack.enter_context(patch.object(module, name, fallback))
        yield


_HOT = ("leaf_hashes_packed", "parents_packed", "key_counts", "packed", "sha256_packed")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
