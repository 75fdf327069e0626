"""A column-at-a-time check of sightings.csv: the fast path of reading sightings.

Validating a million rows one pydantic model at a time costs about a minute; most rows
are plain (decimal numbers, known words, ids of the usual characters). This module checks
whole columns at once with conservative tests that accept only what `Sighting` itself
accepts, and gives the values `Sighting.model_validate` would give. Any row it is not
sure of is left to `model_validate`, so a bad row gets exactly the problems it always got.

Most columns repeat a few values (orgs, kinds, an observer's position, sigmas, ranges):
each distinct value is checked and converted once, and the column is mapped through a
dict. Ids are checked by one regular expression over the column, times by arithmetic on
their characters (`_csvtime`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasewatch.geo.bearings import COMPASS_SIGMA_DEG, BearingRef, compass_to_deg
from ceasewatch.records._csvbytes import (
    Cells,
    bearings,
    byte_keys,
    numbers,
    read_distinct,
    strings,
    times,
)
from ceasewatch.records._csvtext import no_edge_blanks
from ceasewatch.records._csvtime import times_us
from ceasewatch.records.base import Record
from ceasewatch.records.kinds import Sense, Sighting, SightingKind
from ceasewatch.records.table import SightingTable, utc_from_us

__all__ = ["SightingColumns", "check_cells", "check_sightings", "prevalidate"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

# Text that float() reads as pydantic does (the same correctly rounded value, the same
# sign of zero): these characters only, and float() accepts it. Not 1_0, inf, nan, 0x1.
_NUMBER_CHARS = frozenset("0123456789.-+eE")
_ID_CHARS = "[A-Za-z0-9._:/-]"
_ID = re.compile(f"{_ID_CHARS}{{1,128}}")
# A column of ids joined by NUL (which a decoded file never holds): possessive, so a
# column that fails does not backtrack through every row.
_IDS = re.compile(f"(?:{_ID_CHARS}{{1,128}}+\x00)*+{_ID_CHARS}{{1,128}}+")
_ORG = re.compile(r"[a-z0-9-]{1,64}")
_COUNT = re.compile(r"[1-9][0-9]{0,5}")
_KIND_VALUE = {k: k.value for k in SightingKind}
# Bytes an id may hold (RecordId), and the longest cell a word column is read to (every
# reader refuses anything longer than 128 characters).
_ID_BYTE = np.zeros(256, dtype=bool)
_ID_BYTE[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-")] = True
_LONGEST = 129
_HEARD: dict[Sense | None, bool] = {None: False, **{s: s is Sense.HEARD for s in Sense}}

#: The columns `Sighting` reads (the rest are x_ columns, kept in `extra`).
COLUMNS = (
    "id", "time", "org", "observer", "lat", "lon", "bearing_deg", "bearing_sigma_deg",
    "bearing_ref", "range_min_m", "range_max_m", "kind", "count", "sense",
)  # fmt: skip


def _distinct(
    values: Sequence[str], read: Callable[[str], Any]
) -> tuple[list[Any], BoolArray | None, dict[str, Any]]:
    """`read` of each value, called once per distinct value; where it could read them
    (None: everywhere; `read` raises ValueError where `Sighting` might disagree); and the
    values read, by text."""
    known: dict[str, Any] = dict.fromkeys(values)
    bad: set[str] = set()
    for v in known:
        try:
            known[v] = read(v)
        except ValueError:
            bad.add(v)
    if len(known) == 1:
        out = [next(iter(known.values()))] * len(values)
    else:
        out = list(map(known.__getitem__, values))
    if not bad:
        return out, None, known
    ok = np.fromiter(map(bad.__contains__, values), dtype=bool, count=len(values))
    return out, ~ok, {k: v for k, v in known.items() if k not in bad}


@dataclass(frozen=True, slots=True)
class _Range:
    """Decimal numbers in [low, high] (an end excluded where open), read from text one
    value at a time (`read`) or checked as an array (`valid`), by the same rule."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False
    optional: bool = True

    def read(self, value: str) -> float | None:
        if not value:
            if self.optional:
                return None
            raise ValueError("empty")
        if not _NUMBER_CHARS.issuperset(value):
            raise ValueError(value)
        x = float(value)
        if not self.valid(np.array([x]))[0]:
            raise ValueError(value)
        return x

    def valid(self, x: FloatArray) -> BoolArray:
        with np.errstate(invalid="ignore"):
            ok = (x > self.low) if self.open_low else (x >= self.low)
            ok &= (x < self.high) if self.open_high else (x <= self.high)
        return ok


_INF = float("inf")
_LAT = _Range(-90.0, 90.0, optional=False)
_LON = _Range(-180.0, 180.0, optional=False)
_SIGMA = _Range(0.0, 180.0, open_low=True)
_RANGE_MIN = _Range(0.0, _INF, open_high=True)
_RANGE_MAX = _Range(0.0, _INF, open_low=True, open_high=True)


def _bearing(value: str) -> tuple[float, str | None]:
    """Degrees and the compass point given (None: degrees were given)."""
    if value and _NUMBER_CHARS.issuperset(value):
        try:
            x = float(value)
        except ValueError:
            pass  # E, e, ...: a compass point or nothing
        else:
            if 0.0 <= x < 360.0:
                return x, None
            raise ValueError(value)
    centre = compass_to_deg(value)
    if centre is None:
        raise ValueError(value)
    return centre, value.upper()


def _known_org(orgs: Mapping[str, str] | None) -> Callable[[str], str]:
    def read(value: str) -> str:
        if not _ORG.fullmatch(value) or (orgs is not None and value not in orgs):
            raise ValueError(value)
        return value

    return read


def _name(value: str) -> str:
    if not 1 <= len(value) <= 128:
        raise ValueError(value)
    return value


def _ref(value: str) -> BearingRef:
    return BearingRef(value) if value else BearingRef.TRUE


def _sense(value: str) -> Sense | None:
    return Sense(value) if value else None


def _count(value: str) -> int:
    if not value:
        return 1
    if not _COUNT.fullmatch(value) or int(value) > 100_000:
        raise ValueError(value)
    return int(value)


def _ids_ok(ids: Sequence[str]) -> BoolArray | None:
    """Which ids `RecordId` surely accepts (None: all)."""
    joined = "\x00".join(ids)
    if joined.count("\x00") == len(ids) - 1 and _IDS.fullmatch(joined):
        return None
    return np.fromiter((_ID.fullmatch(v) is not None for v in ids), dtype=bool, count=len(ids))


def _stripped(cells: list[str], plain: bool) -> list[str]:
    """The cells as `Sighting` reads them (str.strip()), copied only where that changes one."""
    if plain or no_edge_blanks("\n".join(cells)):
        return cells
    return list(map(str.strip, cells))


@dataclass(frozen=True, slots=True)
class SightingColumns:
    """A sightings file's columns as `Sighting` reads them, and the rows it surely
    accepts (`ok`; None: all). Values of other rows are None or meaningless."""

    id: list[str]
    observer: list[str]
    t_us: list[int | None]
    org: list[str | None]
    lat: list[float | None]
    lon: list[float | None]
    bearing: list[float | None]
    point: list[str | None]
    sigma: list[float | None]
    ref: list[BearingRef | None]
    range_min: list[float | None]
    range_max: list[float | None]
    kind: list[SightingKind | None]
    count: list[int | None]
    sense: list[Sense | None]
    ok: BoolArray | None
    #: Some row gives a compass point; some row leaves its sigma empty.
    any_point: bool
    any_sigma_empty: bool
    #: `Sighting.sigma_deg` of each row, when already known (else made from the above).
    sigma_deg: list[float | None] | None = None
    #: The ids are known to be all different.
    unique_ids: bool = False

    def table(self) -> SightingTable:
        """The table of the rows in `ok`, in order (what `SightingTable.of` gives for
        their records)."""
        keep = None if self.ok is None else self.ok.tolist()

        def pick(values: list[Any]) -> list[Any]:
            return values if keep is None else list(itertools.compress(values, keep))

        if self.sigma_deg is not None:
            sigma = pick(self.sigma_deg)
        elif self.any_point and self.any_sigma_empty:
            sigma = [
                s if s is not None else (COMPASS_SIGMA_DEG if p is not None else None)
                for s, p in zip(pick(self.sigma), pick(self.point), strict=True)
            ]
        else:
            sigma = pick(self.sigma)
        kind = pick(self.kind)
        return SightingTable(
            id=pick(self.id),
            t_us=pick(self.t_us),
            org=pick(self.org),
            observer=pick(self.observer),
            lat=pick(self.lat),
            lon=pick(self.lon),
            bearing_deg=pick(self.bearing),
            bearing_ref=pick(self.ref),
            sigma_deg=sigma,
            range_min_m=pick(self.range_min),
            range_max_m=pick(self.range_max),
            kind=list(map(_KIND_VALUE.__getitem__, kind)),
            count=pick(self.count),
            heard=list(map(_HEARD.__getitem__, pick(self.sense))),
        )


def _all(masks: Iterable[BoolArray | None]) -> BoolArray | None:
    """Rows in every mask (None: every row)."""
    ok: BoolArray | None = None
    for m in masks:
        if m is not None:
            ok = m.copy() if ok is None else ok & m
    return None if ok is None or ok.all() else ok


def check_sightings(
    header: Sequence[str],
    columns: Sequence[list[str]],
    orgs: Mapping[str, str] | None,
    *,
    plain: bool = False,
) -> SightingColumns:
    """Check the columns of a sightings file (raw cells, one list per header name).

    `plain`: no cell has blanks at its ends (the caller knows; else each column is looked
    at). Each row's outcome is its own: checking the rows in parts gives the same ones.
    """
    n = len(columns[0]) if columns else 0
    raw = dict(zip(header, columns, strict=True))
    blank = [""] * n
    blank_none: list[str | None] = [None] * n
    col = {name: _stripped(raw[name], plain) if name in raw else blank for name in COLUMNS}
    org, org_ok, _ = _distinct(col["org"], _known_org(orgs))
    _, observer_ok, _ = _distinct(col["observer"], _name)
    lat, lat_ok, _ = _distinct(col["lat"], _LAT.read)
    lon, lon_ok, _ = _distinct(col["lon"], _LON.read)
    sigma, sigma_ok, sigmas = _distinct(col["bearing_sigma_deg"], _SIGMA.read)
    lo, lo_ok, los = _distinct(col["range_min_m"], _RANGE_MIN.read)
    hi, hi_ok, his = _distinct(col["range_max_m"], _RANGE_MAX.read)
    _, bearing_ok, bearings = _distinct(col["bearing_deg"], _bearing)
    degrees = {v: b for v, (b, _) in bearings.items()}
    points = {v: p for v, (_, p) in bearings.items() if p is not None}
    ref, ref_ok, _ = _distinct(col["bearing_ref"], _ref)
    kind, kind_ok, _ = _distinct(col["kind"], SightingKind)
    count, count_ok, _ = _distinct(col["count"], _count)
    sense, sense_ok, _ = _distinct(col["sense"], _sense)
    t_us, time_ok = times_us(col["time"])
    masks = [_ids_ok(col["id"]), org_ok, observer_ok, lat_ok, lon_ok, sigma_ok, lo_ok, hi_ok]
    masks += [bearing_ok, ref_ok, kind_ok, count_ok, sense_ok, time_ok]
    # range_min_m > range_max_m: only where some given minimum exceeds some given maximum.
    lo_max = max((x for x in los.values() if x is not None), default=-_INF)
    hi_min = min((x for x in his.values() if x is not None), default=_INF)
    if lo_max > hi_min:
        with np.errstate(invalid="ignore"):
            masks.append(~(np.array(lo, dtype=np.float64) > np.array(hi, dtype=np.float64)))
    return SightingColumns(
        id=col["id"],
        observer=col["observer"],
        t_us=t_us,
        org=org,
        lat=lat,
        lon=lon,
        bearing=list(map(degrees.get, col["bearing_deg"])),
        point=list(map(points.get, col["bearing_deg"])) if points else blank_none,
        sigma=sigma,
        ref=ref,
        range_min=lo,
        range_max=hi,
        kind=kind,
        count=count,
        sense=sense,
        ok=_all(masks),
        any_point=bool(points),
        any_sigma_empty=None in sigmas.values(),
    )


def check_cells(
    header: Sequence[str], cells: Cells, orgs: Mapping[str, str] | None
) -> SightingColumns:
    """`check_sightings` of a plain body, read from its bytes (`_csvbytes`)."""
    n = len(cells)
    where = {name: j for j, name in enumerate(header)}

    def words(name: str, read: Callable[[str], Any]) -> tuple[list[Any], BoolArray]:
        if name not in where:
            values, ok, _ = _distinct([""] * n, read)
            return values, np.ones(n, dtype=bool) if ok is None else ok
        return read_distinct(cells, where[name], read)

    def number(name: str, rule: _Range) -> tuple[list[Any], BoolArray, BoolArray, FloatArray]:
        if name not in where:
            empty = np.ones(n, dtype=bool)
            return [None] * n, np.full(n, rule.optional), empty, np.full(n, np.nan)
        return numbers(cells, where[name], rule.read, rule.valid)

    org, org_ok = words("org", _known_org(orgs))
    observer, observer_ok = words("observer", _name)
    kind, kind_ok = words("kind", SightingKind)
    ref, ref_ok = words("bearing_ref", _ref)
    count, count_ok = words("count", _count)
    sense, sense_ok = words("sense", _sense)
    lat, lat_ok, _, _ = number("lat", _LAT)
    lon, lon_ok, _, _ = number("lon", _LON)
    sigma, sigma_ok, sigma_empty, _ = number("bearing_sigma_deg", _SIGMA)
    lo, lo_ok, _, lo_value = number("range_min_m", _RANGE_MIN)
    hi, hi_ok, _, hi_value = number("range_max_m", _RANGE_MAX)
    bearing, bearing_ok, point, pointed = bearings(
        cells, where["bearing_deg"], _bearing, lambda x: (x >= 0.0) & (x < 360.0)
    )
    t_us, time_ok = times(cells, where["time"])
    ids, ids_ok, unique = _cell_ids(cells, where["id"])
    with np.errstate(invalid="ignore"):
        in_order = ~(lo_value > hi_value)
    ok = _all([ids_ok, org_ok, observer_ok, lat_ok, lon_ok, sigma_ok, lo_ok, hi_ok, in_order])
    ok = _all([ok, bearing_ok, ref_ok, kind_ok, count_ok, sense_ok, time_ok])
    # The table's sigma: the compass sector's where a point is given without a sigma.
    sigma_deg = sigma
    sector = np.flatnonzero(sigma_empty & pointed).tolist()
    if sector:
        sigma_deg = list(sigma)
        for k in sector:
            sigma_deg[k] = COMPASS_SIGMA_DEG
    return SightingColumns(
        id=ids,
        observer=observer,
        t_us=t_us,
        org=org,
        lat=lat,
        lon=lon,
        bearing=bearing,
        point=point,
        sigma=sigma,
        ref=ref,
        range_min=lo,
        range_max=hi,
        kind=kind,
        count=count,
        sense=sense,
        ok=ok,
        any_point=bool(pointed.any()),
        any_sigma_empty=bool(sigma_empty.any()),
        sigma_deg=sigma_deg,
        unique_ids=unique,
    )


def _cell_ids(cells: Cells, j: int) -> tuple[list[str], BoolArray, bool]:
    """The id column: the ids, which `RecordId` accepts, and whether they are known to be
    all different (distinct keys of their bytes prove it; equal keys prove nothing)."""
    lengths = cells.lengths(j)
    chars = cells.chars(j, max(1, min(int(lengths.max()), _LONGEST)))
    ok = (_ID_BYTE[chars] | (chars == 0)).all(axis=1) & (lengths >= 1) & (lengths <= 128)
    key = np.sort(byte_keys(chars))
    unique = bool((key[1:] != key[:-1]).all()) and int(lengths.max()) < _LONGEST
    return strings(chars), ok, unique


def _build(cls: type[Record], values: dict[str, Any], fields_set: set[str]) -> Record:
    """The record `cls.model_validate` would build from already-valid values (what
    pydantic's own `model_construct` does, without its per-field defaults loop)."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _sightings(
    header: Sequence[str], rows: Sequence[Sequence[str]], orgs: Mapping[str, str] | None
) -> list[Record | None]:
    columns = [list(cells) for cells in zip(*rows, strict=True)]
    c = check_sightings(header, columns, orgs)
    n = len(rows)
    col = {name: list(map(str.strip, cells)) for name, cells in zip(header, columns, strict=True)}
    raw = dict(zip(header, columns, strict=True))
    times = [None if u is None else utc_from_us(u) for u in c.t_us]
    extras = [name for name in header if name.startswith("x_")]
    extra_cols = [list(map(str.strip, raw[k])) for k in extras]
    extra: list[dict[str, str]] = [
        {k: v for k, v in zip(extras, vals, strict=True) if v}
        for vals in zip(*extra_cols, strict=True)
    ] if extras else [{} for _ in range(n)]  # fmt: skip
    # The fields each row sets (the columns it fills, and what pydantic adds), as a bit
    # mask: rows share a handful of them.
    plain = [name for name in header if not name.startswith("x_")]
    names = [*plain, "extra", "bearing_compass"]
    mask = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(plain):
        filled = np.fromiter(map(bool, col[name]), dtype=bool, count=n)
        mask |= filled.astype(np.int64) << bit
    mask |= np.array([bool(e) for e in extra], dtype=np.int64) << len(plain)
    mask |= np.array([p is not None for p in c.point], dtype=np.int64) << (len(plain) + 1)
    fields_of = {
        m: frozenset(name for bit, name in enumerate(names) if m >> bit & 1)
        for m in set(mask.tolist())
    }
    out: list[Record | None] = [None] * n
    ok = [True] * n if c.ok is None else c.ok.tolist()
    rows_values = zip(
        extra, c.id, times, c.org, c.observer, c.lat, c.lon, c.bearing, c.point,
        c.sigma, c.ref, c.range_min, c.range_max, c.kind, c.count, c.sense, strict=True,
    )  # fmt: skip
    for k, (values, m, good) in enumerate(zip(rows_values, mask.tolist(), ok, strict=True)):
        if good:
            out[k] = _build(
                Sighting, dict(zip(_SIGHTING_KEYS, values, strict=True)), set(fields_of[m])
            )
    return out


# The fields `_sightings` fills, in the model's order: should `Sighting` gain a field, the
# fast path stands down (every row is validated by pydantic) until it learns the field.
_SIGHTING_KEYS = (
    "extra", "id", "time", "org", "observer", "lat", "lon", "bearing_deg", "bearing_compass",
    "bearing_sigma_deg", "bearing_ref", "range_min_m", "range_max_m", "kind", "count", "sense",
)  # fmt: skip


def fast_path_fits() -> bool:
    """Whether `Sighting` still has the fields this module fills (else: stand down)."""
    return tuple(Sighting.model_fields) == _SIGHTING_KEYS


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
    if fast is None or not rows or not fast_path_fits():
        return [None] * len(rows)
    return fast(header, rows, orgs)
