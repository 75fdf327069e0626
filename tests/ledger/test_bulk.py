"""The hot loops of verify: the C functions and their pure-Python fallback give the same results.

Both are checked against hashlib byte for byte, on lengths around every SHA-256 block and
padding boundary, on bytes and other bytes-like objects, on runs of odd and even length (the
C code hashes two messages side by side), and against each other on random inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput
from ceasewatch.ledger import _bulk, merkle, verify
from ceasewatch.ledger.merkle import MerkleTree, root

Fns = tuple[
    Callable[..., bytes], Callable[..., bytes], Callable[..., tuple[int, int]], Callable[..., Any]
]
"""leaf hashes, parents, key counts, packed: the C functions or their fallbacks."""

# around one and two blocks with the one-byte prefix and the 9 bytes of padding
LENGTHS = [*range(0, 140), 183, 184, 190, 191, 192, 1000, 4096, 65_537]


def _speedups() -> object:
    if not _bulk.ACCELERATED:
        pytest.skip("ceasewatch.ledger._speedups is not built or this CPU has no SHA-NI")
    from ceasewatch.ledger import _speedups

    return _speedups


@pytest.fixture(params=["c", "python"])
def fns(request: pytest.FixtureRequest) -> Fns:
    if request.param == "c":
        c: Any = _speedups()
        return c.leaf_hashes, c.parents, c.key_counts, c.packed
    return (
        _bulk.py_leaf_hashes_packed,
        _bulk.py_parents_packed,
        _bulk.py_key_counts,
        _bulk.py_packed,
    )


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _data(n: int) -> bytes:
    return bytes((i * 7 + n) % 256 for i in range(n))


def test_leaf_hashes_are_hashlibs_at_every_length(fns: Fns) -> None:
    leaves = fns[0]
    datas = [_data(n) for n in LENGTHS]
    expected = b"".join(map(_leaf, datas))
    assert leaves(datas) == expected
    assert leaves(datas[:-1]) == expected[:-32]  # odd and even runs
    assert leaves(datas[::-1]) == b"".join(map(_leaf, datas[::-1]))
    assert leaves([bytearray(d) for d in datas]) == expected
    assert leaves([memoryview(d) for d in datas]) == expected
    assert leaves(tuple(datas)) == expected
    assert leaves([]) == b""


def test_sha256_is_hashlibs_at_every_length() -> None:
    datas = [_data(n) for n in LENGTHS]
    expected = b"".join(hashlib.sha256(d).digest() for d in datas)
    for sha in (_bulk.py_sha256_packed, getattr(_speedups_or_none(), "sha256", None)):
        if sha is None:
            continue
        assert sha(datas) == expected
        assert sha(datas[:-1]) == expected[:-32]
        assert sha([memoryview(d) for d in datas]) == expected


def _speedups_or_none() -> object:
    return _speedups() if _bulk.ACCELERATED else None


def test_parents_are_hashlibs(fns: Fns) -> None:
    parents = fns[1]
    for n in range(0, 12):
        level = b"".join(_leaf(_data(i)) for i in range(n))
        expected = b"".join(
            hashlib.sha256(b"\x01" + level[i : i + 64]).digest() for i in range(0, n // 2 * 64, 64)
        )
        assert parents(level) == expected
        assert parents(bytearray(level)) == expected
        assert parents(memoryview(level)) == expected
    with pytest.raises(ValueError, match="32-byte"):
        parents(b"x" * 33)


def test_key_counts(fns: Fns) -> None:
    counts = fns[2]
    key, value = b'"sha256":', b'"' + b"ab" * 32 + b'"'
    datas = [
        b'{"sha256":' + value + b"}",
        b'{"a":{"sha256":' + value + b'},"b":{"sha256":"other"}}',
        b"no key here",
        b'"sha256":',  # a key at the very end, nothing after it
        b"",
        b'"sha256":' + value[:-1],  # cut short
    ]
    assert counts(datas, key, value) == (5, 2)
    assert counts(datas, key, b"") == (5, 5)
    assert counts([], key, value) == (0, 0)
    assert counts([bytearray(d) for d in datas], key, value) == (5, 2)
    with pytest.raises(ValueError, match="key"):
        counts(datas, b"", value)


@settings(max_examples=200, deadline=None)
@given(
    datas=st.lists(st.binary(max_size=300), max_size=9),
    key=st.sampled_from([b'"sha256":', b"ab", b"\x00"]),
    value=st.binary(max_size=3),
)
def test_c_and_python_agree(datas: list[bytes], key: bytes, value: bytes) -> None:
    c: Any = _speedups()
    rows = [(i, d) for i, d in enumerate(datas)]
    assert c.leaf_hashes(datas) == _bulk.py_leaf_hashes_packed(datas)
    assert c.leaf_hashes(rows, 1) == _bulk.py_leaf_hashes_packed(rows, 1)
    assert c.sha256(datas) == _bulk.py_sha256_packed(datas)
    assert c.sha256(rows, 1) == _bulk.py_sha256_packed(rows, 1)
    level = b"".join(map(_leaf, datas))
    assert c.parents(level) == _bulk.py_parents_packed(level)
    for size in (0, 3, 32):
        assert c.packed(datas, size) == _bulk.py_packed(datas, size)
        assert c.packed(rows, size, 1) == _bulk.py_packed(rows, size, 1)
    if key not in value and key != b"ab":  # counted the same only for a key that cannot overlap
        assert c.key_counts(datas, key, value) == _bulk.py_key_counts(datas, key, value)
        assert c.key_counts(rows, key, value, 1) == _bulk.py_key_counts(rows, key, value, 1)


@pytest.mark.usefixtures("implementation")
def test_columns_of_rows_and_packed_items(fns: Fns) -> None:
    leaves, _, counts, pack = fns
    datas = [_data(n) for n in (0, 5, 64, 200)]
    rows = [(b"h" * 32, d, i) for i, d in enumerate(datas)]
    assert leaves(rows, 1) == leaves(datas)
    assert counts(rows, b"\x07", b"", 1) == counts(datas, b"\x07", b"")
    assert pack(rows, 32, 0) == b"h" * 128
    assert pack(rows, 32, 1) is None
    assert pack([], 32) == b""
    assert pack([b"ab", bytearray(b"cd"), memoryview(b"ef")], 2) == b"abcdef"
    with pytest.raises((TypeError, IndexError)):
        leaves(rows, 5)


def test_the_tree_is_the_rfc_tree_built_either_way() -> None:
    leaves = [_leaf(_data(i)) for i in range(300)]
    tree = MerkleTree()
    for start, end in [(0, 1), (1, 2), (2, 7), (7, 64), (64, 65), (65, 300)]:
        tree.extend_packed(b"".join(leaves[start:end]))
        assert tree.root() == root(leaves[:end])
        assert all(tree.root_at(n) == root(leaves[:n]) for n in range(max(0, end - 3), end + 1))
    assert merkle.leaf_hashes([_data(i) for i in range(300)]) == leaves
    with pytest.raises(InvalidInput, match="whole number"):
        tree.extend_packed(b"x" * 33)


def test_the_python_fallback_is_what_the_fixture_installs(
    implementation: str,
) -> None:
    python = implementation == "python"
    installed = {
        vars(verify)["leaf_hashes_packed"],
        vars(merkle)["leaf_hashes_packed"],
        vars(merkle)["parents_packed"],
        vars(verify)["key_counts"],
        vars(verify)["packed"],
        vars(verify)["sha256_packed"],
    }
    fallback = {
        _bulk.py_leaf_hashes_packed,
        _bulk.py_parents_packed,
        _bulk.py_key_counts,
        _bulk.py_packed,
        _bulk.py_sha256_packed,
    }
    assert (installed == fallback) == python
