"""The joint record's commands: `node`, `ingest`, `verify`, `ledger`.

Thin shells over `ceasewatch.ledger`; registered on the main app by `cli.py`. The wall
clock is read here, at the edge, and passed down as the ingest time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ceasewatch.cli_args import theater_dir
from ceasewatch.config import Settings

__all__ = ["register"]

out = Console()
err = Console(stderr=True)

node_app = typer.Typer(
    help="This org's node: create it, show its key, trust peers.", no_args_is_help=True
)
ingest_app = typer.Typer(help="Append records to this org's signed log.", no_args_is_help=True)
ledger_app = typer.Typer(help="Prove and check entries of the joint record.", no_args_is_help=True)

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Node directory [default: $CEASEWATCH_DATA or ./ceasewatch-data]."),
]
DbOption = Annotated[str | None, typer.Option("--db", help="Store URL, e.g. postgresql://host/db.")]


def _data(data: Path | None) -> Path:
    return data if data is not None else Settings().data


@node_app.command("init")
def node_init(
    org: Annotated[str, typer.Option("--org", help="This node's org id (a monitor org).")],
    theater: Annotated[
        str, typer.Option("--theater", help="The theater directory, or `demo` (the bundled one).")
    ],
    data: DataOption = None,
    db: DbOption = None,
) -> None:
    """Create a node: an Ed25519 org key (mode 0600, never printed), a store, the theater.

    Example: ceasewatch node init --org mon-a --theater ./theater --data ./node-a
    """
    from ceasewatch.ledger.node import init_node
    from ceasewatch.ledger.sync import create_cosigner

    with init_node(_data(data), org, theater_dir(theater), db_url=db) as node:
        create_cosigner(node)
        out.print(f"node of {org} created in {_data(data)}; log {node.origin}")
        out.print("give peers both keys: [bold]ceasewatch node key[/bold] (and --cosigner)")


@node_app.command("key")
def node_key(
    data: DataOption = None,
    cosigner: Annotated[
        bool, typer.Option("--cosigner", help="Print the key this node cosigns peers' logs with.")
    ] = False,
) -> None:
    """Print the org's verifier key (signed-note vkey): all a peer needs to trust it.

    Example: ceasewatch node key --data ./node-a
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.sync import load_cosigner

    with open_node(_data(data)) as node:
        print(load_cosigner(node).verifier().vkey() if cosigner else node.vkey())


@node_app.command("trust")
def node_trust(
    vkey: Annotated[str, typer.Argument(help="The peer org's vkey, as `node key` prints it.")],
    url: Annotated[str, typer.Option("--url", help="Where the peer's node serves its log.")],
    data: DataOption = None,
    cosigner_vkey: Annotated[
        str | None,
        typer.Option("--cosigner-vkey", help="The peer's cosigner key (`node key --cosigner`)."),
    ] = None,
) -> None:
    """Record another monitor org's key and where to reach it.

    Example: ceasewatch node trust ceasewatch.mon-b.demo+1a2b3c4d+AU... --url http://10.0.0.2:8080
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.peers import trust_peer

    with open_node(_data(data)) as node:
        peer = trust_peer(node, vkey, url, cosigner_vkey=cosigner_vkey)
        out.print(f"trusting {peer.org} at {url}")


def _ingest(kind: str, file: Path, data: Path | None) -> None:
    from ceasewatch.ledger.append import ingest_file
    from ceasewatch.ledger.node import open_node

    with open_node(_data(data)) as node:
        result = ingest_file(node, kind, file, now=datetime.now(UTC))
    for dup in result.duplicates[:25]:
        out.print(f"duplicate: {file}:{dup.line} {dup.record_id} is already entry {dup.index}")
    if len(result.duplicates) > 25:
        out.print(f"... and {len(result.duplicates) - 25} more duplicates")
    if result.appended == 0:
        out.print(
            f"nothing appended to {result.origin}: all {result.rows_read} record(s) were there"
        )
        return
    out.print(
        f"{result.appended} of {result.rows_read} record(s) appended to {result.origin} "
        f"(entries {result.first_index}-{result.size - 1}); checkpoint at size {result.size}"
    )


@ingest_app.command("sightings")
def ingest_sightings(file: Path, data: DataOption = None) -> None:
    """Append a sightings.csv: all of the file or none of it.

    Example: ceasewatch ingest sightings sightings.csv --data ./node-a
    """
    _ingest("sightings", file, data)


@ingest_app.command("detections")
def ingest_detections(file: Path, data: DataOption = None) -> None:
    """Append a detections.csv: all of the file or none of it.

    Example: ceasewatch ingest detections detections.csv --data ./node-a
    """
    _ingest("detections", file, data)


@ingest_app.command("craters")
def ingest_craters(file: Path, data: DataOption = None) -> None:
    """Append a craters.csv: all of the file or none of it.

    Example: ceasewatch ingest craters craters.csv --data ./node-a
    """
    _ingest("craters", file, data)


@ingest_app.command("allegations")
def ingest_allegations(file: Path, data: DataOption = None) -> None:
    """Append an allegations.csv: all of the file or none of it.

    Example: ceasewatch ingest allegations allegations.csv --data ./node-a
    """
    _ingest("allegations", file, data)


@ingest_app.command("telemetry")
def ingest_telemetry(
    file: Path,
    sortie: Annotated[str, typer.Option("--sortie", help="This flight's id (your choice).")],
    drone: Annotated[str, typer.Option("--drone", help="The drone, as theater.toml names it.")],
    camera: Annotated[
        str | None, typer.Option("--camera", help="Its camera [default: the drone's].")
    ] = None,
    data: DataOption = None,
) -> None:
    """Append one flight's telemetry as a sortie: a .tlog, DataFlash .bin, KLV stream or
    CSV track (docs/telemetry.md). The file is read whole first; one that gives no usable
    sample is refused and nothing is stored.

    Example: ceasewatch ingest telemetry flight.tlog --sortie a1-1126-1 --drone uav-a1
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.telemetry import ingest_telemetry as run
    from ceasewatch.records.types import format_time

    with open_node(_data(data)) as node:
        done = run(node, file, sortie=sortie, drone=drone, camera=camera, now=datetime.now(UTC))
    rec, report, result = done.sortie, done.report, done.result
    span = rec.end - rec.start
    out.print(
        f"{file}: {report.format}, {rec.samples} sample(s) from {format_time(rec.start)} to "
        f"{format_time(rec.end)} ({span.total_seconds():.0f} s); drone {rec.drone}, "
        f"camera {rec.camera}",
        markup=False,
        highlight=False,
    )
    if report.counts:
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        out.print(f"counts: {counts}", markup=False, highlight=False)
    for problem in report.problems[:25]:
        out.print(f"  {problem}", markup=False, highlight=False)
    if len(report.problems) > 25:
        out.print(f"  ... and {len(report.problems) - 25} more problems")
    if result.appended == 0:
        held = result.duplicates[0].index if result.duplicates else None
        out.print(
            f"nothing appended to {result.origin}: sortie {rec.id} from this file is already "
            f"entry {held}",
            markup=False,
            highlight=False,
        )
        return
    out.print(
        f"sortie {rec.id} appended to {result.origin} (entry {result.first_index}); "
        f"checkpoint at size {result.size}",
        markup=False,
        highlight=False,
    )


def verify(
    data: DataOption = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also parse every entry a valid signed checkpoint covers (slower): finds "
            "a malformed entry its own org signed.",
        ),
    ] = False,
) -> None:
    """Check every signature, hash, Merkle root, checkpoint, cosignature and blob.

    Every stored byte is checked against the signed checkpoints; entries no signed
    checkpoint covers, and any that fail, are parsed and checked one by one.
    Exit 0 when clean; otherwise every problem with its log and index, and exit 1.

    Example: ceasewatch verify --data ./node-a --deep
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.verify import verify_store

    with open_node(_data(data)) as node:
        report = verify_store(node.engine, deep=deep)
    for problem in report.problems:
        err.print(str(problem), markup=False, highlight=False)
    (out if report.ok else err).print(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("prove")
def ledger_prove(
    index: Annotated[int, typer.Argument(help="The entry's index in this org's log.")],
    data: DataOption = None,
) -> None:
    """Print a self-contained excerpt: entry, inclusion proof, signed checkpoint (JSON).

    A third party checks it with the org's verifier key alone (`ledger check`).

    Example: ceasewatch ledger prove 12 --data ./node-a > entry-12.json
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.verify import prove

    with open_node(_data(data)) as node:
        print(prove(node, index).to_json())


@ledger_app.command("check")
def ledger_check(
    excerpt: Annotated[Path, typer.Argument(help="An excerpt file from `ledger prove`.")],
    vkey: Annotated[str, typer.Option("--vkey", help="The org's verifier key.")],
) -> None:
    """Check an excerpt with the org's verifier key alone; print the proven entry.

    Example: ceasewatch ledger check entry-12.json --vkey ceasewatch.mon-a.demo+1a2b3c4d+AU...
    """
    from ceasewatch.ledger.entry import verify_excerpt

    entry = verify_excerpt(excerpt.read_bytes(), vkey)
    out.print(f"[green]proven[/green]: entry {entry.index} of {entry.origin}")
    print(entry.canonical().decode("utf-8"))


def serve(
    data: DataOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8470,
) -> None:
    """Serve this node's logs read-only (checkpoints, entries, proofs, blobs) over HTTP.

    Peers pull from it and push their cosignatures to it.

    Example: ceasewatch serve --data ./node-a --port 8470
    """
    from ceasewatch.api import serve as run

    run(_data(data), host, port)


def sync(
    peer: Annotated[
        str | None, typer.Argument(help="A trusted peer's URL or org id [default: all].")
    ] = None,
    data: DataOption = None,
) -> None:
    """Pull each trusted peer's log, verify it all before storing, cosign, push the cosignature.

    Idempotent; resumes where it stopped; refuses (and reports) a peer that equivocates.

    Example: ceasewatch sync http://10.0.0.2:8470 --data ./node-a
    """
    import time

    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.sync import sync_all, sync_peer

    now_s = int(time.time())
    with open_node(_data(data)) as node:
        reports = [sync_peer(node, peer, now_s=now_s)] if peer else sync_all(node, now_s)
    for report in reports:
        (out if report.ok else err).print(report.summary(), markup=False, highlight=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def status(data: DataOption = None) -> None:
    """Summarise this node: logs and sizes, cosigned checkpoints, lag behind each peer,
    and any equivocation evidence (exit 1 when there is some).

    Example: ceasewatch status --data ./node-a
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.status import node_status

    with open_node(_data(data)) as node:
        st = node_status(node)
    for line in st.lines():
        (out if st.ok else err).print(line, markup=False, highlight=False)
    if not st.ok:
        raise typer.Exit(1)


def rebuild(data: DataOption = None) -> None:
    """Drop and re-derive every query table from the logs (the ledger is the truth).

    Example: ceasewatch rebuild --data ./node-a
    """
    from ceasewatch.ledger.node import open_node
    from ceasewatch.ledger.rebuild import rebuild as run

    with open_node(_data(data)) as node:
        rows = run(node)
    out.print(f"rebuilt: {rows} row(s) derived from the logs")


def register(app: typer.Typer) -> None:
    """Add the joint record's commands to the main app."""
    app.add_typer(node_app, name="node")
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(ledger_app, name="ledger")
    app.command("verify")(verify)
    app.command("serve")(serve)
    app.command("sync")(sync)
    app.command("status")(status)
    app.command("rebuild")(rebuild)
