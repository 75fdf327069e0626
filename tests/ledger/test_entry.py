"""Entries (RFC 8785 leaf data) and excerpts checked with the org's verifier key alone."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.checkpoint import Checkpoint, sign_checkpoint
from ceasewatch.ledger.entry import (
    Entry,
    Excerpt,
    canonical_bytes,
    entry_bytes,
    log_origin,
    parse_entries,
    parse_entries_hashed,
    slug,
    verify_excerpt,
)
from ceasewatch.ledger.merkle import MerkleTree, leaf_hash
from ceasewatch.ledger.note import Ed25519Signer
from ceasewatch.records import Record
from ceasewatch.records.base import canonical_json
from tests.ledger.common import seed
from tests.records.strategies import STRATEGIES

ORIGIN = "ceasewatch.mon-a.demo"
T = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _entry(i: int, **body: Any) -> Entry:
    return Entry(ORIGIN, i, T, "sighting", {"record": {"id": f"s-{i}", **body}}, "mon-a")


def test_canonical_bytes_are_sorted_compact_json() -> None:
    e = _entry(3, lat=40.5)
    assert e.canonical() == (
        b'{"author":"mon-a","body":{"record":{"id":"s-3","lat":40.5}},"index":3,'
        b'"kind":"sighting","origin":"ceasewatch.mon-a.demo","time":"2026-11-27T08:00:00Z"}'
    )
    assert e.leaf_hash() == leaf_hash(e.canonical())


def test_parse_round_trips_and_refuses_non_canonical_bytes() -> None:
    e = _entry(1, lat=1.0)
    assert Entry.parse(e.canonical()) == e
    loose = json.dumps(e.as_json(), indent=1).encode()
    with pytest.raises(InvalidInput, match="canonical"):
        Entry.parse(loose)
    with pytest.raises(InvalidInput, match="object with"):
        Entry.parse(b'{"origin":"x"}')
    with pytest.raises(InvalidInput, match="JSON"):
        Entry.parse(b"\xff")
    bad_index = e.canonical().replace(b'"index":1', b'"index":-1')
    with pytest.raises(InvalidInput, match="index"):
        Entry.parse(bad_index)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@given(
    index=st.integers(0, 2**53 - 1),
    body=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    kind=st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
)
def test_any_entry_round_trips_through_its_bytes(
    index: int, body: dict[str, Any], kind: str
) -> None:
    e = Entry(ORIGIN, index, T, kind, body, "mon-a")
    assert Entry.parse(e.canonical()).canonical() == e.canonical()


def test_origin_is_stable_and_a_valid_key_name() -> None:
    assert log_origin("mon-a", "Demo theater (illustrative)") == (
        "ceasewatch.mon-a.demo-theater-illustrative"
    )
    assert slug("  ") == "theater"
    with pytest.raises(InvalidInput):
        log_origin("Mon A", "x")
    Ed25519Signer(log_origin("mon-a", "Nagorno-Karabakh 2020"), seed("o"))


def _excerpt(n: int, index: int) -> tuple[Excerpt, str]:
    signer = Ed25519Signer(ORIGIN, seed("mon-a"))
    entries = [_entry(i).canonical() for i in range(n)]
    tree = MerkleTree(leaf_hash(d) for d in entries)
    note = sign_checkpoint(Checkpoint(ORIGIN, n, tree.root()), signer)
    ex = Excerpt(ORIGIN, index, entries[index], tuple(tree.inclusion_proof(index)), note)
    return ex, signer.verifier().vkey()


@pytest.mark.parametrize(("n", "index"), [(1, 0), (5, 3), (8, 7), (13, 0)])
def test_an_excerpt_verifies_with_the_vkey_alone(n: int, index: int) -> None:
    ex, vkey = _excerpt(n, index)
    entry = verify_excerpt(ex.to_json(), vkey)
    assert entry.index == index
    assert Excerpt.from_json(ex.to_json()) == ex


def test_a_wrong_key_a_moved_entry_or_a_bad_proof_is_refused() -> None:
    ex, vkey = _excerpt(6, 2)
    other = Ed25519Signer(ORIGIN, seed("impostor")).verifier().vkey()
    with pytest.raises(IntegrityError):
        verify_excerpt(ex, other)
    moved = Excerpt(ex.origin, 3, ex.entry, ex.proof, ex.checkpoint)
    with pytest.raises(IntegrityError, match="#2"):
        verify_excerpt(moved, vkey)
    bad = Excerpt(ex.origin, 2, ex.entry, (bytes(32), *ex.proof[1:]), ex.checkpoint)
    with pytest.raises(IntegrityError, match="root"):
        verify_excerpt(bad, vkey)
    with pytest.raises(InvalidInput, match="format"):
        verify_excerpt('{"format": "x"}', vkey)


# --- the fast serialiser is RFC 8785 ----------------------------------------------------------

any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@given(any_json)
def test_canonical_bytes_is_the_reference_rfc8785(value: Any) -> None:
    try:
        expected = canonical_json(value)
    except Exception as exc:  # the reference refuses (e.g. integers beyond 2^53)
        with pytest.raises(type(exc)):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    "value",
    [6.0, -0.0, 1e-4, 9.99e-5, 1e16, 1e21, 2**53 - 1, 2.0**53, 0.1, "\u2028é\x7f\x1f", {"é": 1}],
)
def test_canonical_bytes_edges(value: Any) -> None:
    assert canonical_bytes(value) == canonical_json(value)


@given(st.one_of(*STRATEGIES.values()))
def test_record_bytes_hash_to_the_content_hash(record: Record) -> None:
    raw = canonical_bytes(record.as_json())
    assert raw == record.canonical()
    assert hashlib.sha256(raw).hexdigest() == record.content_hash()


@given(
    index=st.integers(0, 2**53 - 1),
    record=any_json,
    line=st.none() | st.integers(1, 10**6),
    supersedes=st.none() | st.text(max_size=64),
)
def test_entry_bytes_compose_to_the_canonical_entry(
    index: int, record: Any, line: int | None, supersedes: str | None
) -> None:
    body: dict[str, Any] = {"record": record, "source": {"sha256": "ab" * 32}}
    if line is not None:
        body["source"]["line"] = line
    if supersedes is not None:
        body["supersedes"] = supersedes
    try:
        parts = {k: canonical_json(v) for k, v in body.items()}
    except Exception:
        return
    entry = Entry(ORIGIN, index, T, "sighting", body, "mon-a")
    composed = entry_bytes(ORIGIN, index, "2026-11-27T08:00:00Z", "sighting", parts, "mon-a")
    assert composed == entry.canonical()


# --- many entries at once: parse_entries is Entry.parse ----------------------------------------


def _outcome(result: Entry | InvalidInput) -> tuple[str, Any]:
    """What a parse gave, comparable: the entry, or the error's message."""
    if isinstance(result, InvalidInput):
        return ("error", str(result))
    return ("entry", result)


def _reference(data: bytes) -> tuple[str, Any]:
    try:
        return ("entry", Entry.parse(data))
    except InvalidInput as exc:
        return ("error", str(exc))


# texts whose JSON the C encoder would write back unchanged but that are not RFC 8785 (or that
# RFC 8785 implementations refuse): the bulk path must leave every one of them to Entry.parse
NEAR_MISSES = [
    b'"lat":6.0',  # an integral float: RFC 8785 writes 6
    b'"lat":1e-05',  # Python's exponent form; ECMAScript writes 0.00001
    b'"lat":0.00001',  # ECMAScript's form of 1e-05: canonical, but Python writes 1e-05
    b'"lat":1e+16',
    b'"lat":10000000000000000',  # beyond 2^53
    b'"lat":-0.0',
    b'"lat":NaN',
    b'"\xf0\x9f\x98\x80":1,"\xef\xbc\xa1":2',  # keys in code-point order, not UTF-16 order
    b'"\xef\xbc\xa1":2,"\xf0\x9f\x98\x80":1',  # UTF-16 order (canonical)
    b'"lat":"\\u0041"',  # an escape RFC 8785 does not use
    b'"lat":1,"lat":2',  # a duplicate key
]


def _with_record(i: int, record: bytes) -> bytes:
    return (
        b'{"author":"mon-a","body":{"record":{' + record + b'}},"index":%d,"kind":"sighting",'
        b'"origin":"ceasewatch.mon-a.demo","time":"2026-11-27T08:00:00Z"}' % i
    )


def test_parse_entries_leaves_every_near_miss_to_entry_parse() -> None:
    datas = [_entry(0, lat=40.5).canonical()]
    datas += [_with_record(i + 1, text) for i, text in enumerate(NEAR_MISSES)]
    got = [_outcome(r) for r in parse_entries(datas)]
    assert got == [_reference(d) for d in datas]
    assert got[0][0] == "entry" and got[1][0] == "error"  # one sound, one "6.0"
    assert [kind for kind, _ in got].count("entry") == 3  # 40.5, 0.00001 and UTF-16 order


@given(
    entries=st.lists(
        st.builds(
            lambda i, body, kind: Entry(ORIGIN, i, T, kind, body, "mon-a"),
            st.integers(0, 2**53 - 1),
            st.dictionaries(st.text(max_size=6), any_json, max_size=3),
            st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
        ),
        max_size=6,
    ),
    cuts=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10_000), st.integers(1, 255))),
)
def test_parse_entries_agrees_with_entry_parse(
    entries: list[Entry], cuts: list[tuple[int, int, int]]
) -> None:
    datas = []
    for e in entries:
        try:
            datas.append(e.canonical())
        except (ValueError, TypeError):
            continue  # a value RFC 8785 refuses (e.g. an integer beyond 2^53)
    for which, pos, mask in cuts:  # flip bytes: most give errors, some other entries
        if datas:
            raw = bytearray(datas[which % len(datas)])
            raw[pos % len(raw)] ^= mask
            datas.append(bytes(raw))
    assert [_outcome(r) for r in parse_entries(datas)] == [_reference(d) for d in datas]
    for data, item in zip(datas, parse_entries_hashed(datas), strict=True):
        if isinstance(item, InvalidInput):
            continue
        entry, content_hash = item
        expected = None
        if entry.record is not None:
            expected = hashlib.sha256(canonical_json(entry.record)).hexdigest()
        assert content_hash == expected, data


@given(st.one_of(*STRATEGIES.values()), st.integers(0, 10**6))
def test_a_record_entry_hashes_to_the_record_content_hash(record: Record, i: int) -> None:
    data = entry_bytes(
        ORIGIN,
        i,
        "2026-11-27T08:00:00Z",
        record.record_type,
        {"record": canonical_bytes(record.as_json())},
        "mon-a",
    )
    [(entry, content_hash)] = parse_entries_hashed([data])  # type: ignore[misc]
    assert entry.canonical() == data
    assert content_hash == record.content_hash()
