"""The routes: logs, checkpoints, entries, consistency proofs and raw files, read-only, and the
one write, a peer's cosignature of this node's checkpoint (C2SP tlog-cosignature).

Every log the store holds is served, the node's own and the ones it mirrors, so that any node
can hand a third party what it saw. Routes are thin: they call the ledger and the store, and
errors travel as `CeasewatchError` to the one table in `ceasewatch.api.errors`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ceasewatch.errors import InvalidInput, NotFound
from ceasewatch.ledger.checkpoint import open_checkpoint
from ceasewatch.ledger.entry import check_hex_hash
from ceasewatch.ledger.node import Node, log_size, open_node, stored_tree
from ceasewatch.ledger.note import Signature, parse_note, sign_note
from ceasewatch.ledger.peers import log_verifier
from ceasewatch.ledger.sync import receive_cosignature
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import select_entries

__all__ = ["MAX_PAGE", "create_app"]

MAX_PAGE = 4096
"""Most entries one entries request answers (a page of a few MB: few round trips per sync)."""

MAX_COSIGNED_NOTE_BYTES = 64 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


_B64 = functools.partial(binascii.b2a_base64, newline=False)
"""Standard base64 of bytes, as bytes (what `_b64` gives, without a Python call per entry)."""


def latest_checkpoint(node: Node, origin: str) -> str:
    """The latest checkpoint of a log, with every cosignature the store holds for it."""
    with node.engine.connect() as conn:
        verifier = log_verifier(conn, origin)
        row = conn.execute(
            select(s.checkpoints.c.size, s.checkpoints.c.note)
            .where(s.checkpoints.c.origin == origin)
            .order_by(s.checkpoints.c.size.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"log {origin} has no checkpoint")
        cosigs = conn.execute(
            select(s.cosignatures.c.cosigner, s.cosignatures.c.key_id, s.cosignatures.c.signature)
            .where(s.cosignatures.c.origin == origin, s.cosignatures.c.size == row.size)
            .order_by(s.cosignatures.c.cosigner, s.cosignatures.c.key_id)
        ).all()
    note = bytes(row.note)
    if not cosigs:
        return note.decode("utf-8")
    text = open_checkpoint(note, verifier).text
    kept = list(parse_note(note)[1])
    kept += [Signature(str(c), int(k), bytes(sig)) for c, k, sig in cosigs]
    return sign_note(text, [], keep=kept)


def create_app(node_dir: Path) -> FastAPI:
    """The API of the node in ``node_dir`` (opened now, closed when the app shuts down).

    Raises:
        NotFound: there is no node in ``node_dir``.
    """
    from ceasewatch.api.errors import install_error_handlers

    node = open_node(Path(node_dir))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        node.close()

    app = FastAPI(title=f"ceasewatch node {node.org}", lifespan=lifespan)
    app.state.node = node
    install_error_handlers(app)

    def known(origin: str) -> int:
        with node.engine.connect() as conn:
            log_verifier(conn, origin)  # NotFound for a log the store does not hold
            return log_size(conn, origin)

    @app.get("/logs")
    def logs() -> dict[str, Any]:
        """The logs this node holds: its own and the ones it mirrors."""
        with node.engine.connect() as conn:
            rows = conn.execute(select(s.logs.c.origin, s.logs.c.org).order_by(s.logs.c.origin))
            # the size is one past the last index: a seek of the primary key, where a count
            # would read every entry
            out = [
                {"origin": o, "org": org, "size": log_size(conn, o), "own": o == node.origin}
                for o, org in rows.all()
            ]
        return {"logs": out}

    @app.get("/logs/{origin}/checkpoint", response_class=PlainTextResponse)
    def checkpoint(origin: str) -> PlainTextResponse:
        """The latest signed checkpoint note (C2SP tlog-checkpoint), with its cosignatures."""
        return PlainTextResponse(latest_checkpoint(node, origin))

    @app.get("/logs/{origin}/entries")
    def entries(origin: str, start: int = Query(ge=0), end: int = Query(gt=0)) -> Response:
        """Entries ``start..end`` (end exclusive; at most `MAX_PAGE`), base64 of their bytes.

        Answered as ``{"origin": ..., "start": ..., "entries": [base64, ...]}``, written
        directly: base64 text needs no JSON escaping, and a page is thousands of entries.
        """
        if end <= start:
            raise InvalidInput(f"end ({end}) must be greater than start ({start})")
        size = known(origin)
        if start >= size:
            raise NotFound(f"log {origin} has {size} entries; none from {start}")
        stop = min(end, size, start + MAX_PAGE)
        with node.engine.connect() as conn:
            rows = select_entries(conn, origin, ("data",), start, stop)
        page = b'","'.join(map(_B64, map(itemgetter(0), rows)))
        head = b'{"origin":' + json.dumps(origin).encode("utf-8") + b',"start":%d,' % start
        body = head + (b'"entries":["' + page + b'"]}' if rows else b'"entries":[]}')
        return Response(body, media_type="application/json")

    @app.get("/logs/{origin}/proof/consistency")
    def consistency(origin: str, old: int = Query(ge=0), new: int = Query(ge=0)) -> dict[str, Any]:
        """An RFC 9162 consistency proof from tree size ``old`` to ``new``."""
        if old > new:
            raise InvalidInput(f"old ({old}) must not exceed new ({new})")
        size = known(origin)
        if new > size:
            raise NotFound(f"log {origin} has {size} entries, not {new}")
        with node.engine.connect() as conn:
            tree = stored_tree(conn, origin, new)
        proof = tree.consistency_proof(old, new) if 0 < old < new else []
        return {"origin": origin, "old": old, "new": new, "proof": [_b64(h) for h in proof]}

    @app.get("/blobs/{sha256}")
    def blob(sha256: str) -> Response:
        """A raw input file by its SHA-256 (hex)."""
        name = check_hex_hash(sha256.lower(), "blob name")
        with node.engine.connect() as conn:
            data = conn.execute(
                select(s.blobs.c.data).where(s.blobs.c.sha256 == name)
            ).scalar_one_or_none()
        if data is None:
            raise NotFound(f"no blob {name}")
        return Response(bytes(data), media_type="application/octet-stream")

    @app.post("/logs/{origin}/cosignature")
    async def cosignature(origin: str, request: Request) -> dict[str, Any]:
        """Take a trusted peer's cosignature of one of this node's checkpoints (text/plain)."""
        body = await request.body()
        if len(body) > MAX_COSIGNED_NOTE_BYTES:
            raise InvalidInput(f"a cosigned checkpoint is at most {MAX_COSIGNED_NOTE_BYTES} bytes")
        added = await run_in_threadpool(receive_cosignature, node, origin, body)
        return {"origin": origin, "added": added}

    return app
