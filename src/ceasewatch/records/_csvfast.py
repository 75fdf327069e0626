"""A column-at-a-time check of sightings.csv rows: the fast path of `read_records`.

Validating a million rows one pydantic model at a time costs about a minute; most rows
are plain (decimal numbers, known words, ids of the usual characters). This module checks
whole columns at once with conservative tests that accept only what `Sighting` itself
accepts, and builds those records directly with the value `Sighting.model_validate`
would give (equal records, the same fields set). Any row it is not sure of is left to
`model_validate`, so a bad row gets exactly the problems it always got.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasewatch.geo.bearings import COMPASS_SIGMA_DEG, BearingRef, compass_to_deg
from ceasewatch.records.base import Record
from ceasewatch.records.kinds import Sense, Sighting, SightingKind
from ceasewatch.records.table import SightingTable, utc_from_us
from ceasewatch.records.types import parse_time, posix_us

__all__ = ["prevalidate", "sighting_rows"]

BoolArray = npt.NDArray[np.bool_]

# Decimal numbers that Python's float() and pydantic read alike (the same correctly
# rounded value); anything else (1_0, +1, .5, inf) goes the slow way.
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_ID = r"[A-Za-z0-9._:/-]{1,128}"
_ORG = re.compile(r"[a-z0-9-]{1,64}")
_NUMBER_CHARS = frozenset("0123456789.-+eE")
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-")
_COUNT = r"[1-9][0-9]{0,5}"
_UTC_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
_KIND_VALUE = {k: k.value for k in SightingKind}


def _matches(values: Sequence[str], pattern: str, optional: bool = False) -> BoolArray:
    """Which values fully match `pattern` (or are empty, if `optional`), in one regex pass
    over the whole column when all of them do."""
    if optional:
        pattern = f"(?:{pattern})?"
    whole = re.compile(rf"(?:{pattern}\n)*{pattern}")
    joined = "\n".join(values)
    if values and joined.count("\n") == len(values) - 1 and whole.fullmatch(joined):
        return np.ones(len(values), dtype=bool)
    one = re.compile(pattern)
    return np.array([one.fullmatch(v) is not None for v in values], dtype=bool)


def _numbers(values: Sequence[str], optional: bool) -> tuple[list[float | None], BoolArray]:
    """Floats of a column (None where empty or unreadable), and where they were read.

    A column of digits, signs, points and exponents only is read by float() at once:
    for such text float() and pydantic agree, value for value (both round correctly).
    """
    if _NUMBER_CHARS.issuperset("".join(values)):
        try:
            out = [float(v) if v else None for v in values]
        except ValueError:
            pass
        else:
            if optional:
                return out, np.ones(len(values), dtype=bool)
            return out, np.fromiter(map(bool, values), dtype=bool, count=len(values))
    ok = _matches(values, _NUMBER, optional)
    good = ok.tolist()
    return [float(v) if g and v else None for v, g in zip(values, good, strict=True)], ok


def _array(values: Sequence[float | None]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _words(
    values: Sequence[str], read: Callable[[str], Any], optional: bool
) -> tuple[list[Any], BoolArray]:
    """Each value read by `read` (once per distinct value; None where empty), and where
    it could be read (empty counts when `optional`)."""
    value: dict[str, Any] = {"": None}
    good: dict[str, bool] = {"": optional}
    for v in set(values) - {""}:
        try:
            value[v], good[v] = read(v), True
        except ValueError:
            value[v], good[v] = None, False
    ok = np.fromiter(map(good.__getitem__, values), dtype=bool, count=len(values))
    return list(map(value.__getitem__, values)), ok


def _known_org(orgs: Mapping[str, str] | None) -> Callable[[str], str]:
    def read(value: str) -> str:
        if not _ORG.fullmatch(value) or (orgs is not None and value not in orgs):
            raise ValueError(value)
        return value

    return read


def _build(cls: type[Record], values: dict[str, Any], fields_set: set[str]) -> Record:
    """The record `cls.model_validate` would build from already-valid values (what
    pydantic's own `model_construct` does, without its per-field defaults loop)."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _time(value: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


_YEAR_ONE = np.datetime64("0001-01-01T00:00:00", "s")


def _times_us(values: Sequence[str], ok: Sequence[bool]) -> list[int | None]:
    """`posix_us(parse_time(v))` of each value (None where it fails or `ok` is false).

    The usual form, 2026-11-26T14:05:00Z, is read by numpy for the whole column and kept
    where numpy writes the same text back (a real date, as `parse_time` reads it); the
    rest go through `parse_time`.
    """
    out: list[int | None] = [None] * len(values)
    plain = _matches(values, _UTC_TIME).tolist()
    idx = [i for i, (good, simple) in enumerate(zip(ok, plain, strict=True)) if good and simple]
    if idx:
        text = np.array([values[i][:-1] for i in idx])
        try:
            secs = text.astype("datetime64[s]")
        except ValueError:  # some value is no date at all: each is read below
            pass
        else:
            same = (np.datetime_as_string(secs, unit="s") == text) & (secs >= _YEAR_ONE)
            us = (secs.astype(np.int64) * 1_000_000).tolist()
            for i, good, u in zip(idx, same.tolist(), us, strict=True):
                if good:
                    out[i] = u
    for i, (good, v) in enumerate(zip(ok, values, strict=True)):
        if good and out[i] is None:
            t = _time(v)
            out[i] = None if t is None else posix_us(t)
    return out


def _bearings(
    values: Sequence[str],
) -> tuple[list[float | None], BoolArray, list[float | None]]:
    """A bearing column: degrees where numeric (and where they were), compass centres."""
    if not _matches(values, f"{_NUMBER}|[A-Za-z]{{1,3}}").all():
        bearing, numeric = _numbers(values, False)
        return (
            bearing,
            numeric,
            [None if g else compass_to_deg(v) for v, g in zip(values, numeric, strict=True)],
        )
    numeric_l = [v[0] in "-0123456789" for v in values]
    centres = {v: compass_to_deg(v) for v in set(values)}
    return (
        [float(v) if g else None for v, g in zip(values, numeric_l, strict=True)],
        np.array(numeric_l, dtype=bool),
        [None if g else centres[v] for v, g in zip(values, numeric_l, strict=True)],
    )


def _count(value: str) -> int:
    if not re.fullmatch(_COUNT, value) or int(value) > 100_000:
        raise ValueError(value)
    return int(value)


def _filled(cells: Sequence[str]) -> BoolArray:
    """Which cells are not empty."""
    if all(cells):
        return np.ones(len(cells), dtype=bool)
    if not any(cells):
        return np.zeros(len(cells), dtype=bool)
    return np.fromiter(map(bool, cells), dtype=bool, count=len(cells))


def _columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], orgs: Mapping[str, str] | None
) -> _Columns:
    n = len(rows)
    cols = zip(header, zip(*rows, strict=True), strict=True)
    col = {name: list(map(str.strip, cells)) for name, cells in cols}
    blank = [""] * n
    ok = np.ones(n, dtype=bool)
    filled = {name: _filled(cells) for name, cells in col.items()}
    for name in ("id", "time", "org", "observer", "lat", "lon", "bearing_deg", "kind"):
        ok &= filled.get(name, False)
    ids = col["id"]
    # Empty ids are out already; the rest pass when all use the allowed characters.
    if not _ID_CHARS.issuperset("".join(ids)) or max(map(len, ids), default=0) > 128:
        ok &= _matches(ids, _ID)
    ok &= np.array([len(v) <= 128 for v in col["observer"]], dtype=bool)
    words: dict[str, list[Any]] = {}
    for name, read, optional in (
        ("org", _known_org(orgs), False),
        ("kind", SightingKind, False),
        ("bearing_ref", BearingRef, True),
        ("sense", Sense, True),
        ("count", _count, True),
    ):
        words[name], good = _words(col.get(name, blank), read, optional)
        ok &= good
    numbers: dict[str, list[float | None]] = {}
    for name in ("lat", "lon", "bearing_sigma_deg", "range_min_m", "range_max_m"):
        numbers[name], good = _numbers(col.get(name, blank), name not in ("lat", "lon"))
        ok &= good
    bearing, numeric, compass = _bearings(col["bearing_deg"])
    ok &= numeric | np.array([c is not None for c in compass], dtype=bool)
    lat, lon, b = _array(numbers["lat"]), _array(numbers["lon"]), _array(bearing)
    sig, lo, hi = (_array(numbers[k]) for k in ("bearing_sigma_deg", "range_min_m", "range_max_m"))
    with np.errstate(invalid="ignore"):
        ok &= (lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon <= 180.0)
        ok &= ~numeric | ((b >= 0.0) & (b < 360.0))
        ok &= np.isnan(sig) | ((sig > 0.0) & (sig <= 180.0))
        ok &= np.isnan(lo) | ((lo >= 0.0) & (lo < np.inf))
        ok &= np.isnan(hi) | ((hi > 0.0) & (hi < np.inf))
        ok &= ~(lo > hi)
    t_us = _times_us(col["time"], ok.tolist())
    ok &= np.fromiter((t is not None for t in t_us), dtype=bool, count=n)
    return _Columns(
        header=header,
        col=col,
        filled=filled,
        words=words,
        numbers=numbers,
        bearing=[c if c is not None else v for v, c in zip(bearing, compass, strict=True)],
        point=[
            v.upper() if c is not None else None
            for v, c in zip(col["bearing_deg"], compass, strict=True)
        ],
        ref=[r if r is not None else BearingRef.TRUE for r in words["bearing_ref"]],
        count=[c if c is not None else 1 for c in words["count"]],
        t_us=t_us,
        ok=ok.tolist(),
    )


@dataclass(frozen=True, slots=True)
class _Columns:
    """A sightings file's columns as `Sighting` reads them (where `ok`: rows it accepts)."""

    header: Sequence[str]
    col: dict[str, list[str]]
    filled: dict[str, BoolArray]
    words: dict[str, list[Any]]
    numbers: dict[str, list[float | None]]
    bearing: list[float | None]
    point: list[str | None]
    ref: list[BearingRef]
    count: list[int]
    t_us: list[int | None]
    ok: list[bool]


def _sightings(
    header: Sequence[str], rows: Sequence[Sequence[str]], orgs: Mapping[str, str] | None
) -> list[Record | None]:
    c = _columns(header, rows, orgs)
    n, col, point = len(rows), c.col, c.point
    times = [None if u is None else utc_from_us(u) for u in c.t_us]
    extras = [name for name in header if name.startswith("x_")]
    extra: list[dict[str, str]] = [
        {k: v for k, v in zip(extras, vals, strict=True) if v}
        for vals in zip(*(col[k] for k in extras), strict=True)
    ] if extras else [{} for _ in range(n)]  # fmt: skip
    # The fields each row sets (the columns it fills, and what pydantic adds), as a bit
    # mask: rows share a handful of them.
    plain = [name for name in header if not name.startswith("x_")]
    names = [*plain, "extra", "bearing_compass"]
    mask = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(plain):
        mask |= c.filled[name].astype(np.int64) << bit
    mask |= np.array([bool(e) for e in extra], dtype=np.int64) << len(plain)
    mask |= np.array([p is not None for p in point], dtype=np.int64) << (len(plain) + 1)
    fields_of = {
        m: frozenset(name for bit, name in enumerate(names) if m >> bit & 1)
        for m in set(mask.tolist())
    }
    out: list[Record | None] = [None] * n
    words, numbers = c.words, c.numbers
    rows_values = zip(
        extra, col["id"], times, words["org"], col["observer"], numbers["lat"], numbers["lon"],
        c.bearing, point, numbers["bearing_sigma_deg"], c.ref, numbers["range_min_m"],
        numbers["range_max_m"], words["kind"], c.count, words["sense"], strict=True,
    )  # fmt: skip
    for k, (values, m, good) in enumerate(zip(rows_values, mask.tolist(), c.ok, strict=True)):
        if good:
            out[k] = _build(
                Sighting, dict(zip(_SIGHTING_KEYS, values, strict=True)), set(fields_of[m])
            )
    return out


def sighting_rows(
    header: Sequence[str], rows: Sequence[Sequence[str]], orgs: Mapping[str, str] | None
) -> tuple[SightingTable, list[bool], list[str]]:
    """Which rows `Sighting` surely accepts (`ok`), the table of those rows in order (the
    values `SightingTable.of` gives for their records), and every row's id.

    Each row's outcome is its own: checking the rows in parts gives the same ones.
    """
    if not rows or tuple(Sighting.model_fields) != _SIGHTING_KEYS:
        return SightingTable.of([]), [False] * len(rows), [""] * len(rows)
    c = _columns(header, rows, orgs)
    idx = [i for i, good in enumerate(c.ok) if good]

    def pick(values: Sequence[Any]) -> list[Any]:
        return list(values) if len(idx) == len(values) else [values[i] for i in idx]

    sigma = [
        s if s is not None else (COMPASS_SIGMA_DEG if p is not None else None)
        for s, p in zip(pick(c.numbers["bearing_sigma_deg"]), pick(c.point), strict=True)
    ]
    table = SightingTable(
        id=pick(c.col["id"]),
        t_us=pick(c.t_us),
        org=pick(c.words["org"]),
        observer=pick(c.col["observer"]),
        lat=pick(c.numbers["lat"]),
        lon=pick(c.numbers["lon"]),
        bearing_deg=pick(c.bearing),
        bearing_ref=pick(c.ref),
        sigma_deg=sigma,
        range_min_m=pick(c.numbers["range_min_m"]),
        range_max_m=pick(c.numbers["range_max_m"]),
        kind=[_KIND_VALUE[k] for k in pick(c.words["kind"])],
        count=pick(c.count),
        heard=[s is Sense.HEARD for s in pick(c.words["sense"])],
    )
    return table, c.ok, c.col["id"]


# The fields `_sightings` fills, in the model's order: should `Sighting` gain a field, the
# fast path stands down (every row is validated by pydantic) until it learns the field.
_SIGHTING_KEYS = (
    "extra", "id", "time", "org", "observer", "lat", "lon", "bearing_deg", "bearing_compass",
    "bearing_sigma_deg", "bearing_ref", "range_min_m", "range_max_m", "kind", "count", "sense",
)  # fmt: skip
_FAST: dict[type[Record], Callable[..., list[Record | None]]] = {Sighting: _sightings}


def prevalidate(
    record: type[Record],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    orgs: Mapping[str, str] | None,
) -> list[Record | None]:
    """Records for the rows that pass the fast checks (None: validate that row the usual
    way). Rows must have as many cells as the header; kinds without a fast path get
    all None."""
    fast = _FAST.get(record)
    if fast is None or not rows or tuple(Sighting.model_fields) != _SIGHTING_KEYS:
        return [None] * len(rows)
    return fast(header, rows, orgs)
