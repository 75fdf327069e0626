"""MAVLink telemetry logs (`.tlog`): stream them, check every CRC, decode what a monitor needs.

A tlog (QGroundControl, MAVProxy, Mission Planner) is a run of records: an 8-byte big-endian
timestamp (microseconds since 1970, when the ground station received the frame) and one
MAVLink 1 or MAVLink 2 frame, as pymavlink's `mavlogfile` writes them. Frames follow
mavlink.io/en/guide/serialization.html: magic 0xFE (v1) or 0xFD (v2), a header, the payload
(MAVLink 2 trims trailing zero bytes; a reader zero-extends), a CRC-16/MCRF4XX ("X.25") over
every byte after the magic plus the message's CRC_EXTRA, and in MAVLink 2 a 13-byte signature
when incompat flag 0x01 is set. Message ids, CRC_EXTRA values and payload layouts are those of
common.xml (with standard.xml) and ardupilotmega.xml as pymavlink 2.4.50 generates them; they
live in `_mavlink_defs.py`, and tests/ingest/test_mavlink_spec.py checks them against pymavlink.

How it goes fast, with no Python loop per frame: every position of a chunk whose byte 8 on
is a valid header is linked to the record after it, and the chain of records from a known
start is followed with pointers 2**k records ahead; the CRCs of all frames of one length are
computed together, 16 bits per table lookup; the payloads of one message type are gathered,
zero-extended and viewed as a packed structured dtype, then scaled to SI units. Only the
current chunk (and at most two records carried into the next) is held, so memory does not
grow with the file; any chunk size gives the same answer.

Damage is counted, never fatal. A frame whose CRC fails is a CRC error when the next record
starts where its length says and is sound, with a timestamp within a day of its own (so the
length byte was right); otherwise its bytes are bad data and the reader resynchronises at
the next position that holds a frame whose CRC checks (or, for an id not in the table, that
is followed by another frame). Every byte of the file ends up in exactly one of: a frame,
`bad_data_bytes`, `truncated_tail_bytes`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Final, Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.ingest._mavlink_defs import (
    BY_NAME,
    CRC_EXTRA,
    MESSAGE_DTYPES,
    MESSAGE_NAMES,
    TLOG_TYPES,
    Message,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "MESSAGE_DTYPES",
    "MESSAGE_NAMES",
    "TLOG_TYPES",
    "Tlog",
    "TlogBatch",
    "TlogCounts",
    "load_tlog",
    "looks_like_tlog",
    "read_tlog",
    "x25_crc",
]

Source = str | os.PathLike[str] | IO[bytes]

#: Bytes read from the file at a time; memory use is a small multiple of this.
DEFAULT_CHUNK_BYTES: Final = 4 << 20
#: Problems (with byte offsets) kept per file; the counts cover everything.
MAX_PROBLEMS: Final = 20

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


# --- decoded messages ---------------------------------------------------------------------


def _quaternion_euler_deg(
    w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Roll, pitch, yaw (degrees, Z-Y-X aerospace order) of w, x, y, z; NaN if not a rotation."""
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = ~(np.abs(norm - 1.0) < 0.1)  # also NaN; a zero quaternion means "not sent"
        w, x, y, z = w / norm, x / norm, y / norm, z / norm
        roll = np.degrees(np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
        pitch = np.degrees(np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0)))
        yaw = np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    for a in (roll, pitch, yaw):
        a[bad] = np.nan
    return roll, pitch, yaw


def _decode(msg: Message, payload: NDArray[np.uint8], out: NDArray[np.void]) -> None:
    """Fill `out`'s message columns from `payload` (n, full wire length), zero-extended."""
    raw = payload.view(msg.wire)[:, 0]
    for f in msg.fields:
        col = raw[f.raw]
        if f.div:
            val = col / f.div
            for bad in f.invalid:
                val[col == bad] = np.nan
            out[f.out] = val
        else:
            out[f.out] = col
    if msg.name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        q = [raw[k].astype(np.float64) for k in ("q_w", "q_x", "q_y", "q_z")]
        out["roll_deg"], out["pitch_deg"], out["yaw_deg"] = _quaternion_euler_deg(*q)
        flags = raw["flags"]
        # common.xml: YAW_IN_EARTH_FRAME (64), else YAW_IN_VEHICLE_FRAME (32), else the
        # older rule: YAW_LOCK (16) means earth frame.
        earth = (flags & 64) != 0
        legacy = ((flags & 96) == 0) & ((flags & 16) != 0)
        out["yaw_in_earth_frame"] = earth | legacy


# --- counts and results -------------------------------------------------------------------


_K = TypeVar("_K", int, str)


def _merged(a: Mapping[_K, int], b: Mapping[_K, int]) -> dict[_K, int]:
    total = Counter(a)
    total.update(b)
    return dict(sorted(total.items()))


def _extreme(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


@dataclass(frozen=True, slots=True)
class TlogCounts:
    """What a stretch of a tlog held. Batches add up (`a + b`) to the whole file's counts.

    Attributes:
        frames: frames whose CRC checked, by message name.
        crc_errors: frames of a known id whose CRC failed (corrupt, or the sender used another
            definition of the message), by message name; not decoded.
        unknown_ids: frames whose id is not in the table (CRC not checkable), by id.
        bad_data_bytes: bytes that were no record, skipped while resynchronising.
        truncated_tail_bytes: an incomplete record cut off by the end of the file.
        bytes: every byte accounted for (frames + bad data + truncated tail).
        mavlink1, mavlink2, signed: records by protocol version; MAVLink 2 frames signed.
        t_min_us, t_max_us: earliest and latest tlog timestamp of a frame (None: no frame).
        problems: the first few damaged places, each with its byte offset.
    """

    frames: Mapping[str, int] = field(default_factory=dict)
    crc_errors: Mapping[str, int] = field(default_factory=dict)
    unknown_ids: Mapping[int, int] = field(default_factory=dict)
    bad_data_bytes: int = 0
    truncated_tail_bytes: int = 0
    bytes: int = 0
    mavlink1: int = 0
    mavlink2: int = 0
    signed: int = 0
    t_min_us: int | None = None
    t_max_us: int | None = None
    problems: tuple[Problem, ...] = ()

    def __add__(self, other: TlogCounts) -> TlogCounts:
        return TlogCounts(
            frames=_merged(self.frames, other.frames),
            crc_errors=_merged(self.crc_errors, other.crc_errors),
            unknown_ids=_merged(self.unknown_ids, other.unknown_ids),
            bad_data_bytes=self.bad_data_bytes + other.bad_data_bytes,
            truncated_tail_bytes=self.truncated_tail_bytes + other.truncated_tail_bytes,
            bytes=self.bytes + other.bytes,
            mavlink1=self.mavlink1 + other.mavlink1,
            mavlink2=self.mavlink2 + other.mavlink2,
            signed=self.signed + other.signed,
            t_min_us=_extreme(self.t_min_us, other.t_min_us, min),
            t_max_us=_extreme(self.t_max_us, other.t_max_us, max),
            problems=(self.problems + other.problems)[:MAX_PROBLEMS],
        )

    @property
    def total_frames(self) -> int:
        """Every frame found: checked, failed and unknown."""
        return (
            sum(self.frames.values())
            + sum(self.crc_errors.values())
            + sum(self.unknown_ids.values())
        )


@dataclass(frozen=True, slots=True)
class TlogBatch:
    """The frames decided in one chunk of a tlog.

    Attributes:
        messages: decoded messages by type name (only types asked for and present), as
            structured arrays of `MESSAGE_DTYPES[name]`, in file order.
        counts: what this stretch held.
    """

    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


@dataclass(frozen=True, slots=True)
class Tlog:
    """A whole tlog, decoded: `messages` by type name and the file's `counts`."""

    path: str
    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


# --- the parser ---------------------------------------------------------------------------

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


class _Parser:
    """Takes chunks; decides what it can, carries the rest (at most a record or two) over."""

    def __init__(self, types: Collection[str], where: str) -> None:
        types = (types,) if isinstance(types, str) else types
        unknown = sorted(set(types) - set(BY_NAME))
        if unknown:
            raise InvalidInput(
                f"cannot decode MAVLink message type(s) {', '.join(unknown)}; "
                f"choose from {', '.join(TLOG_TYPES)}"
            )
        self._wanted = {BY_NAME[t].msgid: BY_NAME[t] for t in types}
        self._where = where
        self._carry = b""
        self._base = 0  # file offset of the carry's first byte
        self._resyncing = False  # the carry starts with a candidate not yet checked
        self._run: list[int] | None = None  # bad data not yet reported: file offset, size
        self._batch = _Batch(0, where)

    def feed(self, chunk: bytes, final: bool) -> TlogBatch:
        buf = self._carry + chunk
        arr = np.zeros(len(buf) + _PAD, dtype=np.uint8)  # padded: gathers stay inside
        arr[: len(buf)] = np.frombuffer(buf, dtype=np.uint8)
        self._batch = _Batch(self._base, self._where)
        keep = self._scan(buf, arr, final)
        self._carry = buf[keep:]
        self._base += keep
        return self._batch.result(arr, self._wanted)

    def _scan(self, buf: bytes, arr: NDArray[np.uint8], final: bool) -> int:
        """Decide as much of `buf` as can be; return where the undecided rest begins."""
        pos = 0
        links = _Links(arr, len(buf))
        if self._resyncing:
            pos, sync = self._resync(buf, 0, 0, final)
            if sync != "found":
                return pos
        while True:
            starts, stop, why = _walk(buf, links, pos)
            if len(starts):
                fr = _Frames.parse(arr, starts)
                known, ok = _crc_ok(arr, fr)
                cut, decided = self._confirm(fr, known & ~ok, arr, stop=stop, why=why, final=final)
                self._batch.add(arr, fr.take(slice(0, cut)), known[:cut], ok[:cut], self._wanted)
                if cut < len(starts):
                    if not decided:
                        return int(fr.start[cut])
                    why, stop = "bad", int(fr.start[cut])
            if why == "need":
                if final:
                    self._batch.tail(stop, len(buf) - stop)
                    return len(buf)
                return stop
            pos, sync = self._resync(buf, stop, stop + 1, final)
            if sync != "found":
                return pos

    @staticmethod
    def _confirm(
        fr: _Frames,
        bad: NDArray[np.bool_],
        arr: NDArray[np.uint8],
        *,
        stop: int,
        why: _Stop,
        final: bool,
    ) -> tuple[int, bool]:
        """How many records to take, and whether the first one not taken is decided (as
        garbage). A failed CRC is a CRC error only if a sound record, with a timestamp near
        its own, follows it (or the file ends where it does)."""
        n = len(arr) - _PAD
        for i in np.flatnonzero(bad).tolist():
            if i + 1 < len(bad):
                if bad[i + 1] or abs(int(fr.stamp[i]) - int(fr.stamp[i + 1])) > _PLAUSIBLE_US:
                    return i, True
            elif why == "bad":
                return i, True
            elif not final:
                return i, False
            elif stop + 9 <= n and arr[stop + 8] not in (_MAGIC_V1, _MAGIC_V2):
                return i, True
        return len(bad), True

    def _garbage(self, offset: int, size: int, *, close: bool) -> None:
        """Count bad data; report each run of it once, when it ends (in whatever chunk)."""
        b = self._batch
        if size > 0:
            b.sizes["bad"] += size
            b.sizes["all"] += size
            if self._run is None:
                self._run = [b.base + offset, 0]
            self._run[1] += size
        if close and self._run is not None:
            start, size = self._run
            b.problem(start, f"{size} bytes that are no MAVLink record skipped")
            self._run = None

    def _resync(self, buf: bytes, garbage: int, p: int, final: bool) -> tuple[int, _Sync]:
        """Find the first sound record at or after `p`; the bytes from `garbage` up to it
        are bad data. Returns its position, or where to carry on from."""
        n = len(buf)
        self._resyncing = True
        # Candidates are records whose magic byte is at q + 8; find() both magics, lazily.
        next_v2 = next_v1 = -2
        while True:
            lo = p + 8
            if next_v2 == -2 or -1 < next_v2 < lo:
                next_v2 = buf.find(b"\xfd", lo)
            if next_v1 == -2 or -1 < next_v1 < lo:
                next_v1 = buf.find(b"\xfe", lo)
            if next_v2 < 0 and next_v1 < 0:
                keep = n if final else max(p, n - 8)
                self._garbage(garbage, keep - garbage, close=final)
                return keep, "end" if final else "wait"
            q = min(m for m in (next_v2, next_v1) if m >= 0) - 8
            verdict = _candidate(buf, q, final)
            if verdict == "no":
                p = q + 1
                continue
            self._garbage(garbage, q - garbage, close=verdict != "more")
            if verdict == "yes":
                self._resyncing = False
                return q, "found"
            if verdict == "more":
                return q, "wait"
            self._batch.tail(q, n - q)
            return n, "end"


class _Batch:
    """Counts, and the frames to decode, gathered while scanning one buffer."""

    def __init__(self, base: int, where: str) -> None:
        self.base = base  # file offset of the buffer
        self.where = where
        self.frames: Counter[int] = Counter()
        self.crc_errors: Counter[int] = Counter()
        self.unknown: Counter[int] = Counter()
        self.sizes = {"bad": 0, "tail": 0, "all": 0, "v1": 0, "v2": 0, "signed": 0}
        self.t_min: int | None = None
        self.t_max: int | None = None
        self.problems: list[Problem] = []
        self.good: list[_Frames] = []

    def problem(self, file_offset: int, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            where = f"{self.where} byte {file_offset}"
            self.problems.append(Problem(where, what, "warning"))

    def tail(self, offset: int, size: int) -> None:
        if size > 0:
            self.sizes["tail"] += size
            self.sizes["all"] += size
            what = f"the file ends inside a record; its last {size} bytes ignored"
            self.problem(self.base + offset, what)

    def add(
        self,
        arr: NDArray[np.uint8],
        fr: _Frames,
        known: NDArray[np.bool_],
        ok: NDArray[np.bool_],
        wanted: Mapping[int, Message],
    ) -> None:
        if not len(fr.start):
            return
        ends = fr.payload + fr.length + 2 + (fr.flags & 1) * _SIGNATURE
        signed = int((fr.flags & 1).sum())
        nv2 = int(fr.v2.sum())
        for key, value in (
            ("all", int((ends - fr.start).sum())),
            ("v1", len(fr.start) - nv2),
            ("v2", nv2),
            ("signed", signed),
        ):
            self.sizes[key] += value
        stamps = fr.stamp
        self.t_min = _extreme(self.t_min, int(stamps.min()), min)
        self.t_max = _extreme(self.t_max, int(stamps.max()), max)
        good = known & ok
        self.frames.update(_count(fr.msgid[good]))
        self.unknown.update(_count(fr.msgid[~known]))
        failed = np.flatnonzero(known & ~ok)
        self.crc_errors.update(_count(fr.msgid[failed]))
        for i in failed[:MAX_PROBLEMS].tolist():
            name = MESSAGE_NAMES[int(fr.msgid[i])]
            self.problem(self.base + int(fr.start[i]), f"{name} frame fails its CRC; not decoded")
        keep = np.flatnonzero(good & np.isin(fr.msgid, list(wanted)))
        if len(keep):
            self.good.append(fr.take(keep))

    def result(self, arr: NDArray[np.uint8], wanted: Mapping[int, Message]) -> TlogBatch:
        messages: dict[str, NDArray[np.void]] = {}
        if self.good:
            fr = _Frames.join(self.good)
            for msgid, msg in wanted.items():
                sel = np.flatnonzero(fr.msgid == msgid)
                if len(sel):
                    messages[msg.name] = _assemble(arr, fr.take(sel), msg, self.base)
        s = self.sizes
        counts = TlogCounts(
            frames={MESSAGE_NAMES[k]: v for k, v in sorted(self.frames.items())},
            crc_errors={MESSAGE_NAMES[k]: v for k, v in sorted(self.crc_errors.items())},
            unknown_ids=dict(sorted(self.unknown.items())),
            bad_data_bytes=s["bad"],
            truncated_tail_bytes=s["tail"],
            bytes=s["all"],
            mavlink1=s["v1"],
            mavlink2=s["v2"],
            signed=s["signed"],
            t_min_us=self.t_min,
            t_max_us=self.t_max,
            problems=tuple(self.problems),
        )
        return TlogBatch(messages, counts)


def _count(ids: NDArray[np.int64]) -> dict[int, int]:
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def _assemble(arr: NDArray[np.uint8], fr: _Frames, msg: Message, base: int) -> NDArray[np.void]:
    """Decode the frames `fr`, all of message `msg`, into a `MESSAGE_DTYPES` array."""
    size = msg.wire.itemsize
    payload = _rows(arr, fr.payload, size)
    payload[np.arange(size)[None, :] >= fr.length[:, None]] = 0  # zero-extend (v2 trims)
    out = np.empty(len(fr.start), dtype=MESSAGE_DTYPES[msg.name])
    out["file_offset"] = fr.start + base
    out["t_us"] = fr.stamp
    seq = fr.start + np.where(fr.v2, 12, 10)
    out["sysid"] = arr[seq + 1]
    out["compid"] = arr[seq + 2]
    _decode(msg, payload, out)
    return out


# --- public entry points ------------------------------------------------------------------


@contextmanager
def _opened(source: Source) -> Iterator[tuple[IO[bytes], str]]:
    if isinstance(source, str | os.PathLike):
        where = os.fspath(source)
        try:
            f = open(where, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror}); check the path") from exc
        with f:
            yield f, where
    else:
        yield source, str(getattr(source, "name", "<stream>"))


def _chunks(f: IO[bytes], where: str, chunk_bytes: int) -> Iterator[bytes]:
    if chunk_bytes < 1:
        raise InvalidInput(f"chunk_bytes must be at least 1, not {chunk_bytes}")
    while True:
        try:
            chunk = f.read(chunk_bytes)
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror})") from exc
        if not chunk:
            return
        yield chunk


_B = TypeVar("_B")
_B_co = TypeVar("_B_co", covariant=True)


class _Feeds(Protocol[_B_co]):
    def feed(self, chunk: bytes, final: bool) -> _B_co: ...


def _stream(
    source: Source,
    chunk_bytes: int,
    parser_for: Callable[[str], _Feeds[_B]],
    worth_yielding: Callable[[_B], bool],
) -> Iterator[_B]:
    """Feed a file to a parser chunk by chunk (then once with final=True); yield its batches."""
    with _opened(source) as (f, where):
        parser = parser_for(where)
        for chunk in _chunks(f, where, chunk_bytes):
            batch = parser.feed(chunk, final=False)
            if worth_yielding(batch):
                yield batch
        batch = parser.feed(b"", final=True)
        if worth_yielding(batch):
            yield batch


def read_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[TlogBatch]:
    """Stream a tlog: one batch per chunk read, with the messages of `types` decoded.

    Damage (CRC failures, garbage, a cut-off end) is counted in each batch's `counts`, never
    raised; memory stays within a few chunks whatever the file's size.

    Args:
        source: a path, or a binary file object open for reading.
        types: message type names to decode (see `TLOG_TYPES`); the others are only counted.
        chunk_bytes: bytes read at a time.

    Raises:
        InvalidInput: the file cannot be read, or `types` names a type not decoded here.

    Example:
        >>> for batch in read_tlog("flight.tlog", types=["ATTITUDE"]):
        ...     print(batch.messages.get("ATTITUDE", [])[:1])  # doctest: +SKIP
    """
    yield from _stream(
        source,
        chunk_bytes,
        lambda where: _Parser(types, where),
        lambda b: bool(b.counts.bytes or b.counts.problems),
    )


def load_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tlog:
    """Read a whole tlog: every message of `types` as one structured array per type.

    Example:
        >>> log = load_tlog("flight.tlog")  # doctest: +SKIP
        >>> log.messages["GLOBAL_POSITION_INT"]["lat_deg"], log.counts.crc_errors
    """
    parts: dict[str, list[NDArray[np.void]]] = {}
    counts = TlogCounts()
    with _opened(source) as (f, where):
        for batch in read_tlog(f, types=types, chunk_bytes=chunk_bytes):
            counts = counts + batch.counts
            for name, arr in batch.messages.items():
                parts.setdefault(name, []).append(arr)
    messages = {name: np.concatenate(parts[name]) for name in TLOG_TYPES if name in parts}
    return Tlog(where, messages, counts)


def looks_like_tlog(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file (64 KiB is plenty), is the start of a tlog:
    frames whose CRC checks, from byte 0 or after a little garbage."""
    counts = _Parser((), "").feed(head, final=True).counts
    checked = sum(counts.frames.values())
    if counts.bad_data_bytes == 0:
        return checked >= 1
    return checked >= 3 and counts.bad_data_bytes <= len(head) // 2
