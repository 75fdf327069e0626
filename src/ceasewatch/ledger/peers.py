"""Other monitor orgs: their keys, where to reach them, their cosignatures of checkpoints.

`trust_peer` is what ``ceasewatch node trust VKEY --url URL`` does: it records the peer's log
key (a signed-note vkey whose name is the peer's log origin) so that this node can check, and
mirror, the peer's log. `add_cosignature` is the seam for the cosignature exchange (C2SP
tlog-cosignature): it keeps the verified cosignatures by trusted peers' cosigner keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update

from ceasewatch.errors import Conflict, IntegrityError, InvalidInput, NotFound
from ceasewatch.ledger.checkpoint import CosignatureVerifier, open_checkpoint
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.note import Ed25519Verifier, parse_note
from ceasewatch.store import schema as s

__all__ = ["Peer", "add_cosignature", "list_peers", "log_verifier", "trust_peer"]

_ORIGIN_RE = re.compile(r"ceasewatch\.([a-z0-9-]+)\..+")


@dataclass(frozen=True, slots=True)
class Peer:
    """Another monitor org this node trusts."""

    org: str
    origin: str
    vkey: str
    url: str
    cosigner_vkey: str | None = None


def trust_peer(
    node: Node,
    vkey: str,
    url: str,
    *,
    org: str | None = None,
    cosigner_vkey: str | None = None,
) -> Peer:
    """Record another monitor org's log key and where to reach it.

    Trusting the same key again updates its URL (and cosigner key); a different key for an
    org already trusted is refused, since it would make the org's earlier checkpoints
    unverifiable here.

    Args:
        node: this node.
        vkey: the peer's verifier key, as its `ceasewatch node key` prints it.
        url: where to reach the peer (http or https).
        org: the peer's org id; read from the origin (``ceasewatch.<org>.<theater>``) if None.
        cosigner_vkey: the peer's cosignature/v1 key (type 0x04), if it cosigns checkpoints.

    Raises:
        InvalidInput: a malformed key or URL, an org the theater does not list, or this org.
        Conflict: another key is already recorded for that org or origin.
    """
    verifier = Ed25519Verifier.from_vkey(vkey.strip())
    origin = verifier.name
    if org is None:
        match = _ORIGIN_RE.fullmatch(origin)
        if match is None:
            raise InvalidInput(f"cannot tell the org from the key name {origin!r}; give the org")
        org = match.group(1)
    if org == node.org or origin == node.origin:
        raise InvalidInput(f"{org} is this node's own org; trust other monitors' keys")
    if org not in node.theater().orgs:
        raise InvalidInput(
            f"org {org!r} is not in the theater; its orgs: "
            + ", ".join(sorted(node.theater().orgs))
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{url!r} is not an http(s) URL; give e.g. https://monitor-b.example")
    cosigner = None
    if cosigner_vkey is not None:
        cosigner = CosignatureVerifier.from_vkey(cosigner_vkey.strip()).vkey()
    peer = Peer(org, origin, verifier.vkey(), url, cosigner)
    with node.engine.begin() as conn:
        row = conn.execute(select(s.peers).where(s.peers.c.org == org)).first()
        if row is not None and row.vkey != peer.vkey:
            raise Conflict(f"org {org} is already trusted with another key ({row.vkey})")
        log = conn.execute(select(s.logs).where(s.logs.c.origin == origin)).first()
        if log is not None and (log.vkey != peer.vkey or log.org != org):
            raise Conflict(f"log {origin} is already known with another key or org")
        values = {"origin": origin, "vkey": peer.vkey, "url": url, "cosigner_vkey": cosigner}
        if row is None:
            conn.execute(insert(s.peers), {"org": org, **values})
        else:
            conn.execute(update(s.peers).where(s.peers.c.org == org).values(**values))
        if log is None:
            conn.execute(insert(s.logs), {"origin": origin, "org": org, "vkey": peer.vkey})
    return peer


def list_peers(node: Node) -> list[Peer]:
    """The trusted peers, by org id."""
    with node.engine.connect() as conn:
        rows = conn.execute(select(s.peers).order_by(s.peers.c.org)).all()
    return [Peer(r.org, r.origin, r.vkey, r.url, r.cosigner_vkey) for r in rows]


def log_verifier(conn: Connection, origin: str) -> Ed25519Verifier:
    """The verifier key of a log this store holds."""
    vkey = conn.execute(select(s.logs.c.vkey).where(s.logs.c.origin == origin)).scalar()
    if vkey is None:
        raise NotFound(f"this store holds no log {origin}")
    return Ed25519Verifier.from_vkey(str(vkey))


def add_cosignature(node: Node, note: str | bytes) -> list[str]:
    """Store the verified cosignatures of trusted peers found on a checkpoint note.

    The seam for the cosignature exchange: the checkpoint must be one the store holds
    (same origin, size and signed text); new cosignatures by peers' cosigner keys are kept.

    Returns:
        The cosigner names whose cosignatures were added.

    Raises:
        NotFound: the store holds no such checkpoint.
        IntegrityError: the note's text differs from the stored checkpoint, or a trusted
            signature on it fails.
    """
    cosigners = [
        CosignatureVerifier.from_vkey(p.cosigner_vkey) for p in list_peers(node) if p.cosigner_vkey
    ]
    raw = note.encode("utf-8") if isinstance(note, str) else bytes(note)
    origin = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    added: list[str] = []
    with node.engine.begin() as conn:
        verifier = log_verifier(conn, origin)
        opened = open_checkpoint(raw, verifier, cosigners)
        size = opened.checkpoint.size
        stored = conn.execute(
            select(s.checkpoints.c.note).where(
                s.checkpoints.c.origin == origin, s.checkpoints.c.size == size
            )
        ).scalar_one_or_none()
        if stored is None:
            raise NotFound(f"this store holds no checkpoint {origin} size {size}")
        if open_checkpoint(bytes(stored), verifier).text != opened.text:
            raise IntegrityError(f"checkpoint {origin} size {size}: not the text stored here")
        have = {
            (r.cosigner, int(r.key_id))
            for r in conn.execute(
                select(s.cosignatures.c.cosigner, s.cosignatures.c.key_id).where(
                    s.cosignatures.c.origin == origin, s.cosignatures.c.size == size
                )
            )
        }
        sigs = {(sig.name, sig.key_id): sig for sig in parse_note(raw)[1]}
        for cosig in opened.cosignatures:
            if (cosig.name, cosig.key_id) in have:
                continue
            conn.execute(
                insert(s.cosignatures),
                {
                    "origin": origin,
                    "size": size,
                    "cosigner": cosig.name,
                    "key_id": cosig.key_id,
                    "signature": sigs[(cosig.name, cosig.key_id)].signature,
                },
            )
            added.append(cosig.name)
    return added
