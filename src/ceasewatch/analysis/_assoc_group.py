"""Grouping (see `associate`, step 2): pairs taken best first, component by component.

The pair graph's components never touch one another's groups, so the pairs of one
component are taken in order with no regard to the others: the outcome is that of taking
all pairs one by one, best first, whichever components run side by side. Within a run,
rounds take every component's next pair that needs a fit, and any later one no pending
fit can change (see `_run`), and fit them in one batch (a group's fit does not depend
on what else is in its batch). Runs of consecutive components
are cut by pair count alone (`TASK_PAIRS`), never by the number of processes, and may go
to forked processes (`fork_map`): each returns its groups as arrays, joined in task order,
so the groups are the same for any number of workers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ceasewatch._fork import fork_map, spans
from ceasewatch.analysis._batchfit import BoolArray, FloatArray, IntArray, fit_many, ragged
from ceasewatch.analysis._batchfit import bearing_z as bearing_z_many
from ceasewatch.analysis._candidates import Ctx, Pairs
from ceasewatch.analysis.localise import FIT_Z, OUTLIER_Z, chi2_quantiles

try:
    from ceasewatch.analysis import _groupcore

    ACCELERATED = True
    """True when the grouping walk runs in C (`_groupcore`), False when `_run` does."""
except ImportError:  # pragma: no cover (not built)
    ACCELERATED = False

__all__ = ["CROSS_TASK_PAIRS", "TASK_PAIRS", "XY", "Grouped", "consistent_many", "group"]

XY = tuple[float, float]
#: Pairs per task, about: enough that a task's rounds of fits are batches worth a numpy
#: pass, few enough that a large day splits across processes.
TASK_PAIRS = 65536
#: The same for pairs of confusable kinds: their components are small and take few
#: rounds, so smaller tasks cost little more and let a smaller day use every process.
CROSS_TASK_PAIRS = 8192
#: Pairs a round lets wait in one component before it leaves the rest of that component
#: for later rounds too (where a component is long, one pending fit holds most of it).
SCAN_WAITING = 2


def _fits(
    ctx: Ctx, flat: IntArray, ptr: IntArray, sx: FloatArray, sy: FloatArray
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Each group's fix (from (sx, sy); NaN: no start) and whether its bearings and
    bands fit that one point."""
    f = fit_many(ctx.table, flat, ptr, (sx, sy))
    seg = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    worst = np.maximum.reduceat(bearing_z_many(ctx.table, flat, f.x[seg], f.y[seg]), ptr[:-1])
    good = (f.chi2 <= chi2_quantiles(FIT_Z, f.dof)) & (worst <= OUTLIER_Z)
    return f.x, f.y, good


def _leave_one_out(flat: IntArray, ptr: IntArray, groups: IntArray) -> tuple[IntArray, IntArray]:
    """Each of `groups` without each of its members in turn, group by group, as (flat,
    ptr): subset s of a group of n leaves out its member s (in order)."""
    n = np.diff(ptr)[groups]
    owner = np.repeat(groups, n)  # the group of each subset
    left_out = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    sizes = np.repeat(n, n) - 1
    sub_ptr = np.zeros(len(owner) + 1, dtype=np.intp)
    np.cumsum(sizes, out=sub_ptr[1:])
    t = np.arange(int(sub_ptr[-1])) - np.repeat(sub_ptr[:-1], sizes)
    t += t >= np.repeat(left_out, sizes)
    return flat[np.repeat(ptr[owner], sizes) + t], sub_ptr


def consistent_many(
    ctx: Ctx,
    members: Sequence[list[int]],
    sx: Sequence[float],
    sy: Sequence[float],
    ids: IntArray | None = None,
    *,
    keep: Sequence[int] | None = None,
) -> list[XY | None]:
    """For each group (of one sighting per observer: the caller makes sure), its fix if
    it is one occurrence, else None (see `consistent_flat`). `ids`: the sighting of each
    number the members are given as (default: the members are sightings). `keep`: for
    each group, a member (in the members' numbering; -1: none) that may not be the gross
    error left out (one that joins it)."""
    if not members:
        return []
    flat, ptr = ragged(members)
    kept = None if keep is None else np.array(keep, dtype=np.intp)
    if ids is not None:
        flat = ids[flat]
        if kept is not None:
            kept = np.where(kept >= 0, ids[kept], -1)
    x0, y0 = np.array(sx, dtype=np.float64), np.array(sy, dtype=np.float64)
    x, y, ok = consistent_flat(ctx, flat, ptr, x0, y0, keep=kept)
    return [
        (px, py) if good_ else None
        for px, py, good_ in zip(x.tolist(), y.tolist(), ok.tolist(), strict=True)
    ]


def consistent_flat(
    ctx: Ctx,
    flat: IntArray,
    ptr: IntArray,
    x0: FloatArray,
    y0: FloatArray,
    *,
    keep: IntArray | None = None,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """For each group flat[ptr[g]:ptr[g + 1]] (sightings, one per observer), its fix and
    whether it is one occurrence: the bearings and bands fit one point (one gross
    bearing error allowed in a group of four or more: the first member, in order, whose
    leaving out lets the rest fit); emission times agree at that point. A known fix
    (x0, y0; NaN where none) warm-starts the fit. `keep`: for each group, a sighting
    (-1: none) that may not be the gross error left out (one that joins it)."""
    x, y, ok = _fits(ctx, flat, ptr, x0, y0)
    retry = np.flatnonzero(~ok & (np.diff(ptr) >= 4))
    if len(retry):
        sub_flat, sub_ptr = _leave_one_out(flat, ptr, retry)
        owner = np.repeat(retry, np.diff(ptr)[retry])
        sub_x, sub_y, sub_ok = _fits(ctx, sub_flat, sub_ptr, x0[owner], y0[owner])
        if keep is not None:
            # The member each subset leaves out (subsets of a group leave out its members
            # in order).
            n_r = np.diff(ptr)[retry]
            pos = np.arange(len(owner)) - np.repeat(np.cumsum(n_r) - n_r, n_r)
            left_out = flat[np.repeat(ptr[retry], n_r) + pos]
            sub_ok &= left_out != keep[owner]
        good = np.flatnonzero(sub_ok)
        _, first = np.unique(owner[good], return_index=True)
        chosen = good[first]  # each group's first subset that fits
        q = owner[chosen]
        x[q], y[q], ok[q] = sub_x[chosen], sub_y[chosen], True
    # (At a harmless point where there is no fix: those are None whatever the times.)
    ok &= ctx.times_agree_flat(flat, ptr, np.where(ok, x, 0.0), np.where(ok, y, 0.0))
    return x, y, ok


def _components(n: int, i: IntArray, j: IntArray, node: IntArray | None) -> IntArray:
    """The component label of each pair (its graph's smallest node), pairs i[k]-j[k].

    `node` maps each sighting to its node of the graph (default: itself); the group a
    sighting already belongs to, say, so that pairs touching one group stay together."""
    ni, nj = (i, j) if node is None else (node[i], node[j])
    # Each node takes the smallest label among its neighbours, then its label's label
    # (pointer jumping), until nothing changes: every component ends up labelled by its
    # smallest node.
    label = np.arange(n)
    while True:
        low = np.minimum(label[ni], label[nj])
        new = label.copy()
        np.minimum.at(new, ni, low)
        np.minimum.at(new, nj, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    out: IntArray = label[ni]
    return out


@dataclass(frozen=True)
class Grouped:
    """Groups as arrays: group g is members[ptr[g]:ptr[g + 1]] (sorted), its fix
    (fx[g], fy[g]) where has_fix[g] (a fit of three or more)."""

    members: IntArray
    ptr: IntArray
    fx: FloatArray
    fy: FloatArray
    has_fix: BoolArray

    @classmethod
    def of(cls, groups: Sequence[list[int]], fixes: Sequence[XY | None]) -> Grouped:
        members, ptr = ragged(groups)
        return cls(
            members,
            ptr,
            np.array([xy[0] if xy is not None else 0.0 for xy in fixes], dtype=np.float64),
            np.array([xy[1] if xy is not None else 0.0 for xy in fixes], dtype=np.float64),
            np.array([xy is not None for xy in fixes], dtype=bool),
        )

    @classmethod
    def concat(cls, parts: Sequence[Grouped]) -> Grouped:
        """The groups of all parts, in order."""
        sizes = [np.diff(p.ptr) for p in parts]
        ptr = np.zeros(sum(len(z) for z in sizes) + 1, dtype=np.intp)
        np.cumsum(np.concatenate([np.zeros(0, dtype=np.intp), *sizes]), out=ptr[1:])
        return cls(
            np.concatenate([np.zeros(0, dtype=np.intp), *(p.members for p in parts)]),
            ptr,
            np.concatenate([np.zeros(0), *(p.fx for p in parts)]),
            np.concatenate([np.zeros(0), *(p.fy for p in parts)]),
            np.concatenate([np.zeros(0, dtype=bool), *(p.has_fix for p in parts)]),
        )

    def __len__(self) -> int:
        return len(self.ptr) - 1

    @property
    def first(self) -> IntArray:
        """Each group's first (smallest) member."""
        out: IntArray = self.members[self.ptr[:-1]]
        return out

    @property
    def sizes(self) -> IntArray:
        out: IntArray = np.diff(self.ptr)
        return out

    def take(self, idx: IntArray | BoolArray) -> Grouped:
        """Groups idx (indices, or a mask), in that order."""
        idx = np.arange(len(self))[idx]
        sizes = self.sizes[idx]
        ptr = np.zeros(len(idx) + 1, dtype=np.intp)
        np.cumsum(sizes, out=ptr[1:])
        rows = np.repeat(self.ptr[idx] - ptr[:-1], sizes) + np.arange(int(ptr[-1]))
        return Grouped(self.members[rows], ptr, self.fx[idx], self.fy[idx], self.has_fix[idx])

    def by_first(self) -> Grouped:
        """The groups sorted by first member."""
        return self.take(np.argsort(self.first, kind="stable"))

    def lists(self) -> list[list[int]]:
        m, p = self.members.tolist(), self.ptr.tolist()
        return [m[a:b] for a, b in itertools.pairwise(p)]

    def fixes(self) -> list[XY | None]:
        fixes = zip(self.fx.tolist(), self.fy.tolist(), self.has_fix.tolist(), strict=True)
        return [(x, y) if ok else None for x, y, ok in fixes]


@dataclass(frozen=True)
class _Job:
    """What the tasks of one run share (forked children inherit it)."""

    ctx: Ctx
    i: IntArray  # the pairs, sorted by component (best first within one)
    j: IntArray
    cut: list[int]  # pair index where each component starts, and the end
    tasks: list[tuple[int, int]]  # [first, last) component of each task
    cross: bool  # pairs of confusable kinds: they never join two groups
    base: Grouped  # the groups so far (sorted by first member)
    index_of: IntArray  # sighting -> its group in `base` (-1: none)


def _distinct(values: IntArray, n: int) -> IntArray:
    """`np.unique` of values in [0, n) (sorted, each once), by marking them."""
    seen = np.zeros(n, dtype=bool)
    seen[values] = True
    out: IntArray = np.flatnonzero(seen)
    return out


def _task(job: _Job, k: int) -> tuple[IntArray, Grouped]:
    """Run the components of task k; return the groups of `base` it replaced (indices)
    and the groups its components now hold (sorted by first member)."""
    c0, c1 = job.tasks[k]
    a, b = job.cut[c0], job.cut[c1]
    ends = [job.i[a:b], job.j[a:b]]
    touched = np.zeros(0, dtype=np.intp)
    base = job.base.take(touched)
    if len(job.base):
        idx = job.index_of[np.concatenate(ends)]
        touched = _distinct(idx[idx >= 0], len(job.base))
        base = job.base.take(touched)
    # The task's sightings, numbered 0, 1, ... in their order: lists, not dicts, hold
    # what the loop looks up, and a group's first member stays its first.
    ids = _distinct(np.concatenate([*ends, base.members]), len(job.index_of))
    li, lj = np.searchsorted(ids, ends[0]), np.searchsorted(ids, ends[1])
    qptr = np.array(job.cut[c0 : c1 + 1], dtype=np.intp) - a
    local = Grouped(np.searchsorted(ids, base.members), base.ptr, base.fx, base.fy, base.has_fix)
    run = _run_c if ACCELERATED else _run_py
    grouped = run(job.ctx, ids, (li, lj, qptr), local, cross=job.cross)
    g = grouped
    return touched, Grouped(ids[g.members], g.ptr, g.fx, g.fy, g.has_fix)


def _run_py(
    ctx: Ctx,
    ids: IntArray,
    queues: tuple[IntArray, IntArray, IntArray],
    base: Grouped,
    *,
    cross: bool,
) -> Grouped:
    """The groups (over the task's numbering) after taking the queues' pairs (queue q:
    pairs li[k]-lj[k], k in qptr[q]:qptr[q + 1]) from the groups `base` (`_run`)."""
    li, lj, qptr = (q.tolist() for q in queues)
    state = _State(ids, ctx.static.who[ids].tolist())
    local = base.members.tolist()
    for (p0, p1), xy in zip(itertools.pairwise(base.ptr.tolist()), base.fixes(), strict=True):
        state.add(local[p0:p1], xy)
    pending = [list(zip(li[s:e], lj[s:e], strict=True)) for s, e in itertools.pairwise(qptr)]
    _run(ctx, pending, state, cross=cross)
    order = [g for g, m in enumerate(state.grp) if m is not None]
    return Grouped.of([state.grp[g] or [] for g in order], [state.fix.get(g) for g in order])


def _run_c(
    ctx: Ctx,
    ids: IntArray,
    queues: tuple[IntArray, IntArray, IntArray],
    base: Grouped,
    *,
    cross: bool,
) -> Grouped:
    """`_run_py` with the walk in C (`_groupcore.Groups`): the same groups, bit for bit."""
    state = _groupcore.Groups(ctx.static.who[ids].astype(np.int64))
    state.add(base.members, base.ptr, base.fx, base.fy, base.has_fix)
    qi, qj, qptr = queues
    while len(qptr) > 1:
        asked, ptr, sx, sy, ri, rj, rptr = state.scan(qi, qj, qptr, cross, SCAN_WAITING)
        flat, ptr_ = np.frombuffer(asked, np.intp), np.frombuffer(ptr, np.intp)
        x0, y0 = np.frombuffer(sx, np.float64), np.frombuffer(sy, np.float64)
        if len(ptr_) > 1:
            x, y, ok = consistent_flat(ctx, ids[flat], ptr_, x0.copy(), y0.copy())
        else:
            x, y, ok = x0, y0, np.zeros(0, dtype=bool)
        state.apply(np.ascontiguousarray(ok), x, y)
        qi, qj = np.frombuffer(ri, np.intp), np.frombuffer(rj, np.intp)
        qptr = np.frombuffer(rptr, np.intp)
    members, ptr, fx, fy, has = state.groups()
    return Grouped(
        np.frombuffer(members, np.intp).copy(),
        np.frombuffer(ptr, np.intp).copy(),
        np.frombuffer(fx, np.float64).copy(),
        np.frombuffer(fy, np.float64).copy(),
        np.frombuffer(has, np.bool_).copy(),
    )


class _State:
    """The groups of one task, over its sightings numbered 0, 1, ... (`ids`: which
    sighting each is): the group each is in (by its first member: itself when alone),
    the members of each group by its first member (None: no group), the fixes."""

    def __init__(self, ids: IntArray, who: list[int]) -> None:
        self.ids = ids
        self.who = who  # observer code of each
        self.ent = list(range(len(ids)))
        self.grp: list[list[int] | None] = [None] * len(ids)
        self.fix: dict[int, XY] = {}

    def add(self, members: list[int], xy: XY | None) -> None:
        gid = members[0]
        self.grp[gid] = members
        if xy is not None:
            self.fix[gid] = xy
        for m in members:
            self.ent[m] = gid


def _run(ctx: Ctx, queues: list[list[tuple[int, int]]], state: _State, *, cross: bool) -> None:
    """Take the pairs of each component in order (see the module), updating the groups.

    A round walks each component's pairs left: a pair that needs a fit is asked, and
    its two groups (a single sighting is its own) are held until the round's batch is
    fitted; a later pair that touches a held group waits for a later round, and holds
    its other group too. Every other pair is decided on the spot: it touches no group
    an earlier pending pair may change, so taking it now is taking it in its turn. A
    round thus asks each component's next fit and every other fit that cannot depend
    on it: fewer rounds, in larger batches, with the outcome of one pair at a time.
    """
    who, ent, grp, fix_of = state.who, state.ent, state.grp, state.fix
    pending = queues
    nan = math.nan
    while pending:
        asks: list[list[int]] = []
        sx: list[float] = []
        sy: list[float] = []
        waiting: list[tuple[int, int, list[int]]] = []
        later: list[list[tuple[int, int]]] = []
        for queue in pending:
            held: set[int] = set()
            rest: list[tuple[int, int]] = []
            for n, (i, j) in enumerate(queue):
                ei, ej = ent[i], ent[j]
                if held and (ei in held or ej in held):
                    held.add(ei)
                    held.add(ej)
                    rest.append((i, j))
                    if len(rest) >= SCAN_WAITING:
                        rest += queue[n + 1 :]
                        break
                    continue
                a, b = grp[ei], grp[ej]
                if a is None:
                    if b is None:
                        # Two single sightings (of two observers: a candidate pair).
                        lo, hi = (i, j) if i < j else (j, i)
                        grp[lo] = [lo, hi]
                        ent[i] = ent[j] = lo
                        continue
                    a = [i]
                elif b is None:
                    b = [j]
                elif ei == ej or cross:
                    # Confusable kinds (a shot reported as an explosion) bring one
                    # sighting to another, never join two groups: a round's report and
                    # its impact come close in time, and each may have its group.
                    continue
                merged = sorted(a + b)
                if len({who[k] for k in merged}) < len(merged):
                    continue  # two sightings by one observer: not one occurrence
                start = fix_of.get(ei if len(a) >= len(b) else ej)  # the bigger group's
                asks.append(merged)
                sx.append(start[0] if start is not None else nan)
                sy.append(start[1] if start is not None else nan)
                waiting.append((ei, ej, merged))
                held.add(ei)
                held.add(ej)
            if rest:
                later.append(rest)
        fixes = consistent_many(ctx, asks, sx, sy, state.ids)
        for (ei, ej, merged), xy in zip(waiting, fixes, strict=True):
            if xy is not None:
                grp[ei] = grp[ej] = None
                fix_of.pop(ei, None)
                fix_of.pop(ej, None)
                state.add(merged, xy)
        pending = later


def _runs(
    ctx: Ctx, i: IntArray, j: IntArray, *, cross: bool, base: Grouped, workers: int
) -> Grouped:
    """Take pairs i-j (best first) by component, on up to `workers` processes, from the
    groups `base` (sorted by first member); return the groups then (sorted so too)."""
    if not len(i):
        return base
    n = len(ctx.obs)
    index_of = np.full(n, -1, dtype=np.intp)
    node = None
    if len(base):
        index_of[base.members] = np.repeat(np.arange(len(base)), base.sizes)
        node = np.arange(n)
        node[base.members] = np.repeat(base.first, base.sizes)
    comp = _components(n, i, j, node)
    order = np.argsort(comp, kind="stable")  # within a component, the pairs' own order
    i, j, comp = i[order], j[order], comp[order]
    cut = [0, *(np.flatnonzero(np.diff(comp)) + 1).tolist(), len(order)]
    # Tasks of consecutive components, about TASK_PAIRS pairs each (cut where a
    # component starts: the first one at or after each even share of the pairs).
    per_task = CROSS_TASK_PAIRS if cross else TASK_PAIRS
    parts = len(spans(len(order), -(-len(order) // per_task)))
    starts = np.searchsorted(cut, [len(order) * q // parts for q in range(parts)])
    firsts = sorted({0, *starts.tolist()} - {len(cut) - 1})
    tasks = list(zip(firsts, [*firsts[1:], len(cut) - 1], strict=True))
    job = _Job(ctx, i, j, cut, tasks, cross, base, index_of)
    done = fork_map(_task, job, len(tasks), workers)
    kept = np.ones(len(base), dtype=bool)
    for touched, _ in done:
        kept[touched] = False
    return Grouped.concat([base.take(kept), *(grouped for _, grouped in done)]).by_first()


def group(ctx: Ctx, pairs: Pairs, workers: int = 1) -> Grouped:
    """Groups (sorted by first member) with their fix when one was computed (size >= 3).

    Pairs are taken best first: a pair joins or merges groups when the result passes
    `consistent_many` (a new pair passed the crossing, band and time tests in
    `candidate_pairs` already). Pairs of one kind all come before pairs of confusable
    kinds, so they run first, on their own graph; then the others, on the graph of the
    groups they touch (they only bring single sightings, which keeps those components
    small).
    """
    none = Grouped.of([], [])
    same = pairs.same
    first = _runs(ctx, pairs.i[:same], pairs.j[:same], cross=False, base=none, workers=workers)
    grouped = np.zeros(len(ctx.obs), dtype=bool)
    grouped[first.members] = True
    ci, cj = pairs.i[same:], pairs.j[same:]
    # Both already in groups: it could only join two groups (or two of one), never done.
    keep = ~(grouped[ci] & grouped[cj])
    return _runs(ctx, ci[keep], cj[keep], cross=True, base=first, workers=workers)
