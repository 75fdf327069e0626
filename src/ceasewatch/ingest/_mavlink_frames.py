"""MAVLink records in a tlog buffer: the X.25 checksum, finding records, checking CRCs.

The byte-level half of `ceasewatch.ingest.mavlink` (its module docstring gives the tlog
format, how the reader goes fast and what counts as damage): where records start, how
they chain, and which frames' CRCs check, all as numpy steps over a whole buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from ceasewatch.ingest._mavlink_defs import CRC_EXTRA

_MAGIC_V1: Final = 0xFE
_MAGIC_V2: Final = 0xFD
_STAMP: Final = 8  # tlog timestamp bytes before each frame
_PAD: Final = 300  # zero bytes after a buffer: more than the longest record
_SIGNATURE: Final = 13


# --- CRC-16/MCRF4XX (poly 0x1021 reflected, init 0xFFFF, no final xor) -------------------


def _crc_table_8() -> NDArray[np.uint16]:
    crc = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        crc = np.where(crc & 1, (crc >> 1) ^ 0x8408, crc >> 1)
    return crc.astype(np.uint16)


def _crc_table_16(t8: NDArray[np.uint16]) -> NDArray[np.uint16]:
    # Two bytes at once: for a 16-bit register, feeding the little-endian word w is
    # x -> T16[x ^ w], where T16 runs 16 zero bits through the register.
    crc = np.arange(1 << 16, dtype=np.uint16)
    for _ in range(2):
        crc = (crc >> 8) ^ t8[crc & 0xFF]
    return crc


_T8: Final = _crc_table_8()
_T16: Final = _crc_table_16(_T8)


def x25_crc(data: bytes, crc: int = 0xFFFF) -> int:
    """MAVLink's checksum (CRC-16/MCRF4XX) of `data`, continuing from `crc`."""
    table = _T8
    for b in data:
        crc = (crc >> 8) ^ int(table[(crc ^ b) & 0xFF])
    return crc


def _at(arr: NDArray[np.uint8], dtype: str) -> NDArray[Any]:
    """A view of `arr` whose element i is the `dtype` value stored from byte i on."""
    dt = np.dtype(dtype)
    return np.ndarray((len(arr) - dt.itemsize + 1,), dtype=dt, buffer=arr, strides=(1,))


def _rows(arr: NDArray[np.uint8], starts: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """Copies of arr[s : s + width] for each s in `starts`, as the rows of one array."""
    return _at(arr, f"V{width}")[starts].view(np.uint8).reshape(len(starts), width)


def _crc_rows(rows: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """The checksum of every row of `rows` (n, m), m bytes each."""
    n, m = rows.shape
    crc = np.full(n, 0xFFFF, dtype=np.uint16)
    j = 0
    if m & 1:
        crc = (crc >> 8) ^ _T8[(crc ^ rows[:, 0]) & 0xFF]
        j = 1
    words = np.ascontiguousarray(rows[:, j:]).view("<u2")
    for col in np.ascontiguousarray(words.T):
        crc = _T16[crc ^ col]
    return crc


# --- records in a buffer ------------------------------------------------------------------

# Why a walk stopped: the next record is incomplete ("need") or is no record ("bad").
# What resynchronising found: a sound record ("found"), one to decide with more data
# ("wait"), or nothing more in the file ("end").
_Stop = Literal["need", "bad"]
_Sync = Literal["found", "wait", "end"]


class _Links:
    """Every complete record with a valid header in a buffer, wherever it starts, and
    pointers 2**k records ahead: a walk from any of them is a few numpy steps, not a loop."""

    def __init__(self, arr: NDArray[np.uint8], n: int) -> None:
        magic = arr[_STAMP:n]
        v2 = magic == _MAGIC_V2
        start = np.flatnonzero(v2 | (magic == _MAGIC_V1))
        v2 = v2[start]
        length = arr[start + 9].astype(np.int64)
        flags = arr[start + 10]
        end = start + np.where(v2, 20 + length + _SIGNATURE * (flags & 1), 16 + length)
        ok = (end <= n) & ~(v2 & (flags & 0xFE != 0))  # an unknown incompat flag: drop it
        self.start, self.end = start[ok], end[ok]
        count = len(self.start)
        nxt = np.searchsorted(self.start, self.end)  # the record that starts where one ends
        hit = nxt < count
        hit[hit] = self.start[nxt[hit]] == self.end[hit]
        self._jumps = [np.append(np.where(hit, nxt, count), count)]  # count: none

    def walk(self, pos: int) -> NDArray[np.intp]:
        """Indices of the records chained from the one at `pos` (empty: none starts there)."""
        count = len(self.start)
        i = int(np.searchsorted(self.start, pos))
        if i == count or self.start[i] != pos:
            return np.empty(0, dtype=np.intp)
        path = np.array([i], dtype=np.intp)
        for k in range(64):  # after round k the path holds its first 2**(k+1) records
            if k == len(self._jumps):
                self._jumps.append(self._jumps[-1][self._jumps[-1]])
            more = self._jumps[k][path]
            more = more[more < count]
            path = np.concatenate([path, more])
            if len(more) < len(path) - len(more):
                break
        return path


def _walk(buf: bytes, links: _Links, pos: int) -> tuple[NDArray[np.int64], int, _Stop]:
    """Record starts from `pos` while headers are valid; where and why it stopped."""
    path = links.walk(pos)
    starts = links.start[path]
    if len(path):
        pos = int(links.end[path[-1]])
    n = len(buf)
    if pos + 11 > n:  # magic, length and flags not all here (no record is shorter)
        return starts, pos, "need"
    magic = buf[pos + 8]
    if (magic == _MAGIC_V2 and not buf[pos + 10] & 0xFE) or magic == _MAGIC_V1:
        return starts, pos, "need"  # a valid header: the record goes past the buffer
    return starts, pos, "bad"


def _candidate(buf: bytes, q: int, final: bool) -> Literal["yes", "no", "more", "tail"]:
    """Whether a sound record starts at `q` (its magic byte is at q + 8)."""
    n = len(buf)
    if q + 11 > n:
        return "tail" if final else "more"
    length = buf[q + 9]
    if buf[q + 8] == _MAGIC_V2:
        flags = buf[q + 10]
        if flags & 0xFE:
            return "no"
        head, end = 10, q + 20 + length + (_SIGNATURE if flags else 0)
    else:
        head, end = 6, q + 16 + length
    if end > n:
        return "tail" if final else "more"
    msgid = buf[q + 15] | buf[q + 16] << 8 | buf[q + 17] << 16 if head == 10 else buf[q + 13]
    if msgid < len(CRC_EXTRA) and CRC_EXTRA[msgid] >= 0:
        crc_end = q + 8 + head + length
        crc = x25_crc(buf[q + 9 : crc_end] + bytes((int(CRC_EXTRA[msgid]),)))
        return "yes" if crc == buf[crc_end] | buf[crc_end + 1] << 8 else "no"
    # An id we cannot check: believe it only if another record follows it.
    if end + 9 > n:
        return "yes" if final else "more"
    return "yes" if buf[end + 8] in (_MAGIC_V1, _MAGIC_V2) else "no"


@dataclass(frozen=True, slots=True)
class _Frames:
    """Header fields of the records starting at `start` (positions in the buffer)."""

    start: NDArray[np.int64]
    v2: NDArray[np.bool_]
    length: NDArray[np.int64]
    flags: NDArray[np.int64]
    msgid: NDArray[np.int64]
    payload: NDArray[np.int64]  # position of the payload's first byte
    stamp: NDArray[np.int64]  # tlog timestamp, microseconds since 1970

    @classmethod
    def parse(cls, arr: NDArray[np.uint8], start: NDArray[np.int64]) -> _Frames:
        v2 = arr[start + 8] == _MAGIC_V2
        seq = start + np.where(v2, 12, 10)  # then sysid, compid, msgid (1 or 3 bytes)
        msgid = _at(arr, "<u4")[seq + 3].astype(np.int64)  # 3 bytes in v2, 1 in v1
        return cls(
            start=start,
            v2=v2,
            length=arr[start + 9].astype(np.int64),
            flags=np.where(v2, arr[start + 10], 0).astype(np.int64),
            msgid=msgid & np.where(v2, 0xFFFFFF, 0xFF),
            payload=seq + np.where(v2, 6, 4),
            stamp=_at(arr, ">u8")[start].astype(np.int64),
        )

    def take(self, keep: NDArray[np.bool_] | NDArray[np.intp] | slice) -> _Frames:
        return _Frames(*(getattr(self, k)[keep] for k in _FRAME_FIELDS))

    @staticmethod
    def join(parts: list[_Frames]) -> _Frames:
        return _Frames(*(np.concatenate([getattr(p, k) for p in parts]) for k in _FRAME_FIELDS))


_FRAME_FIELDS: Final = ("start", "v2", "length", "flags", "msgid", "payload", "stamp")
# A frame whose CRC fails is believed (as a CRC error) only if its timestamp is within this
# of the next record's: the 8 bytes before a false magic byte are no time near the others.
_PLAUSIBLE_US: Final = 86_400_000_000


def _crc_ok(arr: NDArray[np.uint8], fr: _Frames) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(id known, CRC checks) for each frame; the second is True where the id is unknown."""
    extra = CRC_EXTRA[np.minimum(fr.msgid, len(CRC_EXTRA) - 1)]
    known = (fr.msgid < len(CRC_EXTRA)) & (extra >= 0)
    ok = np.ones(len(known), dtype=bool)
    idx = np.flatnonzero(known)
    first = fr.start[idx] + 9  # the CRC covers the header after the magic and the payload
    covered = fr.payload[idx] + fr.length[idx] - first
    stored = _at(arr, "<u2")[first + covered]
    order = np.argsort(covered.astype(np.int16), kind="stable")  # a radix sort
    for group in np.split(order, np.flatnonzero(np.diff(covered[order])) + 1):
        if not len(group):
            continue
        m = int(covered[group[0]])
        rows = _rows(arr, first[group], m + 1)
        rows[:, m] = extra[idx[group]]  # in place of the CRC's first byte
        ok[idx[group]] = _crc_rows(rows) == stored[group]
    return known, ok
