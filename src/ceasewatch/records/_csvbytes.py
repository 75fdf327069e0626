"""The cells of a plain CSV body as byte offsets, and sightings checked from those bytes.

A plain body (ASCII, no quote, LF line ends, no blank at a cell's ends, every line as
many cells as the header, no blank row) is what `write_records` and most tools write.
Its cells need not become Python strings to be checked: numpy finds every separator,
and each column is read from the bytes at once. Decimals of up to 15 digits are read
exactly (the digits as an integer, divided by a power of ten: one correctly rounded IEEE
division, as float() rounds); words (orgs, kinds, observers, ...) are told apart by
comparing their bytes, and each distinct word is read once; times by `_csvtime`. Only
the ids become strings per row. Any value of another form (an exponent, a compass
point, a word of odd case) is read from its text by the same readers `_csvfast` uses,
so every row gets the outcome `_csvfast.check_sightings` gives it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasewatch.records import _csvtime

__all__ = [
    "Cells", "bearings", "body_cells", "byte_keys", "codes", "decimals", "distinct_keys",
    "numbers", "read_distinct", "strings", "times", "word_codes",
]  # fmt: skip

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
OffsetArray = npt.NDArray[np.int32]
U64Array = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]
ByteArray = npt.NDArray[np.uint8]

#: Rows made into strings at once (bounds the arrays of long cells).
_CHUNK = 1 << 16
#: The longest cell prefix read from the bytes.
_PAD = 256
#: Longer words are read one by one (no reader takes more than 128 characters).
_WORD = 129
#: Rows whose distinct values are sorted first (then every row is looked up in them).
_SAMPLE = 4096
#: A number column of at most this many distinct values (in its first rows) is read
#: once per value; others, from the bytes of every row.
_FEW = 64
#: Digits a decimal may have to be read from its bytes (10**15 < 2**53: exact).
_MAX_DIGITS = 15
_POW10 = 10.0 ** np.arange(_MAX_DIGITS + 1)
# The mask of a word's first k bytes (little-endian: its k low bytes), k = 0 .. 8.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
# Bytes a plain body never holds (NUL, CR, quote), and those str.strip() removes.
_NOT_PLAIN = np.zeros(256, dtype=bool)
_NOT_PLAIN[[0, ord("\r"), ord('"')]] = True
_BLANK = np.zeros(256, dtype=bool)
_BLANK[list(b" \t\x0b\x0c\x1c\x1d\x1e\x1f")] = True
# Odd multipliers of the multiplicative hash that puts a few keys in a small table.
_MULTIPLIERS = [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93]


@dataclass(frozen=True, slots=True)
class Cells:
    """Cell (k, j) of a plain body is the bytes `buf[start[j, k]:][:length[j, k]]` (the
    body, then `_PAD` zero bytes)."""

    buf: ByteArray
    start: OffsetArray
    length: OffsetArray

    def __len__(self) -> int:
        return int(self.start.shape[1])

    def cell(self, k: int, j: int) -> str:
        """The text of cell (k, j)."""
        a = int(self.start[j, k])
        return self.buf[a : a + int(self.length[j, k])].tobytes().decode("ascii")

    def row(self, k: int) -> list[str]:
        """The cells of row k."""
        a, b = int(self.start[0, k]), int(self.start[-1, k] + self.length[-1, k])
        return self.buf[a:b].tobytes().decode("ascii").split(",")

    def lengths(self, j: int) -> OffsetArray:
        """The length of each cell of column j."""
        out: OffsetArray = self.length[j]
        return out

    def words(self, j: int, count: int, rows: slice | IntArray = slice(None)) -> U64Array:
        """Column j's cells (of `rows`) as `count` 64-bit words each: their first
        8 * count bytes, zero-padded, loaded 8 at a time (little-endian)."""
        if 8 * count > _PAD:
            raise ValueError(f"cells are read to {_PAD} bytes at most, not {8 * count}")
        # The 64-bit word at every byte offset of the buffer, as a view.
        at = np.ndarray(shape=(len(self.buf) - 7,), dtype="<u8", buffer=self.buf, strides=(1,))
        start = self.start[j, rows]
        length = self.length[j, rows]
        if count == 1:
            one: U64Array = at[start] & _LOW_BYTES[np.minimum(length, 8)]
            return one[:, None]
        out = np.empty((len(start), count), dtype=np.uint64)
        for i in range(count):
            out[:, i] = at[start + 8 * i] & _LOW_BYTES[np.clip(length - 8 * i, 0, 8)]
        return out

    def chars(
        self, j: int, width: int, rows: slice | IntArray = slice(None), *, pad: bool = True
    ) -> ByteArray:
        """Column j's cells (of `rows`) as rows of `width` bytes: cut there, zero-padded
        (without `pad`, the bytes past a cell's end are whatever follows it)."""
        if width > _PAD:
            raise ValueError(f"cells are read to {_PAD} bytes at most, not {width}")
        # Every window of `width` bytes of the buffer, as a view: one index per row.
        windows = np.lib.stride_tricks.as_strided(
            self.buf, shape=(len(self.buf) - width + 1, width), strides=(1, 1), writeable=False
        )
        got: ByteArray = windows[self.start[j, rows]]
        if pad:
            got *= np.arange(width) < self.length[j, rows][:, None]
        return got


def body_cells(body: bytes | memoryview, width: int) -> Cells | None:
    """The cells of a plain body (the ASCII bytes after the header line), or None when it
    is not plain (a quote, a CR, a NUL, a blank at a cell's ends), some line has another
    number of cells, a row is blank or a cell is longer than the csv module allows."""
    size = len(body)
    if not size:
        return None
    buf = np.zeros(size + 1 + _PAD, dtype=np.uint8)
    buf[:size] = np.frombuffer(body, dtype=np.uint8)
    if buf[size - 1] != ord("\n"):
        buf[size] = ord("\n")
        size += 1
    text = buf[:size]
    # Every byte at or below a comma, in one pass: the commas and line breaks, and any
    # quote, CR, NUL or blank (str.isspace) the body holds.
    low = np.flatnonzero(text <= ord(","))
    marks = text[low]
    is_sep = (marks == ord(",")) | (marks == ord("\n"))
    seps = low
    if not is_sep.all():
        if _NOT_PLAIN[marks].any():
            return None
        blanks = low[_BLANK[marks]]
        if len(blanks):
            before = text[np.maximum(blanks - 1, 0)]
            after = text[blanks + 1]
            edge = (blanks == 0) | (before == ord(",")) | (before == ord("\n"))
            edge |= (after == ord(",")) | (after == ord("\n"))
            if edge.any():
                return None
        seps = low[is_sep]
        marks = marks[is_sep]
    if len(seps) % width:
        return None
    n = len(seps) // width
    marks = marks.reshape(n, width)
    if not ((marks[:, :-1] == ord(",")).all() and (marks[:, -1] == ord("\n")).all()):
        return None
    # Offsets fit in 32 bits (files are under 1 GiB): half the memory to move. A cell
    # starts after the separator that ends the one before it.
    ends = np.ascontiguousarray(seps.astype(np.int32).reshape(n, width).T)
    starts = np.empty_like(ends)
    np.add(ends[:-1], 1, out=starts[1:])
    starts[0, 0] = 0
    np.add(ends[-1, :-1], 1, out=starts[0, 1:])
    lengths = np.subtract(ends, starts, out=ends)
    if (lengths.max(axis=0) == 0).any() or lengths.max() > csv.field_size_limit():
        return None
    return Cells(buf, starts, lengths)


def decimals(
    chars: ByteArray, lengths: npt.NDArray[np.integer[Any]]
) -> tuple[FloatArray, BoolArray]:
    """The values of cells of the form -?D+(.D+)? with at most 15 digits, and which cells
    have that form (the others' values are meaningless).

    The digits as an integer m (exact in a double) and k digits after the point give
    m / 10**k: one IEEE division, correctly rounded, so the very double float() reads.
    """
    n, width = chars.shape
    inside = np.arange(width) < lengths[:, None]
    digit = (chars >= ord("0")) & (chars <= ord("9")) & inside
    dot = (chars == ord(".")) & inside
    neg = chars[:, 0] == ord("-") if width else np.zeros(n, dtype=bool)
    known = digit | dot
    known[:, 0] |= neg
    ndot = dot.sum(axis=1)
    ndigits = digit.sum(axis=1)
    point = np.where(ndot == 1, dot.argmax(axis=1), lengths)
    form = (known | ~inside).all(axis=1) & (ndot <= 1) & (ndigits >= 1)
    form &= (ndigits <= _MAX_DIGITS) & (point > neg) & ((ndot == 0) | (point < lengths - 1))
    form &= lengths <= width
    m = np.zeros(n, dtype=np.int64)
    for c in range(width):
        m = np.where(digit[:, c], m * 10 + (chars[:, c].astype(np.int64) - ord("0")), m)
    k = np.where(ndot == 1, lengths - 1 - point, 0)
    value = m / _POW10[np.where(form, k, 0)]
    out: FloatArray = np.where(neg, -value, value)
    return out, form


def _keys(words: U64Array) -> U64Array:
    """A 64-bit key of each row's words: the word itself if one, else a hash of them."""
    key = words[:, 0].copy()
    for i in range(1, words.shape[1]):
        key = key * np.uint64(_MULTIPLIERS[0]) ^ words[:, i]
    return key


def _words_of(chars: ByteArray) -> U64Array:
    """Rows of bytes as 64-bit words (zero-padded)."""
    n, width = chars.shape
    padded = np.zeros((n, max(8, -(-width // 8) * 8)), dtype=np.uint8)
    padded[:, :width] = chars
    return padded.view(np.uint64)


def _lookup(table: U64Array, key: U64Array) -> tuple[IntArray, BoolArray]:
    """The place of each key in the sorted `table`, and which keys are in it.

    A few keys go in a small hash table (a multiplier that puts them in distinct slots):
    one multiplication and two look-ups a key, not a binary search.
    """
    k = len(table)
    bits = max(4, (4 * k - 1).bit_length())
    if bits <= 16:
        shift = np.uint64(64 - bits)
        for m in _MULTIPLIERS:
            slots = (table * np.uint64(m)) >> shift
            if len(np.unique(slots)) == k:
                lut = np.zeros(1 << bits, dtype=np.int64)
                lut[slots] = np.arange(k)
                at = lut[(key * np.uint64(m)) >> shift]
                return at, table[at] == key
    at = np.minimum(np.searchsorted(table, key), k - 1).astype(np.int64)
    return at, table[at] == key


def byte_keys(chars: ByteArray) -> U64Array:
    """A 64-bit key of each row's bytes: different keys, different bytes."""
    return _keys(_words_of(chars))


def distinct_keys(words: U64Array) -> int:
    """How many distinct values these rows (as words) hold."""
    return len(np.unique(_keys(words)))


def codes(chars: ByteArray) -> tuple[IntArray, list[int]]:
    """`word_codes` of rows of bytes."""
    return word_codes(_words_of(chars))


def word_codes(words: U64Array) -> tuple[IntArray, list[int]]:
    """A code for each row's words (equal words, equal code) and a row of each code.

    The distinct keys of the first rows are sorted once and every key is looked up in
    them (then in the keys of the rows they missed): no sort of the whole column.
    """
    n = len(words)
    key = _keys(words)
    table = np.unique(key[:_SAMPLE])
    code, hit = _lookup(table, key)
    if not hit.all():
        table = np.union1d(table, key[~hit])
        code, hit = _lookup(table, key)
    first = np.zeros(len(table), dtype=np.int64)
    first[code] = np.arange(n)
    if words.shape[1] > 1 and not (words == words[first[code]]).all():
        # Two values share a key: sort the bytes themselves.
        bytes_ = np.ascontiguousarray(words).view(f"S{words.shape[1] * 8}").ravel()
        _, index, inverse = np.unique(bytes_, return_index=True, return_inverse=True)
        return inverse.reshape(n).astype(np.int64), index.tolist()
    return code, first.tolist()


def read_distinct(
    cells: Cells, j: int, read: Callable[[str], Any], rows: IntArray | None = None
) -> tuple[list[Any], BoolArray]:
    """`read` of the text of column j's cells (all, or `rows`), called once per distinct
    text, and where it could read them (`read` raises ValueError where it cannot)."""
    got = _read_distinct(cells, j, read, rows)
    return got.listed, got.ok


@dataclass(frozen=True, slots=True)
class _Distinct:
    """What `read_distinct` gives, and how: the values read, by text (and whether they
    could be), and when no cell was too long to have one, each row's code and the value
    of each code."""

    listed: list[Any]
    ok: BoolArray
    known: dict[str, tuple[Any, bool]]
    code: IntArray | None
    values: list[Any]


def _read_distinct(
    cells: Cells, j: int, read: Callable[[str], Any], rows: IntArray | None = None
) -> _Distinct:
    every = np.arange(len(cells)) if rows is None else rows
    lengths = cells.length[j] if rows is None else cells.length[j, rows]
    short = lengths <= _WORD
    out = np.empty(len(every), dtype=object)
    ok = np.ones(len(every), dtype=bool)
    known: dict[str, tuple[Any, bool]] = {}

    def one(text: str) -> tuple[Any, bool]:
        if text not in known:
            try:
                known[text] = (read(text), True)
            except ValueError:
                known[text] = (None, False)
        got: tuple[Any, bool] = known[text]
        return got

    code: IntArray | None = None
    values = np.empty(0, dtype=object)
    if short.any():
        sub = every if short.all() else every[short]
        width = max(1, int(lengths[short].max()))
        code, first = word_codes(
            cells.words(j, -(-width // 8), slice(None) if rows is None and short.all() else sub)
        )
        read_first = [one(cells.cell(int(sub[i]), j)) for i in first]
        values = np.empty(len(first), dtype=object)
        for i, (v, _) in enumerate(read_first):
            values[i] = v
        good = np.array([g for _, g in read_first], dtype=bool)
        if short.all():
            out, ok = values[code], good[code]
        else:
            out[short], ok[short] = values[code], good[code]
            code = None
    for i in np.flatnonzero(~short).tolist():
        out[i], ok[i] = one(cells.cell(int(every[i]), j))
    return _Distinct(out.tolist(), ok, known, code, values.tolist())


def strings(chars: ByteArray) -> list[str]:
    """Rows of ASCII bytes (zero-padded) as strings."""
    n, width = chars.shape
    out: list[str] = []
    for a in range(0, n, _CHUNK):
        wide = chars[a : a + _CHUNK].astype(np.uint32)
        out += wide.view(f"U{width}").ravel().tolist()
    return out


def numbers(
    cells: Cells,
    j: int,
    read: Callable[[str], float | None],
    valid: Callable[[FloatArray], BoolArray],
) -> tuple[list[Any], BoolArray, BoolArray, FloatArray]:
    """Column j as numbers: the values (None where empty), which rows were read (empty
    ones count when `read("")` gives None), which are empty, and the values as an array
    (NaN where empty or unread).

    A column of few distinct texts (an observer's position, sigmas, ranges) is read by
    `read`, once per text; any other, as decimals from the bytes (checked by `valid`),
    the rest by `read`.
    """
    lengths = cells.lengths(j)
    empty = lengths == 0
    longest = int(lengths.max(initial=0))
    if (
        longest <= _WORD
        and distinct_keys(cells.words(j, -(-max(longest, 1) // 8), slice(0, _SAMPLE))) <= _FEW
    ):
        got = _read_distinct(cells, j, read)
        if got.code is not None:
            per_code = np.array([np.nan if v is None else v for v in got.values])
            value = per_code[got.code]
        else:
            value = np.array(got.listed, dtype=np.float64)
        value[~got.ok] = np.nan
        return got.listed, got.ok, empty, value
    width = min(longest, _MAX_DIGITS + 2)
    value, form = decimals(cells.chars(j, max(width, 1), pad=False), lengths)
    ok = form & valid(value)
    value[~ok] = np.nan
    try:
        nothing = read("")
        ok |= empty
    except ValueError:
        nothing = None
    other = np.flatnonzero(~form & ~empty)
    if len(other):
        patched, good = read_distinct(cells, j, read, other)
        ok[other] = good
        value[other] = [np.nan if x is None else x for x in patched]
    if not empty.any() and not len(other):
        return value.tolist(), ok, empty, value
    boxed = value.astype(object)
    boxed[empty] = nothing
    if len(other):
        boxed[other] = patched
    return boxed.tolist(), ok, empty, value


def bearings(
    cells: Cells,
    j: int,
    read: Callable[[str], tuple[float, str | None]],
    valid: Callable[[FloatArray], BoolArray],
) -> tuple[list[float | None], BoolArray, list[str | None], BoolArray]:
    """Column j as bearings: decimals from the bytes (checked by `valid`), the rest by
    `read` (degrees and the compass point given); where they were read; the points; and
    where one is given."""
    n = len(cells)
    lengths = cells.lengths(j)
    width = min(int(lengths.max()), _MAX_DIGITS + 2) if n else 0
    value, form = decimals(cells.chars(j, max(width, 1), pad=False), lengths)
    ok = form & valid(value)
    other = np.flatnonzero(~form)
    pointed = np.zeros(n, dtype=bool)
    if not len(other):
        return value.tolist(), ok, [None] * n, pointed

    got = _read_distinct(cells, j, read, other)
    ok[other] = got.ok
    # Degrees are floats whatever was given: the column stays one float array.
    value[other] = [np.nan if v is None else v[0] for v in got.listed]
    given = [None if v is None else v[1] for v in got.listed]
    points = np.full(n, None, dtype=object)
    points[other] = given
    pointed[other] = [p is not None for p in given]
    return value.tolist(), ok, points.tolist(), pointed


def times(cells: Cells, j: int) -> tuple[list[int | None], BoolArray | None]:
    """Column j as `_csvtime.times_us` reads it."""
    lengths = cells.lengths(j)
    us, good = _csvtime.from_chars(cells.chars(j, _csvtime.WIDTH, pad=False))
    return _csvtime.finish(us, good & (lengths == _csvtime.WIDTH), lambda k: cells.cell(k, j))
