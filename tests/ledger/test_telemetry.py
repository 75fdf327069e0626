"""Telemetry into the log: one Sortie entry per flight with its file, and the tracks back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from anyio.from_thread import start_blocking_portal
from sqlalchemy import func, select

from ceasewatch.api import create_app
from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import Conflict, InvalidInput
from ceasewatch.ingest.track import read_track
from ceasewatch.ledger.entry import Entry
from ceasewatch.ledger.node import Node, init_node
from ceasewatch.ledger.peers import trust_peer
from ceasewatch.ledger.rebuild import rebuild
from ceasewatch.ledger.sync import create_cosigner, sync_peer
from ceasewatch.ledger.telemetry import held_tracks, ingest_telemetry
from ceasewatch.ledger.verify import verify_store
from ceasewatch.records import Sortie
from ceasewatch.store import schema as s
from tests.ledger.conftest import NOW
from tests.ledger.test_sync import NOW_S, URLS, AppTransport

HEADER = "time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_pitch_deg,gimbal_frame\n"


def track_csv(path: Path, hour: int, n: int = 5, *, backwards: bool = False) -> Path:
    rows = [
        f"2026-11-26T{hour:02d}:00:{k:02d}Z,40.{k:03d},46.5,{600 + k},90,-45,horizon\n"
        for k in range(n)
    ]
    if backwards:
        rows.append(f"2026-11-26T{hour:02d}:00:00.5Z,40.5,46.5,600,90,-45,horizon\n")
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def stored(node: Node) -> tuple[int, int]:
    """(entries, blobs) in the store."""
    with node.engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(s.entries)).scalar_one()
        blobs = conn.execute(select(func.count()).select_from(s.blobs)).scalar_one()
    return int(entries), int(blobs)


def test_a_flight_becomes_one_sortie_entry_with_its_file(node: Node, tmp_path: Path) -> None:
    path = track_csv(tmp_path / "f.csv", 10, backwards=True)
    done = ingest_telemetry(node, path, sortie="a1-1126-1", drone="uav-a1", now=NOW)
    rec = done.sortie
    assert done.result.appended == 1 and done.result.first_index == 0
    assert done.result.blob_sha256 == rec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (rec.org, rec.drone, rec.camera, rec.format) == ("mon-a", "uav-a1", "eo-30", "csv")
    assert rec.start == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert rec.end == datetime(2026, 11, 26, 10, 0, 4, tzinfo=UTC)
    assert rec.samples == 5 and rec.counts == {"time_backwards": 1}
    assert done.report.counts == {"time_backwards": 1}
    with node.engine.connect() as conn:
        data = conn.execute(select(s.entries.c.data)).scalar_one()
    entry = Entry.parse(bytes(data))
    assert entry.kind == "sortie" and entry.blob_sha256 == rec.sha256
    assert entry.record is not None
    again = Sortie.model_validate({k: v for k, v in entry.record.items() if k != "type"})
    assert again == rec and again.content_hash() == rec.content_hash()  # round trip
    assert verify_store(node.engine).ok
    assert rebuild(node) == 1


def test_the_same_file_again_is_a_duplicate_another_one_a_conflict(
    node: Node, tmp_path: Path
) -> None:
    path = track_csv(tmp_path / "f.csv", 10)
    ingest_telemetry(node, path, sortie="s1", drone="uav-a1", now=NOW)
    again = ingest_telemetry(node, path, sortie="s1", drone="uav-a1", now=NOW)
    assert again.result.appended == 0 and again.result.duplicates[0].index == 0
    other = track_csv(tmp_path / "g.csv", 11)
    with pytest.raises(Conflict, match="s1 is already entry 0"):
        ingest_telemetry(node, other, sortie="s1", drone="uav-a1", now=NOW)
    assert stored(node) == (1, 1)


@pytest.mark.parametrize(
    ("drone", "camera", "match"),
    [
        ("uav-z9", None, "'uav-z9' is unknown; the theater's drones are: uav-a1, uav-a2"),
        ("uav-b1", None, "ingest this at mon-b's node"),
        ("uav-a1", "ir-99", "'ir-99' is unknown; the theater's cameras are: eo-30"),
    ],
)
def test_fleet_problems_refuse_and_store_nothing(
    node: Node, tmp_path: Path, drone: str, camera: str | None, match: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        ingest_telemetry(
            node, track_csv(tmp_path / "f.csv", 10), sortie="s", drone=drone, camera=camera,
            now=NOW,
        )  # fmt: skip
    assert match in exc.value.diagnostics()
    assert stored(node) == (0, 0)


def test_unusable_files_store_nothing(node: Node, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    for path, match in ((empty, "no usable sample"), (junk, "not a telemetry file")):
        with pytest.raises(InvalidInput, match=match):
            ingest_telemetry(node, path, sortie="s", drone="uav-a1", now=NOW)
    with pytest.raises(InvalidInput, match="cannot be recorded") as exc:
        ingest_telemetry(node, track_csv(tmp_path / "f.csv", 9), sortie="a b", drone="uav-a1",
                         now=NOW)  # fmt: skip
    assert "--sortie: 'a b': a sortie id is" in exc.value.diagnostics()
    assert stored(node) == (0, 0)


def test_held_tracks_reads_the_files_back_by_period(node: Node, tmp_path: Path) -> None:
    for hour, sortie in ((12, "late"), (9, "early")):
        path = track_csv(tmp_path / f"{sortie}.csv", hour)
        ingest_telemetry(node, path, sortie=sortie, drone="uav-a2", now=NOW)
    held = held_tracks(node)
    assert [so.id for so, _ in held] == ["early", "late"]
    want = read_track(tmp_path / "early.csv")
    np.testing.assert_array_equal(held[0][1].lat_deg, want.lat_deg)
    np.testing.assert_array_equal(held[0][1].t_us, want.t_us)
    t = datetime(2026, 11, 26, 11, tzinfo=UTC)
    assert [so.id for so, _ in held_tracks(node, start=t)] == ["late"]
    assert [so.id for so, _ in held_tracks(node, end=t)] == ["early"]
    assert held_tracks(node, start=t, end=t) == []


def test_held_tracks_include_a_peers_sorties(tmp_path: Path) -> None:
    with start_blocking_portal() as portal:
        nodes = {org: init_node(tmp_path / org, org, demo_theater_dir()) for org in URLS}
        cosigners = {org: create_cosigner(n) for org, n in nodes.items()}
        b_client = httpx.Client(
            transport=AppTransport(create_app(tmp_path / "mon-b"), portal), base_url=URLS["mon-b"]
        )
        try:
            a, b = nodes["mon-a"], nodes["mon-b"]
            trust_peer(
                a, b.vkey(), URLS["mon-b"], cosigner_vkey=cosigners["mon-b"].verifier().vkey()
            )
            trust_peer(
                b, a.vkey(), URLS["mon-a"], cosigner_vkey=cosigners["mon-a"].verifier().vkey()
            )
            ingest_telemetry(b, track_csv(tmp_path / "b.csv", 8), sortie="b1", drone="uav-b1",
                             now=NOW)  # fmt: skip
            ingest_telemetry(a, track_csv(tmp_path / "a.csv", 9), sortie="a1", drone="uav-a1",
                             now=NOW)  # fmt: skip
            report = sync_peer(a, URLS["mon-b"], client=b_client, now_s=NOW_S)
            assert report.blobs_stored == 1, report.summary()
            held = held_tracks(a)
            assert [(so.org, so.id) for so, _ in held] == [("mon-b", "b1"), ("mon-a", "a1")]
            assert len(held[0][1]) == 5
        finally:
            b_client.close()
            for n in nodes.values():
                n.close()
