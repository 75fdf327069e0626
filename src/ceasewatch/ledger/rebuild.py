"""Re-deriving the store's query tables from the ledger (`ceasewatch rebuild`).

The ledger is the truth (DESIGN.md invariant 1): every projection table is a function of the
``entries`` table and can be thrown away and derived again. `rebuild` empties each projection
and fills it from the entries of every log the store holds, in one transaction, so a reader
sees the old projection or the new one, never half of either; the ledger tables are only read.

Today the one projection is ``records``: the content hash of each entry's record -> (log,
index, kind, record id). A record that a log holds more than once (which `append_records`
never writes, but a mirrored log might carry) maps to its first index, as ingest reports a
duplicate against the entry that holds it already.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.entry import Entry, canonical_bytes
from ceasewatch.ledger.node import Node
from ceasewatch.store import schema as s

__all__ = ["PROJECTIONS", "derive_records", "rebuild"]

_BATCH = 1000


def _entries(conn: Connection) -> Iterator[tuple[str, int, bytes]]:
    """Every entry, by (origin, index), read in pages (keyset), so that the caller may write
    on the same connection in between (no server-side cursor stays open)."""
    e = s.entries.c
    origins = conn.execute(select(e.origin).distinct().order_by(e.origin)).scalars().all()
    for origin in origins:
        last = -1
        while True:
            page = conn.execute(
                select(e.idx, e.data)
                .where(e.origin == origin, e.idx > last)
                .order_by(e.idx)
                .limit(_BATCH)
            ).all()
            for idx, data in page:
                yield str(origin), int(idx), bytes(data)
            if len(page) < _BATCH:
                break
            last = int(page[-1].idx)


def derive_records(conn: Connection) -> Iterator[dict[str, Any]]:
    """The rows of ``records`` as the ledger's entries define them, by (origin, index).

    Raises:
        IntegrityError: an entry does not parse (run `ceasewatch verify`).
    """
    seen: set[tuple[str, str]] = set()
    for origin, idx, data in _entries(conn):
        try:
            entry = Entry.parse(bytes(data))
        except InvalidInput as exc:
            raise IntegrityError(
                f"log {origin} entry {int(idx)} is not a valid entry ({exc}); nothing rebuilt; "
                "run `ceasewatch verify`"
            ) from None
        rec = entry.record
        if rec is None:
            continue
        content_hash = hashlib.sha256(canonical_bytes(rec)).hexdigest()
        key = (str(origin), content_hash)
        if key in seen:
            continue
        seen.add(key)
        yield {
            "origin": str(origin),
            "content_hash": content_hash,
            "idx": int(idx),
            "kind": entry.kind,
            "record_id": str(rec.get("id", "")),
        }


PROJECTIONS: tuple[tuple[Table, Callable[[Connection], Iterator[dict[str, Any]]]], ...] = (
    (s.records, derive_records),
)
"""Each projection table and the function that derives its rows from the ledger."""


def rebuild(node: Node) -> int:
    """Empty every projection table and derive it again from the ledger, in one transaction.

    Returns:
        How many projection rows were written.

    Raises:
        IntegrityError: an entry does not parse; the projection is left as it was.
    """
    written = 0
    with node.engine.begin() as conn:
        for table, derive in PROJECTIONS:
            conn.execute(delete(table))
            batch: list[dict[str, Any]] = []
            for row in derive(conn):
                batch.append(row)
                if len(batch) >= _BATCH:
                    conn.execute(insert(table), batch)
                    written += len(batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
                written += len(batch)
    return written
