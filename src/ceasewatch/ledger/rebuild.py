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

from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, delete, select

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.entry import parse_entries_hashed
from ceasewatch.ledger.node import Node, log_size
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import insert_rows, select_entries

__all__ = ["PROJECTIONS", "derive_records", "rebuild"]

_BATCH = 10_000


def _pages(conn: Connection) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Every entry as (index, bytes), by (origin, index), one page (an index range) at a time,
    so that the caller may write on the same connection in between (no cursor stays open)."""
    e = s.entries.c
    origins = conn.execute(select(e.origin).distinct().order_by(e.origin)).scalars().all()
    for origin in origins:
        for start in range(0, log_size(conn, str(origin)), _BATCH):
            yield (
                str(origin),
                select_entries(conn, str(origin), ("idx", "data"), start, start + _BATCH),
            )


def derive_records(conn: Connection) -> Iterator[dict[str, Any]]:
    """The rows of ``records`` as the ledger's entries define them, by (origin, index).

    Raises:
        IntegrityError: an entry does not parse (run `ceasewatch verify`).
    """
    seen: set[tuple[str, str]] = set()
    for origin, rows in _pages(conn):
        parsed = parse_entries_hashed([bytes(data) for _, data in rows])
        for (idx, _), item in zip(rows, parsed, strict=True):
            if isinstance(item, InvalidInput):
                raise IntegrityError(
                    f"log {origin} entry {int(idx)} is not a valid entry ({item}); nothing "
                    "rebuilt; run `ceasewatch verify`"
                )
            entry, content_hash = item
            rec = entry.record
            if rec is None or content_hash is None:
                continue
            key = (origin, content_hash)
            if key in seen:
                continue
            seen.add(key)
            yield {
                "origin": origin,
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
            columns = tuple(c.name for c in table.columns)
            row_of = itemgetter(*columns)
            batch: list[dict[str, Any]] = []
            for row in derive(conn):
                batch.append(row)
                if len(batch) >= _BATCH:
                    insert_rows(conn, table, columns, list(map(row_of, batch)))
                    written += len(batch)
                    batch = []
            if batch:
                insert_rows(conn, table, columns, list(map(row_of, batch)))
                written += len(batch)
    return written
