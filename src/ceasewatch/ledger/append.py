"""Appending to the node's own log: ingest a file, or append records, in one transaction.

An ingest batch is one database transaction: the raw file (by SHA-256), one entry per new
record, the records projection and a checkpoint signed over the new tree, all committed or
none. A bad row, or a record of another org, refuses the whole file. Records whose content hash
the log already holds are reported as duplicates, not appended again. The entry time is the
``now`` the caller passes (the CLI passes the wall clock), so tests are deterministic.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import methodcaller
from pathlib import Path

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from ceasewatch.errors import Conflict, InvalidInput, NotFound, Problem
from ceasewatch.ledger.checkpoint import Checkpoint, sign_checkpoint
from ceasewatch.ledger.entry import canonical_bytes, entry_bytes
from ceasewatch.ledger.merkle import leaf_hashes
from ceasewatch.ledger.node import Node
from ceasewatch.records.base import Record
from ceasewatch.records.csvio import SPECS, read_records
from ceasewatch.records.types import format_time
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import insert_rows, known_content_hashes

__all__ = ["AppendResult", "Duplicate", "append_records", "ingest_file"]

_HEX = methodcaller("hexdigest")
_PROJECTION = ("origin", "content_hash", "idx", "kind", "record_id")


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A record not appended because the log already holds it (same content hash).

    Attributes:
        line: its line in the ingested file (None when it came from no file).
        record_id: the record's id.
        content_hash: hex SHA-256 of its canonical JSON.
        index: the entry of the log that already holds it (None: earlier in the same batch).
    """

    line: int | None
    record_id: str
    content_hash: str
    index: int | None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one ingest batch did.

    Attributes:
        origin: the log appended to.
        appended: how many entries were appended.
        first_index: the index of the first of them (the log size before the batch).
        size: the log size after the batch (the size of the newest checkpoint).
        duplicates: records already in the log, not appended.
        blob_sha256: hex SHA-256 of the raw file stored (None if none).
        rows_read: data rows in the file (ingest_file only).
    """

    origin: str
    appended: int
    first_index: int
    size: int
    duplicates: tuple[Duplicate, ...] = ()
    blob_sha256: str | None = None
    rows_read: int = 0


def _lines_by_id(text: str) -> dict[str, int]:
    """{record id: the line its row starts on}, read as `read_records` reads the file."""
    reader = csv.reader(io.StringIO(text, newline=""))
    id_col: int | None = None
    out: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except (StopIteration, csv.Error):
            return out
        if id_col is None:
            if any(cell.strip() for cell in row):
                names = [cell.strip() for cell in row]
                if "id" not in names:
                    return out
                id_col = names.index("id")
            continue
        if id_col < len(row) and row[id_col].strip():
            out.setdefault(row[id_col].strip(), line)


def ingest_file(node: Node, kind: str, path: Path, *, now: datetime) -> AppendResult:
    """Append one entry per record of a contract CSV file, all of them or none.

    Args:
        node: the node (its org must be every record's ``org``).
        kind: "sightings", "detections", "craters" or "allegations".
        path: the CSV file; it is stored whole, by SHA-256, and the entries point to it.
        now: the ingest time written into every entry (the CLI passes the wall clock).

    Raises:
        InvalidInput: a bad row, or a record of another org (every problem listed; nothing
            appended, the checkpoint unchanged).
    """
    if kind not in SPECS:
        raise InvalidInput(f"{kind!r} is not a record file kind; use one of {', '.join(SPECS)}")
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"{path}: cannot read ({exc.strerror})") from None
    loaded = read_records(path, SPECS[kind], node.theater().org_roles(), on_error="raise")
    if hashlib.sha256(path.read_bytes()).digest() != hashlib.sha256(raw).digest():
        raise Conflict(f"{path} changed while it was read; ingest it again")
    lines = _lines_by_id(raw.decode("utf-8-sig"))
    problems: list[Problem] = []
    for rec in loaded.records:
        org = getattr(rec, "org", None)
        if org is not None and org != node.org:
            line = lines.get(str(getattr(rec, "id", "")))
            problems.append(
                Problem(
                    f"{path}:{line} org",
                    f"is {org!r}; node {node.org} writes only its own org's observations "
                    f"(ingest this at {org}'s node)",
                )
            )
    if problems:
        raise InvalidInput(
            f"{path}: {len(problems)} record(s) of another org; nothing was appended", problems
        )
    result = append_records(
        node,
        loaded.records,
        now=now,
        blob=raw,
        lines=[lines.get(str(getattr(r, "id", ""))) for r in loaded.records],
    )
    return AppendResult(
        result.origin,
        result.appended,
        result.first_index,
        result.size,
        result.duplicates,
        result.blob_sha256,
        loaded.rows_read,
    )


def append_records(
    node: Node,
    records: Sequence[Record],
    *,
    now: datetime,
    blob: bytes | None = None,
    lines: Sequence[int | None] | None = None,
    supersedes: Sequence[str | None] | None = None,
) -> AppendResult:
    """Append records to the node's own log in one transaction and sign the new checkpoint.

    Args:
        node: the node.
        records: the records, in order.
        now: the ingest time of every entry.
        blob: the raw file they came from (stored by SHA-256 if anything is appended).
        lines: each record's line in ``blob``.
        supersedes: for corrections, the hex leaf hash of the entry each record supersedes.

    Raises:
        InvalidInput: ``now`` has no time zone, or the argument lengths differ.
        IntegrityError: the stored log no longer matches its latest signed checkpoint.
        Conflict: another writer appended to this log at the same time.
    """
    try:
        time_text = format_time(now)
    except ValueError as exc:
        raise InvalidInput(f"ingest time: {exc}") from None
    n = len(records)
    lines = list(lines) if lines is not None else [None] * n
    corrections = list(supersedes) if supersedes is not None else [None] * n
    if len(lines) != n or len(corrections) != n:
        raise InvalidInput("records, lines and supersedes must have the same length")
    blob_sha = hashlib.sha256(blob).hexdigest() if blob is not None else None
    # canonical record bytes: their SHA-256 is Record.content_hash() (by a faster serialiser;
    # tests/ledger/test_entry.py checks that the two agree), and they go into the entry as is
    encoded = [canonical_bytes(r.as_json()) for r in records]
    hashes = list(map(_HEX, map(hashlib.sha256, encoded)))
    # {"line": n, "sha256": hex} in RFC 8785 form, written out: a hex digest and an integer
    # need no escaping
    source_tail = b'"sha256":"' + blob_sha.encode() + b'"}' if blob_sha else b""
    signer = node.signer()
    origin, org = node.origin, node.org
    try:
        with node.engine.begin() as conn:
            # one writer per log: on PostgreSQL this row lock serialises concurrent ingests
            conn.execute(select(s.logs.c.origin).where(s.logs.c.origin == origin).with_for_update())
            tree = node.own_tree(conn)
            known = known_content_hashes(conn, origin, hashes)
            start = tree.size
            datas: list[bytes] = []
            projection: list[tuple[str, str, int, str, str]] = []
            duplicates: list[Duplicate] = []
            seen: set[str] = set()
            for rec, record_bytes, line, h, sup in zip(
                records, encoded, lines, hashes, corrections, strict=True
            ):
                rid = str(getattr(rec, "id", ""))
                if h in known or h in seen:
                    duplicates.append(Duplicate(line, rid, h, known.get(h)))
                    continue
                seen.add(h)
                body = {"record": record_bytes}
                if blob_sha is not None:
                    body["source"] = (b'{"line":%d,' % line if line else b"{") + source_tail
                if sup is not None:
                    body["supersedes"] = canonical_bytes(sup)
                idx = start + len(datas)
                datas.append(entry_bytes(origin, idx, time_text, rec.record_type, body, org))
                projection.append((origin, h, idx, rec.record_type, rid))
            if not datas:
                return AppendResult(origin, 0, start, start, tuple(duplicates), None)
            if blob is not None and blob_sha is not None:
                _store_blob(conn, blob_sha, blob)
            leaves = leaf_hashes(datas)
            rows = list(zip(repeat(origin), range(start, start + len(datas)), leaves, datas))
            insert_rows(conn, s.entries, ("origin", "idx", "leaf_hash", "data"), rows)
            insert_rows(conn, s.records, _PROJECTION, projection)
            tree.extend(leaves)
            note = sign_checkpoint(Checkpoint(origin, tree.size, tree.root()), signer)
            conn.execute(
                insert(s.checkpoints),
                {"origin": origin, "size": tree.size, "note": note.encode("utf-8")},
            )
    except DBIntegrityError as exc:
        node.forget_tree()
        raise Conflict(
            f"log {origin}: another writer appended at the same time ({exc.orig}); "
            "nothing was appended, ingest again"
        ) from None
    except BaseException:
        node.forget_tree()  # the in-memory tree may hold leaves that were rolled back
        raise
    return AppendResult(origin, len(datas), start, tree.size, tuple(duplicates), blob_sha)


def _store_blob(conn: Connection, sha: str, data: bytes) -> None:
    exists = conn.execute(select(s.blobs.c.sha256).where(s.blobs.c.sha256 == sha)).first()
    if exists is None:
        conn.execute(insert(s.blobs), {"sha256": sha, "size": len(data), "data": data})
