"""Sync between two in-process nodes (mon-a and mon-b on the demo theater) over their APIs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from sqlalchemy import func, select, text

from ceasewatch.api import create_app
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo import load_theater
from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.checkpoint import Checkpoint, CosignatureSigner, sign_checkpoint
from ceasewatch.ledger.node import Node, init_node
from ceasewatch.ledger.peers import trust_peer
from ceasewatch.ledger.sync import (
    Equivocation,
    SyncReport,
    create_cosigner,
    load_cosigner,
    store_equivocation,
    sync_all,
    sync_peer,
)
from ceasewatch.ledger.verify import verify_store
from ceasewatch.records import SPECS, write_records
from ceasewatch.sim import default_window, simulate, write_scenario
from ceasewatch.store import schema as s

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
URLS = {"mon-a": "http://mon-a.test", "mon-b": "http://mon-b.test"}


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated day on the demo theater, written as contract files."""
    theater = load_theater(demo_theater_dir())
    start, hours = default_window(theater)
    out = tmp_path_factory.mktemp("scenario")
    write_scenario(simulate(theater, 7, start, hours), out)
    return out


def org_file(scenario_dir: Path, kind: str, org: str, out: Path) -> Path:
    """The rows of one org from a scenario contract file."""
    from ceasewatch.records import read_records

    theater = load_theater(demo_theater_dir())
    loaded = read_records(scenario_dir / f"{kind}.csv", SPECS[kind], theater.org_roles())
    path = out / f"{kind}-{org}.csv"
    write_records(path, SPECS[kind], [r for r in loaded.records if getattr(r, "org", "") == org])
    return path


class AppTransport(httpx.BaseTransport):
    """Calls an ASGI app in-process from sync code (httpx.ASGITransport through a portal).

    Starlette's TestClient is deprecated with httpx (it warns, and warnings are errors here).
    """

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.portal = portal

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self.portal.call(self._send, request)


@dataclass
class Side:
    """One node, its API client and its cosigner key."""

    node: Node
    client: httpx.Client
    cosigner: CosignatureSigner
    scenario: Path
    work: Path

    @property
    def org(self) -> str:
        return self.node.org

    def ingest(self, kind: str) -> int:
        path = org_file(self.scenario, kind, self.org, self.work)
        return ingest_file(self.node, kind, path, now=NOW).appended


def make_side(
    tmp_path: Path, org: str, scenario: Path, portal: BlockingPortal, db_url: str | None = None
) -> Side:
    node = init_node(tmp_path / org, org, demo_theater_dir(), db_url=db_url)
    cosigner = create_cosigner(node)
    transport = AppTransport(create_app(tmp_path / org), portal)
    client = httpx.Client(transport=transport, base_url=URLS[org])
    work = tmp_path / f"{org}-files"
    work.mkdir()
    return Side(node, client, cosigner, scenario, work)


@pytest.fixture
def pair(tmp_path: Path, scenario_dir: Path) -> Iterator[tuple[Side, Side]]:
    """mon-a and mon-b, trusting each other, each holding its own org's sightings."""
    with start_blocking_portal() as portal:
        yield from _pair(tmp_path, scenario_dir, portal)


@pytest.fixture
def pair_on(tmp_path: Path, scenario_dir: Path, db_url: str) -> Iterator[tuple[Side, Side]]:
    """Like `pair`, with mon-a's store on each backend (mon-b's stays SQLite)."""
    with start_blocking_portal() as portal:
        yield from _pair(tmp_path, scenario_dir, portal, db_url)


def _pair(
    tmp_path: Path, scenario_dir: Path, portal: BlockingPortal, db_url: str | None = None
) -> Iterator[tuple[Side, Side]]:
    a = make_side(tmp_path, "mon-a", scenario_dir, portal, db_url)
    b = make_side(tmp_path, "mon-b", scenario_dir, portal)
    for me, other in ((a, b), (b, a)):
        trust_peer(
            me.node,
            other.node.vkey(),
            URLS[other.org],
            cosigner_vkey=other.cosigner.verifier().vkey(),
        )
        assert me.ingest("sightings") > 0
    try:
        yield a, b
    finally:
        for side in (a, b):
            side.client.close()
            side.node.close()


def sync(me: Side, peer: Side, client: httpx.Client | None = None) -> SyncReport:
    return sync_peer(me.node, URLS[peer.org], client=client or peer.client, now_s=NOW_S)


def rows(node: Node, origin: str) -> list[tuple[int, bytes]]:
    with node.engine.connect() as conn:
        q = select(s.entries.c.idx, s.entries.c.data).where(s.entries.c.origin == origin)
        return [(int(i), bytes(d)) for i, d in conn.execute(q.order_by(s.entries.c.idx))]


def counts(node: Node) -> dict[str, int]:
    tables = (s.entries, s.checkpoints, s.cosignatures, s.blobs, s.records)
    with node.engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables
        }


def assert_mirrors(me: Side, peer: Side) -> None:
    origin = peer.node.origin
    assert rows(me.node, origin) == rows(peer.node, origin)
    # the peer's latest checkpoint carries my cosignature, as the peer serves it
    served = peer.client.get(f"/logs/{origin}/checkpoint").text
    assert f"\u2014 {me.cosigner.name} " in served
    assert verify_store(me.node.engine).ok, verify_store(me.node.engine).problems
    assert verify_store(peer.node.engine).ok, verify_store(peer.node.engine).problems


def test_sync_both_ways_then_resync_is_a_no_op(pair: tuple[Side, Side]) -> None:
    a, b = pair
    ra, rb = sync(a, b), sync(b, a)
    for report, peer in ((ra, b), (rb, a)):
        assert report.ok and report.cosigned and report.pushed, report
        assert report.entries_stored == peer.node.size() > 0
        assert report.blobs_stored == 1
    assert_mirrors(a, b)
    assert_mirrors(b, a)
    before = (counts(a.node), counts(b.node))
    again = [sync(a, b), sync(b, a)]
    assert all(r.ok and r.entries_stored == 0 and r.pushed for r in again)
    assert (counts(a.node), counts(b.node)) == before


def test_partition_both_write_then_converge(pair: tuple[Side, Side]) -> None:
    a, b = pair
    sync(a, b)
    sync(b, a)
    # a partition: both keep writing their own logs
    for side in (a, b):
        assert side.ingest("craters") > 0
        assert side.ingest("detections") > 0
    ra, rb = sync(a, b), sync(b, a)
    assert ra.ok and rb.ok
    assert ra.old_size > 0 and ra.size == b.node.size()
    assert_mirrors(a, b)
    assert_mirrors(b, a)


class Rewrite(httpx.BaseTransport):
    """Forwards to a client, rewriting some answers (a dishonest or broken peer)."""

    def __init__(self, inner: httpx.Client, edit: Callable[[str, bytes], bytes]) -> None:
        self.inner = inner
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.inner.send(request)
        body = self.edit(request.url.path, response.content)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=body)


def dishonest(peer: Side, edit: Callable[[str, bytes], bytes]) -> httpx.Client:
    return httpx.Client(transport=Rewrite(peer.client, edit), base_url=URLS[peer.org])


def flip_entry(path: str, body: bytes) -> bytes:
    if not path.endswith("/entries"):
        return body
    page = json.loads(body)
    raw = bytearray(base64.b64decode(page["entries"][3]))
    raw[-10] ^= 0x01
    page["entries"][3] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(page).encode()


def test_tampered_entry_page_is_refused_and_nothing_stored(pair: tuple[Side, Side]) -> None:
    a, b = pair
    before = counts(a.node)
    with dishonest(b, flip_entry) as client:
        report = sync(a, b, client)
    assert not report.ok and report.equivocation is None
    assert counts(a.node) == before
    assert rows(a.node, b.node.origin) == []
    assert sync(a, b).ok  # the honest peer is then mirrored in full
    assert rows(a.node, b.node.origin) == rows(b.node, b.node.origin)


@pytest.mark.parametrize(
    ("item", "why"), [(12, "entry 3 is not base64 text"), ("QQ=x", "entry 3 is not valid base64")]
)
def test_a_page_item_that_is_not_base64_is_refused(
    pair: tuple[Side, Side], item: object, why: str
) -> None:
    a, b = pair

    def garble(path: str, body: bytes) -> bytes:
        if not path.endswith("/entries"):
            return body
        page = json.loads(body)
        page["entries"][3] = item
        return json.dumps(page).encode()

    with dishonest(b, garble) as client:
        report = sync(a, b, client)
    assert report.refused == why
    assert rows(a.node, b.node.origin) == []


def forged(peer: Side, size: int) -> bytes:
    """A checkpoint for ``size`` with a wrong root, signed by the peer's real key."""
    return sign_checkpoint(
        Checkpoint(peer.node.origin, size, bytes(range(32))), peer.node.signer()
    ).encode()


def equivocations(node: Node) -> list[tuple[str, int, int, bytes, bytes, str, str, int]]:
    e = s.equivocations
    with node.engine.connect() as conn:
        q = select(
            e.c.origin,
            e.c.stored_size,
            e.c.served_size,
            e.c.stored_note,
            e.c.served_note,
            e.c.reason,
            e.c.found_by,
            e.c.found_at,
        ).order_by(e.c.evidence)
        return [
            (str(o), int(a), int(b), bytes(c), bytes(d), str(r), str(f), int(t))
            for o, a, b, c, d, r, f, t in conn.execute(q)
        ]


def assert_loud(node: Node, peer: Side, n: int) -> None:
    """verify fails with one EQUIVOCATION problem per piece of evidence, signed by the peer."""
    report = verify_store(node.engine)
    assert not report.ok
    loud = [p for p in report.problems if f"EQUIVOCATION by {peer.org}" in p.what]
    assert len(loud) == n == len(report.problems), report.problems
    assert all("both notes are signed by the log's key" in p.what for p in loud)
    assert all(p.where == f"log {peer.node.origin}" for p in loud)


def test_two_checkpoints_for_one_size_is_equivocation(pair_on: tuple[Side, Side]) -> None:
    a, b = pair_on
    assert sync(a, b).ok
    size = b.node.size()
    before = counts(a.node)

    def fork(path: str, body: bytes) -> bytes:
        return forged(b, size) if path.endswith("/checkpoint") else body

    with dishonest(b, fork) as client:
        report = sync(a, b, client)
    assert not report.ok and report.equivocation is not None
    evidence = report.equivocation
    assert evidence is not None
    assert "two different signed checkpoints" in evidence.what
    assert evidence.served_note.encode() == forged(b, size)
    assert evidence.stored_note.startswith(b.node.origin + f"\n{size}\n")
    assert not report.cosigned
    assert counts(a.node) == before
    # the evidence is kept, once, and verify reports it loudly
    [row] = equivocations(a.node)
    assert row == (
        b.node.origin,
        size,
        size,
        evidence.stored_note.encode(),
        forged(b, size),
        evidence.what,
        "mon-a",
        NOW_S,
    )
    assert_loud(a.node, b, 1)
    with dishonest(b, fork) as client:
        again = sync(a, b, client)
    assert again.equivocation is not None and "stored already" in " ".join(again.notes)
    assert len(equivocations(a.node)) == 1
    # the evidence is append-only, like the ledger
    for statement in ("UPDATE equivocations SET reason = 'x'", "DELETE FROM equivocations"):
        with pytest.raises(Exception, match="append-only"), a.node.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(equivocations(a.node)) == 1


def test_checkpoint_inconsistent_with_stored_one_is_equivocation(
    pair_on: tuple[Side, Side],
) -> None:
    a, b = pair_on
    assert sync(a, b).ok
    rows_before = b.node.size()
    b.ingest("craters")
    size = b.node.size()
    before = counts(a.node)

    def fork(path: str, body: bytes) -> bytes:
        return forged(b, size) if path.endswith("/checkpoint") else body

    with dishonest(b, fork) as client:
        report = sync(a, b, client)
    assert report.equivocation is not None
    assert "not consistent" in report.equivocation.what
    assert counts(a.node) == before
    [row] = equivocations(a.node)
    assert row[:3] == (b.node.origin, rows_before, size)
    assert row[5] == report.equivocation.what
    assert_loud(a.node, b, 1)
    # the honest peer still syncs; the evidence stays and verify stays loud
    assert sync(a, b).ok
    assert rows(a.node, b.node.origin) == rows(b.node, b.node.origin)
    assert_loud(a.node, b, 1)


def test_a_tampered_equivocation_record_is_told_apart(pair: tuple[Side, Side]) -> None:
    a, b = pair
    assert sync(a, b).ok
    size = b.node.size()
    stored = a.node.engine
    with stored.connect() as conn:
        note = conn.execute(
            select(s.checkpoints.c.note).where(
                s.checkpoints.c.origin == b.node.origin, s.checkpoints.c.size == size
            )
        ).scalar_one()
    fake = Equivocation(b.node.origin, "made up", bytes(note).decode(), "not a note")
    assert store_equivocation(a.node, fake, found_at_s=NOW_S)
    [problem] = verify_store(stored).problems
    assert "EQUIVOCATION by mon-b: made up" in problem.what
    assert "does NOT verify" in problem.what


def test_sync_all_reports_unreachable_peers(pair: tuple[Side, Side]) -> None:
    a, _b = pair
    reports = sync_all(a.node, NOW_S)  # mon-b.test does not resolve
    assert [r.org for r in reports] == ["mon-b"]
    assert not reports[0].ok and "cannot reach" in (reports[0].refused or "")


def test_cosigner_key_is_private_and_reloads(pair: tuple[Side, Side]) -> None:
    a, _b = pair
    assert load_cosigner(a.node).verifier().vkey() == a.cosigner.verifier().vkey()
