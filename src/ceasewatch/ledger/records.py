"""The records a node holds: every log's entries (its own and its peers'), as records.

This is how analysis runs on the joint record: it reads the entries, not a table derived
from them, drops what later corrections superseded, and hands the records to `analyse`,
which sorts them itself, so two nodes holding the same entries derive the same result
whatever order the entries arrived in. `analyse_node` is that analysis, with the drone
coverage of the sorties the node holds deciding which allegations had no coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from ceasewatch.analysis import Analysis, analyse
from ceasewatch.analysis.sortie import observed_hook
from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.geo.fleet import Camera
from ceasewatch.ingest.track import Track
from ceasewatch.ledger.entry import Entry, parse_entries
from ceasewatch.ledger.node import Node
from ceasewatch.ledger.telemetry import camera_tracks
from ceasewatch.records import Allegation, Crater, Detection, Record, Sighting
from ceasewatch.store import schema

__all__ = ["analyse_node", "held_records"]

_TYPES: Mapping[str, tuple[str, type[Record]]] = {
    "sighting": ("sightings", Sighting),
    "detection": ("detections", Detection),
    "crater": ("craters", Crater),
    "allegation": ("allegations", Allegation),
}


def held_records(node: Node) -> dict[str, list[Record]]:
    """Every record of every log the node holds, by contract name, superseded ones left out.

    Raises:
        IntegrityError: an entry's record does not validate (run `ceasewatch verify`).
    """
    with node.engine.connect() as conn:
        rows = conn.execute(
            select(schema.entries.c.origin, schema.entries.c.idx, schema.entries.c.data).order_by(
                schema.entries.c.origin, schema.entries.c.idx
            )
        ).all()
    entries: list[Entry] = []
    for row, parsed in zip(rows, parse_entries([bytes(r.data) for r in rows]), strict=True):
        if isinstance(parsed, InvalidInput):
            raise IntegrityError(
                f"log {row.origin} entry {row.idx}: does not read ({parsed}); run `verify`"
            )
        entries.append(parsed)
    superseded = {e.supersedes for e in entries if e.supersedes}
    out: dict[str, list[Record]] = {name: [] for name, _ in _TYPES.values()}
    for entry in entries:
        rec = entry.record
        if rec is None or (superseded and entry.leaf_hash().hex() in superseded):
            continue
        kind = _TYPES.get(str(rec.get("type")))
        if kind is None:
            continue  # a record type analysis does not read (e.g. an assessment)
        name, model = kind
        try:
            out[name].append(model.model_validate({k: v for k, v in rec.items() if k != "type"}))
        except ValueError as exc:
            raise IntegrityError(
                f"log {entry.origin} entry {entry.index}: its record does not validate ({exc})"
            ) from None
    return out


def analyse_node(node: Node, tracks: Sequence[tuple[str, Camera, Track]] | None = None) -> Analysis:
    """The analysis of every record the node holds (`held_records`), with the coverage of
    every sortie it holds as the allegations' `observed` hook.

    Args:
        tracks: the node's `camera_tracks`, if the caller has read them already.

    Raises:
        IntegrityError: a stored entry or telemetry file no longer reads (run `verify`).
    """
    theater = node.theater()
    recs = held_records(node)
    return analyse(
        theater,
        recs["sightings"],  # type: ignore[arg-type]
        recs["detections"],  # type: ignore[arg-type]
        recs["craters"],  # type: ignore[arg-type]
        recs["allegations"],  # type: ignore[arg-type]
        observed=observed_hook(theater, camera_tracks(node) if tracks is None else tracks),
    )
