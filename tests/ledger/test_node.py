"""A node: init, key, trust, ingest (all or nothing, duplicates, own org only), prove."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import AccessDenied, Conflict, InvalidInput, NotFound
from ceasewatch.ledger.append import append_records, ingest_file
from ceasewatch.ledger.checkpoint import open_checkpoint
from ceasewatch.ledger.entry import Entry, verify_excerpt
from ceasewatch.ledger.node import Node, init_node, open_node
from ceasewatch.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasewatch.ledger.peers import list_peers, trust_peer
from ceasewatch.ledger.verify import prove
from ceasewatch.store import HEAD_REVISION, current_revision
from ceasewatch.store import schema as s
from tests.ledger.common import seed
from tests.ledger.conftest import NOW, sighting, write_sightings

ORIGIN_B = "ceasewatch.mon-b.demo-theater-illustrative"


def _count(node: Node, table: str) -> int:
    with node.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(s.metadata.tables[table])).scalar_one()
        )


def _checkpoint_sizes(node: Node) -> list[int]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(s.checkpoints.c.size).order_by(s.checkpoints.c.size))
        return [int(r) for r in rows.scalars()]


# --- init and key -------------------------------------------------------------------------


def test_init_creates_key_store_theater_and_an_empty_signed_log(node: Node) -> None:
    data = node.data_dir
    key = data / "keys" / "mon-a.skey"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "node.toml").stat().st_mode) == 0o600
    assert (data / "theater" / "theater.toml").is_file()
    config = tomllib.loads((data / "node.toml").read_text())
    assert config["org"] == "mon-a"
    assert config["origin"] == "ceasewatch.mon-a.demo-theater-illustrative"
    assert "PRIVATE" not in (data / "node.toml").read_text()
    assert current_revision(node.engine) == HEAD_REVISION
    vkey = node.vkey()
    name, key_id, b64 = vkey.split("+", 2)
    assert name == node.origin and len(key_id) == 8 and b64
    verifier = Ed25519Verifier.from_vkey(vkey)
    assert _checkpoint_sizes(node) == [0]
    assert "PRIVATE" not in repr(node.signer())
    with node.engine.connect() as conn:
        note = conn.execute(select(s.checkpoints.c.note)).scalar_one()
    assert open_checkpoint(bytes(note), verifier).checkpoint.size == 0


def test_the_default_store_is_sqlite_in_the_data_dir_in_wal_mode(tmp_path: Path) -> None:
    with init_node(tmp_path / "n", "mon-b", demo_theater_dir()) as node:
        assert (tmp_path / "n" / "store.sqlite").is_file()
        with node.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert "db" not in tomllib.loads((tmp_path / "n" / "node.toml").read_text())
    with open_node(tmp_path / "n") as again:
        assert again.origin == "ceasewatch.mon-b.demo-theater-illustrative"


def test_open_node_finds_the_same_log_and_key(node: Node, db_url: str) -> None:
    with open_node(node.data_dir) as again:
        assert again.vkey() == node.vkey()
        assert again.signer().verifier().vkey() == node.vkey()


def test_init_refuses_an_existing_node_an_unknown_org_and_a_reused_store(
    node: Node, tmp_path: Path, db_url: str
) -> None:
    with pytest.raises(Conflict, match="node already"):
        init_node(node.data_dir, "mon-a", demo_theater_dir(), db_url=db_url)
    with pytest.raises(InvalidInput, match="not in theater"):
        init_node(tmp_path / "x", "nobody", demo_theater_dir(), db_url=db_url)
    with pytest.raises(Conflict, match="already holds log"):
        init_node(tmp_path / "y", "mon-a", demo_theater_dir(), db_url=db_url)


def test_open_refuses_a_directory_without_a_node(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="node init"):
        open_node(tmp_path)


def test_a_key_readable_by_others_is_refused(node: Node, tmp_path: Path) -> None:
    os.chmod(node.key_file, 0o644)
    with open_node(node.data_dir) as again, pytest.raises(AccessDenied, match="chmod 600"):
        ingest_file(again, "sightings", write_sightings(tmp_path / "s.csv", [sighting(1)]), now=NOW)


# --- trust --------------------------------------------------------------------------------


def test_trust_records_a_peer_key_and_url(node: Node) -> None:
    vkey_b = Ed25519Signer(ORIGIN_B, seed("mon-b")).verifier().vkey()
    peer = trust_peer(node, vkey_b, "https://mon-b.example")
    assert (peer.org, peer.origin, peer.vkey) == ("mon-b", ORIGIN_B, vkey_b)
    trust_peer(node, vkey_b, "https://mon-b.example:8443")
    assert [p.url for p in list_peers(node)] == ["https://mon-b.example:8443"]
    with node.engine.connect() as conn:
        assert conn.execute(select(s.logs.c.org).where(s.logs.c.origin == ORIGIN_B)).scalar() == (
            "mon-b"
        )
    other = Ed25519Signer(ORIGIN_B, seed("someone else")).verifier().vkey()
    with pytest.raises(Conflict, match="another key"):
        trust_peer(node, other, "https://mon-b.example")


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("ceasewatch.mon-a.demo-theater-illustrative", "https://a.example", "own org"),
        ("ceasewatch.nobody.demo", "https://x.example", "not in the theater"),
        ("some-log", "https://x.example", "cannot tell the org"),
        (ORIGIN_B, "ftp://mon-b.example", "http"),
    ],
)
def test_trust_refuses_bad_peers(node: Node, name: str, url: str, message: str) -> None:
    vkey = Ed25519Signer(name, seed(name)).verifier().vkey()
    with pytest.raises(InvalidInput, match=message):
        trust_peer(node, vkey, url)


def test_trust_refuses_a_malformed_vkey(node: Node) -> None:
    with pytest.raises(InvalidInput):
        trust_peer(node, "mon-b+00000000+AAAA", "https://mon-b.example")


# --- ingest -------------------------------------------------------------------------------


def test_ingest_appends_one_entry_per_record_and_signs_a_checkpoint(
    node: Node, tmp_path: Path
) -> None:
    path = write_sightings(tmp_path / "s.csv", [sighting(i) for i in range(5)])
    result = ingest_file(node, "sightings", path, now=NOW)
    assert (result.appended, result.first_index, result.size, result.rows_read) == (5, 0, 5, 5)
    assert result.duplicates == ()
    assert _checkpoint_sizes(node) == [0, 5]
    with node.engine.connect() as conn:
        blob = conn.execute(select(s.blobs.c.data)).scalar_one()
        data = conn.execute(select(s.entries.c.data).where(s.entries.c.idx == 2)).scalar_one()
    assert bytes(blob) == path.read_bytes()
    entry = Entry.parse(bytes(data))
    assert (entry.origin, entry.index, entry.kind, entry.author) == (
        node.origin,
        2,
        "sighting",
        "mon-a",
    )
    assert entry.time == NOW
    assert entry.record is not None and entry.record["id"] == "s-2"
    assert entry.body["source"] == {"sha256": result.blob_sha256, "line": 4}


def test_a_bad_row_appends_nothing_and_leaves_the_checkpoint(node: Node, tmp_path: Path) -> None:
    ingest_file(node, "sightings", write_sightings(tmp_path / "a.csv", [sighting(0)]), now=NOW)
    path = write_sightings(tmp_path / "b.csv", [sighting(i) for i in range(1, 6)])
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",explosion", ",kaboom")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput) as err:
        ingest_file(node, "sightings", path, now=NOW)
    assert any(":4 kind" in p.where for p in err.value.problems)
    assert node.size() == 1 and _checkpoint_sizes(node) == [0, 1]
    assert _count(node, "blobs") == 1 and _count(node, "records") == 1


def test_a_record_of_another_org_is_refused_with_its_line(node: Node, tmp_path: Path) -> None:
    recs = [sighting(0), sighting(1, org="mon-b"), sighting(2)]
    path = write_sightings(tmp_path / "s.csv", recs)
    with pytest.raises(InvalidInput, match="another org") as err:
        ingest_file(node, "sightings", path, now=NOW)
    assert [p.where for p in err.value.problems] == [f"{path}:3 org"]
    assert node.size() == 0 and _checkpoint_sizes(node) == [0]


def test_duplicates_are_reported_not_appended(node: Node, tmp_path: Path) -> None:
    first = write_sightings(tmp_path / "a.csv", [sighting(i) for i in range(4)])
    ingest_file(node, "sightings", first, now=NOW)
    again = ingest_file(node, "sightings", first, now=NOW)
    assert again.appended == 0 and again.size == 4
    assert [(d.record_id, d.index, d.line) for d in again.duplicates] == [
        ("s-0", 0, 2),
        ("s-1", 1, 3),
        ("s-2", 2, 4),
        ("s-3", 3, 5),
    ]
    assert _checkpoint_sizes(node) == [0, 4]
    overlap = write_sightings(tmp_path / "b.csv", [sighting(i) for i in range(2, 7)])
    result = ingest_file(node, "sightings", overlap, now=NOW)
    assert (result.appended, result.first_index, result.size) == (3, 4, 7)
    assert [d.record_id for d in result.duplicates] == ["s-2", "s-3"]
    assert _checkpoint_sizes(node) == [0, 4, 7]


def test_ingest_refuses_unknown_kinds_and_naive_times(node: Node, tmp_path: Path) -> None:
    path = write_sightings(tmp_path / "s.csv", [sighting(1)])
    with pytest.raises(InvalidInput, match="kind"):
        ingest_file(node, "rumours", path, now=NOW)
    with pytest.raises(InvalidInput, match="ingest time"):
        ingest_file(node, "sightings", path, now=NOW.replace(tzinfo=None))
    assert node.size() == 0


def test_a_correction_supersedes_an_entry_by_its_hash(node: Node) -> None:
    append_records(node, [sighting(1)], now=NOW)
    with node.engine.connect() as conn:
        old = bytes(conn.execute(select(s.entries.c.leaf_hash)).scalar_one()).hex()
    fixed = sighting(1, bearing_deg=12.5)
    result = append_records(node, [fixed], now=NOW, supersedes=[old])
    assert result.appended == 1
    excerpt = prove(node, 1)
    assert Entry.parse(excerpt.entry).supersedes == old


# --- prove --------------------------------------------------------------------------------


def test_prove_gives_an_excerpt_a_third_party_checks_with_the_vkey_alone(
    node: Node, tmp_path: Path
) -> None:
    ingest_file(node, "sightings", write_sightings(tmp_path / "a.csv", [sighting(0)]), now=NOW)
    more = write_sightings(tmp_path / "b.csv", [sighting(i) for i in range(1, 12)])
    ingest_file(node, "sightings", more, now=NOW)
    vkey = node.vkey()
    for index in (0, 5, 11):
        text = prove(node, index).to_json()
        entry = verify_excerpt(text, vkey)
        assert entry.index == index and entry.record is not None
    old = prove(node, 0, size=1)
    assert verify_excerpt(old, vkey).index == 0
    with pytest.raises(NotFound, match="not in the checkpoint"):
        prove(node, 12)
    with pytest.raises(NotFound, match="not in the checkpoint"):
        prove(node, 3, size=1)
