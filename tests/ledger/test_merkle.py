"""RFC 9162 trees and proofs: published vectors, a real CT log, exhaustive and random checks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger import merkle
from ceasewatch.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    NodeMismatch,
    bracket_divergence,
    consistency_proof,
    differing_ranges,
    first_bad_level,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.common import b64, load, numbered_leaves

VECTORS = load("rfc6962_vectors.json")
LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
# (index, size, proof) and (old, new, proof), as published
INCLUSION = [
    (c["index"], c["size"], [bytes.fromhex(h) for h in c["proof"]]) for c in VECTORS["inclusion"]
]
CONSISTENCY = [
    (c["old"], c["new"], [bytes.fromhex(h) for h in c["proof"]]) for c in VECTORS["consistency"]
]


def flip(value: bytes, position: int, bit: int = 0) -> bytes:
    changed = bytearray(value)
    changed[position] ^= 1 << bit
    return bytes(changed)


# --- hashing -----------------------------------------------------------------------------------


def test_hasher_vectors() -> None:
    h = VECTORS["hasher"]
    assert EMPTY_ROOT.hex() == h["empty_root"] == root([]).hex()
    assert leaf_hash(b"").hex() == h["empty_leaf"]
    assert leaf_hash(b"L123456").hex() == h["leaf_L123456"]
    assert node_hash(b"N123", b"N456").hex() == h["node_N123_N456"]


def test_domain_separation() -> None:
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


# --- the RFC 6962 reference tree ----------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_reference_tree(size: int) -> None:
    assert root(LEAVES[:size]) == ROOTS[size - 1]
    assert MerkleTree(LEAVES).root_at(size) == ROOTS[size - 1]
    assert MerkleTree(LEAVES[:size]).root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert MerkleTree(LEAVES).inclusion_proof(index, size) == proof
    assert inclusion_proof(LEAVES, index, size) == proof
    verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert MerkleTree(LEAVES).consistency_proof(old, new) == proof
    assert consistency_proof(LEAVES, old, new) == proof
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def corrupt_inclusion(
    index: int, size: int, proof: list[bytes], good_root: bytes, leaf: bytes
) -> list[tuple[str, Callable[[], None]]]:
    """transparency-dev/merkle's corruptInclusionProof probes."""
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes: list[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]] = [
        ("index - 1", (index - 1, size, proof, good_root, leaf)),
        ("index + 1", (index + 1, size, proof, good_root, leaf)),
        ("index ^ 2", (index ^ 2, size, proof, good_root, leaf)),
        ("size * 2", (index, size * 2, proof, good_root, leaf)),
        ("size // 2", (index, size // 2, proof, good_root, leaf)),
        ("wrong leaf", (index, size, proof, good_root, leaf_hash(b"WrongLeaf"))),
        ("empty root", (index, size, proof, EMPTY_ROOT, leaf)),
        ("random root", (index, size, proof, some, leaf)),
        ("trailing root", (index, size, [*proof, good_root], good_root, leaf)),
        ("preceding root", (index, size, [good_root, *proof], good_root, leaf)),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 3)
        probes.append((f"proof[{i}] bit 3", (index, size, wrong, good_root, leaf)))
    if proof:
        probes.append(("removed component", (index, size, proof[:-1], good_root, leaf)))
    if len(proof) > 1:
        probes.append(
            ("inserted component", (index, size, [proof[0], some, *proof[1:]], good_root, leaf))
        )

    def check(args: tuple[int, int, list[bytes], bytes, bytes]) -> Callable[[], None]:
        i, n, p, r, lf = args
        return lambda: verify_inclusion(lf, i, n, p, r)

    return [(name, check(args)) for name, args in probes]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION[1:])
def test_corrupted_inclusion_vectors_fail(index: int, size: int, proof: list[bytes]) -> None:
    for name, probe in corrupt_inclusion(index, size, proof, ROOTS[size - 1], LEAVES[index]):
        with pytest.raises(IntegrityError):
            probe()
            pytest.fail(f"verified although corrupted: {name}")


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY[1:])
def test_corrupted_consistency_vectors_fail(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, leaf_hash(b"WrongRoot"), r2, proof),
        (old, new, r1, leaf_hash(b"WrongRoot"), proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 4)
        probes.append((old, new, r1, r2, wrong))
    for o, n, a, b, p in probes:
        with pytest.raises(IntegrityError):
            verify_consistency(o, n, a, b, p)


def test_consistency_edge_cases() -> None:
    some = leaf_hash(b"x")
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, some, [])
    verify_consistency(3, 3, some, some, [])
    with pytest.raises(IntegrityError, match="forked"):
        verify_consistency(3, 3, some, leaf_hash(b"y"), [])
    with pytest.raises(IntegrityError, match="must be empty"):
        verify_consistency(3, 3, some, some, [EMPTY_ROOT])
    with pytest.raises(IntegrityError, match="empty-tree"):
        verify_consistency(0, 5, some, some, [])
    with pytest.raises(IntegrityError, match="never shrinks"):
        verify_consistency(2, 1, some, some, [])
    with pytest.raises(IntegrityError, match="is empty"):
        verify_consistency(1, 2, some, some, [])
    with pytest.raises(IntegrityError, match="31 bytes"):
        verify_consistency(1, 2, some[:31], some, [some])


def test_inclusion_edge_cases() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)
    for index, size in [(0, 0), (1, 0), (2, 1), (-1, 4)]:
        with pytest.raises(IntegrityError, match="no such leaf"):
            verify_inclusion(h, index, size, [], h)
    with pytest.raises(IntegrityError, match="0 bytes"):
        verify_inclusion(b"", 0, 1, [], h)
    with pytest.raises(IntegrityError, match="0 bytes"):
        verify_inclusion(h, 0, 1, [], b"")


def test_failure_messages_say_what_did_not_match() -> None:
    tree = MerkleTree(numbered_leaves(10))
    with pytest.raises(IntegrityError, match=r"leads to root .* not to the given root"):
        verify_inclusion(tree.leaf(3), 4, 10, tree.inclusion_proof(3), tree.root())
    with pytest.raises(IntegrityError, match=r"has 3 hashes; .* needs exactly 4"):
        verify_inclusion(tree.leaf(3), 3, 10, tree.inclusion_proof(3)[:3], tree.root())
    with pytest.raises(IntegrityError, match="rebuilds old root"):
        verify_consistency(5, 10, tree.root_at(4), tree.root(), tree.consistency_proof(5))
    with pytest.raises(IntegrityError, match="rebuilds new root"):
        verify_consistency(5, 10, tree.root_at(5), tree.root_at(9), tree.consistency_proof(5))


# --- a real Certificate Transparency log -------------------------------------------------------


def test_argon2020_inclusion_and_consistency() -> None:
    """Google's Argon 2020 CT log at 961,984,013 entries, via golang.org/x/mod's testdata."""
    a = load("argon2020.json")
    ct_root = b64(a["sha256_root_hash"])
    leaf = leaf_hash(b64(a["leaf_input"]))
    path = [b64(x) for x in a["audit_path"]]
    verify_inclusion(leaf, a["leaf_index"], a["tree_size"], path, ct_root)
    consistency = [b64(x) for x in a["consistency"]]
    verify_consistency(a["old_size"], a["tree_size"], b64(a["old_root_hash"]), ct_root, consistency)
    with pytest.raises(IntegrityError):
        verify_inclusion(leaf, a["leaf_index"] + 1, a["tree_size"], path, ct_root)
    with pytest.raises(IntegrityError):
        verify_consistency(
            a["old_size"] - 1, a["tree_size"], b64(a["old_root_hash"]), ct_root, consistency
        )


# --- every proof of every small tree ------------------------------------------------------------


def test_every_proof_up_to_64_leaves() -> None:
    leaves = numbered_leaves(64)
    tree = MerkleTree(leaves)
    for n in range(1, 65):
        expected = root(leaves[:n])
        assert tree.root_at(n) == expected
        for i in range(n):
            verify_inclusion(leaves[i], i, n, tree.inclusion_proof(i, n), expected)
        for m in range(n + 1):
            verify_consistency(m, n, tree.root_at(m), expected, tree.consistency_proof(m, n))


def test_incremental_equals_bulk_and_levels_round_trip() -> None:
    leaves = numbered_leaves(300)
    grown = MerkleTree()
    for i, h in enumerate(leaves):
        assert grown.append(h) == i
        assert grown.root() == root(leaves[: i + 1])
    bulk = MerkleTree(leaves)
    assert grown.levels == bulk.levels
    assert MerkleTree.from_levels(bulk.levels).root_at(123) == root(leaves[:123])
    assert MerkleTree.from_levels([]).size == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=8))
def test_extending_in_any_chunks_equals_appending_one_by_one(chunks: list[int]) -> None:
    leaves = numbered_leaves(sum(chunks))
    one_by_one, bulk = MerkleTree(), MerkleTree()
    start = 0
    for n in chunks:
        for h in leaves[start : start + n]:
            one_by_one.append(h)
        bulk.extend(leaves[start : start + n])
        start += n
        assert bulk.levels == one_by_one.levels
        assert bulk.root() == root(leaves[:start])
    assert merkle.leaf_hashes([b"", b"L123456"]) == [leaf_hash(b""), leaf_hash(b"L123456")]
    with pytest.raises(InvalidInput, match="leaf hash 1"):
        bulk.extend([bytes(32), bytes(31)])


def test_subtree_hash_and_argument_errors() -> None:
    leaves = numbered_leaves(13)
    tree = MerkleTree(leaves)
    assert tree.subtree_hash(8, 13) == root(leaves[8:13])
    assert tree.subtree_hash(4, 8) == root(leaves[4:8])
    with pytest.raises(InvalidInput, match="not a subtree"):
        tree.subtree_hash(3, 5)
    with pytest.raises(InvalidInput, match="outside"):
        tree.subtree_hash(8, 14)
    with pytest.raises(InvalidInput, match="outside this tree"):
        tree.root_at(14)
    with pytest.raises(InvalidInput, match="not in a tree"):
        tree.inclusion_proof(13)
    with pytest.raises(InvalidInput, match="old size"):
        tree.consistency_proof(14, 13)
    with pytest.raises(InvalidInput, match="leaf hash 1 is 3 bytes"):
        MerkleTree([leaves[0], b"abc"])
    with pytest.raises(InvalidInput, match="3 bytes"):
        tree.append(b"abc")
    with pytest.raises(InvalidInput, match="stored level 1"):
        MerkleTree.from_levels([tree.levels[0], b""])
    assert tree.leaf(12) == leaves[12] and len(tree) == 13


# --- Hypothesis: random sizes up to 300 ---------------------------------------------------------

BIG = MerkleTree(numbered_leaves(300))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_inclusion_proofs_verify_and_any_flip_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = BIG.inclusion_proof(index, size)
    good_root, leaf = BIG.root_at(size), BIG.leaf(index)
    verify_inclusion(leaf, index, size, proof, good_root)
    assert merkle.root_from_inclusion_proof(leaf, index, size, proof) == good_root

    target = data.draw(st.sampled_from(["proof", "root", "leaf"] if proof else ["root", "leaf"]))
    byte = data.draw(st.integers(0, 31), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    if target == "proof":
        which = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof = [flip(p, byte, bit) if k == which else p for k, p in enumerate(proof)]
    elif target == "root":
        good_root = flip(good_root, byte, bit)
    else:
        leaf = flip(leaf, byte, bit)
    with pytest.raises(IntegrityError):
        verify_inclusion(leaf, index, size, proof, good_root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_consistency_proofs_verify_and_any_flip_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, 300), label="new")
    old = data.draw(st.integers(1, new), label="old")
    proof = BIG.consistency_proof(old, new)
    r1, r2 = BIG.root_at(old), BIG.root_at(new)
    verify_consistency(old, new, r1, r2, proof)

    target = data.draw(st.sampled_from(["proof", "old", "new"] if proof else ["old", "new"]))
    byte = data.draw(st.integers(0, 31), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    if target == "proof":
        which = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof = [flip(p, byte, bit) if k == which else p for k, p in enumerate(proof)]
    elif target == "old":
        r1 = flip(r1, byte, bit)
    else:
        r2 = flip(r2, byte, bit)
    with pytest.raises(IntegrityError):
        verify_consistency(old, new, r1, r2, proof)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=70))
def test_tree_root_is_mth(entries: list[bytes]) -> None:
    leaves = [leaf_hash(e) for e in entries]
    assert MerkleTree(leaves).root() == root(leaves)


# --- where did a log go wrong ------------------------------------------------------------------


def test_first_bad_level_finds_a_tampered_stored_node() -> None:
    tree = MerkleTree(numbered_leaves(50))
    assert first_bad_level(tree.levels) is None
    levels = [bytearray(level) for level in tree.levels]
    levels[2][3 * 32] ^= 1  # node 3 of level 2: leaves 12..15
    mismatch = first_bad_level([bytes(level) for level in levels])
    # the tampered node disagrees with its children first: level 2 is reported
    assert mismatch == NodeMismatch(level=2, index=3, first_leaf=12, end_leaf=16)
    assert "leaves 12 to 15" in str(mismatch)
    # a leaf altered alone: its parent disagrees
    levels = [bytearray(level) for level in tree.levels]
    levels[0][21 * 32] ^= 1
    assert first_bad_level([bytes(level) for level in levels]) == NodeMismatch(1, 10, 20, 22)
    # a lost node at the end of level 1
    levels = [bytearray(level) for level in tree.levels]
    del levels[1][-32:]
    assert first_bad_level([bytes(level) for level in levels]) == NodeMismatch(1, 24, 48, 50)


def test_differing_ranges_pins_down_every_altered_leaf() -> None:
    good = numbered_leaves(1000)
    bad = list(good)
    for i in (5, 6, 7, 400, 999):
        bad[i] = leaf_hash(b"forged %d" % i)
    trusted, suspect = MerkleTree(good), MerkleTree(bad)
    assert differing_ranges(suspect, trusted) == [(5, 8), (400, 401), (999, 1000)]
    assert differing_ranges(suspect, trusted, size=300) == [(5, 8)]
    assert differing_ranges(trusted, trusted) == []

    asked: list[tuple[int, int]] = []

    def oracle(start: int, end: int) -> bytes:
        asked.append((start, end))
        return trusted.subtree_hash(start, end)

    assert differing_ranges(suspect, oracle) == [(5, 8), (400, 401), (999, 1000)]
    assert len(asked) < 100  # O(k log n), not the 1000 leaves


def test_bracket_divergence_between_signed_checkpoints() -> None:
    good = numbered_leaves(100)
    trusted = MerkleTree(good)
    signed = [(size, trusted.root_at(size)) for size in (10, 40, 70, 100)]
    assert bracket_divergence(trusted, signed) is None
    bad = list(good)
    bad[55] = hashlib.sha256(b"forged").digest()
    suspect = MerkleTree(bad)
    assert bracket_divergence(suspect, signed) == (40, 70)
    assert bracket_divergence(suspect, [(100, trusted.root())]) == (0, 100)
    with pytest.raises(InvalidInput, match="checkpoint size 120"):
        bracket_divergence(suspect, [(120, trusted.root())])
