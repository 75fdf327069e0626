"""Fixtures of the node tests: the store backends (from tests/store) and a node per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceasewatch.demo import demo_theater_dir
from ceasewatch.ledger import _bulk, merkle, verify
from ceasewatch.ledger.node import Node, init_node
from ceasewatch.records import SPECS, Sighting, write_records
from tests.store.conftest import db_url, pg_database

__all__ = [
    "NOW",
    "db_url",
    "implementation",
    "node",
    "pg_database",
    "sighting",
    "write_sightings",
]

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
def node(tmp_path: Path, db_url: str) -> Iterator[Node]:
    """A fresh node of mon-a on the demo theater, on each backend."""
    n = init_node(tmp_path / "node", "mon-a", demo_theater_dir(), db_url=db_url)
    try:
        yield n
    finally:
        n.close()


def sighting(i: int, org: str = "mon-a", **fields: object) -> Sighting:
    """A valid sighting number ``i`` (distinct content for distinct i)."""
    data: dict[str, object] = {
        "id": f"s-{i}",
        "time": f"2026-11-26T10:{i % 60:02d}:00Z",
        "org": org,
        "observer": "op-1",
        "lat": 40.0 + i * 1e-4,
        "lon": 46.5,
        "bearing_deg": float(i % 360),
        "kind": "explosion",
    }
    data.update(fields)
    return Sighting.model_validate(data)


def write_sightings(path: Path, records: list[Sighting]) -> Path:
    """Write a sightings contract file."""
    write_records(path, SPECS["sightings"], records)
    return path


@pytest.fixture(params=["c", "python"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with the C hot loops (`ceasewatch.ledger._speedups`, skipped where not
    built or without SHA-NI) and with their pure-Python fallback."""
    if request.param == "c":
        if not _bulk.ACCELERATED:
            pytest.skip("ceasewatch.ledger._speedups is not built or this CPU has no SHA-NI")
        return "c"
    for module in (merkle, verify):
        for name in (
            "leaf_hashes_packed",
            "parents_packed",
            "key_counts",
            "packed",
            "sha256_packed",
        ):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, getattr(_bulk, f"py_{name}"))
    return "python"
