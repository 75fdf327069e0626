"""Check everything a store holds against its hashes and signatures (`ceasewatch verify`).

For every log in the store (the node's own and mirrored ones), with the log's verifier key:

1. each entry: its stored leaf hash is the RFC 9162 leaf hash of its bytes, the bytes are a
   canonical entry of this log at this index by this org, indexes have no gap, and the raw
   file it points to is stored;
2. each checkpoint: its signature by the log key, its size, and its root against the tree of
   the entries; where roots disagree, the signed checkpoints bracket the first altered entry
   (`ceasewatch.ledger.merkle.bracket_divergence`);
3. each cosignature: by a trusted peer's cosigner key, over the stored checkpoint text;

and every blob: its bytes hash to its name and have its size.

Every piece of equivocation evidence a sync stored (``equivocations``) is a problem too, and
a loud one ("EQUIVOCATION by <org>: ..."): a peer signed two checkpoints that cannot both be
honest, so `verify` fails until people have dealt with it. The evidence's own signatures are
checked with the log's key, so forged evidence is told apart from a real equivocation.

A changed byte anywhere in an entry, checkpoint, cosignature or blob is found: the leaf hash
or the entry's own fields catch an entry, the signature catches a checkpoint or cosignature,
SHA-256 catches a blob. An entry changed together with its stored leaf hash shows up as the
range of entries between the last checkpoint that still matches and the first that does not.

Entries are checked in two passes, so that a log verifies at a fair fraction of the speed
of hashing it. The first pass reads each log in pages and works on whole pages: leaf hashes
computed and compared, the Merkle tree built level by level, and the raw files the entries
may point to noted (`_SHA256`); the roots are then compared with every signed checkpoint (one
Ed25519 signature per checkpoint, not per entry). The second pass parses entries
(`ceasewatch.ledger.entry.parse_entries`: JSON, RFC 8785 form, origin, index, author) where a
problem can hide: every entry that no signed checkpoint with a matching root covers, and
every entry that failed a check of the first pass. What a signed root covers is, byte for
byte, what the log's org signed: an alteration of the store shows in the hashes or roots,
never only in an entry's fields. The fields of signed entries are the signer's work, which
`append_records` builds and `sync_peer` parses and checks before it stores anything;
``verify_store(engine, deep=True)`` parses every entry all the same.

The first pass costs, per entry, about as much as hashing the entry once in Python: the rows
of a page come straight from the driver (`ceasewatch.store.bulk.select_entries`; on SQLite
one range of a WITHOUT ROWID table, read through a memory map), and the per-entry loops run
in C over the rows as they are (`ceasewatch.ledger._bulk`: leaf hashes, the comparison with
the packed stored hashes, tree levels, the ``"sha256"`` keys; SHA-256 on the x86 SHA
extensions, two messages side by side), with a pure-Python fallback giving the same results.
A page is taken in bulk only when it holds as many rows as indexes (no gap); a mismatch of
the packed hashes is then located entry by entry.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ceasewatch._gc import paused_gc
from ceasewatch.errors import IntegrityError, InvalidInput, NotFound, Problem
from ceasewatch.ledger._bulk import key_counts, leaf_hashes_packed, packed, sha256_packed
from ceasewatch.ledger.checkpoint import CosignatureVerifier, open_checkpoint
from ceasewatch.ledger.entry import Entry, Excerpt, parse_entries, verify_excerpt
from ceasewatch.ledger.merkle import HASH_SIZE, MerkleTree, bracket_divergence
from ceasewatch.ledger.node import Node, stored_tree
from ceasewatch.ledger.note import Ed25519Verifier
from ceasewatch.ledger.peers import log_verifier
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import select_entries

__all__ = ["VerifyReport", "prove", "verify_store"]

_PAGE = 10_000
"""Entries read per query."""

_ALTERED = "its stored hash does not match its bytes: the entry or its hash was altered"


@dataclass(slots=True)
class VerifyReport:
    """What `verify_store` checked and every problem it found.

    Attributes:
        problems: each problem, ``where`` naming the log and index (or the blob).
        logs, entries, checkpoints, cosignatures, blobs: how many of each were checked.
        parsed: how many entries were parsed as JSON (all of them with ``deep=True``).
    """

    problems: list[Problem] = field(default_factory=list)
    logs: int = 0
    entries: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    blobs: int = 0
    parsed: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def summary(self) -> str:
        """One line: what was checked and how many problems."""
        counts = (
            f"{self.logs} log(s), {self.entries} entries, {self.checkpoints} checkpoints, "
            f"{self.cosignatures} cosignatures, {self.blobs} blobs"
        )
        if self.ok:
            return f"ok: {counts} verified"
        return f"{len(self.problems)} problem(s) in {counts}"

    def add(self, where: str, what: str) -> None:
        self.problems.append(Problem(where, what))


def verify_store(engine: Engine, *, deep: bool = False) -> VerifyReport:
    """Verify every log, checkpoint, cosignature and blob in a store (read only).

    Args:
        engine: the store.
        deep: parse every entry, also those that a matching signed checkpoint covers (see the
            module docstring); the same problems are found in a store altered after signing.
    """
    report = VerifyReport()
    with paused_gc(), engine.connect() as conn:
        check = _Check(conn, report, _trusted_cosigners(conn, report), deep)
        logs = conn.execute(select(s.logs).order_by(s.logs.c.origin)).all()
        for log in logs:
            report.logs += 1
            check.log(log.origin, log.org, log.vkey)
        _equivocations(conn, report, {log.origin: (log.org, log.vkey) for log in logs})
        stored = _verify_blobs(conn, report)
        for sha, (origin, idx) in sorted(check.missing_blobs(stored).items()):
            report.add(
                f"log {origin} entry {idx}",
                f"points to raw file {sha[:16]}..., which is not in the store",
            )
    return report


def _trusted_cosigners(
    conn: Connection, report: VerifyReport
) -> dict[tuple[str, int], CosignatureVerifier]:
    out: dict[tuple[str, int], CosignatureVerifier] = {}
    for org, vkey in conn.execute(select(s.peers.c.org, s.peers.c.cosigner_vkey)):
        if vkey is None:
            continue
        try:
            v = CosignatureVerifier.from_vkey(vkey)
        except InvalidInput as exc:
            report.add(f"peer {org}", f"cosigner key is malformed: {exc}")
            continue
        out[(v.name, v.key_id)] = v
    return out


_KEY = b'"sha256":'
_SHA256 = re.compile(rb'"sha256":"([0-9a-f]{64})"')
"""A hex SHA-256 as the value of a ``"sha256"`` key (where an entry names its raw file)."""


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indexes as runs ``[start, end)`` of consecutive ones."""
    out: list[tuple[int, int]] = []
    for i in indexes:
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


@dataclass(slots=True)
class _Seen:
    """What the passes over one log found."""

    origin: str
    org: str
    tree: MerkleTree
    #: {index: its problems}, in the order found
    problems: dict[int, list[str]] = field(default_factory=dict)
    #: indexes whose bytes the second pass must parse
    parse: set[int] = field(default_factory=set)
    #: {blob sha256: the first index pointing to it}, from parsed entries
    blobs: dict[str, int] = field(default_factory=dict)
    #: {hex SHA-256 written as a "sha256" value: first index of each page holding it}
    candidates: dict[str, list[int]] = field(default_factory=dict)

    def add(self, idx: int, what: str) -> None:
        self.problems.setdefault(idx, []).append(what)

    def points_to(self, sha: str, idx: int) -> None:
        if idx < self.blobs.get(sha, idx + 1):
            self.blobs[sha] = idx


@dataclass(slots=True)
class _Signed:
    """What the checkpoints of one log say."""

    #: {size: signed text} of each checkpoint whose signature holds
    texts: dict[int, str] = field(default_factory=dict)
    #: the largest size whose signed root the entries match (entries below it are signed)
    proven: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class _Check:
    conn: Connection
    report: VerifyReport
    cosigners: dict[tuple[str, int], CosignatureVerifier]
    deep: bool = False
    logs: list[_Seen] = field(default_factory=list)

    def log(self, origin: str, org: str, vkey: str) -> None:
        where = f"log {origin}"
        try:
            verifier: Ed25519Verifier | None = Ed25519Verifier.from_vkey(vkey)
        except InvalidInput as exc:
            self.report.add(where, f"its verifier key is malformed ({exc}); nothing is checkable")
            verifier = None
        if verifier is not None and verifier.name != origin:
            self.report.add(where, f"its key is named {verifier.name!r}, not after the log")
        seen = self._first_pass(origin, org)
        signed = self._checkpoints(where, origin, verifier, seen.tree)
        first = 0 if self.deep else signed.proven
        self._parse(seen, sorted(seen.parse | set(range(first, seen.tree.size))))
        for idx in sorted(seen.problems):
            for what in seen.problems[idx]:
                self.report.add(f"{where} entry {idx}", what)
        self.report.problems += signed.problems
        self._cosignatures(where, origin, signed.texts)
        self.logs.append(seen)

    def missing_blobs(self, stored: set[str]) -> dict[str, tuple[str, int]]:
        """{sha256: the first (origin, index) of an entry pointing to it} for unstored blobs.

        Parsed entries say which raw file they point to; for the others, each unstored hash
        found as a ``"sha256"`` value is looked up in the entries that hold it, which are
        parsed to tell a raw file reference from the same text nested in a record.
        """
        out: dict[str, tuple[str, int]] = {}
        for seen in self.logs:  # in origin order
            for sha in sorted(set(seen.candidates) - stored):
                for start in seen.candidates[sha]:
                    if self._first_reference(seen, sha, start):
                        break
            for sha, idx in seen.blobs.items():
                if sha not in stored:
                    out.setdefault(sha, (seen.origin, idx))
        return out

    def _first_reference(self, seen: _Seen, sha: str, start: int) -> bool:
        rows = select_entries(self.conn, seen.origin, ("idx", "data"), start, start + _PAGE)
        needle = b'"sha256":"' + sha.encode("ascii") + b'"'
        holders = [(int(i), bytes(d)) for i, d in rows if needle in d]
        for (idx, _), entry in zip(holders, parse_entries([d for _, d in holders]), strict=True):
            if isinstance(entry, Entry) and entry.blob_sha256 == sha:
                seen.points_to(sha, idx)
                return True
        return False

    def _first_pass(self, origin: str, org: str) -> _Seen:
        """First pass: hash every entry and build the tree, page by page, parsing nothing.

        A page of ``n`` indexes that holds ``n`` rows holds each index once (the primary key
        keeps them unique), in order: its rows are read without their indexes and hashed,
        compared and added to the tree in bulk. Any other page (a gap, a negative index) is
        read again with the indexes and taken entry by entry.
        """
        e = s.entries.c
        # two seeks of the primary key (a count would read every row)
        low, high = self.conn.execute(
            select(
                select(func.min(e.idx)).where(e.origin == origin).scalar_subquery(),
                select(func.max(e.idx)).where(e.origin == origin).scalar_subquery(),
            )
        ).one()
        size = 0 if high is None else int(high) + 1
        seen = _Seen(origin, org, MerkleTree())
        for start in range(min(0, int(low or 0)), size, _PAGE):
            end = min(start + _PAGE, size)
            idxs: Sequence[int]
            rows = (
                select_entries(self.conn, origin, ("leaf_hash", "data"), start, end)
                if start >= 0
                else []
            )
            if rows and len(rows) == end - start:
                idxs, first = range(start, end), 0  # columns: leaf_hash, data
                computed = leaf_hashes_packed(rows, first + 1)
                seen.tree.extend_packed(computed)
            else:
                rows = select_entries(self.conn, origin, ("idx", "leaf_hash", "data"), start, end)
                idxs, first = [int(row[0]) for row in rows], 1
                computed = leaf_hashes_packed(rows, first + 1)
                self._with_gaps(seen, idxs, computed, end)
            if not rows:
                continue
            self.report.entries += len(rows)
            # in bulk: one comparison of the packed hashes (None: one is not 32 bytes long)
            if computed != packed(rows, HASH_SIZE, first):
                for i, (idx, row) in enumerate(zip(idxs, rows, strict=True)):
                    ours = computed[i * HASH_SIZE : (i + 1) * HASH_SIZE]
                    if not hmac.compare_digest(ours, bytes(row[first])):
                        seen.add(idx, _ALTERED)
                        seen.parse.add(idx)
            self._hashes_named(seen, idxs, rows, first + 1)
        return seen

    def _with_gaps(self, seen: _Seen, idxs: Sequence[int], computed: bytes, end: int) -> None:
        """Add a page's entries one by one: every index missing below ``end`` is a problem."""
        tree = seen.tree
        hashes = [computed[i : i + HASH_SIZE] for i in range(0, len(computed), HASH_SIZE)]
        for idx, h in zip([*idxs, end], [*hashes, b""], strict=True):
            if idx < 0:
                seen.add(idx, "has a negative index")
                continue
            while tree.size < idx:  # a gap: entries missing from the store
                seen.add(tree.size, "is missing (the indexes have a gap)")
                tree.append(b"\x00" * HASH_SIZE)
            if h:
                tree.append(h)

    def _hashes_named(
        self, seen: _Seen, idxs: Sequence[int], rows: Sequence[tuple[Any, ...]], column: int
    ) -> None:
        """Note every hex SHA-256 written as a ``"sha256"`` value in a page of entries.

        An entry's raw file is ``body.source.sha256``, so each reference is one of these (a
        key holds no quote, so ``"sha256":`` is always a key); `missing_blobs` later tells
        references from look-alikes for the hashes whose blob is not stored. An entry with
        a ``"sha256"`` value of another form is parsed.
        """
        found = _SHA256.findall(rows[0][column]) if rows else []
        # one pass: the "sha256" keys, and those naming the first entry's raw file
        value = b'"' + found[0] + b'"' if len(found) == 1 else b""
        keys, named = key_counts(rows, _KEY, value, column)
        if not keys:
            return
        if value and keys == named == len(rows):  # the usual page: one raw file, named once
            self._candidate(seen, found[0], idxs[0])
            return
        datas = [bytes(row[column]) for row in rows]
        joined = b"\n".join(datas)
        found = _SHA256.findall(joined)
        if keys != len(found):
            for idx, data in zip(idxs, datas, strict=True):
                if data.count(b'"sha256":') != len(_SHA256.findall(data)):
                    seen.parse.add(idx)
        for raw in dict.fromkeys(found):
            self._candidate(seen, raw, idxs[0])

    @staticmethod
    def _candidate(seen: _Seen, raw: bytes, page: int) -> None:
        pages = seen.candidates.setdefault(raw.decode("ascii"), [])
        if not pages or pages[-1] != page:
            pages.append(page)

    def _parse(self, seen: _Seen, wanted: Sequence[int]) -> None:
        """Second pass: parse the wanted entries and check their fields."""
        for start, end in _runs([i for i in wanted if i >= 0]):
            for first in range(start, end, _PAGE):
                rows = select_entries(
                    self.conn, seen.origin, ("idx", "data"), first, min(end, first + _PAGE)
                )
                self.report.parsed += len(rows)
                parsed = parse_entries([bytes(r[1]) for r in rows])
                for (idx, _), entry in zip(rows, parsed, strict=True):
                    self._entry(seen, int(idx), entry)

    def _entry(self, seen: _Seen, idx: int, entry: Entry | InvalidInput) -> None:
        if isinstance(entry, InvalidInput):
            seen.add(idx, f"is not a valid entry: {entry}")
            return
        if entry.origin != seen.origin or entry.index != idx:
            seen.add(
                idx, f"says it is {entry.origin} #{entry.index}: moved or copied from elsewhere"
            )
        if entry.author != seen.org:
            seen.add(idx, f"is authored by {entry.author!r}, not by {seen.org!r}")
        sha = entry.blob_sha256
        if sha is not None:
            seen.points_to(sha, idx)

    def _checkpoints(
        self, where: str, origin: str, verifier: Ed25519Verifier | None, tree: MerkleTree
    ) -> _Signed:
        """Check each checkpoint: its signature, its size, its root against the entries."""
        signed = _Signed()
        roots: list[tuple[int, bytes]] = []
        rows = self.conn.execute(
            select(s.checkpoints.c.size, s.checkpoints.c.note)
            .where(s.checkpoints.c.origin == origin)
            .order_by(s.checkpoints.c.size)
        )
        for stored_size, note in rows:
            self.report.checkpoints += 1
            size = int(stored_size)
            here = f"{where} checkpoint {size}"
            if verifier is None:
                continue
            try:
                opened = open_checkpoint(bytes(note), verifier)
            except (InvalidInput, IntegrityError) as exc:
                signed.problems.append(Problem(here, f"does not verify: {exc}"))
                continue
            cp = opened.checkpoint
            if cp.size != size:
                signed.problems.append(
                    Problem(here, f"is stored as size {size} but signs size {cp.size}")
                )
                continue
            signed.texts[size] = opened.text
            if size > tree.size:
                signed.problems.append(
                    Problem(
                        here,
                        f"signs {size} entries, the store holds {tree.size}: entries are missing",
                    )
                )
                continue
            roots.append((size, cp.root_hash))
        matching = [size for size, root in roots if hmac.compare_digest(tree.root_at(size), root)]
        signed.proven = max(matching, default=0)
        bracket = bracket_divergence(tree, roots)
        if bracket is not None:
            good, bad = bracket
            later = sum(1 for size, root in roots if size > bad and tree.root_at(size) != root)
            more = f"; {later} later checkpoint(s) disagree too" if later else ""
            signed.problems.append(
                Problem(
                    f"{where} entries {good}..{bad - 1}",
                    f"the Merkle root of the stored entries differs from signed checkpoint "
                    f"{bad}, while checkpoint {good} still matches: an entry in this range was "
                    f"altered, replaced or reordered (with its stored hash){more}",
                )
            )
        return signed

    def _cosignatures(self, where: str, origin: str, signed: dict[int, str]) -> None:
        rows = self.conn.execute(
            select(
                s.cosignatures.c.size,
                s.cosignatures.c.cosigner,
                s.cosignatures.c.key_id,
                s.cosignatures.c.signature,
            )
            .where(s.cosignatures.c.origin == origin)
            .order_by(s.cosignatures.c.size, s.cosignatures.c.cosigner)
        )
        for size, name, key_id, signature in rows:
            self.report.cosignatures += 1
            here = f"{where} checkpoint {int(size)} cosignature by {name}"
            verifier = self.cosigners.get((name, int(key_id)))
            if verifier is None:
                self.report.add(
                    here, f"key {name}+{int(key_id):08x} is not a trusted peer's cosigner key"
                )
                continue
            text = signed.get(int(size))
            if text is None:
                self.report.add(here, "cannot be checked: its checkpoint did not verify")
                continue
            if not verifier.verify(text.encode("utf-8"), bytes(signature)):
                self.report.add(here, "does not verify: the cosignature or checkpoint was altered")


def _equivocations(
    conn: Connection, report: VerifyReport, logs: dict[str, tuple[str, str]]
) -> None:
    """Report every stored equivocation, loudly; check that both notes are the log's."""
    e = s.equivocations
    rows = conn.execute(
        select(
            e.c.origin,
            e.c.stored_size,
            e.c.served_size,
            e.c.stored_note,
            e.c.served_note,
            e.c.reason,
            e.c.found_by,
            e.c.found_at,
        ).order_by(e.c.origin, e.c.found_at, e.c.evidence)
    )
    for row in rows:
        org, vkey = logs.get(row.origin, (row.origin, ""))
        where = f"log {row.origin}"
        signed = "both notes are signed by the log's key"
        try:
            verifier = Ed25519Verifier.from_vkey(vkey)
            for note in (row.stored_note, row.served_note):
                open_checkpoint(bytes(note), verifier)
        except (InvalidInput, IntegrityError) as exc:
            signed = f"the evidence does NOT verify against the log's key ({exc})"
        report.add(
            where,
            f"EQUIVOCATION by {org}: {row.reason} (stored checkpoint {int(row.stored_size)}, "
            f"served checkpoint {int(row.served_size)}; found by {row.found_by} at "
            f"{int(row.found_at)}; {signed})",
        )


def _verify_blobs(conn: Connection, report: VerifyReport) -> set[str]:
    """Re-hash every blob, two at a time (`sha256_packed` runs two messages side by side)."""
    names: set[str] = set()
    rows = conn.execution_options(yield_per=2).execute(
        select(s.blobs.c.sha256, s.blobs.c.size, s.blobs.c.data).order_by(s.blobs.c.sha256)
    )
    for pair in rows.partitions(2):
        digests = sha256_packed([bytes(data) for _, _, data in pair], None)
        for i, (name, size, data) in enumerate(pair):
            report.blobs += 1
            names.add(name)
            if digests[32 * i : 32 * i + 32].hex() != name:
                report.add(
                    f"blob {name}", "its bytes no longer hash to its name: the file was altered"
                )
            elif len(data) != int(size):
                report.add(f"blob {name}", f"is {len(data)} bytes, stored as {int(size)}")
    return names


def prove(node: Node, index: int, *, origin: str | None = None, size: int | None = None) -> Excerpt:
    """A self-contained excerpt proving entry ``index`` (`verify_excerpt` checks it).

    Args:
        node: the node.
        index: the entry.
        origin: the log (the node's own if None; any mirrored log works too).
        size: the checkpoint to prove against; the latest if None.

    Raises:
        NotFound: no such entry, or no signed checkpoint includes it yet.
        IntegrityError: the stored log does not prove its own entry (run `verify`).
    """
    origin = origin or node.origin
    with node.engine.connect() as conn:
        verifier = log_verifier(conn, origin)
        query = select(s.checkpoints.c.size, s.checkpoints.c.note).where(
            s.checkpoints.c.origin == origin
        )
        query = query.where(s.checkpoints.c.size == size) if size is not None else query
        row = conn.execute(query.order_by(s.checkpoints.c.size.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"log {origin} has no checkpoint of size {size}")
        cp_size, note = int(row.size), bytes(row.note).decode("utf-8", errors="replace")
        if not 0 <= index < cp_size:
            raise NotFound(
                f"log {origin}: entry {index} is not in the checkpoint of size {cp_size}"
            )
        data = conn.execute(
            select(s.entries.c.data).where(s.entries.c.origin == origin, s.entries.c.idx == index)
        ).scalar_one()
        tree = stored_tree(conn, origin, cp_size)
    if tree.size != cp_size:
        raise IntegrityError(f"log {origin}: entries missing below {cp_size}; run verify")
    excerpt = Excerpt(origin, index, bytes(data), tuple(tree.inclusion_proof(index, cp_size)), note)
    try:
        verify_excerpt(excerpt, verifier.vkey())
    except (IntegrityError, InvalidInput) as exc:
        raise IntegrityError(
            f"log {origin} entry {index} does not prove against its checkpoint: {exc}; "
            "run `ceasewatch verify`"
        ) from None
    return excerpt
