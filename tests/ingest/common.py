"""A MISB ST 0601 KLV encoder for the tests, written from the standard independently of the
decoder in `ceasewatch.ingest.klv` (only the 16-byte key is shared)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ceasewatch.ingest.klv import UAS_LS_KEY


def ber(n: int, *, width: int = 0) -> bytes:
    """BER length: short form below 128 unless `width` asks for that many long-form bytes."""
    if n < 128 and not width:
        return bytes([n])
    width = width or max(1, (n.bit_length() + 7) // 8)
    return bytes([0x80 | width]) + n.to_bytes(width, "big")


def oid(tag: int) -> bytes:
    """BER-OID tag: 7 bits a byte, most significant first, high bit on all but the last."""
    out = [tag & 0x7F]
    tag >>= 7
    while tag:
        out.append(0x80 | (tag & 0x7F))
        tag >>= 7
    return bytes(reversed(out))


def item(tag: int, value: bytes, *, width: int = 0) -> bytes:
    return oid(tag) + ber(len(value), width=width) + value


def running_sum(data: bytes) -> int:
    """ST 0601 checksum as the standard's reference code does it: 16-bit big-endian words."""
    if len(data) % 2:
        data += b"\x00"
    words: tuple[int, ...] = struct.unpack(f">{len(data) // 2}H", data)
    return sum(words) & 0xFFFF


def packet(
    items: Sequence[bytes], *, width: int = 0, checksum: bool = True, corrupt: bool = False
) -> bytes:
    """A UAS Datalink LS packet of the given encoded items, ending with a checksum item."""
    body = b"".join(items)
    if not checksum:
        return UAS_LS_KEY + ber(len(body), width=width) + body
    head = UAS_LS_KEY + ber(len(body) + 4, width=width) + body + b"\x01\x02"
    cs = running_sum(head) ^ (0x0101 if corrupt else 0)
    return head + cs.to_bytes(2, "big")


def smap(value: float, size: int, hi: float) -> bytes:
    return round(value / hi * ((1 << (8 * size - 1)) - 1)).to_bytes(size, "big", signed=True)


def umap(value: float, size: int, lo: float, hi: float) -> bytes:
    return round((value - lo) / (hi - lo) * ((1 << (8 * size)) - 1)).to_bytes(size, "big")


def t_item(t_us: int) -> bytes:
    return item(2, t_us.to_bytes(8, "big"))
