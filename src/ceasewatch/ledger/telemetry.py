"""Drone telemetry into the joint record: one `Sortie` entry per flight, the file as its blob.

`ingest_telemetry` reads a telemetry file whole (`ingest.track.read_track`: .tlog, DataFlash,
KLV or CSV track) before anything is stored, so a file that gives no usable sample is refused
and the log is not touched. A usable file becomes one `Sortie` record (drone, camera, format,
time span, sample count and the reader's counts) appended with the raw bytes as its blob, in
the one transaction `append_records` makes: the entry, the blob and the signed checkpoint
are stored together or not at all. The same file under the same sortie id again is a
duplicate (same content hash), reported and not appended; another file under a sortie id the
log already holds is a conflict.

`held_tracks` reads the tracks back from the blobs of every sortie the node holds, its own
and its peers' (synced logs carry their blobs), for coverage; `camera_tracks` gives them
with the camera each flew, as `analysis.sortie.coverage_of` takes them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select

from ceasewatch.errors import Conflict, IntegrityError, InvalidInput, NotFound, Problem
from ceasewatch.geo.fleet import Camera
from ceasewatch.ingest.track import Track, TrackReport, read_track
from ceasewatch.ledger.append import AppendResult, append_records
from ceasewatch.ledger.entry import Entry, canonical_bytes
from ceasewatch.ledger.node import Node
from ceasewatch.records.base import ORGS_CONTEXT
from ceasewatch.records.kinds import Sortie
from ceasewatch.store import schema as s

__all__ = ["TelemetryIngest", "camera_tracks", "held_tracks", "ingest_telemetry"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_RULE = "a sortie id is 1-128 letters, digits and . _ : / - (e.g. a1-2026-11-26-1)"


@dataclass(frozen=True, slots=True)
class TelemetryIngest:
    """What ingesting one telemetry file did.

    Attributes:
        result: the append (appended 0 and one duplicate when the log held it already).
        report: what reading the file kept and dropped (`TrackReport`).
        sortie: the record appended (or already held).
    """

    result: AppendResult
    report: TrackReport
    sortie: Sortie


def _utc(t_us: int, where: str) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=t_us)
    except OverflowError:
        raise InvalidInput(
            f"{where}: a sample time ({t_us} us since 1970) is not a date; check the "
            "recording's clock"
        ) from None


def _check_fleet(node: Node, drone: str, camera: str | None) -> str:
    """The camera to record; refuses a drone or camera the theater does not list, and a
    drone of another org."""
    theater = node.theater()
    d = theater.drones.get(drone)
    if d is None:
        known = ", ".join(sorted(theater.drones)) or "none"
        raise InvalidInput(
            f"drone {drone!r} is not in the theater; nothing was appended",
            [Problem("--drone", f"{drone!r} is unknown; the theater's drones are: {known}")],
        )
    if d.org != node.org:
        raise InvalidInput(
            f"drone {drone} belongs to {d.org}; nothing was appended",
            [
                Problem(
                    "--drone",
                    f"node {node.org} records only its own org's flights; ingest this at "
                    f"{d.org}'s node",
                )
            ],
        )
    name = camera or d.camera
    if name not in theater.cameras:
        known = ", ".join(sorted(theater.cameras)) or "none"
        raise InvalidInput(
            f"camera {name!r} is not in the theater; nothing was appended",
            [Problem("--camera", f"{name!r} is unknown; the theater's cameras are: {known}")],
        )
    return name


def _held_elsewhere(node: Node, rec: Sortie) -> int | None:
    """The index of an entry of the own log holding another sortie of the same id."""
    content_hash = hashlib.sha256(canonical_bytes(rec.as_json())).hexdigest()
    r = s.records.c
    with node.engine.connect() as conn:
        rows = conn.execute(
            select(r.idx, r.content_hash).where(
                r.origin == node.origin, r.kind == Sortie.record_type, r.record_id == rec.id
            )
        ).all()
    return next((int(idx) for idx, h in rows if str(h) != content_hash), None)


def ingest_telemetry(
    node: Node,
    path: Path,
    *,
    sortie: str,
    drone: str,
    camera: str | None = None,
    now: datetime,
) -> TelemetryIngest:
    """Append one flight's telemetry to the node's own log, as a `Sortie` with the file.

    Args:
        node: the node; the drone must be one of its org's.
        path: the telemetry file (.tlog, DataFlash .bin, KLV stream or CSV track).
        sortie: the sortie id (letters, digits and . _ : / -).
        drone: a drone of the theater (`theater.toml` [[drones]]).
        camera: a camera of the theater; default: the drone's.
        now: the ingest time of the entry (the CLI passes the wall clock).

    Raises:
        NotFound: the file cannot be read.
        InvalidInput: an unknown drone or camera, a drone of another org, a bad sortie id,
            or a file that is not telemetry or yields no usable sample (nothing appended).
        Conflict: the log holds another sortie of this id.
    """
    camera_id = _check_fleet(node, drone, camera)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"{path}: cannot read ({exc.strerror}); check the path") from None
    track = read_track(io.BytesIO(raw), name=str(path))
    report = track.report
    data = {
        "id": sortie,
        "org": node.org,
        "drone": drone,
        "camera": camera_id,
        "format": report.format,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "start": _utc(int(track.t_us[0]), str(path)),
        "end": _utc(int(track.t_us[-1]), str(path)),
        "samples": len(track),
        "counts": dict(report.counts),
    }
    try:
        rec = Sortie.model_validate(data, context={ORGS_CONTEXT: node.theater().org_roles()})
    except ValidationError as exc:
        problems = [
            Problem("--sortie", f"{sortie!r}: {_ID_RULE}")
            if e["loc"] == ("id",)
            else Problem(".".join(map(str, e["loc"])), e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise InvalidInput(
            f"sortie {sortie!r} cannot be recorded; nothing was appended", problems
        ) from None
    other = _held_elsewhere(node, rec)
    if other is not None:
        raise Conflict(
            f"sortie {sortie} is already entry {other} of {node.origin}, with another file, "
            "drone or camera; give this flight its own --sortie id"
        )
    result = append_records(node, [rec], now=now, blob=raw)
    return TelemetryIngest(result, report, rec)


def _sortie_entries(node: Node) -> list[tuple[Entry, Sortie]]:
    """Every sortie entry of every log the node holds, superseded ones left out."""
    sorties: list[tuple[Entry, Sortie]] = []
    superseded: set[str] = set()
    e = s.entries.c
    with node.engine.connect() as conn:
        rows = conn.execute(select(e.data).order_by(e.origin, e.idx))
        for (data,) in rows:
            raw = bytes(data)
            if b'"supersedes"' not in raw and b'"sortie"' not in raw:
                continue  # neither a sortie nor a correction: no need to parse it
            entry = Entry.parse(raw)
            if entry.supersedes:
                superseded.add(entry.supersedes)
            rec = entry.record
            if entry.kind != Sortie.record_type or rec is None:
                continue
            try:
                sortie = Sortie.model_validate({k: v for k, v in rec.items() if k != "type"})
            except ValidationError as exc:
                raise IntegrityError(
                    f"log {entry.origin} entry {entry.index}: its sortie does not validate "
                    f"({exc.error_count()} error(s)); run `ceasewatch verify`"
                ) from None
            sorties.append((entry, sortie))
    return [(en, so) for en, so in sorties if en.leaf_hash().hex() not in superseded]


def held_tracks(
    node: Node, start: datetime | None = None, end: datetime | None = None
) -> list[tuple[Sortie, Track]]:
    """The sorties the node holds (all logs) that overlap [start, end], with their tracks
    read back from the stored files; ordered by start time, org and sortie id.

    Raises:
        IntegrityError: a sortie's file is missing or does not hash to its name, or no
            longer reads as the track it was recorded as (run `ceasewatch verify`).
    """
    chosen = [
        (entry, so)
        for entry, so in _sortie_entries(node)
        if (start is None or so.end >= start) and (end is None or so.start <= end)
    ]
    chosen.sort(key=lambda p: (p[1].start, p[1].org, p[1].id))
    out: list[tuple[Sortie, Track]] = []
    b = s.blobs.c
    with node.engine.connect() as conn:
        for entry, so in chosen:
            where = f"log {entry.origin} entry {entry.index} (sortie {so.id})"
            data = conn.execute(select(b.data).where(b.sha256 == so.sha256)).scalar_one_or_none()
            if data is None or entry.blob_sha256 != so.sha256:
                raise IntegrityError(f"{where}: its telemetry file is not stored; run `verify`")
            raw = bytes(data)
            if hashlib.sha256(raw).hexdigest() != so.sha256:
                raise IntegrityError(f"{where}: the stored file does not hash to its name")
            try:
                track = read_track(io.BytesIO(raw), name=where)
            except InvalidInput as exc:
                raise IntegrityError(f"{where}: the stored file no longer reads: {exc}") from None
            out.append((so, track))
    return out


def camera_tracks(
    node: Node, start: datetime | None = None, end: datetime | None = None
) -> list[tuple[str, Camera, Track]]:
    """`held_tracks` as (``org/sortie`` id, the camera flown, track), for coverage.

    Raises:
        IntegrityError: as `held_tracks`.
        InvalidInput: a sortie names a camera the node's theater no longer lists.
    """
    theater = node.theater()
    out: list[tuple[str, Camera, Track]] = []
    for so, track in held_tracks(node, start, end):
        camera = theater.cameras.get(so.camera)
        if camera is None:
            known = ", ".join(sorted(theater.cameras)) or "none"
            raise InvalidInput(
                f"sortie {so.org}/{so.id} flew camera {so.camera!r}, which theater.toml no "
                f"longer lists ([[cameras]]: {known}); add it back to read its coverage"
            )
        out.append((f"{so.org}/{so.id}", camera, track))
    return out
