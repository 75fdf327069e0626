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
4. Moves: pairs are taken by their time agreement alone and a join is never undone, so
   where two occurrences come close in time and place a sighting may pair with one of the
   other occurrence first (or join a group as its one allowed gross bearing). Each grouped
   sighting is tried in the groups with a fix it could join, and moves where that lowers
   the partition's chi-square (bearings, bands, emission times; a sighting reported as a
   kind no other member reports counts as relabelled, at a prior odds of 1 in 19) and
   both groups still pass step 2's test (`_assoc_refine`).
5. Leftovers: a sighting that paired with nothing joins the group whose occurrence it
   would have heard or seen at its report time, if any: one its bearing points at before
   one it does not, then the closest in time (its bearing may be a gross error: the fix
   then lists it as an outlier; a sighting of a kind the group does not hold, a shot
   reported as an explosion, must point at it). What remains is a single-sighting
   occurrence.

Everything is ordered by (time, id) and ties are broken by index: the result does not
depend on the order of the input. Steps 1 and 2 run in chunks cut by size alone, which
`workers` forked processes may share (`_candidates`, `_assoc_group`); step 4 tries every
move in one batch and takes them best first (`_assoc_refine`); step 5 finds the leftovers'
candidates at once and chooses in index order (`_assoc_leftovers`): the result does not
depend on the number of processes either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from ceasewatch._fork import fork_map
from ceasewatch.analysis._assoc_group import Grouped, group
from ceasewatch.analysis._assoc_leftovers import attach_leftovers, emission_medians, medians
from ceasewatch.analysis._assoc_refine import reassign
from ceasewatch.analysis._candidates import (
    SPEED_OF_SOUND_M_S,
    Ctx,
    Static,
    candidate_pairs,
    compatible,
)
from ceasewatch.analysis.localise import ObsTable
from ceasewatch.analysis.observations import Obs

__all__ = ["SPEED_OF_SOUND_M_S", "Association", "associate", "compatible"]


def _clock_offsets(ctx: Ctx, grouped: Grouped) -> dict[str, float]:
    """Each observer's clock offset: the median of its emission-time residuals in the
    groups of three or more with a fix (observers with three or more of them)."""
    fixed = grouped.take((grouped.sizes >= 3) & grouped.has_fix)
    if not len(fixed):
        return {}
    e, centre = emission_medians(ctx, fixed.members, fixed.ptr, fixed.fx, fixed.fy)
    residual = e - np.repeat(centre, fixed.sizes)
    who = ctx.static.who[fixed.members]
    count = np.bincount(who, minlength=len(ctx.static.observers))
    seen = count > 0
    ptr = np.zeros(int(seen.sum()) + 1, dtype=np.intp)
    np.cumsum(count[seen], out=ptr[1:])
    # Each observer's residuals together, their median as `statistics.median` takes it.
    median = medians(residual[np.argsort(who, kind="stable")], ptr).tolist()
    names = [o for o, c in zip(ctx.static.observers, seen.tolist(), strict=True) if c]
    many = (count[seen] >= 3).tolist()
    return dict(sorted((o, m) for o, m, ok in zip(names, median, many, strict=True) if ok))


def _tables(obs: Sequence[Obs], k: int) -> ObsTable | Static:
    """The fitting constants (k = 0) or the association's columns (k = 1) of `obs`."""
    return ObsTable.of(obs) if k == 0 else Static.of(obs)


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
    # The two tables are independent passes over the objects: one process each.
    table, static = cast(tuple[ObsTable, Static], fork_map(_tables, obs, 2, workers))
    ctx = Ctx(obs, {}, table, static)
    first = group(ctx, candidate_pairs(ctx, workers), workers)
    ctx = Ctx(obs, _clock_offsets(ctx, first), table, static)
    fitted = group(ctx, candidate_pairs(ctx, workers), workers)
    moved = reassign(ctx, fitted)
    return Association(attach_leftovers(ctx, moved), ctx.offset, table)
