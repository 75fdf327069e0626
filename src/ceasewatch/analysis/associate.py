"""Association: which sightings saw the same occurrence.

Sightings of one occurrence were made close in time once sound delay is allowed for
(heard events arrive |p - o| / 343 s late), are of compatible kinds, come from different
observers, and their bearings cross where their distance bands allow. The method:

1. Candidate pairs from a sweep over time-sorted sightings (only those whose possible
   emission times overlap are compared: no all-pairs pass over the day). A pair is kept
   when its rays cross in front of both observers, inside both distance bands (with
   slack), and the emission times implied by that crossing agree within the clock
   tolerance.
2. Grouping: pairs (of one kind) are taken best first; a pair joins or merges groups
   only if the result still has one sighting per observer and fits as one occurrence
   (chi-square test of the bearings and bands, one gross bearing error allowed in four
   or more, and agreeing emission times).
3. Clocks: each observer's clock offset is estimated from the groups of three or more
   (median of its emission-time residuals) and the grouping is redone with the offsets
   removed and a tighter tolerance: dense fire (rounds 30 s apart from one gun) then
   separates.
4. Leftovers: a sighting that paired with nothing joins the group whose occurrence it
   would have heard or seen at its report time, if any (its bearing may be a gross error:
   the fix then lists it as an outlier; a sighting of a confusable kind, a shot reported
   as an explosion, must also point at it). What remains is a single-sighting occurrence.

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

from ceasewatch.analysis.localise import OUTLIER_Z, bearing_z, chi2_quantile, fit
from ceasewatch.analysis.observations import Obs

__all__ = ["SPEED_OF_SOUND_M_S", "Association", "associate", "compatible"]

SPEED_OF_SOUND_M_S = 343.0
#: Kinds that observers confuse with one another (a gun's report and an impact).
_CLASSES = {"explosion": "fire", "shot": "fire", "projectile": "fire"}
_RANGE_SLACK = (0.4, 2.0)  # a true distance may lie this far outside a stated band


def compatible(a: str, b: str) -> bool:
    return a == b or (_CLASSES.get(a, a) == _CLASSES.get(b, b))


#: Timing noise of one report (s): reading a watch and writing it down.
JITTER_S = 2.0
#: Spread of observers' clock errors (s) before they are estimated from the data.
CLOCK_SIGMA_S = 4.0
#: Uncertainty left in an estimated clock offset (s).
OFFSET_SIGMA_S = 1.0
#: Normal quantile of the time tests (3 sigma).
TIME_Z = 3.0


@dataclass
class _Ctx:
    obs: Sequence[Obs]
    offset: dict[str, float]

    def emission(self, i: int, d_m: float) -> float:
        """When the occurrence happened, if it was d_m from observer i (clock corrected)."""
        o = self.obs[i]
        delay = d_m / SPEED_OF_SOUND_M_S if o.heard else 0.0
        return o.t_s - self.offset.get(o.observer, 0.0) - delay

    def time_sigma(self, i: int) -> float:
        clock = OFFSET_SIGMA_S if self.obs[i].observer in self.offset else CLOCK_SIGMA_S
        return math.hypot(JITTER_S, clock)

    def in_band(self, i: int, d_m: float) -> bool:
        o = self.obs[i]
        lo = (o.rmin_m or 0.0) * _RANGE_SLACK[0]
        hi = (o.rmax_m * _RANGE_SLACK[1]) if o.rmax_m is not None else o.max_range_m * 1.2
        return lo <= d_m <= hi

    def times_agree(self, members: Sequence[int], x: float, y: float) -> bool:
        """Chi-square test of the members' emission times at (x, y)."""
        e = [
            self.emission(k, math.hypot(x - self.obs[k].x_m, y - self.obs[k].y_m)) for k in members
        ]
        w = [1.0 / self.time_sigma(k) ** 2 for k in members]
        mean = sum(wi * ei for wi, ei in zip(w, e, strict=True)) / sum(w)
        chi2 = sum(wi * (ei - mean) ** 2 for wi, ei in zip(w, e, strict=True))
        return chi2 <= chi2_quantile(TIME_Z, len(members) - 1)


def _pairs(ctx: _Ctx, chunk: int = 4096) -> list[tuple[float, int, int]]:
    """Candidate pairs, best (most time-consistent) first, vectorised over time windows.

    Only + - * / and comparisons run in numpy (exact IEEE arithmetic on every machine);
    sines and cosines come from `math`, so every node gets bit-identical pairs.
    """
    obs = ctx.obs
    n = len(obs)
    if n < 2:
        return []
    t = np.array([o.t_s for o in obs])
    corr = np.array([o.t_s - ctx.offset.get(o.observer, 0.0) for o in obs])
    heard = np.array([o.heard for o in obs], dtype=np.float64)
    x = np.array([o.x_m for o in obs])
    y = np.array([o.y_m for o in obs])
    sn = np.array([math.sin(o.theta) for o in obs])
    cs = np.array([math.cos(o.theta) for o in obs])
    codes: dict[str, int] = {}
    who = np.array([codes.setdefault(o.observer, len(codes)) for o in obs])
    what = np.array([codes.setdefault("kind:" + o.kind, len(codes)) for o in obs])
    lo = np.array([(o.rmin_m or 0.0) * _RANGE_SLACK[0] for o in obs])
    hi = np.array(
        [o.rmax_m * _RANGE_SLACK[1] if o.rmax_m is not None else o.max_range_m * 1.2 for o in obs]
    )
    var = np.array([ctx.time_sigma(i) ** 2 for i in range(n)])
    has_band = np.array([o.rmax_m is not None for o in obs])
    mid = np.array([0.5 * ((o.rmin_m or 0.0) + (o.rmax_m or 0.0)) for o in obs])
    tol_sin = np.array([math.sin(min(3.0 * o.sigma, math.pi / 2)) for o in obs])
    max_delay = max((o.max_range_m / SPEED_OF_SOUND_M_S for o in obs if o.heard), default=0.0)
    offsets = [abs(v) for v in ctx.offset.values()]
    reach = (
        max_delay + 2 * TIME_Z * math.hypot(JITTER_S, CLOCK_SIGMA_S) + 2 * max(offsets, default=0.0)
    )
    end = np.searchsorted(t, t + reach, side="right")
    min_sin = math.sin(math.radians(2.0))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i0 in range(0, n, chunk):
        rows = np.arange(i0, min(i0 + chunk, n))
        counts = np.maximum(end[rows] - rows - 1, 0)
        total = int(counts.sum())
        if total == 0:
            continue
        i = np.repeat(rows, counts)
        j = i + 1 + (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
        keep = (who[i] != who[j]) & (what[i] == what[j])
        i, j = i[keep], j[keep]
        den = sn[i] * cs[j] - cs[i] * sn[j]
        dx, dy = x[j] - x[i], y[j] - y[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            da = (dx * cs[j] - dy * sn[j]) / den
            db = (dx * cs[i] - dy * sn[i]) / den
        crossed = (np.abs(den) >= min_sin) & (da > 0) & (db > 0)
        crossed &= (lo[i] <= da) & (da <= hi[i]) & (lo[j] <= db) & (db <= hi[j])
        # Rays that do not cross where they should (nearly parallel, or noisy enough to
        # cross behind an observer) still agree if one passes within 3 sigma of the
        # other's stated distance: try each one's band middle as the meeting point.
        for a, b in ((i, j), (j, i)):
            pa_x, pa_y = x[a] + mid[a] * sn[a], y[a] + mid[a] * cs[a]
            vx, vy = pa_x - x[b], pa_y - y[b]
            dist_b = np.sqrt(vx * vx + vy * vy)
            with np.errstate(divide="ignore", invalid="ignore"):
                sin_err = np.abs(sn[b] * vy - cs[b] * vx) / dist_b
            near = ~crossed & has_band[a] & (sn[b] * vx + cs[b] * vy > 0) & (sin_err <= tol_sin[b])
            near &= (lo[b] <= dist_b) & (dist_b <= hi[b])
            if a is i:
                da, db = np.where(near, mid[a], da), np.where(near, dist_b, db)
            else:
                da, db = np.where(near, dist_b, da), np.where(near, mid[a], db)
            crossed |= near
        i, j, da, db = i[crossed], j[crossed], da[crossed], db[crossed]
        dt = (corr[i] - heard[i] * da / SPEED_OF_SOUND_M_S) - (
            corr[j] - heard[j] * db / SPEED_OF_SOUND_M_S
        )
        z2 = dt * dt / (var[i] + var[j])
        keep = z2 <= TIME_Z * TIME_Z
        found.append((z2[keep], i[keep], j[keep]))
    if not found:
        return []
    z2 = np.concatenate([f[0] for f in found])
    i = np.concatenate([f[1] for f in found])
    j = np.concatenate([f[2] for f in found])
    order = np.lexsort((j, i, z2))
    return list(zip(z2[order].tolist(), i[order].tolist(), j[order].tolist(), strict=True))


XY = tuple[float, float]


def _fits(ctx: _Ctx, members: list[int], start: XY | None = None) -> XY | None:
    """The fix of a group whose bearings and bands fit one point, else None."""
    group = [ctx.obs[k] for k in members]
    f = fit(group, start)
    if f.chi2 > chi2_quantile(3.09, f.dof):
        return None
    if any(bearing_z(o, f.x, f.y) > OUTLIER_Z for o in group):
        return None
    return f.x, f.y


def _consistent(ctx: _Ctx, members: list[int], start: XY | None) -> XY | None:
    """The group's fix if it is one occurrence, else None: one sighting per observer; the
    bearings and bands fit one point (one gross bearing error allowed in a group of four
    or more); emission times agree at that point. `start` warm-starts the fit."""
    if len({ctx.obs[k].observer for k in members}) < len(members):
        return None
    xy = _fits(ctx, members, start)
    if xy is None and len(members) >= 4:
        for k in members:
            xy = _fits(ctx, [m for m in members if m != k], start)
            if xy is not None:
                break
    if xy is None or not ctx.times_agree(members, *xy):
        return None
    return xy


def _group(ctx: _Ctx) -> list[tuple[list[int], XY | None]]:
    """Groups (sorted by first member) with their fix when one was computed (size >= 3)."""
    group_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    fix_of: dict[int, XY] = {}
    for _, i, j in _pairs(ctx):
        gi, gj = group_of.get(i), group_of.get(j)
        if gi is not None and gi == gj:
            continue
        a = groups[gi] if gi is not None else [i]
        b = groups[gj] if gj is not None else [j]
        merged = sorted({*a, *b})
        xy: XY | None = None
        # A new pair passed the crossing, band and time tests in _pairs already.
        if len(merged) > 2:
            bigger = gi if len(a) >= len(b) else gj
            xy = _consistent(ctx, merged, fix_of.get(bigger) if bigger is not None else None)
            if xy is None:
                continue
        gid = min(merged)
        for g in (gi, gj):
            if g is not None:
                del groups[g]
                fix_of.pop(g, None)
        groups[gid] = merged
        if xy is not None:
            fix_of[gid] = xy
        for k in merged:
            group_of[k] = gid
    return [(groups[g], fix_of.get(g)) for g in sorted(groups)]


def _clock_offsets(ctx: _Ctx, groups: list[tuple[list[int], XY | None]]) -> dict[str, float]:
    residuals: dict[str, list[float]] = {}
    for members, xy in groups:
        if len(members) < 3 or xy is None:
            continue
        x, y = xy
        times = {
            k: ctx.emission(k, math.hypot(x - ctx.obs[k].x_m, y - ctx.obs[k].y_m)) for k in members
        }
        centre = statistics.median(times.values())
        for k, t in times.items():
            residuals.setdefault(ctx.obs[k].observer, []).append(t - centre)
    return {obs: statistics.median(r) for obs, r in sorted(residuals.items()) if len(r) >= 3}


def _attach_leftovers(ctx: _Ctx, fitted: list[tuple[list[int], XY | None]]) -> list[list[int]]:
    groups = [members for members, _ in fitted]
    used = {k for g in groups for k in g}
    fixes = []  # (emission time, group index, x, y), sorted by time for a windowed search
    for g, (members, known) in enumerate(fitted):
        if known is not None:
            x, y = known
        else:
            f = fit([ctx.obs[k] for k in members])
            x, y = f.x, f.y
        t0 = statistics.median(
            ctx.emission(k, math.hypot(x - ctx.obs[k].x_m, y - ctx.obs[k].y_m)) for k in members
        )
        fixes.append((t0, g, x, y))
    fixes.sort()
    starts = [t for t, *_ in fixes]
    extra: dict[int, list[int]] = {}
    for s, o in enumerate(ctx.obs):
        if s in used:
            continue
        t_own = o.t_s - ctx.offset.get(o.observer, 0.0)
        tol = TIME_Z * math.hypot(ctx.time_sigma(s), CLOCK_SIGMA_S)
        lo = t_own - (o.max_range_m / SPEED_OF_SOUND_M_S if o.heard else 0.0) - tol
        best: tuple[float, int] | None = None
        for t0, g, x, y in fixes[bisect.bisect_left(starts, lo) :]:
            if t0 > t_own + tol:
                break
            members = groups[g]
            kind = ctx.obs[members[0]].kind
            if not compatible(o.kind, kind):
                continue
            if any(ctx.obs[k].observer == o.observer for k in (*members, *extra.get(g, []))):
                continue
            d = math.hypot(x - o.x_m, y - o.y_m)
            dt = abs(ctx.emission(s, d) - t0) / math.hypot(
                ctx.time_sigma(s), ctx.time_sigma(members[0])
            )
            if o.kind != kind and bearing_z(o, x, y) > OUTLIER_Z:
                continue  # another kind and another direction: too little in common
            if dt <= TIME_Z and ctx.in_band(s, d) and (best is None or (dt, g) < best):
                best = (dt, g)
        if best is not None:
            extra.setdefault(best[1], []).append(s)
            used.add(s)
    out = [sorted([*members, *extra.get(g, [])]) for g, members in enumerate(groups)]
    out += [[s] for s in range(len(ctx.obs)) if s not in used]
    return sorted(out)


@dataclass(frozen=True)
class Association:
    """Groups of sightings (indices into the input), and the observers' clock offsets."""

    groups: list[list[int]]
    offsets: dict[str, float]

    def emission_time(self, o: Obs, d_m: float) -> float:
        """When the occurrence o reported happened, if it was d_m away (seconds since 1970)."""
        delay = d_m / SPEED_OF_SOUND_M_S if o.heard else 0.0
        return o.t_s - self.offsets.get(o.observer, 0.0) - delay


def associate(obs: Sequence[Obs]) -> Association:
    """Group sightings (given sorted by time, id) into occurrences.

    Returns:
        The groups (each sorted; every index in exactly one; sorted by first index) and
        the clock offsets (s, observer -> offset) estimated on the way.
    """
    ctx = _Ctx(obs, {})
    ctx = _Ctx(obs, _clock_offsets(ctx, _group(ctx)))
    return Association(_attach_leftovers(ctx, _group(ctx)), ctx.offset)
