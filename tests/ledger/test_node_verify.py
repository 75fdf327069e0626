"""`verify`: a clean store is ok; any flipped byte of any ledger row is found and named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select, text, update

from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.checkpoint import CosignatureSigner, cosign
from ceasewatch.ledger.merkle import leaf_hash
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasewatch.ledger.peers import add_cosignature, trust_peer
from ceasewatch.ledger.verify import verify_store
from ceasewatch.store import schema as s
from tests.ledger.common import seed
from tests.ledger.conftest import NOW, sighting, write_sightings

ORIGIN_B = "ceasewatch.mon-b.demo-theater-illustrative"


def _populate(node: Node, tmp_path: Path) -> None:
    """Two ingest batches, a trusted peer and its cosignature of the latest checkpoint."""
    first = write_sightings(tmp_path / "a.csv", [sighting(i) for i in range(3)])
    ingest_file(node, "sightings", first, now=NOW)
    second = write_sightings(tmp_path / "b.csv", [sighting(i) for i in range(3, 8)])
    ingest_file(node, "sightings", second, now=NOW)
    witness = CosignatureSigner("witness.mon-b", seed("witness"))
    vkey_b = Ed25519Signer(ORIGIN_B, seed("mon-b")).verifier().vkey()
    trust_peer(node, vkey_b, "https://mon-b.example", cosigner_vkey=witness.verifier().vkey())
    with node.engine.connect() as conn:
        note = conn.execute(
            select(s.checkpoints.c.note).where(s.checkpoints.c.size == 8)
        ).scalar_one()
    log = Ed25519Verifier.from_vkey(node.vkey())
    assert add_cosignature(node, cosign(bytes(note), log, witness, 1_790_000_000)) == [
        "witness.mon-b"
    ]


def _drop_guards(conn: Connection) -> None:
    """What an attacker with database access does first: remove the append-only triggers."""
    pg = conn.dialect.name == "postgresql"
    for table in s.APPEND_ONLY_TABLES:
        for op in ("update", "delete"):
            conn.execute(text(f"DROP TRIGGER {table}_no_{op}" + (f" ON {table}" if pg else "")))


@pytest.fixture
def populated(node: Node, tmp_path: Path) -> Iterator[Node]:
    _populate(node, tmp_path)
    yield node


def test_a_clean_store_verifies(populated: Node) -> None:
    report = verify_store(populated.engine)
    assert report.ok, report.problems
    assert (report.logs, report.entries, report.checkpoints) == (2, 8, 3)
    assert (report.cosignatures, report.blobs) == (1, 2)
    assert report.summary().startswith("ok: ")


def test_the_ledger_tables_refuse_update_and_delete(populated: Node) -> None:
    for statement in (
        "UPDATE entries SET data = data",
        "DELETE FROM checkpoints",
        "UPDATE blobs SET size = 0",
        "DELETE FROM cosignatures",
        "UPDATE logs SET org = 'x'",
    ):
        with pytest.raises(Exception, match="append-only"), populated.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify_store(populated.engine).ok


TARGETS = {
    # table: (key columns, the column whose bytes are flipped)
    "entries.data": (s.entries, ("origin", "idx"), "data"),
    "entries.leaf_hash": (s.entries, ("origin", "idx"), "leaf_hash"),
    "checkpoints.note": (s.checkpoints, ("origin", "size"), "note"),
    "cosignatures.signature": (s.cosignatures, ("origin", "size", "cosigner"), "signature"),
    "blobs.data": (s.blobs, ("sha256",), "data"),
}


def _flip(conn: Connection, target: str, row: int, pos: int, mask: int) -> str:
    """XOR one byte of one stored value; return the `where` verify must name."""
    table, keys, column = TARGETS[target]
    rows = conn.execute(
        select(*(table.c[k] for k in keys), table.c[column]).order_by(*(table.c[k] for k in keys))
    ).all()
    chosen = rows[row % len(rows)]
    value = bytearray(chosen[-1])
    value[pos % len(value)] ^= mask
    key = dict(zip(keys, chosen[:-1], strict=True))
    conn.execute(
        update(table)
        .where(*(table.c[k] == v for k, v in key.items()))
        .values({column: bytes(value)})
    )
    if table is s.entries:
        return f"log {key['origin']} entry {key['idx']}"
    if table is s.checkpoints:
        return f"log {key['origin']} checkpoint {key['size']}"
    if table is s.cosignatures:
        return f"log {key['origin']} checkpoint {key['size']} cosignature by {key['cosigner']}"
    return f"blob {key['sha256']}"


def test_any_flipped_byte_is_found_and_named(node: Node, tmp_path: Path) -> None:
    _populate(node, tmp_path)
    with node.engine.begin() as conn:
        _drop_guards(conn)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(
        target=st.sampled_from(sorted(TARGETS)),
        row=st.integers(0, 100),
        pos=st.integers(0, 10_000),
        mask=st.integers(1, 255),
    )
    def flip_and_verify(target: str, row: int, pos: int, mask: int) -> None:
        with node.engine.begin() as conn:
            where = _flip(conn, target, row, pos, mask)
        try:
            report = verify_store(node.engine)
            assert not report.ok
            assert where in [p.where for p in report.problems], (where, report.problems)
        finally:
            with node.engine.begin() as conn:  # flip it back: XOR is its own inverse
                _flip(conn, target, row, pos, mask)

    flip_and_verify()
    assert verify_store(node.engine).ok


def test_an_entry_rewritten_with_its_hash_is_bracketed_by_checkpoints(
    populated: Node,
) -> None:
    """The attacker also recomputes the stored leaf hash: only the signed roots catch it."""
    with populated.engine.begin() as conn:
        _drop_guards(conn)
        data = bytes(
            conn.execute(select(s.entries.c.data).where(s.entries.c.idx == 4)).scalar_one()
        )
        forged = data.replace(b'"op-1"', b'"op-9"')
        assert forged != data
        conn.execute(
            update(s.entries)
            .where(s.entries.c.idx == 4)
            .values(data=forged, leaf_hash=leaf_hash(forged))
        )
    report = verify_store(populated.engine)
    origin = populated.origin
    assert [p.where for p in report.problems] == [f"log {origin} entries 3..7"]
    assert "checkpoint 8" in report.problems[0].what


def test_a_missing_blob_and_an_entry_moved_to_another_index_are_named(
    populated: Node,
) -> None:
    with populated.engine.begin() as conn:
        _drop_guards(conn)
        sha = conn.execute(select(s.blobs.c.sha256).order_by(s.blobs.c.sha256)).scalars().first()
        assert sha is not None
        conn.execute(s.blobs.delete().where(s.blobs.c.sha256 == sha))
        one = bytes(conn.execute(select(s.entries.c.data).where(s.entries.c.idx == 1)).scalar_one())
        conn.execute(
            update(s.entries).where(s.entries.c.idx == 2).values(data=one, leaf_hash=leaf_hash(one))
        )
    problems = verify_store(populated.engine).problems
    origin = populated.origin
    wheres = {p.where for p in problems}
    assert f"log {origin} entry 2" in wheres  # says it is #1
    assert f"log {origin} entries 0..2" in wheres  # the roots from checkpoint 3 on differ
    missing = [p for p in problems if "not in the store" in p.what]
    assert len(missing) == 1 and sha[:16] in missing[0].what
    assert missing[0].where.startswith(f"log {origin} entry ")
