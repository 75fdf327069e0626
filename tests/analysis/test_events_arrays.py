"""The per-array events (`robust_fit_arrays`, `_event_columns`, `event_of`) give what the
per-group Python they replaced gave, to the bit: that code is kept here as the reference."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest

from ceasewatch.analysis import localise
from ceasewatch.analysis._batchfit import Fits, IntArray, fisher, ragged
from ceasewatch.analysis._batchfit import bearing_z as bearing_z_many
from ceasewatch.analysis._consensus import consensus
from ceasewatch.analysis._event_columns import _ranks
from ceasewatch.analysis.associate import SPEED_OF_SOUND_M_S, Association, associate
from ceasewatch.analysis.events import events_from_sightings
from ceasewatch.analysis.localise import (
    FIT_Z,
    OUTLIER_DROP,
    OUTLIER_Z,
    Fix,
    ObsTable,
    _failing,
    _first_min,
    chi2_quantiles,
    crlb_groups,
    fit_groups,
    gross_share,
    robust_fit_groups,
    single_fix,
    singles_share,
)
from ceasewatch.analysis.model import Event
from ceasewatch.analysis.observations import EPOCH, Obs, normalise
from ceasewatch.geo.theater import Theater
from ceasewatch.sim import default_window, simulate

Fitted = list[tuple[Fix, list[int], list[int]]]


def _take(f: Fits, idx: IntArray) -> Fits:
    return Fits(f.x[idx], f.y[idx], f.cee[idx], f.cen[idx], f.cnn[idx], f.chi2[idx], f.dof[idx])


def _consensus_start(
    t: ObsTable, groups: Sequence[Sequence[int]], cur: Fits, inl: list[list[int]],
    outl: list[list[int]],
) -> Fits:  # fmt: skip
    big = [m for m, members in enumerate(groups) if len(members) >= 4]
    if not big:
        return cur
    failing = _failing(t, [groups[m] for m in big], _take(cur, np.array(big))).tolist()
    bad = [m for m, b in zip(big, failing, strict=True) if b]
    if not bad:
        return cur
    keep = consensus(t, [groups[m] for m in bad], cur.x[bad], cur.y[bad], z_max=OUTLIER_Z)
    changed = [(m, k) for m, k in zip(bad, keep, strict=True) if 3 <= len(k) < len(groups[m])]
    if not changed:
        return cur
    at = [m for m, _ in changed]
    refit = fit_groups(t, [[groups[m][i] for i in k] for m, k in changed], (cur.x[at], cur.y[at]))
    for m, k in changed:
        inl[m] = list(k)
        outl[m] = [i for i in range(len(groups[m])) if i not in k]
    out = Fits(cur.x.copy(), cur.y.copy(), cur.cee.copy(), cur.cen.copy(), cur.cnn.copy(),
               cur.chi2.copy(), cur.dof.copy())  # fmt: skip
    for a, b in zip(
        (out.x, out.y, out.cee, out.cen, out.cnn, out.chi2, out.dof),
        (refit.x, refit.y, refit.cee, refit.cen, refit.cnn, refit.chi2, refit.dof),
        strict=True,
    ):
        a[at] = b
    return out


def _robust_by_group(obs: Sequence[Obs], groups: Sequence[Sequence[int]], t: ObsTable) -> Fitted:
    """`robust_fit_groups` as it was: a Python loop over the groups in each round."""
    out: list[tuple[Fix, list[int], list[int]] | None] = [None] * len(groups)
    multi = [g for g, members in enumerate(groups) if len(members) >= 2]
    cur = fit_groups(t, [groups[g] for g in multi])
    inl = [list(range(len(groups[g]))) for g in multi]
    outl: list[list[int]] = [[] for _ in multi]
    cur = _consensus_start(t, [groups[g] for g in multi], cur, inl, outl)
    fx, fy = cur.x.copy(), cur.y.copy()
    cov = np.stack([cur.cee, cur.cen, cur.cnn], axis=1)
    chi2, dof = cur.chi2.copy(), cur.dof.copy()
    testing = [m for m in range(len(multi)) if len(inl[m]) >= 3]
    while testing:
        subsets: list[list[int]] = []
        left: list[int] = []
        first: list[int] = []
        for m in testing:
            members = groups[multi[m]]
            first.append(len(subsets))
            for k in inl[m]:
                subsets.append([members[i] for i in inl[m] if i != k])
                left.append(k)
        owner = np.repeat(np.array(testing), [len(inl[m]) for m in testing])
        rest = fit_groups(t, subsets, (fx[owner], fy[owner]))
        flat, ptr = ragged([[groups[multi[m]][i] for i in inl[m]] for m in testing])
        seg = np.repeat(np.arange(len(testing)), np.diff(ptr))
        z = bearing_z_many(t, flat, fx[np.array(testing)][seg], fy[np.array(testing)][seg])
        worst = np.maximum.reduceat(z, ptr[:-1])
        ta = np.array(testing)
        failing = (chi2[ta] > chi2_quantiles(FIT_Z, dof[ta])) | (worst > OUTLIER_Z)
        rest_chi2 = rest.chi2.tolist()
        still = []
        for q, m in enumerate(testing):
            lo, hi = first[q], first[q] + len(inl[m])
            best = min(range(lo, hi), key=lambda s: (rest_chi2[s], s))
            if not failing[q] and chi2[m] - rest_chi2[best] <= OUTLIER_DROP:
                continue
            fx[m], fy[m] = rest.x[best], rest.y[best]
            cov[m] = (rest.cee[best], rest.cen[best], rest.cnn[best])
            chi2[m], dof[m] = rest.chi2[best], rest.dof[best]
            inl[m].remove(left[best])
            outl[m].append(left[best])
            if len(inl[m]) >= 3:
                still.append(m)
        testing = still
    share = gross_share([groups[g] for g in multi], outl)
    pairs = [m for m in range(len(multi)) if len(inl[m]) == 2]
    lone = singles_share(
        share,
        sum(map(len, groups)),
        sum(map(len, outl)),
        2 * len(pairs),
        sum(len(g) == 1 for g in groups),
    )
    for g, members in enumerate(groups):
        if len(members) == 1:
            out[g] = (single_fix(obs[members[0]], lone), [0], [])
    if pairs:
        p = np.array(pairs)
        flat, ptr = ragged([[groups[multi[m]][i] for i in inl[m]] for m in pairs])
        f11, f12, f22 = fisher(t, flat, ptr, fx[p], fy[p], robust=True, share=share)
        det = f11 * f22 - f12 * f12
        ok = det > 0.0
        safe = np.where(ok, det, 1.0)
        d = dof[p]
        scale = np.where(d > 0, np.maximum(chi2[p] / np.maximum(d, 1), 1.0), 1.0)
        cov[p, 0] = np.where(ok, scale * f22 / safe, np.inf)
        cov[p, 1] = np.where(ok, scale * -f12 / safe, 0.0)
        cov[p, 2] = np.where(ok, scale * f11 / safe, np.inf)
    for m, g in enumerate(multi):
        cee, cen, cnn = cov[m].tolist()
        fix = Fix(float(fx[m]), float(fy[m]), cee, cen, cnn, float(chi2[m]), int(dof[m]))
        out[g] = (fix, inl[m], sorted(outl[m]))
    return [o for o in out if o is not None]


def _events_by_group(obs: Sequence[Obs], assoc: Association, theater: Theater) -> list[Event]:
    """`events_from_sightings` as it was: Counter, statistics.median, sorted, per group."""
    t = assoc.table if assoc.table is not None else ObsTable.of(obs)
    fitted = _robust_by_group(obs, assoc.groups, t)
    x = np.array([f.x for f, _, _ in fitted])
    y = np.array([f.y for f, _, _ in fitted])
    inliers = [[m[i] for i in inl] for m, (_, inl, _) in zip(assoc.groups, fitted, strict=True)]
    cee, _, cnn = crlb_groups(t, inliers, x, y)
    crlb_m = np.sqrt(np.maximum(cee + cnn, 0.0)).tolist()
    lon, lat = theater.frame.to_wgs84(x, y)
    out = []
    for g, (members, (fix, _, outl), inl) in enumerate(
        zip(assoc.groups, fitted, inliers, strict=True)
    ):
        emitted = []
        for k in inl:
            o = obs[k]
            dx, dy = fix.x - o.x_m, fix.y - o.y_m
            delay = math.sqrt(dx * dx + dy * dy) / SPEED_OF_SOUND_M_S if o.heard else 0.0
            emitted.append(o.t_s - assoc.offsets.get(o.observer, 0.0) - delay)
        t_ms = round(statistics.median(emitted) * 1000.0)
        kinds = Counter(obs[k].kind for k in inl)
        ids = tuple(sorted(obs[k].id for k in members))
        digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()
        out.append(
            Event(
                id=f"EV-{digest[:16]}",
                time=EPOCH + timedelta(milliseconds=t_ms),
                kind=min(kinds, key=lambda k: (-kinds[k], k)),
                count=round(statistics.median(obs[k].n_reported for k in inl)),
                x_m=fix.x,
                y_m=fix.y,
                lon=float(lon[g]),
                lat=float(lat[g]),
                cov_m2=((fix.cee, fix.cen), (fix.cen, fix.cnn)),
                crlb_m=crlb_m[g],
                sightings=ids,
                outliers=tuple(sorted(obs[members[i]].id for i in outl)),
                observers=tuple(sorted({obs[k].observer for k in members})),
            )
        )
    return out


@pytest.fixture(scope="module")
def day(demo_theater: Theater) -> tuple[list[Obs], Association]:
    start, _ = default_window(demo_theater)
    sightings = simulate(demo_theater, 5, start, 6, fire_rate_per_h=60).observations.sightings
    obs, _ = normalise(sightings, demo_theater)
    return obs, associate(obs)


def test_robust_fits_per_array_are_the_per_group_ones(day: tuple[list[Obs], Association]) -> None:
    obs, assoc = day
    t = ObsTable.of(obs)
    assert len({len(g) for g in assoc.groups}) >= 5  # singles, pairs and larger groups
    want = _robust_by_group(obs, assoc.groups, t)
    assert any(outl for _, _, outl in want)  # some outliers to find
    assert repr(robust_fit_groups(obs, assoc.groups, t)) == repr(want)


def test_events_per_array_are_the_per_group_ones(
    demo_theater: Theater, day: tuple[list[Obs], Association]
) -> None:
    obs, assoc = day
    got = events_from_sightings(obs, assoc, demo_theater)
    assert repr(got) == repr(_events_by_group(obs, assoc, demo_theater))
    assert got == _events_by_group(obs, assoc, demo_theater)


def test_first_min_takes_the_first_of_equal_least_values() -> None:
    v = np.array([3.0, 1.0, 1.0, 2.0, 0.0, 0.0, -0.0, 5.0, np.nan, 4.0])
    ptr = np.array([0, 4, 7, 8, 10])
    want = [min(range(a, b), key=lambda s: (v.tolist()[s], s)) for a, b in itertools.pairwise(ptr)]
    assert _first_min(v, ptr).tolist() == want
    assert _first_min(v[:8], ptr[:4]).tolist() == want[:3]


def test_forked_fits_are_the_serial_ones(
    day: tuple[list[Obs], Association], monkeypatch: pytest.MonkeyPatch
) -> None:
    obs, assoc = day
    t = ObsTable.of(obs)
    flat, ptr = ragged(assoc.groups)
    monkeypatch.setattr(localise, "_MIN_FORKED", 10)
    one = localise.robust_fit_arrays(t, flat, ptr)
    for workers in (2, 3):
        more = localise.robust_fit_arrays(t, flat, ptr, workers=workers)
        assert more.inlier.tolist() == one.inlier.tolist()
        for a, b in zip(dataclasses.astuple(more.fits), dataclasses.astuple(one.fits), strict=True):
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    "values", [["b", "a", "c", "ab", "b", "B", "é", "-", "a.1", "a/1"], ["b", "a\x00", "a"]]
)
def test_ranks_order_as_sorted_does(values: list[str]) -> None:
    rank = _ranks(values).tolist()
    assert [values[i] for i in sorted(range(len(values)), key=rank.__getitem__)] == sorted(values)
