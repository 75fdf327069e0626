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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasewatch.records import _csvtime

__all__ = ["Cells", "body_cells"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ByteArray = npt.NDArray[np.uint8]

#: Rows made into strings at once (bounds the arrays of long cells).
_CHUNK = 1 << 16
#: The longest cell prefix read from the bytes.
_PAD = 256
#: Longer words are read one by one (no reader takes more than 128 characters).
_WORD = 129
#: Distinct values found by one comparison pass each before sorting instead.
_FEW = 64
#: Digits a decimal may have to be read from its bytes (10**15 < 2**53: exact).
_MAX_DIGITS = 15
_POW10 = 10.0 ** np.arange(_MAX_DIGITS + 1)


@dataclass(frozen=True, slots=True)
class Cells:
    """Cell (k, j) of a plain body is `text[start[j, k]:start[j, k] + length[j, k]]`, and
    `buf` holds its bytes at the same offsets (then `_PAD` zero bytes)."""

    text: str
    buf: ByteArray
    start: IntArray
    length: IntArray

    def __len__(self) -> int:
        return int(self.start.shape[1])

    def cell(self, k: int, j: int) -> str:
        """The text of cell (k, j)."""
        a = int(self.start[j, k])
        return self.text[a : a + int(self.length[j, k])]

    def row(self, k: int) -> list[str]:
        """The cells of row k."""
        a = int(self.start[0, k])
        return self.text[a : int(self.start[-1, k] + self.length[-1, k])].split(",")

    def lengths(self, j: int) -> IntArray:
        """The length of each cell of column j."""
        out: IntArray = self.length[j]
        return out

    def chars(self, j: int, width: int, rows: slice | IntArray = slice(None)) -> ByteArray:
        """Column j's cells (of `rows`) as rows of `width` bytes: cut there, zero-padded."""
        if width > _PAD:
            raise ValueError(f"cells are read to {_PAD} bytes at most, not {width}")
        # Every window of `width` bytes of the buffer, as a view: one index per row.
        windows = np.lib.stride_tricks.as_strided(
            self.buf, shape=(len(self.buf) - width + 1, width), strides=(1, 1), writeable=False
        )
        got: ByteArray = windows[self.start[j, rows]]
        got *= np.arange(width) < self.length[j, rows][:, None]
        return got


def body_cells(text: str, width: int) -> Cells | None:
    """The cells of a plain body (the text after the header line), or None when some line
    has another number of cells, a row is blank or a cell is longer than the csv module
    allows. The caller has checked the rest (ASCII, no quote or CR, no edge blanks)."""
    if not text:
        return None
    if not text.endswith("\n"):
        text += "\n"
    buf = np.frombuffer(text.encode("ascii") + bytes(_PAD), dtype=np.uint8)
    seps = np.flatnonzero((buf == ord(",")) | (buf == ord("\n")))
    if len(seps) % width:
        return None
    n = len(seps) // width
    marks = buf[seps].reshape(n, width)
    if not ((marks[:, :-1] == ord(",")).all() and (marks[:, -1] == ord("\n")).all()):
        return None
    start = np.empty_like(seps)
    start[0] = 0
    start[1:] = seps[:-1] + 1
    starts = np.ascontiguousarray(start.reshape(n, width).T)
    lengths = np.ascontiguousarray(seps.reshape(n, width).T) - starts
    if (lengths.max(axis=0) == 0).any() or lengths.max() > csv.field_size_limit():
        return None
    return Cells(text, buf, starts, lengths)


def decimals(chars: ByteArray, lengths: IntArray) -> tuple[FloatArray, BoolArray]:
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


def codes(chars: ByteArray) -> tuple[IntArray, list[int]]:
    """A code for each row's bytes (equal bytes, equal code) and the first row of each."""
    n, width = chars.shape
    padded = np.zeros((n, max(8, -(-width // 8) * 8)), dtype=np.uint8)
    padded[:, :width] = chars
    words = padded.view(np.uint64)
    key = words[:, 0].copy()
    for i in range(1, words.shape[1]):
        key = key * np.uint64(0x9E3779B97F4A7C15) ^ words[:, i]
    code = np.full(n, -1, dtype=np.int64)
    first: list[int] = []
    while len(first) < _FEW:
        open_ = code < 0
        i = int(open_.argmax())
        if not open_[i]:
            break
        code[key == key[i]] = len(first)
        first.append(i)
    else:
        _, index, inverse = np.unique(key, return_index=True, return_inverse=True)
        code, first = inverse.reshape(n).astype(np.int64), index.tolist()
    if words.shape[1] > 1 and not (words == words[np.asarray(first)[code]]).all():
        # Two values share a key: sort the bytes themselves.
        _, index, inverse = np.unique(
            np.ascontiguousarray(padded).view(f"S{padded.shape[1]}").ravel(),
            return_index=True,
            return_inverse=True,
        )
        code, first = inverse.reshape(n).astype(np.int64), index.tolist()
    return code, first


def read_distinct(
    cells: Cells, j: int, read: Callable[[str], Any], rows: IntArray | None = None
) -> tuple[list[Any], BoolArray]:
    """`read` of the text of column j's cells (all, or `rows`), called once per distinct
    text, and where it could read them (`read` raises ValueError where it cannot)."""
    every = np.arange(len(cells)) if rows is None else rows
    lengths = cells.length[j, every]
    short = lengths <= _WORD
    out = np.empty(len(every), dtype=object)
    ok = np.ones(len(every), dtype=bool)
    known: dict[str, Any] = {}

    def one(text: str) -> tuple[Any, bool]:
        if text not in known:
            try:
                known[text] = (read(text), True)
            except ValueError:
                known[text] = (None, False)
        got: tuple[Any, bool] = known[text]
        return got

    if short.any():
        sub = every if short.all() else every[short]
        width = max(1, int(lengths[short].max()))
        code, first = codes(cells.chars(j, width, sub))
        read_first = [one(cells.cell(int(sub[i]), j)) for i in first]
        values = np.empty(len(first), dtype=object)
        for i, (v, _) in enumerate(read_first):
            values[i] = v
        good = np.array([g for _, g in read_first], dtype=bool)
        if short.all():
            out, ok = values[code], good[code]
        else:
            out[short], ok[short] = values[code], good[code]
    for i in np.flatnonzero(~short).tolist():
        out[i], ok[i] = one(cells.cell(int(every[i]), j))
    listed: list[Any] = out.tolist()
    return listed, ok


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
) -> tuple[FloatArray, BoolArray, BoolArray, list[Any]]:
    """Column j as numbers: the values (NaN where empty or unread), which rows were read
    (empty ones count when `read("")` gives None), which are empty, and the values as a
    list (None where empty). Decimals are read from the bytes and checked by `valid`;
    other text by `read`, once per distinct text."""
    lengths = cells.lengths(j)
    width = min(int(lengths.max()), _MAX_DIGITS + 2) if len(lengths) else 0
    value, form = decimals(cells.chars(j, max(width, 1)), lengths)
    ok = form & valid(value)
    value[~ok] = np.nan
    empty = lengths == 0
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
        return value, ok, empty, value.tolist()
    boxed = value.astype(object)
    boxed[empty] = nothing
    if len(other):
        boxed[other] = patched
    return value, ok, empty, boxed.tolist()


def bearings(
    cells: Cells,
    j: int,
    read: Callable[[str], tuple[float, str | None]],
    valid: Callable[[FloatArray], BoolArray],
) -> tuple[list[float | None], BoolArray, list[str | None], bool]:
    """Column j as bearings: decimals from the bytes (checked by `valid`), the rest by
    `read` (degrees and the compass point given); where they were read; the points; and
    whether there is any."""
    n = len(cells)
    lengths = cells.lengths(j)
    width = min(int(lengths.max()), _MAX_DIGITS + 2) if n else 0
    value, form = decimals(cells.chars(j, max(width, 1)), lengths)
    ok = form & valid(value)
    other = np.flatnonzero(~form)
    if not len(other):
        return value.tolist(), ok, [None] * n, False

    def degrees(text: str) -> float:
        return read(text)[0]

    def point_of(text: str) -> str | None:
        return read(text)[1]

    got, good = read_distinct(cells, j, degrees, other)
    given, _ = read_distinct(cells, j, point_of, other)
    ok[other] = good
    boxed = value.astype(object)
    boxed[other] = got
    points = np.full(n, None, dtype=object)
    points[other] = given
    return boxed.tolist(), ok, points.tolist(), any(p is not None for p in given)


def times(cells: Cells, j: int) -> tuple[list[int | None], BoolArray | None]:
    """Column j as `_csvtime.times_us` reads it."""
    lengths = cells.lengths(j)
    us, good = _csvtime.from_chars(cells.chars(j, _csvtime.WIDTH))
    return _csvtime.finish(us, good & (lengths == _csvtime.WIDTH), lambda k: cells.cell(k, j))


def column_index(header: Sequence[str]) -> Mapping[str, int]:
    """Where each column is."""
    return {name: j for j, name in enumerate(header)}
