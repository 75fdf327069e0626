"""Association: which sightings saw the same occurrence.

Sightings of one occurrence were made close in time once sound delay is allowed for
(heard events arrive |p - o| / 343 s late), are of compatible kinds, come from different
observers, and their bearings cross where their distance bands allow. The method:

1. Candidate pairs from a sweep over time-sorted sightings (only those whose possible
   emission times overlap are compared: no all-pairs pass over the day). A pair is kept
   when its rays cross in front of both observers, inside both distance bands (with
   slack), and the emission times implied by that crossing agree within the clock
   tolerance.
2. Grouping: pairs are taken best first, pairs of one kind before pairs of confusable
   kinds (a shot reported as an explosion); a pair joins or merges groups only if the
   result still has one sighting per observer and fits as one occurrence (chi-square
   test of the bearings and bands, one gross bearing error allowed in four or more, and
   agreeing emission times). A pair of confusable kinds never joins two groups: a
   round's report and its impact come seconds apart, and each may have its group.
3. Clocks: each observer's clock offset is estimated from the groups of three or more
   (median of its emission-time residuals) and the grouping is redone with the offsets
   removed and a tighter tolerance: dense fire (rounds 30 s apart from one gun) then
   separates.
4. Leftovers: a sighting that paired with nothing joins the group whose occurrence it
   would have heard or seen at its report time, if any: one its bearing points at before
   one it does not, then the closest in time (its bearing may be a gross error: the fix
   then lists it as an outlier; a sighting of a kind the group does not hold, a shot
   reported as an explosion, must point at it). What remains is a single-sighting
   occurrence.

Everything is ordered by (time, id) and ties are broken by index: the result does not
depend on the order of the input.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ceasewatch.analysis._assoc_group import XY, group
from ceasewatch.analysis._batchfit import FloatArray, IntArray, ragged
from ceasewatch.analysis._candidates import (
    CLOCK_SIGMA_S,
    SPEED_OF_SOUND_M_S,
    TIME_Z,
    Ctx,
    Static,
    candidate_pairs,
    compatible,
)
from ceasewatch.analysis.localise import (
    OUTLIER_Z,
    ObsTable,
    bearing_z,
    fit_groups,
)
from ceasewatch.analysis.observations import Obs

__all__ = ["SPEED_OF_SOUND_M_S", "Association", "associate", "compatible"]


def _medians(values: FloatArray, ptr: IntArray) -> FloatArray:
    """`statistics.median` of each group of values (group g: values[ptr[g]:ptr[g + 1]])."""
    n = np.diff(ptr)
    seg = np.repeat(np.arange(len(n)), n)
    v = values[np.lexsort((values, seg))]
    lo, hi = v[ptr[:-1] + (n - 1) // 2], v[ptr[:-1] + n // 2]
    out: FloatArray = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    return out


def _emission_medians(
    ctx: Ctx, groups: Sequence[Sequence[int]], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Each member's emission time at its group's point, each group's median, the members."""
    flat, ptr = ragged(groups)
    seg = np.repeat(np.arange(len(groups)), np.diff(ptr))
    e = ctx.emissions(flat, x[seg], y[seg])
    return e, _medians(e, ptr), flat


def _clock_offsets(ctx: Ctx, groups: list[tuple[list[int], XY | None]]) -> dict[str, float]:
    fixed = [(m, xy) for m, xy in groups if len(m) >= 3 and xy is not None]
    if not fixed:
        return {}
    x = np.array([xy[0] for _, xy in fixed])
    y = np.array([xy[1] for _, xy in fixed])
    e, centre, flat = _emission_medians(ctx, [m for m, _ in fixed], x, y)
    seg = np.repeat(np.arange(len(fixed)), [len(m) for m, _ in fixed])
    residuals: dict[str, list[float]] = {}
    for k, r in zip(flat.tolist(), (e - centre[seg]).tolist(), strict=True):
        residuals.setdefault(ctx.obs[k].observer, []).append(r)
    return {obs: statistics.median(r) for obs, r in sorted(residuals.items()) if len(r) >= 3}


def _attach_leftovers(ctx: Ctx, fitted: list[tuple[list[int], XY | None]]) -> list[list[int]]:
    groups = [members for members, _ in fitted]
    used = {k for g in groups for k in g}
    unknown = [g for g, (_, known) in enumerate(fitted) if known is None]
    f = fit_groups(ctx.table, [groups[g] for g in unknown])
    x = np.array([known[0] if known is not None else math.nan for _, known in fitted])
    y = np.array([known[1] if known is not None else math.nan for _, known in fitted])
    x[unknown], y[unknown] = f.x, f.y
    _, t0s, _ = _emission_medians(ctx, groups, x, y)
    # (emission time, group index, x, y), sorted by time for a windowed search
    fixes = sorted(zip(t0s.tolist(), range(len(groups)), x.tolist(), y.tolist(), strict=True))
    starts = [t for t, *_ in fixes]
    kinds_of = [{ctx.obs[k].kind for k in m} for m in groups]
    sigma_of = [ctx.time_sigma(m[0]) for m in groups]
    observers = [{ctx.obs[k].observer for k in m} for m in groups]
    extra: dict[int, list[int]] = {}
    for s, o in enumerate(ctx.obs):
        if s in used:
            continue
        t_own = o.t_s - ctx.offset.get(o.observer, 0.0)
        sigma = ctx.time_sigma(s)
        tol = TIME_Z * math.hypot(sigma, CLOCK_SIGMA_S)
        lo = t_own - (o.max_range_m / SPEED_OF_SOUND_M_S if o.heard else 0.0) - tol
        # The best group: one its bearing points at before one it does not (a gross
        # error, or another occurrence at the same time), then the closest in time.
        best: tuple[bool, float, int] | None = None
        for q in range(bisect.bisect_left(starts, lo), len(fixes)):
            t0, g, gx, gy = fixes[q]
            if t0 > t_own + tol:
                break
            kinds = kinds_of[g]
            if not any(compatible(o.kind, k) for k in kinds) or o.observer in observers[g]:
                continue
            d = math.hypot(gx - o.x_m, gy - o.y_m)
            dt = abs(ctx.emission(s, d) - t0) / math.hypot(sigma, sigma_of[g])
            off = bearing_z(o, gx, gy) > OUTLIER_Z
            if off and o.kind not in kinds:
                continue  # another kind and another direction: too little in common
            if dt <= TIME_Z and ctx.in_band(s, d) and (best is None or (off, dt, g) < best):
                best = (off, dt, g)
        if best is not None:
            extra.setdefault(best[2], []).append(s)
            observers[best[2]].add(o.observer)
            used.add(s)
    out = [sorted([*members, *extra.get(g, [])]) for g, members in enumerate(groups)]
    out += [[s] for s in range(len(ctx.obs)) if s not in used]
    return sorted(out)


@dataclass(frozen=True)
class Association:
    """Groups of sightings (indices into the input), and the observers' clock offsets."""

    groups: list[list[int]]
    offsets: dict[str, float]
    #: The observations' fitting constants, when they were computed on the way.
    table: ObsTable | None = None

    def emission_time(self, o: Obs, d_m: float) -> float:
        """When the occurrence o reported happened, if it was d_m away (seconds since 1970)."""
        delay = d_m / SPEED_OF_SOUND_M_S if o.heard else 0.0
        return o.t_s - self.offsets.get(o.observer, 0.0) - delay


def associate(obs: Sequence[Obs], *, workers: int = 1) -> Association:
    """Group sightings (given sorted by time, id) into occurrences.

    Args:
        workers: forked processes for the candidate pairs and the grouping (independent
            chunks, cut the same way for any number: the result does not depend on it).

    Returns:
        The groups (each sorted; every index in exactly one; sorted by first index) and
        the clock offsets (s, observer -> offset) estimated on the way.
    """
    table, static = ObsTable.of(obs), Static.of(obs)
    ctx = Ctx(obs, {}, table, static)
    first = group(ctx, candidate_pairs(ctx, workers), workers)
    ctx = Ctx(obs, _clock_offsets(ctx, first), table, static)
    fitted = group(ctx, candidate_pairs(ctx, workers), workers)
    return Association(_attach_leftovers(ctx, fitted), ctx.offset, table)
