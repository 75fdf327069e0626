"""Merkle trees of an org's log, as RFC 9162 section 2 (Certificate Transparency 2.0) defines them.

The hashing is RFC 6962's, unchanged in RFC 9162, and is what Go's checksum database, Sigsum and
every C2SP tlog-checkpoint log use: SHA-256, leaves hashed as ``SHA-256(0x00 || data)``, interior
nodes as ``SHA-256(0x01 || left || right)``, the empty tree as ``SHA-256("")``. A tree of ``n``
leaves splits at the largest power of two below ``n`` (MTH, section 2.1.1).

Two ways in:

- module functions (`root`, `inclusion_proof`, `consistency_proof`) over a list of leaf hashes,
  for small lists and one-off proofs; `root` is the literal recursive MTH and serves the tests
  as the reference;
- `MerkleTree`, which keeps every complete subtree hash in one ``bytearray`` per level, so that
  appending is O(1) amortised, the root at any earlier size is O(log n) hashes and a proof
  O(log^2 n) at worst, whatever the size of the log. Bulk appends hash whole runs at a time
  (`ceasewatch.ledger._bulk`: C on the x86 SHA extensions where built, else hashlib).

Verification (`verify_inclusion`, `verify_consistency`) follows the algorithms of sections
2.1.3.2 and 2.1.4.2 step by step, and raises `IntegrityError` saying what did not match.

Finding *where* a log went wrong (`first_bad_level`, `differing_ranges`, `bracket_divergence`)
is described with those functions: a single signed root detects any change but localises
nothing; a series of signed checkpoints brackets the first divergence between two of them; a
trusted tree (another monitor's mirror) pins down every differing leaf.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger._bulk import leaf_hashes_packed, parents_packed

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "NodeMismatch",
    "bracket_divergence",
    "consistency_proof",
    "differing_ranges",
    "first_bad_level",
    "inclusion_proof",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree (RFC 9162 section 2.1.1): the hash of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2): where MTH splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _short(h: bytes) -> str:
    return h.hex()[:16] + ("..." if len(h) > 8 else "")


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise IntegrityError(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, by the recursive definition of RFC 9162 section 2.1.1.

    O(n) hashes; use `MerkleTree` to ask for roots of many sizes of one log.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return bytes(leaf_hashes[0])
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (section 2.1.3.1).

    Args:
        leaf_hashes: the leaf hashes of the log, in order (at least ``size`` of them).
        index: the leaf to prove, ``0 <= index < size``.
        size: the tree size the proof is for; all of ``leaf_hashes`` if None.
    """
    n = len(leaf_hashes) if size is None else size
    return MerkleTree(leaf_hashes[:n]).inclusion_proof(index, n)


def consistency_proof(
    leaf_hashes: Sequence[bytes], old: int, new: int | None = None
) -> list[bytes]:
    """The proof that the tree of ``old`` leaves is a prefix of the tree of ``new`` (2.1.4.1)."""
    n = len(leaf_hashes) if new is None else new
    return MerkleTree(leaf_hashes[:n]).consistency_proof(old, n)


def _inclusion_length(index: int, size: int) -> int:
    """How many hashes an inclusion proof for ``index`` in a tree of ``size`` has."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that an inclusion proof leads to (RFC 9162 section 2.1.3.2, steps 1 to 4).

    Raises:
        IntegrityError: the index is not inside the tree, a hash has the wrong length, or the
            proof has more or fewer hashes than a tree of this size needs.
    """
    _check_hash("leaf hash", leaf_hash)
    for i, p in enumerate(proof):
        _check_hash(f"inclusion proof hash {i}", p)
    if not 0 <= index < size:
        raise IntegrityError(
            f"inclusion proof is for leaf {index} of a tree of {size} leaves: no such leaf"
        )
    expected = _inclusion_length(index, size)
    if len(proof) != expected:
        raise IntegrityError(
            f"inclusion proof for leaf {index} of {size} has {len(proof)} hashes; "
            f"a tree of this size needs exactly {expected}"
        )
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:  # unreachable once the length is checked; kept as the RFC states it
            raise IntegrityError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError("inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises:
        IntegrityError: the proof does not lead to ``root`` (the message says which).
    """
    _check_hash("root hash", root)
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise IntegrityError(
            f"inclusion proof for leaf {index} of a tree of {size} leaves leads to root "
            f"{_short(computed)}, not to the given root {_short(root)}: the leaf, its index "
            "or the proof is not the one the root was computed from"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    RFC 9162 section 2.1.4.2 for ``0 < old_size < new_size``. Equal sizes need equal roots and an
    empty proof; an empty old tree needs the empty-tree root and an empty proof.

    Raises:
        IntegrityError: the proof does not connect the two roots (the message says which).
    """
    _check_hash("old root hash", old_root)
    _check_hash("new root hash", new_root)
    for i, p in enumerate(proof):
        _check_hash(f"consistency proof hash {i}", p)
    if not 0 <= old_size <= new_size:
        raise IntegrityError(
            f"consistency proof from size {old_size} to size {new_size}: "
            "a log never shrinks, the old size must be between 0 and the new size"
        )
    if old_size == new_size:
        if proof:
            raise IntegrityError(
                f"consistency proof between two trees of size {old_size} must be empty, "
                f"it has {len(proof)} hashes"
            )
        if not hmac.compare_digest(old_root, new_root):
            raise IntegrityError(
                f"two different roots for the same tree size {old_size} "
                f"({_short(old_root)} and {_short(new_root)}): the log has forked"
            )
        return
    if old_size == 0:
        if proof:
            raise IntegrityError("consistency proof from the empty tree must be empty")
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise IntegrityError(
                f"old root {_short(old_root)} for size 0 is not the empty-tree hash"
            )
        return
    if not proof:
        raise IntegrityError(
            f"consistency proof from size {old_size} to {new_size} is empty; it needs hashes"
        )
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of 2: the old root is itself a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise IntegrityError(
                f"consistency proof from size {old_size} to {new_size} has too many hashes"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError(
            f"consistency proof from size {old_size} to {new_size} has too few hashes"
        )
    if not hmac.compare_digest(fr, old_root):
        raise IntegrityError(
            f"consistency proof from size {old_size} to {new_size} rebuilds old root "
            f"{_short(fr)}, not the given {_short(old_root)}: the new tree does not extend the "
            "old one, or the proof or the old root is wrong"
        )
    if not hmac.compare_digest(sr, new_root):
        raise IntegrityError(
            f"consistency proof from size {old_size} to {new_size} rebuilds new root "
            f"{_short(sr)}, not the given {_short(new_root)}: the new tree does not extend the "
            "old one, or the proof or the new root is wrong"
        )


def leaf_hashes(datas: Iterable[bytes]) -> list[bytes]:
    """`leaf_hash` of each of ``datas``, hashed in one run (see `MerkleTree.extend_packed`)."""
    packed = leaf_hashes_packed(datas if isinstance(datas, list | tuple) else list(datas), None)
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


def _checked_hashes(hashes: Iterable[bytes]) -> list[bytes]:
    """The hashes as a list, each checked to be `HASH_SIZE` bytes."""
    items = list(hashes)
    if not set(map(type, items)) <= {bytes}:
        items = [bytes(h) for h in items]
    if any(map(HASH_SIZE.__ne__, map(len, items))):
        i = next(i for i, h in enumerate(items) if len(h) != HASH_SIZE)
        raise InvalidInput(f"leaf hash {i} is {len(items[i])} bytes, not {HASH_SIZE}")
    return items


class MerkleTree:
    """An append-only RFC 9162 tree that keeps the hash of every complete subtree.

    Level 0 holds the leaf hashes; level ``k`` holds, at index ``i``, the hash of the perfect
    subtree over leaves ``[i * 2**k, (i + 1) * 2**k)``, for every such subtree already complete.
    Each level is one ``bytearray`` of 32-byte hashes (about 64 bytes of memory per leaf in
    all). Any subtree that a root or a proof needs at any size is a left-aligned run of perfect
    subtrees, so nothing but these hashes is ever stored.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaf_hashes)

    @classmethod
    def from_levels(cls, levels: Sequence[bytes]) -> MerkleTree:
        """A tree from stored level arrays (as `levels` returned them), without rehashing.

        Use `first_bad_level` first if the storage is not trusted.
        """
        if not levels:
            return cls()
        tree = cls.__new__(cls)
        tree._levels = [bytearray(level) for level in levels]
        for k, level in enumerate(tree._levels):
            expected = (len(tree._levels[0]) // HASH_SIZE) >> k
            if len(level) % HASH_SIZE or len(level) // HASH_SIZE != expected:
                raise InvalidInput(
                    f"stored level {k} has {len(level)} bytes; a tree of "
                    f"{len(tree._levels[0]) // HASH_SIZE} leaves needs {expected} hashes there"
                )
        if len(tree._levels) < tree.size.bit_length():
            raise InvalidInput("stored levels stop before the highest complete subtree")
        return tree

    def _grow(self, new: bytes) -> None:
        """Add the parents that ``new``, the packed hashes just appended to level 0, complete.

        Level by level, each run of new nodes hashed pairwise in one call
        (`ceasewatch.ledger._bulk.parents_packed`): the same hashes as appending the
        leaves one by one, without the per-leaf bookkeeping.
        """
        levels = self._levels
        level = 0
        while new:
            row = levels[level]
            first = (len(row) - len(new)) // HASH_SIZE
            if first % 2:  # the first new node completes a pair with the old last one
                new = bytes(row[(first - 1) * HASH_SIZE : first * HASH_SIZE]) + new
            new = parents_packed(new)  # an odd last node waits for its sibling
            if not new:
                return
            level += 1
            if len(levels) == level:
                levels.append(bytearray())
            levels[level] += new

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def __len__(self) -> int:
        return self.size

    @property
    def levels(self) -> tuple[bytes, ...]:
        """A copy of the stored level arrays, leaves first (for storage or a trusted peer)."""
        return tuple(bytes(level) for level in self._levels)

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; returns its index. O(1) amortised."""
        if len(leaf_hash) != HASH_SIZE:
            raise InvalidInput(f"leaf hash is {len(leaf_hash)} bytes, not {HASH_SIZE}")
        levels = self._levels
        levels[0] += leaf_hash
        index = self.size - 1
        level = 0
        while index & 1:  # this node completed a pair: its parent is now complete too
            row = levels[level]
            start = (index - 1) * HASH_SIZE
            parent = hashlib.sha256(_NODE_PREFIX + row[start : start + 2 * HASH_SIZE]).digest()
            level += 1
            if len(levels) == level:
                levels.append(bytearray())
            levels[level] += parent
            index >>= 1
        return self.size - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes (in bulk: about one hash per leaf, level by level)."""
        self.extend_packed(b"".join(_checked_hashes(leaf_hashes)))

    def extend_packed(self, leaf_hashes: bytes) -> None:
        """Append the leaf hashes packed in ``leaf_hashes``, 32 bytes each, back to back.

        The form `ceasewatch.ledger._bulk.leaf_hashes_packed` returns: no list of hashes
        is made at all.
        """
        if len(leaf_hashes) % HASH_SIZE:
            raise InvalidInput(
                f"{len(leaf_hashes)} bytes of packed leaf hashes: not a whole number of "
                f"{HASH_SIZE}-byte hashes"
            )
        self._levels[0] += leaf_hashes
        self._grow(bytes(leaf_hashes))

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        self._check_size("leaf index", index + 1)
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _check_size(self, what: str, size: int) -> None:
        if not 0 <= size <= self.size:
            raise InvalidInput(f"{what} {size} is outside this tree of {self.size} leaves")

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``, for ranges that occur in this tree's structure.

        Those are the ranges whose start is a multiple of a power of two at least as large as
        the range (every node of every tree size is one). O(log n).
        """
        n = end - start
        if n <= 0 or start < 0 or end > self.size:
            raise InvalidInput(f"leaf range [{start}, {end}) is empty or outside the tree")
        span = 1 << (n - 1).bit_length()  # smallest power of two >= n
        if start % span:
            raise InvalidInput(f"leaf range [{start}, {end}) is not a subtree of an RFC 9162 tree")
        return self._range_hash(start, end)

    def _range_hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0:  # a perfect subtree: stored
            level = n.bit_length() - 1
            return self._node(level, start >> level)
        k = _split(n)
        return node_hash(self._range_hash(start, start + k), self._range_hash(start + k, end))

    def root(self) -> bytes:
        """The root hash of the whole tree."""
        return self.root_at(self.size)

    def root_at(self, size: int) -> bytes:
        """The root hash the tree had when it had ``size`` leaves. O(log n)."""
        self._check_size("tree size", size)
        if size == 0:
            return EMPTY_ROOT
        # size = 2**a + 2**b + ... (a > b > ...): perfect subtrees left to right, folded from
        # the right, which is what the recursive MTH computes.
        parts: list[bytes] = []
        offset = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                parts.append(self._node(level, offset >> level))
                offset += 1 << level
        acc = parts[-1]
        for h in reversed(parts[:-1]):
            acc = node_hash(h, acc)
        return acc

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf side first."""
        n = self.size if size is None else size
        self._check_size("tree size", n)
        if not 0 <= index < n:
            raise InvalidInput(f"leaf {index} is not in a tree of {n} leaves")
        path: list[bytes] = []
        start, end = 0, n
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._range_hash(start + k, end))
                end = start + k
            else:
                path.append(self._range_hash(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """PROOF(old, D[0:new]) of RFC 9162 section 2.1.4.1 (empty for old 0 or old == new)."""
        n = self.size if new is None else new
        self._check_size("tree size", n)
        if not 0 <= old <= n:
            raise InvalidInput(f"old size {old} is not between 0 and the new size {n}")
        if old in (0, n):
            return []
        path: list[bytes] = []
        start, end, m, complete = 0, n, old, True
        while True:
            size = end - start
            if m == size:
                if not complete:
                    path.append(self._range_hash(start, end))
                break
            k = _split(size)
            if m <= k:
                path.append(self._range_hash(start + k, end))
                end = start + k
            else:
                path.append(self._range_hash(start, start + k))
                start += k
                m -= k
                complete = False
        path.reverse()
        return path


@dataclass(frozen=True, slots=True)
class NodeMismatch:
    """A stored node that does not equal the hash of its two stored children.

    Attributes:
        level: the node's level (1 = parents of leaves).
        index: its index within the level.
        first_leaf: the first leaf it covers.
        end_leaf: one past the last leaf it covers.
    """

    level: int
    index: int
    first_leaf: int
    end_leaf: int

    def __str__(self) -> str:
        return (
            f"stored node {self.index} of level {self.level} (leaves {self.first_leaf} to "
            f"{self.end_leaf - 1}) is not the hash of its children"
        )


def first_bad_level(levels: Sequence[bytes]) -> NodeMismatch | None:
    """Recompute a stored tree's levels from its leaves; the lowest disagreeing node, if any.

    For trees kept in storage (`MerkleTree.levels`): every stored node must be the hash of its
    two stored children, and every complete pair of children must have its node. This finds the
    lowest level, and the first node in it, where that fails, and so which leaf range's stored
    hashes were tampered with, lost or corrupted.

    What it cannot see: a leaf changed together with every node above it (the stored tree is
    then consistent with itself). Only a comparison with something signed finds that: the root
    against a signed checkpoint (`MerkleTree.root_at`), `bracket_divergence` against a series of
    checkpoints, `differing_ranges` against a trusted tree. Nor can it say whether the child or
    the parent is the altered one; it reports the parent.
    """
    for level in range(1, len(levels)):
        below, here = levels[level - 1], levels[level]
        expected = len(below) // (2 * HASH_SIZE)
        for i in range(max(expected, len(here) // HASH_SIZE)):
            pair = below[2 * i * HASH_SIZE : (2 * i + 2) * HASH_SIZE]
            stored = here[i * HASH_SIZE : (i + 1) * HASH_SIZE]
            # a missing node, a node without children, or a wrong hash
            if (
                len(pair) < 2 * HASH_SIZE
                or len(stored) < HASH_SIZE
                or (hashlib.sha256(_NODE_PREFIX + pair).digest() != stored)
            ):
                return NodeMismatch(level, i, i << level, (i + 1) << level)
    return None


def differing_ranges(
    tree: MerkleTree,
    trusted: MerkleTree | Callable[[int, int], bytes],
    size: int | None = None,
) -> list[tuple[int, int]]:
    """Every leaf range where ``tree`` differs from a trusted tree, down to single leaves.

    Walks the RFC 9162 tree of ``size`` leaves from the root, and descends only into subtrees
    whose hashes differ: a subtree with equal hashes has equal leaves (SHA-256 is collision
    resistant). With ``k`` differing leaves this costs O(k log n) comparisons, so a monitor can
    ask a peer's mirror (any callable answering "hash of leaves [start, end)") instead of
    downloading its whole log.

    Args:
        tree: the tree under suspicion.
        trusted: a tree believed correct, or a function giving its subtree hashes.
        size: how many leaves to compare; both trees' sizes must reach it. All of ``tree`` if None.

    Returns:
        Sorted, merged ``(start, end)`` leaf ranges whose leaf hashes differ; empty if none.
        It says where the two trees differ, not which one is right, and a reordering shows up
        as the range of moved leaves.
    """
    n = tree.size if size is None else size
    tree._check_size("comparison size", n)
    ask = trusted.subtree_hash if isinstance(trusted, MerkleTree) else trusted
    if n == 0:
        return []
    bad: list[tuple[int, int]] = []
    stack = [(0, n)]
    while stack:
        start, end = stack.pop()
        if hmac.compare_digest(tree._range_hash(start, end), ask(start, end)):
            continue
        if end - start == 1:
            if bad and bad[-1][1] == start:
                bad[-1] = (bad[-1][0], end)
            else:
                bad.append((start, end))
            continue
        k = _split(end - start)
        stack.append((start + k, end))  # right last in, so the left half is examined first
        stack.append((start, start + k))
    return bad


def bracket_divergence(
    tree: MerkleTree, checkpoints: Iterable[tuple[int, bytes]]
) -> tuple[int, int] | None:
    """Between which two signed checkpoints the tree first stops matching what was signed.

    Args:
        tree: the stored leaves of a log.
        checkpoints: signed ``(size, root hash)`` pairs of that log, in any order.

    Returns:
        None if every checkpoint's root matches the tree at that size; otherwise ``(a, b)``:
        the leaves before ``a`` match a signed root (or ``a`` is 0) and the first mismatching
        checkpoint has size ``b``, so the first altered leaf lies in ``[a, b)``. A single signed
        root gives ``(0, size)``: it proves that something changed, not where.

    Raises:
        InvalidInput: a checkpoint is larger than the tree (fetch the missing entries first).
    """
    good = 0
    for size, signed in sorted(checkpoints):
        tree._check_size("checkpoint size", size)
        if hmac.compare_digest(tree.root_at(size), signed):
            good = max(good, size)
        else:
            return (good, size)
    return None
