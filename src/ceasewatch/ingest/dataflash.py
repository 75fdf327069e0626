"""ArduPilot DataFlash logs (`.bin`): stream the records, decode the ones a monitor needs.

A DataFlash log describes itself (ArduPilot libraries/AP_Logger/LogStructure.h; pymavlink's
DFReader reads the same way): every record is 0xA3 0x95, a type byte, and the fields of that
type packed little-endian. FMT records (type 128, 89 bytes) define each type: its length,
name, format characters and column names. FMTU, UNIT and MULT records give the columns'
units. The format characters used here, and their scale (the value logged is value x scale):

    b B h H i I q Q  ints        f d g  float32/64/16    n N Z  char[4/16/64]
    c C  int16/uint16 x 100      e E  int32/uint32 x 100      L  int32 lat/lon x 1e7
    M  uint8 flight mode         a  int16[32]

There is no checksum: a byte that does not start a record of a defined type is bad data,
skipped up to the next 0xA3 0x95 that does (as DFReader does). Records are found by a Python
loop over headers; each type's records are then decoded together with numpy. Timestamps are
the log's own (`TimeUS`, microseconds since boot); `gps_utc_us` turns GPS week and
milliseconds into UTC.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import Problem
from ceasewatch.ingest.mavlink import (
    DEFAULT_CHUNK_BYTES,
    MAX_PROBLEMS,
    Source,
    _merged,
    _opened,
    _rows,
    _stream,
)

__all__ = [
    "DATAFLASH_TYPES",
    "DataFlashBatch",
    "DataFlashCounts",
    "DataFlashLog",
    "gps_utc_us",
    "load_dataflash",
    "looks_like_dataflash",
    "read_dataflash",
]

#: Record types decoded by default: position, attitude, gimbal, camera, errors.
DATAFLASH_TYPES: Final = ("GPS", "GPS2", "POS", "ATT", "AHR2", "MNT", "CAM", "ERR")

_HEAD: Final = b"\xa3\x95"
_FMT_TYPE: Final = 0x80
_FMT_LENGTH: Final = 89
_FMT_BODY: Final = struct.Struct("<BB4s16s64s")
_UNIT_TYPES: Final = ("FMTU", "UNIT", "MULT")  # always decoded: they name the units

# Format character: (numpy dtype of the wire value, divisor to apply, or 0).
_CHARS: Final[Mapping[str, tuple[str, float]]] = {
    "a": ("(32,)<i2", 0), "b": ("i1", 0), "B": ("u1", 0), "h": ("<i2", 0), "H": ("<u2", 0),
    "i": ("<i4", 0), "I": ("<u4", 0), "q": ("<i8", 0), "Q": ("<u8", 0), "f": ("<f4", 0),
    "d": ("<f8", 0), "g": ("<f2", 0), "n": ("S4", 0), "N": ("S16", 0), "Z": ("S64", 0),
    "c": ("<i2", 100), "C": ("<u2", 100), "e": ("<i4", 100), "E": ("<u4", 100),
    "L": ("<i4", 1e7), "M": ("u1", 0),
}  # fmt: skip

_PREFIXES: Final = {1e-1: "d", 1e-2: "c", 1e-3: "m", 1e-6: "u", 1e-9: "n"}

# GPS time - UTC (leap seconds) from the date each value began (as GPS seconds since 1980).
_GPS_EPOCH_UNIX_S: Final = 315_964_800
_LEAPS: Final = ((1_167_264_018, 18), (1_119_744_017, 17), (1_025_136_016, 16),
                 (914_803_215, 15), (820_108_814, 14), (0, 13))  # fmt: skip


def gps_utc_us(week: NDArray[np.integer], ms: NDArray[np.integer]) -> NDArray[np.int64]:
    """UTC (microseconds since 1970) of GPS week numbers and milliseconds into the week.

    Leap seconds are those in force at the time (18 since 2017-01-01); 0 where week is 0
    (no GPS time yet).
    """
    gps_s = week.astype(np.int64) * 604_800 + ms.astype(np.int64) // 1000
    leap = np.full(gps_s.shape, 13, dtype=np.int64)
    for start, value in reversed(_LEAPS):
        leap[gps_s >= start] = value
    utc = (week.astype(np.int64) * 604_800 + _GPS_EPOCH_UNIX_S - leap) * 1_000_000
    utc += ms.astype(np.int64) * 1000
    return np.where(week > 0, utc, 0)


@dataclass(frozen=True, slots=True)
class _Format:
    """One record type, as an FMT record defines it."""

    type_id: int
    name: str
    length: int  # whole record, header included
    chars: str
    columns: tuple[str, ...]
    wire: np.dtype[np.void] | None  # None: the definition does not hold together
    out: np.dtype[np.void] | None

    @classmethod
    def define(cls, type_id: int, name: str, length: int, chars: str, cols: str) -> _Format:
        columns = tuple(cols.split(",")) if cols else ()
        wire = out = None
        known = all(c in _CHARS for c in chars)
        if known and len(columns) == len(chars) and len(set(columns)) == len(columns):
            wire = np.dtype([(col, _CHARS[c][0]) for col, c in zip(columns, chars, strict=True)])
            if wire.itemsize + 3 == length:
                out = np.dtype(
                    [("file_offset", "<i8")]
                    + [
                        (col, "<f8" if _CHARS[c][1] else _CHARS[c][0])
                        for col, c in zip(columns, chars, strict=True)
                    ]
                )
            else:
                wire = None
        return cls(type_id, name, length, chars, columns, wire, out)

    def decode(self, arr: NDArray[np.uint8], starts: NDArray[np.int64]) -> NDArray[np.void]:
        assert self.wire is not None and self.out is not None
        size = self.wire.itemsize
        rows = _rows(arr, starts + 3, size)
        raw = rows.view(self.wire)[:, 0]
        out = np.empty(len(starts), dtype=self.out)
        for col, c in zip(self.columns, self.chars, strict=True):
            div = _CHARS[c][1]
            out[col] = raw[col] / div if div else raw[col]
        return out


_FMT: Final = _Format.define(
    _FMT_TYPE, "FMT", _FMT_LENGTH, "BBnNZ", "Type,Length,Name,Format,Columns"
)


@dataclass(frozen=True, slots=True)
class DataFlashCounts:
    """What a stretch of a DataFlash log held; batches add up (`a + b`).

    Attributes:
        records: records by type name (every type, decoded or not).
        bad_data_bytes: bytes that started no record of a defined type, skipped.
        truncated_tail_bytes: an incomplete record cut off by the end of the file.
        bytes: every byte accounted for (records + bad data + truncated tail).
        undecodable: types whose FMT does not hold together (counted, not decoded).
        problems: the first few damaged places, each with its byte offset.
    """

    records: Mapping[str, int] = field(default_factory=dict)
    bad_data_bytes: int = 0
    truncated_tail_bytes: int = 0
    bytes: int = 0
    undecodable: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    def __add__(self, other: DataFlashCounts) -> DataFlashCounts:
        return DataFlashCounts(
            records=_merged(self.records, other.records),
            bad_data_bytes=self.bad_data_bytes + other.bad_data_bytes,
            truncated_tail_bytes=self.truncated_tail_bytes + other.truncated_tail_bytes,
            bytes=self.bytes + other.bytes,
            undecodable=tuple(sorted(set(self.undecodable) | set(other.undecodable))),
            problems=(self.problems + other.problems)[:MAX_PROBLEMS],
        )


@dataclass(frozen=True, slots=True)
class DataFlashBatch:
    """The records decided in one chunk.

    Attributes:
        messages: decoded records by type name, as structured arrays with the log's own
            column names (scaled: `c`/`C`/`e`/`E` columns / 100, `L` columns / 1e7, so
            degrees and metres for ArduPilot's Lat, Lng, Alt, Roll...) after `file_offset`, the
            record's byte offset in the file. A type redefined with other columns midway
            continues as `NAME.2`.
        units: unit of each column by type name, from the FMTU/UNIT records read so far.
        counts: what this stretch held.
    """

    messages: Mapping[str, NDArray[np.void]]
    units: Mapping[str, Mapping[str, str]]
    counts: DataFlashCounts


@dataclass(frozen=True, slots=True)
class DataFlashLog:
    """A whole DataFlash log, decoded (see `DataFlashBatch` for the fields)."""

    path: str
    messages: Mapping[str, NDArray[np.void]]
    units: Mapping[str, Mapping[str, str]]
    counts: DataFlashCounts


class _Parser:
    """Takes chunks; decides what it can, carries the rest (at most one record) over."""

    def __init__(self, types: Collection[str], where: str) -> None:
        self._wanted = {types} if isinstance(types, str) else set(types)
        self._where = where
        self._formats: dict[int, _Format] = {_FMT_TYPE: _FMT}
        self._lengths = [0] * 256
        self._lengths[_FMT_TYPE] = _FMT_LENGTH
        self._keys: dict[str, list[np.dtype[np.void]]] = {}  # name -> dtypes seen, in order
        self._labels: dict[int, str] = {}  # UNIT: id -> label
        self._mults: dict[int, float] = {}  # MULT: id -> multiplier
        self._fmtu: dict[int, tuple[bytes, bytes]] = {}  # FMTU: type id -> unit, mult ids
        self._carry = b""
        self._base = 0
        self._run: list[int] | None = None  # bad data not yet reported: file offset, size
        self._resyncing = False  # the carry is still being searched for a header

    def feed(self, chunk: bytes, final: bool) -> DataFlashBatch:
        buf = self._carry + chunk
        arr = np.zeros(len(buf) + 256, dtype=np.uint8)
        arr[: len(buf)] = np.frombuffer(buf, dtype=np.uint8)
        self._out: dict[str, list[NDArray[np.void]]] = {}
        self._records: Counter[str] = Counter()
        self._sizes = {"bad": 0, "tail": 0, "all": 0}
        self._problems: list[Problem] = []
        keep = self._scan(buf, arr, final)
        self._carry = buf[keep:]
        self._base += keep
        counts = DataFlashCounts(
            records=dict(sorted(self._records.items())),
            bad_data_bytes=self._sizes["bad"],
            truncated_tail_bytes=self._sizes["tail"],
            bytes=self._sizes["all"],
            undecodable=tuple(sorted(f.name for f in self._formats.values() if f.out is None)),
            problems=tuple(self._problems),
        )
        messages = {k: np.concatenate(v) for k, v in self._out.items()}
        return DataFlashBatch(messages, self._units(), counts)

    def _scan(self, buf: bytes, arr: NDArray[np.uint8], final: bool) -> int:
        """Decide as much of `buf` as can be; return where the undecided rest begins."""
        n = len(buf)
        pos = 0
        if self._resyncing:
            pos, found = self._resync(buf, 0, 0, final)
            if not found:
                return pos
        while True:
            starts, stop, why = self._walk(buf, pos)
            if starts:
                self._take(arr, np.asarray(starts, dtype=np.int64))
            if why == "fmt":
                pos = stop
                continue
            if why == "need":
                if not final:
                    return stop
                self._tail(stop, n - stop)
                return n
            pos, found = self._resync(buf, stop, stop + 1, final)
            if not found:
                return pos

    def _walk(self, buf: bytes, pos: int) -> tuple[list[int], int, Literal["need", "bad", "fmt"]]:
        """Record starts from `pos`; stops early after an FMT that redefines a type."""
        n = len(buf)
        lengths = self._lengths
        starts: list[int] = []
        append = starts.append
        while True:
            if pos + 3 > n:
                return starts, pos, "need"
            if buf[pos] != 0xA3 or buf[pos + 1] != 0x95 or not lengths[buf[pos + 2]]:
                return starts, pos, "bad"
            end = pos + lengths[buf[pos + 2]]
            if end > n:
                return starts, pos, "need"
            if buf[pos + 2] == _FMT_TYPE:
                fmt = _parse_fmt(buf[pos + 3 : end])
                old = self._formats.get(fmt.type_id) if fmt else None
                if fmt and old and old != fmt and starts:
                    # Decode what came before under the old definition first.
                    return starts, pos, "fmt"
                if fmt:
                    self._formats[fmt.type_id] = fmt
                    self._lengths[fmt.type_id] = fmt.length
            append(pos)
            pos = end

    def _resync(self, buf: bytes, garbage: int, p: int, final: bool) -> tuple[int, bool]:
        """Skip to the first header of a defined type at or after `p`: (its position,
        True), or (where to carry on looking from, False) when `buf` holds none."""
        n = len(buf)
        while True:
            q = buf.find(_HEAD, p)
            if q < 0 or q + 3 > n:
                keep = n if final else (q if q >= 0 else max(p, n - 1))
                self._bad(garbage, keep - garbage, close=final)
                self._resyncing = not final
                return keep, False
            if self._lengths[buf[q + 2]]:
                self._bad(garbage, q - garbage, close=True)
                self._resyncing = False
                return q, True
            p = q + 1

    def _bad(self, offset: int, size: int, *, close: bool) -> None:
        """Count bad data; report each run of it once, when it ends (in whatever chunk)."""
        if size > 0:
            self._sizes["bad"] += size
            self._sizes["all"] += size
            if self._run is None:
                self._run = [self._base + offset, 0]
            self._run[1] += size
        if close and self._run is not None:
            start, size = self._run
            self._problem(start, f"{size} bytes that start no record of a defined type skipped")
            self._run = None

    def _tail(self, offset: int, size: int) -> None:
        self._bad(offset, 0, close=True)
        if size > 0:
            self._sizes["tail"] += size
            self._sizes["all"] += size
            what = f"the file ends inside a record; its last {size} bytes ignored"
            self._problem(self._base + offset, what)

    def _problem(self, file_offset: int, what: str) -> None:
        if len(self._problems) < MAX_PROBLEMS:
            where = f"{self._where} byte {file_offset}"
            self._problems.append(Problem(where, what, "warning"))

    def _take(self, arr: NDArray[np.uint8], starts: NDArray[np.int64]) -> None:
        types = arr[starts + 2]
        ids, counts = np.unique(types, return_counts=True)
        for type_id, count in zip(ids.tolist(), counts.tolist(), strict=True):
            fmt = self._formats[type_id]
            self._records[fmt.name] += count
            self._sizes["all"] += count * fmt.length
            wanted = fmt.name in self._wanted
            if fmt.out is None or not (wanted or fmt.name in _UNIT_TYPES):
                continue
            sel = starts[types == type_id]
            out = fmt.decode(arr, sel)
            out["file_offset"] = sel + self._base
            self._note_units(fmt.name, out)
            if wanted:
                self._out.setdefault(self._key(fmt.name, out.dtype), []).append(out)

    def _key(self, name: str, dtype: np.dtype[np.void]) -> str:
        seen = self._keys.setdefault(name, [])
        if dtype not in seen:
            seen.append(dtype)
        i = seen.index(dtype)
        return name if i == 0 else f"{name}.{i + 1}"

    def _note_units(self, name: str, out: NDArray[np.void]) -> None:
        cols = set(out.dtype.names or ())
        if name == "UNIT" and {"Id", "Label"} <= cols:
            for i, label in zip(out["Id"].tolist(), out["Label"].tolist(), strict=True):
                self._labels[int(i) & 0xFF] = _text(label)
        elif name == "MULT" and {"Id", "Mult"} <= cols:
            for i, mult in zip(out["Id"].tolist(), out["Mult"].tolist(), strict=True):
                self._mults[int(i) & 0xFF] = float(f"{mult:.7g}")  # logged as float32
        elif name == "FMTU" and {"FmtType", "UnitIds", "MultIds"} <= cols:
            cells = (out[k].tolist() for k in ("FmtType", "UnitIds", "MultIds"))
            for t, units, mults in zip(*cells, strict=True):
                self._fmtu[int(t)] = (units, mults)

    def _units(self) -> dict[str, dict[str, str]]:
        """Each column's unit, for the values as decoded (with any scale applied)."""
        units: dict[str, dict[str, str]] = {}
        for type_id, (unit_ids, mult_ids) in self._fmtu.items():
            fmt = self._formats.get(type_id)
            if fmt is None:
                continue
            named: dict[str, str] = {}
            for i, (col, c) in enumerate(zip(fmt.columns, fmt.chars, strict=True)):
                label = self._labels.get(unit_ids[i]) if i < len(unit_ids) else None
                if not label:
                    continue
                mult = self._mults.get(mult_ids[i], 1.0) if i < len(mult_ids) else 1.0
                if _CHARS[c][1] or mult in (0.0, 1.0):  # scaled when decoded, or base unit
                    named[col] = label
                else:
                    named[col] = _PREFIXES.get(mult, f"{mult:g} ") + label
            if named:
                units[fmt.name] = named
        return units


def _parse_fmt(body: bytes) -> _Format | None:
    type_id, length, name, chars, cols = _FMT_BODY.unpack_from(body.ljust(86, b"\0"))
    if length < 3:
        return None
    return _Format.define(type_id, _text(name), length, _text(chars), _text(cols))


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def read_dataflash(
    source: Source,
    *,
    types: Collection[str] = DATAFLASH_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[DataFlashBatch]:
    """Stream a DataFlash log: one batch per chunk read, the records of `types` decoded.

    Damage is counted in each batch's `counts`, never raised; memory stays within a few
    chunks whatever the file's size.

    Args:
        source: a path, or a binary file object open for reading.
        types: record type names to decode (any the log defines); the others are counted.
        chunk_bytes: bytes read at a time.

    Raises:
        InvalidInput: the file cannot be read.

    Example:
        >>> for batch in read_dataflash("00000042.BIN", types=["GPS"]):  # doctest: +SKIP
        ...     print(batch.messages.get("GPS", [])[:1])
    """
    yield from _stream(
        source,
        chunk_bytes,
        lambda where: _Parser(types, where),
        lambda b: bool(b.counts.bytes or b.counts.problems),
    )


def load_dataflash(
    source: Source,
    *,
    types: Collection[str] = DATAFLASH_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> DataFlashLog:
    """Read a whole DataFlash log: the records of `types`, one structured array per type.

    Example:
        >>> log = load_dataflash("00000042.BIN")  # doctest: +SKIP
        >>> log.messages["GPS"]["Lat"], log.units["GPS"]["Lat"]  # degrees, "deglatitude"
    """
    parts: dict[str, list[NDArray[np.void]]] = {}
    counts = DataFlashCounts()
    units: Mapping[str, Mapping[str, str]] = {}
    with _opened(source) as (f, where):
        for batch in read_dataflash(f, types=types, chunk_bytes=chunk_bytes):
            counts = counts + batch.counts
            units = batch.units
            for name, arr in batch.messages.items():
                parts.setdefault(name, []).append(arr)
    messages = {name: np.concatenate(arrs) for name, arrs in parts.items()}
    return DataFlashLog(where, messages, units, counts)


def looks_like_dataflash(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file, begins a DataFlash log: with an FMT record
    (ArduPilot writes the one that defines FMT itself first)."""
    if not head.startswith(_HEAD + bytes((_FMT_TYPE,))):
        return False
    return len(head) < _FMT_LENGTH or _parse_fmt(head[3:_FMT_LENGTH]) is not None
