"""Mirroring trusted peers' logs and exchanging cosignatures (C2SP tlog-cosignature).

For one peer, `sync_peer`:

1. fetches the peer's latest checkpoint and opens it with the peer's trusted log key;
2. if this node already mirrors ``m`` entries of that log, checks the new checkpoint against
   them: a consistency proof ``m -> n`` (RFC 9162 section 2.1.4) from the peer, verified against
   the root this node stored, or for ``n <= m`` the root of the stored entries at ``n``;
3. fetches entries ``m..n`` in pages, checks each one is the peer's entry at its index, and
   recomputes the root: it must be the checkpoint's root;
4. fetches every raw file those entries point to and checks its SHA-256;
5. only then stores entries, records projection, blobs and checkpoint in one transaction;
6. cosigns the checkpoint with this node's cosigner key and POSTs it to the peer.

Nothing is stored before every signature, proof and hash has checked out, so an interrupted
sync leaves the store as it was, and a re-run resumes from the last stored size; re-running
against an unchanged peer stores nothing. Two different checkpoints for one size, or a
checkpoint that does not extend one stored earlier, is equivocation: the sync is refused and
both signed notes are returned in the report as evidence and kept for good in the append-only
``equivocations`` table (in a transaction of their own: nothing else of the refused sync is
stored), where `ceasewatch.ledger.verify.verify_store` reports them on every run.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import stat
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from ceasewatch.errors import (
    AccessDenied,
    CeasewatchError,
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
)
from ceasewatch.ledger.checkpoint import (
    CosignatureSigner,
    CosignatureVerifier,
    SignedCheckpoint,
    cosign,
    open_checkpoint,
)
from ceasewatch.ledger.entry import parse_entries_hashed
from ceasewatch.ledger.merkle import MerkleTree, leaf_hashes, verify_consistency
from ceasewatch.ledger.node import Node, log_size, stored_tree
from ceasewatch.ledger.note import Ed25519Verifier
from ceasewatch.ledger.peers import Peer, add_cosignature, list_peers
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import insert_rows

__all__ = [
    "PAGE_SIZE",
    "Equivocation",
    "SyncReport",
    "cosigner_key_path",
    "create_cosigner",
    "load_cosigner",
    "receive_cosignature",
    "store_equivocation",
    "sync_all",
    "sync_peer",
]

PAGE_SIZE = 4096
"""Entries asked for per request (the server may answer with fewer)."""

_UNB64 = functools.partial(binascii.a2b_base64, strict_mode=True)

_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Two signed checkpoints of one log that cannot both be honest.

    Attributes:
        origin: the log.
        what: why they conflict.
        stored_note: the checkpoint this node stored earlier, as signed.
        served_note: the checkpoint the peer serves now, as signed.
    """

    origin: str
    what: str
    stored_note: str
    served_note: str


@dataclass(slots=True)
class SyncReport:
    """What one sync with one peer did.

    Attributes:
        org: the peer org.
        origin: its log.
        url: where it was reached.
        old_size: entries mirrored before.
        size: entries mirrored after.
        entries_stored, blobs_stored: what this sync stored.
        cosigned: the peer's checkpoint was cosigned; pushed: the peer accepted it.
        refused: why nothing was stored, if the peer's data did not check out.
        equivocation: the evidence, if the refusal is an equivocation.
        notes: anything else worth telling (e.g. the cosignature push failed).
    """

    org: str
    origin: str
    url: str
    old_size: int = 0
    size: int = 0
    entries_stored: int = 0
    blobs_stored: int = 0
    cosigned: bool = False
    pushed: bool = False
    refused: str | None = None
    equivocation: Equivocation | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless the sync was refused."""
        return self.refused is None

    def summary(self) -> str:
        """One line for the CLI."""
        if self.refused is not None:
            kind = "EQUIVOCATION" if self.equivocation else "refused"
            return f"{self.org} ({self.url}): {kind}: {self.refused}"
        push = "cosigned and pushed" if self.pushed else "cosigned, push failed"
        push = push if self.cosigned else "not cosigned"
        return (
            f"{self.org}: {self.old_size} -> {self.size} entries "
            f"({self.entries_stored} new, {self.blobs_stored} blobs), {push}"
        )


class _Refused(Exception):
    def __init__(self, reason: str, equivocation: Equivocation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.equivocation = equivocation


# -- the cosigner key ---------------------------------------------------------------------


def cosigner_key_path(node: Node) -> Path:
    """Where the node's cosigner key lives: ``keys/<org>.cosigner.skey``."""
    return node.data_dir / "keys" / f"{node.org}.cosigner.skey"


def create_cosigner(node: Node) -> CosignatureSigner:
    """Create the node's cosignature/v1 key (mode 0600), named ``<origin>/cosigner``.

    Raises:
        Conflict: the key exists already (a key is never overwritten).
    """
    path = cosigner_key_path(node)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = CosignatureSigner.generate(f"{node.origin}/cosigner")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{path} already exists; a key is never overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(signer.skey() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return signer


def load_cosigner(node: Node) -> CosignatureSigner:
    """Read the node's cosigner key; refuse a file group or others may read.

    Raises:
        NotFound: no key (create it with `create_cosigner`).
        AccessDenied: the file's mode lets group or others in.
    """
    path = cosigner_key_path(node)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NotFound(f"no cosigner key at {path}; create one first") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccessDenied(f"{path} has mode {stat.S_IMODE(mode):04o}; run `chmod 600 {path}`")
    try:
        return CosignatureSigner.from_skey(path.read_text(encoding="ascii").strip())
    except (InvalidInput, UnicodeDecodeError):
        raise InvalidInput(f"{path} is not a cosigner key") from None


# -- serving side: receiving a cosignature ------------------------------------------------


def receive_cosignature(node: Node, origin: str, note: str | bytes) -> list[str]:
    """Accept a peer's cosignature of one of this node's own checkpoints.

    Args:
        node: this node.
        origin: the log the caller says the note is for (must be this node's log).
        note: the checkpoint with the peer's cosignature line.

    Returns:
        The cosigner names whose cosignatures were newly stored (empty when already held).

    Raises:
        InvalidInput: the note is malformed or not for this node's log.
        AccessDenied: no trusted peer's cosigner key signed it.
        NotFound: this node never signed a checkpoint of that size.
        IntegrityError: a signature fails or the text differs from the stored checkpoint.
    """
    raw = note.encode("utf-8") if isinstance(note, str) else bytes(note)
    if origin != node.origin:
        raise InvalidInput(f"this node takes cosignatures of its own log {node.origin} only")
    cosigners = [
        CosignatureVerifier.from_vkey(p.cosigner_vkey) for p in list_peers(node) if p.cosigner_vkey
    ]
    opened = open_checkpoint(raw, node.signer().verifier(), cosigners)
    if not opened.cosignatures:
        raise AccessDenied("the checkpoint carries no cosignature by a trusted peer's cosigner key")
    return add_cosignature(node, raw)


# -- pulling side ---------------------------------------------------------------------------


def _find_peer(node: Node, url: str) -> Peer:
    want = url.rstrip("/")
    for peer in list_peers(node):
        if peer.url.rstrip("/") == want or peer.org == url:
            return peer
    raise NotFound(f"{url} is not a trusted peer's URL; add it with `ceasewatch node trust`")


def _get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    try:
        response = client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise NotFound(f"cannot reach the peer ({exc})") from None
    if response.status_code != 200:
        raise _Refused(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    return response


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _Refused(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Refused(f"{what} is not valid base64") from None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise _Refused(f"{what}: the peer did not answer JSON") from None
    if not isinstance(value, dict):
        raise _Refused(f"{what}: the peer did not answer a JSON object")
    return value


@dataclass(slots=True)
class _Mirror:
    """What this node holds of a peer's log."""

    tree: MerkleTree
    notes: dict[int, bytes]

    def latest(self) -> tuple[int, bytes] | None:
        return max(self.notes.items()) if self.notes else None


def _mirror(conn: Connection, origin: str) -> _Mirror:
    notes = conn.execute(
        select(s.checkpoints.c.size, s.checkpoints.c.note).where(s.checkpoints.c.origin == origin)
    )
    return _Mirror(stored_tree(conn, origin), {int(n): bytes(b) for n, b in notes})


def _check_extends(
    client: httpx.Client,
    peer: Peer,
    verifier: Ed25519Verifier,
    mirror: _Mirror,
    served: SignedCheckpoint,
    *,
    served_note: str,
) -> None:
    """Refuse a checkpoint that contradicts what this node stored of the log."""
    origin, cp = peer.origin, served.checkpoint
    m = mirror.tree.size

    def equivocation(what: str, stored: bytes) -> _Refused:
        evidence = Equivocation(origin, what, stored.decode("utf-8", "replace"), served_note)
        return _Refused(f"equivocation by {peer.org}: {what}", evidence)

    same = mirror.notes.get(cp.size)
    if same is not None:
        stored_cp = open_checkpoint(same, verifier).checkpoint
        if stored_cp.root_hash != cp.root_hash:
            raise equivocation(f"two different signed checkpoints for size {cp.size}", same)
    latest = mirror.latest()
    if latest is None or m == 0:
        return
    if cp.size <= m:
        if mirror.tree.root_at(cp.size) != cp.root_hash:
            raise equivocation(
                f"checkpoint {cp.size} does not match the entries stored up to {m}", latest[1]
            )
        return
    old_root = open_checkpoint(latest[1], verifier).checkpoint.root_hash
    body = _json(
        _get(client, f"/logs/{origin}/proof/consistency", {"old": m, "new": cp.size}),
        "consistency proof",
    )
    hashes = body.get("proof")
    if not isinstance(hashes, list):
        raise _Refused("consistency proof: no 'proof' list")
    proof = [_b64(h, "consistency proof hash") for h in hashes]
    try:
        verify_consistency(m, cp.size, old_root, cp.root_hash, proof)
    except IntegrityError as exc:
        raise equivocation(
            f"checkpoint {cp.size} is not consistent with stored checkpoint {m} ({exc})",
            latest[1],
        ) from None


@dataclass(slots=True)
class _Fetched:
    """Checked entries of a peer's log, ready to store."""

    rows: list[tuple[str, int, bytes, bytes]] = field(default_factory=list)
    projection: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    blobs: set[str] = field(default_factory=set)


def _page_bytes(page: list[Any], start: int) -> list[bytes]:
    """The entries of a page, from base64 (strictly: only the alphabet, padding at the end)."""
    try:
        return list(map(_UNB64, page))
    except (TypeError, ValueError):  # binascii.Error is a ValueError: say which one
        return [_b64(item, f"entry {start + i}") for i, item in enumerate(page)]


def _fetch_entries(client: httpx.Client, peer: Peer, tree: MerkleTree, end: int) -> _Fetched:
    """Fetch and check entries tree.size..end; extend ``tree`` with them.

    Each page is checked as a whole: the entries parsed by `parse_entries` (JSON, RFC 8785
    form, fields), their origin, index and author, and their leaf hashes added to the tree.
    """
    origin = peer.origin
    out = _Fetched()
    while tree.size < end:
        start = tree.size
        stop = min(end, start + PAGE_SIZE)
        body = _json(
            _get(client, f"/logs/{origin}/entries", {"start": start, "end": stop}), "entries"
        )
        page = body.get("entries")
        if not isinstance(page, list) or not page or len(page) > stop - start:
            raise _Refused(f"entries {start}..{stop}: the peer sent no usable page")
        datas = _page_bytes(page, start)
        parsed = parse_entries_hashed(datas)
        for idx, item in enumerate(parsed, start):
            if isinstance(item, InvalidInput):
                raise _Refused(f"entry {idx} of {origin} is not a valid entry: {item}")
            entry, content_hash = item
            if entry.origin != origin or entry.index != idx or entry.author != peer.org:
                raise _Refused(
                    f"entry {idx} says it is {entry.origin} #{entry.index} by {entry.author}"
                )
            rec = entry.record
            if rec is not None and content_hash is not None:
                out.projection.append(
                    (origin, content_hash, idx, entry.kind, str(rec.get("id", "")))
                )
            sha = entry.blob_sha256
            if sha is not None:
                out.blobs.add(sha)
        leaves = leaf_hashes(datas)
        tree.extend(leaves)
        out.rows += zip(repeat(origin), range(start, start + len(datas)), leaves, datas)
    return out


def _fetch_blobs(client: httpx.Client, node: Node, wanted: set[str]) -> list[dict[str, Any]]:
    with node.engine.connect() as conn:
        have = set(
            conn.execute(select(s.blobs.c.sha256).where(s.blobs.c.sha256.in_(wanted))).scalars()
        )
    out: list[dict[str, Any]] = []
    for sha in sorted(wanted - have):
        data = _get(client, f"/blobs/{sha}").content
        if hashlib.sha256(data).hexdigest() != sha:
            raise _Refused(f"blob {sha[:16]}... from the peer does not hash to its name")
        out.append({"sha256": sha, "size": len(data), "data": data})
    return out


def _pull(
    node: Node, peer: Peer, client: httpx.Client, report: SyncReport
) -> tuple[str, Ed25519Verifier]:
    """Steps 1-5; returns the served checkpoint note (verified, and stored or already held)."""
    verifier = Ed25519Verifier.from_vkey(peer.vkey)
    served_note = _get(client, f"/logs/{peer.origin}/checkpoint").text
    try:
        served = open_checkpoint(served_note, verifier)
    except (InvalidInput, IntegrityError) as exc:
        raise _Refused(f"the peer's checkpoint does not verify: {exc}") from None
    with node.engine.connect() as conn:
        mirror = _mirror(conn, peer.origin)
        if mirror.tree.size != log_size(conn, peer.origin):
            raise IntegrityError(f"mirror of {peer.origin} has gaps; run `ceasewatch verify`")
    report.old_size = report.size = mirror.tree.size
    _check_extends(client, peer, verifier, mirror, served, served_note=served_note)
    n = served.checkpoint.size
    if n <= mirror.tree.size:
        return served_note, verifier
    fetched = _fetch_entries(client, peer, mirror.tree, n)
    if mirror.tree.root() != served.checkpoint.root_hash:
        raise _Refused(
            f"entries {report.old_size}..{n} from {peer.org} do not hash to its signed "
            "checkpoint's root; nothing stored"
        )
    blobs = _fetch_blobs(client, node, fetched.blobs) if fetched.blobs else []
    try:
        with node.engine.begin() as conn:
            if log_size(conn, peer.origin) != report.old_size:
                raise Conflict(f"another sync of {peer.origin} ran at the same time; run again")
            if blobs:
                conn.execute(insert(s.blobs), blobs)
            insert_rows(conn, s.entries, ("origin", "idx", "leaf_hash", "data"), fetched.rows)
            insert_rows(
                conn,
                s.records,
                ("origin", "content_hash", "idx", "kind", "record_id"),
                fetched.projection,
            )
            conn.execute(
                insert(s.checkpoints),
                {"origin": peer.origin, "size": n, "note": served_note.encode("utf-8")},
            )
    except DBIntegrityError as exc:
        raise Conflict(f"storing {peer.origin} failed ({exc.orig}); nothing stored") from None
    report.size, report.entries_stored, report.blobs_stored = n, len(fetched.rows), len(blobs)
    return served_note, verifier


def _note_size(note: str) -> int:
    """The tree size a signed checkpoint note states (its second line; -1 if unreadable)."""
    lines = note.split("\n")
    try:
        return int(lines[1]) if len(lines) > 1 else -1
    except ValueError:
        return -1


def store_equivocation(node: Node, evidence: Equivocation, *, found_at_s: int) -> bool:
    """Keep equivocation evidence (both signed notes) in the store, in its own transaction.

    Args:
        node: this node (its org is recorded as the finder).
        evidence: the two conflicting checkpoints, as `sync_peer` found them.
        found_at_s: when, seconds since the Unix epoch.

    Returns:
        True if stored, False if the store held this very evidence already.
    """
    stored = evidence.stored_note.encode("utf-8")
    served = evidence.served_note.encode("utf-8")
    key = hashlib.sha256(stored + b"\n\x00" + served).hexdigest()
    table = s.equivocations
    try:
        with node.engine.begin() as conn:
            held = conn.execute(
                select(table.c.evidence).where(
                    table.c.origin == evidence.origin, table.c.evidence == key
                )
            ).first()
            if held is not None:
                return False
            conn.execute(
                insert(table),
                {
                    "origin": evidence.origin,
                    "evidence": key,
                    "stored_size": _note_size(evidence.stored_note),
                    "served_size": _note_size(evidence.served_note),
                    "stored_note": stored,
                    "served_note": served,
                    "reason": evidence.what,
                    "found_by": node.org,
                    "found_at": int(found_at_s),
                },
            )
    except DBIntegrityError:
        return False  # a concurrent sync stored the same evidence
    return True


def sync_peer(
    node: Node,
    url: str,
    *,
    client: httpx.Client | None = None,
    now_s: int,
    cosigner: CosignatureSigner | None = None,
) -> SyncReport:
    """Mirror one trusted peer's log, then cosign its checkpoint and push the cosignature.

    Args:
        node: this node.
        url: the peer's URL as trusted (or its org id).
        client: the HTTP client to use (its base URL must point at the peer); a new
            ``httpx.Client`` on ``url`` if None.
        now_s: the cosignature time, seconds since the Unix epoch (passed in: no clock here).
        cosigner: this node's cosigner key; read with `load_cosigner` if None, and the
            checkpoint is not cosigned when the node has none.

    Returns:
        The report; ``report.ok`` is False when the peer's data was refused (nothing stored,
        except the evidence of an equivocation).

    Raises:
        NotFound: the URL is not a trusted peer's, or the peer cannot be reached.
        Conflict: another sync stored the same entries at the same time.
    """
    peer = _find_peer(node, url)
    report = SyncReport(peer.org, peer.origin, peer.url)
    own = client is None
    http = client if client is not None else httpx.Client(base_url=peer.url, timeout=_TIMEOUT_S)
    try:
        try:
            note, verifier = _pull(node, peer, http, report)
        except _Refused as exc:
            report.refused, report.equivocation = exc.reason, exc.equivocation
            if exc.equivocation is not None:
                if store_equivocation(node, exc.equivocation, found_at_s=now_s):
                    report.notes.append("equivocation evidence stored")
                else:
                    report.notes.append("equivocation evidence was stored already")
            return report
        if cosigner is None:
            try:
                cosigner = load_cosigner(node)
            except NotFound as exc:
                report.notes.append(f"not cosigned: {exc}")
                return report
        cosigned = cosign(note, verifier, cosigner, now_s)
        report.cosigned = True
        try:
            response = http.post(
                f"/logs/{peer.origin}/cosignature",
                content=cosigned.encode("utf-8"),
                headers={"content-type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            report.notes.append(f"cosignature not pushed ({exc}); the next sync pushes it")
            return report
        if response.status_code == 200:
            report.pushed = True
        else:
            report.notes.append(
                f"the peer refused the cosignature ({response.status_code}: {response.text[:200]})"
            )
        return report
    finally:
        if own:
            http.close()


def sync_all(node: Node, now_s: int) -> list[SyncReport]:
    """Sync every trusted peer at its recorded URL; one report per peer, in org order.

    A peer that cannot be reached, or whose data is refused, does not stop the others.
    """
    reports: list[SyncReport] = []
    for peer in list_peers(node):
        try:
            reports.append(sync_peer(node, peer.url, now_s=now_s))
        except CeasewatchError as exc:
            reports.append(SyncReport(peer.org, peer.origin, peer.url, refused=str(exc)))
    return reports
