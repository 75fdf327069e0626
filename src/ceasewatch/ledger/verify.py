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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from ceasewatch.errors import IntegrityError, InvalidInput, NotFound, Problem
from ceasewatch.ledger.checkpoint import CosignatureVerifier, open_checkpoint
from ceasewatch.ledger.entry import Entry, Excerpt, verify_excerpt
from ceasewatch.ledger.merkle import MerkleTree, bracket_divergence, leaf_hash
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.note import Ed25519Verifier
from ceasewatch.ledger.peers import log_verifier
from ceasewatch.store import schema as s

__all__ = ["VerifyReport", "prove", "verify_store"]


@dataclass(slots=True)
class VerifyReport:
    """What `verify_store` checked and every problem it found.

    Attributes:
        problems: each problem, ``where`` naming the log and index (or the blob).
        logs, entries, checkpoints, cosignatures, blobs: how many of each were checked.
    """

    problems: list[Problem] = field(default_factory=list)
    logs: int = 0
    entries: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    blobs: int = 0

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


def verify_store(engine: Engine) -> VerifyReport:
    """Verify every log, checkpoint, cosignature and blob in a store (read only)."""
    report = VerifyReport()
    with engine.connect() as conn:
        check = _Check(conn, report, _trusted_cosigners(conn, report))
        logs = conn.execute(select(s.logs).order_by(s.logs.c.origin)).all()
        for log in logs:
            report.logs += 1
            check.log(log.origin, log.org, log.vkey)
        _equivocations(conn, report, {log.origin: (log.org, log.vkey) for log in logs})
        stored = _verify_blobs(conn, report)
        for sha, (origin, idx) in sorted(check.blob_refs.items()):
            if sha not in stored:
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


@dataclass(slots=True)
class _Check:
    conn: Connection
    report: VerifyReport
    cosigners: dict[tuple[str, int], CosignatureVerifier]
    #: {blob sha256: the first (origin, index) pointing to it}
    blob_refs: dict[str, tuple[str, int]] = field(default_factory=dict)

    def log(self, origin: str, org: str, vkey: str) -> None:
        where = f"log {origin}"
        try:
            verifier: Ed25519Verifier | None = Ed25519Verifier.from_vkey(vkey)
        except InvalidInput as exc:
            self.report.add(where, f"its verifier key is malformed ({exc}); nothing is checkable")
            verifier = None
        if verifier is not None and verifier.name != origin:
            self.report.add(where, f"its key is named {verifier.name!r}, not after the log")
        tree = MerkleTree()
        for idx, stored_hash, data in self._entries(origin):
            self.report.entries += 1
            while tree.size < idx:  # a gap: entries missing from the store
                self.report.add(f"{where} entry {tree.size}", "is missing (the indexes have a gap)")
                tree.append(b"\x00" * 32)
            computed = leaf_hash(data)
            tree.append(computed)
            if not hmac.compare_digest(computed, stored_hash):
                self.report.add(
                    f"{where} entry {idx}",
                    "its stored hash does not match its bytes: the entry or its hash was altered",
                )
            self._entry(where, (origin, idx), org, data)
        signed = self._checkpoints(where, origin, verifier, tree)
        self._cosignatures(where, origin, signed)

    def _entries(self, origin: str) -> Iterator[tuple[int, bytes, bytes]]:
        rows = self.conn.execution_options(yield_per=1000).execute(
            select(s.entries.c.idx, s.entries.c.leaf_hash, s.entries.c.data)
            .where(s.entries.c.origin == origin)
            .order_by(s.entries.c.idx)
        )
        for idx, lh, data in rows:
            yield int(idx), bytes(lh), bytes(data)

    def _entry(self, where: str, at: tuple[str, int], org: str, data: bytes) -> None:
        origin, idx = at
        here = f"{where} entry {idx}"
        try:
            entry = Entry.parse(data)
        except InvalidInput as exc:
            self.report.add(here, f"is not a valid entry: {exc}")
            return
        if entry.origin != origin or entry.index != idx:
            self.report.add(
                here,
                f"says it is {entry.origin} #{entry.index}: moved or copied from elsewhere",
            )
        if entry.author != org:
            self.report.add(here, f"is authored by {entry.author!r}, not by {org!r}")
        sha = entry.blob_sha256
        if sha is not None:
            self.blob_refs.setdefault(sha, at)

    def _checkpoints(
        self, where: str, origin: str, verifier: Ed25519Verifier | None, tree: MerkleTree
    ) -> dict[int, str]:
        """Check each checkpoint; return {size: signed text} of those whose signature holds."""
        texts: dict[int, str] = {}
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
                self.report.add(here, f"does not verify: {exc}")
                continue
            cp = opened.checkpoint
            if cp.size != size:
                self.report.add(here, f"is stored as size {size} but signs size {cp.size}")
                continue
            texts[size] = opened.text
            if size > tree.size:
                self.report.add(
                    here, f"signs {size} entries, the store holds {tree.size}: entries are missing"
                )
                continue
            roots.append((size, cp.root_hash))
        bracket = bracket_divergence(tree, roots)
        if bracket is not None:
            good, bad = bracket
            later = sum(1 for size, root in roots if size > bad and tree.root_at(size) != root)
            more = f"; {later} later checkpoint(s) disagree too" if later else ""
            self.report.add(
                f"{where} entries {good}..{bad - 1}",
                f"the Merkle root of the stored entries differs from signed checkpoint {bad}, "
                f"while checkpoint {good} still matches: an entry in this range was altered, "
                f"replaced or reordered (with its stored hash){more}",
            )
        return texts

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
    names: set[str] = set()
    rows = conn.execution_options(yield_per=1).execute(
        select(s.blobs.c.sha256, s.blobs.c.size, s.blobs.c.data).order_by(s.blobs.c.sha256)
    )
    for name, size, data in rows:
        report.blobs += 1
        names.add(name)
        raw = bytes(data)
        if hashlib.sha256(raw).hexdigest() != name:
            report.add(f"blob {name}", "its bytes no longer hash to its name: the file was altered")
        elif len(raw) != int(size):
            report.add(f"blob {name}", f"is {len(raw)} bytes, stored as {int(size)}")
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
        leaves = conn.execute(
            select(s.entries.c.leaf_hash)
            .where(s.entries.c.origin == origin, s.entries.c.idx < cp_size)
            .order_by(s.entries.c.idx)
        ).scalars()
        tree = MerkleTree(bytes(h) for h in leaves)
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
