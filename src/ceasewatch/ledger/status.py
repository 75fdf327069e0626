"""What a node holds, at a glance (`ceasewatch status`): logs, checkpoints, peers, evidence.

`node_status` reads the store only (no network, no clock): for each log the node holds, its
own and the mirrored ones, the entries stored, the latest signed checkpoint and who cosigned
it; for each trusted peer, how far this node mirrors its log against the latest checkpoint it
took from the peer (the lag, 0 when the mirror is complete) or that it never synced; and every
piece of equivocation evidence, loudly: an equivocating peer is the one thing an operator must
not miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from ceasewatch.ledger.node import Node, log_size
from ceasewatch.ledger.peers import list_peers
from ceasewatch.store import schema as s

__all__ = ["EquivocationStatus", "LogStatus", "PeerStatus", "Status", "node_status"]


@dataclass(frozen=True, slots=True)
class LogStatus:
    """One log the node holds.

    Attributes:
        origin: the log.
        org: the org that writes it.
        own: True for the node's own log.
        size: entries stored.
        checkpoint_size: the size of the latest signed checkpoint stored (-1: none).
        cosigners: who cosigned that checkpoint (cosigner key names, sorted).
    """

    origin: str
    org: str
    own: bool
    size: int
    checkpoint_size: int
    cosigners: tuple[str, ...] = ()

    def line(self) -> str:
        whose = "own" if self.own else "mirror"
        cp = "no checkpoint" if self.checkpoint_size < 0 else f"checkpoint {self.checkpoint_size}"
        cos = ", ".join(self.cosigners) if self.cosigners else "nobody"
        return (
            f"{whose} log {self.origin} ({self.org}): {self.size} entries, {cp}, cosigned by {cos}"
        )


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """One trusted peer and how far this node mirrors its log.

    Attributes:
        org: the peer org.
        origin: its log.
        url: where it is reached.
        mirrored: entries of its log stored here.
        seen: the size of the latest checkpoint of its log stored here (-1: never synced).
        cosigns: the peer has a cosigner key this node trusts.
    """

    org: str
    origin: str
    url: str
    mirrored: int
    seen: int
    cosigns: bool

    @property
    def lag(self) -> int:
        """Entries of the latest checkpoint seen that are not mirrored yet."""
        return max(self.seen - self.mirrored, 0)

    def line(self) -> str:
        if self.seen < 0:
            return f"peer {self.org} ({self.url}): never synced"
        state = "up to date" if self.lag == 0 else f"LAGGING by {self.lag} entries"
        return (
            f"peer {self.org} ({self.url}): mirrored {self.mirrored} of checkpoint "
            f"{self.seen}, {state}"
        )


@dataclass(frozen=True, slots=True)
class EquivocationStatus:
    """Stored evidence that an org signed two checkpoints that cannot both be honest."""

    origin: str
    org: str
    stored_size: int
    served_size: int
    reason: str
    found_by: str
    found_at: int

    def line(self) -> str:
        return (
            f"!!! EQUIVOCATION by {self.org} (log {self.origin}): {self.reason} "
            f"[stored checkpoint {self.stored_size}, served {self.served_size}; "
            f"found by {self.found_by} at {self.found_at}]"
        )


@dataclass(slots=True)
class Status:
    """A node's status: `lines` for people, the fields for code."""

    org: str
    origin: str
    logs: list[LogStatus] = field(default_factory=list)
    peers: list[PeerStatus] = field(default_factory=list)
    equivocations: list[EquivocationStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when any equivocation evidence is stored."""
        return not self.equivocations

    @property
    def summary(self) -> str:
        """One line: the node, its logs, its peers' lag and any equivocation."""
        own = next((log for log in self.logs if log.own), None)
        size = own.size if own is not None else 0
        lagging = sum(1 for p in self.peers if p.seen < 0 or p.lag > 0)
        head = (
            f"{self.org}: {size} entries in its own log, {len(self.logs)} log(s) held, "
            f"{len(self.peers)} peer(s), {lagging} lagging or never synced"
        )
        if self.equivocations:
            orgs = ", ".join(sorted({e.org for e in self.equivocations}))
            return (
                f"EQUIVOCATION by {orgs} ({len(self.equivocations)} piece(s) of evidence); {head}"
            )
        return head

    def lines(self) -> list[str]:
        """The status as text, the equivocations first."""
        out = [e.line() for e in self.equivocations]
        out.append(self.summary)
        out.extend(log.line() for log in self.logs)
        out.extend(peer.line() for peer in self.peers)
        return out


def _latest_checkpoints(conn: Connection) -> dict[str, int]:
    c = s.checkpoints.c
    rows = conn.execute(select(c.origin, func.max(c.size)).group_by(c.origin))
    return {str(origin): int(size) for origin, size in rows}


def _cosigners(conn: Connection, origin: str, size: int) -> tuple[str, ...]:
    c = s.cosignatures.c
    names = conn.execute(
        select(c.cosigner).where(c.origin == origin, c.size == size).distinct()
    ).scalars()
    return tuple(sorted(str(n) for n in names))


def node_status(node: Node) -> Status:
    """The node's logs, peers and equivocation evidence, read from its store."""
    status = Status(node.org, node.origin)
    peers = list_peers(node)
    with node.engine.connect() as conn:
        latest = _latest_checkpoints(conn)
        held = conn.execute(select(s.logs.c.origin, s.logs.c.org)).all()
        # own log first, then the mirrors by origin
        for origin, org in sorted(held, key=lambda r: (r.origin != node.origin, r.origin)):
            cp = latest.get(origin, -1)
            status.logs.append(
                LogStatus(
                    origin,
                    org,
                    origin == node.origin,
                    log_size(conn, origin),
                    cp,
                    _cosigners(conn, origin, cp) if cp >= 0 else (),
                )
            )
        for peer in peers:
            status.peers.append(
                PeerStatus(
                    peer.org,
                    peer.origin,
                    peer.url,
                    log_size(conn, peer.origin),
                    latest.get(peer.origin, -1),
                    peer.cosigner_vkey is not None,
                )
            )
        orgs = {str(origin): str(org) for origin, org in held}
        orgs.update((p.origin, p.org) for p in peers)
        e = s.equivocations.c
        rows = conn.execute(
            select(
                e.origin, e.stored_size, e.served_size, e.reason, e.found_by, e.found_at
            ).order_by(e.origin, e.found_at, e.evidence)
        )
        for origin, stored, served, reason, found_by, found_at in rows:
            status.equivocations.append(
                EquivocationStatus(
                    origin,
                    orgs.get(origin, origin),
                    int(stored),
                    int(served),
                    reason,
                    found_by,
                    int(found_at),
                )
            )
    return status
