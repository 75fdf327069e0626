"""`verify`: a clean store is ok; any flipped byte of any ledger row is found and named.

Every test runs with the C hot loops and with their pure-Python fallback (`implementation`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select, text, update

from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.checkpoint import Checkpoint, CosignatureSigner, cosign, sign_checkpoint
from ceasewatch.ledger.entry import Entry, canonical_bytes, entry_bytes
from ceasewatch.ledger.merkle import leaf_hash
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasewatch.ledger.peers import add_cosignature, trust_peer
from ceasewatch.ledger.verify import verify_store
from ceasewatch.store import schema as s
from tests.ledger.common import seed
from tests.ledger.conftest import NOW, sighting, write_sightings

ORIGIN_B = "ceasewatch.mon-b.demo-theater-illustrative"

pytestmark = pytest.mark.usefixtures("implementation")


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
            for deep in (False, True):
                report = verify_store(node.engine, deep=deep)
                assert not report.ok
                assert where in [p.where for p in report.problems], (deep, where, report.problems)
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


def _append_signed(node: Node, datas: list[bytes]) -> None:
    """Append entries as given and sign a checkpoint over them: what a signer that writes
    malformed entries would store (ceasewatch's own append never does)."""
    with node.engine.begin() as conn:
        tree = node.own_tree(conn)
        start = tree.size
        leaves = [leaf_hash(d) for d in datas]
        conn.execute(
            insert(s.entries),
            [
                {"origin": node.origin, "idx": start + i, "leaf_hash": h, "data": d}
                for i, (h, d) in enumerate(zip(leaves, datas, strict=True))
            ],
        )
        tree.extend(leaves)
        note = sign_checkpoint(Checkpoint(node.origin, tree.size, tree.root()), node.signer())
        conn.execute(
            insert(s.checkpoints),
            {"origin": node.origin, "size": tree.size, "note": note.encode("utf-8")},
        )


def _record_entry(node: Node, index: int, record: dict[str, Any]) -> bytes:
    body = {"record": canonical_bytes(record)}
    return entry_bytes(node.origin, index, "2026-11-27T08:00:00Z", "note", body, "mon-a")


def test_signed_entries_are_parsed_only_where_needed_or_deep(populated: Node) -> None:
    clean = verify_store(populated.engine)
    assert clean.ok and clean.parsed == 0  # every entry under a matching signed root
    deep = verify_store(populated.engine, deep=True)
    assert deep.ok and deep.parsed == deep.entries == 8
    # the org itself signs an entry that claims another index: its fields are the signer's
    _append_signed(populated, [_record_entry(populated, 99, {"id": "x"})])
    assert verify_store(populated.engine).ok
    [problem] = verify_store(populated.engine, deep=True).problems
    assert problem.where == f"log {populated.origin} entry 8"
    assert "says it is" in problem.what


def test_entries_no_checkpoint_covers_are_parsed(populated: Node) -> None:
    with populated.engine.begin() as conn:  # stored, never signed
        conn.execute(
            insert(s.entries),
            {"origin": populated.origin, "idx": 8, "leaf_hash": leaf_hash(b"{}"), "data": b"{}"},
        )
    report = verify_store(populated.engine)
    assert report.parsed == 1
    assert [(p.where, p.what.split(":")[0]) for p in report.problems] == [
        (f"log {populated.origin} entry 8", "is not a valid entry")
    ]


def test_a_deleted_blob_is_named_at_its_first_entry_and_look_alikes_are_not(
    populated: Node,
) -> None:
    lookalike = "ab" * 32  # a record field named sha256: not a raw file reference
    _append_signed(populated, [_record_entry(populated, 8, {"id": "y", "sha256": lookalike})])
    assert verify_store(populated.engine).ok
    with populated.engine.begin() as conn:
        _drop_guards(conn)
        first = conn.execute(
            select(s.entries.c.data).where(s.entries.c.idx == 3)  # the second file's entries
        ).scalar_one()
        sha = Entry.parse(bytes(first)).blob_sha256
        assert sha is not None
        conn.execute(s.blobs.delete().where(s.blobs.c.sha256 == sha))
    for deep in (False, True):
        [problem] = verify_store(populated.engine, deep=deep).problems
        assert problem.where == f"log {populated.origin} entry 3"
        assert sha[:16] in problem.what


def test_a_deleted_entry_is_a_gap_and_the_roots_say_where(populated: Node) -> None:
    with populated.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(s.entries.delete().where(s.entries.c.idx == 4))
    origin = populated.origin
    for deep in (False, True):
        report = verify_store(populated.engine, deep=deep)
        wheres = [p.where for p in report.problems]
        assert f"log {origin} entry 4" in wheres
        assert f"log {origin} entries 3..7" in wheres
        assert report.entries == 7


def test_verify_leaves_the_cyclic_gc_as_it_found_it(populated: Node) -> None:
    assert gc.isenabled()
    assert verify_store(populated.engine).ok
    assert gc.isenabled()
    gc.disable()
    try:
        assert verify_store(populated.engine).ok
        assert not gc.isenabled()
    finally:
        gc.enable()
