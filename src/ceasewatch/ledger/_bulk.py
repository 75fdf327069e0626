"""The hot loops of `ceasewatch verify` over whole runs of entries: C where built, else Python.

Rebuilding the tree of a whole log costs two SHA-256 calls per entry (the leaf and, on
average, one interior node). In Python each call costs several times more in the interpreter
and in making the hash object than in hashing, so the hot paths (`MerkleTree.extend`,
`verify`) work on whole runs with these functions; hashes are packed, 32 bytes each, back
to back:

- `leaf_hashes_packed`: ``SHA-256(0x00 || data)`` of each of a sequence of bytes;
- `parents_packed`: ``SHA-256(0x01 || left || right)`` of each consecutive pair of a packed
  level (an odd last hash has no parent yet);
- `key_counts`: how often a key occurs in the entries, and how often followed by a value
  (where `verify` looks for the raw files the entries name).

They are the C functions of `ceasewatch.ledger._speedups` (SHA-256 on the x86 SHA
extensions) when that module was built and the CPU has SHA-NI, and otherwise the pure-Python
ones below (SHA-256 of hashlib, i.e. OpenSSL), which give the same results; `ACCELERATED`
says which. The tests check both against hashlib and against each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from itertools import repeat

__all__ = [
    "ACCELERATED",
    "key_counts",
    "leaf_hashes_packed",
    "parents_packed",
    "py_key_counts",
    "py_leaf_hashes_packed",
    "py_parents_packed",
]

_SIZE = 32

Buffer = bytes | bytearray | memoryview


def py_leaf_hashes_packed(datas: Sequence[Buffer]) -> bytes:
    """``SHA-256(0x00 || data)`` of each of ``datas``, packed (pure Python)."""
    sha, prefix = hashlib.sha256, b"\x00"
    return b"".join([sha(prefix + data).digest() for data in datas])


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


def py_key_counts(datas: Sequence[Buffer], key: bytes, value: bytes) -> tuple[int, int]:
    """How often ``key`` occurs in ``datas``, and how often directly followed by ``value``.

    For a key that cannot overlap itself and a value that does not hold the key (such as
    ``"sha256":`` and a quoted hex hash), as the C function counts them (pure Python).

    Raises:
        ValueError: ``key`` is empty.
    """
    if not key:
        raise ValueError("key_counts() needs a non-empty key")
    items = datas if set(map(type, datas)) <= {bytes} else [bytes(d) for d in datas]
    keys = sum(map(bytes.count, items, repeat(key)))  # type: ignore[arg-type]
    if not keys or not value:
        return keys, keys
    return keys, sum(map(bytes.count, items, repeat(key + value)))  # type: ignore[arg-type]


leaf_hashes_packed: Callable[[Sequence[Buffer]], bytes]
parents_packed: Callable[[Buffer], bytes]
key_counts: Callable[[Sequence[Buffer], bytes, bytes], tuple[int, int]]
try:
    from ceasewatch.ledger._speedups import key_counts
    from ceasewatch.ledger._speedups import leaf_hashes as leaf_hashes_packed
    from ceasewatch.ledger._speedups import parents as parents_packed

    ACCELERATED = True
    """True when the C functions (SHA-NI) run, False when the pure-Python ones do."""
except ImportError:  # not built, or a CPU without SHA-NI
    leaf_hashes_packed = py_leaf_hashes_packed
    parents_packed = py_parents_packed
    key_counts = py_key_counts
    ACCELERATED = False
