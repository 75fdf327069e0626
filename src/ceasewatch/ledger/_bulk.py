"""The hot loops of `ceasewatch verify` over whole runs of entries: C where built, else Python.

Rebuilding the tree of a whole log costs two SHA-256 calls per entry (the leaf and, on
average, one interior node). In Python each call costs several times more in the interpreter
and in making the hash object than in hashing, so the hot paths (`MerkleTree.extend`,
`verify`) work on whole runs with these functions; hashes are packed, 32 bytes each, back
to back:

- `leaf_hashes_packed`: ``SHA-256(0x00 || data)`` of each of a sequence of bytes;
- `sha256_packed`: plain SHA-256 of each (the stored raw files, two at a time);
- `parents_packed`: ``SHA-256(0x01 || left || right)`` of each consecutive pair of a packed
  level (an odd last hash has no parent yet);
- `key_counts`: how often a key occurs in the entries, and how often followed by a value
  (where `verify` looks for the raw files the entries name);
- `packed`: fixed-size items back to back (the stored leaf hashes of a page), or None if one
  has another size.

With a ``column``, the sequence holds rows (tuples, as a query returns them) and the items are
that column of each: no list of the column is made.

They are the C functions of `ceasewatch.ledger._speedups` (SHA-256 on the x86 SHA
extensions) when that module was built and the CPU has SHA-NI, and otherwise the pure-Python
ones below (SHA-256 of hashlib, i.e. OpenSSL), which give the same results; `ACCELERATED`
says which. The tests check both against hashlib and against each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

__all__ = [
    "ACCELERATED",
    "key_counts",
    "leaf_hashes_packed",
    "packed",
    "parents_packed",
    "py_key_counts",
    "py_leaf_hashes_packed",
    "py_packed",
    "py_parents_packed",
    "py_sha256_packed",
    "sha256_packed",
]

_SIZE = 32

Buffer = bytes | bytearray | memoryview
Items = Sequence[Buffer] | Sequence[tuple[Any, ...]]
"""Bytes-like items, or rows (tuples) whose ``column`` holds them."""


def _items(items: Items, column: int | None) -> Sequence[Buffer]:
    if column is None:
        return items  # type: ignore[return-value]
    return list(map(itemgetter(column), items))


def py_leaf_hashes_packed(datas: Items, column: int | None = None) -> bytes:
    """``SHA-256(0x00 || data)`` of each of ``datas``, packed (pure Python)."""
    sha, prefix = hashlib.sha256, b"\x00"
    return b"".join([sha(prefix + data).digest() for data in _items(datas, column)])


def py_sha256_packed(datas: Items, column: int | None = None) -> bytes:
    """SHA-256 of each of ``datas``, packed (pure Python)."""
    sha = hashlib.sha256
    return b"".join([sha(data).digest() for data in _items(datas, column)])


def py_parents_packed(level: Buffer) -> bytes:
    """``SHA-256(0x01 || left || right)`` of each pair of packed hashes, packed (pure Python).

    Raises:
        ValueError: ``level`` is not a whole number of 32-byte hashes.
    """
    if len(level) % _SIZE:
        raise ValueError(f"a level of 32-byte hashes has {len(level)} bytes")
    sha, prefix, view = hashlib.sha256, b"\x01", memoryview(level)
    pairs = range(0, len(level) - 2 * _SIZE + 1, 2 * _SIZE)
    return b"".join([sha(prefix + view[i : i + 2 * _SIZE]).digest() for i in pairs])


def py_key_counts(
    datas: Items, key: bytes, value: bytes, column: int | None = None
) -> tuple[int, int]:
    """How often ``key`` occurs in ``datas``, and how often directly followed by ``value``.

    For a key that cannot overlap itself and a ``key + value`` that cannot either (such as
    ``"sha256":`` and a quoted hex hash), as the C function counts them (pure Python).

    Raises:
        ValueError: ``key`` is empty.
    """
    if not key:
        raise ValueError("key_counts() needs a non-empty key")
    items = _items(datas, column)
    if not set(map(type, items)) <= {bytes}:  # bytearray, memoryview: as bytes
        items = [bytes(d) for d in items]
    keys = sum(map(bytes.count, items, repeat(key)))  # type: ignore[arg-type]
    if not keys or not value:
        return keys, keys
    return keys, sum(map(bytes.count, items, repeat(key + value)))  # type: ignore[arg-type]


def py_packed(items: Items, size: int, column: int | None = None) -> bytes | None:
    """The items back to back, or None if one is not ``size`` bytes long (pure Python)."""
    values = _items(items, column)
    if not set(map(len, values)) <= {size}:
        return None
    return b"".join(values)


leaf_hashes_packed: Callable[[Items, int | None], bytes]
sha256_packed: Callable[[Items, int | None], bytes]
parents_packed: Callable[[Buffer], bytes]
key_counts: Callable[[Items, bytes, bytes, int | None], tuple[int, int]]
packed: Callable[[Items, int, int | None], bytes | None]
try:
    from ceasewatch.ledger._speedups import key_counts, packed
    from ceasewatch.ledger._speedups import leaf_hashes as leaf_hashes_packed
    from ceasewatch.ledger._speedups import parents as parents_packed
    from ceasewatch.ledger._speedups import sha256 as sha256_packed

    ACCELERATED = True
    """True when the C functions (SHA-NI) run, False when the pure-Python ones do."""
except ImportError:  # not built, or a CPU without SHA-NI
    leaf_hashes_packed = py_leaf_hashes_packed
    parents_packed = py_parents_packed
    sha256_packed = py_sha256_packed
    key_counts = py_key_counts
    packed = py_packed
    ACCELERATED = False
