"""What `events_from_sightings` says of each group besides its fix, computed per array.

Per group: the median emission time of its inliers, their majority kind and median count,
its members' ids and observers (sorted), its outliers' ids. Each is what the per-group
Python (`statistics.median`, `Counter`, `sorted`) gave, by sorting all rows once: ids and
observers by a rank from one sort of all the strings, within groups by `np.lexsort`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ceasewatch.analysis._batchfit import FloatArray, IntArray
from ceasewatch.analysis.associate import SPEED_OF_SOUND_M_S, Association
from ceasewatch.analysis.localise import RobustFits
from ceasewatch.analysis.observations import Obs

__all__ = ["Columns", "columns"]


@dataclass(frozen=True, slots=True)
class Columns:
    """Per group g: its inliers inl[iptr[g]:iptr[g + 1]] (indices into obs), emission time
    (s), kind, count; its sorted member ids ids[id_ptr[g]:id_ptr[g + 1]] and distinct
    observers observers[obs_ptr[g]:obs_ptr[g + 1]]; its outliers' ids (groups with any)."""

    inl: IntArray
    iptr: IntArray
    times: FloatArray
    kinds: list[str]
    counts: list[int]
    ids: list[str]
    id_ptr: IntArray
    observers: list[str]
    obs_ptr: IntArray
    outliers: dict[int, tuple[str, ...]]


def _ptr(counts: IntArray) -> IntArray:
    ptr = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def _codes(values: Sequence[str]) -> tuple[list[str], IntArray]:
    """The distinct values sorted (as `sorted` orders str), and each value's index there."""
    distinct = sorted(set(values))
    index = {v: i for i, v in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))


def _ranks(values: list[str]) -> IntArray:
    """Each value's place in `sorted(values)` (equal values in any order among themselves).

    numpy's string sort orders code points as `sorted` does, but drops trailing NULs, which
    a record id cannot hold; the Python sort stands in should one appear.
    """
    rank = np.empty(len(values), dtype=np.intp)
    if "\x00" in "".join(values):
        rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    else:
        rank[np.argsort(np.array(values, dtype=str), kind="stable")] = np.arange(len(values))
    return rank


def _medians(v: FloatArray | IntArray, seg: IntArray, ptr: IntArray) -> tuple[
    FloatArray | IntArray, FloatArray | IntArray, IntArray
]:  # fmt: skip
    """Each group's two middle values (equal for an odd count) and its count."""
    n = np.diff(ptr)
    s = v[np.lexsort((v, seg))]
    return s[ptr[:-1] + (n - 1) // 2], s[ptr[:-1] + n // 2], n


def columns(obs: Sequence[Obs], assoc: Association, fit: RobustFits) -> Columns:
    """The per-group values of `events_from_sightings` (see the module docstring)."""
    n_groups = len(fit.ptr) - 1
    seg = np.repeat(np.arange(n_groups), np.diff(fit.ptr))
    inl, iseg = fit.flat[fit.inlier], seg[fit.inlier]
    iptr = _ptr(np.bincount(iseg, minlength=n_groups))
    # The observations' fields as columns (one transposition), read at the inliers.
    fields = dict(zip(Obs._fields, zip(*obs, strict=True), strict=True)) if obs else {}
    who, code = _codes(fields.get("observer", ()))
    offset = np.array([assoc.offsets.get(w, 0.0) for w in who])
    # Emission times at each group's fix: report time, minus the observer's clock offset,
    # minus the sound's travel for what was heard; the median per group (statistics.median:
    # the middle value, or the mean of the two middle values).
    corr = (np.array(fields.get("t_s", ()), dtype=np.float64) - offset[code])[inl]
    heard = np.array(fields.get("heard", ()), dtype=bool)[inl]
    dx = fit.fits.x[iseg] - np.array(fields.get("x_m", ()), dtype=np.float64)[inl]
    dy = fit.fits.y[iseg] - np.array(fields.get("y_m", ()), dtype=np.float64)[inl]
    e = corr - np.where(heard, np.sqrt(dx * dx + dy * dy) / SPEED_OF_SOUND_M_S, 0.0)
    lo, hi, n = _medians(e, iseg, iptr)
    times = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    # Majority kind of the inliers, ties to the first name; median count, rounded half even.
    names, kind_all = _codes(fields.get("kind", ()))
    kind = kind_all[inl]
    tally = np.bincount(iseg * len(names) + kind, minlength=n_groups * len(names))
    kinds = [names[k] for k in tally.reshape(n_groups, len(names)).argmax(axis=1).tolist()]
    reported = np.array(fields.get("n_reported", ()), dtype=np.int64)[inl]
    c_lo, c_hi, _ = _medians(reported, iseg, iptr)
    counts = np.where(n % 2 == 1, c_lo, np.rint((c_lo + c_hi) / 2).astype(np.int64)).tolist()
    # Members' ids and observers, sorted per group; outliers' ids.
    all_ids = list(fields.get("id", ()))
    id_rank = _ranks(all_ids)
    order = fit.flat[np.lexsort((id_rank[fit.flat], seg))]
    ids = list(map(all_ids.__getitem__, order.tolist()))
    c = code[fit.flat]
    o_order = np.lexsort((c, seg))
    cs, ss = c[o_order], seg[o_order]
    first = np.ones(len(cs), dtype=bool)
    first[1:] = (cs[1:] != cs[:-1]) | (ss[1:] != ss[:-1])
    observers = list(map(who.__getitem__, cs[first].tolist()))
    obs_ptr = _ptr(np.bincount(ss[first], minlength=n_groups))
    out_rows = np.flatnonzero(~fit.inlier)
    outliers: dict[int, list[str]] = {}
    o_rows = out_rows[np.lexsort((id_rank[fit.flat[out_rows]], seg[out_rows]))]
    for g, k in zip(seg[o_rows].tolist(), fit.flat[o_rows].tolist(), strict=True):
        outliers.setdefault(g, []).append(all_ids[k])
    return Columns(
        inl, iptr, times, kinds, counts, ids, fit.ptr, observers, obs_ptr,
        {g: tuple(v) for g, v in outliers.items()},
    )  # fmt: skip
