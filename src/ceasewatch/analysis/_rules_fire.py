"""The fire rule kinds of `ceasewatch.analysis.violations`: fire_across_line, fire_near_post.

See that module's docstring for what each finds and how probably.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis._rules_common import (
    _Context,
    _make,
    _other_side,
    _phi,
    _sigma_along,
    _sigma_max,
    best_side,
)
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.rules import FireAcrossLineParams, FireNearPostParams, Rule
from ceasewatch.geo.theater import Site


def _firing_positions_across_line(
    rule: Rule, p: FireAcrossLineParams, ctx: _Context
) -> Iterator[Violation]:
    th = ctx.theater
    for fp in ctx.of_kind("firing_position"):
        pts = sorted(ctx.impacts.get(fp.id, ()))
        if not pts:
            continue
        lon, lat = th.frame.to_wgs84([x for x, _ in pts], [y for _, y in pts])
        impact_sides = th.at(fp.time).sides_of(lon, lat)
        # The side X with the highest p_X among those with an impact outside X's area.
        ranked = sorted(
            (-p_x, side)
            for side, p_x in fp.p_side.items()
            if p_x > 0.0 and any(s is not None and s != side for s in impact_sides)
        )
        if not ranked or -ranked[0][0] < rule.min_p:
            continue
        p_x, side = -ranked[0][0], ranked[0][1]
        across = sorted({s for s in impact_sides if s is not None and s != side})
        n_across = sum(1 for s in impact_sides if s is not None and s != side)
        yield _make(
            rule,
            side=side,
            p=p_x,
            time=fp.time,
            lon=fp.lon,
            lat=fp.lat,
            description=(
                f"firing position in {side}'s area (p {p_x:.2f}) with {n_across} of "
                f"{len(pts)} impact(s) in {' and '.join(across)}'s area"
                + (f"; craters {', '.join(sorted(fp.craters))}" if fp.craters else "")
            ),
            event_ids=[fp.id],
        )


def _pair_shots(
    shots: list[Event], explosions: list[Event], p: FireAcrossLineParams
) -> dict[int, list[int]]:
    """Each explosion's shot, as shot index -> its explosions' indices (in their order).

    An explosion is paired with the shot before it within max_delay_s and max_range_m,
    nearest in time, then in distance, then by id. Both lists are in (time, id) order, so
    nearer in time is a later time rank and a lower id a lower index: the choice is one
    numpy sort of the candidate pairs; the distances are `math.hypot` of the same
    differences, per pair.
    """
    if not shots or not explosions:
        return {}
    times = [s.time for s in shots]
    delay = timedelta(seconds=p.max_delay_s)
    lo = np.array([bisect.bisect_left(times, e.time - delay) for e in explosions])
    hi = np.array([bisect.bisect_right(times, e.time) for e in explosions])
    # Time rank: shots at the same time share the rank of the first of them.
    rank = np.array([i if i == 0 or times[i] != times[i - 1] else -1 for i in range(len(times))])
    rank = np.maximum.accumulate(rank)
    counts = hi - lo
    ex = np.repeat(np.arange(len(explosions)), counts)
    k = lo[ex] + (np.arange(len(ex)) - (np.cumsum(counts) - counts)[ex])
    sx = np.array([s.x_m for s in shots], dtype=np.float64)
    sy = np.array([s.y_m for s in shots], dtype=np.float64)
    ex_x = np.array([e.x_m for e in explosions], dtype=np.float64)
    ex_y = np.array([e.y_m for e in explosions], dtype=np.float64)
    dx, dy = (ex_x[ex] - sx[k]).tolist(), (ex_y[ex] - sy[k]).tolist()
    dist = np.array(list(map(math.hypot, dx, dy)), dtype=np.float64)
    near = dist <= p.max_range_m
    ex, k, dist = ex[near], k[near], dist[near]
    order = np.lexsort((k, dist, -rank[k], ex))
    ex, k = ex[order], k[order]
    first = np.ones(len(ex), dtype=bool)
    first[1:] = ex[1:] != ex[:-1]
    paired: dict[int, list[int]] = {}
    for shot, explosion in zip(k[first].tolist(), ex[first].tolist(), strict=True):
        paired.setdefault(shot, []).append(explosion)
    return dict(sorted(paired.items()))


def _shots_across_line(rule: Rule, p: FireAcrossLineParams, ctx: _Context) -> Iterator[Violation]:
    shots, explosions = ctx.of_kind("shot"), ctx.of_kind("explosion")
    paired = _pair_shots(shots, explosions, p)
    # The same text for every shot:
    paired_with = (
        f" explosion(s) paired with it (within {p.max_delay_s:g} s and {p.max_range_m:g} m)"
        " most probably in another side's area"
    )
    explosion_ids = [e.id for e in explosions]
    for k, side, prob, p_x, n_across in _shot_choices(shots, explosions, paired):
        if prob < rule.min_p:
            continue
        shot, exs = shots[k], paired[k]
        yield _make(
            rule,
            side=side,
            p=prob,
            time=shot.time,
            lon=shot.lon,
            lat=shot.lat,
            description=f"shot in {side}'s area (p {p_x:.2f}); {n_across} of {len(exs)}"
            + paired_with,
            event_ids=[shot.id, *map(explosion_ids.__getitem__, exs)],
        )


#: A shot's choice: (shot index, side, p, the shot's p of that side, explosions across).
_Choice = tuple[int, str, float, float, int]


def _shot_choice(shot: Event, exs: list[Event]) -> tuple[str, float, float, int] | None:
    """The side X of the shot with the highest p_X * max over its explosions of P(not
    in X's area) (ties: the first X by name, then the lower p_X), or None if the shot
    has no side; the plain loop `_shot_choices` stands for."""
    ranked = [
        (-(p_x * max([math.fsum([q for s, q in ex.p_side.items() if s != side]) for ex in exs])),
         side, p_x)
        for side, p_x in shot.p_side.items()
    ]  # fmt: skip
    if not ranked:
        return None
    neg_p, side, p_x = min(ranked)
    n_across = sum([best_side(ex.p_side)[0] not in (None, side) for ex in exs])
    return side, -neg_p, p_x, n_across


def _shot_choices(
    shots: Sequence[Event], explosions: Sequence[Event], paired: dict[int, list[int]]
) -> list[_Choice]:
    """`_shot_choice` of every paired shot (in shot order), in numpy.

    A side's P(not in X's area) is the sum of the others' p: with at most two p per
    explosion (always, with two sides), numpy's row sum with X's column left out is that
    one rounded sum, as math.fsum's. Shots with an explosion of more, or with a p that is
    not positive and finite, go by the loop.
    """
    keys = list(paired)
    exs = [i for k in keys for i in paired[k]]
    names = sorted({s for k in keys for s in shots[k].p_side} | {
        s for i in exs for s in explosions[i].p_side
    })  # fmt: skip
    if not names:
        return []  # no shot has a side
    col = {s: c for c, s in enumerate(names)}

    def matrix(
        rows: list[dict[str, float]], most: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """The rows' p by side name, and which rows are plain: at most `most` entries,
        each a positive finite p (the pipeline's: zeros, NaN and the like go by the loop)."""
        m = np.zeros((len(rows), len(names)))
        sizes = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
        owner = np.repeat(np.arange(len(rows)), sizes)
        cols = np.fromiter(map(col.__getitem__, itertools.chain.from_iterable(rows)), np.intp)
        # The values as m's cells take them (float64; a row's keys are distinct).
        q = np.fromiter(itertools.chain.from_iterable(map(dict.values, rows)), np.float64)
        m[owner, cols] = q
        bad = ~((q > 0.0) & (q < math.inf))  # not positive and finite (NaN too)
        plain = (sizes <= most) & (np.bincount(owner[bad], minlength=len(rows)) == 0)
        return m, plain

    sp, plain = matrix([shots[k].p_side for k in keys], len(names))
    present = sp > 0.0
    ep, ep_plain = matrix([explosions[i].p_side for i in exs], 2)
    sizes = np.array([len(paired[k]) for k in keys])
    starts = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(keys)), sizes)
    general = ~plain | (np.add.reduceat((~ep_plain).astype(np.intp), starts) > 0)
    # P(not in X's area) of each explosion, per X; its largest over each shot's explosions.
    other = np.empty_like(ep)
    for c in range(len(names)):
        rest = ep.copy()
        rest[:, c] = 0.0
        other[:, c] = rest.sum(axis=1)
    worst = np.maximum.reduceat(other, starts, axis=0)
    value = np.where(present, sp * worst, -np.inf)
    pick = np.argmax(value, axis=1)  # the first of the largest: by name
    best_ex = np.argmax(ep, axis=1)
    has_best = ep.max(axis=1, initial=0.0) > 0.0
    across = has_best & (best_ex != pick[owner])
    n_across = np.add.reduceat(across.astype(np.intp), starts)
    out: list[_Choice] = []
    for r, k in enumerate(keys):
        if general[r]:
            choice = _shot_choice(shots[k], [explosions[i] for i in paired[k]])
            if choice is not None:
                out.append((k, *choice))
            continue
        if not present[r].any():
            continue  # no side
        c = int(pick[r])
        out.append((k, names[c], float(value[r, c]), float(sp[r, c]), int(n_across[r])))
    return out


def _z_of(p: float) -> float:
    """The normal quantile of p (bisection on `_phi`; -inf for 0)."""
    if p <= 0.0:
        return -math.inf
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
    return lo


def _near_posts(
    events: Sequence[Event], ctx: _Context, distance_m: float, min_p: float
) -> list[list[Site]]:
    """For each event, the posts that may be its nearest by p (none when no post can
    reach min_p).

    p = Phi(z), z = (distance_m - d) / sigma along the direction to the post: z is
    computed for a block of events and every post at once (+ - * / sqrt), and only the posts within
    0.01 of the best z (of z >= 5.99 when the best exceeds 6, where Phi rounds to 1 and
    ties are broken by distance) are left for the exact, per-post test.
    """
    out: list[list[Site]] = [[] for _ in events]
    z_min = _z_of(min_p) - 0.01
    # Events are in time order: a period's events are the run between two change times.
    times = [ev.time for ev in events]
    cuts = [0, *(bisect.bisect_left(times, t) for t in ctx.theater.change_times), len(events)]
    for a, b in itertools.pairwise(cuts):
        posts = ctx.theater.at(events[a].time).posts if a < b else []
        if not posts:
            continue
        px, py = (np.array(v) for v in zip(*(ctx.site_xy(p) for p in posts), strict=True))
        # Rows a block at a time: each row's z is its own, and (events x posts) arrays of
        # a whole day would cost more in fresh memory than in arithmetic.
        for c in range(a, b, _POST_BLOCK):
            idx = range(c, min(c + _POST_BLOCK, b))
            for row, col in _near_post_cells(events, idx, (px, py), distance_m, z_min):
                out[idx[row]].append(posts[col])
    return out


#: Events per block of `_near_posts`.
_POST_BLOCK = 4096


def _near_post_cells(
    events: Sequence[Event],
    idx: range,
    posts_xy: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    distance_m: float,
    z_min: float,
) -> list[tuple[int, int]]:
    """(row in idx, post) of the posts that may be each event's nearest by p."""
    px, py = posts_xy
    ex = np.array([events[i].x_m for i in idx])[:, None]
    ey = np.array([events[i].y_m for i in idx])[:, None]
    cov = np.fromiter(
        itertools.chain.from_iterable(itertools.chain.from_iterable(events[i].cov_m2 for i in idx)),
        dtype=np.float64,
        count=4 * len(idx),
    ).reshape(-1, 4)
    cxx, cxy, cyx, cyy = (cov[:, j][:, None] for j in range(4))
    dx, dy = px[None, :] - ex, py[None, :] - ey
    d = np.sqrt(dx * dx + dy * dy)
    # The largest sigma stands in where an event lies on a post (rare): only there.
    smax = np.zeros((len(idx), 1))
    for row in np.flatnonzero((d == 0.0).any(axis=1)).tolist():
        smax[row, 0] = _sigma_max(events[idx[row]].cov_m2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ux, uy = dx / d, dy / d
        along = ux * ux * cxx + ux * uy * (cxy + cyx) + uy * uy * cyy
        sigma = np.where(d > 0.0, np.sqrt(np.maximum(along, 0.0)), smax)
        z = np.where(
            sigma > 0.0, (distance_m - d) / sigma, np.where(d <= distance_m, np.inf, -np.inf)
        )
    best = z.max(axis=1)
    cand = (z >= np.minimum(best, 6.0)[:, None] - 0.01) & (best >= z_min)[:, None]
    rows, cols = np.nonzero(cand)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _fire_near_post(rule: Rule, p: FireNearPostParams, ctx: _Context) -> Iterator[Violation]:
    th = ctx.theater
    events = ctx.of_kind(*p.kinds)
    within = f"{p.distance_m:g}"
    for ev, posts in zip(events, _near_posts(events, ctx, p.distance_m, rule.min_p), strict=True):
        if not posts:
            continue
        best: tuple[float, float, str, Site] | None = None
        for post in posts:
            px, py = ctx.site_xy(post)
            d = math.hypot(px - ev.x_m, py - ev.y_m)
            sigma = (
                _sigma_along(ev.cov_m2, (px - ev.x_m) / d, (py - ev.y_m) / d)
                if d > 0.0
                else _sigma_max(ev.cov_m2)
            )
            if sigma > 0.0:
                prob = _phi((p.distance_m - d) / sigma)
            else:
                prob = 1.0 if d <= p.distance_m else 0.0
            cand = (-prob, d, post.id, post)
            if best is None or cand[:3] < best[:3]:
                best = cand
        if best is None or -best[0] < rule.min_p:
            continue
        prob, d, post = -best[0], best[1], best[3]
        area_side, p_area = best_side(ev.p_side)
        if ev.kind == "explosion":
            side = _other_side(th, area_side)
            who = (
                f"the explosion lies in {area_side}'s area (p {p_area:.2f}); the firing side "
                f"is inferred to be the other side, {side}"
                if area_side is not None
                else "the area of the explosion is unknown, so is the firing side"
            )
        else:
            side = area_side
            who = (
                f"the {ev.kind} lies in {side}'s area (p {p_area:.2f})"
                if side is not None
                else f"the {ev.kind} lies in no side's area"
            )
        yield _make(
            rule,
            side=side,
            p=prob,
            time=ev.time,
            lon=ev.lon,
            lat=ev.lat,
            description=(
                f"{ev.kind} {d:.0f} m from post {post.id} ({post.org}); p {prob:.2f} that it "
                f"was within {within} m; {who}"
            ),
            event_ids=[ev.id],
        )
