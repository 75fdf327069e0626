"""The records a node holds, as analysis reads them: all of them, superseded ones left out,
and a damaged entry named, never analysed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text, update

from ceasewatch.errors import IntegrityError
from ceasewatch.ledger.append import append_records, ingest_file
from ceasewatch.ledger.merkle import leaf_hash
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.records import analyse_node, held_records
from ceasewatch.store import schema as s
from tests.ledger.conftest import NOW, sighting, write_sightings


def test_every_record_is_held_and_a_superseded_one_left_out(node: Node, tmp_path: Path) -> None:
    ingest_file(
        node, "sightings", write_sightings(tmp_path / "a.csv", [sighting(0), sighting(1)]), now=NOW
    )
    with node.engine.connect() as conn:
        first = conn.execute(text("SELECT data FROM entries WHERE idx = 0")).scalar_one()
    fixed = sighting(0, bearing_deg=91.0)
    append_records(node, [fixed], now=NOW, supersedes=[leaf_hash(bytes(first)).hex()])
    held = held_records(node)
    assert sorted((r.id, r.bearing_deg) for r in held["sightings"]) == sorted(  # type: ignore[attr-defined]
        [(fixed.id, 91.0), (sighting(1).id, sighting(1).bearing_deg)]
    )
    assert held["craters"] == [] and held["allegations"] == []
    result = analyse_node(node)
    assert result.summary()["inputs"]["sightings"] == 2


def test_a_damaged_entry_is_named_not_analysed(node: Node, tmp_path: Path) -> None:
    ingest_file(node, "sightings", write_sightings(tmp_path / "a.csv", [sighting(0)]), now=NOW)
    with node.engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        conn.execute(text("DROP TRIGGER entries_no_update" + (" ON entries" if pg else "")))
        conn.execute(update(s.entries).values(data=b"{not json"))
    with pytest.raises(IntegrityError, match="entry 0: does not read"):
        held_records(node)
