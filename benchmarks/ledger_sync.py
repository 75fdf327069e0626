"""Sync of N entries between two local nodes over HTTP, and `rebuild` of N entries.

Node A (mon-a) appends N sightings in batches of B (one signed checkpoint and one raw file
per batch), then serves its log with the real `ceasewatch.api.serve` (uvicorn, a child
process on loopback). Node B (mon-b) trusts A and, timed:

- ``fetch only``: the floor of the network part: GET every entries page of A's log and
  base64-decode it, nothing checked or stored;
- ``sync_peer``: the library path `ceasewatch sync` takes: A's checkpoint and signature,
  every entry page, each entry checked (canonical JSON, origin, index, author), the leaf
  hashes and the root against the signed checkpoint, the raw files by SHA-256, everything
  stored in one transaction, then B cosigns A's checkpoint and pushes the cosignature;
- ``rebuild``: B's records projection dropped and derived again from the N mirrored entries
  (`ceasewatch rebuild`), against ``read entries``, the floor: reading every entry's bytes.

Prints wall time, entries/s and each ratio to its floor in the same run. The default is the
issue's 1M entries: about 9 minutes in all on the 2-core test machine (building node A's log
takes about as long as the timed parts); use --n to go smaller.

    .venv/bin/python benchmarks/ledger_sync.py [--n 1000000] [--batch 10000] [--db URL]

``--db postgresql://...`` puts node B's store in that database (it must be empty of logs).
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from ledger_append import NOW, sightings  # benchmarks/ is the script's own folder
from sqlalchemy import func, select

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger.append import append_records
from ceasewatch.ledger.node import Node, init_node
from ceasewatch.ledger.peers import trust_peer
from ceasewatch.ledger.rebuild import rebuild
from ceasewatch.ledger.sync import PAGE_SIZE, create_cosigner, sync_peer
from ceasewatch.store import schema

NOW_S = int(NOW.timestamp())


def build_a(base: Path, n: int, batch: int) -> tuple[Node, float]:
    """Node A with n sightings, one raw file per batch; returns it and the time taken
    (making the sightings included)."""
    node = init_node(base / "a", "mon-a", demo_theater_dir())
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        chunk = sightings(min(batch, n - start), first=start)
        blob = b"\n".join(r.canonical() for r in chunk)
        lines = list(range(1, len(chunk) + 1))
        append_records(node, chunk, now=NOW, blob=blob, lines=lines)
    return node, time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(data_dir: Path) -> Iterator[str]:
    """Serve a node with uvicorn in a child process; yield its URL."""
    port = _free_port()
    code = (
        "import sys; from pathlib import Path; from ceasewatch.api import serve; "
        "serve(Path(sys.argv[1]), '127.0.0.1', int(sys.argv[2]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/logs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"the server for {data_dir} did not come up") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def fetch_only(url: str, origin: str, n: int) -> float:
    t0 = time.perf_counter()
    got = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        while got < n:
            page = client.get(
                f"/logs/{origin}/entries", params={"start": got, "end": min(n, got + PAGE_SIZE)}
            ).json()["entries"]
            for item in page:
                base64.b64decode(item)
            got += len(page)
    return time.perf_counter() - t0


def read_entries(node: Node) -> float:
    t0 = time.perf_counter()
    with node.engine.connect() as conn:
        for row in conn.execution_options(yield_per=10_000).execute(select(schema.entries.c.data)):
            bytes(row.data)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="store URL of node B (default: SQLite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        a, append_s = build_a(base, args.n, args.batch)
        print(f"node A: {args.n} sightings made and appended in {append_s:.1f} s", flush=True)
        b = init_node(base / "b", "mon-b", demo_theater_dir(), db_url=args.db)
        cosigner = create_cosigner(b)
        # A takes B's cosignatures; B never serves in this benchmark
        trust_peer(a, b.vkey(), "http://127.0.0.1:9", cosigner_vkey=cosigner.verifier().vkey())
        with served(base / "a") as url:
            trust_peer(b, a.vkey(), url)
            times = {"fetch only": fetch_only(url, a.origin, args.n)}
            t0 = time.perf_counter()
            report = sync_peer(b, url, now_s=NOW_S)
            times["sync_peer"] = time.perf_counter() - t0
            assert report.ok and report.entries_stored == args.n and report.pushed, report
        times["read entries"] = read_entries(b)
        t0 = time.perf_counter()
        written = rebuild(b)
        times["rebuild"] = time.perf_counter() - t0
        assert written == args.n, written
        with b.engine.connect() as conn:
            held = conn.execute(select(func.count()).select_from(schema.records)).scalar_one()
        assert held == args.n
        store = "SQLite" if args.db is None else "PostgreSQL"
        a.close()
        b.close()
    print(f"{args.n} entries, batches of {args.batch}; node B on {store}; load {_load()}")
    floors = {"sync_peer": "fetch only", "rebuild": "read entries"}
    for name in ("fetch only", "sync_peer", "read entries", "rebuild"):
        elapsed = times[name]
        ratio = f"({elapsed / times[floors[name]]:5.1f}x {floors[name]})" if name in floors else ""
        print(f"  {name:13s} {elapsed:8.1f} s {args.n / elapsed:10,.0f} entries/s  {ratio}")


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
