"""normalise_table: its columns at a time give what the row-by-row loop gave."""

from __future__ import annotations

import bisect
import dataclasses
import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from ceasewatch.analysis.observations import (
    DEFAULT_SIGMA_DEG,
    Obs,
    _footprint,
    _order,
    normalise_table,
)
from ceasewatch.demo import demo_theater_dir
from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.bearings import BearingRef, to_true_bearing
from ceasewatch.geo.theater import Theater, TheaterState, load_theater
from ceasewatch.records.table import SightingTable
from ceasewatch.records.types import posix_us
from tests.analysis.common import EAST, POST_A07, WEST


def _by_rows(table: SightingTable, theater: Theater) -> tuple[list[Obs], list[Problem]]:
    """normalise_table as it was: one sighting at a time (the reference)."""
    ids, t_us = table.id, table.t_us
    order = sorted(range(len(ids)), key=lambda i: (t_us[i], ids[i]))
    if not order:
        return [], []
    lon_l = [table.lon[i] for i in order]
    lat_l = [table.lat[i] for i in order]
    x, y = theater.frame.to_local(np.array(lon_l), np.array(lat_l))
    inside = shapely.contains_xy(_footprint(theater), x, y)
    refs = [table.bearing_ref[i] for i in order]
    places = list(dict.fromkeys(zip(lon_l, lat_l, strict=True)))
    at = np.array(places).reshape(-1, 2)
    place_conv = theater.frame.grid_north_deg(at[:, 0], at[:, 1]).tolist()
    of_place = dict(zip(places, place_conv, strict=True))
    conv = [of_place[p] for p in zip(lon_l, lat_l, strict=True)]
    out: list[Obs] = []
    skipped: list[Problem] = []
    has_areas: dict[int, bool] = {}
    changes = [posix_us(t) for t in theater.change_times]
    xs, ys = x.tolist(), y.tolist()
    for k, i in enumerate(order):
        if not inside[k]:
            skipped.append(
                Problem(
                    f"sighting {ids[i]}",
                    f"observer {table.observer[i]} at lat {lat_l[k]}, lon {lon_l[k]} "
                    "lies outside the theater; check the position (lat/lon swapped?)",
                )
            )
            continue
        period = bisect.bisect_right(changes, t_us[i])
        if period not in has_areas:
            has_areas[period] = bool(theater.at(table.time(i)).areas)
        if not has_areas[period]:
            skipped.append(
                Problem(
                    f"sighting {ids[i]}",
                    f"no control areas are in force at {table.time(i).isoformat()}; "
                    "check the time or the theater's valid_from/valid_to",
                )
            )
            continue
        ref, b = refs[k], table.bearing_deg[i]
        if ref is BearingRef.TRUE and math.isfinite(b):
            grid_deg = b - conv[k]
        elif ref is BearingRef.GRID:
            grid_deg = b
        else:
            try:
                grid_deg = to_true_bearing(b, ref, lat_l[k], lon_l[k], table.time(i)) - conv[k]
            except InvalidInput as exc:
                skipped.append(Problem(f"sighting {ids[i]}", exc.message))
                continue
        grid_deg %= 360.0
        grid_deg = 0.0 if grid_deg >= 360.0 else grid_deg
        kind = table.kind[i]
        out.append(
            Obs(
                ids[i],
                t_us[i] / 1_000_000,
                table.observer[i],
                table.org[i],
                xs[k],
                ys[k],
                math.radians(grid_deg),
                math.radians(table.sigma_deg[i] or DEFAULT_SIGMA_DEG.get(kind, 5.0)),
                table.range_min_m[i],
                table.range_max_m[i],
                kind,
                table.count[i],
                table.heard[i],
            )
        )
    return out, skipped


def _table(rng: random.Random, n: int) -> SightingTable:
    """Sightings with every kind of trouble: outside the theater, before any area, after
    every magnetic model, bearings that are not finite or sit at 0/360, shared times."""
    base = datetime(2026, 11, 10, tzinfo=UTC)
    places = [WEST, EAST, POST_A07, (39.9, 46.6), (46.5, 39.95)]
    times = [
        posix_us(base + timedelta(days=rng.uniform(-400, 30)))
        if rng.random() < 0.9
        else posix_us(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=rng.uniform(-2, 2)))
        for _ in range(n // 3 + 1)
    ]
    bearings = [0.0, -1e-17, 359.99999999999994, 360.0, math.nan, math.inf, 180.0]
    cols: dict[str, list[object]] = {k: [] for k in SightingTable.__dataclass_fields__}
    for i in range(n):
        lon, lat = rng.choice(places)
        if rng.random() < 0.5:
            lon, lat = lon + rng.uniform(-0.05, 0.05), lat + rng.uniform(-0.05, 0.05)
        kind = rng.choice([*DEFAULT_SIGMA_DEG, "odd"])
        row = {
            "id": f"S{rng.randint(0, n // 2)}",
            "t_us": rng.choice(times),
            "org": "org-1",
            "observer": f"OBS-{i % 7}",
            "lat": lat,
            "lon": lon,
            "bearing_deg": rng.choice(bearings) if rng.random() < 0.2 else rng.uniform(-10, 370),
            "bearing_ref": rng.choice(list(BearingRef)),
            "sigma_deg": rng.choice([None, 0.0, 2.5, rng.uniform(0.1, 30)]),
            "range_min_m": rng.choice([None, 100.0]),
            "range_max_m": rng.choice([None, 9000.0]),
            "kind": kind,
            "count": rng.randint(1, 5),
            "heard": rng.random() < 0.3,
        }
        for k, v in row.items():
            cols[k].append(v)
    return SightingTable(**cols)  # type: ignore[arg-type]


@pytest.fixture
def gappy_theater(monkeypatch: pytest.MonkeyPatch) -> Theater:
    """The demo theater, but with no control areas in force before its first change time
    (a whole period, as a theater's geometry only changes at those)."""
    theater = load_theater(demo_theater_dir())
    at = theater.at
    first = theater.change_times[0]

    def at_or_nothing(t: datetime) -> TheaterState:
        state = at(t)
        return dataclasses.replace(state, areas={}) if t < first else state

    monkeypatch.setattr(theater, "at", at_or_nothing)
    return theater


@pytest.mark.parametrize("seed", range(6))
def test_columns_give_what_rows_gave(gappy_theater: Theater, seed: int) -> None:
    demo_theater = gappy_theater
    table = _table(random.Random(seed), 600)
    obs, skipped = normalise_table(table, demo_theater)
    want_obs, want_skipped = _by_rows(table, demo_theater)
    assert skipped == want_skipped
    # Bit for bit, NaN included (a grid bearing that is not finite is kept as it was).
    assert [repr(o) for o in obs] == [repr(o) for o in want_obs]
    assert all(type(o) is Obs for o in obs)
    whys = " ".join(p.what for p in skipped)
    for why in ("outside the theater", "no control areas", "not a finite", "Magnetic Model"):
        assert why in whys or seed > 0


def test_an_empty_table_and_one_row(demo_theater: Theater) -> None:
    table = _table(random.Random(9), 1)
    assert normalise_table(SightingTable.of([]), demo_theater) == ([], [])
    obs, skipped = normalise_table(table, demo_theater)
    want_obs, want_skipped = _by_rows(table, demo_theater)
    assert (repr(obs), skipped) == (repr(want_obs), want_skipped)


def test_order_is_by_time_then_id_stably() -> None:
    rng = random.Random(4)
    for n in (0, 1, 2, 50, 400):
        t_us = [rng.randint(0, 5) for _ in range(n)]
        ids = [rng.choice("abcde") for _ in range(n)]
        assert _order(ids, t_us) == sorted(range(n), key=lambda i: (t_us[i], ids[i]))
