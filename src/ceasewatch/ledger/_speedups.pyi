"""Types of the C extension `ceasewatch.ledger._speedups` (see `ceasewatch.ledger._bulk`)."""

from collections.abc import Sequence

Buffer = bytes | bytearray | memoryview

def leaf_hashes(
    datas: Sequence[Buffer] | Sequence[tuple[Buffer, ...]], column: int | None = None, /
) -> bytes: ...
def sha256(
    datas: Sequence[Buffer] | Sequence[tuple[Buffer, ...]], column: int | None = None, /
) -> bytes: ...
def parents(level: Buffer, /) -> bytes: ...
def key_counts(
    datas: Sequence[Buffer] | Sequence[tuple[Buffer, ...]],
    key: bytes,
    value: bytes,
    column: int | None = None,
    /,
) -> tuple[int, int]: ...
def packed(
    items: Sequence[Buffer] | Sequence[tuple[Buffer, ...]], size: int, column: int | None = None, /
) -> bytes | None: ...
