"""Crash safety: `ceasewatch ingest` killed with SIGKILL at random points leaves all or nothing.

Each run ingests a tiny sightings file in a subprocess and is killed -9 after a random
(seeded) delay, around the time a whole run takes, so that kills land while the process
starts, parses, appends and commits. Afterwards the store must verify, every ingest that
reported success must be complete, every killed ingest must have left all of its records or
none, and the records projection must be exactly what the entries define.

SQLite only (the default store, and fast): PostgreSQL's crash safety is the server's and is not
exercised here.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.entry import canonical_bytes
from ceasewatch.ledger.node import init_node, open_node
from ceasewatch.ledger.rebuild import derive_records
from ceasewatch.ledger.verify import verify_store
from ceasewatch.store import schema as s
from tests.ledger.conftest import NOW, sighting, write_sightings

SEED = 20261127
WORKERS = 2  # one node each, so that kills in one do not race appends in the other
RUNS = 26  # per worker, the first one uninterrupted (it times a whole run)
KILLS = 10  # per worker: runs go on (up to 2 * RUNS) until this many were killed
PER_FILE = 3


@dataclass
class Run:
    file: Path
    hashes: set[str]
    delay: float | None = None  # None: not killed on purpose
    returncode: int | None = None
    stdout: str = ""

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "appended" in self.stdout


def _ingest(data: Path, run: Run) -> None:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ceasewatch",
            "ingest",
            "sightings",
            str(run.file),
            "--data",
            str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out, _ = proc.communicate(timeout=run.delay if run.delay is not None else 120)
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: no cleanup, no atexit, no rollback by the process
        out, _ = proc.communicate()
    run.returncode, run.stdout = proc.returncode, out


def _worker(root: Path, w: int) -> tuple[Path, list[Run]]:
    """RUNS ingests into one node, killed around the time a whole run takes; more (up to
    twice as many) until KILLS of them were killed. The time a whole run takes follows
    the fastest run seen, so that a machine whose load drops still kills runs mid-way."""
    rng = random.Random(SEED + w)
    data = root / f"node-{w}"
    runs: list[Run] = []
    whole = 0.0
    kills = 0
    k = 0
    while k < RUNS or (kills < KILLS and k < 2 * RUNS):
        first = (w * 2 * RUNS + k) * PER_FILE
        records = [sighting(first + i) for i in range(PER_FILE)]
        path = write_sightings(root / f"w{w}-{k}.csv", records)
        hashes = {hashlib.sha256(canonical_bytes(r.as_json())).hexdigest() for r in records}
        run = Run(path, hashes)
        if k > 0:
            run.delay = rng.uniform(0.5, 1.1) * whole
        started = time.monotonic()
        _ingest(data, run)
        took = time.monotonic() - started
        if k == 0:
            whole = took
            assert run.succeeded, run.stdout
        elif run.succeeded:
            whole = min(whole, took)
        else:
            kills += 1
        runs.append(run)
        k += 1
    return data, runs


@pytest.mark.slow
def test_kill_9_during_ingest_leaves_all_or_nothing(tmp_path: Path) -> None:
    for w in range(WORKERS):  # before the threads: Alembic's migration is not thread-safe
        init_node(tmp_path / f"node-{w}", "mon-a", demo_theater_dir()).close()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda w: _worker(tmp_path, w), range(WORKERS)))
    killed = 0
    partial_outcomes = {"all": 0, "none": 0}
    for data, runs in results:
        assert RUNS <= len(runs) <= 2 * RUNS
        with open_node(data) as node:
            report = verify_store(node.engine)
            assert report.ok, report.problems
            with node.engine.connect() as conn:
                derived = sorted(tuple(r.values()) for r in derive_records(conn))
                stored = sorted(
                    tuple(r)
                    for r in conn.execute(
                        select(
                            s.records.c.origin,
                            s.records.c.content_hash,
                            s.records.c.idx,
                            s.records.c.kind,
                            s.records.c.record_id,
                        )
                    )
                )
            assert stored == derived  # the projection committed with its entries
            held = {h for _, h, *_ in derived}
            for run in runs:
                present = run.hashes & held
                if run.succeeded:
                    assert present == run.hashes, f"{run.file} reported success but is incomplete"
                    continue
                killed += 1
                assert run.returncode == -9, run.stdout
                assert present in (set(), run.hashes), f"{run.file}: half stored"
                partial_outcomes["all" if present else "none"] += 1
            # the node goes on: the killed files ingest now (or are all duplicates)
            for run in runs:
                ingest_file(node, "sightings", run.file, now=NOW)
            assert verify_store(node.engine).ok
            assert node.size() == len(runs) * PER_FILE
    print(f"{killed} killed ingests: {partial_outcomes}")
    assert partial_outcomes["none"] > 0  # some kills landed before the commit
    assert killed >= 20, f"only {killed} runs were killed; the delays need tuning"
    assert sum(len(runs) for _, runs in results) >= 50
