"""`rebuild`: the projection is thrown away and derived again from the ledger, identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, delete, func, insert, select, text, update

from ceasewatch.errors import IntegrityError
from ceasewatch.ledger.append import ingest_file
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.rebuild import PROJECTIONS, rebuild
from ceasewatch.ledger.verify import verify_store
from ceasewatch.store import schema as s
from tests.ledger.conftest import NOW, sighting, write_sightings
from tests.ledger.test_node_verify import _drop_guards, _populate
from tests.ledger.test_sync import Side, pair, scenario_dir, sync

__all__ = ["pair", "scenario_dir"]  # fixtures used here

LEDGER = (s.logs, s.entries, s.checkpoints, s.cosignatures, s.blobs, s.equivocations)


def dump(node: Node, table: Table) -> list[tuple[Any, ...]]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]


def snapshot(node: Node, tables: tuple[Table, ...]) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: dump(node, t) for t in tables}


def test_records_is_the_one_projection() -> None:
    assert [t.name for t, _ in PROJECTIONS] == ["records"]
    assert {t.name for t, _ in PROJECTIONS}.isdisjoint(s.APPEND_ONLY_TABLES)


def test_rebuild_after_loss_and_corruption_gives_the_same_projection(
    node: Node, tmp_path: Path
) -> None:
    _populate(node, tmp_path)
    projection = dump(node, s.records)
    ledger = snapshot(node, LEDGER)
    assert len(projection) == 8
    assert rebuild(node) == 8  # on a sound projection: a no-op
    assert dump(node, s.records) == projection
    with node.engine.begin() as conn:
        conn.execute(delete(s.records).where(s.records.c.idx < 3))
        conn.execute(update(s.records).where(s.records.c.idx == 5).values(idx=99, kind="x"))
        conn.execute(update(s.records).where(s.records.c.idx == 6).values(record_id="forged"))
        conn.execute(
            insert(s.records),
            {
                "origin": node.origin,
                "content_hash": "0" * 64,
                "idx": 1,
                "kind": "sighting",
                "record_id": "ghost",
            },
        )
    assert dump(node, s.records) != projection
    assert rebuild(node) == 8
    assert dump(node, s.records) == projection
    with node.engine.begin() as conn:
        conn.execute(delete(s.records))
    assert rebuild(node) == 8
    assert dump(node, s.records) == projection
    assert snapshot(node, LEDGER) == ledger  # the ledger tables are only read
    assert verify_store(node.engine).ok
    # ingest still finds its duplicates through the rebuilt projection
    again = write_sightings(tmp_path / "again.csv", [sighting(i) for i in range(9)])
    result = ingest_file(node, "sightings", again, now=NOW)
    assert (result.appended, len(result.duplicates)) == (1, 8)
    assert verify_store(node.engine).ok


def test_an_unparsable_entry_refuses_the_rebuild_and_keeps_the_projection(
    node: Node, tmp_path: Path
) -> None:
    _populate(node, tmp_path)
    projection = dump(node, s.records)
    with node.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(update(s.entries).where(s.entries.c.idx == 4).values(data=b"{not json"))
    with pytest.raises(IntegrityError, match="entry 4"):
        rebuild(node)
    assert dump(node, s.records) == projection  # one transaction: nothing half done


def test_rebuild_covers_mirrored_logs(pair: tuple[Side, Side]) -> None:
    a, b = pair
    assert sync(a, b).ok and sync(b, a).ok
    before = dump(a.node, s.records)
    origins = {row[0] for row in before}
    assert origins == {a.node.origin, b.node.origin}
    with a.node.engine.begin() as conn:
        conn.execute(text("DELETE FROM records"))
    assert rebuild(a.node) == len(before)
    assert dump(a.node, s.records) == before
    with a.node.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.entries)).scalar_one() == len(before)
    assert verify_store(a.node.engine).ok
