"""The node API: read-only routes, the cosignature POST, the one error shape, real servers."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal

import ceasewatch.errors as errors_module
from ceasewatch.api import MAX_PAGE, create_app
from ceasewatch.api.errors import STATUS
from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.checkpoint import CosignatureSigner, cosign, open_checkpoint
from ceasewatch.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from ceasewatch.ledger.node import Node, init_node
from ceasewatch.ledger.peers import trust_peer
from ceasewatch.ledger.sync import create_cosigner, sync_peer
from tests.ledger.conftest import sighting, write_sightings
from tests.ledger.test_sync import AppTransport

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
URL = "http://mon-a.test"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Node, httpx.Client]]:
    """mon-a with two ingests (5 then 300 sightings), and a client on its API."""
    node = init_node(tmp_path / "a", "mon-a", demo_theater_dir())
    for name, count in (("first", 5), ("second", 300)):
        path = write_sightings(tmp_path / f"{name}.csv", [sighting(i) for i in range(count)])
        ingest_file(node, "sightings", path, now=NOW)
    with (
        start_blocking_portal() as portal,
        httpx.Client(
            transport=AppTransport(create_app(tmp_path / "a"), portal), base_url=URL
        ) as client,
    ):
        yield node, client
    node.close()


def test_logs_checkpoint_entries_and_proof(served: tuple[Node, httpx.Client]) -> None:
    node, client = served
    listed = client.get("/logs").json()["logs"]
    assert listed == [{"origin": node.origin, "org": "mon-a", "size": 300, "own": True}]
    note = client.get(f"/logs/{node.origin}/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    cp = open_checkpoint(note.text, node.signer().verifier()).checkpoint
    assert cp.size == 300
    tree = MerkleTree()
    while tree.size < cp.size:
        page = client.get(
            f"/logs/{node.origin}/entries", params={"start": tree.size, "end": 10_000}
        ).json()["entries"]
        assert 0 < len(page) <= MAX_PAGE
        tree.extend(leaf_hash(base64.b64decode(e)) for e in page)
    assert tree.root() == cp.root_hash
    proof = client.get(
        f"/logs/{node.origin}/proof/consistency", params={"old": 5, "new": 300}
    ).json()["proof"]
    verify_consistency(5, 300, tree.root_at(5), cp.root_hash, [base64.b64decode(h) for h in proof])


def test_blob_by_hash(served: tuple[Node, httpx.Client], tmp_path: Path) -> None:
    _node, client = served
    raw = (tmp_path / "second.csv").read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    response = client.get(f"/blobs/{sha}")
    assert response.status_code == 200 and response.content == raw


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        ("GET", "/logs/ceasewatch.nobody.x/checkpoint", {}, (404, "NotFound")),
        ("GET", "/logs/{origin}/entries", {"start": 300, "end": 301}, (404, "NotFound")),
        ("GET", "/logs/{origin}/entries", {"start": 5, "end": 2}, (400, "InvalidInput")),
        ("GET", "/logs/{origin}/entries", {"start": "x", "end": 2}, (400, "InvalidInput")),
        ("GET", "/logs/{origin}/proof/consistency", {"old": 1, "new": 999}, (404, "NotFound")),
        ("GET", "/blobs/not-a-hash", {}, (400, "InvalidInput")),
        ("GET", "/blobs/" + "0" * 64, {}, (404, "NotFound")),
        ("GET", "/no/such/route", {}, (404, "NotFound")),
        ("POST", "/logs/{origin}/cosignature", {}, (400, "InvalidInput")),
    ],
)
def test_error_shape(
    served: tuple[Node, httpx.Client],
    method: str,
    path: str,
    params: dict[str, Any],
    expected: tuple[int, str],
) -> None:
    node, client = served
    response = client.request(method, path.format(origin=node.origin), params=params)
    assert (response.status_code, _error(response)["type"]) == expected


def test_cosignature_from_untrusted_key_is_denied(served: tuple[Node, httpx.Client]) -> None:
    node, client = served
    note = client.get(f"/logs/{node.origin}/checkpoint").text
    stranger = CosignatureSigner.generate("stranger/cosigner")
    cosigned = cosign(note, node.signer().verifier(), stranger, 1_800_000_000)
    response = client.post(f"/logs/{node.origin}/cosignature", content=cosigned.encode())
    assert response.status_code == 403
    assert _error(response)["type"] == "AccessDenied"


def test_every_error_class_has_a_status() -> None:
    classes = {
        obj
        for obj in vars(errors_module).values()
        if isinstance(obj, type) and issubclass(obj, errors_module.CeasewatchError)
    }
    assert classes <= set(STATUS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from pathlib import Path; from ceasewatch.api import serve; "
        "serve(Path(sys.argv[1]), '127.0.0.1', int(sys.argv[2]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/logs", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.slow
def test_two_real_uvicorn_servers_sync(tmp_path: Path) -> None:
    nodes = {org: init_node(tmp_path / org, org, demo_theater_dir()) for org in ("mon-a", "mon-b")}
    keys = {org: create_cosigner(n) for org, n in nodes.items()}
    urls = {org: f"http://127.0.0.1:{_free_port()}" for org in nodes}
    for i, (org, node) in enumerate(nodes.items()):
        path = write_sightings(
            tmp_path / f"{org}.csv", [sighting(100 * i + j, org=org) for j in range(20)]
        )
        ingest_file(node, "sightings", path, now=NOW)
        other = "mon-b" if org == "mon-a" else "mon-a"
        trust_peer(
            node, nodes[other].vkey(), urls[other], cosigner_vkey=keys[other].verifier().vkey()
        )
    procs = [_start(tmp_path / org, int(urls[org].rsplit(":", 1)[1])) for org in nodes]
    try:
        for url in urls.values():
            _wait(url)
        for org, node in nodes.items():
            other = "mon-b" if org == "mon-a" else "mon-a"
            report = sync_peer(node, urls[other], now_s=1_800_000_000)
            assert report.ok and report.entries_stored == 20 and report.pushed, report
        for org, node in nodes.items():
            note = httpx.get(f"{urls[org]}/logs/{node.origin}/checkpoint").text
            other = "mon-b" if org == "mon-a" else "mon-a"
            assert f"\u2014 {keys[other].name} " in note
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        for node in nodes.values():
            node.close()
