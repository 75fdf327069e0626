"""A column of ISO 8601 UTC times as exact microseconds, the usual shape read at once.

`parse_time` costs about a microsecond a value. Sightings files write times as
2026-11-26T14:05:00Z (`format_time` of a whole second): a column of that one shape is
checked and converted with integer arithmetic on the characters' fixed positions, for
the whole column at once; the calendar checks are the ones `datetime` makes (year 1 to
9999, the month's days, leap years, no second 60). Any value of another shape, or that
fails a check, is read by `parse_time` itself, so every value gets what `parse_time`
gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ceasewatch.records.types import parse_time, posix_us

__all__ = ["WIDTH", "finish", "from_chars", "times_us"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

# YYYY-MM-DDTHH:MM:SSZ: the digits' positions, the other characters'.
WIDTH = 20
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_MARKS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", 19: "Z"}
_MARK_AT = list(_MARKS)
_MARK_BYTES = np.frombuffer("".join(_MARKS.values()).encode(), dtype=np.uint8)
# Days in each month of a common year (index 0 unused).
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _one(value: str) -> int | None:
    try:
        return posix_us(parse_time(value))
    except ValueError:
        return None


def _days_from_civil(y: Int32Array, m: Int32Array, d: Int32Array) -> Int32Array:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil;
    years 1 to 9999 stay far inside 32 bits)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    out: Int32Array = era * 146097 + doe - 719468
    return out


def from_chars(chars: npt.NDArray[np.uint8]) -> tuple[IntArray, BoolArray]:
    """Microseconds of rows of 20 ASCII bytes, and which rows are of the usual shape and
    a real date (the others' microseconds are meaningless)."""
    raw = chars[:, _DIGITS] - np.uint8(ord("0"))  # a digit: 0 .. 9; anything else wraps
    good = (raw <= 9).all(axis=1)
    good &= (chars[:, _MARK_AT] == _MARK_BYTES).all(axis=1)
    d = raw.astype(np.int32)
    pairs = d[:, 0::2] * 10 + d[:, 1::2]  # YY YY MM DD hh mm ss
    year = pairs[:, 0] * 100 + pairs[:, 1]
    month, day = pairs[:, 2], pairs[:, 3]
    hour, minute, second = pairs[:, 4], pairs[:, 5], pairs[:, 6]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days_in = _MONTH_DAYS[np.where(month_ok, month, 0)] + (leap & (month == 2))
    good &= (year >= 1) & month_ok & (day >= 1) & (day <= days_in)
    good &= (hour <= 23) & (minute <= 59) & (second <= 59)
    days = _days_from_civil(year, month, day).astype(np.int64)
    secs = days * 86_400 + (hour * 3600 + minute * 60 + second)
    us: IntArray = secs * 1_000_000
    return us, good


def _plain(values: Sequence[str]) -> tuple[IntArray, BoolArray] | None:
    """`from_chars` of the values, or None when the column as a whole is not ASCII of
    the usual width."""
    n = len(values)
    try:
        raw = ("\n".join(values) + "\n").encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(raw) != (WIDTH + 1) * n:
        return None
    chars = np.frombuffer(raw, dtype=np.uint8).reshape(n, WIDTH + 1)
    # Every byte of a row is checked (a digit, a mark or the "\n" after it): so each row
    # is one value.
    us, good = from_chars(chars[:, :WIDTH])
    return us, good & (chars[:, WIDTH] == ord("\n"))


def finish(
    us: IntArray, good: BoolArray, value_of: Callable[[int], str]
) -> tuple[list[int | None], BoolArray | None]:
    """The microseconds where `good`, `parse_time` of the other values (`value_of(i)`),
    and where they could be read (None: everywhere)."""
    out: list[int | None] = us.tolist()
    if good.all():
        return out, None
    for i in np.flatnonzero(~good).tolist():
        out[i] = _one(value_of(i))
    ok = np.fromiter((u is not None for u in out), dtype=bool, count=len(out))
    return out, (None if ok.all() else ok)


def times_us(values: Sequence[str]) -> tuple[list[int | None], BoolArray | None]:
    """`posix_us(parse_time(v))` of each value (None where `parse_time` refuses it), and
    where it was read (None: everywhere)."""
    plain = _plain(values) if values else None
    if plain is None:
        out = list(map(_one, values))
        ok = np.fromiter((u is not None for u in out), dtype=bool, count=len(out))
        return out, (None if ok.all() else ok)
    return finish(*plain, values.__getitem__)
