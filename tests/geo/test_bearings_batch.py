"""magnetic_declinations_deg: many at once, the same as one at a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.bearings import magnetic_declination_deg, magnetic_declinations_deg
from ceasewatch.records.table import utc_from_us
from ceasewatch.records.types import posix_us


def _one(lat: float, lon: float, t_us: int) -> float | None:
    try:
        return magnetic_declination_deg(lat, lon, utc_from_us(t_us))
    except InvalidInput:
        return None


def test_many_at_once_are_each_alone() -> None:
    rng = random.Random(5)
    edges = [datetime(y, 1, 1, tzinfo=UTC) for y in (2015, 2020, 2025, 2030)]
    times = [posix_us(e + timedelta(microseconds=d)) for e in edges for d in (-1, 0, 1)]
    times += [posix_us(datetime(2029, 12, 31, 23, 59, tzinfo=UTC))]  # rounds to 2030.0
    times += [rng.randint(posix_us(edges[0]) - 10**14, posix_us(edges[-1]) + 10**14)
              for _ in range(3000)]  # fmt: skip
    places = [(39.9, 46.8), (39.905, 46.815), (-90.0, 180.0), (91.0, 0.0), (0.0, -181.0)]
    lat, lon, t_us = [], [], []
    for t in times:
        a, o = (
            rng.choice(places)
            if rng.random() < 0.5
            else (rng.uniform(-89, 89), rng.uniform(-179, 179))
        )
        lat.append(a)
        lon.append(o)
        t_us.append(t)
    got = magnetic_declinations_deg(lat, lon, t_us)
    assert got == [_one(a, o, t) for a, o, t in zip(lat, lon, t_us, strict=True)]
    assert None in got and any(g is not None for g in got)
    assert magnetic_declinations_deg([], [], []) == []


def test_far_times_are_taken_one_at_a_time() -> None:
    far = posix_us(datetime(2300, 1, 1, tzinfo=UTC))
    assert magnetic_declinations_deg([39.9, 39.9], [46.8, 46.8], [far, 0]) == [None, None]
