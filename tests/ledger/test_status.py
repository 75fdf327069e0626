"""`node_status`: logs, cosigners, peers' lag and equivocation evidence, loudly."""

from __future__ import annotations

from ceasewatch.ledger.status import PeerStatus, node_status
from tests.ledger.test_sync import Side, dishonest, forged, pair_on, scenario_dir, sync

__all__ = ["pair_on", "scenario_dir"]  # fixtures used here


def test_status_before_and_after_sync_and_after_equivocation(
    pair_on: tuple[Side, Side],
) -> None:
    a, b = pair_on
    st = node_status(a.node)
    assert st.ok and (st.org, st.origin) == ("mon-a", a.node.origin)
    [own, mirror] = st.logs
    assert own.own and own.origin == a.node.origin and own.org == "mon-a"
    assert own.size == own.checkpoint_size == a.node.size() > 0
    assert own.cosigners == ()
    # trusting mon-b registered its log: held, but nothing mirrored yet
    assert not mirror.own and (mirror.org, mirror.size, mirror.checkpoint_size) == ("mon-b", 0, -1)
    [peer] = st.peers
    assert (peer.org, peer.mirrored, peer.seen, peer.cosigns) == ("mon-b", 0, -1, True)
    assert "never synced" in peer.line()
    assert "1 lagging or never synced" in st.summary
    assert "cosigned by nobody" in st.lines()[1]

    assert sync(a, b).ok and sync(b, a).ok
    st = node_status(a.node)
    own, mirror = st.logs
    assert own.cosigners == (b.cosigner.name,)  # mon-b cosigned our latest checkpoint
    assert mirror.size == mirror.checkpoint_size == b.node.size()
    [peer] = st.peers
    assert (peer.mirrored, peer.seen, peer.lag) == (b.node.size(),) * 2 + (0,)
    assert "up to date" in peer.line() and "0 lagging" in st.summary
    assert st.ok and not any("EQUIVOCATION" in line for line in st.lines())

    size = b.node.size()

    def fork(path: str, body: bytes) -> bytes:
        return forged(b, size) if path.endswith("/checkpoint") else body

    with dishonest(b, fork) as client:
        assert sync(a, b, client).equivocation is not None
    st = node_status(a.node)
    assert not st.ok
    assert st.summary.startswith("EQUIVOCATION by mon-b (1 piece(s) of evidence)")
    lines = st.lines()
    assert lines[0].startswith("!!! EQUIVOCATION by mon-b")
    assert f"two different signed checkpoints for size {size}" in lines[0]
    assert lines[1] == st.summary
    [evidence] = st.equivocations
    assert (evidence.stored_size, evidence.served_size, evidence.found_by) == (size, size, "mon-a")


def test_lag_is_what_the_latest_checkpoint_has_beyond_the_mirror() -> None:
    peer = PeerStatus("mon-b", "o", "http://b", mirrored=3, seen=10, cosigns=False)
    assert peer.lag == 7 and "LAGGING by 7 entries" in peer.line()
    assert PeerStatus("mon-b", "o", "http://b", 10, 10, False).lag == 0
