"""The demo's joint record: one node per monitor org, each logging its own observations
and its own drones' telemetry, serving its log on loopback, syncing and cosigning the
other's, then analysing the joint record and mapping the drones' coverage of the day.
Both must derive byte-identical results: that is what lets them work together.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import uvicorn

from ceasewatch.analysis import write_analysis
from ceasewatch.api.app import create_app
from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.node import init_node, open_node
from ceasewatch.ledger.peers import trust_peer
from ceasewatch.ledger.records import analyse_node
from ceasewatch.ledger.sync import SyncReport, create_cosigner, load_cosigner, sync_peer
from ceasewatch.ledger.telemetry import camera_tracks, ingest_telemetry
from ceasewatch.records import SPECS, Record, write_records
from ceasewatch.report.coverage import build_coverage_report, write_coverage_report
from ceasewatch.sim import CONTRACT_FILES, Scenario

__all__ = ["JointRun", "run_nodes"]


@dataclass
class JointRun:
    """What the two-node part of the demo did."""

    nodes: dict[str, Path]
    appended: dict[str, int] = field(default_factory=dict)
    syncs: list[SyncReport] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # org -> sha256 of its results
    results: dict[str, Path] = field(default_factory=dict)
    sorties: dict[str, int] = field(default_factory=dict)  # org -> its sorties logged
    coverage: dict[str, Path] = field(default_factory=dict)  # org -> its coverage folder
    line_observed: float = 0.0  # share of the contact line observed during the day

    @property
    def agree(self) -> bool:
        return len(set(self.digests.values())) == 1


def _own_records(scenario: Scenario, name: str, org: str, monitors: list[str]) -> list[Record]:
    records = scenario.records(name)
    if name == "allegations":  # sides send them to the center: each monitor logs one side's
        sides = sorted({r.by for r in records})  # type: ignore[attr-defined]
        mine = {s for i, s in enumerate(sides) if monitors[i % len(monitors)] == org}
        return [r for r in records if r.by in mine]  # type: ignore[attr-defined]
    return [r for r in records if getattr(r, "org", None) == org]


@contextmanager
def _serving(node_dir: Path) -> Iterator[str]:
    """Serve a node on a free loopback port for the duration of the block."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(node_dir), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the demo node server for {node_dir} did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _digest(paths: dict[str, Path]) -> str:
    h = hashlib.sha256()
    for name in sorted(paths):
        h.update(name.encode() + b"\0" + paths[name].read_bytes())
    return h.hexdigest()


def run_nodes(
    scenario: Scenario, theater_dir: Path, out: Path, telemetry: dict[str, Path]
) -> JointRun:
    """Two monitor nodes on the simulated day: ingest, serve, sync both ways, analyse.

    `telemetry`: the scenario's telemetry file of each sortie, by sortie id.
    """
    theater = scenario.theater
    monitors = theater.monitors
    now = scenario.truth.start + timedelta(hours=scenario.truth.hours)  # the demo's "now"
    nodes_dir = out / "nodes"
    if nodes_dir.exists():
        shutil.rmtree(nodes_dir)
    run = JointRun({org: nodes_dir / org for org in monitors})
    for org, node_dir in run.nodes.items():
        with init_node(node_dir, org, theater_dir) as node:
            create_cosigner(node)
            run.appended[org] = 0
            for name in CONTRACT_FILES:
                records = _own_records(scenario, name, org, monitors)
                if not records:
                    continue
                path = node_dir / "inbox" / f"{name}.csv"
                path.parent.mkdir(exist_ok=True)
                write_records(path, SPECS[name], records)
                run.appended[org] += ingest_file(node, name, path, now=now).appended
            run.sorties[org] = 0
            for so in scenario.sorties:
                if so.org == org:
                    done = ingest_telemetry(
                        node, telemetry[so.id], sortie=so.id, drone=so.drone, now=now
                    )
                    run.appended[org] += done.result.appended
                    run.sorties[org] += 1
    keys = {}
    for org, node_dir in run.nodes.items():
        with open_node(node_dir) as node:
            keys[org] = (node.vkey(), load_cosigner(node).verifier().vkey())
    with _serving(run.nodes[monitors[0]]) as url_a, _serving(run.nodes[monitors[1]]) as url_b:
        urls = {monitors[0]: url_a, monitors[1]: url_b}
        for org, node_dir in run.nodes.items():
            with open_node(node_dir) as node:
                for peer in monitors:
                    if peer != org:
                        trust_peer(node, keys[peer][0], urls[peer], cosigner_vkey=keys[peer][1])
        for org, node_dir in run.nodes.items():
            with open_node(node_dir) as node:
                for peer in monitors:
                    if peer != org:
                        run.syncs.append(sync_peer(node, urls[peer], now_s=int(now.timestamp())))
    start = scenario.truth.start
    for org, node_dir in run.nodes.items():
        with open_node(node_dir) as node:
            theater, tracks = node.theater(), camera_tracks(node)
            result = analyse_node(node, tracks)
        files = write_analysis(result, out / f"analysis-{org}")
        coverage = build_coverage_report(theater, tracks, start, now)
        files |= write_coverage_report(coverage, out / f"coverage-{org}")
        run.results[org] = out / f"analysis-{org}"
        run.coverage[org] = out / f"coverage-{org}"
        run.digests[org] = _digest(files)
        run.line_observed = float(coverage.summary["line"]["observed_share"])
    return run
